//! What a run produced, as data: written to its directory by [`super::RunDir`], compared
//! across variants and sweep cells, and printed by `--json`.

use serde::{Deserialize, Serialize};

use super::probe::GradientLog;
use super::spec::RunSpec;
use crate::report::files::DataLook;
use crate::report::{ImageSet, RunInfo, RunMetrics};
use crate::train::diagnostics::{BatchGradients, GradientRecord};
use crate::train::History;

/// `gradients.json`: what the probes and diagnostics recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GradientsFile {
    /// Per parameter tensor, on the probe batch after training.
    pub batch: Option<BatchGradients>,
    /// Per layer kernel, on the probe batch before training and after each epoch
    /// (`plots = ["gradients"]`).
    pub probe: Option<GradientLog>,
    /// Training-batch statistics, dead ReLUs and warnings per epoch (diagnostics).
    pub training: Option<GradientRecord>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// `run.json`: status, times, machine, settings that differ from the defaults.
    pub info: RunInfo,
    pub spec: RunSpec,
    pub summary: String,
    /// Every finished epoch (a resumed run's earlier ones included).
    pub history: History,
    /// Test-set results; `None` for a run interrupted before its evaluation.
    pub metrics: Option<RunMetrics>,
    pub gradients: GradientsFile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictions: Option<ImageSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<ImageSet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DataLook>,
}

impl RunRecord {
    /// A final number by name: the last epoch's `loss`, `accuracy`, `val_loss`,
    /// `val_accuracy`, or the test set's `test_loss`, `test_accuracy`.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let h = &self.history;
        match name {
            "loss" => h.loss.last().copied(),
            "accuracy" => h.accuracy.last().copied(),
            "val_loss" => h.val_loss.last().copied(),
            "val_accuracy" => h.val_accuracy.last().copied(),
            "test_loss" => self.metrics.as_ref().map(|m| m.test_loss),
            "test_accuracy" => self.metrics.as_ref().map(|m| m.test_accuracy),
            _ => None,
        }
    }

    pub fn test_accuracy(&self) -> f64 {
        self.metric("test_accuracy").unwrap_or(f64::NAN)
    }

    pub fn test_loss(&self) -> f64 {
        self.metric("test_loss").unwrap_or(f64::NAN)
    }

    pub fn params(&self) -> usize {
        self.info.trainable_params + self.info.non_trainable_params
    }

    /// The record without its images: what a sweep keeps of each cell.
    pub fn without_images(mut self) -> Self {
        self.predictions = None;
        self.samples = None;
        self.data = None;
        self
    }
}
