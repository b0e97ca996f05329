//! What `fit` returns: per-epoch metrics, as Keras's `History.history`.

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
}
