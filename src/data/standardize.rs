//! Per-feature standardization fitted on the training set only (scikit-learn's
//! `StandardScaler`): statistics from validation or test data would leak into training.
//!
//! Mean and population standard deviation (ddof = 0) are computed in f64 in two passes. A
//! feature that is constant on the training set gets std 0, which the transform maps to 0 for
//! every sample (scikit-learn would give `x - mean`, which is 0 on the training set too).

use super::dataset::{Dataset, Transform};

/// The scale a dataset's values already get (1/255 after [`Dataset::scaled`]).
fn current_scale(t: &Transform) -> f32 {
    match t {
        Transform::Identity => 1.0,
        Transform::Scale(s) => *s,
        Transform::Standardize { scale, .. } => *scale,
    }
}

/// Fits a `Transform::Standardize` on `train` (after its current scale).
pub fn fit_standardize(train: &Dataset) -> Transform {
    let scale = current_scale(&train.transform);
    let d = train.sample_len();
    let n = train.len();
    let mut sum = vec![0f64; d];
    let mut min = vec![f32::INFINITY; d];
    let mut max = vec![f32::NEG_INFINITY; d];
    for i in 0..n {
        for j in 0..d {
            let v = train.features.get(i * d + j) * scale;
            sum[j] += v as f64;
            min[j] = min[j].min(v);
            max[j] = max[j].max(v);
        }
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / n.max(1) as f64).collect();
    let mut sq = vec![0f64; d];
    for i in 0..n {
        for j in 0..d {
            let v = (train.features.get(i * d + j) * scale) as f64 - mean[j];
            sq[j] += v * v;
        }
    }
    let std = (0..d)
        .map(|j| {
            // Exactly constant features are zero-variance, whatever rounding says.
            if n == 0 || min[j] == max[j] {
                0.0
            } else {
                (sq[j] / n as f64).sqrt() as f32
            }
        })
        .collect();
    Transform::Standardize {
        scale,
        mean: mean.iter().map(|&m| m as f32).collect(),
        std,
    }
}

/// Fits on `train` and applies the same statistics to it and to each of `others`.
pub fn standardize(train: &mut Dataset, others: &mut [&mut Dataset]) {
    let t = fit_standardize(train);
    for o in others.iter_mut() {
        o.transform = t.clone();
    }
    train.transform = t;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Features;

    fn ds(values: Vec<u8>) -> Dataset {
        let n = values.len() / 2;
        Dataset::new(Features::U8(values), vec![2], vec![0; n], vec!["a".into()]).unwrap()
    }

    #[test]
    fn fitted_on_train_only() {
        // Feature 0: 0, 2, 4 → mean 2, population std sqrt(8/3). Feature 1 constant 7.
        let mut train = ds(vec![0, 7, 2, 7, 4, 7]);
        let mut test = ds(vec![100, 9]);
        standardize(&mut train, &mut [&mut test]);
        let Transform::Standardize { scale, mean, std } = &test.transform else {
            panic!()
        };
        assert_eq!(*scale, 1.0);
        assert_eq!(mean, &vec![2.0, 7.0]);
        assert!((std[0] - (8f32 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!(std[1], 0.0);
        let mut out = [0f64; 2];
        train.write_sample(0, &mut out);
        assert!((out[0] + 2.0 / (8f64 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!(out[1], 0.0);
        test.write_sample(0, &mut out);
        assert!((out[0] - 98.0 / (8f64 / 3.0).sqrt()).abs() < 1e-4);
        assert_eq!(out[1], 0.0, "zero-variance feature stays 0 on test data");
    }

    #[test]
    fn keeps_the_scale_already_set() {
        let train = ds(vec![0, 255, 255, 255]).scaled();
        let Transform::Standardize { scale, mean, .. } = fit_standardize(&train) else {
            panic!()
        };
        assert_eq!(scale, 1.0 / 255.0);
        assert!((mean[0] - 0.5).abs() < 1e-6);
    }
}
