//! The metric a callback watches and which direction counts as better.

use crate::error::{Error, Result};
use crate::train::EpochLogs;
use serde::{Deserialize, Serialize};

/// Whether a monitored metric should go down or up, as Keras's `mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// `max` for accuracies (names containing "acc"), `min` for everything else.
    #[default]
    Auto,
    Min,
    Max,
}

impl Mode {
    pub fn parse(text: &str) -> Result<Self> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(Mode::Auto),
            "min" => Ok(Mode::Min),
            "max" => Ok(Mode::Max),
            other => Err(Error::invalid(format!(
                "unknown mode '{other}' (expected auto, min or max)"
            ))),
        }
    }
}

/// A metric by name, its direction and the smallest change that counts as an improvement.
#[derive(Clone, Debug)]
pub(crate) struct Monitor {
    pub name: String,
    /// As given (kept so a later `min_delta` setter does not lose it).
    pub mode: Mode,
    pub maximize: bool,
    pub min_delta: f64,
}

impl Monitor {
    pub fn new(name: &str, mode: Mode, min_delta: f64) -> Self {
        let maximize = match mode {
            Mode::Min => false,
            Mode::Max => true,
            Mode::Auto => name.contains("acc"),
        };
        Monitor {
            name: name.to_string(),
            mode,
            maximize,
            min_delta: min_delta.abs(),
        }
    }

    pub fn with_mode(&self, mode: Mode) -> Self {
        Monitor::new(&self.name, mode, self.min_delta)
    }

    pub fn with_min_delta(&self, min_delta: f64) -> Self {
        Monitor::new(&self.name, self.mode, min_delta)
    }

    /// The starting "best": anything beats it.
    pub fn worst(&self) -> f64 {
        if self.maximize {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }
    }

    /// Better than `best` by more than `min_delta` (Keras: `monitor_op(current - min_delta, best)`).
    pub fn improved(&self, current: f64, best: f64) -> bool {
        if self.maximize {
            current - self.min_delta > best
        } else {
            current + self.min_delta < best
        }
    }

    /// The metric's value this epoch. A metric that is not there (e.g. `val_loss` without
    /// validation data) is an error rather than Keras's warning: the callback would never act.
    pub fn read(&self, logs: &EpochLogs, who: &str) -> Result<f64> {
        logs.get(&self.name).ok_or_else(|| {
            let mut available = vec!["loss", "accuracy"];
            if logs.val_loss.is_some() {
                available.extend(["val_loss", "val_accuracy"]);
            }
            Error::invalid(format!(
                "{who} monitors '{}', which this training does not report (available: {})",
                self.name,
                available.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_mode_maximizes_accuracies_and_min_delta_is_a_margin() {
        let loss = Monitor::new("val_loss", Mode::Auto, 0.1);
        assert!(!loss.maximize);
        assert!(loss.improved(0.85, 1.0));
        assert!(!loss.improved(0.95, 1.0));
        let acc = Monitor::new("val_accuracy", Mode::Auto, -0.1);
        assert!(acc.maximize);
        assert!(acc.improved(0.75, 0.6));
        assert!(!acc.improved(0.65, 0.6));
        assert!(Monitor::new("loss", Mode::Max, 0.0).maximize);
    }
}
