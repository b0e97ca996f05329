//! CSVLogger: the epoch results as a CSV file, rewritten after every epoch, as Keras's
//! `keras.callbacks.CSVLogger`.

use super::{Callback, Control};
use crate::error::Result;
use crate::files::write_atomic;
use crate::tensor::Float;
use crate::train::{EpochLogs, Sequential};
use std::path::{Path, PathBuf};

/// Writes `epoch,loss,accuracy[,val_loss,val_accuracy],epoch_seconds,learning_rate`, one row
/// per epoch (the epoch 0-based, as Keras writes it). The whole file is rewritten atomically
/// each epoch, so a crash leaves the rows of every finished epoch and never a half row.
pub struct CsvLogger {
    path: PathBuf,
    rows: Vec<(usize, EpochLogs)>,
}

impl CsvLogger {
    pub fn new(path: impl AsRef<Path>) -> Self {
        CsvLogger {
            path: path.as_ref().to_path_buf(),
            rows: Vec::new(),
        }
    }

    /// The file's text for the rows so far.
    pub fn to_csv(&self) -> String {
        let has_val = self.rows.iter().any(|(_, l)| l.val_loss.is_some());
        let mut out = String::from("epoch,loss,accuracy");
        if has_val {
            out.push_str(",val_loss,val_accuracy");
        }
        out.push_str(",epoch_seconds,learning_rate\n");
        let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
        for (epoch, logs) in &self.rows {
            out.push_str(&format!("{epoch},{},{}", logs.loss, logs.accuracy));
            if has_val {
                out.push_str(&format!(
                    ",{},{}",
                    opt(logs.val_loss),
                    opt(logs.val_accuracy)
                ));
            }
            out.push_str(&format!(",{},{}\n", logs.seconds, logs.learning_rate));
        }
        out
    }
}

impl<T: Float> Callback<T> for CsvLogger {
    fn on_train_begin(&mut self, _model: &mut Sequential<T>) -> Result<()> {
        self.rows.clear();
        Ok(())
    }

    fn on_epoch_end(
        &mut self,
        _model: &mut Sequential<T>,
        epoch: usize,
        logs: &EpochLogs,
    ) -> Result<Control> {
        self.rows.push((epoch, *logs));
        write_atomic(&self.path, self.to_csv().as_bytes())?;
        Ok(Control::Continue)
    }
}
