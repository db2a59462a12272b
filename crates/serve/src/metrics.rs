//! Prometheus metrics in the text exposition format: request latency histograms per endpoint
//! and model version, request counts per endpoint and status, and decisions by action.
//!
//! Series are created on first use and updated with atomics; a request takes one read lock
//! to find its series.

use std::collections::BTreeMap;
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

/// A family of series of one kind, by labels.
#[derive(Debug, Default)]
struct Family<T> {
    series: RwLock<BTreeMap<Labels, Arc<T>>>,
}

impl<T: Default> Family<T> {
    fn get(&self, labels: Labels) -> Arc<T> {
        if let Ok(map) = self.series.read()
            && let Some(s) = map.get(&labels)
        {
            return Arc::clone(s);
        }
        let mut map = match self.series.write() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        Arc::clone(map.entry(labels).or_default())
    }

    fn snapshot(&self) -> Vec<(Labels, Arc<T>)> {
        let map = match self.series.read() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        map.iter()
            .map(|(k, v)| (k.clone(), Arc::clone(v)))
            .collect()
    }
}

/// Every metric of the service.
#[derive(Debug, Default)]
pub struct Metrics {
    latency: Family<Histogram>,
    requests: Family<AtomicU64>,
    decisions: Family<AtomicU64>,
    reloads: Family<AtomicU64>,
    decision_log_errors: AtomicU64,
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
        self.latency
            .get(vec![
                ("endpoint", endpoint.to_owned()),
                ("model_version", model_version.to_owned()),
            ])
            .observe(seconds);
        self.requests
            .get(vec![
                ("endpoint", endpoint.to_owned()),
                ("status", status.to_string()),
            ])
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A decision of `kind` (`recommend`, `eligibility`) with outcome `action`.
    pub fn decision(&self, kind: &'static str, action: &str) {
        self.decisions
            .get(vec![
                ("kind", kind.to_owned()),
                ("action", action.to_owned()),
            ])
            .fetch_add(1, Ordering::Relaxed);
    }

    /// A reload that ended in `outcome` (`ok`, `refused`).
    pub fn reload(&self, outcome: &'static str) {
        self.reloads
            .get(vec![("outcome", outcome.to_owned())])
            .fetch_add(1, Ordering::Relaxed);
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
        let counters: [(&str, &str, &Family<AtomicU64>); 3] = [
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
            (
                "forbear_model_reloads_total",
                "Model reloads, by outcome.",
                &self.reloads,
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
