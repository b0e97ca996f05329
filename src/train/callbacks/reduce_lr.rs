//! ReduceLROnPlateau: lower the learning rate when a metric stops improving, as Keras's
//! `keras.callbacks.ReduceLROnPlateau`.

use super::monitor::{Mode, Monitor};
use super::{Callback, Control};
use crate::error::{Error, Result};
use crate::tensor::Float;
use crate::train::{EpochLogs, Sequential};

/// Multiplies the learning rate by `factor` after `patience` epochs without an improvement of
/// more than `min_delta`, never below `min_lr`, then waits `cooldown` epochs before counting
/// again. Keras's defaults: factor 0.1, patience 10, min_delta 1e-4, cooldown 0, min_lr 0.
///
/// A `val_` metric is computed on the validation data: when that is the test set (as the
/// notebooks do, and as nabla does without a validation split), the schedule is tuned on the test set, and
/// the final test numbers are no longer an unbiased estimate.
///
/// ```
/// use nabla::train::ReduceLROnPlateau;
/// let plateau = ReduceLROnPlateau::new("val_loss").factor(0.5).patience(2).min_lr(1e-5);
/// ```
pub struct ReduceLROnPlateau {
    monitor: Monitor,
    factor: f64,
    patience: usize,
    cooldown: usize,
    min_lr: f64,
    wait: usize,
    cooldown_counter: usize,
    best: f64,
}

impl ReduceLROnPlateau {
    pub fn new(monitor: &str) -> Self {
        ReduceLROnPlateau {
            monitor: Monitor::new(monitor, Mode::Auto, 1e-4),
            factor: 0.1,
            patience: 10,
            cooldown: 0,
            min_lr: 0.0,
            wait: 0,
            cooldown_counter: 0,
            best: f64::INFINITY,
        }
    }

    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    pub fn patience(mut self, epochs: usize) -> Self {
        self.patience = epochs;
        self
    }

    pub fn min_delta(mut self, delta: f64) -> Self {
        self.monitor = self.monitor.with_min_delta(delta);
        self
    }

    pub fn mode(mut self, mode: Mode) -> Self {
        self.monitor = self.monitor.with_mode(mode);
        self
    }

    pub fn cooldown(mut self, epochs: usize) -> Self {
        self.cooldown = epochs;
        self
    }

    pub fn min_lr(mut self, min_lr: f64) -> Self {
        self.min_lr = min_lr;
        self
    }
}

impl<T: Float> Callback<T> for ReduceLROnPlateau {
    fn on_train_begin(&mut self, _model: &mut Sequential<T>) -> Result<()> {
        if !(self.factor > 0.0 && self.factor < 1.0) {
            return Err(Error::invalid(format!(
                "ReduceLROnPlateau: factor {} must be in (0, 1)",
                self.factor
            )));
        }
        if self.min_lr.is_nan() || self.min_lr < 0.0 {
            return Err(Error::invalid(format!(
                "ReduceLROnPlateau: min_lr {} must be ≥ 0",
                self.min_lr
            )));
        }
        self.wait = 0;
        self.cooldown_counter = 0;
        self.best = self.monitor.worst();
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        model: &mut Sequential<T>,
        _epoch: usize,
        logs: &EpochLogs,
    ) -> Result<Control> {
        let current = self.monitor.read(logs, "ReduceLROnPlateau")?;
        let in_cooldown = self.cooldown_counter > 0;
        if in_cooldown {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if self.monitor.improved(current, self.best) {
            self.best = current;
            self.wait = 0;
        } else if !in_cooldown {
            self.wait += 1;
            if self.wait >= self.patience {
                if let Some(optimizer) = model.optimizer_mut() {
                    let old = optimizer.learning_rate();
                    if old > self.min_lr {
                        optimizer.set_learning_rate((old * self.factor).max(self.min_lr));
                        self.cooldown_counter = self.cooldown;
                        self.wait = 0;
                    }
                }
            }
        }
        Ok(Control::Continue)
    }
}
