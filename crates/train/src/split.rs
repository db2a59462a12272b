//! Seeded, stratified splits: a holdout and K folds with each class spread evenly.

/// A small fixed generator for shuffling (SplitMix64): splits must not change when a dependency
/// does.
fn shuffle(v: &mut [usize], seed: u64) {
    let mut s = seed;
    let mut next = move || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..v.len()).rev() {
        let j = ((u128::from(next()) * (i as u128 + 1)) >> 64) as usize;
        v.swap(i, j);
    }
}

/// The fold (`0..k`) of every row, each class dealt round-robin after a seeded shuffle.
pub fn stratified_folds(y: &[bool], k: usize, seed: u64) -> Vec<usize> {
    let mut folds = vec![0; y.len()];
    for (c, class) in [false, true].into_iter().enumerate() {
        let mut idx: Vec<usize> = (0..y.len()).filter(|&i| y[i] == class).collect();
        shuffle(&mut idx, seed ^ (c as u64 + 1));
        for (n, i) in idx.into_iter().enumerate() {
            folds[i] = n % k;
        }
    }
    folds
}

/// [`stratified_folds`] for any number of classes.
pub fn stratified_folds_classes(classes: &[usize], k: usize, seed: u64) -> Vec<usize> {
    let mut folds = vec![0; classes.len()];
    let n_classes = classes.iter().max().map_or(0, |m| m + 1);
    for c in 0..n_classes {
        let mut idx: Vec<usize> = (0..classes.len()).filter(|&i| classes[i] == c).collect();
        shuffle(&mut idx, seed ^ (c as u64 + 1));
        for (n, i) in idx.into_iter().enumerate() {
            folds[i] = n % k;
        }
    }
    folds
}

/// Row indices of a stratified split: (train, holdout) with `share` of each class held out.
pub fn stratified_holdout(y: &[bool], share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let classes: Vec<usize> = y.iter().map(|&v| usize::from(v)).collect();
    stratified_holdout_classes(&classes, share, seed)
}

/// [`stratified_holdout`] for any number of classes (`classes[i]` is row `i`'s class: an
/// experiment's arm, say).
pub fn stratified_holdout_classes(
    classes: &[usize],
    share: f64,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let (mut train, mut test) = (Vec::new(), Vec::new());
    let k = classes.iter().max().map_or(0, |m| m + 1);
    for c in 0..k {
        let mut idx: Vec<usize> = (0..classes.len()).filter(|&i| classes[i] == c).collect();
        shuffle(&mut idx, seed ^ (c as u64 + 101));
        let n_test = (idx.len() as f64 * share).round() as usize;
        test.extend_from_slice(&idx[..n_test]);
        train.extend_from_slice(&idx[n_test..]);
    }
    train.sort_unstable();
    test.sort_unstable();
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_and_reproducible() {
        let y: Vec<bool> = (0..1000).map(|i| i % 5 == 0).collect();
        let f = stratified_folds(&y, 5, 42);
        assert_eq!(f, stratified_folds(&y, 5, 42));
        assert_ne!(f, stratified_folds(&y, 5, 43));
        for k in 0..5 {
            let pos = (0..1000).filter(|&i| f[i] == k && y[i]).count();
            let all = (0..1000).filter(|&i| f[i] == k).count();
            assert_eq!((pos, all), (40, 200));
        }
    }

    #[test]
    fn holdout_keeps_the_class_balance() {
        let y: Vec<bool> = (0..1000).map(|i| i % 4 == 0).collect();
        let (train, test) = stratified_holdout(&y, 0.2, 7);
        assert_eq!((train.len(), test.len()), (800, 200));
        assert_eq!(test.iter().filter(|&&i| y[i]).count(), 50);
    }
}
