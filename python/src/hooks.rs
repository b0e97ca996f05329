//! What runs between batches of a Python `fit`: the progress display (Python code, so it
//! reaches a notebook's output), Ctrl-C, and Keras's callbacks built from their settings.

use nabla::io::tensorboard::TensorBoard;
use nabla::train::{
    BatchLogs, Callback, Control, CsvLogger, EarlyStopping, EpochLogs, Mode, ModelCheckpoint,
    ReduceLROnPlateau, Sequential,
};
use pyo3::exceptions::{PyNotImplementedError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the progress bar is redrawn at most (Keras's `Progbar` interval).
const REDRAW: Duration = Duration::from_millis(50);

/// Calls the Python progress object and, after every batch, looks at `stop` (set by the
/// thread that waits for `fit` when Ctrl-C arrives: Python runs signal handlers only on the
/// main thread). A stop, or an exception from the progress object, ends `fit` after the
/// current batch, with the model's weights those of the last finished step.
pub struct PythonHook {
    progress: Option<Py<PyAny>>,
    /// Training rows and batch size, for the number of steps an epoch takes.
    rows: usize,
    batch_size: usize,
    last_draw: Option<Instant>,
    stop: Arc<AtomicBool>,
    pub error: Option<PyErr>,
}

impl PythonHook {
    pub fn new(
        progress: Option<Py<PyAny>>,
        rows: usize,
        batch_size: usize,
        stop: Arc<AtomicBool>,
    ) -> Self {
        PythonHook {
            progress,
            rows,
            batch_size,
            last_draw: None,
            stop,
            error: None,
        }
    }

    fn stop_with(&mut self, e: PyErr) -> Control {
        self.error.get_or_insert(e);
        Control::Stop
    }
}

impl Callback<f32> for PythonHook {
    fn on_batch_end(
        &mut self,
        _model: &mut Sequential<f32>,
        epoch: usize,
        batch: usize,
        logs: &BatchLogs,
    ) -> nabla::Result<Control> {
        let steps = self.rows.div_ceil(self.batch_size);
        let now = Instant::now();
        let draw = batch == 0
            || batch + 1 == steps
            || self
                .last_draw
                .is_none_or(|t| now.duration_since(t) >= REDRAW);
        if let (true, Some(p)) = (draw, &self.progress) {
            self.last_draw = Some(now);
            let result = Python::with_gil(|py| {
                p.call_method1(
                    py,
                    "on_batch_end",
                    (epoch, batch + 1, steps, logs.loss, logs.accuracy),
                )
            });
            if let Err(e) = result {
                return Ok(self.stop_with(e));
            }
        }
        Ok(if self.stop.load(Ordering::SeqCst) {
            Control::Stop
        } else {
            Control::Continue
        })
    }

    fn on_epoch_end(
        &mut self,
        _model: &mut Sequential<f32>,
        epoch: usize,
        logs: &EpochLogs,
    ) -> nabla::Result<Control> {
        let Some(p) = &self.progress else {
            return Ok(Control::Continue);
        };
        let result = Python::with_gil(|py| -> PyResult<()> {
            let d = PyDict::new(py);
            d.set_item("loss", logs.loss)?;
            d.set_item("accuracy", logs.accuracy)?;
            if let Some(v) = logs.val_loss {
                d.set_item("val_loss", v)?;
            }
            if let Some(v) = logs.val_accuracy {
                d.set_item("val_accuracy", v)?;
            }
            p.call_method1(py, "on_epoch_end", (epoch, d, logs.seconds))?;
            Ok(())
        });
        Ok(match result {
            Ok(()) => Control::Continue,
            Err(e) => self.stop_with(e),
        })
    }
}

/// Keras callbacks from the settings the Python classes hold, e.g.
/// `{"type": "EarlyStopping", "monitor": "val_loss", "patience": 2}`.
pub fn build_callbacks(specs: &str) -> PyResult<Vec<Box<dyn Callback<f32> + Send>>> {
    let specs: Vec<Value> = serde_json::from_str(specs)
        .map_err(|e| PyValueError::new_err(format!("callback settings: {e}")))?;
    specs.iter().map(build_callback).collect()
}

fn build_callback(spec: &Value) -> PyResult<Box<dyn Callback<f32> + Send>> {
    let text = |key: &str, default: &str| -> String {
        spec.get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    };
    let number = |key: &str, default: f64| spec.get(key).and_then(Value::as_f64).unwrap_or(default);
    let count =
        |key: &str, default: u64| spec.get(key).and_then(Value::as_u64).unwrap_or(default) as usize;
    let flag = |key: &str| spec.get(key).and_then(Value::as_bool).unwrap_or(false);
    let mode = |spec_mode: String| Mode::parse(&spec_mode).map_err(crate::errors::to_py);
    Ok(match text("type", "").as_str() {
        "EarlyStopping" => Box::new(
            EarlyStopping::<f32>::new(&text("monitor", "val_loss"))
                .patience(count("patience", 0))
                .min_delta(number("min_delta", 0.0))
                .mode(mode(text("mode", "auto"))?)
                .restore_best_weights(flag("restore_best_weights")),
        ),
        "ReduceLROnPlateau" => Box::new(
            ReduceLROnPlateau::new(&text("monitor", "val_loss"))
                .factor(number("factor", 0.1))
                .patience(count("patience", 10))
                .min_delta(number("min_delta", 1e-4))
                .mode(mode(text("mode", "auto"))?)
                .cooldown(count("cooldown", 0))
                .min_lr(number("min_lr", 0.0)),
        ),
        "ModelCheckpoint" => Box::new(
            ModelCheckpoint::new(text("filepath", ""))
                .monitor(&text("monitor", "val_loss"))
                .mode(mode(text("mode", "auto"))?)
                .save_best_only(flag("save_best_only")),
        ),
        "CSVLogger" => Box::new(CsvLogger::new(text("filename", ""))),
        "TensorBoard" => Box::new(TensorBoard::new(text("log_dir", "logs"))),
        other => {
            return Err(PyNotImplementedError::new_err(format!(
                "nabla.keras has no callback {other:?}"
            )))
        }
    })
}
