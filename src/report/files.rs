//! The files of a run directory and what each holds: one layout and one schema for every
//! run, whether `nabla train`, `nabla run`, a variant or a sweep cell made it. The run
//! pipeline (`crate::run`) writes them; [`super::render`] reads them back, and nothing else,
//! to draw the plots and `report.html`.
//!
//! ```text
//! run.json                 status (running, complete, interrupted, failed), times, version,
//!                          threads, host, command line, settings that differ from defaults
//! experiment.toml          the resolved settings: `nabla run DIR/experiment.toml` reruns it
//! summary.txt              the model summary table
//! history.csv              per epoch: loss, accuracy, val_loss, val_accuracy, seconds, lr
//! metrics.json             test loss, accuracy, top-3 accuracy, confusion matrix,
//!                          classification report (and the reloaded model's numbers)
//! classification_report.txt  scikit-learn's text
//! gradients.json           per-parameter gradient stats on a probe batch after training;
//!                          per-layer stats per epoch (plot "gradients"); with diagnostics,
//!                          training-batch stats, dead ReLUs and warnings
//! predictions.json         the first test images (pixels), labels and predictions
//! samples.json             training images of each class
//! data.json                what the notebooks print and plot before training: array
//!                          shapes, the first training images and pixel values, and the
//!                          untrained model's output sum on the first sample
//! model.safetensors        the trained model, when saved
//! checkpoint.safetensors   the last epoch's (or the interrupted batch's) checkpoint
//! *.png, *.svg, report.html  drawn from the files above by `nabla report DIR`
//! ```

use serde::{Deserialize, Serialize};

use super::metrics::{predicted_classes, top_k_accuracy, ClassificationReport, ConfusionMatrix};
use crate::error::{Error, Result};
use crate::json::float_or_null;

/// Where a run stands, as `run.json` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Complete,
    /// Stopped by Ctrl-C or SIGTERM after a batch, with a checkpoint to resume from.
    Interrupted,
    Failed,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Complete => "complete",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Failed => "failed",
        }
    }
}

/// `run.json`: what the run is, how it went, and where and with what it ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    pub status: RunStatus,
    /// The error text, for a failed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// What made it: `train`, `run`, `variant`, `cell`, `python`.
    pub kind: String,
    /// UTC, `YYYY-mm-ddTHH:MM:SSZ`.
    pub started: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<String>,
    /// Wall-clock seconds from start to end (or to now, while running).
    pub seconds: f64,
    pub nabla_version: String,
    pub threads: usize,
    pub host: String,
    /// The command line, when a command made the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// Every setting that differs from nabla's defaults, as (dotted key, value).
    pub settings: Vec<(String, String)>,
    /// The plots asked for.
    pub plots: Vec<String>,
    pub epochs: usize,
    pub epochs_done: usize,
    pub trainable_params: usize,
    pub non_trainable_params: usize,
    pub data: DataFacts,
    /// Where each stage of a `[[training.stages]]` run begins in the history (empty for a
    /// single fit); the curves mark these boundaries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageMark>,
}

/// Where a stage of a staged run sits in its history: epochs `start .. start + epochs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageMark {
    pub label: String,
    pub start: usize,
    pub epochs: usize,
    /// Whether the stage began with a compile (a new optimizer, maybe a new loss).
    pub compiled: bool,
    /// The loss the stage trained with, by Keras's name.
    pub loss: String,
}

/// The data a run saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DataFacts {
    pub source: String,
    pub sample_shape: Vec<usize>,
    pub class_names: Vec<String>,
    pub train_samples: usize,
    pub validation_samples: usize,
    pub test_samples: usize,
    /// The test set doubles as validation data (as the notebooks do): then early stopping,
    /// best-model checkpoints and learning-rate schedules choose on the test set.
    pub validation_is_test: bool,
}

pub const RUN: &str = "run.json";
pub const SPEC: &str = "experiment.toml";
pub const SUMMARY: &str = "summary.txt";
pub const HISTORY: &str = "history.csv";
pub const METRICS: &str = "metrics.json";
pub const GRADIENTS: &str = "gradients.json";
pub const PREDICTIONS: &str = "predictions.json";
pub const SAMPLES: &str = "samples.json";
pub const DATA: &str = "data.json";
pub const CLASSIFICATION_REPORT: &str = "classification_report.txt";
pub const MODEL: &str = "model.safetensors";
pub const CHECKPOINT: &str = "checkpoint.safetensors";
pub const REPORT: &str = "report.html";

/// The prediction grid's layout (columns, rows): the first 50 test images, 5 across and 10
/// down, as the notebooks' `plt.subplot(10, 5, i + 1)`.
pub const GRID: (usize, usize) = (5, 10);
/// The first training images shown on their own grid, as notebook 002 does (3x3).
pub const FIRST_IMAGES: usize = 9;
/// Training images per class in the sample grid.
pub const SAMPLES_PER_CLASS: usize = 5;
/// `top_k_accuracy` reports top-3, as the labs do for 10 classes.
pub const TOP_K: usize = 3;

/// Test-set results: what `metrics.json` holds and `nabla train --json` prints as `metrics`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    #[serde(with = "float_or_null")]
    pub test_loss: f64,
    pub test_accuracy: f64,
    pub top_3_accuracy: f64,
    pub test_samples: usize,
    pub class_names: Vec<String>,
    /// Rows are true classes, columns predicted classes (scikit-learn's layout).
    pub confusion_matrix: Vec<Vec<u64>>,
    pub classification_report: ClassificationReport,
    /// With `reload`: the saved model loaded back and evaluated again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reloaded: Option<Reloaded>,
}

/// The saved model's numbers after loading it back: they must equal the trained model's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reloaded {
    pub file: String,
    #[serde(with = "float_or_null")]
    pub test_loss: f64,
    pub test_accuracy: f64,
    pub identical: bool,
}

impl RunMetrics {
    /// From the test labels and the model's scores (row-major, one row of
    /// `class_names.len()` per sample), with loss and accuracy as `evaluate` gave them.
    pub fn new<T: Copy + Into<f64>>(
        y_true: &[usize],
        scores: &[T],
        class_names: &[String],
        test_loss: f64,
        test_accuracy: f64,
    ) -> Result<Self> {
        let k = class_names.len();
        let y_pred = predicted_classes(scores, k)?;
        let cm = ConfusionMatrix::new(y_true, &y_pred, k)?;
        Ok(RunMetrics {
            test_loss,
            test_accuracy,
            top_3_accuracy: top_k_accuracy(scores, k, y_true, TOP_K)?,
            test_samples: y_true.len(),
            class_names: class_names.to_vec(),
            confusion_matrix: cm.to_rows(),
            classification_report: ClassificationReport::from_confusion(&cm, class_names)?,
            reloaded: None,
        })
    }

    pub fn confusion(&self) -> Result<ConfusionMatrix> {
        ConfusionMatrix::from_rows(&self.confusion_matrix)
    }

    /// Top-3 accuracy, the classification report and the confusion matrix, as printed after
    /// training and by `nabla evaluate`.
    pub fn text(&self) -> Result<String> {
        Ok(format!(
            "Top-3 accuracy: {:.4}\n\nClassification report:\n{}\nConfusion matrix (rows: true, \
             columns: predicted):\n{}",
            self.top_3_accuracy,
            self.classification_report,
            self.confusion()?.to_text(&self.class_names)?
        ))
    }
}

/// Images kept as stored pixels (row-major height x width x channels, one list per image)
/// with their labels and, for test images, the model's predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageSet {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub class_names: Vec<String>,
    pub labels: Vec<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictions: Option<Vec<usize>>,
    pub pixels: Vec<Vec<u8>>,
}

/// `data.json`: what the notebooks print and plot about the data, and about the model
/// before it trains, so the report can show the same.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataLook {
    /// Each array as it enters training, by the notebooks' names: `x_train`, `y_train`,
    /// `x_val`, `y_val` (with a validation split), `x_test`, `y_test`.
    pub shapes: Vec<(String, Vec<usize>)>,
    /// The first training images with their labels (notebook 002's 3x3 grid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_images: Option<ImageSet>,
    /// The first training sample's values as stored (0-255 for image bytes): what notebook
    /// 002 feeds to ReLU and sigmoid for its scatter plots.
    pub first_values: Vec<f64>,
    /// The sum of the untrained model's output for the first training sample: 1 for a
    /// softmax output (notebook 003's "Output: 1.00"). `None` for a resumed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_output_sum: Option<f64>,
}

impl DataLook {
    /// The lines the notebooks print: `x_train shape: (40000, 32, 32, 3)`, one per array,
    /// in numpy's tuple notation.
    pub fn shape_lines(&self) -> String {
        self.shapes
            .iter()
            .map(|(name, shape)| format!("{name} shape: {}\n", numpy_shape(shape)))
            .collect()
    }
}

/// Notebook 000's two lines after `fit` (`Final training loss: …`, `Final validation loss:
/// …`), with the shortest digits that round-trip, as Python prints a float.
pub fn final_losses(loss: Option<f64>, val_loss: Option<f64>) -> String {
    [
        ("Final training loss", loss),
        ("Final validation loss", val_loss),
    ]
    .iter()
    .filter_map(|(label, v)| v.map(|v| format!("{label}: {v}\n")))
    .collect()
}

/// A shape as numpy prints it: `(60000, 28, 28)`, `(60000,)`.
pub fn numpy_shape(shape: &[usize]) -> String {
    match shape {
        [n] => format!("({n},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

impl ImageSet {
    pub fn flat_pixels(&self) -> Result<Vec<u8>> {
        let per_image = self.height * self.width * self.channels;
        if let Some(i) = self.pixels.iter().position(|p| p.len() != per_image) {
            return Err(Error::invalid(format!(
                "image {i} has {} pixels values, expected {per_image}",
                self.pixels[i].len()
            )));
        }
        Ok(self.pixels.concat())
    }
}

/// (height, width, channels) when samples of `shape` can be drawn as images: `[h, w, 1|3]`,
/// `[h, w]`, or a flat square of at least 8x8 like `[784]` (a few tabular features are not
/// an image).
pub fn image_layout(shape: &[usize]) -> Option<(usize, usize, usize)> {
    match *shape {
        [h, w, c] if c == 1 || c == 3 => Some((h, w, c)),
        [h, w] => Some((h, w, 1)),
        [n] => {
            let side = (n as f64).sqrt().round() as usize;
            (side * side == n && side >= 8).then_some((side, side, 1))
        }
        _ => None,
    }
}

/// Values of one sample as 0..=255 pixels: bytes as they are; real values stretched from
/// their own minimum to maximum (so CSV features are still visible).
pub fn to_pixels(values: impl Iterator<Item = f32> + Clone) -> Vec<u8> {
    let (lo, hi) = values
        .clone()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    values
        .map(|v| (((v - lo) / span) * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_print_as_numpy_does() {
        assert_eq!(numpy_shape(&[60000, 28, 28]), "(60000, 28, 28)");
        assert_eq!(numpy_shape(&[60000]), "(60000,)");
        let look = DataLook {
            shapes: vec![
                ("x_train".into(), vec![2, 784]),
                ("y_train".into(), vec![2]),
            ],
            first_images: None,
            first_values: vec![],
            first_output_sum: None,
        };
        assert_eq!(
            look.shape_lines(),
            "x_train shape: (2, 784)\ny_train shape: (2,)\n"
        );
    }

    #[test]
    fn image_layouts() {
        assert_eq!(image_layout(&[28, 28, 1]), Some((28, 28, 1)));
        assert_eq!(image_layout(&[32, 32, 3]), Some((32, 32, 3)));
        assert_eq!(image_layout(&[784]), Some((28, 28, 1)));
        assert_eq!(image_layout(&[64]), Some((8, 8, 1)));
        assert_eq!(image_layout(&[4]), None);
        assert_eq!(image_layout(&[5]), None);
        assert_eq!(image_layout(&[8, 8, 2]), None);
    }

    #[test]
    fn pixels_are_stretched_to_the_full_range() {
        assert_eq!(to_pixels([-1.0f32, 0.0, 1.0].into_iter()), [0, 128, 255]);
        assert_eq!(to_pixels([3.0f32, 3.0].into_iter()), [0, 0]);
    }

    #[test]
    fn metrics_match_the_confusion_matrix() {
        let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        // Scores: sample 0 → class 0, 1 → class 2 (true 1), 2 → class 2.
        let scores = [0.8f32, 0.1, 0.1, 0.2, 0.3, 0.5, 0.1, 0.2, 0.7];
        let m = RunMetrics::new(&[0, 1, 2], &scores, &names, 0.5, 2.0 / 3.0).unwrap();
        assert_eq!(m.confusion_matrix, [[1, 0, 0], [0, 0, 1], [0, 0, 1]]);
        assert_eq!(m.top_3_accuracy, 1.0);
        assert_eq!(m.confusion().unwrap().total(), 3);
        let json = serde_json::to_string(&m).unwrap();
        let back: RunMetrics = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }
}
