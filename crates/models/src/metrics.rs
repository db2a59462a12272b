//! How well probabilities rank and how well they are calibrated.

/// Area under the ROC curve, with ties counted half (the Mann–Whitney statistic).
pub fn auc(labels: &[bool], scores: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut i) = (0.0, 0);
    let positives = labels.iter().filter(|l| **l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let mean_rank = (i + j + 2) as f64 / 2.0;
        rank_sum += mean_rank * order[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}

/// Gini coefficient: `2·AUC − 1`.
pub fn gini(labels: &[bool], scores: &[f64]) -> f64 {
    2.0 * auc(labels, scores) - 1.0
}

/// Kolmogorov–Smirnov statistic: the largest gap between the cumulative score distributions of
/// positives and negatives (max TPR − FPR).
pub fn ks(labels: &[bool], scores: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let positives = labels.iter().filter(|l| **l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    let (mut tp, mut fp, mut best, mut i) = (0.0, 0.0, 0.0f64, 0);
    while i < order.len() {
        let s = scores[order[i]];
        while i < order.len() && scores[order[i]] == s {
            if labels[order[i]] {
                tp += 1.0
            } else {
                fp += 1.0
            }
            i += 1;
        }
        best = best.max(tp / positives - fp / negatives);
    }
    best
}

/// Mean squared error of the probability.
pub fn brier(labels: &[bool], p: &[f64]) -> f64 {
    labels
        .iter()
        .zip(p)
        .map(|(&y, &p)| (p - f64::from(u8::from(y))).powi(2))
        .sum::<f64>()
        / p.len() as f64
}

/// Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15].
pub fn log_loss(labels: &[bool], p: &[f64]) -> f64 {
    labels
        .iter()
        .zip(p)
        .map(|(&y, &p)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum::<f64>()
        / p.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ties_half_and_orders_correctly() {
        let y = [false, false, true, true];
        assert_eq!(auc(&y, &[0.1, 0.4, 0.35, 0.8]), 0.75);
        assert_eq!(auc(&y, &[0.5, 0.5, 0.5, 0.5]), 0.5);
        assert_eq!(auc(&y, &[0.1, 0.2, 0.3, 0.4]), 1.0);
        assert!((gini(&y, &[0.1, 0.2, 0.3, 0.4]) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ks_brier_and_log_loss_match_hand_computation() {
        let y = [false, false, true, true];
        let p = [0.1, 0.4, 0.35, 0.8];
        assert!((ks(&y, &p) - 0.5).abs() < 1e-12);
        assert!((brier(&y, &p) - (0.01 + 0.16 + 0.4225 + 0.04) / 4.0).abs() < 1e-12);
        let ll = -(0.9f64.ln() + 0.6f64.ln() + 0.35f64.ln() + 0.8f64.ln()) / 4.0;
        assert!((log_loss(&y, &p) - ll).abs() < 1e-12);
    }
}
