//! Loss and accuracy per epoch, training vs validation, as two panels side by side — the
//! first picture of every lab (Keras' `history.history` plotted with matplotlib).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::lines::{line_chart, Axes, Line};
use super::{render, series_color, DrawResult, Figure, PlotFiles};
use crate::error::{Error, Result};

/// Per-epoch values as `History` records them; an empty slice means "not recorded" and its
/// line is left out (e.g. no validation data, or no accuracy metric).
#[derive(Debug, Clone, Copy, Default)]
pub struct TrainingCurves<'a> {
    pub loss: &'a [f64],
    pub val_loss: &'a [f64],
    pub accuracy: &'a [f64],
    pub val_accuracy: &'a [f64],
}

/// Writes `<stem>.png`/`.svg`: left panel loss, right panel accuracy, epochs numbered from 1.
pub fn training_curves(dir: &Path, stem: &str, curves: &TrainingCurves) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    if curves.loss.is_empty() && curves.val_loss.is_empty() {
        return Err(Error::invalid(
            "training curves need at least the loss per epoch",
        ));
    }
    render(dir, stem, &Curves(*curves, &[]))
}

/// Like [`training_curves`], for one model trained in stages (notebook 002): a vertical line
/// where each stage after the first begins, `(first epoch of the stage, from 0; label)`.
pub fn staged_training_curves(
    dir: &Path,
    stem: &str,
    curves: &TrainingCurves,
    stages: &[(usize, String)],
) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    if curves.loss.is_empty() && curves.val_loss.is_empty() {
        return Err(Error::invalid(
            "training curves need at least the loss per epoch",
        ));
    }
    render(dir, stem, &Curves(*curves, stages))
}

/// Which of the two panels a one-panel figure holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    Loss,
    Accuracy,
}

/// Training vs validation loss, or accuracy, as a figure of its own: notebook 003 draws them
/// apart ("Training and Validation Loss", "... Accuracy"), and 004 draws accuracy alone.
/// `stages` marks stage boundaries as in [`staged_training_curves`].
pub fn single_curve(
    dir: &Path,
    stem: &str,
    quantity: Quantity,
    curves: &TrainingCurves,
    stages: &[(usize, String)],
) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    let (train, val) = match quantity {
        Quantity::Loss => (curves.loss, curves.val_loss),
        Quantity::Accuracy => (curves.accuracy, curves.val_accuracy),
    };
    if train.is_empty() && val.is_empty() {
        return Err(Error::invalid(format!(
            "no {} per epoch to plot",
            match quantity {
                Quantity::Loss => "loss",
                Quantity::Accuracy => "accuracy",
            }
        )));
    }
    render(dir, stem, &Single(quantity, train, val, stages))
}

struct Single<'a>(Quantity, &'a [f64], &'a [f64], &'a [(usize, String)]);

impl Figure for Single<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 540)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (title, y_desc, legend) = match self.0 {
            Quantity::Loss => (
                "Training and Validation Loss",
                "loss",
                SeriesLabelPosition::UpperRight,
            ),
            Quantity::Accuracy => (
                "Training and Validation Accuracy",
                "accuracy",
                SeriesLabelPosition::LowerRight,
            ),
        };
        panel(root, title, y_desc, self.1, self.2, self.3, legend)
    }
}

struct Curves<'a>(TrainingCurves<'a>, &'a [(usize, String)]);

impl Figure for Curves<'_> {
    fn size(&self) -> (u32, u32) {
        (1200, 460)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let c = &self.0;
        let panels = root.split_evenly((1, 2));
        panel(
            &panels[0],
            "Model loss",
            "loss",
            c.loss,
            c.val_loss,
            self.1,
            SeriesLabelPosition::UpperRight,
        )?;
        if !(c.accuracy.is_empty() && c.val_accuracy.is_empty()) {
            panel(
                &panels[1],
                "Model accuracy",
                "accuracy",
                c.accuracy,
                c.val_accuracy,
                self.1,
                SeriesLabelPosition::LowerRight,
            )?;
        }
        Ok(())
    }
}

/// One panel: train and validation lines against epoch (numbered from 1).
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_desc: &str,
    train: &[f64],
    val: &[f64],
    stages: &[(usize, String)],
    legend: SeriesLabelPosition,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let mut lines: Vec<Line> = [("train", train), ("validation", val)]
        .into_iter()
        .enumerate()
        .filter(|(_, (_, values))| !values.is_empty())
        .map(|(i, (name, values))| Line {
            name: name.to_string(),
            points: per_epoch(values),
            color: series_color(i),
            markers: true,
        })
        .collect();
    // A stage boundary: a vertical grey line half an epoch before the stage's first epoch.
    let values = train.iter().chain(val).copied().filter(|v| v.is_finite());
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if low <= high {
        for (start, label) in stages.iter().filter(|(start, _)| *start > 0) {
            let x = *start as f64 + 0.5;
            lines.push(Line {
                name: format!("| {label}"),
                points: vec![(x, low), (x, high)],
                color: RGBColor(150, 150, 150),
                markers: false,
            });
        }
    }
    let axes = Axes {
        title,
        x_desc: "epoch",
        y_desc,
        log_x: false,
        log_y: false,
        integer_x: true,
        legend: Some(legend),
    };
    line_chart(area, &axes, &lines)
}

/// `(epoch, value)` points with epochs numbered from 1, as Keras prints them.
pub(crate) fn per_epoch(values: &[f64]) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .map(|(e, &v)| (e as f64 + 1.0, v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn stage_boundaries_are_drawn() {
        let dir = out_dir("staged_curves");
        let loss = [0.09, 0.08, 2.0, 1.9, 1.8];
        let curves = TrainingCurves {
            loss: &loss,
            val_loss: &loss,
            ..TrainingCurves::default()
        };
        let stages = [(0, "MSE".to_string()), (2, "cross-entropy".to_string())];
        let files = staged_training_curves(&dir, "staged", &curves, &stages).unwrap();
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        assert!(
            svg.contains("| cross-entropy"),
            "the boundary is in the legend"
        );
        assert!(
            !svg.contains("| MSE"),
            "the first stage has no boundary before it"
        );
    }

    #[test]
    fn loss_and_accuracy_apart() {
        let dir = out_dir("single-curves");
        let loss = [0.9, 0.5, 0.35];
        let acc = [0.7, 0.85, 0.9];
        let curves = TrainingCurves {
            loss: &loss,
            val_loss: &loss,
            accuracy: &acc,
            val_accuracy: &acc,
        };
        let files = single_curve(&dir, "loss", Quantity::Loss, &curves, &[]).unwrap();
        check_files(&files, 5_000);
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        assert!(svg.contains("Training and Validation Loss") && !svg.contains("Accuracy"));
        let files = single_curve(&dir, "acc", Quantity::Accuracy, &curves, &[]).unwrap();
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        assert!(svg.contains("Training and Validation Accuracy"));
        let no_accuracy = TrainingCurves {
            loss: &loss,
            ..TrainingCurves::default()
        };
        assert!(single_curve(&dir, "x", Quantity::Accuracy, &no_accuracy, &[]).is_err());
    }

    #[test]
    fn renders_png_and_svg() {
        let dir = out_dir("curves");
        let loss = [0.9, 0.5, 0.35, 0.3, 0.28];
        let val_loss = [0.6, 0.45, 0.4, 0.41, 0.43];
        let acc = [0.7, 0.85, 0.9, 0.91, 0.92];
        let val_acc = [0.8, 0.86, 0.88, 0.885, 0.88];
        let curves = TrainingCurves {
            loss: &loss,
            val_loss: &val_loss,
            accuracy: &acc,
            val_accuracy: &val_acc,
        };
        let files = training_curves(&dir, "curves", &curves).unwrap();
        check_files(&files, 10_000);
        assert!(png_has_content(&files.png));
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        assert!(svg.contains("Model accuracy") && svg.contains("validation"));
    }

    #[test]
    fn no_loss_is_an_error_and_missing_dir_names_it() {
        let dir = out_dir("curves-err");
        assert!(training_curves(&dir, "c", &TrainingCurves::default()).is_err());
        let loss = [1.0];
        let c = TrainingCurves {
            loss: &loss,
            ..Default::default()
        };
        let e = training_curves(&dir.join("missing"), "c", &c).unwrap_err();
        assert!(e.to_string().contains("missing"), "{e}");
        // A single epoch without validation still draws.
        check_files(&training_curves(&dir, "one", &c).unwrap(), 5_000);
    }
}
