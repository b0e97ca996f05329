//! ModelCheckpoint: save the model after epochs, every one or only the best, as Keras's
//! `keras.callbacks.ModelCheckpoint`.

use super::monitor::{Mode, Monitor};
use super::{Callback, Control};
use crate::error::Result;
use crate::tensor::Float;
use crate::train::{EpochLogs, Sequential};
use std::path::{Path, PathBuf};

/// Saves the model file (atomically) at the end of every epoch, or only when the monitored
/// metric improved with `save_best_only`. `{epoch}` (or `{epoch:02d}`) in the path becomes
/// the 1-based epoch number, so every epoch can keep its own file.
///
/// A `val_` metric is computed on the validation data: when that is the test set (as the
/// notebooks do, and as nabla does without a validation split), `save_best_only` picks the best model on the test set, and
/// the final test numbers are no longer an unbiased estimate.
///
/// ```
/// use nabla::train::ModelCheckpoint;
/// let best = ModelCheckpoint::new("runs/best.safetensors").save_best_only(true);
/// let each = ModelCheckpoint::new("runs/model-{epoch:02d}.safetensors");
/// ```
pub struct ModelCheckpoint {
    path: String,
    monitor: Monitor,
    save_best_only: bool,
    best: f64,
    saved: Vec<PathBuf>,
}

impl ModelCheckpoint {
    /// Saves every epoch; the monitor (for `save_best_only`) defaults to `val_loss`.
    pub fn new(path: impl AsRef<Path>) -> Self {
        ModelCheckpoint {
            path: path.as_ref().to_string_lossy().into_owned(),
            monitor: Monitor::new("val_loss", Mode::Auto, 0.0),
            save_best_only: false,
            best: f64::INFINITY,
            saved: Vec::new(),
        }
    }

    pub fn monitor(mut self, name: &str) -> Self {
        self.monitor = Monitor::new(name, self.monitor.mode, 0.0);
        self
    }

    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor = self.monitor.with_mode(mode);
        self
    }

    pub fn save_best_only(mut self, best_only: bool) -> Self {
        self.save_best_only = best_only;
        self
    }

    /// Every path written so far, in order.
    pub fn saved(&self) -> &[PathBuf] {
        &self.saved
    }

    /// The path for 0-based `epoch`, placeholders filled in.
    pub fn path_for(&self, epoch: usize) -> PathBuf {
        let n = epoch + 1;
        PathBuf::from(
            self.path
                .replace("{epoch:02d}", &format!("{n:02}"))
                .replace("{epoch}", &n.to_string()),
        )
    }
}

impl<T: Float> Callback<T> for ModelCheckpoint {
    fn on_train_begin(&mut self, _model: &mut Sequential<T>) -> Result<()> {
        self.best = self.monitor.worst();
        self.saved.clear();
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        model: &mut Sequential<T>,
        epoch: usize,
        logs: &EpochLogs,
    ) -> Result<Control> {
        if self.save_best_only {
            let current = self.monitor.read(logs, "ModelCheckpoint")?;
            if !self.monitor.improved(current, self.best) {
                return Ok(Control::Continue);
            }
            self.best = current;
        }
        let path = self.path_for(epoch);
        model.save(&path)?;
        self.saved.push(path);
        Ok(Control::Continue)
    }
}
