//! Gradient-boosted decision trees for binary outcomes, histogram-based and grown leaf-wise.
//!
//! The algorithm of LightGBM, in plain Rust: every feature is cut into at most 255 bins by
//! quantiles (missing values get a bin of their own), each tree is grown best-leaf-first on
//! histograms of gradients and hessians of the log-loss, a child's histogram is its parent's minus
//! its sibling's, and a split sends missing values to whichever side gains more. Defaults are
//! LightGBM's: 100 trees, 31 leaves, learning rate 0.1, at least 20 rows per leaf.

use crate::matrix::Columns;
use crate::{FeatureMatrix, ModelError};
use serde::{Deserialize, Serialize};

/// Hyper-parameters; [`GbmParams::default`] are LightGBM's defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GbmParams {
    /// Boosting rounds (trees). Default 100.
    pub n_trees: usize,
    /// Shrinkage of every tree's output. Default 0.1.
    pub learning_rate: f64,
    /// Leaves per tree. Default 31.
    pub max_leaves: usize,
    /// Minimum rows in a leaf. Default 20.
    pub min_data_in_leaf: usize,
    /// Minimum sum of hessians in a leaf. Default 1e-3.
    pub min_sum_hessian: f64,
    /// L2 regularisation of leaf values. Default 0.
    pub lambda_l2: f64,
    /// Bins per feature, at most 255 (one more is kept for missing values). Default 255.
    pub max_bins: usize,
    /// Interaction groups (LightGBM's interaction constraints, one group per tree): when not
    /// empty, tree `t` splits only on features in no group and on those of group `t mod len`.
    /// A model whose trees each read one group is a sum of per-group functions, which a caller
    /// can evaluate once per distinct value of each group. Default: none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feature_groups: Vec<Vec<usize>>,
}

impl Default for GbmParams {
    fn default() -> Self {
        GbmParams {
            n_trees: 100,
            learning_rate: 0.1,
            max_leaves: 31,
            min_data_in_leaf: 20,
            min_sum_hessian: 1e-3,
            lambda_l2: 0.0,
            max_bins: 255,
            feature_groups: Vec::new(),
        }
    }
}

impl GbmParams {
    /// Checks every parameter's range.
    pub fn check(&self) -> Result<(), ModelError> {
        let bad = |name, value: String, expected| {
            Err(ModelError::InvalidParam {
                name,
                value,
                expected,
            })
        };
        if self.n_trees == 0 {
            return bad("n_trees", self.n_trees.to_string(), "at least 1");
        }
        if !(self.learning_rate > 0.0 && self.learning_rate <= 1.0) {
            return bad("learning_rate", self.learning_rate.to_string(), "in (0, 1]");
        }
        if self.max_leaves < 2 {
            return bad("max_leaves", self.max_leaves.to_string(), "at least 2");
        }
        if self.min_data_in_leaf == 0 {
            return bad(
                "min_data_in_leaf",
                self.min_data_in_leaf.to_string(),
                "at least 1",
            );
        }
        if self.min_sum_hessian.is_nan() || self.min_sum_hessian < 0.0 {
            return bad("min_sum_hessian", self.min_sum_hessian.to_string(), "≥ 0");
        }
        if self.lambda_l2.is_nan() || self.lambda_l2 < 0.0 {
            return bad("lambda_l2", self.lambda_l2.to_string(), "≥ 0");
        }
        if !(2..=255).contains(&self.max_bins) {
            return bad("max_bins", self.max_bins.to_string(), "between 2 and 255");
        }
        Ok(())
    }

    /// Fits a model to `x` and binary labels `y`.
    pub fn fit(&self, x: &FeatureMatrix, y: &[bool]) -> Result<Gbm, ModelError> {
        self.check()?;
        x.check_training(y)?;
        let soft: Vec<f64> = y.iter().map(|&v| f64::from(u8::from(v))).collect();
        fit(self, x, &soft, None, None)
    }

    /// Fits a model to `x` and targets `y` in `[0, 1]` (cross-entropy: a share paid, a
    /// probability), each row weighted by `weights` (inverse propensities, say) when given.
    /// The model's output is then the expected target.
    pub fn fit_weighted(
        &self,
        x: &FeatureMatrix,
        y: &[f64],
        weights: Option<&[f64]>,
    ) -> Result<Gbm, ModelError> {
        self.check()?;
        x.check_targets(y, weights)?;
        fit(self, x, y, weights, None)
    }

    /// Boosting continued from `base`: the trees of `base` are kept and this many more are
    /// grown on `x` (a subgroup's rows, say), starting from `base`'s scores. A T-learner built
    /// this way shares what the arms have in common and learns only how each differs.
    pub fn fit_continued(
        &self,
        base: &Gbm,
        x: &FeatureMatrix,
        y: &[f64],
        weights: Option<&[f64]>,
    ) -> Result<Gbm, ModelError> {
        self.check()?;
        x.check_targets(y, weights)?;
        if base.features != x.names() {
            return Err(ModelError::FeatureCount {
                expected: base.features.len(),
                found: x.features(),
            });
        }
        fit(self, x, y, weights, Some(base))
    }
}

/// Cut points of one feature: bin `b ≥ 1` holds values in `(upper[b-2], upper[b-1]]`; bin 0 holds
/// missing values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bins {
    upper: Vec<f64>,
}

impl Bins {
    fn build(values: &[f64], max_bins: usize) -> Bins {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        for x in v {
            match distinct.last_mut() {
                Some((d, n)) if *d == x => *n += 1,
                _ => distinct.push((x, 1)),
            }
        }
        if distinct.is_empty() {
            return Bins {
                upper: vec![f64::INFINITY],
            };
        }
        let mut upper = Vec::new();
        if distinct.len() <= max_bins {
            for w in distinct.windows(2) {
                upper.push((w[0].0 + w[1].0) / 2.0);
            }
        } else {
            // Equal-frequency cuts on distinct values.
            let total: usize = distinct.iter().map(|d| d.1).sum();
            let per_bin = total as f64 / max_bins as f64;
            let mut acc = 0usize;
            let mut next = per_bin;
            for w in distinct.windows(2) {
                acc += w[0].1;
                if acc as f64 >= next && upper.len() + 1 < max_bins {
                    upper.push((w[0].0 + w[1].0) / 2.0);
                    while next <= acc as f64 {
                        next += per_bin;
                    }
                }
            }
        }
        upper.push(f64::INFINITY);
        Bins { upper }
    }

    fn bin(&self, x: f64) -> u8 {
        if x.is_nan() {
            return 0;
        }
        (self.upper.partition_point(|&u| u < x) + 1) as u8
    }

    fn count(&self) -> usize {
        self.upper.len() + 1
    }
}

/// A node of a fitted tree: go left when the value is at most `threshold`, missing values as
/// `missing_left` says. Children `< 0` are leaves: `!child` indexes the leaf values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Feature index.
    pub feature: u32,
    /// Split value.
    pub threshold: f64,
    /// Where missing values go.
    pub missing_left: bool,
    /// Left child (a node index, or `!leaf`).
    pub left: i32,
    /// Right child.
    pub right: i32,
    /// Loss reduction of the split (for feature importance).
    #[serde(default)]
    pub gain: f64,
    /// Training rows that reached the node (for contributions).
    #[serde(default)]
    pub count: u32,
}

/// One fitted tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Internal nodes; the root is node 0 (a tree with no node is a single leaf).
    pub nodes: Vec<Node>,
    /// Leaf outputs (already multiplied by the learning rate).
    pub leaves: Vec<f64>,
    /// Training rows that reached each leaf (for contributions).
    #[serde(default)]
    pub leaf_counts: Vec<u32>,
    /// The interaction group the tree was restricted to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<u32>,
}

impl Tree {
    /// The leaf a row falls in.
    pub fn leaf(&self, row: &dyn Fn(usize) -> f64) -> usize {
        if self.nodes.is_empty() {
            return 0;
        }
        let mut k = 0i32;
        loop {
            let n = &self.nodes[k as usize];
            let x = row(n.feature as usize);
            let left = if x.is_nan() {
                n.missing_left
            } else {
                x <= n.threshold
            };
            k = if left { n.left } else { n.right };
            if k < 0 {
                return (!k) as usize;
            }
        }
    }
}

/// A fitted gradient-boosted model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gbm {
    /// Feature names, in order.
    pub features: Vec<String>,
    /// Log-odds before the first tree.
    pub base_score: f64,
    /// The trees.
    pub trees: Vec<Tree>,
    /// Parameters it was fitted with.
    pub params: GbmParams,
}

impl Gbm {
    /// Log-odds of one row given as a feature lookup.
    pub fn raw_score(&self, row: &dyn Fn(usize) -> f64) -> f64 {
        self.base_score
            + self
                .trees
                .iter()
                .map(|t| t.leaves[t.leaf(row)])
                .sum::<f64>()
    }

    /// Total split gain per feature, normalised to sum to 1 (0 for unused features).
    pub fn importance(&self) -> Vec<f64> {
        let mut g = vec![0.0; self.features.len()];
        for n in self.trees.iter().flat_map(|t| &t.nodes) {
            g[n.feature as usize] += n.gain;
        }
        let total: f64 = g.iter().sum();
        if total > 0.0 {
            g.iter_mut().for_each(|v| *v /= total);
        }
        g
    }

    /// Probability of the positive class for every row of `x`.
    pub fn predict_proba(&self, x: &FeatureMatrix) -> Result<Vec<f64>, ModelError> {
        self.predict_columns(&x.view())
    }

    /// Probability of the positive class for every row of borrowed columns (an Arrow batch,
    /// without a copy).
    pub fn predict_columns(&self, x: &Columns<'_>) -> Result<Vec<f64>, ModelError> {
        Ok(self.raw_columns(x)?.into_iter().map(sigmoid).collect())
    }

    /// Log-odds for every row of borrowed columns.
    pub fn raw_columns(&self, x: &Columns<'_>) -> Result<Vec<f64>, ModelError> {
        if x.features() != self.features.len() {
            return Err(ModelError::FeatureCount {
                expected: self.features.len(),
                found: x.features(),
            });
        }
        let mut raw = vec![self.base_score; x.rows()];
        if x.rows() < QUICKSCORER_MIN_ROWS {
            let flat: Vec<FlatTree> = self.trees.iter().map(FlatTree::new).collect();
            walk_lanes(&flat, x, &mut raw);
            return Ok(raw);
        }
        let scorer = QuickScorer::new(self);
        scorer.score(x, &mut raw);
        walk_lanes(&scorer.walked, x, &mut raw);
        Ok(raw)
    }
}

/// Below this many rows, laying the trees out for [`QuickScorer`] costs more than walking them.
const QUICKSCORER_MIN_ROWS: usize = 64;

/// A model laid out once for scoring many small batches of rows (the candidate actions of one
/// recommendation): rows are given row-major, so a caller fills one buffer per request and no
/// tree is re-laid per call.
#[derive(Clone)]
pub struct CompiledGbm {
    flat: Vec<FlatTree>,
    /// The trees of each interaction group (`Some`) and all of them (`None`) laid out for
    /// QuickScorer, for one row or a few sharing their first columns; a part missing here does
    /// not fit (a tree wider than 64 leaves, more than 256 trees) and is walked.
    shared: Vec<(Option<u32>, QsGroup)>,
    base_score: f64,
    width: usize,
}

impl std::fmt::Debug for CompiledGbm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledGbm")
            .field("trees", &self.flat.len())
            .field("width", &self.width)
            .finish()
    }
}

impl CompiledGbm {
    /// Lays out `model` for row-major scoring.
    pub fn new(model: &Gbm) -> CompiledGbm {
        let width = model.features.len();
        let mut parts: Vec<Option<u32>> = vec![None];
        parts.extend(model.trees.iter().filter_map(|t| t.group).map(Some));
        parts.sort_unstable();
        parts.dedup();
        let shared = parts
            .into_iter()
            .filter_map(|g| {
                let trees: Vec<&Tree> = model
                    .trees
                    .iter()
                    .filter(|t| g.is_none() || t.group == g)
                    .collect();
                QsGroup::of_trees(&trees, width).map(|s| (g, s))
            })
            .collect();
        CompiledGbm {
            flat: model.trees.iter().map(FlatTree::new).collect(),
            shared,
            base_score: model.base_score,
            width,
        }
    }

    /// Features per row.
    pub fn width(&self) -> usize {
        self.width
    }

    fn check_rows(&self, rows: &[f64], n: usize) -> Result<(), ModelError> {
        if rows.len() == n * self.width {
            Ok(())
        } else {
            Err(ModelError::LengthMismatch {
                rows: rows.len() / self.width.max(1),
                labels: n,
            })
        }
    }

    /// Probabilities of rows laid out row-major in `rows` (`width` values each) that share their
    /// first `shared` columns (one
    /// account's state, with different actions after it). Each tree is walked once: a node on
    /// a shared column sends every row the same way, a node on another column splits the rows
    /// between its children (in place), and a leaf adds its value to the rows that reach it —
    /// so rows are only ever looked at where they differ.
    pub fn predict_rows_shared(
        &self,
        rows: &[f64],
        shared: usize,
        out: &mut [f64],
    ) -> Result<(), ModelError> {
        out.fill(self.base_score);
        self.add_shared(rows, shared, out, None)?;
        out.iter_mut().for_each(|v| *v = sigmoid(*v));
        Ok(())
    }

    /// Log-odds before any tree.
    pub fn base_score(&self) -> f64 {
        self.base_score
    }

    /// Adds to `out` the raw outputs of the trees of interaction group `group` (every tree with
    /// `None`) for rows sharing their first `shared` columns — no base score, no link: a model
    /// trained with [`GbmParams::feature_groups`] is scored group by group, each on the rows
    /// that differ in its group's features only, and the parts summed.
    pub fn add_shared(
        &self,
        rows: &[f64],
        shared: usize,
        out: &mut [f64],
        group: Option<u32>,
    ) -> Result<(), ModelError> {
        let n = out.len();
        self.check_rows(rows, n)?;
        if n == 0 {
            return Ok(());
        }
        if n <= 64 {
            if let Some((_, g)) = self.shared.iter().find(|(g, _)| *g == group) {
                SHARED_SCRATCH.with_borrow_mut(|s| g.add_rows(rows, self.width, shared, out, s));
            } else {
                self.add_shared_masks(rows, shared, out, group);
            }
            return Ok(());
        }
        let mut idx: Vec<u32> = Vec::with_capacity(n);
        let mut stack: Vec<(usize, usize, usize)> = Vec::with_capacity(32);
        for t in self
            .flat
            .iter()
            .filter(|t| group.is_none() || t.group == group)
        {
            idx.clear();
            idx.extend(0..n as u32);
            stack.clear();
            stack.push((0, 0, n));
            while let Some((mut k, lo, hi)) = stack.pop() {
                loop {
                    if k >= t.internal {
                        let v = t.leaves[k - t.internal];
                        for &i in &idx[lo..hi] {
                            out[i as usize] += v;
                        }
                        break;
                    }
                    let nd = &t.nodes[k];
                    let f = nd.feature as usize;
                    let goes_left = |v: f64| (v <= nd.threshold) | (v.is_nan() & nd.missing_left);
                    if f < shared || hi - lo == 1 {
                        let v = rows[idx[lo] as usize * self.width + f];
                        k = nd.next[usize::from(goes_left(v))] as usize;
                        continue;
                    }
                    // Partition idx[lo..hi]: rows going left first.
                    let mut split = lo;
                    for j in lo..hi {
                        if goes_left(rows[idx[j] as usize * self.width + f]) {
                            idx.swap(split, j);
                            split += 1;
                        }
                    }
                    let (left, right) = (nd.next[1] as usize, nd.next[0] as usize);
                    if split == lo {
                        k = right;
                    } else if split == hi {
                        k = left;
                    } else {
                        // The right part waits; the left part goes next.
                        stack.push((right, split, hi));
                        stack.push((left, lo, split));
                        break;
                    }
                }
            }
        }
        Ok(())
    }

    /// [`CompiledGbm::add_shared`] for at most 64 rows: the rows reaching a node are the bits
    /// of a word. A node on a shared column sends the whole word one way; a node on another
    /// column splits it by the mask of rows going left, read from the column's few distinct
    /// values (sorted once per call, with the rows holding each) instead of testing every row;
    /// a leaf adds its value to the rows of its word.
    fn add_shared_masks(&self, rows: &[f64], shared: usize, out: &mut [f64], group: Option<u32>) {
        let n = out.len();
        let all = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
        let mut columns: Vec<Option<DistinctColumn>> = vec![None; self.width];
        let mut stack: Vec<(usize, u64)> = Vec::with_capacity(32);
        for t in self
            .flat
            .iter()
            .filter(|t| group.is_none() || t.group == group)
        {
            stack.clear();
            stack.push((0, all));
            while let Some((mut k, mut set)) = stack.pop() {
                loop {
                    if k >= t.internal {
                        let v = t.leaves[k - t.internal];
                        let mut bits = set;
                        while bits != 0 {
                            out[bits.trailing_zeros() as usize] += v;
                            bits &= bits - 1;
                        }
                        break;
                    }
                    let nd = &t.nodes[k];
                    let f = nd.feature as usize;
                    if f < shared {
                        let v = rows[f];
                        let left = (v <= nd.threshold) | (v.is_nan() & nd.missing_left);
                        k = nd.next[usize::from(left)] as usize;
                        continue;
                    }
                    let column = columns[f]
                        .get_or_insert_with(|| DistinctColumn::new(rows, self.width, f, n));
                    let goes_left = column.left_of(nd.threshold, nd.missing_left);
                    let (left, right) = (set & goes_left, set & !goes_left);
                    if left == 0 {
                        k = nd.next[0] as usize;
                    } else if right == 0 {
                        k = nd.next[1] as usize;
                    } else {
                        stack.push((nd.next[0] as usize, right));
                        k = nd.next[1] as usize;
                        set = left;
                    }
                }
            }
        }
    }

    /// The interaction groups the trees were restricted to (0 without groups).
    pub fn groups(&self) -> usize {
        self.flat
            .iter()
            .filter_map(|t| t.group)
            .max()
            .map_or(0, |g| g as usize + 1)
    }
}

/// One column of at most 64 rows as its distinct values in ascending order, each with the rows
/// holding it, and prefix masks: the rows at or below a threshold are one lookup.
#[derive(Clone)]
struct DistinctColumn {
    values: Vec<f64>,
    /// `at_most[k]`: the rows holding one of the `k` smallest values.
    at_most: Vec<u64>,
    missing: u64,
}

impl DistinctColumn {
    fn new(rows: &[f64], width: usize, f: usize, n: usize) -> DistinctColumn {
        let mut pairs: Vec<(f64, u64)> = Vec::with_capacity(8);
        let mut missing = 0u64;
        for i in 0..n {
            let v = rows[i * width + f];
            if v.is_nan() {
                missing |= 1 << i;
            } else if let Some(p) = pairs.iter_mut().find(|p| p.0 == v) {
                p.1 |= 1 << i;
            } else {
                pairs.push((v, 1 << i));
            }
        }
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut at_most = Vec::with_capacity(pairs.len() + 1);
        let mut acc = 0u64;
        at_most.push(0);
        for (_, m) in &pairs {
            acc |= m;
            at_most.push(acc);
        }
        DistinctColumn {
            values: pairs.into_iter().map(|p| p.0).collect(),
            at_most,
            missing,
        }
    }

    /// The rows a node with this threshold sends left.
    fn left_of(&self, threshold: f64, missing_left: bool) -> u64 {
        let k = self.values.partition_point(|v| *v <= threshold);
        self.at_most[k] | if missing_left { self.missing } else { 0 }
    }
}

/// A tree laid out for batch scoring: internal nodes, then one self-looping node per leaf.
#[derive(Clone)]
struct FlatTree {
    nodes: Vec<FlatNode>,
    internal: usize,
    depth: usize,
    leaves: Vec<f64>,
    group: Option<u32>,
}

#[derive(Clone, Copy)]
struct FlatNode {
    threshold: f64,
    feature: u32,
    missing_left: bool,
    /// Next node when going right (`[0]`) or left (`[1]`).
    next: [u32; 2],
}

impl FlatTree {
    fn new(t: &Tree) -> FlatTree {
        let internal = t.nodes.len();
        let child = |c: i32| {
            if c < 0 {
                (internal + (!c) as usize) as u32
            } else {
                c as u32
            }
        };
        let mut nodes: Vec<FlatNode> = t
            .nodes
            .iter()
            .map(|n| FlatNode {
                threshold: n.threshold,
                feature: n.feature,
                missing_left: n.missing_left,
                next: [child(n.right), child(n.left)],
            })
            .collect();
        for l in 0..t.leaves.len() {
            let me = (internal + l) as u32;
            nodes.push(FlatNode {
                threshold: f64::INFINITY,
                feature: 0,
                missing_left: true,
                next: [me, me],
            });
        }
        // Depth: the longest path from the root to a leaf.
        let mut depth = 0;
        let mut stack = vec![(0usize, 0usize)];
        while let Some((k, d)) = stack.pop() {
            if k >= internal {
                depth = depth.max(d);
                continue;
            }
            for c in nodes[k].next {
                stack.push((c as usize, d + 1));
            }
        }
        FlatTree {
            nodes,
            internal,
            depth: if internal == 0 { 0 } else { depth },
            leaves: t.leaves.clone(),
            group: t.group,
        }
    }
}

/// Adds the outputs of `trees` to `raw`, row by row of `x`: rows go through in blocks copied
/// row-major into a small buffer, so every node reads its feature from L1 cache; within a block,
/// tree by tree, eight rows at a time, each walking at most the tree's depth in steps (leaves
/// loop to themselves): no unpredictable branch, and eight independent walks for the processor
/// to overlap.
fn walk_lanes(trees: &[FlatTree], x: &Columns<'_>, raw: &mut [f64]) {
    const BLOCK: usize = 128;
    const LANES: usize = 8;
    if trees.is_empty() {
        return;
    }
    let width = x.features();
    let mut buf = vec![0.0; BLOCK * width];
    for (b, chunk) in raw.chunks_mut(BLOCK).enumerate() {
        let first = b * BLOCK;
        for f in 0..width {
            for (j, v) in x.column(f)[first..first + chunk.len()].iter().enumerate() {
                buf[j * width + f] = *v;
            }
        }
        for t in trees {
            let internal = t.internal as u32;
            for (g, lane_rows) in chunk.chunks_mut(LANES).enumerate() {
                let mut k = [0u32; LANES];
                // Stop once every lane sits on a leaf (paths are mostly shorter than the
                // deepest leaf).
                for _ in 0..t.depth {
                    for (q, kq) in k.iter_mut().enumerate().take(lane_rows.len()) {
                        let n = &t.nodes[*kq as usize];
                        let v = buf[(g * LANES + q) * width + n.feature as usize];
                        let left = (v <= n.threshold) | (v.is_nan() & n.missing_left);
                        *kq = n.next[usize::from(left)];
                    }
                    if k.iter().all(|kq| *kq >= internal) {
                        break;
                    }
                }
                for (q, r) in lane_rows.iter_mut().enumerate() {
                    *r += t.leaves[k[q] as usize - t.internal];
                }
            }
        }
    }
}

/// The trees of a model laid out for QuickScorer (Lucchese et al., SIGIR 2015): no tree is
/// walked. Each tree's leaves are numbered left to right in the bits of a word; a node whose
/// test fails for a row (the row goes right) rules out the leaves of its left subtree, and the
/// row's leaf is the leftmost one nothing ruled out. The nodes are grouped by feature and sorted
/// by threshold, so for a row's value the failing nodes are a prefix of its feature's list:
/// scoring is a linear scan that ANDs masks, with no dependent loads and one unpredictable
/// branch per feature instead of one per node. Trees go in groups of at most 256 (a node names
/// its tree in a byte, so indexing a row's 256 words needs no bounds check); trees of more than
/// 64 leaves (or malformed) are left to [`walk_lanes`].
#[derive(Clone)]
struct QuickScorer {
    groups: Vec<QsGroup>,
    /// The base score plus the trees that are a single leaf.
    constant: f64,
    /// Trees that do not fit a word.
    walked: Vec<FlatTree>,
}

/// Up to 256 trees laid out for [`QuickScorer`].
#[derive(Default, Clone)]
struct QsGroup {
    trees: usize,
    /// Per feature, the range of its nodes in the three arrays below (sorted by threshold).
    offsets: Vec<usize>,
    thresholds: Vec<f64>,
    tree_of: Vec<u8>,
    masks: Vec<u64>,
    /// Per feature, the range of its nodes that send a missing value right.
    nan_offsets: Vec<usize>,
    nan_tree_of: Vec<u8>,
    nan_masks: Vec<u64>,
    /// 64 slots per tree: the leaf values left to right.
    leaves: Vec<f64>,
}

/// A node of a tree of a [`QsGroup`] while it is built: threshold, tree, mask, missing left.
type QsNode = (f64, u8, u64, bool);

impl QsGroup {
    fn new(width: usize, trees: usize, nodes: &mut [Vec<QsNode>], leaves: Vec<f64>) -> QsGroup {
        let mut g = QsGroup {
            trees,
            offsets: vec![0],
            nan_offsets: vec![0],
            leaves,
            ..QsGroup::default()
        };
        for f in nodes.iter_mut().take(width) {
            f.sort_by(|a, b| a.0.total_cmp(&b.0));
            for &(th, t, m, missing_left) in f.iter() {
                g.thresholds.push(th);
                g.tree_of.push(t);
                g.masks.push(m);
                if !missing_left {
                    g.nan_tree_of.push(t);
                    g.nan_masks.push(m);
                }
            }
            g.offsets.push(g.thresholds.len());
            g.nan_offsets.push(g.nan_tree_of.len());
            f.clear();
        }
        g
    }

    /// Clears in `w` (a row's words) the leaves that the nodes on feature `f` rule out for
    /// `value`: the nodes sending a missing value right, or the prefix of thresholds below it.
    #[inline(always)]
    fn rule_out(&self, f: usize, value: f64, w: &mut [u64; 256]) {
        if value.is_nan() {
            let (lo, hi) = (self.nan_offsets[f], self.nan_offsets[f + 1]);
            for (&t, &mask) in self.nan_tree_of[lo..hi].iter().zip(&self.nan_masks[lo..hi]) {
                w[usize::from(t)] &= mask;
            }
            return;
        }
        let (lo, hi) = (self.offsets[f], self.offsets[f + 1]);
        for ((&th, &t), &mask) in self.thresholds[lo..hi]
            .iter()
            .zip(&self.tree_of[lo..hi])
            .zip(&self.masks[lo..hi])
        {
            if th >= value {
                break;
            }
            w[usize::from(t)] &= mask;
        }
    }

    /// The sum of the leaves a row's words leave: each tree's leftmost.
    fn leaf_sum(&self, w: &[u64; 256]) -> f64 {
        leaf_sum(&self.leaves, &w[..self.trees])
    }

    /// The group's trees' outputs summed for one row given in feature order.
    fn row(&self, row: &[f64]) -> f64 {
        let mut w = [!0u64; 256];
        for (f, value) in row.iter().enumerate().take(self.offsets.len() - 1) {
            self.rule_out(f, *value, &mut w);
        }
        self.leaf_sum(&w)
    }

    /// Adds the group's trees' outputs to every row of `x`.
    fn add(&self, x: &Columns<'_>, raw: &mut [f64]) {
        // A block of rows at a time, so a feature's nodes are read from cache for all of them.
        const BLOCK: usize = 8;
        let nt = self.trees;
        let mut words = vec![[!0u64; 256]; BLOCK];
        for (b, chunk) in raw.chunks_mut(BLOCK).enumerate() {
            let first = b * BLOCK;
            let m = chunk.len();
            for w in &mut words[..m] {
                w[..nt].fill(!0);
            }
            for f in 0..x.features().min(self.offsets.len() - 1) {
                for (value, w) in x.column(f)[first..first + m].iter().zip(&mut words) {
                    self.rule_out(f, *value, w);
                }
            }
            for (out, w) in chunk.iter_mut().zip(&words) {
                *out += self.leaf_sum(w);
            }
        }
    }
}

impl QuickScorer {
    fn new(model: &Gbm) -> QuickScorer {
        let width = model.features.len();
        let mut q = QuickScorer {
            groups: Vec::new(),
            constant: model.base_score,
            walked: Vec::new(),
        };
        let mut nodes: Vec<Vec<QsNode>> = vec![Vec::new(); width];
        let mut leaves = Vec::new();
        let mut trees = 0usize;
        for t in &model.trees {
            if t.nodes.is_empty() {
                q.constant += t.leaves.first().copied().unwrap_or(0.0);
                continue;
            }
            let k = u8::try_from(trees).unwrap_or(u8::MAX);
            let Some(slots) = lay_out(t, k, width, &mut nodes) else {
                q.walked.push(FlatTree::new(t));
                continue;
            };
            leaves.extend_from_slice(&slots);
            trees += 1;
            if trees == 256 {
                q.groups
                    .push(QsGroup::new(width, trees, &mut nodes, leaves));
                (trees, leaves) = (0, Vec::new());
            }
        }
        if trees > 0 {
            q.groups
                .push(QsGroup::new(width, trees, &mut nodes, leaves));
        }
        q
    }

    /// The log-odds of one row given in feature order (the walked trees' outputs still to
    /// add). Serving scores one row through [`CompiledGbm`]'s groups; this checks the layout.
    #[cfg(test)]
    fn row(&self, row: &[f64]) -> f64 {
        self.constant + self.groups.iter().map(|g| g.row(row)).sum::<f64>()
    }

    /// Writes the log-odds of every row of `x` (the walked trees' outputs still to add).
    fn score(&self, x: &Columns<'_>, raw: &mut [f64]) {
        raw.fill(self.constant);
        for g in &self.groups {
            g.add(x, raw);
        }
    }
}

/// Per call of [`QsGroup::add_rows`]: the other columns' words and the rows' places in them.
#[derive(Default)]
struct SharedScratch {
    words: Vec<u64>,
    /// Per column that differs between rows: where each row's words start in `words`.
    offsets: Vec<Vec<usize>>,
    values: Vec<f64>,
}

thread_local! {
    static SHARED_SCRATCH: std::cell::RefCell<SharedScratch> =
        std::cell::RefCell::new(SharedScratch::default());
}

impl QsGroup {
    /// Up to 256 trees in one group (a one-leaf tree's value in its first slot); `None` when a
    /// tree does not fit a word or there are more.
    fn of_trees(trees: &[&Tree], width: usize) -> Option<QsGroup> {
        if trees.len() > 256 {
            return None;
        }
        let mut nodes: Vec<Vec<QsNode>> = vec![Vec::new(); width];
        let mut leaves = Vec::with_capacity(64 * trees.len());
        for (k, t) in trees.iter().enumerate() {
            let slots = if t.nodes.is_empty() {
                let mut slots = [0.0; 64];
                slots[0] = t.leaves.first().copied().unwrap_or(0.0);
                slots
            } else {
                lay_out(t, k as u8, width, &mut nodes)?
            };
            leaves.extend_from_slice(&slots);
        }
        Some(QsGroup::new(width, trees.len(), &mut nodes, leaves))
    }

    /// Adds the group's trees' outputs to each of `out.len()` (≤ 64) rows of `rows`, row-major,
    /// `width` columns, the first `shared` the same in every row (one account's state; the
    /// rest differ: the candidate actions). The shared columns rule out leaves once for every
    /// row, as does any other column holding one value in every row. Each remaining column
    /// holds few distinct values: for each of them, one word per tree (the leaves its nodes
    /// below that value rule out), built by one scan of the column's nodes; a column whose
    /// value follows from an earlier one's is folded into that one's words. A row's words are
    /// then the shared words ANDed with its values' words, column by column over all trees at
    /// once, and its leaf in a tree the lowest bit left. No tree is walked.
    fn add_rows(
        &self,
        rows: &[f64],
        width: usize,
        shared: usize,
        out: &mut [f64],
        s: &mut SharedScratch,
    ) {
        let n = out.len();
        if n == 1 {
            out[0] += self.row(&rows[..width]);
            return;
        }
        let qs = self;
        let nt = qs.trees;
        let mut w = [!0u64; 256];
        for (f, &v) in rows.iter().enumerate().take(shared) {
            qs.rule_out(f, v, &mut w);
        }
        s.words.clear();
        let mut active = 0;
        for f in shared..width {
            let (lo, hi) = (qs.offsets[f], qs.offsets[f + 1]);
            if lo == hi {
                continue;
            }
            // The column's distinct values, ascending; a missing value is the last slot.
            // Few distinct among up to 64 (channels, windows, tones): insert each new one in
            // place rather than sort them all.
            s.values.clear();
            for r in 0..n {
                let v = rows[r * width + f];
                if v.is_nan() {
                    continue;
                }
                let at = s.values.partition_point(|x| *x < v);
                if s.values.get(at) != Some(&v) {
                    s.values.insert(at, v);
                }
            }
            let k = s.values.len();
            let missing = k < n && (0..n).any(|r| rows[r * width + f].is_nan());
            if k + usize::from(missing) == 1 {
                qs.rule_out(f, rows[f], &mut w);
                continue;
            }
            // One slot of words per value, each the one before it with the nodes below the
            // value ruled out; then the missing value's slot.
            let base = s.words.len();
            let mut p = lo;
            for (j, &d) in s.values.iter().enumerate() {
                let start = base + j * nt;
                if j == 0 {
                    s.words.resize(start + nt, !0);
                } else {
                    s.words.extend_from_within(start - nt..start);
                }
                let cur = &mut s.words[start..start + nt];
                while p < hi && qs.thresholds[p] < d {
                    cur[usize::from(qs.tree_of[p])] &= qs.masks[p];
                    p += 1;
                }
            }
            s.words.resize(base + (k + 1) * nt, !0);
            let nan = &mut s.words[base + k * nt..base + (k + 1) * nt];
            for q in qs.nan_offsets[f]..qs.nan_offsets[f + 1] {
                nan[usize::from(qs.nan_tree_of[q])] &= qs.nan_masks[q];
            }
            if s.offsets.len() == active {
                s.offsets.push(Vec::new());
            }
            let offsets = &mut s.offsets[active];
            offsets.clear();
            offsets.extend((0..n).map(|r| {
                let v = rows[r * width + f];
                let j = if v.is_nan() {
                    k
                } else {
                    s.values.partition_point(|x| *x < v)
                };
                base + j * nt
            }));
            // A column whose value follows from an earlier one's in these rows (a channel's
            // response rate from the channel) is folded into that one's words.
            let (earlier, rest) = s.offsets.split_at_mut(active);
            let this = &rest[0];
            if let Some(host) = earlier.iter().find(|e| follows(e, this, nt)) {
                let low = host.iter().copied().min().unwrap_or(0);
                let mut done = [false; 65];
                for (&to, &from) in host.iter().zip(this) {
                    if !std::mem::replace(&mut done[(to - low) / nt], true) {
                        for i in 0..nt {
                            let v = s.words[from + i];
                            s.words[to + i] &= v;
                        }
                    }
                }
                continue;
            }
            active += 1;
        }
        let mut m = [0u64; 256];
        for (r, o) in out.iter_mut().enumerate() {
            let m = &mut m[..nt];
            m.copy_from_slice(&w[..nt]);
            for offsets in &s.offsets[..active] {
                let at = offsets[r];
                for (x, y) in m.iter_mut().zip(&s.words[at..at + nt]) {
                    *x &= y;
                }
            }
            *o += leaf_sum(&qs.leaves, m);
        }
    }
}

/// Whether, over the rows, a column's slot (`this`, offsets of its words) is a function of
/// another's (`host`): rows agreeing on the host agree on this one. Offsets are a column's
/// first slot plus a multiple of `nt`, at most 65 slots.
fn follows(host: &[usize], this: &[usize], nt: usize) -> bool {
    let low = host.iter().copied().min().unwrap_or(0);
    let mut map = [usize::MAX; 65];
    host.iter().zip(this).all(|(&h, &t)| {
        let m = &mut map[((h - low) / nt).min(64)];
        if *m == usize::MAX {
            *m = t;
        }
        *m == t
    })
}

/// The sum over trees of the leaf each tree's word leaves (its lowest bit), `leaves` holding 64
/// slots per tree; four running sums, so the additions do not wait on each other.
#[inline(always)]
fn leaf_sum(leaves: &[f64], words: &[u64]) -> f64 {
    let slot = |t: usize, w: u64| leaves[t * 64 + (w.trailing_zeros() as usize & 63)];
    let (mut a, mut b, mut c, mut d) = (0.0, 0.0, 0.0, 0.0);
    let mut quads = words.chunks_exact(4);
    let mut t = 0;
    for q in &mut quads {
        a += slot(t, q[0]);
        b += slot(t + 1, q[1]);
        c += slot(t + 2, q[2]);
        d += slot(t + 3, q[3]);
        t += 4;
    }
    for &w in quads.remainder() {
        a += slot(t, w);
        t += 1;
    }
    (a + b) + (c + d)
}

/// Lays out tree `t` (with at least one node) as tree `k` of a [`QsGroup`] being built: each
/// node's mask (the leaves of its left subtree cleared) into its feature's list in `nodes`, and
/// the leaves left to right in the 64 slots returned; `None`, with nothing pushed, when the tree
/// does not fit a word.
fn lay_out(t: &Tree, k: u8, width: usize, nodes: &mut [Vec<QsNode>]) -> Option<[f64; 64]> {
    let (order, left_ranges) = in_order(t, width)?;
    for (n, &(lo, hi)) in t.nodes.iter().zip(&left_ranges) {
        let ruled_out = ((1u64 << (hi - lo)) - 1) << lo;
        nodes[n.feature as usize].push((n.threshold, k, !ruled_out, n.missing_left));
    }
    let mut slots = [0.0; 64];
    for (p, &leaf) in order.iter().enumerate() {
        slots[p] = t.leaves[leaf];
    }
    Some(slots)
}

/// Leaf ids left to right, and per node the positions `[lo, hi)` of its left subtree's leaves.
type InOrder = (Vec<usize>, Vec<(u32, u32)>);

/// A tree's leaves left to right, and for each node the range of those positions its left
/// subtree holds; `None` when the tree has more than 64 leaves or is malformed (a child out
/// of range, a cycle, a feature beyond `width`).
fn in_order(t: &Tree, width: usize) -> Option<InOrder> {
    if t.leaves.len() > 64 || t.nodes.len() + 1 != t.leaves.len() {
        return None;
    }
    let mut order = Vec::with_capacity(t.leaves.len());
    let mut ranges = vec![(u32::MAX, u32::MAX); t.nodes.len()];
    // Iterative in-order traversal: (node, left done).
    let mut stack: Vec<(i32, bool)> = vec![(0, false)];
    let mut lo_of = vec![0u32; t.nodes.len()];
    let mut expanded = vec![false; t.nodes.len()];
    while let Some((c, left_done)) = stack.pop() {
        if c < 0 {
            let leaf = (!c) as usize;
            if leaf >= t.leaves.len() {
                return None;
            }
            order.push(leaf);
            continue;
        }
        let k = c as usize;
        let n = t.nodes.get(k)?;
        if n.feature as usize >= width {
            return None;
        }
        if left_done {
            ranges[k] = (lo_of[k], order.len() as u32);
            stack.push((n.right, false));
        } else {
            // Each node is reached once in a tree; twice means a cycle or a shared child.
            if std::mem::replace(&mut expanded[k], true) {
                return None;
            }
            lo_of[k] = order.len() as u32;
            stack.push((c, true));
            stack.push((n.left, false));
        }
    }
    let mut seen = vec![false; t.leaves.len()];
    for &l in &order {
        if std::mem::replace(&mut seen[l], true) {
            return None;
        }
    }
    if order.len() != t.leaves.len() || ranges.iter().any(|r| r.0 == u32::MAX) {
        return None;
    }
    Some((order, ranges))
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[derive(Debug, Clone, Copy, Default)]
struct Bin {
    g: f64,
    h: f64,
    n: u32,
}

#[derive(Debug, Clone, Copy)]
struct Split {
    gain: f64,
    feature: usize,
    /// Rows with bin ≤ this go left (bins ≥ 1).
    bin: u8,
    missing_left: bool,
}

#[derive(Debug)]
struct Leaf {
    start: usize,
    end: usize,
    hist: Vec<Bin>,
    g: f64,
    h: f64,
    split: Option<Split>,
    /// Where this leaf hangs in the tree: (parent node, is left child); `None` for the root.
    parent: Option<(usize, bool)>,
}

/// Leaves with at least this many rows build their histograms on several threads.
const PARALLEL_ROWS: usize = 50_000;

struct Grower<'a> {
    p: &'a GbmParams,
    threads: usize,
    binned: &'a [Vec<u8>],
    bins: &'a [Bins],
    offsets: Vec<usize>,
    total_bins: usize,
    /// Features the tree being grown may split on (all when empty).
    allowed: Vec<bool>,
}

impl Grower<'_> {
    fn histogram(&self, rows: &[u32], grad: &[f64], hess: &[f64]) -> Vec<Bin> {
        // Gather the leaf's gradients once, so every feature reads them in order.
        let gh: Vec<(f64, f64)> = rows
            .iter()
            .map(|&r| (grad[r as usize], hess[r as usize]))
            .collect();
        let mut hist = vec![Bin::default(); self.total_bins];
        let fill = |f: usize, h: &mut [Bin]| {
            let col = &self.binned[f];
            for (&r, &(g, hs)) in rows.iter().zip(&gh) {
                let b = &mut h[col[r as usize] as usize];
                b.g += g;
                b.h += hs;
                b.n += 1;
            }
        };
        // Each feature's histogram is filled by one thread in row order, so the sums are the
        // same whatever the number of threads.
        let threads = if rows.len() >= PARALLEL_ROWS {
            self.threads
        } else {
            1
        };
        let mut slices: Vec<(usize, &mut [Bin])> = Vec::with_capacity(self.bins.len());
        let mut rest = hist.as_mut_slice();
        for (f, b) in self.bins.iter().enumerate() {
            let (head, tail) = rest.split_at_mut(b.count());
            slices.push((f, head));
            rest = tail;
        }
        if threads <= 1 {
            for (f, h) in slices {
                fill(f, h);
            }
        } else {
            let mut parts: Vec<Vec<(usize, &mut [Bin])>> =
                (0..threads).map(|_| Vec::new()).collect();
            for (k, s) in slices.into_iter().enumerate() {
                parts[k % threads].push(s);
            }
            std::thread::scope(|sc| {
                for part in parts {
                    let fill = &fill;
                    sc.spawn(move || {
                        for (f, h) in part {
                            fill(f, h);
                        }
                    });
                }
            });
        }
        hist
    }

    fn score(&self, g: f64, h: f64) -> f64 {
        g * g / (h + self.p.lambda_l2)
    }

    fn best_split(&self, leaf: &Leaf) -> Option<Split> {
        let n_total = (leaf.end - leaf.start) as u32;
        let parent = self.score(leaf.g, leaf.h);
        let min_n = self.p.min_data_in_leaf as u32;
        let mut best: Option<Split> = None;
        for f in 0..self.bins.len() {
            if !self.allowed.is_empty() && !self.allowed[f] {
                continue;
            }
            let h = &leaf.hist[self.offsets[f]..self.offsets[f] + self.bins[f].count()];
            let missing = h[0];
            for missing_left in [false, true] {
                if !missing_left && missing.n == 0 {
                    // With no missing values both directions are the same split.
                } else if missing_left && missing.n == 0 {
                    continue;
                }
                let (mut gl, mut hl, mut nl) = if missing_left {
                    (missing.g, missing.h, missing.n)
                } else {
                    (0.0, 0.0, 0)
                };
                // The last bin cannot be a split point: everything would go left.
                for (b, bin) in h.iter().enumerate().take(h.len() - 1).skip(1) {
                    gl += bin.g;
                    hl += bin.h;
                    nl += bin.n;
                    let nr = n_total - nl;
                    if nl < min_n || hl < self.p.min_sum_hessian {
                        continue;
                    }
                    if nr < min_n {
                        break;
                    }
                    let (gr, hr) = (leaf.g - gl, leaf.h - hl);
                    if hr < self.p.min_sum_hessian {
                        continue;
                    }
                    let gain = self.score(gl, hl) + self.score(gr, hr) - parent;
                    if gain > 1e-12 && best.is_none_or(|s| gain > s.gain) {
                        best = Some(Split {
                            gain,
                            feature: f,
                            bin: b as u8,
                            missing_left,
                        });
                    }
                }
            }
        }
        best
    }

    fn leaf_value(&self, g: f64, h: f64) -> f64 {
        -g / (h + self.p.lambda_l2) * self.p.learning_rate
    }

    fn grow(&self, rows: &mut [u32], grad: &[f64], hess: &[f64]) -> (Tree, Vec<(usize, usize)>) {
        let (g, h) = rows.iter().fold((0.0, 0.0), |(g, h), &r| {
            (g + grad[r as usize], h + hess[r as usize])
        });
        let mut root = Leaf {
            start: 0,
            end: rows.len(),
            hist: self.histogram(rows, grad, hess),
            g,
            h,
            split: None,
            parent: None,
        };
        root.split = self.best_split(&root);
        let mut leaves = vec![root];
        let mut nodes: Vec<Node> = Vec::new();
        while leaves.len() < self.p.max_leaves {
            let Some((k, split)) = leaves
                .iter()
                .enumerate()
                .filter_map(|(k, l)| l.split.map(|s| (k, s)))
                .max_by(|a, b| a.1.gain.total_cmp(&b.1.gain))
            else {
                break;
            };
            let leaf = leaves.swap_remove(k);
            // Partition the leaf's rows: left first.
            let col = &self.binned[split.feature];
            let slice = &mut rows[leaf.start..leaf.end];
            let goes_left = |r: u32| {
                let b = col[r as usize];
                if b == 0 {
                    split.missing_left
                } else {
                    b <= split.bin
                }
            };
            let mut i = 0;
            for j in 0..slice.len() {
                if goes_left(slice[j]) {
                    slice.swap(i, j);
                    i += 1;
                }
            }
            let mid = leaf.start + i;
            let node = nodes.len();
            let threshold = self.bins[split.feature].upper[split.bin as usize - 1];
            nodes.push(Node {
                feature: split.feature as u32,
                threshold,
                missing_left: split.missing_left,
                left: 0,
                right: 0,
                gain: split.gain,
                count: (leaf.end - leaf.start) as u32,
            });
            if let Some((p, is_left)) = leaf.parent {
                if is_left {
                    nodes[p].left = node as i32
                } else {
                    nodes[p].right = node as i32
                }
            }
            let (ls, le, rs, re) = (leaf.start, mid, mid, leaf.end);
            let small_is_left = le - ls <= re - rs;
            let small = if small_is_left {
                &rows[ls..le]
            } else {
                &rows[rs..re]
            };
            let small_hist = self.histogram(small, grad, hess);
            let large_hist: Vec<Bin> = leaf
                .hist
                .iter()
                .zip(&small_hist)
                .map(|(p, s)| Bin {
                    g: p.g - s.g,
                    h: p.h - s.h,
                    n: p.n - s.n,
                })
                .collect();
            let sums = |rs: &[u32]| {
                rs.iter().fold((0.0, 0.0), |(g, h), &r| {
                    (g + grad[r as usize], h + hess[r as usize])
                })
            };
            let (lg, lh) = sums(&rows[ls..le]);
            let (lhist, rhist) = if small_is_left {
                (small_hist, large_hist)
            } else {
                (large_hist, small_hist)
            };
            let mut left = Leaf {
                start: ls,
                end: le,
                hist: lhist,
                g: lg,
                h: lh,
                split: None,
                parent: Some((node, true)),
            };
            let mut right = Leaf {
                start: rs,
                end: re,
                hist: rhist,
                g: leaf.g - lg,
                h: leaf.h - lh,
                split: None,
                parent: Some((node, false)),
            };
            left.split = self.best_split(&left);
            right.split = self.best_split(&right);
            leaves.push(left);
            leaves.push(right);
        }
        // Number the leaves and hang them on their parents.
        let mut values = Vec::with_capacity(leaves.len());
        let mut ranges = Vec::with_capacity(leaves.len());
        let mut leaf_counts = Vec::with_capacity(leaves.len());
        for (k, l) in leaves.iter().enumerate() {
            values.push(self.leaf_value(l.g, l.h));
            leaf_counts.push((l.end - l.start) as u32);
            ranges.push((l.start, l.end));
            if let Some((p, is_left)) = l.parent {
                let child = !(k as i32);
                if is_left {
                    nodes[p].left = child
                } else {
                    nodes[p].right = child
                }
            }
        }
        (
            Tree {
                nodes,
                leaves: values,
                leaf_counts,
                group: None,
            },
            ranges,
        )
    }
}

fn fit(
    p: &GbmParams,
    x: &FeatureMatrix,
    y: &[f64],
    weights: Option<&[f64]>,
    base: Option<&Gbm>,
) -> Result<Gbm, ModelError> {
    let n = x.rows();
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    let bins: Vec<Bins> = (0..x.features())
        .map(|f| Bins::build(x.column(f), p.max_bins))
        .collect();
    let binned: Vec<Vec<u8>> = (0..x.features())
        .map(|f| x.column(f).iter().map(|&v| bins[f].bin(v)).collect())
        .collect();
    let mut offsets = Vec::with_capacity(bins.len());
    let mut total_bins = 0;
    for b in &bins {
        offsets.push(total_bins);
        total_bins += b.count();
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut grower = Grower {
        p,
        threads,
        binned: &binned,
        bins: &bins,
        offsets,
        total_bins,
        allowed: Vec::new(),
    };
    let groups = &p.feature_groups;
    if let Some(&f) = groups.iter().flatten().find(|&&f| f >= x.features()) {
        return Err(ModelError::InvalidParam {
            name: "feature_groups",
            value: f.to_string(),
            expected: "feature indices below the number of features",
        });
    }
    let (sum_wy, sum_w) = (0..n).fold((0.0, 0.0), |(a, b), i| (a + w(i) * y[i], b + w(i)));
    let rate = (sum_wy / sum_w).clamp(1e-6, 1.0 - 1e-6);
    let (base_score, mut raw, mut trees) = match base {
        Some(b) => (b.base_score, b.raw_columns(&x.view())?, b.trees.clone()),
        None => {
            let s = (rate / (1.0 - rate)).ln();
            (s, vec![s; n], Vec::with_capacity(p.n_trees))
        }
    };
    let mut grad = vec![0.0; n];
    let mut hess = vec![0.0; n];
    let mut rows: Vec<u32> = (0..n as u32).collect();
    for _ in 0..p.n_trees {
        for i in 0..n {
            let prob = sigmoid(raw[i]);
            grad[i] = w(i) * (prob - y[i]);
            hess[i] = (w(i) * prob * (1.0 - prob)).max(1e-16);
        }
        let group = (!groups.is_empty()).then(|| trees.len() % groups.len());
        if let Some(g) = group {
            grower.allowed = (0..x.features())
                .map(|f| groups[g].contains(&f) || !groups.iter().flatten().any(|&h| h == f))
                .collect();
        }
        let (mut tree, ranges) = grower.grow(&mut rows, &grad, &hess);
        tree.group = group.map(|g| g as u32);
        for (leaf, (s, e)) in ranges.into_iter().enumerate() {
            for &r in &rows[s..e] {
                raw[r as usize] += tree.leaves[leaf];
            }
        }
        trees.push(tree);
    }
    Ok(Gbm {
        features: x.names().to_vec(),
        base_score,
        trees,
        params: p.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::auc;

    use crate::test_rng::lcg;

    /// y depends on x0 (step) and x1 (interaction with x2); x3 is noise with missing values.
    pub(super) fn data(n: usize, seed: u64) -> (FeatureMatrix, Vec<bool>) {
        let mut s = seed;
        let mut cols: Vec<Vec<f64>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let x: Vec<f64> = (0..4).map(|_| lcg(&mut s)).collect();
            let logit: f64 = if x[0] > 0.6 { 1.5 } else { -1.0 }
                + if (x[1] > 0.5) == (x[2] > 0.5) {
                    1.0
                } else {
                    -1.0
                };
            y.push(lcg(&mut s) < 1.0 / (1.0 + (-logit).exp()));
            for f in 0..4 {
                let v = if f == 3 && x[3] < 0.2 { f64::NAN } else { x[f] };
                cols[f].push(v);
            }
        }
        (
            FeatureMatrix::new((0..4).map(|f| format!("x{f}")).collect(), cols).unwrap(),
            y,
        )
    }

    #[test]
    fn learns_steps_and_interactions_and_generalises() {
        let (x, y) = data(20_000, 1);
        let m = GbmParams::default().fit(&x, &y).unwrap();
        let (xt, yt) = data(10_000, 2);
        let p = m.predict_proba(&xt).unwrap();
        // The Bayes-optimal AUC of this problem is about 0.81.
        let a = auc(&yt, &p);
        assert!(a > 0.79, "test AUC {a}");
        assert!(m.trees.iter().all(|t| t.leaves.len() <= 31));
    }

    #[test]
    fn bins_put_missing_apart_and_respect_the_limit() {
        let b = Bins::build(&[1.0, 2.0, 2.0, 3.0, f64::NAN], 255);
        assert_eq!(b.bin(f64::NAN), 0);
        assert_eq!(
            (b.bin(1.0), b.bin(2.0), b.bin(3.0), b.bin(99.0)),
            (1, 2, 3, 3)
        );
        let many: Vec<f64> = (0..10_000).map(f64::from).collect();
        let b = Bins::build(&many, 16);
        assert!(b.count() <= 17, "{}", b.count());
    }

    #[test]
    fn bad_inputs_are_errors() {
        let (x, y) = data(100, 3);
        assert!(matches!(
            GbmParams {
                learning_rate: 0.0,
                ..Default::default()
            }
            .fit(&x, &y),
            Err(ModelError::InvalidParam { .. })
        ));
        assert!(matches!(
            GbmParams::default().fit(&x, &y[..50]),
            Err(ModelError::LengthMismatch { .. })
        ));
        assert!(matches!(
            GbmParams::default().fit(&x, &[true; 100]),
            Err(ModelError::OneClass { .. })
        ));
    }

    #[test]
    fn models_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Gbm>();
        check::<GbmParams>();
    }
}

#[cfg(test)]
mod batch_scoring {
    use super::*;

    /// With interaction groups every tree reads one group (and ungrouped features), and the
    /// model is the sum of its groups' parts.
    #[test]
    fn interaction_groups_keep_each_tree_to_one_group() {
        let (x, y) = super::tests::data(3000, 9);
        let p = GbmParams {
            feature_groups: vec![vec![1], vec![2]],
            n_trees: 20,
            ..GbmParams::default()
        };
        let m = p.fit(&x, &y).unwrap();
        for (t, tree) in m.trees.iter().enumerate() {
            assert_eq!(tree.group, Some((t % 2) as u32));
            let other = if t % 2 == 0 { 2 } else { 1 };
            assert!(tree.nodes.iter().all(|n| n.feature != other), "tree {t}");
        }
        let c = CompiledGbm::new(&m);
        assert_eq!(c.groups(), 2);
        let rows: Vec<f64> = (0..40).flat_map(|i| x.row(i)).collect();
        let whole: Vec<f64> = (0..40)
            .map(|i| sigmoid(m.raw_score(&|f| x.column(f)[i])))
            .collect();
        let mut parts = vec![c.base_score(); 40];
        for g in 0..2 {
            c.add_shared(&rows, 0, &mut parts, Some(g)).unwrap();
        }
        for (w, p) in whole.iter().zip(&parts) {
            assert!((w - sigmoid(*p)).abs() < 1e-12);
        }
        let bad = GbmParams {
            feature_groups: vec![vec![9]],
            ..GbmParams::default()
        };
        assert!(bad.fit(&x, &y).is_err());
    }

    /// Scoring rows that share their first columns (QuickScorer words per distinct value, or
    /// the walk for trees too wide for a word) changes no score.
    #[test]
    fn shared_prefix_scores_equal_the_plain_ones() {
        let (x, y) = super::tests::data(3000, 5);
        let wide = GbmParams {
            max_leaves: 120,
            min_data_in_leaf: 3,
            n_trees: 20,
            ..GbmParams::default()
        };
        for params in [GbmParams::default(), wide] {
            let m = params.fit(&x, &y).unwrap();
            let c = CompiledGbm::new(&m);
            let widest = m.trees.iter().map(|t| t.leaves.len()).max().unwrap_or(0);
            assert_eq!(c.shared.is_empty(), widest > 64, "{widest} leaves");
            // Rows sharing features 0 and 1 of row 0, the rest from other rows (missing values
            // among them), one value in every row (missing in every row), or two columns
            // neither of which follows from the other: words up to 64 rows, partitions beyond;
            // rows repeating values.
            let w = x.features();
            for rest in ["other rows", "one value", "crossed"] {
                for n in [1, 7, 50, 64, 65, 100] {
                    let mut rows = Vec::new();
                    for i in 0..n {
                        let mut r = x.row(i % 40);
                        r[0] = x.row(0)[0];
                        r[1] = x.row(0)[1];
                        if rest == "one value" {
                            r[2] = x.row(3)[2];
                            r[3] = f64::NAN;
                        } else if rest == "crossed" {
                            // Neither of the last two columns follows from the other.
                            r[2] = x.row(i % 2)[2];
                            r[3] = x.row(4 + i % 3)[3];
                        }
                        rows.extend(r);
                    }
                    let a: Vec<f64> = rows
                        .chunks(w)
                        .map(|r| sigmoid(m.raw_score(&|f| r[f])))
                        .collect();
                    let mut b = vec![0.0; n];
                    c.predict_rows_shared(&rows, 2, &mut b).unwrap();
                    for (p, q) in a.iter().zip(&b) {
                        assert!((p - q).abs() < 1e-12, "{n} rows, {rest}: {p} vs {q}");
                    }
                    assert_eq!(rows.len(), n * w);
                }
            }
        }
    }

    /// The batch path (blocks, lanes, self-looping leaves) lands in the same leaves as the per-row walk.
    #[test]
    fn batch_scores_equal_the_per_row_walk() {
        let mut s = 11u64;
        let mut u = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let n = 3_000;
        let cols: Vec<Vec<f64>> = (0..3)
            .map(|f| {
                (0..n)
                    .map(|_| if f == 2 && u() < 0.2 { f64::NAN } else { u() })
                    .collect()
            })
            .collect();
        let y: Vec<bool> = (0..n)
            .map(|i| cols[0][i] + 0.3 * cols[1][i] > 0.7 || cols[2][i].is_nan() && cols[1][i] > 0.5)
            .collect();
        let x = FeatureMatrix::new(vec!["a".into(), "b".into(), "c".into()], cols).unwrap();
        // More than 256 trees: two groups of QuickScorer.
        let m = GbmParams {
            n_trees: 300,
            max_leaves: 8,
            ..Default::default()
        }
        .fit(&x, &y)
        .unwrap();
        let q = QuickScorer::new(&m);
        assert!(q.walked.is_empty() && q.groups.len() == 2);
        // One row at a time (the recommender's state-only heads), missing values included.
        for i in 0..300 {
            let row: Vec<f64> = (0..3).map(|f| x.column(f)[i]).collect();
            let (one, walk) = (q.row(&row), m.raw_score(&|f| row[f]));
            assert!((one - walk).abs() < 1e-12, "row {i}: {one} vs {walk}");
        }
        let batch = m.predict_proba(&x).unwrap();
        for (i, p) in batch.iter().enumerate() {
            // Same leaves; only the order of adding the trees' outputs differs.
            let walk = sigmoid(m.raw_score(&|f| x.column(f)[i]));
            assert!((p - walk).abs() < 1e-12, "row {i}: {p} vs {walk}");
        }
        // A few rows are walked, not laid out: the same scores.
        let few = Columns::new(
            (0..3)
                .map(|f| &x.column(f)[..QUICKSCORER_MIN_ROWS - 1])
                .collect(),
        )
        .unwrap();
        for (p, q) in m.predict_columns(&few).unwrap().iter().zip(&batch) {
            assert!((p - q).abs() < 1e-12);
        }
        // Values exactly on every threshold (a tie goes left), just above it, missing and
        // infinite: the same leaves as the walk.
        let mut probes: Vec<Vec<f64>> = vec![Vec::new(); 3];
        for n in m.trees.iter().flat_map(|t| &t.nodes) {
            for (f, col) in probes.iter_mut().enumerate() {
                col.push(if f == n.feature as usize {
                    n.threshold
                } else {
                    u()
                });
            }
            for (f, col) in probes.iter_mut().enumerate() {
                col.push(if f == n.feature as usize {
                    n.threshold.next_up()
                } else {
                    [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.5][col.len() % 4]
                });
            }
        }
        let view = Columns::new(probes.iter().map(|c| c.as_slice()).collect()).unwrap();
        let batch = m.raw_columns(&view).unwrap();
        for (i, r) in batch.iter().enumerate() {
            let walk = m.raw_score(&|f| probes[f][i]);
            assert!((r - walk).abs() < 1e-12, "probe {i}: {r} vs {walk}");
        }
    }

    /// Trees of more than 64 leaves do not fit QuickScorer's words: they are walked, and a
    /// model mixing both kinds scores as the per-row walk does; a malformed tree is walked too.
    #[test]
    fn wide_and_malformed_trees_are_walked() {
        let (x, y) = super::tests::data(6000, 3);
        let mut m = GbmParams {
            n_trees: 6,
            max_leaves: 100,
            min_data_in_leaf: 5,
            ..Default::default()
        }
        .fit(&x, &y)
        .unwrap();
        let narrow = GbmParams {
            n_trees: 4,
            ..Default::default()
        }
        .fit(&x, &y)
        .unwrap();
        m.trees.extend(narrow.trees);
        let q = QuickScorer::new(&m);
        let laid: usize = q.groups.iter().map(|g| g.trees).sum();
        assert!(
            !q.walked.is_empty() && laid >= 4,
            "{} walked",
            q.walked.len()
        );
        let batch = m.raw_columns(&x.view()).unwrap();
        for (i, r) in batch.iter().enumerate() {
            let walk = m.raw_score(&|f| x.column(f)[i]);
            assert!((r - walk).abs() < 1e-12, "row {i}: {r} vs {walk}");
        }
        let mut bad = m.trees[m.trees.len() - 1].clone();
        bad.nodes[0].left = 0;
        assert!(in_order(&bad, x.features()).is_none());
        bad.nodes[0].left = m.trees[m.trees.len() - 1].nodes[0].left;
        bad.nodes[0].feature = 99;
        assert!(in_order(&bad, x.features()).is_none());
    }
}
