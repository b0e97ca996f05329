//! A run report from Python: a run directory in the library's one schema
//! (`nabla::report::files`), written by the library's writer (`nabla::run::RunDir`), then
//! `nabla::report::render` for the plots and the self-contained `report.html`.
//!
//! What is written is what `nabla train` writes for the same facts (`run.json` with kind
//! `python`, `summary.txt`, `history.csv`, `metrics.json`, `classification_report.txt`), less
//! `experiment.toml`: the data came from numpy arrays, which no experiment file can name, so
//! there is no file that reruns the run.

use crate::errors::to_py;
use crate::model::{pool, Model};
use nabla::report::files::{CLASSIFICATION_REPORT, HISTORY, METRICS, SUMMARY};
use nabla::report::{render, DataFacts, RunInfo, RunMetrics, RunStatus};
use nabla::run::{utc_iso, ModelSpec, OutputSpec, RunDir, RunSpec, TrainingSpec};
use nabla::train::History;
use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A `fit`'s facts as Python kept them: requested epochs, batch size, model seed, start and
/// end (Unix seconds), training and validation sample counts.
type FitFacts = (usize, usize, u32, f64, f64, usize, usize);

/// The per-epoch lists of `fit`'s raw history: loss, accuracy, val_loss, val_accuracy,
/// seconds, learning rate.
type EpochLists = (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>);

/// Writes the run files into `dir` and renders them; returns the path of `report.html`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn write_report(
    py: Python<'_>,
    dir: &str,
    model: PyRef<'_, Model>,
    name: &str,
    summary: &str,
    history: EpochLists,
    fit: FitFacts,
    y_true: Vec<usize>,
    scores: PyReadonlyArray2<'_, f32>,
    class_names: Vec<String>,
    evaluation: (f64, f64),
) -> PyResult<String> {
    if scores.shape() != [y_true.len(), class_names.len()] {
        return Err(PyValueError::new_err(format!(
            "scores of shape {:?} do not match {} labels of {} classes",
            scores.shape(),
            y_true.len(),
            class_names.len()
        )));
    }
    let scores = scores
        .as_slice()
        .map_err(|_| PyValueError::new_err("scores must be C-contiguous"))?;
    let (loss, accuracy, val_loss, val_accuracy, epoch_seconds, learning_rate) = history;
    let epochs = loss.len();
    if [accuracy.len(), epoch_seconds.len(), learning_rate.len()] != [epochs; 3]
        || ![0, epochs].contains(&val_loss.len())
        || val_accuracy.len() != val_loss.len()
    {
        return Err(PyValueError::new_err(
            "the history's per-epoch lists differ in length",
        ));
    }
    let history = History {
        loss,
        accuracy,
        val_loss,
        val_accuracy,
        epoch_seconds,
        learning_rate,
    };
    let (epochs_asked, batch_size, seed, started, ended, train_samples, validation_samples) = fit;
    let info = {
        let m = model.model();
        let defaults = TrainingSpec::default();
        // Only for `settings`, the dotted keys that differ from nabla's defaults, in the form
        // every other run's `run.json` gives them.
        let spec = RunSpec {
            name: name.to_string(),
            description: String::new(),
            data: Default::default(),
            model: ModelSpec {
                input_shape: Some(m.input_shape().to_vec()),
                l2: None,
                l2_layers: None,
                from: None,
                layers: m.configs().to_vec(),
            },
            training: TrainingSpec {
                optimizer: m
                    .optimizer()
                    .map_or(defaults.optimizer.clone(), |o| o.config()),
                loss: m.loss().unwrap_or(defaults.loss),
                epochs: epochs_asked,
                batch_size,
                seed,
                ..defaults
            },
            output: OutputSpec::default(),
        };
        let (trainable, frozen) = m.count_params();
        RunInfo {
            status: RunStatus::Complete,
            error: None,
            name: name.to_string(),
            description: String::new(),
            kind: "python".into(),
            started: utc_iso(unix_time(started)),
            ended: Some(utc_iso(unix_time(ended))),
            seconds: (ended - started).max(0.0),
            // The package is versioned with the library it links.
            nabla_version: env!("CARGO_PKG_VERSION").into(),
            threads: pool().current_num_threads(),
            host: hostname(),
            argv: Vec::new(),
            settings: spec.settings_diff(),
            plots: spec.output.plots.iter().map(|p| p.name().into()).collect(),
            epochs: epochs_asked,
            epochs_done: epochs,
            stages: Vec::new(),
            trainable_params: trainable,
            non_trainable_params: frozen,
            data: DataFacts {
                source: "numpy arrays (nabla.keras)".into(),
                sample_shape: m.input_shape().to_vec(),
                class_names: class_names.clone(),
                train_samples,
                validation_samples,
                test_samples: y_true.len(),
                validation_is_test: false,
            },
        }
    };
    py.allow_threads(|| {
        let run = RunDir::create(dir)?;
        run.write_text(SUMMARY, summary)?;
        run.write_text(HISTORY, &history.to_csv())?;
        let metrics = RunMetrics::new(&y_true, scores, &class_names, evaluation.0, evaluation.1)?;
        run.write_json(METRICS, &metrics)?;
        run.write_text(
            CLASSIFICATION_REPORT,
            &metrics.classification_report.to_text(2),
        )?;
        // Last, as the run pipeline does: `run.json` never runs ahead of the other files.
        run.write_info(&info)?;
        Ok(render(run.path())?.report.display().to_string())
    })
    .map_err(to_py)
}

fn unix_time(seconds: f64) -> SystemTime {
    UNIX_EPOCH + Duration::try_from_secs_f64(seconds).unwrap_or_default()
}

/// The machine's name for `run.json`, as the run pipeline finds it.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
