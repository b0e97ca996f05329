//! `[training.callbacks]`: Keras's callbacks by their snake_case names, with Keras's defaults.
//!
//! ```toml
//! [training.callbacks]
//! early_stopping = { monitor = "val_loss", patience = 3, restore_best_weights = true }
//! reduce_lr_on_plateau = { monitor = "val_loss", factor = 0.5, patience = 2 }
//! model_checkpoint = { monitor = "val_accuracy", save_best_only = true }
//! ```

use crate::error::{Error, Result};
use crate::train::{Callback, EarlyStopping, Mode, ModelCheckpoint, ReduceLROnPlateau};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbacksSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStoppingSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduce_lr_on_plateau: Option<ReduceLrSpec>,
    /// Saves `checkpoints/epoch-NN.safetensors` (or `checkpoints/best.safetensors` with
    /// `save_best_only`) in the run directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_checkpoint: Option<CheckpointSpec>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStoppingSpec {
    #[serde(default = "val_loss")]
    pub monitor: String,
    #[serde(default)]
    pub patience: usize,
    #[serde(default)]
    pub min_delta: f64,
    #[serde(default = "auto")]
    pub mode: String,
    #[serde(default)]
    pub restore_best_weights: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReduceLrSpec {
    #[serde(default = "val_loss")]
    pub monitor: String,
    #[serde(default = "tenth")]
    pub factor: f64,
    #[serde(default = "ten")]
    pub patience: usize,
    #[serde(default = "ten_thousandth")]
    pub min_delta: f64,
    #[serde(default)]
    pub cooldown: usize,
    #[serde(default)]
    pub min_lr: f64,
    #[serde(default = "auto")]
    pub mode: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointSpec {
    #[serde(default = "val_loss")]
    pub monitor: String,
    #[serde(default)]
    pub save_best_only: bool,
    #[serde(default = "auto")]
    pub mode: String,
}

fn val_loss() -> String {
    "val_loss".into()
}
fn auto() -> String {
    "auto".into()
}
fn tenth() -> f64 {
    0.1
}
fn ten() -> usize {
    10
}
fn ten_thousandth() -> f64 {
    1e-4
}

/// The metrics a callback can watch.
const MONITORS: &[&str] = &["loss", "accuracy", "val_loss", "val_accuracy"];

fn check_monitor(key: &str, monitor: &str) -> std::result::Result<(), (String, String)> {
    if MONITORS.contains(&monitor) {
        Ok(())
    } else {
        Err((
            format!("{key}.monitor"),
            format!(
                "unknown metric '{monitor}' (expected one of {})",
                MONITORS.join(", ")
            ),
        ))
    }
}

fn mode(key: &str, text: &str) -> std::result::Result<Mode, (String, String)> {
    Mode::parse(text).map_err(|e| (format!("{key}.mode"), e.to_string()))
}

impl CallbacksSpec {
    /// Checks names and ranges, as (dotted key, message).
    pub fn check(&self) -> std::result::Result<(), (String, String)> {
        let base = "training.callbacks";
        if let Some(e) = &self.early_stopping {
            let key = format!("{base}.early_stopping");
            check_monitor(&key, &e.monitor)?;
            mode(&key, &e.mode)?;
        }
        if let Some(r) = &self.reduce_lr_on_plateau {
            let key = format!("{base}.reduce_lr_on_plateau");
            check_monitor(&key, &r.monitor)?;
            mode(&key, &r.mode)?;
            if !(r.factor > 0.0 && r.factor < 1.0) {
                return Err((
                    format!("{key}.factor"),
                    format!("{} must be in (0, 1)", r.factor),
                ));
            }
        }
        if let Some(c) = &self.model_checkpoint {
            let key = format!("{base}.model_checkpoint");
            check_monitor(&key, &c.monitor)?;
            mode(&key, &c.mode)?;
        }
        Ok(())
    }

    /// The callbacks, built; checkpoints go under `run_dir/checkpoints`.
    pub fn build(&self, run_dir: Option<&Path>) -> Result<Vec<Box<dyn Callback<f32>>>> {
        let fail = |(key, message): (String, String)| Error::invalid(format!("{key}: {message}"));
        let mut out: Vec<Box<dyn Callback<f32>>> = Vec::new();
        if let Some(e) = &self.early_stopping {
            let m = mode("early_stopping", &e.mode).map_err(fail)?;
            out.push(Box::new(
                EarlyStopping::<f32>::new(&e.monitor)
                    .patience(e.patience)
                    .min_delta(e.min_delta)
                    .mode(m)
                    .restore_best_weights(e.restore_best_weights),
            ));
        }
        if let Some(r) = &self.reduce_lr_on_plateau {
            let m = mode("reduce_lr_on_plateau", &r.mode).map_err(fail)?;
            out.push(Box::new(
                ReduceLROnPlateau::new(&r.monitor)
                    .factor(r.factor)
                    .patience(r.patience)
                    .min_delta(r.min_delta)
                    .cooldown(r.cooldown)
                    .min_lr(r.min_lr)
                    .mode(m),
            ));
        }
        if let (Some(c), Some(dir)) = (&self.model_checkpoint, run_dir) {
            let m = mode("model_checkpoint", &c.mode).map_err(fail)?;
            let dir = dir.join("checkpoints");
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            let file = if c.save_best_only {
                "best.safetensors"
            } else {
                "epoch-{epoch:02d}.safetensors"
            };
            out.push(Box::new(
                ModelCheckpoint::new(dir.join(file))
                    .monitor(&c.monitor)
                    .mode(m)
                    .save_best_only(c.save_best_only),
            ));
        }
        Ok(out)
    }
}
