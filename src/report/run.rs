//! A run directory: everything a training run leaves behind, and the plots and `report.html`
//! rebuilt from those files alone (no data files, no model), so a run can be archived, shared
//! and re-rendered later.
//!
//! ```text
//! config.json        resolved settings (every flag, defaults filled in; layers, optimizer, loss)
//! summary.txt        the model summary table
//! history.csv        per-epoch loss / accuracy (Keras CSVLogger's columns)
//! metrics.json       test loss, accuracy, top-3 accuracy, confusion matrix, classification report
//! gradients.json     per-parameter gradient stats for one batch; per-epoch stats when recorded
//! predictions.json   the first test images (pixels), their labels and predictions
//! samples.json       a few training images of each class
//! *.png, *.svg       the plots, made by [`render`]
//! report.html        one self-contained page with all of it, made by [`render`]
//! ```
//!
//! Every file is written atomically, so a crash never leaves a half-written one.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::atomic::write_atomic;
use super::html::HtmlReport;
use super::metrics::{predicted_classes, top_k_accuracy, ClassificationReport, ConfusionMatrix};
use super::plots::{self, Images, TrainingCurves};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::train::diagnostics::{float_or_null, BatchGradients, GradientRecord};
use crate::train::{History, Sequential};

pub const CONFIG: &str = "config.json";
pub const SUMMARY: &str = "summary.txt";
pub const HISTORY: &str = "history.csv";
pub const METRICS: &str = "metrics.json";
pub const GRADIENTS: &str = "gradients.json";
pub const PREDICTIONS: &str = "predictions.json";
pub const SAMPLES: &str = "samples.json";
pub const REPORT: &str = "report.html";

/// The prediction grid's layout: the lab's first 50 test images, 10 across, 5 down.
pub const GRID: (usize, usize) = (10, 5);
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
        })
    }

    pub fn confusion(&self) -> Result<ConfusionMatrix> {
        ConfusionMatrix::from_rows(&self.confusion_matrix)
    }

    /// Evaluates `model` on `test`: loss and accuracy as `evaluate` gives them, and the
    /// scores behind the matrix and the report.
    pub fn of_model(model: &mut Sequential<f32>, test: &Dataset) -> Result<Self> {
        let evaluation = model.evaluate(test)?;
        let scores = model.predict(test)?;
        let y_true: Vec<usize> = test.labels.iter().map(|&l| l as usize).collect();
        RunMetrics::new(
            &y_true,
            scores.data(),
            &test.class_names,
            evaluation.loss,
            evaluation.accuracy,
        )
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

impl ImageSet {
    fn flat_pixels(&self) -> Result<Vec<u8>> {
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

/// What `gradients.json` holds: the one-batch statistics (always) and the per-epoch record
/// (with `--diagnostics`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GradientsFile {
    pub batch: Option<BatchGradients>,
    pub training: Option<GradientRecord>,
}

/// A directory being filled with a run's files.
#[derive(Clone, Debug)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Uses `path`, creating it (and its parents) if needed; files already there are replaced.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        Ok(RunDir { path })
    }

    /// `parent/name`, or `parent/name-2`, `-3`, … if taken: two runs started in the same
    /// second never share a directory.
    pub fn create_new(parent: &Path, name: &str) -> Result<Self> {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        for i in 1.. {
            let path = match i {
                1 => parent.join(name),
                n => parent.join(format!("{name}-{n}")),
            };
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(RunDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        unreachable!("some suffix is free")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write_text(&self, name: &str, text: &str) -> Result<()> {
        write_atomic(self.path.join(name), text.as_bytes())
    }

    /// Indented JSON, for the files people read; lists of plain values stay on one line, so
    /// a confusion matrix reads as a table.
    pub fn write_json<S: Serialize>(&self, name: &str, value: &S) -> Result<()> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| Error::invalid(format!("{name}: {e}")))?;
        self.write_text(name, &inline_scalar_lists(&text))
    }

    /// One-line JSON, for the image files (pixel lists would take a line per number).
    pub fn write_json_compact<S: Serialize>(&self, name: &str, value: &S) -> Result<()> {
        let text =
            serde_json::to_string(value).map_err(|e| Error::invalid(format!("{name}: {e}")))?;
        self.write_text(name, &(text + "\n"))
    }
}

/// Joins each list of plain values (numbers, strings, booleans, null) in serde_json's pretty
/// output onto one line; lists holding objects or lists are left as they are.
fn inline_scalar_lists(pretty: &str) -> String {
    let mut out = String::with_capacity(pretty.len());
    // The line opening the list being gathered, and its item lines so far.
    let mut open: Option<(&str, Vec<&str>)> = None;
    for line in pretty.lines() {
        let item = line.trim();
        if let Some((head, items)) = open.take() {
            if item == "]" || item == "]," {
                let items: Vec<&str> = items
                    .iter()
                    .map(|i| i.trim().trim_end_matches(','))
                    .collect();
                out += &format!("{head}{}{item}\n", items.join(", "));
                continue;
            }
            if item.ends_with('[') || item.ends_with('{') {
                // Not a list of plain values after all: write it out as it was.
                for l in std::iter::once(head).chain(items) {
                    out += l;
                    out.push('\n');
                }
            } else {
                let mut items = items;
                items.push(line);
                open = Some((head, items));
                continue;
            }
        }
        if line.ends_with('[') {
            open = Some((line, Vec::new()));
        } else {
            out += line;
            out.push('\n');
        }
    }
    out
}

/// The files [`render`] wrote.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    pub plots: Vec<PathBuf>,
    pub report: PathBuf,
}

/// Makes every plot whose data the run directory holds, and `report.html` showing them with
/// the settings, model summary, history, metrics and classification report. `config.json`,
/// `summary.txt`, `history.csv` and `metrics.json` are required; the image and gradient files
/// are optional (their plots are left out when absent).
pub fn render(dir: &Path) -> Result<Rendered> {
    if !dir.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such run directory"),
        ));
    }
    let config: serde_json::Value = read_json(dir, CONFIG)?;
    let summary = read_text(dir, SUMMARY)?;
    let history = History::from_csv(&read_text(dir, HISTORY)?, HISTORY)?;
    let metrics: RunMetrics = read_json(dir, METRICS)?;
    let gradients: Option<GradientsFile> = read_optional_json(dir, GRADIENTS)?;
    let predictions: Option<ImageSet> = read_optional_json(dir, PREDICTIONS)?;
    let samples: Option<ImageSet> = read_optional_json(dir, SAMPLES)?;

    let mut rendered = Rendered::default();
    let mut keep = |files: plots::PlotFiles| {
        let png = files.png.clone();
        rendered.plots.push(files.png);
        rendered.plots.push(files.svg);
        png
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| dir.display().to_string());
    let mut report = HtmlReport::new(format!("nabla run: {name}"));

    report.section("Settings");
    report.metrics(&settings_overview(&config, &metrics, &history));
    if let Some(flags) = config.get("flags").and_then(|f| f.as_object()) {
        let rows: Vec<Vec<String>> = flags
            .iter()
            .map(|(k, v)| vec![format!("--{k}"), flag_text(v)])
            .collect();
        report.table(&["flag", "value"], &rows);
    }
    report.section("Model").preformatted(summary);

    report.section("Training");
    let curves = keep(plots::training_curves(
        dir,
        "curves",
        &TrainingCurves {
            loss: &history.loss,
            val_loss: &history.val_loss,
            accuracy: &history.accuracy,
            val_accuracy: &history.val_accuracy,
        },
    )?);
    report.image_file("Loss and accuracy per epoch", &curves)?;
    report.table(&history_headers(&history), &history_rows(&history));

    report.section("Test metrics");
    report.metrics(&[
        ("test loss", format!("{:.4}", metrics.test_loss)),
        ("test accuracy", format!("{:.4}", metrics.test_accuracy)),
        ("top-3 accuracy", format!("{:.4}", metrics.top_3_accuracy)),
        ("test samples", metrics.test_samples.to_string()),
    ]);
    report.paragraph("Classification report (scikit-learn's layout):");
    report.preformatted(metrics.classification_report.to_text(2));
    let cm = metrics.confusion()?;
    report.paragraph("Confusion matrix (rows: true class, columns: predicted class):");
    report.preformatted(cm.to_text(&metrics.class_names)?);
    let heatmap = keep(plots::confusion_heatmap(
        dir,
        "confusion_matrix",
        &cm,
        &metrics.class_names,
    )?);
    report.image_file("Confusion matrix", &heatmap)?;

    if let Some(p) = &predictions {
        let pixels = p.flat_pixels()?;
        let images = Images::new(&pixels, p.height, p.width, p.channels)?;
        let predicted = p.predictions.clone().unwrap_or_default();
        let grid = keep(plots::prediction_grid(
            dir,
            "predictions",
            &images,
            &p.labels,
            &predicted,
            &p.class_names,
            GRID,
        )?);
        let wrong = p.labels.iter().zip(&predicted).filter(|(t, p)| t != p);
        report.section("Predictions");
        report.paragraph(format!(
            "The first {} test images with ground truth (GT) and prediction (P); the {} wrong \
             ones are in red.",
            p.labels.len(),
            wrong.count()
        ));
        report.image_file("First test images: ground truth and prediction", &grid)?;
    }
    if let Some(s) = &samples {
        let pixels = s.flat_pixels()?;
        let images = Images::new(&pixels, s.height, s.width, s.channels)?;
        let grid = keep(plots::sample_grid(
            dir,
            "samples",
            &images,
            &s.labels,
            &s.class_names,
            SAMPLES_PER_CLASS,
        )?);
        report.section("Data");
        report.image_file(
            format!("{SAMPLES_PER_CLASS} training images of each class"),
            &grid,
        )?;
    }

    if let Some(g) = &gradients {
        report.section("Gradients");
        if let Some(batch) = &g.batch {
            let names: Vec<&str> = batch.params.iter().map(|p| p.name.as_str()).collect();
            let means: Vec<f64> = batch.params.iter().map(|p| p.stats.mean).collect();
            let stds: Vec<f64> = batch.params.iter().map(|p| p.stats.std).collect();
            if !names.is_empty() {
                let bars = keep(plots::gradient_bars(
                    dir,
                    "gradients_batch",
                    &names,
                    &means,
                    &stds,
                )?);
                report.paragraph(format!(
                    "Gradient of the loss for one training batch of {} samples (loss {:.4}), \
                     per parameter tensor, as tf.GradientTape gives it.",
                    batch.batch_size, batch.loss
                ));
                report.image_file("Per-layer gradient mean and standard deviation", &bars)?;
                let rows: Vec<Vec<String>> = batch
                    .params
                    .iter()
                    .map(|p| {
                        vec![
                            p.name.clone(),
                            format!("{:.3e}", p.stats.mean),
                            format!("{:.3e}", p.stats.std),
                            format!("{:.3e}", p.stats.norm),
                        ]
                    })
                    .collect();
                report.table(&["parameter", "mean", "std", "L2 norm"], &rows);
            }
        }
        match &g.training {
            Some(record) => render_record(dir, record, &mut report, &mut keep)?,
            None => {
                report.paragraph(
                    "Per-epoch gradient statistics were not recorded (train with --diagnostics).",
                );
            }
        }
    }

    report.section("Activation functions");
    let activations = keep(plots::activation_functions(
        dir,
        "activations",
        (-5.0, 5.0),
        &[2.0, 1.0, 0.1, -1.0, 3.0],
    )?);
    report.image_file(
        "ReLU, sigmoid and tanh; softmax of the logits [2, 1, 0.1, -1, 3]",
        &activations,
    )?;

    rendered.report = dir.join(REPORT);
    report.write(&rendered.report)?;
    Ok(rendered)
}

/// The per-epoch part of the gradients section: evolution plot, dead ReLUs, warnings.
fn render_record(
    dir: &Path,
    record: &GradientRecord,
    report: &mut HtmlReport,
    keep: &mut impl FnMut(plots::PlotFiles) -> PathBuf,
) -> Result<()> {
    if !record.params.is_empty() && !record.epochs.is_empty() {
        let names: Vec<&str> = record.params.iter().map(|p| p.name.as_str()).collect();
        let means: Vec<&[f64]> = record.params.iter().map(|p| p.mean.as_slice()).collect();
        let stds: Vec<&[f64]> = record.params.iter().map(|p| p.std.as_slice()).collect();
        let evolution = keep(plots::gradient_evolution(
            dir,
            "gradients_epochs",
            &names,
            &means,
            &stds,
        )?);
        report.paragraph(format!(
            "Gradient statistics per epoch, averaged over every {}th training batch.",
            record.sample_every
        ));
        report.image_file("Gradient mean and standard deviation per epoch", &evolution)?;
    }
    if !record.dead_relu.is_empty() {
        let rows: Vec<Vec<String>> = record
            .dead_relu
            .iter()
            .map(|d| {
                let per_epoch: Vec<String> = d
                    .fraction
                    .iter()
                    .map(|f| format!("{:.1}%", 100.0 * f))
                    .collect();
                vec![d.layer.clone(), d.units.to_string(), per_epoch.join(", ")]
            })
            .collect();
        report.paragraph(
            "Dead ReLU units: units whose output is 0 for every sample of a fixed probe batch \
             (measured after each epoch).",
        );
        report.table(&["layer", "units", "dead, per epoch"], &rows);
    }
    if record.warnings.is_empty() {
        report.paragraph(format!(
            "No layer's gradients vanished (L2 norm < {:e}) or exploded (> {:e}).",
            record.vanishing_norm, record.exploding_norm
        ));
    } else {
        for w in &record.warnings {
            report.paragraph(format!("Warning: {}", w.message));
        }
    }
    Ok(())
}

/// The headline settings: data, model, optimizer, epochs, batch size, from `config.json`.
fn settings_overview(
    config: &serde_json::Value,
    metrics: &RunMetrics,
    history: &History,
) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let flags = config.get("flags");
    for key in ["data", "model", "optimizer", "loss", "batch-size", "seed"] {
        if let Some(v) = flags.and_then(|f| f.get(key)) {
            pairs.push((key.replace('-', " "), flag_text(v)));
        }
    }
    if let Some(v) = config.pointer("/model/params") {
        pairs.push(("parameters".into(), flag_text(v)));
    }
    pairs.push(("epochs run".into(), history.epochs().to_string()));
    pairs.push((
        "test accuracy".into(),
        format!("{:.4}", metrics.test_accuracy),
    ));
    pairs
}

fn flag_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "(not set)".into(),
        other => other.to_string(),
    }
}

fn history_headers(h: &History) -> Vec<&'static str> {
    let mut headers = vec!["epoch", "loss"];
    if !h.accuracy.is_empty() {
        headers.push("accuracy");
    }
    if !h.val_loss.is_empty() {
        headers.push("val_loss");
    }
    if !h.val_accuracy.is_empty() {
        headers.push("val_accuracy");
    }
    if !h.epoch_seconds.is_empty() {
        headers.push("seconds");
    }
    headers
}

fn history_rows(h: &History) -> Vec<Vec<String>> {
    let cell = |v: &[f64], e: usize, digits: usize| {
        v.get(e)
            .map(|x| format!("{x:.digits$}"))
            .unwrap_or_default()
    };
    (0..h.epochs())
        .map(|e| {
            let mut row = vec![(e + 1).to_string(), cell(&h.loss, e, 4)];
            for series in [&h.accuracy, &h.val_loss, &h.val_accuracy] {
                if !series.is_empty() {
                    row.push(cell(series, e, 4));
                }
            }
            if !h.epoch_seconds.is_empty() {
                row.push(cell(&h.epoch_seconds, e, 2));
            }
            row
        })
        .collect()
}

fn read_text(dir: &Path, name: &str) -> Result<String> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))
}

fn read_json<D: DeserializeOwned>(dir: &Path, name: &str) -> Result<D> {
    let text = read_text(dir, name)?;
    serde_json::from_str(&text).map_err(|e| Error::format(dir.join(name), e.to_string()))
}

fn read_optional_json<D: DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<D>> {
    if dir.join(name).exists() {
        read_json(dir, name).map(Some)
    } else {
        Ok(None)
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
    fn plain_lists_are_written_on_one_line() {
        let value = serde_json::json!({
            "m": [[1, 2], [3, 4]],
            "names": ["a", "b,c"],
            "empty": [],
            "objects": [{"x": [1.5, null]}],
        });
        let text = inline_scalar_lists(&serde_json::to_string_pretty(&value).unwrap());
        assert!(text.contains("    [1, 2],\n    [3, 4]\n"), "{text}");
        assert!(text.contains("\"names\": [\"a\", \"b,c\"]"), "{text}");
        assert!(text.contains("\"x\": [1.5, null]"), "{text}");
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
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
