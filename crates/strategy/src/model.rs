//! The response models as the recommender sees them: rows of response features in, the four
//! predictions out.
//!
//! [`ResponseModel`] is the port; [`ResponseBundle`] is the implementation on a bundle written
//! by `forbear train response` (its heads laid out once for row-major scoring). Tests and the
//! strategy lab can plug in anything else — the simulator's truth, say — behind the same port.

use chrono::{DateTime, Utc};
use forbear_core::ContactAction;
use forbear_features::response::{ActionPart, ActionScope, STATE_COLUMNS};
use forbear_features::{RESPONSE_FEATURE_COUNT, ResponseState, response_features};
use forbear_models::{Bundle, BundleError, CompiledGbm, Gbm, Model};
use std::path::Path;

/// Predictions for one option.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Prediction {
    /// P(the contact is read or answered) (0 for no contact).
    pub respond: f64,
    /// P(payment within 7 days).
    pub pay: f64,
    /// Expected share of the balance paid, given a payment.
    pub share: f64,
    /// P(promise to pay) (0 for no contact; filled by [`ResponseModel::promise`] only).
    pub promise: f64,
    /// P(complaint or opt-out) (0 for no contact).
    pub complaint: f64,
}

/// Something that predicts responses to a day's options for one account.
pub trait ResponseModel: Send + Sync {
    /// Version names of the models, for the decision log.
    fn version(&self) -> String;

    /// The prediction for no contact (returned) and for each option (into `out`, one per
    /// option) of an account in `state`; `scratch` is reused between calls.
    fn predict(
        &self,
        state: &ResponseState,
        options: &[(ContactAction, DateTime<Utc>)],
        out: &mut [Prediction],
        scratch: &mut ModelScratch,
    ) -> Prediction;

    /// P(promise to pay) for each option (into `out`): asked only for the options a
    /// recommendation shows, since it does not enter their value.
    fn promise(
        &self,
        state: &ResponseState,
        options: &[(ContactAction, DateTime<Utc>)],
        out: &mut [f64],
        scratch: &mut ModelScratch,
    );
}

/// Buffers a model reuses between calls.
#[derive(Debug, Default)]
pub struct ModelScratch {
    /// Send instants already converted to the account's local time, per head.
    locals: Vec<(DateTime<Utc>, chrono::NaiveDateTime)>,
    rows: Vec<f64>,
    values: Vec<f64>,
    slot: Vec<usize>,
    probs: Vec<f64>,
}

/// The response models of a bundle, ready to score.
#[derive(Debug, Clone)]
pub struct ResponseBundle {
    version: String,
    respond: CompiledGbm,
    pay_responded: CompiledGbm,
    pay_untouched: CompiledGbm,
    share: CompiledGbm,
    promise: CompiledGbm,
    complaint: CompiledGbm,
}

impl ResponseBundle {
    /// Loads and checks a response bundle: checksums, the heads, and features equal to those
    /// this build computes.
    pub fn load(dir: &Path) -> Result<Self, BundleError> {
        let b = Bundle::load(dir)?;
        let format = |message: String| BundleError::Format {
            dir: dir.to_path_buf(),
            message,
        };
        if b.kind != "response" {
            return Err(format(format!(
                "a {} bundle, not a response bundle",
                b.kind
            )));
        }
        let expected: Vec<String> = response_features()
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        if b.spec.names() != expected {
            return Err(BundleError::SpecMismatch {
                dir: dir.to_path_buf(),
                expected: expected.join(", "),
                found: b.spec.names().join(", "),
            });
        }
        let head = |name: &str| -> Result<CompiledGbm, BundleError> {
            let k = b
                .heads
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| format(format!("no {name} head (retrain with this version)")))?;
            let parts = head_layout(name).1.len();
            match b.models.get(k) {
                Some(Model::Gbm(g)) if g.features.len() == RESPONSE_FEATURE_COUNT => {
                    let c = CompiledGbm::new(g);
                    if c.groups() == parts {
                        Ok(c)
                    } else {
                        Err(format(format!(
                            "the {name} head's trees are in {} groups, this build scores {parts} \
                             (retrain with this version)",
                            c.groups()
                        )))
                    }
                }
                _ => Err(format(format!(
                    "the {name} head is not a gradient-boosted model on the response features"
                ))),
            }
        };
        Ok(ResponseBundle {
            version: b.name.clone(),
            respond: head("respond")?,
            pay_responded: head("pay_responded")?,
            pay_untouched: head("pay_untouched")?,
            share: head("share")?,
            promise: head("promise")?,
            complaint: head("complaint")?,
        })
    }

    /// Models just trained (in [`HEADS`] order), without a bundle on disk; `None` unless there
    /// are six on the response features.
    pub fn from_heads(version: &str, heads: &[Gbm]) -> Option<Self> {
        if heads.len() != HEADS.len()
            || heads
                .iter()
                .any(|g| g.features.len() != RESPONSE_FEATURE_COUNT)
        {
            return None;
        }
        let c = |k: usize| CompiledGbm::new(&heads[k]);
        Some(ResponseBundle {
            version: version.to_owned(),
            respond: c(0),
            pay_responded: c(1),
            pay_untouched: c(2),
            share: c(3),
            promise: c(4),
            complaint: c(5),
        })
    }
}

/// The heads of a response bundle, in the order its models are stored.
pub const HEADS: [&str; 6] = [
    "respond",
    "pay_responded",
    "pay_untouched",
    "share",
    "promise",
    "complaint",
];

fn score(model: &CompiledGbm, rows: &[f64], out: &mut [f64]) {
    // Lengths are the caller's contract (checked in tests); a mismatch scores nothing. Every
    // row is one account's: the state columns are shared.
    if model.predict_rows_shared(rows, STATE_COLUMNS, out).is_err() {
        out.fill(0.0);
    }
}

/// What of the action each head sees (`scope`), and the parts its trees are grouped by
/// (`parts`, one interaction group each) — the one definition training and serving share.
pub fn head_layout(head: &str) -> (ActionScope, &'static [ActionPart]) {
    use ActionPart as P;
    match head {
        "respond" => (ActionScope::ChannelTime, &[P::ChannelTime]),
        "pay_responded" | "promise" => (ActionScope::ChannelTone, &[P::Channel, P::Tone]),
        "complaint" => (ActionScope::Full, &[P::ChannelTime, P::Tone]),
        _ => (ActionScope::StateOnly, &[]),
    }
}

/// Builds one row per distinct key of the options (`key` maps an option to `0..keys`), with the
/// action columns `scope` hides cleared; `slot[k]` is then the row of option `k`. Returns the
/// number of rows.
fn distinct_rows(
    scope: ActionScope,
    state: &ResponseState,
    options: &[(ContactAction, DateTime<Utc>)],
    keys: usize,
    key: impl Fn(&ContactAction) -> usize,
    scratch: &mut ModelScratch,
) -> usize {
    let w = RESPONSE_FEATURE_COUNT;
    let mut first = [usize::MAX; ContactAction::COUNT];
    scratch.locals.clear();
    scratch.slot.clear();
    scratch.rows.clear();
    let mut n = 0;
    for (a, at) in options {
        let k = key(a).min(keys - 1);
        if first[k] == usize::MAX {
            first[k] = n;
            scratch.rows.resize((n + 1) * w, 0.0);
            let local = match scratch.locals.iter().find(|(u, _)| u == at) {
                Some((_, l)) => *l,
                None => {
                    let l = state.zone().local(*at);
                    scratch.locals.push((*at, l));
                    l
                }
            };
            let row = &mut scratch.rows[n * w..];
            state.row_local(Some((*a, local)), row);
            scope.apply(row);
            n += 1;
        }
        scratch.slot.push(first[k]);
    }
    n
}

/// A head's probability for every option, into `out`, part by part: each part's trees on one
/// row per distinct value of the part, the raw parts summed (the bundle was checked on loading
/// to group its trees as `head_layout` says).
fn score_head(
    model: &CompiledGbm,
    head: &str,
    state: &ResponseState,
    options: &[(ContactAction, DateTime<Utc>)],
    scratch: &mut ModelScratch,
    out: &mut Vec<f64>,
) {
    let (scope, parts) = head_layout(head);
    out.clear();
    out.resize(options.len(), model.base_score());
    for (g, part) in parts.iter().enumerate() {
        let n = distinct_rows(scope, state, options, part.keys(), |a| part.key(a), scratch);
        scratch.values.clear();
        scratch.values.resize(n, 0.0);
        // Lengths are ours; a mismatch would leave the part at zero (checked in tests).
        let _ = model.add_shared(
            &scratch.rows,
            STATE_COLUMNS,
            &mut scratch.values,
            Some(g as u32),
        );
        for (o, &k) in out.iter_mut().zip(&scratch.slot) {
            *o += scratch.values[k];
        }
    }
    out.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
}

impl ResponseModel for ResponseBundle {
    fn version(&self) -> String {
        format!("response/{}", self.version)
    }

    fn predict(
        &self,
        state: &ResponseState,
        options: &[(ContactAction, DateTime<Utc>)],
        out: &mut [Prediction],
        scratch: &mut ModelScratch,
    ) -> Prediction {
        let mut none = [0.0; RESPONSE_FEATURE_COUNT];
        state.row(None, &mut none);
        let mut one = [0.0];
        score(&self.pay_untouched, &none, &mut one);
        let untouched = one[0];
        score(&self.share, &none, &mut one);
        let share = one[0];
        let mut probs = std::mem::take(&mut scratch.probs);
        for (model, head) in [
            (&self.respond, "respond"),
            (&self.pay_responded, "pay_responded"),
            (&self.complaint, "complaint"),
        ] {
            score_head(model, head, state, options, scratch, &mut probs);
            for (o, v) in out.iter_mut().zip(&probs) {
                match head {
                    "respond" => o.respond = *v,
                    "pay_responded" => o.pay = *v,
                    _ => o.complaint = *v,
                }
            }
        }
        scratch.probs = probs;
        for o in out.iter_mut() {
            // P(pay | a) = P(respond)·P(pay | responded) + (1 − P(respond))·P(pay | untouched).
            o.pay = o.respond * o.pay + (1.0 - o.respond) * untouched;
            o.share = share;
        }
        Prediction {
            respond: 0.0,
            pay: untouched,
            share,
            promise: 0.0,
            complaint: 0.0,
        }
    }

    fn promise(
        &self,
        state: &ResponseState,
        options: &[(ContactAction, DateTime<Utc>)],
        out: &mut [f64],
        scratch: &mut ModelScratch,
    ) {
        let mut probs = std::mem::take(&mut scratch.probs);
        score_head(
            &self.promise,
            "promise",
            state,
            options,
            scratch,
            &mut probs,
        );
        for (o, v) in out.iter_mut().zip(&probs) {
            *o = *v;
        }
        scratch.probs = probs;
    }
}
