//! Gradient inspection for `plots = ["gradients"]`: each layer's kernel gradient mean and std
//! on one fixed batch, before training and after every epoch — the `tf.GradientTape` check a
//! student runs when the loss will not go down.

use crate::data::Dataset;
use crate::error::Result;
use crate::train::{BatchSource, Callback, Control, EpochLogs, Sequential};
use crate::{Shape, Tensor};
use serde::{Deserialize, Serialize};

/// Per-layer gradient statistics over epochs; index 0 is before the first step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GradientLog {
    pub layers: Vec<String>,
    /// `means[layer][t]`, `stds[layer][t]`.
    pub means: Vec<Vec<f64>>,
    pub stds: Vec<Vec<f64>>,
}

/// Records a [`GradientLog`] on the first `batch` training samples.
pub struct GradientRecorder {
    x: Tensor<f32>,
    y: Tensor<f32>,
    pub log: GradientLog,
}

/// Samples in the inspected batch: Keras labs take one batch of 32 to a few hundred.
const BATCH: usize = 256;

impl GradientRecorder {
    pub fn new(data: &Dataset) -> Self {
        let n = data.len().min(BATCH);
        let indices: Vec<usize> = (0..n).collect();
        let mut x = Tensor::zeros(Shape::batched(n, &data.sample_shape));
        let mut y = Tensor::zeros([n, data.num_classes]);
        BatchSource::<f32>::fill(data, &indices, x.data_mut(), y.data_mut());
        GradientRecorder {
            x,
            y,
            log: GradientLog::default(),
        }
    }

    /// Appends one time point: the mean and std of each layer's first (kernel) gradient.
    pub fn record(&mut self, model: &mut Sequential<f32>) -> Result<()> {
        let (_, grads) = model.probe_gradients(self.x.clone(), self.y.clone())?;
        let mut index = 0;
        for layer in model.layers() {
            let Some(&kernel) = layer.params().first() else {
                continue;
            };
            let Some((_, _, g)) = grads.iter().find(|(id, _, _)| *id == kernel) else {
                continue;
            };
            if self.log.layers.len() <= index {
                self.log.layers.push(layer.name().to_string());
                self.log.means.push(Vec::new());
                self.log.stds.push(Vec::new());
            }
            let values = g.data();
            let n = values.len().max(1) as f64;
            let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
            let var = values
                .iter()
                .map(|&v| (v as f64 - mean).powi(2))
                .sum::<f64>()
                / n;
            self.log.means[index].push(mean);
            self.log.stds[index].push(var.sqrt());
            index += 1;
        }
        Ok(())
    }
}

impl Callback<f32> for GradientRecorder {
    fn on_train_begin(&mut self, model: &mut Sequential<f32>) -> Result<()> {
        self.record(model)
    }

    fn on_epoch_end(
        &mut self,
        model: &mut Sequential<f32>,
        _epoch: usize,
        _logs: &EpochLogs,
    ) -> Result<Control> {
        self.record(model)?;
        Ok(Control::Continue)
    }
}
