//! EarlyStopping: stop when a monitored metric has stopped improving, as Keras's
//! `keras.callbacks.EarlyStopping`.

use super::monitor::{Mode, Monitor};
use super::{Callback, Control};
use crate::autograd::ParamStore;
use crate::error::Result;
use crate::tensor::Float;
use crate::train::{EpochLogs, Sequential};

/// Stops training after `patience` epochs without an improvement of more than `min_delta`.
/// With `restore_best_weights`, the weights of the best epoch are put back when it stops
/// (as in Keras, only when it stops early; the first epoch's weights if none improved).
///
/// A `val_` metric is computed on the validation data: when that is the test set (as the
/// notebooks do, and as nabla does without a validation split), the stopping epoch and the restored weights are chosen on the test set, and
/// the final test numbers are no longer an unbiased estimate.
///
/// ```
/// use nabla::train::EarlyStopping;
/// let stop = EarlyStopping::<f32>::new("val_loss").patience(3).restore_best_weights(true);
/// ```
pub struct EarlyStopping<T: Float> {
    monitor: Monitor,
    patience: usize,
    restore_best_weights: bool,
    wait: usize,
    best: f64,
    best_epoch: Option<usize>,
    stopped_epoch: Option<usize>,
    best_weights: Option<ParamStore<T>>,
}

impl<T: Float> EarlyStopping<T> {
    /// Watches `monitor` (e.g. `val_loss`) with Keras's defaults: patience 0, min_delta 0,
    /// mode auto, no restoring.
    pub fn new(monitor: &str) -> Self {
        EarlyStopping {
            monitor: Monitor::new(monitor, Mode::Auto, 0.0),
            patience: 0,
            restore_best_weights: false,
            wait: 0,
            best: f64::INFINITY,
            best_epoch: None,
            stopped_epoch: None,
            best_weights: None,
        }
    }

    /// Epochs without improvement to wait before stopping.
    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    /// The smallest change that counts as an improvement (its sign is ignored).
    pub fn min_delta(mut self, delta: f64) -> Self {
        self.monitor = self.monitor.with_min_delta(delta);
        self
    }

    /// Whether the metric should fall or rise (auto: rise for accuracies).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor = self.monitor.with_mode(mode);
        self
    }

    pub fn restore_best_weights(mut self, restore: bool) -> Self {
        self.restore_best_weights = restore;
        self
    }

    /// The 0-based epoch training stopped after, if it stopped early.
    pub fn stopped_epoch(&self) -> Option<usize> {
        self.stopped_epoch
    }

    /// The 0-based epoch with the best monitored value so far.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }

    pub fn best(&self) -> f64 {
        self.best
    }
}

impl<T: Float> Callback<T> for EarlyStopping<T> {
    fn on_train_begin(&mut self, _model: &mut Sequential<T>) -> Result<()> {
        self.wait = 0;
        self.best = self.monitor.worst();
        self.best_epoch = None;
        self.stopped_epoch = None;
        self.best_weights = None;
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        model: &mut Sequential<T>,
        epoch: usize,
        logs: &EpochLogs,
    ) -> Result<Control> {
        let current = self.monitor.read(logs, "EarlyStopping")?;
        if self.restore_best_weights && self.best_weights.is_none() {
            // Keras: if no epoch ever improves, the first epoch's weights are restored.
            self.best_weights = Some(model.params().clone());
        }
        self.wait += 1;
        if self.monitor.improved(current, self.best) {
            self.best = current;
            self.best_epoch = Some(epoch);
            self.wait = 0;
            if self.restore_best_weights {
                self.best_weights = Some(model.params().clone());
            }
            return Ok(Control::Continue);
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            if let Some(best) = self.best_weights.take() {
                *model.params_mut() = best;
            }
            return Ok(Control::Stop);
        }
        Ok(Control::Continue)
    }
}
