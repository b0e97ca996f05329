//! The gradient probe behind `plots = ["gradients"]`: each layer's kernel gradient mean and
//! std on one fixed batch, before training and after every epoch — the `tf.GradientTape` check
//! a student runs when the loss will not go down. It observes only (see
//! [`Sequential::probe_gradients`]): a run with the probe trains exactly as one without.

use crate::error::Result;
use crate::train::{Callback, Control, EpochLogs, Sequential};
use crate::Tensor;
use serde::{Deserialize, Serialize};

/// Per-layer gradient statistics over epochs; index 0 is before the first step.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GradientLog {
    /// Samples in the probe batch.
    pub batch_size: usize,
    pub layers: Vec<String>,
    /// `means[layer][t]`, `stds[layer][t]`.
    pub means: Vec<Vec<f64>>,
    pub stds: Vec<Vec<f64>>,
}

/// Records a [`GradientLog`] on a fixed probe batch.
pub struct GradientRecorder {
    x: Tensor<f32>,
    y: Tensor<f32>,
    pub log: GradientLog,
}

impl GradientRecorder {
    pub fn new(x: Tensor<f32>, y: Tensor<f32>) -> Self {
        let batch_size = x.shape().batch();
        GradientRecorder {
            x,
            y,
            log: GradientLog {
                batch_size,
                ..GradientLog::default()
            },
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
            let Some(g) = grads.get(kernel) else {
                continue;
            };
            if self.log.layers.len() <= index {
                self.log.layers.push(layer.name().to_string());
                self.log.means.push(Vec::new());
                self.log.stds.push(Vec::new());
            }
            let stats = crate::train::diagnostics::GradientStats::of(g.data());
            self.log.means[index].push(stats.mean);
            self.log.stds[index].push(stats.std);
            index += 1;
        }
        Ok(())
    }
}

impl Callback<f32> for GradientRecorder {
    fn on_train_begin(&mut self, model: &mut Sequential<f32>) -> Result<()> {
        // A resumed run's probe goes on from where it is; time 0 is the untrained model.
        if self.log.layers.is_empty() {
            self.record(model)?;
        }
        Ok(())
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
