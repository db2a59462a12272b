//! Writes the body of the Arrow bulk-scoring benchmark: `arrow-body CSV ROWS OUT` reads a table
//! (the Taiwan credit-card data), keeps its numeric feature columns (not `ID` nor the target),
//! repeats its rows up to ROWS with an `account_id` column, and writes an Arrow IPC stream in
//! batches of 65,536 rows.

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use forbear_data::{Column, read_table};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, csv, rows, out] = &args[..] else {
        return Err("usage: arrow-body CSV ROWS OUT".into());
    };
    let rows: usize = rows.parse()?;
    let table = read_table(std::path::Path::new(csv))?;
    let keep: Vec<usize> = (0..table.names.len())
        .filter(|&k| {
            let n = &table.names[k];
            n != "ID"
                && n != "default.payment.next.month"
                && matches!(table.columns[k], Column::Numeric(_))
        })
        .collect();
    let mut fields = vec![Field::new("account_id", DataType::Utf8, false)];
    fields.extend(
        keep.iter()
            .map(|&k| Field::new(&table.names[k], DataType::Float64, false)),
    );
    let schema = Arc::new(Schema::new(fields));
    let file = std::fs::File::create(out)?;
    let mut w = arrow_ipc::writer::StreamWriter::try_new(std::io::BufWriter::new(file), &schema)?;
    let n = table.rows();
    let batch = 65_536;
    let mut start = 0;
    while start < rows {
        let len = batch.min(rows - start);
        let mut cols: Vec<ArrayRef> = vec![Arc::new(StringArray::from_iter_values(
            (start..start + len).map(|i| format!("acct-{i:07}")),
        ))];
        for &k in &keep {
            let Column::Numeric(v) = &table.columns[k] else {
                continue;
            };
            cols.push(Arc::new(Float64Array::from_iter_values(
                (start..start + len).map(|i| v[i % n]),
            )));
        }
        w.write(&RecordBatch::try_new(Arc::clone(&schema), cols)?)?;
        start += len;
    }
    w.finish()?;
    eprintln!("{rows} rows, {} features -> {out}", keep.len());
    Ok(())
}
