//! Per-layer gradient mean and standard deviation for one batch, as horizontal bars (the
//! `tf.GradientTape` diagnostic): the first thing to look at when the loss is not decreasing.

use std::path::Path;

use plotters::coord::ranged1d::SegmentValue;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::lines::tick_formatter;
use super::{font, padded_range, render, series_color, text_width, DrawResult, Figure, PlotFiles};
use crate::error::{Error, Result};

/// Writes `<stem>.png`/`.svg`: left panel each layer's gradient mean, right panel its
/// standard deviation, first layer at the top.
pub fn gradient_bars<S: AsRef<str>>(
    dir: &Path,
    stem: &str,
    layer_names: &[S],
    means: &[f64],
    stds: &[f64],
) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    if layer_names.is_empty() || means.len() != layer_names.len() || stds.len() != layer_names.len()
    {
        return Err(Error::invalid(format!(
            "gradient bars need one mean and one std per layer: {} layers, {} means, {} stds",
            layer_names.len(),
            means.len(),
            stds.len()
        )));
    }
    let names: Vec<String> = layer_names.iter().map(|s| s.as_ref().to_string()).collect();
    render(
        dir,
        stem,
        &Bars {
            names,
            means: means.to_vec(),
            stds: stds.to_vec(),
        },
    )
}

struct Bars {
    names: Vec<String>,
    means: Vec<f64>,
    stds: Vec<f64>,
}

impl Figure for Bars {
    fn size(&self) -> (u32, u32) {
        (1200, 160 + 48 * self.names.len() as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let panels = root.split_evenly((1, 2));
        bars(
            &panels[0],
            "Gradient mean per layer",
            "mean",
            &self.names,
            &self.means,
            0,
        )?;
        bars(
            &panels[1],
            "Gradient std per layer",
            "std",
            &self.names,
            &self.stds,
            1,
        )
    }
}

fn bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_desc: &str,
    names: &[String],
    values: &[f64],
    color: usize,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let n = names.len();
    // Bars start at zero, so zero is always in range.
    let (lo, hi) = padded_range(values.iter().copied().chain([0.0]));
    let label_w = names.iter().map(|s| text_width(s, 14.0)).max().unwrap_or(0) + 20;
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(22.0))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(label_w.max(60))
        .build_cartesian_2d(lo..hi, (0..n - 1).into_segmented())?;
    // `0..n - 1` is inclusive for discrete ranges: exactly n rows.
    // Row 0 is drawn at the bottom by plotters; flip so the first layer is on top.
    let y_fmt = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) if *i < n => names[n - 1 - i].clone(),
        _ => String::new(),
    };
    let x_fmt = tick_formatter(lo, hi);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .y_labels(n)
        .disable_y_mesh()
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let fill = series_color(color);
    chart.draw_series(
        values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(layer, &v)| {
                let row = n - 1 - layer;
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(row)),
                        (v, SegmentValue::Exact(row + 1)),
                    ],
                    fill.filled(),
                );
                bar.set_margin(6, 6, 0, 0);
                bar
            }),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn one_bar_per_layer_in_each_panel() {
        let dir = out_dir("grad-bars");
        let names = [
            "dense/kernel",
            "dense/bias",
            "dense_1/kernel",
            "dense_1/bias",
        ];
        let means = [1.2e-4, -3.0e-5, 2.5e-3, -1.0e-3];
        let stds = [2.0e-3, 8.0e-4, 1.5e-2, 6.0e-3];
        let files = gradient_bars(&dir, "grad_bars", &names, &means, &stds).unwrap();
        check_files(&files, 10_000);
        assert!(png_has_content(&files.png));
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        assert!(svg.contains("dense_1/kernel"));
        assert!(gradient_bars(&dir, "x", &names, &means[..3], &stds).is_err());
        check_files(
            &gradient_bars(&dir, "single", &names[..1], &means[..1], &stds[..1]).unwrap(),
            5_000,
        );
    }
}
