//! The images a run keeps for its report — a few training images of each class, the first
//! training and test images, what the notebooks print about the data — and the probe batch
//! that gradient plots and diagnostics look at.

use crate::data::{Dataset, Features, Splits};
use crate::error::Result;
use crate::nn::Loss;
use crate::report::files::{
    image_layout, to_pixels, DataLook, ImageSet, FIRST_IMAGES, GRID, SAMPLES_PER_CLASS,
};
use crate::train::{BatchSource, Sequential};
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
    rows(data, &indices)
}

/// The first `n` rows of `data` (all if fewer): notebook 000's `x_train[:32]`.
pub fn first_rows(data: &Dataset, n: usize) -> (Tensor<f32>, Tensor<f32>) {
    let indices: Vec<usize> = (0..n.min(data.len())).collect();
    rows(data, &indices)
}

fn rows(data: &Dataset, indices: &[usize]) -> (Tensor<f32>, Tensor<f32>) {
    let n = indices.len();
    let mut x = vec![0.0f32; n * data.sample_len()];
    let mut y = vec![0.0f32; n * data.num_classes];
    BatchSource::<f32>::fill(data, indices, &mut x, &mut y);
    (
        Tensor::from_vec(x, Shape::batched(n, &data.sample_shape)).expect("sizes match"),
        Tensor::from_vec(y, [n, data.num_classes]).expect("sizes match"),
    )
}

/// What the notebooks print and plot before training: the arrays' shapes, the first
/// training images and values, and (given the untrained model) its output sum on the first
/// training sample.
pub fn data_look(
    splits: &Splits,
    loss: Loss,
    untrained: Option<&mut Sequential<f32>>,
) -> Result<DataLook> {
    let label_shape = |d: &Dataset| match loss {
        Loss::SparseCategoricalCrossentropy => vec![d.len()],
        _ => vec![d.len(), d.num_classes],
    };
    let mut named = vec![("train", &splits.train)];
    if let Some(v) = &splits.validation {
        named.push(("val", v));
    }
    named.push(("test", &splits.test));
    let mut shapes = Vec::new();
    for (name, d) in named {
        let mut x = vec![d.len()];
        x.extend(&d.sample_shape);
        shapes.push((format!("x_{name}"), x));
        shapes.push((format!("y_{name}"), label_shape(d)));
    }
    let train = &splits.train;
    let n = FIRST_IMAGES.min(train.len());
    let first_images = image_set(train, &(0..n).collect::<Vec<_>>());
    let width = train.sample_len();
    let first_values: Vec<f64> = match (&train.features, train.len()) {
        (_, 0) => Vec::new(),
        (Features::U8(v), _) => v[..width].iter().map(|&b| b.into()).collect(),
        (Features::F32(v), _) => v[..width].iter().map(|&x| x.into()).collect(),
    };
    let first_output_sum = match untrained {
        Some(model) if !train.is_empty() => {
            let (x, _) = first_rows(train, 1);
            let out = model.predict_tensor(&x)?;
            Some(out.data().iter().map(|&p| f64::from(p)).sum())
        }
        _ => None,
    };
    Ok(DataLook {
        shapes,
        first_images,
        first_values,
        first_output_sum,
    })
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
