use super::fixture::{self, Fixture, d};
use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use forbear_data::contract::{TableRow, batch_of};
use forbear_data::{Invoice, Problem, validate_dataset};
use std::borrow::Cow;
use std::sync::Arc;

fn problems_of(f: &Fixture) -> Vec<Problem> {
    let dir = tempfile::tempdir().unwrap();
    fixture::write(f, dir.path());
    validate_dataset(dir.path()).unwrap().problems
}

/// Exactly one problem, at this file, column and row, whose message contains `needle`.
fn assert_one(problems: &[Problem], file: &str, column: &str, row: Option<u64>, needle: &str) {
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let p = &problems[0];
    assert_eq!(p.file, file, "{p}");
    assert_eq!(p.column.as_deref(), Some(column), "{p}");
    assert_eq!(p.row, row, "{p}");
    assert!(p.message.contains(needle), "{p:?} lacks {needle:?}");
}

#[test]
fn the_fixture_is_valid() {
    let dir = tempfile::tempdir().unwrap();
    fixture::write(&fixture::fixture(), dir.path());
    let report = validate_dataset(dir.path()).unwrap();
    assert!(report.is_valid(), "{report}");
    assert_eq!(report.rows["accounts"], 3);
    forbear_data::open_validated(dir.path()).unwrap();
}

#[test]
fn negative_amount() {
    let mut f = fixture::fixture();
    f.invoices[1].amount_minor = -500;
    assert_one(
        &problems_of(&f),
        "invoices.parquet",
        "amount_minor",
        Some(2),
        "negative amount -500",
    );
}

#[test]
fn payment_for_an_unknown_account() {
    let mut f = fixture::fixture();
    f.payments[0].account_id = 99;
    assert_one(
        &problems_of(&f),
        "payments.parquet",
        "account_id",
        Some(1),
        "account 99 is not in accounts",
    );
}

#[test]
fn payment_for_an_unknown_invoice() {
    let mut f = fixture::fixture();
    f.payments[0].invoice_id = Some(77);
    assert_one(
        &problems_of(&f),
        "payments.parquet",
        "invoice_id",
        Some(1),
        "invoice 77 is not in invoices",
    );
}

#[test]
fn due_date_before_issue_date() {
    let mut f = fixture::fixture();
    f.invoices[2].due_on = d(2026, 2, 20);
    assert_one(
        &problems_of(&f),
        "invoices.parquet",
        "due_on",
        Some(3),
        "due date 2026-02-20 is before issued on 2026-03-01",
    );
}

#[test]
fn unknown_time_zone() {
    let mut f = fixture::fixture();
    f.accounts[1].time_zone = Cow::Borrowed("Europe/Atlantis");
    assert_one(
        &problems_of(&f),
        "accounts.parquet",
        "time_zone",
        Some(2),
        "unknown time zone \"Europe/Atlantis\"",
    );
}

#[test]
fn propensity_outside_zero_one() {
    for bad in [0.0, 1.5, -0.1, f64::NAN] {
        let mut f = fixture::fixture();
        f.contacts[0].propensity = bad;
        assert_one(
            &problems_of(&f),
            "contacts.parquet",
            "propensity",
            Some(1),
            "is outside (0, 1]",
        );
    }
    let mut f = fixture::fixture();
    f.contacts[0].propensity = 1.0;
    assert!(problems_of(&f).is_empty(), "1 is a valid propensity");
}

#[test]
fn duplicate_ids() {
    let mut f = fixture::fixture();
    f.accounts[2].account_id = 1;
    f.invoices.retain(|i| i.account_id != 3);
    f.disputes.clear();
    assert_one(
        &problems_of(&f),
        "accounts.parquet",
        "account_id",
        Some(3),
        "duplicate id 1 (first at row 1)",
    );
}

#[test]
fn unknown_names_and_local_time_mismatch() {
    let mut f = fixture::fixture();
    f.contacts[0].channel = Cow::Borrowed("fax");
    assert_one(
        &problems_of(&f),
        "contacts.parquet",
        "channel",
        Some(1),
        "unknown channel \"fax\"",
    );
    let mut f = fixture::fixture();
    f.contacts[0].sent_at_local += chrono::Duration::hours(2);
    assert_one(
        &problems_of(&f),
        "contacts.parquet",
        "sent_at_local",
        Some(1),
        "in Europe/Madrid",
    );
}

#[test]
fn missing_table_missing_column_and_wrong_type() {
    let dir = tempfile::tempdir().unwrap();
    fixture::write(&fixture::fixture(), dir.path());
    std::fs::remove_file(dir.path().join("promises.parquet")).unwrap();
    let report = validate_dataset(dir.path()).unwrap();
    assert_eq!(report.problems.len(), 1, "{report}");
    assert_eq!(report.problems[0].file, "promises.parquet");
    assert!(
        report.problems[0]
            .message
            .contains("missing table promises")
    );

    // Rewrite invoices with amount_minor as text and without period_end.
    let good = batch_of(fixture::fixture().invoices).unwrap();
    let mut fields: Vec<Field> = Vec::new();
    let mut cols: Vec<ArrayRef> = Vec::new();
    for (field, col) in good.schema().fields().iter().zip(good.columns()) {
        match field.name().as_str() {
            "period_end" => continue,
            "amount_minor" => {
                fields.push(Field::new("amount_minor", DataType::Utf8, false));
                let v = col.as_any().downcast_ref::<Int64Array>().unwrap();
                cols.push(Arc::new(
                    v.iter()
                        .map(|x| x.map(|x| x.to_string()))
                        .collect::<StringArray>(),
                ));
            }
            _ => {
                fields.push(field.as_ref().clone());
                cols.push(col.clone());
            }
        }
    }
    let bad = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap();
    let path = dir.path().join(format!("{}.parquet", Invoice::TABLE));
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        bad.schema(),
        None,
    )
    .unwrap();
    w.write(&bad).unwrap();
    w.close().unwrap();
    let report = validate_dataset(dir.path()).unwrap();
    let shown: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert!(
        shown.contains(
            &"invoices.parquet: column amount_minor: wrong type Utf8 (expected Int64)".to_string()
        ),
        "{shown:#?}"
    );
    assert!(
        shown.contains(
            &"invoices.parquet: column period_end: missing column (expected Date32)".to_string()
        ),
        "{shown:#?}"
    );
    let err = forbear_data::open_validated(dir.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("breaks the contract"), "{err}");
}

#[test]
fn nulls_in_required_columns_and_many_problems_are_summarised() {
    // A null account_id in a file written by another tool.
    let mut f = fixture::fixture();
    for k in 0..100 {
        let mut i = fixture::invoice(1000 + k, 1);
        i.amount_minor = -1;
        f.invoices.push(i);
    }
    let dir = tempfile::tempdir().unwrap();
    fixture::write(&f, dir.path());
    let report = validate_dataset(dir.path()).unwrap();
    assert_eq!(report.total_problems(), 100);
    assert_eq!(
        report.problems.len(),
        forbear_data::validate::SHOWN_PER_COLUMN
    );
    assert!(
        report
            .to_string()
            .contains("invoices.parquet: column amount_minor: … and 80 more"),
        "{report}"
    );

    let good = batch_of(fixture::fixture().accounts).unwrap();
    let schema = Schema::new(
        good.schema()
            .fields()
            .iter()
            .map(|fl| fl.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    );
    let mut cols = good.columns().to_vec();
    cols[0] = Arc::new(Int64Array::from(vec![Some(1), None, Some(3)]));
    let batch = RecordBatch::try_new(Arc::new(schema), cols).unwrap();
    let path = dir.path().join("accounts.parquet");
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(&path).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let report = validate_dataset(dir.path()).unwrap();
    let p = report
        .problems
        .iter()
        .find(|p| p.file == "accounts.parquet")
        .expect("accounts problem");
    assert_eq!(
        (p.column.as_deref(), p.row),
        (Some("account_id"), Some(2)),
        "{p}"
    );
    assert!(p.message.contains("null"));
}
