//! Running one resolved experiment: load its data, build and fit its model, evaluate on the
//! test set. Writing the results is [`super::rundir`]'s job.

use super::gradients::{GradientLog, GradientRecorder};
use super::spec::{Experiment, Plot};
use crate::data::{DataConfig, DataSource, Splits};
use crate::error::{Error, Result};
use crate::report::metrics::predicted_classes;
use crate::train::{Callback, FitOptions, History, Sequential, Stream, Validation, Verbosity};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What one run produced, as written to `metrics.json` and compared across variants and cells.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub name: String,
    pub history: History,
    pub test_loss: f64,
    pub test_accuracy: f64,
    pub trainable_params: usize,
    pub non_trainable_params: usize,
    pub seconds: f64,
    /// Test-set class per sample, predicted and true (for the confusion matrix).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub y_pred: Vec<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub y_true: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradients: Option<GradientLog>,
}

impl RunResult {
    /// A final number by name: the last epoch's `loss`, `accuracy`, `val_loss`,
    /// `val_accuracy`, or the test set's `test_loss`, `test_accuracy`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let h = &self.history;
        match name {
            "loss" => h.loss.last().copied(),
            "accuracy" => h.accuracy.last().copied(),
            "val_loss" => h.val_loss.last().copied(),
            "val_accuracy" => h.val_accuracy.last().copied(),
            "test_loss" => Some(self.test_loss),
            "test_accuracy" => Some(self.test_accuracy),
            _ => None,
        }
    }
}

/// How a run talks to the terminal.
#[derive(Clone, Copy, Debug)]
pub struct RunOptions {
    pub verbosity: Verbosity,
    pub stream: Stream,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            verbosity: Verbosity::Lines,
            stream: Stream::Stdout,
        }
    }
}

/// Datasets loaded once and shared by every variant or sweep cell that asks for the same data.
#[derive(Default)]
pub struct DataCache {
    loaded: Mutex<HashMap<String, Arc<Splits>>>,
}

impl DataCache {
    pub fn get(&self, config: &DataConfig) -> Result<Arc<Splits>> {
        let key = serde_json::to_string(config).expect("data configs serialize");
        let mut loaded = self
            .loaded
            .lock()
            .expect("no thread panicked holding the cache");
        if let Some(splits) = loaded.get(&key) {
            return Ok(splits.clone());
        }
        let splits = Arc::new(config.load().map_err(|e| missing_data(config, e))?);
        loaded.insert(key, splits.clone());
        Ok(splits)
    }
}

/// Says plainly that a dataset is not here and how to run anyway.
fn missing_data(config: &DataConfig, error: Error) -> Error {
    if config.source == DataSource::MnistSample || config.source == DataSource::Csv {
        return error;
    }
    Error::invalid(format!(
        "{} is not available here: {error}\n\
         To run this experiment anyway, point at the files with --data-dir DIR, or use \
         another dataset of the same shape: --data mnist-sample (built in) or \
         --data fashion-mnist for 28x28 images.",
        config.source.name()
    ))
}

/// Trains and evaluates `experiment`; the model comes back for saving and plotting.
/// Checkpoints, if asked for, go under `run_dir`.
pub fn run(
    experiment: &Experiment,
    splits: &Splits,
    options: RunOptions,
    run_dir: Option<&Path>,
) -> Result<(RunResult, Sequential<f32>)> {
    let start = Instant::now();
    let shape = experiment
        .input_shape()
        .unwrap_or_else(|| splits.train.sample_shape.clone());
    let t = &experiment.training;
    let layers = experiment.model.layer_configs()?;
    let mut model = Sequential::<f32>::from_configs(&shape, &layers, t.seed)?;
    model.compile(t.optimizer.clone(), t.loss)?;
    match (options.verbosity, options.stream) {
        (Verbosity::Silent, _) => {}
        (_, Stream::Stdout) => print!("{}", model.summary()),
        (_, Stream::Stderr) => eprint!("{}", model.summary()),
    }
    let fit = FitOptions {
        epochs: t.epochs,
        batch_size: t.batch_size,
        validation: Validation::Data(splits.validation_or_test()),
        shuffle: t.shuffle,
        verbosity: options.verbosity,
        stream: options.stream,
        ..FitOptions::default()
    };
    let mut recorder = experiment
        .output
        .wants(Plot::Gradients)
        .then(|| GradientRecorder::new(&splits.train));
    let mut owned = t.callbacks.build(run_dir)?;
    let mut callbacks: Vec<&mut dyn Callback<f32>> = Vec::new();
    if let Some(r) = recorder.as_mut() {
        callbacks.push(r);
    }
    for c in owned.iter_mut() {
        callbacks.push(c.as_mut());
    }
    let history = model.fit_with_callbacks(&splits.train, fit, &mut callbacks)?;
    let evaluation = model.evaluate(&splits.test)?;
    let probabilities = model.predict(&splits.test)?;
    let classes = splits.test.num_classes;
    let y_pred = predicted_classes(probabilities.data(), classes)?;
    let y_true = splits.test.labels.iter().map(|&l| l as usize).collect();
    let (trainable, frozen) = model.count_params();
    let result = RunResult {
        name: experiment.name.clone(),
        history,
        test_loss: evaluation.loss,
        test_accuracy: evaluation.accuracy,
        trainable_params: trainable,
        non_trainable_params: frozen,
        seconds: start.elapsed().as_secs_f64(),
        y_pred,
        y_true,
        gradients: recorder.map(|r| r.log),
    };
    Ok((result, model))
}
