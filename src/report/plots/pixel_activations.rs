//! ReLU and sigmoid applied to real pixel values, as scatter plots side by side: notebook
//! 002's cell \[4\], which plots `relu(p)` and `sigmoid(p)` against the first training image's
//! raw pixel values `p` (0-255) to show what each function does to the inputs it will see.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{font, padded_range, render, DrawResult, Figure, PlotFiles};
use crate::error::{Error, Result};

/// Writes `<stem>.png`/`.svg`: left `relu(p)` against `p` in blue, right `sigmoid(p)` in red.
pub fn pixel_activations(dir: &Path, stem: &str, pixels: &[f64]) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    if pixels.is_empty() || pixels.iter().any(|p| !p.is_finite()) {
        return Err(Error::invalid(
            "pixel activations need a non-empty list of finite pixel values",
        ));
    }
    render(dir, stem, &Scatter(pixels.to_vec()))
}

pub fn relu(x: f64) -> f64 {
    x.max(0.0)
}

/// `1 / (1 + e^-x)`, in f64 so no value of a pixel overflows. (The notebook's numpy version
/// negates a uint8 array, which wraps around: `-x` is `256 - x`, and `exp` overflows.)
pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

struct Scatter(Vec<f64>);

impl Figure for Scatter {
    fn size(&self) -> (u32, u32) {
        (1200, 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let panels = root.split_evenly((1, 2));
        let relu_color = RGBColor(0, 0, 255);
        let sigmoid_color = RGBColor(255, 0, 0);
        panel(
            &panels[0],
            "ReLU Activation Function",
            "ReLU Output",
            &self.0,
            relu,
            relu_color,
        )?;
        panel(
            &panels[1],
            "Sigmoid Activation Function",
            "Sigmoid Output",
            &self.0,
            sigmoid,
            sigmoid_color,
        )
    }
}

fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    y_desc: &str,
    pixels: &[f64],
    f: fn(f64) -> f64,
    color: RGBColor,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let points: Vec<(f64, f64)> = pixels.iter().map(|&p| (p, f(p))).collect();
    let (x0, x1) = padded_range(points.iter().map(|p| p.0));
    let (y0, y1) = padded_range(points.iter().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(22.0))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    chart
        .configure_mesh()
        .x_desc("Input Pixel Value")
        .y_desc(y_desc)
        .label_style(font(14.0))
        .axis_desc_style(font(16.0))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(
        points
            .into_iter()
            .map(|p| Circle::new(p, 2, color.mix(0.5).filled())),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn scatter_of_both_functions() {
        let dir = out_dir("pixel-activations");
        let pixels: Vec<f64> = (0..3072).map(|i| (i * 37 % 256) as f64).collect();
        let files = pixel_activations(&dir, "pixels", &pixels).unwrap();
        check_files(&files, 5_000);
        assert!(png_has_content(&files.png));
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        assert!(svg.contains("ReLU Activation Function"));
        assert!(svg.contains("Sigmoid Activation Function"));
        assert!(pixel_activations(&dir, "bad", &[]).is_err());
        assert!(pixel_activations(&dir, "bad", &[f64::NAN]).is_err());
    }

    #[test]
    fn functions_on_pixel_values() {
        assert_eq!(relu(200.0), 200.0);
        assert_eq!(relu(-3.0), 0.0);
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(255.0) == 1.0 && sigmoid(-800.0) == 0.0);
    }
}
