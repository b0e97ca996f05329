//! Several runs' curves on one chart (e.g. validation accuracy for Adam vs SGD vs RMSprop),
//! the picture behind every "which setting is better" comparison.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::curves::per_epoch;
use super::lines::{line_chart, Axes, Line};
use super::{render, series_color, DrawResult, Figure, PlotFiles};
use crate::error::{Error, Result};

/// Writes `<stem>.png`/`.svg`: one line per named run, values per epoch (from 1), with a
/// legend. `y_desc` names the quantity, e.g. `"validation accuracy"`.
pub fn runs_overlay<N: AsRef<str>, V: AsRef<[f64]>>(
    dir: &Path,
    stem: &str,
    title: &str,
    y_desc: &str,
    runs: &[(N, V)],
) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    if runs.is_empty() || runs.iter().all(|(_, v)| v.as_ref().is_empty()) {
        return Err(Error::invalid(
            "runs overlay needs at least one run with values",
        ));
    }
    let lines = runs
        .iter()
        .enumerate()
        .map(|(i, (name, values))| Line {
            name: name.as_ref().to_string(),
            points: per_epoch(values.as_ref()),
            color: series_color(i),
            markers: values.as_ref().len() <= 30,
        })
        .collect();
    render(
        dir,
        stem,
        &Overlay {
            title: title.to_string(),
            y_desc: y_desc.to_string(),
            lines,
        },
    )
}

struct Overlay {
    title: String,
    y_desc: String,
    lines: Vec<Line>,
}

impl Figure for Overlay {
    fn size(&self) -> (u32, u32) {
        (900, 520)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let axes = Axes {
            title: &self.title,
            x_desc: "epoch",
            y_desc: &self.y_desc,
            log_x: false,
            log_y: false,
            integer_x: true,
            legend: Some(SeriesLabelPosition::LowerRight),
        };
        line_chart(root, &axes, &self.lines)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn one_line_per_run_with_legend() {
        let dir = out_dir("overlay");
        let runs = [
            ("Adam", vec![0.90, 0.93, 0.95, 0.96, 0.965]),
            ("SGD", vec![0.80, 0.86, 0.89, 0.905, 0.915]),
            ("RMSprop", vec![0.89, 0.925, 0.94, 0.95, 0.955]),
        ];
        let files = runs_overlay(
            &dir,
            "optimizers",
            "Validation accuracy",
            "val_accuracy",
            &runs,
        )
        .unwrap();
        check_files(&files, 10_000);
        assert!(png_has_content(&files.png));
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        for name in ["Adam", "SGD", "RMSprop"] {
            assert!(svg.contains(name), "legend names {name}");
        }
        let empty: [(&str, Vec<f64>); 0] = [];
        assert!(runs_overlay(&dir, "x", "t", "y", &empty).is_err());
    }
}
