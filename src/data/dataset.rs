//! A labelled classification dataset kept as stored, and the batches cut from it.
//!
//! Images stay `u8` (full MNIST costs 47 MB, not 188 MB of f32) and are scaled or
//! standardized only when a batch is gathered.

use crate::error::{Error, Result};
use crate::tensor::simd::with_wide_simd;
use crate::tensor::Float;

/// Pixels per task when a batch of `u8` images is converted on several threads: small enough
/// that the 784-128-10 MLP's batch of 32 (25K pixels) is shared, which took its epoch to 0.96
/// of the time at 32K (medians of two sets of 8 interleaved pairs, fastest of 3 epochs each;
/// the 784-128-64-10 MLP at batch 128 level).
const PARALLEL_GATHER: usize = 12 * 1024;

/// Sample values as stored.
#[derive(Clone, Debug)]
pub enum Features {
    /// Raw pixels 0..=255.
    U8(Vec<u8>),
    /// Real-valued features, used as they are (after the transform).
    F32(Vec<f32>),
}

impl Features {
    pub fn len(&self) -> usize {
        match self {
            Features::U8(v) => v.len(),
            Features::F32(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Feature `i` as f32, before any transform.
    #[inline(always)]
    pub fn get(&self, i: usize) -> f32 {
        match self {
            Features::U8(v) => v[i] as f32,
            Features::F32(v) => v[i],
        }
    }
}

/// What is done to each stored value when a batch is gathered.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Transform {
    /// Values as stored.
    #[default]
    Identity,
    /// Multiply by a constant: 1/255 maps pixels to [0, 1].
    Scale(f32),
    /// Scale, then standardize per feature: (x·scale − meanⱼ) / stdⱼ, with the statistics
    /// fitted on the training set only. A zero-variance feature maps to 0.
    Standardize {
        scale: f32,
        mean: Vec<f32>,
        std: Vec<f32>,
    },
}

/// Samples, their class labels and how to present them to a model.
#[derive(Clone, Debug)]
pub struct Dataset {
    pub features: Features,
    /// Shape of one sample, e.g. `[28, 28, 1]` (images are NHWC, as in Keras).
    pub sample_shape: Vec<usize>,
    pub labels: Vec<u32>,
    pub num_classes: usize,
    pub class_names: Vec<String>,
    pub transform: Transform,
}

impl Dataset {
    /// Checks that features, labels and class count fit together.
    pub fn new(
        features: Features,
        sample_shape: Vec<usize>,
        labels: Vec<u32>,
        class_names: Vec<String>,
    ) -> Result<Self> {
        let sample_len = sample_shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| Error::invalid(format!("sample shape {sample_shape:?} is too large")))?;
        if sample_len == 0 {
            return Err(Error::invalid(format!(
                "empty sample shape {sample_shape:?}"
            )));
        }
        if features.len() != labels.len() * sample_len {
            return Err(Error::invalid(format!(
                "{} feature values do not make {} samples of shape {sample_shape:?}",
                features.len(),
                labels.len()
            )));
        }
        let num_classes = class_names.len();
        if let Some((i, &bad)) = labels
            .iter()
            .enumerate()
            .find(|(_, &l)| l as usize >= num_classes)
        {
            return Err(Error::invalid(format!(
                "label {bad} of sample {i} is out of range for {num_classes} classes"
            )));
        }
        Ok(Dataset {
            features,
            sample_shape,
            labels,
            num_classes,
            class_names,
            transform: Transform::Identity,
        })
    }

    /// Class names "0".."n-1", for digit datasets.
    pub fn digit_names(n: usize) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per sample.
    pub fn sample_len(&self) -> usize {
        self.sample_shape.iter().product()
    }

    /// The same dataset with pixels mapped to [0, 1].
    pub fn scaled(mut self) -> Self {
        self.transform = Transform::Scale(1.0 / 255.0);
        self
    }

    /// The samples at `indices`, in that order, as a new dataset.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let n = self.sample_len();
        let features = match &self.features {
            Features::U8(v) => Features::U8(gather_rows(v, n, indices)),
            Features::F32(v) => Features::F32(gather_rows(v, n, indices)),
        };
        Dataset {
            features,
            sample_shape: self.sample_shape.clone(),
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            num_classes: self.num_classes,
            class_names: self.class_names.clone(),
            transform: self.transform.clone(),
        }
    }

    /// The samples at `first` and those at `second`, each in its order, as two datasets,
    /// taking the rows of this one. Where the two lists share out all the samples (a split),
    /// the rows are reordered in place, so the features are never held twice: 50,000 CIFAR
    /// images are 154 MB, and the copies of a validation split took another 154.
    pub fn split(mut self, first: &[usize], second: &[usize]) -> (Dataset, Dataset) {
        let order: Vec<usize> = first.iter().chain(second).copied().collect();
        if !is_permutation(&order) {
            return (self.subset(first), self.subset(second));
        }
        let n = self.sample_len();
        let rest = match &mut self.features {
            Features::U8(v) => Features::U8(split_rows(v, n, &order, first.len())),
            Features::F32(v) => Features::F32(split_rows(v, n, &order, first.len())),
        };
        let mut labels: Vec<u32> = order.iter().map(|&i| self.labels[i]).collect();
        let second = Dataset {
            features: rest,
            labels: labels.split_off(first.len()),
            ..self.clone_without_features()
        };
        self.labels = labels;
        (self, second)
    }

    /// This dataset's description (shape, classes, transform) with no samples.
    fn clone_without_features(&self) -> Dataset {
        Dataset {
            features: Features::U8(Vec::new()),
            sample_shape: self.sample_shape.clone(),
            labels: Vec::new(),
            num_classes: self.num_classes,
            class_names: self.class_names.clone(),
            transform: self.transform.clone(),
        }
    }

    /// The first `n` samples (all if fewer).
    pub fn take(&self, n: usize) -> Dataset {
        let indices: Vec<usize> = (0..n.min(self.len())).collect();
        self.subset(&indices)
    }

    /// Writes sample `index` into `out` (length `sample_len`), transformed.
    pub fn write_sample<T: Float>(&self, index: usize, out: &mut [T]) {
        self.write_samples(&[index], out);
    }

    /// Writes the samples at `indices` into `out`, one row each, transformed. This is the
    /// batch path of every training step, so each case is a tight loop of its own.
    pub fn write_samples<T: Float>(&self, indices: &[usize], out: &mut [T]) {
        let n = self.sample_len();
        match (&self.features, &self.transform) {
            (Features::U8(pixels), Transform::Identity | Transform::Scale(_)) => {
                let scale = match self.transform {
                    Transform::Scale(s) => s,
                    _ => 1.0,
                };
                // Converted and scaled 8 at a time (AVX2): twice as fast as looking each
                // byte up in a 256-entry table, which does not vectorize. The rows lie
                // anywhere in the dataset, so the time goes to waiting for them from memory:
                // a large batch is shared between the threads.
                let convert = |indices: &[usize], out: &mut [T]| {
                    with_wide_simd(|| {
                        for (&i, row) in indices.iter().zip(out.chunks_exact_mut(n)) {
                            for (o, &p) in row.iter_mut().zip(&pixels[i * n..(i + 1) * n]) {
                                *o = T::of((p as f32 * scale) as f64);
                            }
                        }
                    })
                };
                let rows_per_task = PARALLEL_GATHER.div_ceil(n.max(1));
                if indices.len() > rows_per_task {
                    use rayon::prelude::*;
                    indices
                        .par_chunks(rows_per_task)
                        .zip(out.par_chunks_mut(rows_per_task * n))
                        .for_each(|(indices, out)| convert(indices, out));
                } else {
                    convert(indices, out);
                }
            }
            (features, transform) => {
                for (&i, row) in indices.iter().zip(out.chunks_exact_mut(n)) {
                    let base = i * n;
                    for (j, o) in row.iter_mut().enumerate() {
                        let v = features.get(base + j);
                        *o = match transform {
                            Transform::Identity => T::of(v as f64),
                            Transform::Scale(s) => T::of((v * s) as f64),
                            Transform::Standardize { scale, mean, std } => {
                                if std[j] > 0.0 {
                                    T::of(((v * scale - mean[j]) / std[j]) as f64)
                                } else {
                                    T::zero()
                                }
                            }
                        };
                    }
                }
            }
        }
    }

    /// Writes the one-hot target of sample `index` into `out` (length `num_classes`).
    pub fn write_one_hot<T: Float>(&self, index: usize, out: &mut [T]) {
        out.fill(T::zero());
        out[self.labels[index] as usize] = T::one();
    }
}

/// Whether `order` holds each of 0..order.len() once.
fn is_permutation(order: &[usize]) -> bool {
    let mut seen = vec![false; order.len()];
    order
        .iter()
        .all(|&i| i < seen.len() && !std::mem::replace(&mut seen[i], true))
}

/// Reorders the rows of `values` (rows of `row_len`) in place so that row j is the old row
/// `order[j]` (`order` a permutation), one cycle at a time through one row of scratch, then
/// moves the rows from `at` on into a vector of their own and gives back the rest's memory.
fn split_rows<V: Copy>(values: &mut Vec<V>, row_len: usize, order: &[usize], at: usize) -> Vec<V> {
    let mut placed = vec![false; order.len()];
    let mut held = Vec::with_capacity(row_len);
    for start in 0..order.len() {
        if placed[start] {
            continue;
        }
        held.clear();
        held.extend_from_slice(&values[start * row_len..(start + 1) * row_len]);
        let mut j = start;
        loop {
            placed[j] = true;
            let source = order[j];
            if source == start {
                values[j * row_len..(j + 1) * row_len].copy_from_slice(&held);
                break;
            }
            values.copy_within(source * row_len..(source + 1) * row_len, j * row_len);
            j = source;
        }
    }
    let tail = values.split_off(at * row_len);
    values.shrink_to_fit();
    tail
}

/// Rows `indices` of `values` (rows of `row_len`), in one allocation of the exact size: a
/// collect through `flat_map` cannot know its length and grows by doubling, which for the
/// 123 MB of a CIFAR validation split's 40,000 training images held 201 MB at the peak
/// (`heaptrack` of `nabla train --data cifar10 --validation-split 0.2`).
fn gather_rows<V: Copy>(values: &[V], row_len: usize, indices: &[usize]) -> Vec<V> {
    let mut rows = Vec::with_capacity(indices.len() * row_len);
    for &i in indices {
        rows.extend_from_slice(&values[i * row_len..(i + 1) * row_len]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_shared_between_threads_equals_its_samples_one_by_one() {
        // 300 images of 28x28: a batch of 250 spans several tasks, the last one short.
        let (count, n) = (300, 784);
        let pixels: Vec<u8> = (0..count * n).map(|i| (i * 7 % 251) as u8).collect();
        let data = Dataset::new(
            Features::U8(pixels),
            vec![28, 28, 1],
            vec![0; count],
            vec!["a".into()],
        )
        .unwrap()
        .scaled();
        let indices: Vec<usize> = (0..250).map(|i| i * 37 % count).collect();
        assert!(indices.len() * n > 2 * PARALLEL_GATHER);
        let mut batch = vec![f32::NAN; indices.len() * n];
        crate::on_threads(2, || data.write_samples(&indices, &mut batch));
        let mut one = vec![0.0f32; n];
        for (&i, row) in indices.iter().zip(batch.chunks_exact(n)) {
            data.write_sample(i, &mut one);
            assert_eq!(row, &one[..]);
            assert_eq!(row[5], data.features.get(i * n + 5) * (1.0 / 255.0));
        }
    }

    #[test]
    fn split_equals_the_two_subsets_in_place_or_not() {
        let (count, n) = (23, 6);
        let values = |i: usize| (i * 31 % 97) as u8;
        let features = [
            Features::U8((0..count * n).map(values).collect()),
            Features::F32((0..count * n).map(|i| f32::from(values(i)) - 0.5).collect()),
        ];
        let permutation = crate::random::NumpyRandomState::new(3).permutation(count);
        let (first, second) = permutation.split_at(17);
        // A split of every sample (reordered in place), and lists that are not one
        // (a repeat, a sample left out), which fall back to copies.
        let cases = [
            (first.to_vec(), second.to_vec()),
            (vec![4, 4, 0], vec![7, 22]),
            (first[1..].to_vec(), second.to_vec()),
        ];
        for features in features {
            let labels: Vec<u32> = (0..count as u32).map(|i| i % 5).collect();
            let names: Vec<String> = (0..5).map(|c| c.to_string()).collect();
            let data = Dataset::new(features, vec![n], labels, names).unwrap();
            for (a, b) in &cases {
                let (x, y) = data.clone().split(a, b);
                for (part, subset) in [(&x, data.subset(a)), (&y, data.subset(b))] {
                    assert_eq!(part.labels, subset.labels);
                    let all = |d: &Dataset| -> Vec<f32> {
                        (0..d.features.len()).map(|i| d.features.get(i)).collect()
                    };
                    assert_eq!(all(part), all(&subset));
                    assert_eq!(part.sample_shape, subset.sample_shape);
                    assert_eq!(part.class_names, subset.class_names);
                }
            }
        }
    }
}
