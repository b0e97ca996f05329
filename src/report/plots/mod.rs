//! Plots as PNG and SVG, drawn once by the same code for both formats.
//!
//! Text is rendered with DejaVu Sans compiled into the binary (plotters' `ab_glyph`
//! feature), so a machine with no fonts and no fontconfig draws the same pictures. Each plot
//! function writes `<stem>.png` and `<stem>.svg` into a directory, atomically, and returns the
//! two paths.

pub mod activations;
pub mod confusion;
pub mod curves;
pub mod errorbars;
pub mod gradient_bars;
pub mod gradient_evolution;
mod image_cell;
pub mod image_grid;
mod lines;
pub mod pixel_activations;
pub mod prediction_grid;
pub mod runs_overlay;
pub mod sample_grid;
mod text_bitmap;

pub use activations::activation_functions;
pub use confusion::confusion_heatmap;
pub use curves::{single_curve, staged_training_curves, training_curves, Quantity, TrainingCurves};
pub use errorbars::{error_bars_log_x, mean_std};
pub use gradient_bars::gradient_bars;
pub use gradient_evolution::gradient_evolution;
pub use image_cell::Images;
pub use image_grid::{first_images, image_grid, Cell};
pub use pixel_activations::pixel_activations;
pub use prediction_grid::prediction_grid;
pub use runs_overlay::runs_overlay;
pub use sample_grid::sample_grid;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result};
use crate::report::atomic::write_atomic;

/// DejaVu Sans 2.37 (Bitstream Vera license, see `assets/fonts/LICENSE-DejaVu.txt`).
static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

/// The family name plots ask for; SVG viewers fall back to their own sans-serif.
pub(crate) const FAMILY: &str = "sans-serif";

/// Registers the embedded font under the generic family names once per process.
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            // The bytes are a valid TrueType font checked by the tests; a failure here
            // would only mean text is missing, which the SVG/PNG tests catch.
            let _ = plotters::style::register_font(family, FontStyle::Normal, FONT);
        }
    });
}

/// Title and axis descriptions for plots that take them from the caller.
#[derive(Debug, Clone, Copy)]
pub struct ChartText<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
}

/// The two files a plot writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotFiles {
    pub png: PathBuf,
    pub svg: PathBuf,
}

/// What drawing code returns: plotters' backend errors boxed, turned into `Error` by `render`.
pub(crate) type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

/// A picture that can be drawn on any plotters backend, so PNG and SVG share one code path.
pub(crate) trait Figure {
    /// Canvas size in pixels (SVG uses the same units).
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static;
}

/// Draws `figure` to `<dir>/<stem>.png` and `<dir>/<stem>.svg`.
pub(crate) fn render(dir: &Path, stem: &str, figure: &impl Figure) -> Result<PlotFiles> {
    register_font();
    let (w, h) = figure.size();
    let fail = |e: Box<dyn std::error::Error>| Error::invalid(format!("plot {stem}: {e}"));

    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let root = text_bitmap::TextBitmap::new(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.into()))?;
        figure.draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }
    let png_path = dir.join(format!("{stem}.png"));
    write_atomic(&png_path, &encode_png(&rgb, w, h)?)?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.into()))?;
        figure.draw(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }
    let svg_path = dir.join(format!("{stem}.svg"));
    write_atomic(&svg_path, svg.as_bytes())?;
    Ok(PlotFiles {
        png: png_path,
        svg: svg_path,
    })
}

/// Encodes an 8-bit RGB buffer (`w x h x 3`) as PNG in memory, so files can be written
/// atomically and images inlined without touching disk.
pub fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let err = |e: png::EncodingError| Error::invalid(format!("PNG encoding failed: {e}"));
    let mut writer = enc.write_header().map_err(err)?;
    writer.write_image_data(rgb).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

/// Text style in the embedded font.
pub(crate) fn font(size: f64) -> TextStyle<'static> {
    (FAMILY, size).into_font().into()
}

/// Distinct, colour-blind-friendly line colours (matplotlib's tab10), cycled.
pub(crate) fn series_color(i: usize) -> RGBColor {
    const TAB10: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = TAB10[i % TAB10.len()];
    RGBColor(r, g, b)
}

/// Width in pixels of `text` at `size` in the embedded font (for laying out grids).
pub(crate) fn text_width(text: &str, size: f64) -> u32 {
    let font = text_bitmap::embedded_font();
    text_bitmap::measure(&font, size, text).0.ceil() as u32
}

/// `(min, max)` of finite values with a little headroom; a flat or empty series still gets a
/// non-empty range so the axis can be drawn.
pub(crate) fn padded_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - pad, hi + pad)
}

/// Checks that a directory for plot files exists, with a clear error if not.
pub(crate) fn check_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "output directory does not exist",
            ),
        ))
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Checks every plot test makes: a real PNG of some size and an SVG with text in it.
    use std::path::PathBuf;

    /// A fixed directory per test (overwritten each run, so nothing piles up; left in place
    /// so the pictures can be looked at).
    pub fn out_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join("nabla-plot-tests").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    pub fn check_files(files: &super::PlotFiles, min_png_bytes: usize) {
        let png = std::fs::read(&files.png).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{}", files.png.display());
        assert!(
            png.len() > min_png_bytes,
            "{}: only {} bytes",
            files.png.display(),
            png.len()
        );
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        let head = svg.trim_start();
        assert!(
            head.starts_with("<svg") || head.starts_with("<?xml"),
            "{}",
            files.svg.display()
        );
        assert!(
            svg.trim_end().ends_with("</svg>"),
            "{}",
            files.svg.display()
        );
        let texts = svg.matches("<text").count();
        assert!(texts > 0, "{}: no text elements", files.svg.display());
        assert!(
            !svg.contains("></text>"),
            "{}: an empty text element",
            files.svg.display()
        );
    }

    /// Fake 28x28 "digits": a bright bar whose position depends on the class.
    pub fn fake_digits(n: usize, channels: usize) -> (Vec<u8>, Vec<usize>) {
        let mut data = vec![0u8; n * 28 * 28 * channels];
        let mut labels = Vec::with_capacity(n);
        for i in 0..n {
            let class = (i * 7 + 3) % 10;
            labels.push(class);
            for r in 4..24 {
                for c in 0..28 {
                    let on = c >= 2 + 2 * class && c < 6 + 2 * class;
                    for ch in 0..channels {
                        let v = if on {
                            255 - (ch as u8) * 60
                        } else {
                            (r * 3 + ch * 40) as u8
                        };
                        data[((i * 28 + r) * 28 + c) * channels + ch] = v;
                    }
                }
            }
        }
        (data, labels)
    }

    /// Whether the PNG has real content: decode it and require pixel variance.
    pub fn png_has_content(path: &std::path::Path) -> bool {
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let px = &buf[..info.buffer_size()];
        let mean = px.iter().map(|&v| v as f64).sum::<f64>() / px.len() as f64;
        let var = px.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / px.len() as f64;
        var > 10.0
    }
}
