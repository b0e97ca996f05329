//! Hooks into `fit`: called after each batch and each epoch, able to stop training.
//!
//! Keras's callbacks, one per file: [`EarlyStopping`], [`ModelCheckpoint`],
//! [`ReduceLROnPlateau`], [`CsvLogger`]. The NaN guard is not a callback: `fit` always stops
//! on a non-finite loss with [`crate::Error::NonFinite`], naming the epoch and batch.

mod csv_logger;
mod early_stopping;
mod model_checkpoint;
mod monitor;
mod reduce_lr;

pub use csv_logger::CsvLogger;
pub use early_stopping::EarlyStopping;
pub use model_checkpoint::ModelCheckpoint;
pub use monitor::Mode;
pub use reduce_lr::ReduceLROnPlateau;

use super::EpochLogs;
use super::EpochPosition;
use super::Sequential;
use crate::error::Result;
use crate::tensor::Float;

/// Whether training goes on after a callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// What `on_batch_end` is told after a step: the batch's own loss and the epoch's running
/// means so far (Keras's `on_train_batch_end` logs; what the live progress bar shows).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BatchLogs {
    /// This batch's mean loss.
    pub batch_loss: f64,
    /// The epoch's running mean loss, each batch weighted by its size.
    pub loss: f64,
    /// The epoch's running accuracy.
    pub accuracy: f64,
    /// Samples seen so far this epoch.
    pub seen: usize,
}

/// Something that watches training, as a Keras callback does.
pub trait Callback<T: Float> {
    fn on_train_begin(&mut self, _model: &mut Sequential<T>) -> Result<()> {
        Ok(())
    }

    /// After optimizer step `batch` (0-based) of `epoch` (0-based), with that batch's loss
    /// and the epoch's running loss and accuracy.
    fn on_batch_end(
        &mut self,
        _model: &mut Sequential<T>,
        _epoch: usize,
        _batch: usize,
        _logs: &BatchLogs,
    ) -> Result<Control> {
        Ok(Control::Continue)
    }

    /// After epoch `epoch` (0-based) with its logs.
    fn on_epoch_end(
        &mut self,
        _model: &mut Sequential<T>,
        _epoch: usize,
        _logs: &EpochLogs,
    ) -> Result<Control> {
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, _model: &mut Sequential<T>) -> Result<()> {
        Ok(())
    }

    /// `fit` was interrupted after a batch (`on_train_end` is not called then): the model
    /// is as that batch left it, and `position` says how to finish the epoch later.
    fn on_interrupt(
        &mut self,
        _model: &mut Sequential<T>,
        _position: &EpochPosition,
    ) -> Result<()> {
        Ok(())
    }
}
