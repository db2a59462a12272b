//! Policy trees: a targeting rule of depth one or two ("customers with `recency` ≤ 6 and
//! `history` > 200: the men's e-mail; the others: none"), learned by exhaustive search from
//! per-row doubly robust scores of each arm (Athey & Wager, "Policy learning with observational
//! data", Econometrica 2021; the `policytree` package).
//!
//! A row's score for an arm, Γᵢ(a) = q(a, xᵢ) + 1{Aᵢ = a}·(Yᵢ − q(a, xᵢ))/pᵢ − cost(a), is an
//! unbiased estimate of what the arm would have given that row, whichever arm it received; the
//! tree maximises the sum of its rows' scores for the arms it assigns. Where per-customer
//! models pick each customer's arm from predicted differences that are mostly noise (uplifts of
//! a few points), a tree decides per segment, from a few thousand rows each — a rule a credit
//! or marketing team can read, and one that leaves the best single arm only where the data
//! says so.
//!
//! Thresholds are up to [`MAX_CUTS`] quantiles of each feature; a missing value goes right.

/// Candidate thresholds per feature (quantiles of its values).
pub const MAX_CUTS: usize = 32;

/// A learned policy tree.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyTree {
    /// Every row reaching here gets this arm.
    Leaf(usize),
    /// Rows with `feature` ≤ `threshold` go left, the others (and missing values) right.
    Split {
        /// Column of the feature matrix.
        feature: usize,
        /// Threshold.
        threshold: f64,
        /// Rows at or below the threshold.
        left: Box<PolicyTree>,
        /// Rows above it or missing.
        right: Box<PolicyTree>,
    },
}

/// Each row's bin per feature, and the features' thresholds, built once for many fits.
#[derive(Debug, Clone)]
pub struct Binned {
    /// `cuts[f]`: ascending thresholds of feature `f`.
    cuts: Vec<Vec<f64>>,
    /// `bins[f][i]`: how many of `cuts[f]` lie below row `i`'s value (missing: all of them).
    bins: Vec<Vec<u8>>,
}

impl Binned {
    /// Bins the columns (each `rows` long) at up to [`MAX_CUTS`] quantiles.
    pub fn new(columns: &[&[f64]]) -> Binned {
        let mut cuts = Vec::with_capacity(columns.len());
        let mut bins = Vec::with_capacity(columns.len());
        for col in columns {
            let mut v: Vec<f64> = col.iter().copied().filter(|x| !x.is_nan()).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            // A threshold at each of the last value's predecessors, thinned to quantiles.
            let candidates = v.len().saturating_sub(1);
            let c: Vec<f64> = if candidates <= MAX_CUTS {
                v[..candidates].to_vec()
            } else {
                let mut c: Vec<f64> = (1..=MAX_CUTS)
                    .map(|q| v[(q * candidates / (MAX_CUTS + 1)).min(candidates - 1)])
                    .collect();
                c.dedup();
                c
            };
            bins.push(
                col.iter()
                    .map(|&x| {
                        if x.is_nan() {
                            c.len() as u8
                        } else {
                            c.partition_point(|t| *t < x) as u8
                        }
                    })
                    .collect(),
            );
            cuts.push(c);
        }
        Binned { cuts, bins }
    }

    /// Rows binned.
    pub fn rows(&self) -> usize {
        self.bins.first().map_or(0, Vec::len)
    }
}

/// The best tree of at most `depth` (0, 1 or 2) levels over `rows` (indexes into `binned`),
/// given each row's score per arm (`scores[i][a]`), with its total score.
pub fn fit(
    binned: &Binned,
    scores: &[Vec<f64>],
    rows: &[usize],
    depth: usize,
) -> (PolicyTree, f64) {
    let arms = scores.first().map_or(0, Vec::len);
    if depth == 0 || arms == 0 {
        let (arm, value) = best_arm(&totals(scores, rows, arms));
        return (PolicyTree::Leaf(arm), value);
    }
    if depth == 1 {
        return fit_stump(binned, scores, rows, arms);
    }
    let (mut tree, mut value) = fit_stump(binned, scores, rows, arms);
    for (f, cuts) in binned.cuts.iter().enumerate() {
        for (c, &threshold) in cuts.iter().enumerate() {
            let (l, r): (Vec<usize>, Vec<usize>) = rows
                .iter()
                .partition(|&&i| usize::from(binned.bins[f][i]) <= c);
            if l.is_empty() || r.is_empty() {
                continue;
            }
            let (lt, lv) = fit(binned, scores, &l, depth - 1);
            let (rt, rv) = fit(binned, scores, &r, depth - 1);
            if lv + rv > value + 1e-12 {
                value = lv + rv;
                tree = PolicyTree::Split {
                    feature: f,
                    threshold,
                    left: Box::new(lt),
                    right: Box::new(rt),
                };
            }
        }
    }
    (tree.simplified(), value)
}

/// The scores of `rows` summed per arm.
fn totals(scores: &[Vec<f64>], rows: &[usize], arms: usize) -> Vec<f64> {
    let mut total = vec![0.0; arms];
    for &i in rows {
        for (t, s) in total.iter_mut().zip(&scores[i]) {
            *t += s;
        }
    }
    total
}

/// The best arm of summed scores, and its sum.
fn best_arm(total: &[f64]) -> (usize, f64) {
    total.iter().copied().enumerate().fold(
        (0, f64::NEG_INFINITY),
        |b, (a, v)| if v > b.1 { (a, v) } else { b },
    )
}

/// The best single split (or none) of `rows`, by prefix sums over each feature's bins.
fn fit_stump(
    binned: &Binned,
    scores: &[Vec<f64>],
    rows: &[usize],
    arms: usize,
) -> (PolicyTree, f64) {
    let total = totals(scores, rows, arms);
    let (arm, mut value) = best_arm(&total);
    let mut tree = PolicyTree::Leaf(arm);
    for (f, cuts) in binned.cuts.iter().enumerate() {
        if cuts.is_empty() {
            continue;
        }
        // Per bin, the summed scores per arm; then the left side of cut c is bins 0..=c.
        let mut per_bin = vec![0.0; (cuts.len() + 1) * arms];
        let mut count = vec![0usize; cuts.len() + 1];
        for &i in rows {
            let b = usize::from(binned.bins[f][i]);
            count[b] += 1;
            for (t, s) in per_bin[b * arms..(b + 1) * arms].iter_mut().zip(&scores[i]) {
                *t += s;
            }
        }
        let mut left = vec![0.0; arms];
        let mut n_left = 0;
        for c in 0..cuts.len() {
            for (l, s) in left.iter_mut().zip(&per_bin[c * arms..(c + 1) * arms]) {
                *l += s;
            }
            n_left += count[c];
            if n_left == 0 || n_left == rows.len() {
                continue;
            }
            let right: Vec<f64> = total.iter().zip(&left).map(|(t, l)| t - l).collect();
            let (la, lv) = best_arm(&left);
            let (ra, rv) = best_arm(&right);
            if lv + rv > value + 1e-12 {
                value = lv + rv;
                tree = PolicyTree::Split {
                    feature: f,
                    threshold: cuts[c],
                    left: Box::new(PolicyTree::Leaf(la)),
                    right: Box::new(PolicyTree::Leaf(ra)),
                };
            }
        }
    }
    (tree.simplified(), value)
}

impl PolicyTree {
    /// The arm for a row whose feature `f` is `value(f)`.
    pub fn choose(&self, value: &dyn Fn(usize) -> f64) -> usize {
        match self {
            PolicyTree::Leaf(a) => *a,
            PolicyTree::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                if value(*feature) <= *threshold {
                    left.choose(value)
                } else {
                    right.choose(value)
                }
            }
        }
    }

    /// Number of levels.
    pub fn depth(&self) -> usize {
        match self {
            PolicyTree::Leaf(_) => 0,
            PolicyTree::Split { left, right, .. } => 1 + left.depth().max(right.depth()),
        }
    }

    /// The same policy with splits whose sides give one arm merged into a leaf.
    fn simplified(self) -> PolicyTree {
        match self {
            PolicyTree::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                let (l, r) = (left.simplified(), right.simplified());
                match (&l, &r) {
                    (PolicyTree::Leaf(a), PolicyTree::Leaf(b)) if a == b => PolicyTree::Leaf(*a),
                    _ => PolicyTree::Split {
                        feature,
                        threshold,
                        left: Box::new(l),
                        right: Box::new(r),
                    },
                }
            }
            leaf => leaf,
        }
    }

    /// The rule in words, with feature and arm names: `if recency <= 6 then (…) else (…)`.
    pub fn describe(&self, features: &[String], arms: &[String]) -> String {
        match self {
            PolicyTree::Leaf(a) => arms.get(*a).cloned().unwrap_or_else(|| format!("arm {a}")),
            PolicyTree::Split {
                feature,
                threshold,
                left,
                right,
            } => format!(
                "if {} <= {} then {} else {}",
                features
                    .get(*feature)
                    .map_or_else(|| format!("feature {feature}"), Clone::clone),
                threshold,
                wrap(left.describe(features, arms), left),
                wrap(right.describe(features, arms), right),
            ),
        }
    }
}

fn wrap(s: String, t: &PolicyTree) -> String {
    if matches!(t, PolicyTree::Leaf(_)) {
        s
    } else {
        format!("({s})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two segments, each with its own best arm and one noise column: depth 1 finds the
    /// segment's threshold; depth 2 adds nothing but may not lose; depth 0 is the best arm.
    #[test]
    fn finds_the_segments_and_their_arms() {
        let n = 2_000;
        let x0: Vec<f64> = (0..n).map(|i| (i % 20) as f64).collect();
        let x1: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64).collect();
        // Arm 1 is worth 1 below x0 = 6, arm 2 worth 0.5 everywhere, arm 0 nothing.
        let scores: Vec<Vec<f64>> = (0..n)
            .map(|i| vec![0.0, if x0[i] < 6.0 { 1.0 } else { -1.0 }, 0.5])
            .collect();
        let b = Binned::new(&[&x0, &x1]);
        let rows: Vec<usize> = (0..n).collect();
        let (t0, v0) = fit(&b, &scores, &rows, 0);
        assert_eq!(t0, PolicyTree::Leaf(2));
        assert!((v0 - 0.5 * n as f64).abs() < 1e-9);
        let (t1, v1) = fit(&b, &scores, &rows, 1);
        assert_eq!(t1.depth(), 1);
        for i in [0, 5, 6, 19, 150] {
            let want = if x0[i] < 6.0 { 1 } else { 2 };
            assert_eq!(t1.choose(&|f| [x0[i], x1[i]][f]), want, "row {i}");
        }
        assert!((v1 - (600.0 + 0.5 * 1400.0)).abs() < 1e-9);
        let (t2, v2) = fit(&b, &scores, &rows, 2);
        assert!(v2 >= v1 - 1e-9);
        assert_eq!(t2, t1, "a second level that adds nothing is merged away");
        let names = ["x0".to_owned(), "x1".to_owned()];
        let arms = ["none".to_owned(), "a".to_owned(), "b".to_owned()];
        assert_eq!(t1.describe(&names, &arms), "if x0 <= 5 then a else b");
        // Missing values go right.
        assert_eq!(t1.choose(&|_| f64::NAN), 2);
    }

    /// Many distinct values are cut at quantiles; each row's bin agrees with its threshold.
    #[test]
    fn many_values_are_cut_at_quantiles() {
        let x: Vec<f64> = (0..1000).map(|i| f64::from(i % 500)).collect();
        let b = Binned::new(&[&x]);
        let cuts = &b.cuts[0];
        assert!(!cuts.is_empty() && cuts.len() <= MAX_CUTS);
        assert!(cuts.windows(2).all(|w| w[0] < w[1]));
        for (i, v) in x.iter().enumerate() {
            let bin = usize::from(b.bins[0][i]);
            assert!(bin == cuts.len() || *v <= cuts[bin]);
            assert!(bin == 0 || *v > cuts[bin - 1]);
        }
        assert_eq!(b.rows(), 1000);
    }

    /// An interaction only a second level can express.
    #[test]
    fn depth_two_finds_an_interaction() {
        let n = 4_000;
        let x0: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
        let x1: Vec<f64> = (0..n).map(|i| ((i / 2) % 2) as f64).collect();
        let scores: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let both = x0[i] == 1.0 && x1[i] == 1.0;
                vec![0.0, if both { 1.0 } else { -0.2 }]
            })
            .collect();
        let b = Binned::new(&[&x0, &x1]);
        let rows: Vec<usize> = (0..n).collect();
        let (t, v) = fit(&b, &scores, &rows, 2);
        assert!((v - n as f64 / 4.0).abs() < 1e-9, "{v}");
        for i in 0..8 {
            let want = usize::from(x0[i] == 1.0 && x1[i] == 1.0);
            assert_eq!(t.choose(&|f| [x0[i], x1[i]][f]), want);
        }
    }
}
