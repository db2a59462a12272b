//! Per-prediction contributions of a tree ensemble: exact TreeSHAP (Lundberg, Erion & Lee, 2018,
//! "Consistent individualized feature attribution for tree ensembles", Algorithm 2).
//!
//! For one row, each feature gets the share of the row's log-odds it is responsible for, such that
//! the contributions plus the model's expected log-odds add up to the row's log-odds exactly. They
//! are what the tree model gives as reason codes (the features that pushed the risk up most).
//! Conditional expectations use the training rows that reached each node (`count`).

use crate::gbm::{Gbm, Tree};

#[derive(Debug, Clone, Copy)]
struct PathElement {
    feature: i64,
    zero: f64,
    one: f64,
    weight: f64,
}

fn extend(path: &mut Vec<PathElement>, zero: f64, one: f64, feature: i64) {
    let l = path.len();
    path.push(PathElement {
        feature,
        zero,
        one,
        weight: if l == 0 { 1.0 } else { 0.0 },
    });
    for i in (0..l).rev() {
        path[i + 1].weight += one * path[i].weight * (i + 1) as f64 / (l + 1) as f64;
        path[i].weight = zero * path[i].weight * (l - i) as f64 / (l + 1) as f64;
    }
}

fn unwind(path: &mut Vec<PathElement>, i: usize) {
    let l = path.len() - 1;
    let (one, zero) = (path[i].one, path[i].zero);
    let mut n = path[l].weight;
    for j in (0..l).rev() {
        if one != 0.0 {
            let t = path[j].weight;
            path[j].weight = n * (l + 1) as f64 / ((j + 1) as f64 * one);
            n = t - path[j].weight * zero * (l - j) as f64 / (l + 1) as f64;
        } else {
            path[j].weight = path[j].weight * (l + 1) as f64 / (zero * (l - j) as f64);
        }
    }
    for j in i..l {
        path[j].feature = path[j + 1].feature;
        path[j].zero = path[j + 1].zero;
        path[j].one = path[j + 1].one;
    }
    path.pop();
}

/// The total weight of the path once element `i` is taken out (without changing `path`).
fn unwound_sum(path: &[PathElement], i: usize) -> f64 {
    let l = path.len() - 1;
    let (one, zero) = (path[i].one, path[i].zero);
    let mut n = path[l].weight;
    let mut total = 0.0;
    for j in (0..l).rev() {
        if one != 0.0 {
            let w = n * (l + 1) as f64 / ((j + 1) as f64 * one);
            total += w;
            n = path[j].weight - w * zero * (l - j) as f64 / (l + 1) as f64;
        } else {
            total += path[j].weight * (l + 1) as f64 / (zero * (l - j) as f64);
        }
    }
    total
}

struct Walk<'a> {
    tree: &'a Tree,
    row: &'a dyn Fn(usize) -> f64,
    phi: &'a mut [f64],
}

impl Walk<'_> {
    /// `node >= 0` is an internal node, `node < 0` the leaf `!node`.
    fn cover(&self, node: i32) -> f64 {
        if node < 0 {
            f64::from(self.tree.leaf_counts[(!node) as usize])
        } else {
            f64::from(self.tree.nodes[node as usize].count)
        }
    }

    fn recurse(
        &mut self,
        node: i32,
        mut path: Vec<PathElement>,
        zero: f64,
        one: f64,
        feature: i64,
    ) {
        extend(&mut path, zero, one, feature);
        if node < 0 {
            let value = self.tree.leaves[(!node) as usize];
            for i in 1..path.len() {
                let w = unwound_sum(&path, i);
                let e = path[i];
                self.phi[e.feature as usize] += w * (e.one - e.zero) * value;
            }
            return;
        }
        let n = self.tree.nodes[node as usize];
        let x = (self.row)(n.feature as usize);
        let goes_left = if x.is_nan() {
            n.missing_left
        } else {
            x <= n.threshold
        };
        let (hot, cold) = if goes_left {
            (n.left, n.right)
        } else {
            (n.right, n.left)
        };
        let (mut iz, mut io) = (1.0, 1.0);
        if let Some(k) = (1..path.len()).find(|&k| path[k].feature == i64::from(n.feature)) {
            iz = path[k].zero;
            io = path[k].one;
            unwind(&mut path, k);
        }
        let total = self.cover(node);
        let f = i64::from(n.feature);
        self.recurse(hot, path.clone(), iz * self.cover(hot) / total, io, f);
        self.recurse(cold, path, iz * self.cover(cold) / total, 0.0, f);
    }
}

impl Gbm {
    /// Whether the trees carry the training counts contributions need (bundles written before
    /// they were recorded do not).
    pub fn has_covers(&self) -> bool {
        self.trees.iter().all(|t| {
            t.nodes.is_empty() || t.leaf_counts.len() == t.leaves.len() && t.nodes[0].count > 0
        })
    }

    /// The expected log-odds over the training rows (what contributions are measured from).
    pub fn expected_raw(&self) -> f64 {
        self.base_score
            + self
                .trees
                .iter()
                .map(|t| {
                    let total: f64 = t.leaf_counts.iter().map(|c| f64::from(*c)).sum();
                    if total == 0.0 {
                        t.leaves.first().copied().unwrap_or(0.0)
                    } else {
                        t.leaves
                            .iter()
                            .zip(&t.leaf_counts)
                            .map(|(v, c)| v * f64::from(*c))
                            .sum::<f64>()
                            / total
                    }
                })
                .sum::<f64>()
    }

    /// Each feature's contribution to the row's log-odds: they sum, with [`Gbm::expected_raw`],
    /// to [`Gbm::raw_score`] of the row.
    pub fn contributions(&self, row: &dyn Fn(usize) -> f64) -> Vec<f64> {
        let mut phi = vec![0.0; self.features.len()];
        for t in &self.trees {
            if t.nodes.is_empty() {
                continue;
            }
            let mut walk = Walk {
                tree: t,
                row,
                phi: &mut phi,
            };
            walk.recurse(0, Vec::with_capacity(32), 1.0, 1.0, -1);
        }
        phi
    }
}

/// Trees laid out for path attributions ([`Gbm::path_contributions`]), built once per model:
/// per node, the change of the expected log-odds (training rows as weights) on going to either
/// child, so one read per node both explains and predicts.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeExpectations {
    /// Sum over trees of the expectation at the root (a one-leaf tree: its value).
    roots: f64,
    trees: Vec<Vec<PathNode>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct PathNode {
    threshold: f64,
    /// Change of expectation going left, right.
    delta: [f64; 2],
    /// Left and right child (a node index, or `!leaf` below zero).
    child: [i32; 2],
    feature: u32,
    missing_left: bool,
}

impl Gbm {
    /// The layout path attributions need; `None` for trees without training counts.
    pub fn node_expectations(&self) -> Option<NodeExpectations> {
        if !self.has_covers() {
            return None;
        }
        let mut roots = 0.0;
        let trees = self
            .trees
            .iter()
            .map(|t| {
                if t.nodes.is_empty() {
                    roots += t.leaves.first().copied().unwrap_or(0.0);
                    return Vec::new();
                }
                let mut e = vec![0.0; t.nodes.len()];
                // Children come after their parents in `nodes`, so a reverse sweep sees both
                // children of a node before the node.
                let value = |e: &[f64], c: i32| -> (f64, f64) {
                    if c < 0 {
                        let l = (!c) as usize;
                        (t.leaves[l], f64::from(t.leaf_counts[l]))
                    } else {
                        (e[c as usize], f64::from(t.nodes[c as usize].count))
                    }
                };
                for k in (0..t.nodes.len()).rev() {
                    let n = t.nodes[k];
                    let (lv, lc) = value(&e, n.left);
                    let (rv, rc) = value(&e, n.right);
                    e[k] = if lc + rc > 0.0 {
                        (lv * lc + rv * rc) / (lc + rc)
                    } else {
                        0.5 * (lv + rv)
                    };
                }
                roots += e[0];
                t.nodes
                    .iter()
                    .enumerate()
                    .map(|(k, n)| PathNode {
                        threshold: n.threshold,
                        delta: [value(&e, n.left).0 - e[k], value(&e, n.right).0 - e[k]],
                        child: [n.left, n.right],
                        feature: n.feature,
                        missing_left: n.missing_left,
                    })
                    .collect()
            })
            .collect();
        Some(NodeExpectations { roots, trees })
    }

    /// Path attributions of one row (Saabas; the "tree interpreter"): along the row's path in
    /// each tree, the change of the expected log-odds at each split is credited to the split's
    /// feature. They add up, with the trees' root expectations and the base score, to the row's
    /// log-odds exactly, and cost one walk down each tree — a prediction's cost — where exact
    /// TreeSHAP ([`Gbm::contributions`]) costs a walk of every node with quadratic work per
    /// leaf. Unlike TreeSHAP they favour splits near the leaves; `benches/RESULTS.md` measures
    /// how often the two agree on the top reasons.
    ///
    /// Returns the contributions and the row's log-odds (the same walk predicts).
    pub fn path_contributions(&self, e: &NodeExpectations, row: &[f64]) -> (Vec<f64>, f64) {
        // Four trees are walked at once: each step of a walk waits for the node it loads, and
        // four independent walks let the processor overlap those waits.
        const LANES: usize = 4;
        let mut phi = vec![0.0; self.features.len()];
        let mut raw = self.base_score + e.roots;
        let value = |f: u32| row.get(f as usize).copied().unwrap_or(f64::NAN);
        for group in e.trees.chunks(LANES) {
            // `k[q]` is the current node of lane `q`; `usize::MAX` once it reached a leaf (or
            // its tree has no node).
            let mut k = [usize::MAX; LANES];
            for (q, t) in group.iter().enumerate() {
                if !t.is_empty() {
                    k[q] = 0;
                }
            }
            loop {
                let mut live = false;
                for (q, t) in group.iter().enumerate() {
                    let Some(n) = t.get(k[q]) else {
                        continue;
                    };
                    live = true;
                    let x = value(n.feature);
                    let left = (x <= n.threshold) | (x.is_nan() & n.missing_left);
                    let side = usize::from(!left);
                    let d = n.delta[side];
                    if let Some(p) = phi.get_mut(n.feature as usize) {
                        *p += d;
                    }
                    raw += d;
                    let c = n.child[side];
                    k[q] = if c < 0 { usize::MAX } else { c as usize };
                }
                if !live {
                    break;
                }
            }
        }
        (phi, raw)
    }
}

#[cfg(test)]
mod tests {
    use crate::{FeatureMatrix, GbmParams};

    #[test]
    fn path_contributions_add_up_and_mostly_agree_with_treeshap_on_the_driver() {
        let mut s = 9u64;
        let mut u = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let n = 3_000;
        let cols: Vec<Vec<f64>> = (0..3).map(|_| (0..n).map(|_| u()).collect()).collect();
        let y: Vec<bool> = (0..n)
            .map(|i| 3.0 * cols[0][i] + 0.5 * cols[1][i] + 0.2 * u() > 2.0)
            .collect();
        let x = FeatureMatrix::new((0..3).map(|f| format!("x{f}")).collect(), cols).unwrap();
        let m = GbmParams {
            n_trees: 30,
            ..Default::default()
        }
        .fit(&x, &y)
        .unwrap();
        let e = m.node_expectations().unwrap();
        let roots = e.roots;
        let mut agree = 0;
        let mut rows = 0;
        for i in (0..n).step_by(29) {
            let row = |f: usize| x.column(f)[i];
            let values: Vec<f64> = (0..3).map(row).collect();
            let (phi, raw) = m.path_contributions(&e, &values);
            let total = m.base_score + roots + phi.iter().sum::<f64>();
            assert!((total - m.raw_score(&row)).abs() < 1e-9);
            assert!((raw - m.raw_score(&row)).abs() < 1e-9);
            let exact = m.contributions(&row);
            let top = |v: &[f64]| {
                (0..v.len())
                    .max_by(|a, b| v[*a].abs().total_cmp(&v[*b].abs()))
                    .unwrap()
            };
            agree += usize::from(top(&phi) == top(&exact));
            rows += 1;
        }
        assert!(agree * 10 >= rows * 8, "{agree} of {rows}");
    }

    #[test]
    fn contributions_add_up_to_the_score_and_point_at_the_driver() {
        let mut s = 5u64;
        let mut u = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let n = 4_000;
        let cols: Vec<Vec<f64>> = (0..4)
            .map(|f| {
                (0..n)
                    .map(|_| if f == 3 && u() < 0.15 { f64::NAN } else { u() })
                    .collect()
            })
            .collect();
        // Only x0 and x1 matter; x2 is noise; x3 is noise with missing values.
        let y: Vec<bool> = (0..n)
            .map(|i| 2.0 * cols[0][i] + cols[1][i] + 0.3 * u() > 1.8)
            .collect();
        let x = FeatureMatrix::new((0..4).map(|f| format!("x{f}")).collect(), cols).unwrap();
        let m = GbmParams {
            n_trees: 40,
            ..Default::default()
        }
        .fit(&x, &y)
        .unwrap();
        assert!(m.has_covers());
        let base = m.expected_raw();
        let mut importance = [0.0; 4];
        for i in (0..n).step_by(37) {
            let row = |f: usize| x.column(f)[i];
            let phi = m.contributions(&row);
            let total = base + phi.iter().sum::<f64>();
            let raw = m.raw_score(&row);
            assert!((total - raw).abs() < 1e-9, "row {i}: {total} vs {raw}");
            for f in 0..4 {
                importance[f] += phi[f].abs();
            }
        }
        assert!(
            importance[0] > importance[1]
                && importance[1] > importance[2]
                && importance[1] > importance[3],
            "{importance:?}"
        );
    }
}
