//! Mean ± standard deviation over replicates against a log-scaled x axis: the plot for
//! hyper-parameter sweeps such as final validation accuracy vs L2 factor 1e-6..1e-3.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::lines::{log_range, tick_formatter};
use super::{font, padded_range, render, series_color, ChartText, DrawResult, Figure, PlotFiles};
use crate::error::{Error, Result};

/// Mean and population standard deviation (numpy's `np.std`, ddof = 0) of replicate results.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// Writes `<stem>.png`/`.svg`: at each `xs[i]` (positive, log axis) a point at `means[i]` with
/// a bar from `means[i] - stds[i]` to `means[i] + stds[i]`, the means joined by a line.
pub fn error_bars_log_x(
    dir: &Path,
    stem: &str,
    text: &ChartText,
    xs: &[f64],
    means: &[f64],
    stds: &[f64],
) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    if xs.is_empty() || xs.len() != means.len() || xs.len() != stds.len() {
        return Err(Error::invalid(format!(
            "error bars need as many means and stds as x values: {} x, {} means, {} stds",
            xs.len(),
            means.len(),
            stds.len()
        )));
    }
    if let Some(x) = xs.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
        return Err(Error::invalid(format!(
            "x = {x} cannot be placed on a log axis"
        )));
    }
    let mut points: Vec<(f64, f64, f64)> = xs
        .iter()
        .zip(means)
        .zip(stds)
        .map(|((&x, &m), &s)| (x, m, s.abs()))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    render(
        dir,
        stem,
        &Bars {
            title: text.title.to_string(),
            x_desc: text.x_desc.to_string(),
            y_desc: text.y_desc.to_string(),
            points,
        },
    )
}

struct Bars {
    title: String,
    x_desc: String,
    y_desc: String,
    points: Vec<(f64, f64, f64)>,
}

impl Figure for Bars {
    fn size(&self) -> (u32, u32) {
        (900, 540)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (x0, x1) = log_range(self.points.iter().map(|p| p.0));
        let (y0, y1) = padded_range(self.points.iter().flat_map(|&(_, m, s)| [m - s, m + s]));
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(22.0))
            .margin(14)
            .x_label_area_size(45)
            .y_label_area_size(75)
            .build_cartesian_2d((x0..x1).log_scale(), y0..y1)?;
        let y_fmt = tick_formatter(y0, y1);
        chart
            .configure_mesh()
            .x_desc(&self.x_desc)
            .y_desc(&self.y_desc)
            .label_style(font(14.0))
            .axis_desc_style(font(16.0))
            .x_label_formatter(&|v| format!("{v:.0e}"))
            .y_label_formatter(&y_fmt)
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        let color = series_color(0);
        let finite: Vec<_> = self
            .points
            .iter()
            .filter(|p| p.1.is_finite() && p.2.is_finite())
            .collect();
        chart.draw_series(LineSeries::new(
            finite.iter().map(|p| (p.0, p.1)),
            color.mix(0.5).stroke_width(1),
        ))?;
        chart.draw_series(finite.iter().map(|&&(x, m, s)| {
            ErrorBar::new_vertical(x, m - s, m, m + s, color.stroke_width(2), 12)
        }))?;
        chart.draw_series(
            finite
                .iter()
                .map(|&&(x, m, _)| Circle::new((x, m), 5, color.filled())),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn l2_sweep_with_three_replicates() {
        let dir = out_dir("errorbars");
        let sweep = [
            (1e-6, [0.975, 0.977, 0.974]),
            (1e-5, [0.978, 0.976, 0.979]),
            (1e-4, [0.980, 0.981, 0.979]),
            (1e-3, [0.970, 0.972, 0.969]),
        ];
        let xs: Vec<f64> = sweep.iter().map(|s| s.0).collect();
        let (means, stds): (Vec<f64>, Vec<f64>) = sweep.iter().map(|s| mean_std(&s.1)).unzip();
        let text = ChartText {
            title: "Final validation accuracy vs L2 factor",
            x_desc: "L2 factor",
            y_desc: "val_accuracy (mean ± std, 3 runs)",
        };
        let files = error_bars_log_x(&dir, "l2_sweep", &text, &xs, &means, &stds).unwrap();
        check_files(&files, 10_000);
        assert!(png_has_content(&files.png));
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        assert!(svg.contains("1e-4"), "log ticks read as powers of ten");
        assert!(error_bars_log_x(&dir, "x", &text, &[0.0], &[1.0], &[0.1]).is_err());
        assert!(error_bars_log_x(&dir, "x", &text, &[1.0], &[1.0], &[]).is_err());
    }

    #[test]
    fn mean_std_is_numpy_population_std() {
        let (m, s) = mean_std(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        assert!((s - 1.118033988749895).abs() < 1e-15); // np.std([1,2,3,4])
    }
}
