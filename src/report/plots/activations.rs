//! The activation functions a course introduces (ReLU, sigmoid, tanh) drawn over an input
//! range, and softmax applied to a sample of logits.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::lines::{line_chart, tick, Axes, Line};
use super::{font, render, series_color, DrawResult, Figure, PlotFiles};
use crate::error::{Error, Result};

/// Writes `<stem>.png`/`.svg`: a 2x2 figure with ReLU, sigmoid and tanh over
/// `[x_min, x_max]`, and the softmax probabilities of `softmax_sample` as bars.
pub fn activation_functions(
    dir: &Path,
    stem: &str,
    (x_min, x_max): (f64, f64),
    softmax_sample: &[f64],
) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    if !(x_min.is_finite() && x_max.is_finite() && x_min < x_max) {
        return Err(Error::invalid(format!(
            "activation plot range {x_min}..{x_max} is empty"
        )));
    }
    if softmax_sample.is_empty() || softmax_sample.iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "softmax sample must be a non-empty list of finite numbers",
        ));
    }
    render(
        dir,
        stem,
        &Activations {
            range: (x_min, x_max),
            sample: softmax_sample.to_vec(),
        },
    )
}

/// Softmax with the maximum subtracted first, so large logits do not overflow.
fn softmax(z: &[f64]) -> Vec<f64> {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|v| (v - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}

/// A name and the function it plots.
type Activation = (&'static str, fn(f64) -> f64);

struct Activations {
    range: (f64, f64),
    sample: Vec<f64>,
}

impl Figure for Activations {
    fn size(&self) -> (u32, u32) {
        (1100, 820)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let panels = root.split_evenly((2, 2));
        let (lo, hi) = self.range;
        let xs: Vec<f64> = (0..=400)
            .map(|i| lo + (hi - lo) * i as f64 / 400.0)
            .collect();
        let functions: [Activation; 3] = [
            ("ReLU", |x| x.max(0.0)),
            ("sigmoid", |x| 1.0 / (1.0 + (-x).exp())),
            ("tanh", f64::tanh),
        ];
        for (i, (name, f)) in functions.iter().enumerate() {
            let line = Line {
                name: name.to_string(),
                points: xs.iter().map(|&x| (x, f(x))).collect(),
                color: series_color(i),
                markers: false,
            };
            let axes = Axes {
                title: name,
                x_desc: "x",
                y_desc: &format!("{name}(x)"),
                log_x: false,
                log_y: false,
                integer_x: false,
                legend: None,
            };
            line_chart(&panels[i], &axes, &[line])?;
        }
        softmax_panel(&panels[3], &self.sample)
    }
}

/// Bars of softmax(z), one per logit, labelled with the logit and topped with the probability.
fn softmax_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, z: &[f64]) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let p = softmax(z);
    let n = z.len();
    let mut chart = ChartBuilder::on(area)
        .caption("softmax over a sample", font(22.0))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, 0f64..1.08)?;
    let x_fmt = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
            format!("z={}", tick(z[i as usize]))
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_desc("logit")
        .y_desc("probability")
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .x_labels(n)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&|v| format!("{v:.1}"))
        .disable_x_mesh()
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    let color = series_color(4);
    chart.draw_series(p.iter().enumerate().map(|(i, &v)| {
        let x = i as f64;
        Rectangle::new([(x - 0.35, 0.0), (x + 0.35, v)], color.filled())
    }))?;
    let above = font(13.0).pos(Pos::new(HPos::Center, VPos::Bottom));
    chart.draw_series(
        p.iter()
            .enumerate()
            .map(|(i, &v)| Text::new(format!("{v:.3}"), (i as f64, v + 0.01), above.clone())),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn renders_four_panels() {
        let dir = out_dir("activations");
        let files =
            activation_functions(&dir, "activations", (-5.0, 5.0), &[2.0, 1.0, 0.1, -1.0]).unwrap();
        check_files(&files, 10_000);
        assert!(png_has_content(&files.png));
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        for name in ["ReLU", "sigmoid", "tanh", "softmax"] {
            assert!(svg.contains(name), "{name}");
        }
        assert!(activation_functions(&dir, "x", (1.0, 1.0), &[1.0]).is_err());
        assert!(activation_functions(&dir, "x", (0.0, 1.0), &[]).is_err());
    }

    #[test]
    fn softmax_is_stable_and_sums_to_one() {
        let p = softmax(&[1000.0, 1000.0, 0.0]);
        assert!((p[0] - 0.5).abs() < 1e-12 && p[2] < 1e-300);
        assert!((softmax(&[2.0, 1.0, 0.1]).iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
