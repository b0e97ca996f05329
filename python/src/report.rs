//! A run report from Python: the run-directory files nabla's report renderer reads
//! (`config.json`, `summary.txt`, `history.csv`, `metrics.json`), then
//! `nabla::report::run::render` for the plots and the self-contained `report.html`.

use crate::errors::to_py;
use nabla::report::run::{render, RunDir, RunMetrics, CONFIG, HISTORY, METRICS, SUMMARY};
use nabla::train::History;
use numpy::{PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Writes the run files into `dir` and renders them; returns the path of `report.html`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn write_report(
    py: Python<'_>,
    dir: &str,
    config_json: &str,
    summary: &str,
    history: (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>),
    y_true: Vec<usize>,
    scores: PyReadonlyArray2<'_, f32>,
    class_names: Vec<String>,
    evaluation: (f64, f64),
) -> PyResult<String> {
    let config: serde_json::Value = serde_json::from_str(config_json)
        .map_err(|e| PyValueError::new_err(format!("report settings: {e}")))?;
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
    let (loss, accuracy, val_loss, val_accuracy) = history;
    let epochs = loss.len();
    if accuracy.len() != epochs
        || ![0, epochs].contains(&val_loss.len())
        || val_accuracy.len() != val_loss.len()
    {
        return Err(PyValueError::new_err(
            "the history's loss, accuracy and validation lists differ in length",
        ));
    }
    let history = History {
        epoch_seconds: vec![0.0; loss.len()],
        learning_rate: vec![0.0; loss.len()],
        loss,
        accuracy,
        val_loss,
        val_accuracy,
    };
    py.allow_threads(|| {
        let run = RunDir::create(dir)?;
        run.write_json(CONFIG, &config)?;
        run.write_text(SUMMARY, summary)?;
        run.write_text(HISTORY, &history.to_csv())?;
        let metrics = RunMetrics::new(&y_true, scores, &class_names, evaluation.0, evaluation.1)?;
        run.write_json(METRICS, &metrics)?;
        Ok(render(run.path())?.report.display().to_string())
    })
    .map_err(to_py)
}
