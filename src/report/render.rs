//! `report.html` and every plot, drawn from a run directory's files alone (no data files, no
//! model, nothing from training), so a run can be archived, shared and re-rendered later —
//! including one that was interrupted or failed: what exists is shown.

use crate::report::findings::{gradient_findings, history_findings, Finding, Kind};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::files::{
    final_losses, DataLook, ImageSet, RunInfo, RunMetrics, RunStatus, DATA, GRADIENTS, GRID,
    HISTORY, METRICS, PREDICTIONS, REPORT, RUN, SAMPLES, SAMPLES_PER_CLASS, SUMMARY,
};
use super::html::HtmlReport;
use super::plots::{self, Images, Quantity, TrainingCurves};
use crate::error::{Error, Result};

/// The files [`render`] wrote.
#[derive(Clone, Debug, Default)]
pub struct Rendered {
    pub plots: Vec<PathBuf>,
    pub report: PathBuf,
}

/// Makes the plots asked for in `run.json` whose data the directory holds, and `report.html`
/// with the status, settings, model summary, history, metrics and gradients. Only `run.json`
/// is required; every other file is shown when present.
pub fn render(dir: &Path) -> Result<Rendered> {
    if !dir.join(RUN).is_file() {
        return Err(Error::format(
            dir,
            format!("not a run directory: it has no {RUN} (nabla train, run and sweep write one)"),
        ));
    }
    let info: RunInfo = read_json(dir, RUN)?;
    let summary = read_optional_text(dir, SUMMARY)?;
    let history = match read_optional_text(dir, HISTORY)? {
        Some(text) => Columns::from_csv(&text, &dir.join(HISTORY))?,
        None => Columns::default(),
    };
    let metrics: Option<RunMetrics> = read_optional_json(dir, METRICS)?;
    let gradients: Option<GradientsView> = read_optional_json(dir, GRADIENTS)?;
    let predictions: Option<ImageSet> = read_optional_json(dir, PREDICTIONS)?;
    let samples: Option<ImageSet> = read_optional_json(dir, SAMPLES)?;
    let look: Option<DataLook> = read_optional_json(dir, DATA)?;
    let wants = |plot: &str| info.plots.iter().any(|p| p == plot);

    let mut rendered = Rendered::default();
    let mut keep = |files: plots::PlotFiles| {
        let png = files.png.clone();
        rendered.plots.push(files.png);
        rendered.plots.push(files.svg);
        png
    };
    let title = match info.status {
        RunStatus::Complete => format!("nabla run: {}", info.name),
        other => format!("nabla run: {} ({})", info.name, other.name()),
    };
    let mut report = HtmlReport::new(title);
    if !info.description.is_empty() {
        report.paragraph(info.description.clone());
    }
    status_section(&mut report, &info, dir);
    settings_section(&mut report, &info);
    if let Some(look) = &look {
        data_section(dir, look, &mut report, &wants, &mut keep)?;
    }
    if let Some(summary) = summary {
        report.section("Model").preformatted(summary);
    }

    report.section("Training");
    if history.epochs() == 0 {
        report.paragraph("No epoch finished.");
    } else {
        let lines = TrainingCurves {
            loss: history.get("loss"),
            val_loss: history.get("val_loss"),
            accuracy: history.get("accuracy"),
            val_accuracy: history.get("val_accuracy"),
        };
        let marks: Vec<(usize, String)> = info
            .stages
            .iter()
            .map(|s| (s.start, s.label.clone()))
            .collect();
        if wants("curves") {
            let curves = keep(match marks.is_empty() {
                true => plots::training_curves(dir, "curves", &lines)?,
                false => plots::staged_training_curves(dir, "curves", &lines, &marks)?,
            });
            report.image_file("Loss and accuracy per epoch", &curves)?;
        }
        for (plot, quantity, caption) in [
            ("loss", Quantity::Loss, "Training and validation loss"),
            (
                "accuracy",
                Quantity::Accuracy,
                "Training and validation accuracy",
            ),
        ] {
            let has = match quantity {
                Quantity::Loss => !lines.loss.is_empty(),
                Quantity::Accuracy => !lines.accuracy.is_empty(),
            };
            if wants(plot) && has {
                let file = keep(plots::single_curve(dir, plot, quantity, &lines, &marks)?);
                report.image_file(caption, &file)?;
            }
        }
        let finals = final_losses(lines.loss.last().copied(), lines.val_loss.last().copied());
        report.preformatted(finals);
        let (headers, rows) = history.table();
        report.table(&headers, &rows);
    }

    if let Some(m) = &metrics {
        report.section("Test metrics");
        report.metrics(&[
            ("test loss", format!("{:.4}", m.test_loss)),
            ("test accuracy", format!("{:.4}", m.test_accuracy)),
            ("top-3 accuracy", format!("{:.4}", m.top_3_accuracy)),
            ("test samples", m.test_samples.to_string()),
        ]);
        report.paragraph("Classification report (scikit-learn's layout):");
        report.preformatted(m.classification_report.to_text(2));
        let cm = m.confusion()?;
        report.paragraph("Confusion matrix (rows: true class, columns: predicted class):");
        report.preformatted(cm.to_text(&m.class_names)?);
        if wants("confusion") {
            let heatmap = keep(plots::confusion_heatmap(
                dir,
                "confusion_matrix",
                &cm,
                &m.class_names,
            )?);
            report.image_file("Confusion matrix", &heatmap)?;
        }
        if let Some(r) = &m.reloaded {
            report.section("Saved model");
            report.metrics(&[
                ("file", r.file.clone()),
                ("reloaded test loss", format!("{:.4}", r.test_loss)),
                ("reloaded test accuracy", format!("{:.4}", r.test_accuracy)),
                ("same as before saving", r.identical.to_string()),
            ]);
        }
    }

    if let (Some(p), true) = (&predictions, wants("predictions")) {
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
    if let (Some(s), true) = (&samples, wants("samples")) {
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
        if look.is_none() {
            report.section("Data");
        }
        report.image_file(
            format!("{SAMPLES_PER_CLASS} training images of each class"),
            &grid,
        )?;
    }
    if let Some(g) = &gradients {
        gradients_section(dir, g, &mut report, &mut keep)?;
    }
    let findings = run_findings(&info, &history, gradients.as_ref());
    if !findings.is_empty() {
        report.section("Findings");
        for f in findings {
            report.paragraph(f.text);
        }
    }
    if wants("activations") {
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
    }

    rendered.report = dir.join(REPORT);
    report.write(&rendered.report)?;
    Ok(rendered)
}

/// What the notebooks print and plot about the data before training: the arrays' shapes,
/// the untrained model's output sum, the first images, ReLU and sigmoid on real pixels.
fn data_section(
    dir: &Path,
    look: &DataLook,
    report: &mut HtmlReport,
    wants: &impl Fn(&str) -> bool,
    keep: &mut impl FnMut(plots::PlotFiles) -> PathBuf,
) -> Result<()> {
    report.section("Data");
    report.preformatted(look.shape_lines());
    if let Some(sum) = look.first_output_sum {
        report.paragraph(format!(
            "Output: {sum:.2} — the untrained model's output on the first training sample \
             sums to {sum:.6}{}",
            if (sum - 1.0).abs() < 1e-4 {
                " (a softmax output's rows sum to 1)."
            } else {
                "."
            }
        ));
    }
    if let (Some(first), true) = (&look.first_images, wants("first_images")) {
        let pixels = first.flat_pixels()?;
        let images = Images::new(&pixels, first.height, first.width, first.channels)?;
        let grid = keep(plots::first_images(
            dir,
            "first_images",
            &images,
            &first.labels,
            &first.class_names,
        )?);
        report.image_file(
            format!("The first {} training images", first.labels.len()),
            &grid,
        )?;
    }
    if wants("pixel_activations") && !look.first_values.is_empty() {
        let scatter = keep(plots::pixel_activations(
            dir,
            "pixel_activations",
            &look.first_values,
        )?);
        report.image_file(
            format!(
                "ReLU and sigmoid applied to the {} values of the first training sample",
                look.first_values.len()
            ),
            &scatter,
        )?;
    }
    Ok(())
}

fn status_section(report: &mut HtmlReport, info: &RunInfo, dir: &Path) {
    report.section("Run");
    let mut rows = vec![
        ("status", info.status.name().to_string()),
        (
            "epochs",
            format!("{} of {} done", info.epochs_done, info.epochs),
        ),
        ("started (UTC)", info.started.clone()),
    ];
    if let Some(ended) = &info.ended {
        rows.push(("ended (UTC)", ended.clone()));
    }
    rows.push(("seconds", format!("{:.1}", info.seconds)));
    rows.push(("nabla", info.nabla_version.clone()));
    rows.push(("threads", info.threads.to_string()));
    rows.push(("host", info.host.clone()));
    report.metrics(&rows);
    match info.status {
        RunStatus::Interrupted => {
            report.paragraph(format!(
                "Interrupted after {} finished epochs; the checkpoint in this directory \
                 continues it: nabla train --resume {}",
                info.epochs_done,
                dir.display()
            ));
        }
        RunStatus::Failed => {
            report.paragraph(format!(
                "Failed: {}",
                info.error
                    .as_deref()
                    .unwrap_or("no error text was recorded")
            ));
        }
        RunStatus::Running => {
            report.paragraph(
                "Still running, or stopped without a chance to say so (killed): the files \
                 show the last finished epoch.",
            );
        }
        RunStatus::Complete => {}
    }
    if !info.argv.is_empty() {
        report.preformatted(info.argv.join(" "));
    }
}

fn settings_section(report: &mut HtmlReport, info: &RunInfo) {
    report.section("Settings");
    let d = &info.data;
    report.metrics(&[
        ("data", d.source.clone()),
        ("sample shape", format!("{:?}", d.sample_shape)),
        ("classes", d.class_names.len().to_string()),
        (
            "train / validation / test samples",
            format!(
                "{} / {} / {}",
                d.train_samples, d.validation_samples, d.test_samples
            ),
        ),
        (
            "parameters",
            format!(
                "{} ({} trainable)",
                info.trainable_params + info.non_trainable_params,
                info.trainable_params
            ),
        ),
    ]);
    if d.validation_is_test {
        report.paragraph(
            "The validation data is the test set, as in the notebooks: every val_ number is a \
             test-set number, and early stopping, best-model checkpoints and learning-rate \
             schedules then choose on the test set, which makes the final test numbers \
             optimistic.",
        );
    }
    if info.settings.is_empty() {
        report.paragraph("Every setting is nabla's default.");
    } else {
        report.paragraph("Settings that differ from nabla's defaults:");
        let rows: Vec<Vec<String>> = info
            .settings
            .iter()
            .map(|(k, v)| vec![k.clone(), v.clone()])
            .collect();
        report.table(&["setting", "value"], &rows);
    }
}

/// `gradients.json` as the report reads it: only what it shows.
#[derive(Deserialize)]
struct GradientsView {
    batch: Option<BatchView>,
    probe: Option<ProbeView>,
    training: Option<TrainingView>,
}

#[derive(Deserialize)]
struct BatchView {
    loss: Option<f64>,
    batch_size: usize,
    params: Vec<ParamView>,
}

#[derive(Deserialize)]
struct ParamView {
    name: String,
    mean: Option<f64>,
    std: Option<f64>,
    norm: Option<f64>,
}

#[derive(Deserialize)]
struct ProbeView {
    batch_size: usize,
    layers: Vec<String>,
    means: Vec<Vec<Option<f64>>>,
    stds: Vec<Vec<Option<f64>>>,
}

#[derive(Deserialize)]
struct TrainingView {
    sample_every: usize,
    vanishing_norm: f64,
    exploding_norm: f64,
    epochs: Vec<usize>,
    params: Vec<SeriesView>,
    dead_relu: Vec<DeadReluView>,
    warnings: Vec<WarningView>,
}

#[derive(Deserialize)]
struct SeriesView {
    name: String,
    mean: Vec<Option<f64>>,
    std: Vec<Option<f64>>,
}

#[derive(Deserialize)]
struct DeadReluView {
    layer: String,
    units: usize,
    fraction: Vec<Option<f64>>,
}

#[derive(Deserialize)]
struct WarningView {
    message: String,
}

/// What the run's numbers say (see `report::findings`), from `run.json`, `history.csv` and
/// `gradients.json` only. A staged run's losses change units where the loss function changes,
/// so its curve is read stage by stage: each stage's last validation accuracy, and the history
/// findings of the last stage.
fn run_findings(info: &RunInfo, h: &Columns, g: Option<&GradientsView>) -> Vec<Finding> {
    let mut found = Vec::new();
    let val_accuracy = h.get("val_accuracy");
    let (from, prefix) = match info.stages.last() {
        None => (0, String::new()),
        Some(last) => {
            let per_stage: Vec<String> = info
                .stages
                .iter()
                .filter_map(|s| {
                    let end = s.start + s.epochs;
                    val_accuracy
                        .get(end.checked_sub(1)?)
                        .map(|a| format!("{} (epochs {}-{}) {a:.4}", s.label, s.start + 1, end))
                })
                .collect();
            found.push(Finding {
                kind: Kind::StagedVsFair,
                text: format!(
                    "One model trained in {} stages, each continuing from the last; validation \
                     accuracy at the end of each: {}. A stage's number carries every stage \
                     before it: compare choices with fresh models (the lab's fair version).",
                    info.stages.len(),
                    per_stage.join(", ")
                ),
            });
            (last.start, format!("In the last stage ({}): ", last.label))
        }
    };
    let slice = |v: &[f64]| v.get(from..).unwrap_or(&[]).to_vec();
    for mut f in history_findings(&slice(h.get("loss")), &slice(h.get("val_loss"))) {
        f.text = format!("{prefix}{}", f.text);
        found.push(f);
    }
    if let Some(p) = g.and_then(|g| g.probe.as_ref()) {
        let stds: Vec<(String, f64)> = p
            .layers
            .iter()
            .zip(&p.stds)
            .filter_map(|(name, s)| Some((name.clone(), (*s.last()?)?)))
            .collect();
        found.extend(gradient_findings(&stds));
    }
    found
}

fn nan(v: &[Option<f64>]) -> Vec<f64> {
    v.iter().map(|x| x.unwrap_or(f64::NAN)).collect()
}

fn gradients_section(
    dir: &Path,
    g: &GradientsView,
    report: &mut HtmlReport,
    keep: &mut impl FnMut(plots::PlotFiles) -> PathBuf,
) -> Result<()> {
    report.section("Gradients");
    let value = |v: Option<f64>| v.unwrap_or(f64::NAN);
    if let Some(batch) = g.batch.as_ref().filter(|b| !b.params.is_empty()) {
        let names: Vec<&str> = batch.params.iter().map(|p| p.name.as_str()).collect();
        let means: Vec<f64> = batch.params.iter().map(|p| value(p.mean)).collect();
        let stds: Vec<f64> = batch.params.iter().map(|p| value(p.std)).collect();
        let bars = keep(plots::gradient_bars(
            dir,
            "gradients_batch",
            &names,
            &means,
            &stds,
        )?);
        report.paragraph(format!(
            "Gradient of the loss for a probe batch of {} training samples after training \
             (loss {:.4}), per parameter tensor, as tf.GradientTape gives it. Probes use a copy \
             of the random generator and leave batch-norm statistics alone: looking does not \
             change the run.",
            batch.batch_size,
            value(batch.loss)
        ));
        report.image_file("Per-layer gradient mean and standard deviation", &bars)?;
        let rows: Vec<Vec<String>> = batch
            .params
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    format!("{:.3e}", value(p.mean)),
                    format!("{:.3e}", value(p.std)),
                    format!("{:.3e}", value(p.norm)),
                ]
            })
            .collect();
        report.table(&["parameter", "mean", "std", "L2 norm"], &rows);
    }
    if let Some(p) = g.probe.as_ref().filter(|p| !p.layers.is_empty()) {
        let means: Vec<Vec<f64>> = p.means.iter().map(|m| nan(m)).collect();
        let stds: Vec<Vec<f64>> = p.stds.iter().map(|s| nan(s)).collect();
        let evolution = keep(plots::gradient_evolution(
            dir,
            "gradients_probe",
            &p.layers,
            &means,
            &stds,
        )?);
        report.paragraph(format!(
            "Each layer's kernel gradient on the same {} training samples, before training \
             (epoch 0) and after every epoch. Standard deviations shrinking towards the first \
             layers mean vanishing gradients; growing ones mean exploding gradients.",
            p.batch_size
        ));
        report.image_file(
            "Kernel gradient mean and std per layer, by epoch",
            &evolution,
        )?;
    }
    match &g.training {
        Some(t) => training_record(dir, t, report, keep)?,
        None => {
            report.paragraph(
                "Per-epoch statistics of the training batches' gradients were not recorded \
                 (train with --diagnostics).",
            );
        }
    }
    Ok(())
}

/// The diagnostics' part: training-batch gradients per epoch, dead ReLUs, warnings.
fn training_record(
    dir: &Path,
    record: &TrainingView,
    report: &mut HtmlReport,
    keep: &mut impl FnMut(plots::PlotFiles) -> PathBuf,
) -> Result<()> {
    if !record.params.is_empty() && !record.epochs.is_empty() {
        let names: Vec<&str> = record.params.iter().map(|p| p.name.as_str()).collect();
        let means: Vec<Vec<f64>> = record.params.iter().map(|p| nan(&p.mean)).collect();
        let stds: Vec<Vec<f64>> = record.params.iter().map(|p| nan(&p.std)).collect();
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
                    .map(|f| match f {
                        Some(f) => format!("{:.1}%", 100.0 * f),
                        None => "-".into(),
                    })
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

/// `history.csv` as named columns of numbers (empty cells are NaN).
#[derive(Debug, Default)]
struct Columns {
    names: Vec<String>,
    values: Vec<Vec<f64>>,
}

impl Columns {
    fn from_csv(text: &str, path: &Path) -> Result<Self> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let Some(header) = lines.next() else {
            return Ok(Columns::default());
        };
        let names: Vec<String> = header.split(',').map(|h| h.trim().to_string()).collect();
        let mut values = vec![Vec::new(); names.len()];
        for (row, line) in lines.enumerate() {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != names.len() {
                return Err(Error::format(
                    path,
                    format!(
                        "line {}: {} cells for {} columns",
                        row + 2,
                        cells.len(),
                        names.len()
                    ),
                ));
            }
            for (column, cell) in values.iter_mut().zip(cells) {
                let v = if cell.is_empty() {
                    f64::NAN
                } else {
                    cell.parse::<f64>().map_err(|_| {
                        Error::format(path, format!("line {}: '{cell}' is not a number", row + 2))
                    })?
                };
                column.push(v);
            }
        }
        Ok(Columns { names, values })
    }

    fn get(&self, name: &str) -> &[f64] {
        self.names
            .iter()
            .position(|n| n == name)
            .map_or(&[], |i| &self.values[i])
    }

    fn epochs(&self) -> usize {
        self.values.first().map_or(0, Vec::len)
    }

    /// Epochs numbered from 1, four decimals (two for seconds).
    fn table(&self) -> (Vec<&str>, Vec<Vec<String>>) {
        let shown: Vec<usize> = (0..self.names.len())
            .filter(|&i| self.names[i] != "epoch" && !self.values[i].iter().all(|v| v.is_nan()))
            .collect();
        let mut headers = vec!["epoch"];
        headers.extend(shown.iter().map(|&i| self.names[i].as_str()));
        let rows = (0..self.epochs())
            .map(|e| {
                let mut row = vec![(e + 1).to_string()];
                for &i in &shown {
                    let v = self.values[i][e];
                    row.push(match self.names[i].as_str() {
                        _ if v.is_nan() => String::new(),
                        "epoch_seconds" => format!("{v:.2}"),
                        "learning_rate" => format!("{v:e}"),
                        _ => format!("{v:.4}"),
                    });
                }
                row
            })
            .collect();
        (headers, rows)
    }
}

fn read_optional_text(dir: &Path, name: &str) -> Result<Option<String>> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn read_json<D: DeserializeOwned>(dir: &Path, name: &str) -> Result<D> {
    read_optional_json(dir, name)?.ok_or_else(|| Error::format(dir.join(name), "missing"))
}

fn read_optional_json<D: DeserializeOwned>(dir: &Path, name: &str) -> Result<Option<D>> {
    match read_optional_text(dir, name)? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::format(dir.join(name), e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_columns_read_by_name() {
        let text = "epoch,loss,accuracy,val_loss,val_accuracy,epoch_seconds,learning_rate\n\
                    0,0.5,0.8,0.6,0.7,1.25,0.001\n1,0.4,0.85,,0.75,1.5,0.001\n";
        let c = Columns::from_csv(text, Path::new("history.csv")).unwrap();
        assert_eq!(c.epochs(), 2);
        assert_eq!(c.get("loss"), [0.5, 0.4]);
        assert!(c.get("val_loss")[1].is_nan());
        assert!(c.get("nothing").is_empty());
        let (headers, rows) = c.table();
        assert_eq!(headers[..3], ["epoch", "loss", "accuracy"]);
        assert_eq!(rows[1][..3], ["2", "0.4000", "0.8500"]);
        let err = Columns::from_csv("epoch,loss\n0,abc\n", Path::new("h.csv")).unwrap_err();
        assert!(err.to_string().contains("h.csv: line 2"), "{err}");
    }
}
