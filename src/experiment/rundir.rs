//! A run directory: the resolved config, history, metrics, plots and `report.html`, each file
//! written atomically so an interrupted run never leaves a half-written file behind.
//!
//! ```text
//! OUT/experiment.toml   the resolved settings (rerun with `nabla run OUT/experiment.toml`)
//! OUT/summary.txt       the model summary
//! OUT/history.csv       per-epoch loss, accuracy, val_loss, val_accuracy
//! OUT/metrics.json      test loss and accuracy, parameters, history, classification report
//! OUT/*.png, *.svg      the plots asked for in [output]
//! OUT/report.html       everything above on one self-contained page
//! ```

use super::run::RunResult;
use super::spec::{Experiment, Plot};
use crate::data::{Dataset, Features};
use crate::error::{Error, Result};
use crate::report::plots::{
    confusion_heatmap, gradient_bars, gradient_evolution, prediction_grid, sample_grid,
    training_curves, Images, TrainingCurves,
};
use crate::report::{write_atomic, ClassificationReport, ConfusionMatrix, HtmlReport};
use crate::train::Sequential;
use serde_json::json;
use std::path::Path;

/// Writes everything about one run into `dir`.
pub fn write_run_dir(
    dir: &Path,
    experiment: &Experiment,
    result: &RunResult,
    model: &Sequential<f32>,
    test: &Dataset,
    train: &Dataset,
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let config = toml::to_string(experiment)
        .map_err(|e| Error::invalid(format!("cannot write the resolved config: {e}")))?;
    write_atomic(dir.join("experiment.toml"), config.as_bytes())?;
    let summary = model.summary();
    write_atomic(dir.join("summary.txt"), summary.as_bytes())?;
    write_atomic(dir.join("history.csv"), result.history.to_csv().as_bytes())?;

    let mut report = HtmlReport::new(format!("nabla: {}", experiment.name));
    if !experiment.description.is_empty() {
        report.paragraph(experiment.description.clone());
    }
    report.section("Results").metrics(&[
        ("test accuracy", format!("{:.4}", result.test_accuracy)),
        ("test loss", format!("{:.4}", result.test_loss)),
        ("epochs", result.history.epochs().to_string()),
        ("trainable params", result.trainable_params.to_string()),
        ("seconds", format!("{:.1}", result.seconds)),
    ]);
    report.section("Model").preformatted(summary);

    let output = &experiment.output;
    let class_names = &test.class_names;
    let mut classification = serde_json::Value::Null;
    if output.classification_report || output.wants(Plot::Confusion) {
        let cm = ConfusionMatrix::new(&result.y_true, &result.y_pred, test.num_classes)?;
        if output.classification_report {
            let cr = ClassificationReport::from_confusion(&cm, class_names)?;
            let text = cr.to_text(4);
            write_atomic(dir.join("classification_report.txt"), text.as_bytes())?;
            report.section("Classification report").preformatted(text);
            report.preformatted(cm.to_text(class_names)?);
            classification = cr.to_json();
        }
        if output.wants(Plot::Confusion) {
            let files = confusion_heatmap(dir, "confusion", &cm, class_names)?;
            report
                .section("Confusion matrix")
                .image_file("confusion matrix (test set)", &files.png)?;
        }
    }
    if output.wants(Plot::Curves) {
        let h = &result.history;
        let files = training_curves(
            dir,
            "curves",
            &TrainingCurves {
                loss: &h.loss,
                val_loss: &h.val_loss,
                accuracy: &h.accuracy,
                val_accuracy: &h.val_accuracy,
            },
        )?;
        report
            .section("Training curves")
            .image_file("loss and accuracy per epoch", &files.png)?;
    }
    let images = |data: &Dataset| -> Option<(Vec<u8>, [usize; 3])> {
        let (Features::U8(pixels), &[h, w, c]) = (&data.features, data.sample_shape.as_slice())
        else {
            return None;
        };
        Some((pixels.clone(), [h, w, c]))
    };
    if output.wants(Plot::Predictions) {
        report.section("Predictions");
        match images(test) {
            Some((pixels, [h, w, c])) => {
                let n = test.len().min(50);
                let imgs = Images::new(&pixels[..n * h * w * c], h, w, c)?;
                let files = prediction_grid(
                    dir,
                    "predictions",
                    &imgs,
                    &result.y_true[..n],
                    &result.y_pred[..n],
                    class_names,
                    (10, 5),
                )?;
                report.image_file(
                    "test images: ground truth (GT) and prediction (P)",
                    &files.png,
                )?;
            }
            None => {
                report.paragraph("No prediction grid: the samples are not stored images.");
            }
        }
    }
    if output.wants(Plot::Samples) {
        report.section("Samples");
        match images(train) {
            Some((pixels, [h, w, c])) => {
                let imgs = Images::new(&pixels, h, w, c)?;
                let labels: Vec<usize> = train.labels.iter().map(|&l| l as usize).collect();
                let files = sample_grid(dir, "samples", &imgs, &labels, class_names, 5)?;
                report.image_file("training images by class", &files.png)?;
            }
            None => {
                report.paragraph("No sample grid: the samples are not stored images.");
            }
        }
    }
    if let Some(g) = result.gradients.as_ref().filter(|g| !g.layers.is_empty()) {
        let last = |v: &Vec<Vec<f64>>| v.iter().map(|s| *s.last().unwrap_or(&0.0)).collect();
        let (means, stds): (Vec<f64>, Vec<f64>) = (last(&g.means), last(&g.stds));
        let bars = gradient_bars(dir, "gradients", &g.layers, &means, &stds)?;
        let evolution =
            gradient_evolution(dir, "gradient_evolution", &g.layers, &g.means, &g.stds)?;
        report
            .section("Gradients")
            .paragraph(
                "Each layer's kernel gradient on one fixed batch of training samples. Standard \
                 deviations shrinking towards the first layers mean vanishing gradients; \
                 growing ones mean exploding gradients.",
            )
            .image_file("gradient mean and std per layer after training", &bars.png)?
            .image_file(
                "gradient mean and std per layer, by epoch (0 = before training)",
                &evolution.png,
            )?;
    }
    let mut reloaded = serde_json::Value::Null;
    if output.save_model || output.reload {
        let path = dir.join("model.safetensors");
        model.save(&path)?;
        report.section("Saved model").paragraph(
            "model.safetensors: load it with Sequential::load or `nabla evaluate --model-file`.",
        );
        if output.reload {
            let mut again = Sequential::<f32>::load(&path)?;
            let evaluation = again.evaluate(test)?;
            let same =
                evaluation.loss == result.test_loss && evaluation.accuracy == result.test_accuracy;
            report.metrics(&[
                (
                    "reloaded test accuracy",
                    format!("{:.4}", evaluation.accuracy),
                ),
                ("reloaded test loss", format!("{:.4}", evaluation.loss)),
                ("same as before saving", same.to_string()),
            ]);
            reloaded = json!({
                "test_loss": evaluation.loss,
                "test_accuracy": evaluation.accuracy,
                "identical": same,
            });
            if !same {
                return Err(Error::invalid(format!(
                    "{}: the reloaded model evaluates differently (loss {} vs {})",
                    path.display(),
                    evaluation.loss,
                    result.test_loss
                )));
            }
        }
    }
    report.section("Configuration").preformatted(config);

    let metrics = json!({
        "name": experiment.name,
        "test_loss": result.test_loss,
        "test_accuracy": result.test_accuracy,
        "trainable_params": result.trainable_params,
        "non_trainable_params": result.non_trainable_params,
        "seconds": result.seconds,
        "history": result.history,
        "classification_report": classification,
        "gradients": result.gradients,
        "reloaded": reloaded,
    });
    let text = serde_json::to_string_pretty(&metrics).expect("metrics serialize");
    write_atomic(dir.join("metrics.json"), text.as_bytes())?;
    if output.report {
        report.write(&dir.join("report.html"))?;
    }
    Ok(())
}
