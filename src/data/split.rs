//! Train/validation splits that repeat exactly, and match scikit-learn's where it matters.
//!
//! `train_test_split(np.arange(n), test_size=t, random_state=seed)` in scikit-learn draws
//! `RandomState(seed).permutation(n)`, takes the first `ceil(t·n)` indices as the test part
//! and the rest as the train part. [`split_indices`] does exactly that with nabla's
//! bit-exact numpy `RandomState`, so a notebook's split carries over index for index.

use super::dataset::Dataset;
use crate::error::{Error, Result};
use crate::random::NumpyRandomState;

/// (train, test) indices of scikit-learn's `train_test_split(np.arange(n), test_size,
/// random_state=seed)`, in the order scikit-learn returns them.
pub fn split_indices(n: usize, test_fraction: f64, seed: u32) -> Result<(Vec<usize>, Vec<usize>)> {
    let n_test = test_count(n, test_fraction)?;
    let perm = NumpyRandomState::new(seed).permutation(n);
    Ok((perm[n_test..].to_vec(), perm[..n_test].to_vec()))
}

/// Stratified (train, test) indices: each class keeps its share in both parts.
///
/// Per class `c` (ascending), its indices in dataset order are permuted by one
/// `RandomState(seed)` shared across classes, and the first `round(fraction·count_c)` go to
/// test (at least one when the class has two or more samples). Both lists are then shuffled
/// with the same generator so classes are interleaved. This is not scikit-learn's
/// `StratifiedShuffleSplit` draw, only the same idea.
pub fn stratified_split_indices(
    labels: &[u32],
    test_fraction: f64,
    seed: u32,
) -> Result<(Vec<usize>, Vec<usize>)> {
    test_count(labels.len(), test_fraction)?;
    let num_classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); num_classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let mut rng = NumpyRandomState::new(seed);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for idx in by_class.iter().filter(|v| !v.is_empty()) {
        let perm = rng.permutation(idx.len());
        let mut k = (test_fraction * idx.len() as f64).round() as usize;
        if idx.len() >= 2 {
            k = k.clamp(1, idx.len() - 1);
        }
        test.extend(perm[..k].iter().map(|&p| idx[p]));
        train.extend(perm[k..].iter().map(|&p| idx[p]));
    }
    rng.shuffle(&mut train);
    rng.shuffle(&mut test);
    if train.is_empty() || test.is_empty() {
        return Err(Error::invalid(format!(
            "a stratified split of {} samples at {test_fraction} leaves one part empty",
            labels.len()
        )));
    }
    Ok((train, test))
}

/// scikit-learn's test size: `ceil(fraction · n)`, checked to leave both parts non-empty.
fn test_count(n: usize, test_fraction: f64) -> Result<usize> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::invalid(format!(
            "validation fraction must be between 0 and 1 (exclusive), got {test_fraction}"
        )));
    }
    let n_test = (test_fraction * n as f64).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(Error::invalid(format!(
            "a split of {n} samples at {test_fraction} leaves one part empty"
        )));
    }
    Ok(n_test)
}

impl Dataset {
    /// Splits off a validation set: (train, validation). With `stratify` false, the indices
    /// are exactly scikit-learn's `train_test_split(..., test_size=fraction,
    /// random_state=seed)`.
    pub fn split_validation(
        &self,
        fraction: f64,
        seed: u32,
        stratify: bool,
    ) -> Result<(Dataset, Dataset)> {
        let (train, val) = if stratify {
            stratified_split_indices(&self.labels, fraction, seed)?
        } else {
            split_indices(self.len(), fraction, seed)?
        };
        Ok((self.subset(&train), self.subset(&val)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tests/fixtures/train_test_split_seed42.json` was made with scikit-learn:
    /// `train_test_split(np.arange(n), test_size=t, random_state=42)` (see its description).
    #[test]
    fn matches_scikit_learn_golden_indices() {
        let text = include_str!("../../tests/fixtures/train_test_split_seed42.json");
        let golden: serde_json::Value = serde_json::from_str(text).unwrap();
        let as_vec = |v: &serde_json::Value| -> Vec<usize> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect()
        };
        for (key, n, t) in [
            ("n60000_test0.2", 60000, 0.2),
            ("n50000_test0.2", 50000, 0.2),
            ("n60000_test0.1", 60000, 0.1),
        ] {
            let g = &golden[key];
            let (train, test) = split_indices(n, t, 42).unwrap();
            assert_eq!(
                train.len(),
                g["train_len"].as_u64().unwrap() as usize,
                "{key}"
            );
            assert_eq!(
                test.len(),
                g["test_len"].as_u64().unwrap() as usize,
                "{key}"
            );
            assert_eq!(train[..10], as_vec(&g["train_first10"])[..], "{key}");
            assert_eq!(test[..10], as_vec(&g["test_first10"])[..], "{key}");
            if let Some(last) = g.get("train_last5") {
                assert_eq!(train[train.len() - 5..], as_vec(last)[..], "{key}");
                assert_eq!(
                    test[test.len() - 5..],
                    as_vec(&g["test_last5"])[..],
                    "{key}"
                );
            }
        }
        assert_eq!(
            NumpyRandomState::new(42).permutation(10),
            as_vec(&golden["permutation_seed42_n10"])
        );
    }

    #[test]
    fn stratified_keeps_class_shares() {
        let labels: Vec<u32> = (0..1000).map(|i| if i % 10 == 0 { 1 } else { 0 }).collect();
        let (train, test) = stratified_split_indices(&labels, 0.2, 7).unwrap();
        assert_eq!((train.len(), test.len()), (800, 200));
        assert_eq!(test.iter().filter(|&&i| labels[i] == 1).count(), 20);
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn bad_fractions_are_refused() {
        assert!(split_indices(10, 0.0, 1).is_err());
        assert!(split_indices(10, 1.0, 1).is_err());
        assert!(split_indices(1, 0.5, 1).is_err());
        assert!(split_indices(10, f64::NAN, 1).is_err());
    }
}
