//! Prometheus metrics in the text exposition format: request latency histograms per endpoint
//! and model version, request counts per endpoint and status, and decisions by action.
//!
//! Series are created on first use and updated with atomics; a request takes one read lock
//! to find its series.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Upper bounds of the latency buckets, seconds.
const BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in nanoseconds.
    sum_ns: AtomicU64,
}

impl Histogram {
    fn observe(&self, seconds: f64) {
        if let Some(k) = BUCKETS.iter().position(|b| seconds <= *b) {
            self.buckets[k].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_ns
            .fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
    }
}

type Labels = Vec<(&'static str, String)>;

/// FNV-1a: label values are short and ours, so a fast non-keyed hash is enough (the default
/// SipHash showed in profiles).
#[derive(Debug, Default, Clone, Copy)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3);
        }
        self.0 = h;
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

/// A family of series of one kind, by two label values (`names` gives the label names); a
/// lookup borrows the values, so answering a request allocates nothing here.
#[derive(Debug)]
struct Family<T> {
    names: [&'static str; 2],
    series: RwLock<FastMap<String, FastMap<String, Arc<T>>>>,
}

impl<T: Default> Family<T> {
    fn new(a: &'static str, b: &'static str) -> Self {
        Family {
            names: [a, b],
            series: RwLock::new(FastMap::default()),
        }
    }

    fn get(&self, a: &str, b: &str) -> Arc<T> {
        if let Ok(map) = self.series.read()
            && let Some(s) = map.get(a).and_then(|m| m.get(b))
        {
            return Arc::clone(s);
        }
        let mut map = match self.series.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(
            map.entry(a.to_owned())
                .or_default()
                .entry(b.to_owned())
                .or_default(),
        )
    }

    fn snapshot(&self) -> Vec<(Labels, Arc<T>)> {
        let map = match self.series.read() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out: Vec<(Labels, Arc<T>)> = map
            .iter()
            .flat_map(|(a, m)| {
                m.iter().map(move |(b, v)| {
                    (
                        vec![(self.names[0], a.clone()), (self.names[1], b.clone())],
                        Arc::clone(v),
                    )
                })
            })
            .collect();
        out.sort_by(|x, y| x.0.cmp(&y.0));
        out
    }
}

/// Every metric of the service.
#[derive(Debug)]
pub struct Metrics {
    latency: Family<Histogram>,
    requests: Family<AtomicU64>,
    decisions: Family<AtomicU64>,
    reloads_ok: AtomicU64,
    reloads_refused: AtomicU64,
    decision_log_errors: AtomicU64,
    /// Status codes as label text, so counting one allocates nothing.
    statuses: [String; 600],
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            latency: Family::new("endpoint", "model_version"),
            requests: Family::new("endpoint", "status"),
            decisions: Family::new("kind", "action"),
            reloads_ok: AtomicU64::new(0),
            reloads_refused: AtomicU64::new(0),
            decision_log_errors: AtomicU64::new(0),
            statuses: std::array::from_fn(|k| k.to_string()),
        }
    }
}

fn label_text(labels: &Labels) -> String {
    let mut s = String::new();
    for (i, (k, v)) in labels.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(s, "{k}=\"{v}\"");
    }
    s
}

impl Metrics {
    /// A request to `endpoint` answered with `status` after `seconds`, by `model_version`
    /// (empty when no model was involved).
    pub fn request(&self, endpoint: &str, status: u16, model_version: &str, seconds: f64) {
        self.latency.get(endpoint, model_version).observe(seconds);
        let status = self
            .statuses
            .get(usize::from(status))
            .map_or("other", String::as_str);
        self.requests
            .get(endpoint, status)
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A decision of `kind` (`recommend`, `eligibility`) with outcome `action`.
    pub fn decision(&self, kind: &'static str, action: &str) {
        self.decisions
            .get(kind, action)
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A reload that ended in `outcome` (`ok`, `refused`).
    pub fn reload(&self, outcome: &'static str) {
        let counter = if outcome == "ok" {
            &self.reloads_ok
        } else {
            &self.reloads_refused
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A decision the log could not take.
    pub fn decision_log_error(&self) {
        self.decision_log_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP forbear_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE forbear_request_duration_seconds histogram\n");
        for (labels, h) in self.latency.snapshot() {
            let l = label_text(&labels);
            let mut cumulative = 0;
            for (k, b) in BUCKETS.iter().enumerate() {
                cumulative += h.buckets[k].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "forbear_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {cumulative}"
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "forbear_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {count}"
            );
            let _ = writeln!(
                out,
                "forbear_request_duration_seconds_sum{{{l}}} {}",
                h.sum_ns.load(Ordering::Relaxed) as f64 / 1e9
            );
            let _ = writeln!(out, "forbear_request_duration_seconds_count{{{l}}} {count}");
        }
        let counters: [(&str, &str, &Family<AtomicU64>); 2] = [
            (
                "forbear_requests_total",
                "Requests answered, by endpoint and status.",
                &self.requests,
            ),
            (
                "forbear_decisions_total",
                "Decisions made, by kind and action.",
                &self.decisions,
            ),
        ];
        for (name, help, family) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, c) in family.snapshot() {
                let _ = writeln!(
                    out,
                    "{name}{{{}}} {}",
                    label_text(&labels),
                    c.load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP forbear_model_reloads_total Model reloads, by outcome.\n# TYPE forbear_model_reloads_total counter\nforbear_model_reloads_total{{outcome=\"ok\"}} {}\nforbear_model_reloads_total{{outcome=\"refused\"}} {}",
            self.reloads_ok.load(Ordering::Relaxed),
            self.reloads_refused.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP forbear_decision_log_errors_total Decisions the log could not write.\n# TYPE forbear_decision_log_errors_total counter\nforbear_decision_log_errors_total {}",
            self.decision_log_errors.load(Ordering::Relaxed)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_cumulative_buckets_and_escaped_labels() {
        let m = Metrics::default();
        m.request("/v1/score", 200, "v1", 0.0003);
        m.request("/v1/score", 200, "v1", 0.002);
        m.decision("recommend", "sms \"friendly\"");
        let text = m.render();
        assert!(text.contains(
            "forbear_request_duration_seconds_bucket{endpoint=\"/v1/score\",model_version=\"v1\",le=\"0.0005\"} 1"
        ), "{text}");
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("action=\"sms \\\"friendly\\\"\""));
        assert!(text.contains("forbear_requests_total{endpoint=\"/v1/score\",status=\"200\"} 2"));
    }
}
