//! Loading event sources: the committed sample of the data contract, NDJSON and Parquet event
//! files — each checked in full before anything is written.

use arrow_array::{Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use forbear_engine::{EventBody, MemoryStore, Store};
use forbear_store::import::{ImportError, import, read_events};
use std::path::Path;
use std::sync::Arc;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .unwrap()
}

#[test]
fn the_committed_sample_becomes_events_with_stable_ids() {
    let dir = root().join("notebooks-data/sample");
    let events = read_events(&dir).unwrap();
    let kinds = |k: &str| events.iter().filter(|e| e.body.kind() == k).count();
    assert!(
        kinds("account_opened") > 0 && kinds("invoice_issued") > 0 && kinds("payment_received") > 0
    );
    assert!(kinds("contact_made") > 0);
    let mut store = MemoryStore::new();
    let first = import(&mut store, &dir, 1000, &mut |_| {}).unwrap();
    assert_eq!(first.stored as usize, events.len());
    // Loading the same dataset again adds nothing.
    let again = import(&mut store, &dir, 1000, &mut |_| {}).unwrap();
    assert_eq!((again.stored, again.duplicates as usize), (0, events.len()));
}

#[test]
fn ndjson_is_checked_line_by_line_before_anything_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"id":"open:1","account":1,"at":"2026-01-01T00:00:00Z","type":"account_opened","customer_type":"consumer","subscription_type":"postpaid","service_level":"standard","product":"mobile","time_zone":"Europe/Madrid","language":"en","currency":"EUR","consent":["sms"]}"#;
    let bad = r#"{"id":"inv:1","account":1,"at":"2026-01-02T00:00:00Z","type":"invoice_issued","invoice":1,"service":1,"amount_minor":100,"currency":"EUR","due_on":"2026-01-20","colour":"red"}"#;
    let p = dir.path().join("e.ndjson");
    std::fs::write(&p, format!("{good}\n\n{bad}\n")).unwrap();
    let mut store = MemoryStore::new();
    let e = import(&mut store, &p, 10, &mut |_| {}).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ImportError::Event { line: 3, .. }), "{msg}");
    assert!(
        msg.contains("e.ndjson:3") && msg.contains("colour"),
        "{msg}"
    );
    assert!(
        store.accounts().unwrap().is_empty(),
        "nothing stored from a bad file"
    );
    let engine_event = r#"{"id":"x","account":1,"at":"2026-01-02T00:00:00Z","type":"case_closed","case":1,"reason":"r"}"#;
    std::fs::write(&p, format!("{good}\n{engine_event}\n")).unwrap();
    let msg = import(&mut store, &p, 10, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(":2") && msg.contains("written by the engine"),
        "{msg}"
    );
    std::fs::write(&p, format!("{good}\n")).unwrap();
    assert_eq!(import(&mut store, &p, 10, &mut |_| {}).unwrap().stored, 1);
}

#[test]
fn parquet_event_files_load_and_bad_rows_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("e.parquet");
    let write = |bodies: Vec<&str>| {
        let n = bodies.len();
        let schema = Arc::new(Schema::new(vec![
            Field::new("event_id", DataType::Utf8, false),
            Field::new("account_id", DataType::Int64, false),
            Field::new(
                "at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                false,
            ),
            Field::new("event", DataType::Utf8, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(
                    (0..n).map(|i| format!("e{i}")).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(vec![7; n])),
                Arc::new(
                    TimestampMicrosecondArray::from(vec![1_767_225_600_000_000; n])
                        .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from(bodies)),
            ],
        )
        .unwrap();
        let f = std::fs::File::create(&p).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    };
    write(vec![
        r#"{"type":"risk_assessed","band":"D"}"#,
        r#"{"type":"payment_received","payment":3,"amount_minor":250,"currency":"EUR"}"#,
    ]);
    let events = read_events(&p).unwrap();
    assert_eq!(events.len(), 2);
    assert!(matches!(
        events[1].body,
        EventBody::PaymentReceived {
            amount_minor: 250,
            ..
        }
    ));
    write(vec![
        r#"{"type":"risk_assessed","band":"D"}"#,
        r#"{"type":"payment_received","payment":3,"amount_minor":0,"currency":"EUR"}"#,
    ]);
    let msg = read_events(&p).unwrap_err().to_string();
    assert!(
        msg.contains("e.parquet:2") && msg.contains("positive"),
        "{msg}"
    );
}
