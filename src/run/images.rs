//! The images a run keeps for its report — a few training images of each class, the first
//! test images with their predictions — and the probe batch that gradient plots and
//! diagnostics look at.

use crate::data::{Dataset, Features};
use crate::report::files::{image_layout, to_pixels, ImageSet, GRID, SAMPLES_PER_CLASS};
use crate::train::BatchSource;
use crate::{Shape, Tensor};

/// Samples in the probe batch: gradient plots, batch gradients and dead-ReLU counts all look
/// at the same rows.
pub const PROBE_SAMPLES: usize = 256;

/// `n` rows spread evenly over `data` (all if fewer) as an input batch and one-hot targets.
/// Spread, not the first `n`: a dataset sorted by class (the built-in sample is) would
/// otherwise give a batch of one class.
pub fn spread_rows(data: &Dataset, n: usize) -> (Tensor<f32>, Tensor<f32>) {
    let n = n.min(data.len());
    let indices: Vec<usize> = (0..n).map(|i| i * data.len() / n).collect();
    let mut x = vec![0.0f32; n * data.sample_len()];
    let mut y = vec![0.0f32; n * data.num_classes];
    BatchSource::<f32>::fill(data, &indices, &mut x, &mut y);
    (
        Tensor::from_vec(x, Shape::batched(n, &data.sample_shape)).expect("sizes match"),
        Tensor::from_vec(y, [n, data.num_classes]).expect("sizes match"),
    )
}

/// Sample `i` as pixels: stored bytes as they are, real values stretched to 0..=255.
fn pixels(data: &Dataset, i: usize) -> Vec<u8> {
    let n = data.sample_len();
    match &data.features {
        Features::U8(v) => v[i * n..(i + 1) * n].to_vec(),
        Features::F32(v) => to_pixels(v[i * n..(i + 1) * n].iter().copied()),
    }
}

/// An image set of `indices`, if the samples can be drawn as images at all.
fn image_set(data: &Dataset, indices: &[usize]) -> Option<ImageSet> {
    let (height, width, channels) = image_layout(&data.sample_shape)?;
    Some(ImageSet {
        height,
        width,
        channels,
        class_names: data.class_names.clone(),
        labels: indices.iter().map(|&i| data.labels[i] as usize).collect(),
        predictions: None,
        pixels: indices.iter().map(|&i| pixels(data, i)).collect(),
    })
}

/// The first `SAMPLES_PER_CLASS` training images of each class.
pub fn sample_images(train: &Dataset) -> Option<ImageSet> {
    let mut taken = vec![0usize; train.num_classes];
    let mut indices = Vec::new();
    for (i, &label) in train.labels.iter().enumerate() {
        let count = &mut taken[label as usize];
        if *count < SAMPLES_PER_CLASS {
            *count += 1;
            indices.push(i);
        }
    }
    image_set(train, &indices)
}

/// The first test images of the prediction grid, with the model's predictions.
pub fn prediction_images(test: &Dataset, predicted: &[usize]) -> Option<ImageSet> {
    let n = (GRID.0 * GRID.1).min(test.len());
    let indices: Vec<usize> = (0..n).collect();
    let mut set = image_set(test, &indices)?;
    set.predictions = Some(predicted[..n].to_vec());
    Some(set)
}
