//! What one run is: data, model, training and outputs, each a typed section that rejects
//! unknown keys. `nabla train`'s flags, an experiment file, each of its variants and each
//! sweep cell all become a [`RunSpec`], and [`super::run`] runs it. Layers, optimizers and losses are the library's own configs
//! (`LayerConfig`, `OptimizerConfig`, `Loss`), so every layer nabla has can be written in a
//! file without this module listing them.

use super::callbacks::CallbacksSpec;
use crate::data::DataConfig;
use crate::error::Result;
use crate::nn::{LayerConfig, Loss, OptimizerConfig};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One fully resolved run: `nabla train`'s flags, or an experiment file's base with a
/// variant's or sweep cell's overrides applied. Its TOML form is the experiment file's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
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
    /// Which layers `l2` goes on, by name (`["dense", "dense_1"]`: the hidden layers of an
    /// MLP, not its output); every layer with a kernel when absent. Sweeping `model.l2` then
    /// sweeps one factor shared by exactly these layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2_layers: Option<Vec<String>>,
    /// Start from this model file (`.keras`, `.h5` or `.safetensors`) instead of `layers`:
    /// its layers and weights train further with `[training]`, or are only evaluated with
    /// `epochs = 0`. The file's own compile settings give way to `[training]`'s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<PathBuf>,
    #[serde(default)]
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
    /// `[[training.stages]]`: train the one model in several compile-and-fit steps, as
    /// notebook 002 does; `epochs` above is then unused. The histories concatenate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageSpec>,
}

/// One stage: `model.compile(optimizer, loss)` (unless `compile = false`), then
/// `model.fit(epochs)`. An omitted optimizer or loss is the previous stage's (the first
/// stage's default is `[training]`'s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// A name for the curves and the report, e.g. "MSE", "SGD".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Compile first (a new optimizer, its state at zero, as Keras's `compile` makes); false
    /// keeps training with the optimizer the model has.
    #[serde(default = "yes")]
    pub compile: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<OptimizerConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<Loss>,
    pub epochs: usize,
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
    /// Also save the trained model to this file (`nabla train --save FILE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_file: Option<PathBuf>,
    /// Record training-batch gradient statistics, dead ReLUs and vanishing/exploding
    /// warnings per epoch (`--diagnostics`).
    #[serde(default)]
    pub diagnostics: bool,
    /// Write TensorBoard event files, as Keras's `TensorBoard` callback does: per-epoch
    /// loss, accuracy and learning rate under `train/` and `validation/`, and with
    /// `diagnostics` each weight's gradient norm. In `tensorboard_dir`, by default the run
    /// directory's `logs/`.
    #[serde(default)]
    pub tensorboard: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tensorboard_dir: Option<PathBuf>,
    /// The file name, in the run directory, that `save_model` and `reload` use; its extension
    /// picks the format (`.safetensors`, `.keras`, `.h5`), as notebook 002 saves
    /// `cifar10_classifier.h5`. Default `model.safetensors`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_as: Option<String>,
    /// Take the gradients after training (`gradients.json`'s `batch`, the per-layer mean and
    /// std bars) on the first N training samples, as notebook 000's
    /// `model(x_train[:32])` under `tf.GradientTape`. Default: 256 samples spread over the
    /// training set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradients_first: Option<usize>,
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
    /// ReLU, sigmoid, tanh and softmax drawn, for reference.
    Activations,
    /// Training vs validation loss as a figure of its own (notebook 003).
    Loss,
    /// Training vs validation accuracy as a figure of its own (notebooks 003 and 004).
    Accuracy,
    /// The first 9 training images on a 3x3 grid, titled with their class names (002).
    FirstImages,
    /// ReLU and sigmoid applied to the first training image's pixel values, as scatter
    /// plots (002).
    PixelActivations,
}

impl Plot {
    /// Every plot, as `nabla train` draws them.
    pub const ALL: [Plot; 6] = [
        Plot::Curves,
        Plot::Confusion,
        Plot::Predictions,
        Plot::Samples,
        Plot::Gradients,
        Plot::Activations,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Plot::Curves => "curves",
            Plot::Confusion => "confusion",
            Plot::Predictions => "predictions",
            Plot::Samples => "samples",
            Plot::Gradients => "gradients",
            Plot::Activations => "activations",
            Plot::Loss => "loss",
            Plot::Accuracy => "accuracy",
            Plot::FirstImages => "first_images",
            Plot::PixelActivations => "pixel_activations",
        }
    }
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
            stages: Vec::new(),
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
            model_file: None,
            diagnostics: false,
            tensorboard: false,
            tensorboard_dir: None,
            save_as: None,
            gradients_first: None,
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
        match (self.l2, &self.l2_layers) {
            (None, None) => Ok(self.layers.clone()),
            (None, Some(_)) => Err(crate::error::Error::invalid(
                "l2_layers names where model.l2 goes, but model.l2 is not set",
            )),
            (Some(lambda), None) => crate::models::with_l2(&self.layers, lambda),
            (Some(lambda), Some(names)) => crate::models::with_l2_on(&self.layers, lambda, names),
        }
    }
}

impl TrainingSpec {
    /// The stages to fit, each with its optimizer and loss resolved (`None` when it does not
    /// compile), or `None` for a plain single fit.
    pub fn resolved_stages(&self) -> Option<Vec<crate::train::Stage>> {
        if self.stages.is_empty() {
            return None;
        }
        let mut optimizer = self.optimizer.clone();
        let mut loss = self.loss;
        let stages = self
            .stages
            .iter()
            .enumerate()
            .map(|(i, stage)| {
                if let Some(o) = &stage.optimizer {
                    optimizer = o.clone();
                }
                if let Some(l) = stage.loss {
                    loss = l;
                }
                crate::train::Stage {
                    label: stage
                        .label
                        .clone()
                        .unwrap_or_else(|| format!("stage {}", i + 1)),
                    compile: stage.compile.then(|| (optimizer.clone(), loss)),
                    epochs: stage.epochs,
                }
            })
            .collect();
        Some(stages)
    }
}

impl RunSpec {
    /// Checks values serde cannot: ranges and combinations. Errors come back as
    /// (dotted key, message) so the caller can name the file's line.
    pub fn check(&self) -> std::result::Result<(), (String, String)> {
        let fail = |key: &str, message: String| Err((key.to_string(), message));
        let t = &self.training;
        if t.epochs == 0 && self.model.from.is_none() {
            return fail(
                "training.epochs",
                "must be at least 1 (0 only evaluates a model given by model.from)".into(),
            );
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
        for (i, stage) in t.stages.iter().enumerate() {
            if stage.epochs == 0 {
                return fail(
                    &format!("training.stages[{i}].epochs"),
                    "must be at least 1".into(),
                );
            }
            if let Some(Err(e)) = stage.optimizer.as_ref().map(|o| o.validate()) {
                return fail(&format!("training.stages[{i}].optimizer"), e.to_string());
            }
            if !stage.compile && (stage.optimizer.is_some() || stage.loss.is_some()) {
                return fail(
                    &format!("training.stages[{i}].compile"),
                    "a stage that does not compile keeps its optimizer and loss: drop them or compile".into(),
                );
            }
        }
        if self.output.gradients_first == Some(0) {
            return fail("output.gradients_first", "must be at least 1".into());
        }
        if let Some(name) = &self.output.save_as {
            let plain = std::path::Path::new(name).file_name() == Some(name.as_ref());
            let known = [".safetensors", ".keras", ".h5"]
                .iter()
                .any(|e| name.ends_with(e) && name.len() > e.len());
            if !plain || !known {
                return fail(
                    "output.save_as",
                    format!(
                        "'{name}' must be a file name (no directory) ending in .safetensors, \
                         .keras or .h5"
                    ),
                );
            }
        }
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
        match (&self.model.from, self.model.layers.is_empty()) {
            (None, true) => {
                return fail(
                    "model.layers",
                    "the model needs at least one layer (or a model file in model.from)".into(),
                )
            }
            (Some(_), false) => {
                return fail(
                    "model.from",
                    "give either a model file or layers, not both".into(),
                )
            }
            _ => {}
        }
        Ok(())
    }

    /// Every setting that differs from nabla's defaults, as (dotted key, value) — what a
    /// report shows instead of every option. Layers are listed one per row.
    pub fn settings_diff(&self) -> Vec<(String, String)> {
        let defaults = RunSpec {
            name: String::new(),
            description: String::new(),
            data: DataConfig::default(),
            model: ModelSpec {
                input_shape: None,
                l2: None,
                from: None,
                l2_layers: None,
                layers: Vec::new(),
            },
            training: TrainingSpec::default(),
            output: OutputSpec::default(),
        };
        let mut mine = Vec::new();
        flatten(
            "",
            &serde_json::to_value(self).expect("specs serialize"),
            &mut mine,
        );
        let mut theirs = Vec::new();
        flatten(
            "",
            &serde_json::to_value(&defaults).expect("specs serialize"),
            &mut theirs,
        );
        mine.into_iter()
            .filter(|(key, value)| {
                !matches!(key.as_str(), "name" | "description")
                    && !theirs.iter().any(|(k, v)| k == key && v == value)
            })
            .map(|(key, value)| {
                let text = match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (key, text)
            })
            .collect()
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

/// Dotted keys to leaf values; a layer (an element of `model.layers`) is one leaf.
fn flatten(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                flatten(&key(k), v, out);
            }
        }
        serde_json::Value::Array(items) if prefix == "model.layers" => {
            for (i, item) in items.iter().enumerate() {
                out.push((key(&i.to_string()), layer_text(item).into()));
            }
        }
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// A layer as `Dense(units=128, activation=relu)`: its type and the options that differ from
/// the type's defaults (an option is left out when the config without it is the same config).
fn layer_text(layer: &serde_json::Value) -> String {
    let serde_json::Value::Object(full) = layer else {
        return layer.to_string();
    };
    let mut kept = full.clone();
    for key in full.keys().filter(|k| *k != "type") {
        let mut trial = kept.clone();
        trial.remove(key);
        let same = serde_json::from_value::<LayerConfig>(serde_json::Value::Object(trial.clone()))
            .ok()
            .and_then(|c| serde_json::to_value(c).ok())
            .is_some_and(|v| &v == layer);
        if same {
            kept = trial;
        }
    }
    let kind = kept
        .remove("type")
        .and_then(|t| t.as_str().map(String::from))
        .unwrap_or_default();
    let options: Vec<String> = kept
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    format!("{kind}({})", options.join(", "))
}
