//! What one resolved experiment is: data, model, training and outputs, each a typed section
//! that rejects unknown keys. Layers, optimizers and losses are the library's own configs
//! (`LayerConfig`, `OptimizerConfig`, `Loss`), so every layer nabla has can be written in a
//! file without this module listing them.

use super::callbacks::CallbacksSpec;
use crate::data::DataConfig;
use crate::error::Result;
use crate::nn::{LayerConfig, Loss, OptimizerConfig};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One fully resolved run: the base file with a variant's or sweep cell's overrides applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// A title for reports; defaults to the file's name.
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default)]
    pub data: DataConfig,
    pub model: ModelSpec,
    #[serde(default)]
    pub training: TrainingSpec,
    #[serde(default)]
    pub output: OutputSpec,
}

/// `[model]`: the layers in order, as `{ type = "Dense", units = 128, activation = "relu" }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Per-sample input shape; by default the data's (e.g. [28, 28, 1] for MNIST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_shape: Option<Vec<usize>>,
    /// Convenience for L2 labs and sweeps: puts `kernel_regularizer = { l2 = λ }` on every layer
    /// that has a kernel (Dense, Conv2D, …), so one key (`model.l2`) sweeps them all. A layer's
    /// own `kernel_regularizer` is replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2: Option<f64>,
    pub layers: Vec<LayerConfig>,
}

/// `[training]`: how to fit, with Keras's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// `{ type = "adam", learning_rate = 1e-3 }`, or just `"sgd"` for Keras's defaults.
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerConfig,
    #[serde(default = "default_loss")]
    pub loss: Loss,
    /// Reported metrics; accuracy is the one there is, and is always reported.
    #[serde(default = "default_metrics")]
    pub metrics: Vec<Metric>,
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// Seed of initial weights, shuffling and dropout; replicates of a sweep add 0, 1, 2, …
    #[serde(default)]
    pub seed: u32,
    #[serde(default = "yes")]
    pub shuffle: bool,
    #[serde(default, skip_serializing_if = "is_default")]
    pub callbacks: CallbacksSpec,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Accuracy,
}

/// `[output]`: what the run directory gets besides history and metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Where runs go when `--out` is not given; default `runs/<file name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    #[serde(default = "default_plots")]
    pub plots: Vec<Plot>,
    /// Write `report.html`, a self-contained page with every plot and table.
    #[serde(default = "yes")]
    pub report: bool,
    /// Write the confusion matrix and scikit-learn's classification report.
    #[serde(default = "yes")]
    pub classification_report: bool,
    /// Save the trained model as `model.safetensors` in the run directory.
    #[serde(default)]
    pub save_model: bool,
    /// Save, load the file back and evaluate again: the numbers must not change.
    #[serde(default)]
    pub reload: bool,
}

/// The plots a run can draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plot {
    /// Loss and accuracy per epoch, training vs validation.
    Curves,
    /// Confusion-matrix heatmap on the test set.
    Confusion,
    /// A 10x5 grid of test images with ground truth and prediction.
    Predictions,
    /// A few training images of every class.
    Samples,
    /// Per-layer gradient mean and std on a fixed batch: after training, and per epoch.
    Gradients,
}

fn default_optimizer() -> OptimizerConfig {
    OptimizerConfig::adam(1e-3)
}
fn default_loss() -> Loss {
    Loss::CategoricalCrossentropy
}
fn default_metrics() -> Vec<Metric> {
    vec![Metric::Accuracy]
}
fn default_epochs() -> usize {
    10
}
fn default_batch_size() -> usize {
    32
}
fn default_plots() -> Vec<Plot> {
    vec![Plot::Curves, Plot::Confusion]
}
fn yes() -> bool {
    true
}

impl Default for TrainingSpec {
    fn default() -> Self {
        TrainingSpec {
            optimizer: default_optimizer(),
            loss: default_loss(),
            metrics: default_metrics(),
            epochs: default_epochs(),
            batch_size: default_batch_size(),
            seed: 0,
            shuffle: true,
            callbacks: CallbacksSpec::default(),
        }
    }
}

impl Default for OutputSpec {
    fn default() -> Self {
        OutputSpec {
            dir: None,
            plots: default_plots(),
            report: true,
            classification_report: true,
            save_model: false,
            reload: false,
        }
    }
}

impl OutputSpec {
    pub fn wants(&self, plot: Plot) -> bool {
        self.plots.contains(&plot)
    }
}

impl ModelSpec {
    /// The layers to build, with `l2` applied to every kernel.
    ///
    /// Which layers have a kernel is read from the layer's own serialized options (it has a
    /// `kernel_initializer`), so a new layer type gets `l2` without this code changing.
    pub fn layer_configs(&self) -> Result<Vec<LayerConfig>> {
        match self.l2 {
            None => Ok(self.layers.clone()),
            Some(lambda) => crate::models::with_l2(&self.layers, lambda),
        }
    }
}

impl Experiment {
    /// Checks values serde cannot: ranges and combinations. Errors come back as
    /// (dotted key, message) so the caller can name the file's line.
    pub fn check(&self) -> std::result::Result<(), (String, String)> {
        let fail = |key: &str, message: String| Err((key.to_string(), message));
        let t = &self.training;
        if t.epochs == 0 {
            return fail("training.epochs", "must be at least 1".into());
        }
        if t.batch_size == 0 || t.batch_size > crate::train::MAX_BATCH_SIZE {
            return fail(
                "training.batch_size",
                format!(
                    "{} is out of range (1..={})",
                    t.batch_size,
                    crate::train::MAX_BATCH_SIZE
                ),
            );
        }
        if let Err(e) = t.optimizer.validate() {
            return fail("training.optimizer", e.to_string());
        }
        t.callbacks.check()?;
        if let Err(e) = self.data.validate() {
            let message = e.to_string();
            let key = message
                .split([' ', ':'])
                .next()
                .filter(|k| !k.is_empty() && !k.contains('='))
                .map(|k| format!("data.{k}"))
                .unwrap_or_else(|| "data".into());
            return fail(&key, message);
        }
        if let Some(l2) = self.model.l2 {
            if !(l2 >= 0.0 && l2.is_finite()) {
                return fail("model.l2", format!("{l2} must be a non-negative number"));
            }
        }
        if self.model.layers.is_empty() {
            return fail("model.layers", "the model needs at least one layer".into());
        }
        Ok(())
    }

    /// The per-sample input shape: the model's if given, else what the data source implies.
    pub fn input_shape(&self) -> Option<Vec<usize>> {
        self.model
            .input_shape
            .clone()
            .or_else(|| self.data.source.input_shape())
            .or_else(|| self.data.csv_shape.clone())
    }
}
