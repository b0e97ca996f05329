//! What `fit` returns: per-epoch metrics, as Keras's `History.history`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub loss: Vec<f64>,
    pub accuracy: Vec<f64>,
    pub val_loss: Vec<f64>,
    pub val_accuracy: Vec<f64>,
    pub epoch_seconds: Vec<f64>,
    pub learning_rate: Vec<f64>,
}

/// One epoch's numbers, as the progress line and callbacks see them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpochLogs {
    pub loss: f64,
    pub accuracy: f64,
    pub val_loss: Option<f64>,
    pub val_accuracy: Option<f64>,
    pub seconds: f64,
    pub learning_rate: f64,
}

impl EpochLogs {
    /// A metric by Keras's name (`loss`, `val_accuracy`, …), for callbacks that monitor one.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "loss" => Some(self.loss),
            "accuracy" => Some(self.accuracy),
            "val_loss" => self.val_loss,
            "val_accuracy" => self.val_accuracy,
            _ => None,
        }
    }
}

impl History {
    pub fn push(&mut self, logs: &EpochLogs) {
        self.loss.push(logs.loss);
        self.accuracy.push(logs.accuracy);
        if let Some(v) = logs.val_loss {
            self.val_loss.push(v);
        }
        if let Some(v) = logs.val_accuracy {
            self.val_accuracy.push(v);
        }
        self.epoch_seconds.push(logs.seconds);
        self.learning_rate.push(logs.learning_rate);
    }

    /// Appends a later part of the same run (e.g. the epochs after a resume).
    pub fn extend(&mut self, later: &History) {
        self.loss.extend_from_slice(&later.loss);
        self.accuracy.extend_from_slice(&later.accuracy);
        self.val_loss.extend_from_slice(&later.val_loss);
        self.val_accuracy.extend_from_slice(&later.val_accuracy);
        self.epoch_seconds.extend_from_slice(&later.epoch_seconds);
        self.learning_rate.extend_from_slice(&later.learning_rate);
    }

    pub fn epochs(&self) -> usize {
        self.loss.len()
    }

    /// `history.csv`: one row per epoch, Keras CSVLogger's columns.
    pub fn to_csv(&self) -> String {
        let has_val = !self.val_loss.is_empty();
        let mut out = String::from("epoch,loss,accuracy");
        if has_val {
            out.push_str(",val_loss,val_accuracy");
        }
        out.push_str(",epoch_seconds,learning_rate\n");
        for e in 0..self.epochs() {
            out.push_str(&format!("{},{},{}", e, self.loss[e], self.accuracy[e]));
            if has_val {
                let get = |v: &Vec<f64>| v.get(e).map(|x| x.to_string()).unwrap_or_default();
                out.push_str(&format!(
                    ",{},{}",
                    get(&self.val_loss),
                    get(&self.val_accuracy)
                ));
            }
            out.push_str(&format!(
                ",{},{}\n",
                self.epoch_seconds[e], self.learning_rate[e]
            ));
        }
        out
    }

    /// Reads back what [`History::to_csv`] wrote (columns found by name, so a CSV from Keras's
    /// `CSVLogger` with the same names reads too). `name` is used in error messages.
    pub fn from_csv(text: &str, name: &str) -> Result<Self> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<&str> = lines
            .next()
            .ok_or_else(|| Error::invalid(format!("{name}: empty history")))?
            .split(',')
            .map(str::trim)
            .collect();
        let column = |key: &str| header.iter().position(|h| *h == key);
        let loss_col =
            column("loss").ok_or_else(|| Error::invalid(format!("{name}: no 'loss' column")))?;
        let mut history = History::default();
        for (row, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            let cell = |col: Option<usize>| -> Result<Option<f64>> {
                match col.and_then(|c| cells.get(c)).filter(|c| !c.is_empty()) {
                    None => Ok(None),
                    Some(text) => text.parse::<f64>().map(Some).map_err(|_| {
                        Error::invalid(format!(
                            "{name}: line {}: '{text}' is not a number",
                            row + 2
                        ))
                    }),
                }
            };
            let loss = cell(Some(loss_col))?.ok_or_else(|| {
                Error::invalid(format!("{name}: line {}: no loss value", row + 2))
            })?;
            history.loss.push(loss);
            let optional = [
                (&mut history.accuracy, "accuracy"),
                (&mut history.val_loss, "val_loss"),
                (&mut history.val_accuracy, "val_accuracy"),
                (&mut history.epoch_seconds, "epoch_seconds"),
                (&mut history.learning_rate, "learning_rate"),
            ];
            for (values, key) in optional {
                if let Some(v) = cell(column(key))? {
                    values.push(v);
                }
            }
        }
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips() {
        let mut history = History::default();
        for e in 0..3 {
            history.push(&EpochLogs {
                loss: 1.0 / (e + 1) as f64,
                accuracy: 0.5 + 0.1 * e as f64,
                val_loss: Some(0.9 / (e + 1) as f64),
                val_accuracy: Some(0.45 + 0.1 * e as f64),
                seconds: 0.25,
                learning_rate: 1e-3,
            });
        }
        let back = History::from_csv(&history.to_csv(), "history.csv").unwrap();
        assert_eq!(back, history);
        let err = History::from_csv("epoch,loss\n0,abc\n", "h.csv").unwrap_err();
        assert!(err.to_string().contains("h.csv: line 2"), "{err}");
    }
}
