//! The decision log: every recommendation and eligibility decision, appended to Parquet files
//! of the contract's `decisions` table (`forbear_data::Decision`), rotated by size and age, and
//! kept in memory for a while so `GET /v1/decisions/{id}` answers at once.
//!
//! Handlers hand rows to a writer thread over a channel and never wait for the disk. A file is
//! written under a partial name and renamed into place when it is closed (on rotation and on
//! shutdown), so a reader never sees half a file; rows buffered when the process is killed
//! without a shutdown are the ones at risk.

use crate::config::DecisionLogConfig;
use crate::metrics::Metrics;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, RecordBatch};
use chrono::{DateTime, Utc};
use forbear_api::DecisionRecord;
use forbear_data::{Decision, TableWriter};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The decision log.
#[derive(Debug)]
pub struct DecisionLog {
    dir: PathBuf,
    sender: Mutex<Option<Sender<Arc<Decision>>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    recent: Mutex<Recent>,
}

#[derive(Debug, Default)]
struct Recent {
    by_id: HashMap<Arc<str>, Arc<Decision>>,
    order: VecDeque<Arc<str>>,
    capacity: usize,
}

impl Recent {
    /// Keeps `d`; returns the decision it pushed out, for the caller to drop once the lock is
    /// released (freeing a decision's texts is the costly part).
    fn insert(&mut self, d: Arc<Decision>) -> Option<Arc<Decision>> {
        if self.capacity == 0 {
            return None;
        }
        let mut evicted = None;
        while self.order.len() >= self.capacity {
            if let Some(old) = self.order.pop_front() {
                evicted = self.by_id.remove(&old).or(evicted);
            }
        }
        let id: Arc<str> = Arc::from(&*d.decision_id);
        self.order.push_back(Arc::clone(&id));
        self.by_id.insert(id, d);
        evicted
    }
}

/// Why the log cannot start or be read.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The directory cannot be used.
    #[error("decision log {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file cannot be read.
    #[error("decision log {path}: {message}")]
    Read { path: PathBuf, message: String },
}

impl DecisionLog {
    /// Starts the log in `config.dir` (created if absent).
    pub fn start(config: &DecisionLogConfig, metrics: Arc<Metrics>) -> Result<Self, LogError> {
        std::fs::create_dir_all(&config.dir).map_err(|source| LogError::Io {
            path: config.dir.clone(),
            source,
        })?;
        let (tx, rx) = std::sync::mpsc::channel();
        let cfg = config.clone();
        let writer = std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || write_loop(&cfg, &rx, &metrics))
            .map_err(|source| LogError::Io {
                path: config.dir.clone(),
                source,
            })?;
        Ok(DecisionLog {
            dir: config.dir.clone(),
            sender: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            recent: Mutex::new(Recent {
                capacity: config.recent,
                ..Recent::default()
            }),
        })
    }

    /// Appends a decision. Returns false when the log is closed (shutting down).
    pub fn record(&self, d: Decision) -> bool {
        let d = Arc::new(d);
        let evicted = lock(&self.recent).insert(Arc::clone(&d));
        drop(evicted);
        lock(&self.sender)
            .as_ref()
            .is_some_and(|tx| tx.send(d).is_ok())
    }

    /// One decision by id: from memory, else from the files, newest first.
    pub fn get(&self, id: &str) -> Result<Option<DecisionRecord>, LogError> {
        if let Some(d) = lock(&self.recent).by_id.get(id).cloned() {
            return Ok(Some(record_of(&d)));
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map_err(|source| LogError::Io {
                path: self.dir.clone(),
                source,
            })?
            .flatten()
            .map(|e| e.path())
            .filter(|p| is_log_file(p))
            .collect();
        files.sort();
        for path in files.iter().rev() {
            if let Some(d) = find_in(path, id)? {
                return Ok(Some(d));
            }
        }
        Ok(None)
    }

    /// Closes the current file and stops the writer; later decisions are not logged.
    pub fn close(&self) {
        lock(&self.sender).take();
        if let Some(h) = lock(&self.writer).take() {
            let _ = h.join();
        }
    }
}

impl Drop for DecisionLog {
    fn drop(&mut self) {
        self.close();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn is_log_file(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("decisions-") && n.ends_with(".parquet"))
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or(serde_json::Value::Null)
}

fn record_of(d: &Decision) -> DecisionRecord {
    DecisionRecord {
        decision_id: d.decision_id.to_string(),
        kind: d.kind.to_string(),
        decided_at: d.decided_at,
        request_id: d.request_id.to_string(),
        account_id: d.account_id.to_string(),
        input: json(&d.input),
        output: json(&d.output),
        model_versions: json(&d.model_versions),
        rules: serde_json::from_str(&d.rules).unwrap_or_default(),
        propensity: d.propensity,
    }
}

/// Rows buffered as values before they are handed to Parquet.
const FLUSH_ROWS: usize = 2048;

struct Current {
    writer: TableWriter<Decision>,
    opened: Instant,
    bytes: u64,
    buffered: usize,
}

fn open(cfg: &DecisionLogConfig, seq: &mut u32) -> Option<Current> {
    *seq += 1;
    let name = format!(
        "decisions-{}-{:04}.parquet",
        Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        *seq
    );
    match TableWriter::<Decision>::create_as(&cfg.dir, &name) {
        Ok(writer) => Some(Current {
            writer,
            opened: Instant::now(),
            bytes: 0,
            buffered: 0,
        }),
        Err(e) => {
            tracing::error!(error = %e, "decision log: cannot open a new file");
            None
        }
    }
}

fn close(current: Option<Current>, metrics: &Metrics) {
    if let Some(c) = current {
        let rows = c.writer.rows();
        if let Err(e) = c.writer.finish() {
            tracing::error!(error = %e, rows, "decision log: cannot close a file");
            metrics.decision_log_error();
        }
    }
}

/// How long the writer pauses when it finds the queue empty.
const BATCH_PAUSE: Duration = Duration::from_millis(2);

fn write_loop(cfg: &DecisionLogConfig, rx: &Receiver<Arc<Decision>>, metrics: &Metrics) {
    let mut seq = 0;
    let mut current: Option<Current> = None;
    let max_age = Duration::from_secs(cfg.rotate_seconds);
    loop {
        // Take what is queued; when nothing is, pause before waiting, so that under load the
        // requests find the writer busy or pausing rather than asleep on the queue — waking
        // it is a system call on the request's thread.
        let msg = match rx.try_recv() {
            Ok(d) => Ok(d),
            Err(TryRecvError::Disconnected) => Err(RecvTimeoutError::Disconnected),
            Err(TryRecvError::Empty) => {
                std::thread::sleep(BATCH_PAUSE);
                rx.recv_timeout(Duration::from_millis(500))
            }
        };
        let due = current
            .as_ref()
            .is_some_and(|c| c.bytes >= cfg.rotate_bytes || c.opened.elapsed() >= max_age);
        if due {
            close(current.take(), metrics);
        }
        match msg {
            Ok(d) => {
                if current.is_none() {
                    current = open(cfg, &mut seq);
                }
                let Some(c) = current.as_mut() else {
                    metrics.decision_log_error();
                    continue;
                };
                c.bytes += (d.input.len() + d.output.len() + d.model_versions.len() + 128) as u64;
                c.buffered += 1;
                let mut result = c.writer.push_ref(&d);
                // Rows are held as plain text only briefly: a batch of them goes to Parquet
                // (encoded, compressed) every few thousand rows or at each quiet moment.
                if result.is_ok() && c.buffered >= FLUSH_ROWS {
                    c.buffered = 0;
                    result = c.writer.flush();
                }
                if let Err(e) = result {
                    tracing::error!(error = %e, "decision log: cannot write");
                    metrics.decision_log_error();
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Some(c) = current.as_mut().filter(|c| c.buffered > 0) {
                    c.buffered = 0;
                    if let Err(e) = c.writer.flush() {
                        tracing::error!(error = %e, "decision log: cannot write");
                        metrics.decision_log_error();
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    close(current, metrics);
}

fn find_in(path: &Path, id: &str) -> Result<Option<DecisionRecord>, LogError> {
    let bad = |message: String| LogError::Read {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|source| LogError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| bad(e.to_string()))?;
    for batch in reader {
        let batch = batch.map_err(|e| bad(e.to_string()))?;
        let text = |name: &str| -> Result<_, LogError> {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_string_opt::<i32>())
                .ok_or_else(|| bad(format!("no text column {name}")))
        };
        let ids = text("decision_id")?;
        let Some(i) = (0..batch.num_rows()).find(|&i| ids.value(i) == id) else {
            continue;
        };
        return Ok(Some(read_row(&batch, i).map_err(bad)?));
    }
    Ok(None)
}

fn read_row(batch: &RecordBatch, i: usize) -> Result<DecisionRecord, String> {
    let text = |name: &str| -> Result<String, String> {
        batch
            .column_by_name(name)
            .and_then(|c| c.as_string_opt::<i32>())
            .map(|c| c.value(i).to_owned())
            .ok_or_else(|| format!("no text column {name}"))
    };
    let decided_at = batch
        .column_by_name("decided_at")
        .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>())
        .filter(|c| c.is_valid(i))
        .and_then(|c| DateTime::<Utc>::from_timestamp_micros(c.value(i)))
        .ok_or("no decided_at")?;
    let propensity = batch
        .column_by_name("propensity")
        .and_then(|c| c.as_primitive_opt::<Float64Type>())
        .map(|c| c.value(i))
        .ok_or("no propensity")?;
    Ok(DecisionRecord {
        decision_id: text("decision_id")?,
        kind: text("kind")?,
        decided_at,
        request_id: text("request_id")?,
        account_id: text("account_id")?,
        input: json(&text("input")?),
        output: json(&text("output")?),
        model_versions: json(&text("model_versions")?),
        rules: serde_json::from_str(&text("rules")?).unwrap_or_default(),
        propensity,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn decision(id: &str) -> Decision {
        Decision {
            decision_id: id.to_owned().into(),
            kind: "eligibility".into(),
            decided_at: Utc::now(),
            request_id: "r1".into(),
            account_id: "42".into(),
            decision_date: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
            action: "postpaid".into(),
            channel: None,
            send_window: None,
            tone: None,
            send_at_utc: None,
            propensity: 1.0,
            value_base_minor: 0.0,
            probability: Some(0.03),
            credit_limit_minor: Some(30000),
            model_versions: r#"{"risk":"v1"}"#.into(),
            rules: r#"["cutoff"]"#.into(),
            input: r#"{"account_id":"42"}"#.into(),
            output: r#"{"decision":"postpaid"}"#.into(),
        }
    }

    #[test]
    fn decisions_survive_rotation_and_are_found_in_files() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = DecisionLogConfig {
            dir: dir.path().to_path_buf(),
            rotate_bytes: 1,
            rotate_seconds: 3600,
            recent: 2,
        };
        let log = DecisionLog::start(&cfg, Arc::new(Metrics::default())).unwrap();
        for k in 0..5 {
            assert!(log.record(decision(&format!("d{k}"))));
            std::thread::sleep(Duration::from_millis(600));
        }
        log.close();
        let files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| is_log_file(&e.path()))
            .collect();
        assert!(files.len() >= 2, "rotated by size: {} files", files.len());
        // d0 left memory (capacity 2) and is read back from its file.
        let d = log.get("d0").unwrap().expect("d0 in the files");
        assert_eq!(d.rules, vec!["cutoff".to_owned()]);
        assert_eq!(d.output["decision"], "postpaid");
        assert!(log.get("nope").unwrap().is_none());
        assert!(!log.record(decision("late")), "closed log refuses");
        // No partial file is left behind.
        assert!(
            std::fs::read_dir(dir.path())
                .unwrap()
                .flatten()
                .all(|e| { !e.file_name().to_string_lossy().ends_with(".partial") })
        );
    }
}
