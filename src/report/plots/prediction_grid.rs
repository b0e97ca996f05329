//! The first test images in a grid, each titled "GT: a / P: b", wrong predictions in red with
//! a red frame: the quickest way to see what kind of mistakes a classifier makes.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{font, render, text_width, DrawResult, Figure, Images, PlotFiles};
use crate::error::{Error, Result};

const WRONG: RGBColor = RGBColor(214, 39, 40);
const TITLE_SIZE: f64 = 15.0;

/// Writes `<stem>.png`/`.svg`: up to `cols x rows` images (the lab's 10x5 is `cols = 10,
/// rows = 5`), in order, with ground truth and prediction named by `class_names`.
pub fn prediction_grid<S: AsRef<str>>(
    dir: &Path,
    stem: &str,
    images: &Images,
    y_true: &[usize],
    y_pred: &[usize],
    class_names: &[S],
    (cols, rows): (usize, usize),
) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    let n = images
        .len()
        .min(cols * rows)
        .min(y_true.len())
        .min(y_pred.len());
    if n == 0 || cols == 0 {
        return Err(Error::invalid(
            "prediction grid needs at least one image with a label and a prediction",
        ));
    }
    if y_true.len() < n || y_pred.len() < n {
        return Err(Error::invalid("fewer labels or predictions than images"));
    }
    let names: Vec<&str> = class_names.iter().map(|s| s.as_ref()).collect();
    let mut titles = Vec::with_capacity(n);
    for i in 0..n {
        let (t, p) = (y_true[i], y_pred[i]);
        let name = |c: usize| {
            names.get(c).copied().ok_or_else(|| {
                Error::invalid(format!(
                    "label {c} at index {i} has no class name ({} names)",
                    names.len()
                ))
            })
        };
        titles.push((format!("GT: {} / P: {}", name(t)?, name(p)?), t == p));
    }
    let grid = Grid {
        images: *images,
        titles,
        cols: cols.min(n),
    };
    render(dir, stem, &grid)
}

struct Grid<'a> {
    images: Images<'a>,
    titles: Vec<(String, bool)>,
    cols: usize,
}

impl Grid<'_> {
    fn scale(&self) -> usize {
        self.images.scale_for(84)
    }

    /// Cell width: the wider of the image and its longest title.
    fn cell(&self) -> (u32, u32) {
        let img_w = (self.images.width() * self.scale()) as u32;
        let img_h = (self.images.height() * self.scale()) as u32;
        let title_w = self
            .titles
            .iter()
            .map(|(t, _)| text_width(t, TITLE_SIZE))
            .max()
            .unwrap_or(0);
        (img_w.max(title_w) + 16, img_h + 34)
    }

    fn rows(&self) -> usize {
        self.titles.len().div_ceil(self.cols)
    }
}

const HEADER: u32 = 44;

impl Figure for Grid<'_> {
    fn size(&self) -> (u32, u32) {
        let (cw, ch) = self.cell();
        (
            cw * self.cols as u32 + 16,
            ch * self.rows() as u32 + HEADER + 8,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (w, _) = self.size();
        let (cw, ch) = self.cell();
        let correct = self.titles.iter().filter(|(_, ok)| *ok).count();
        let heading = format!(
            "Predictions: {correct}/{} correct (wrong in red)",
            self.titles.len()
        );
        let center = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            heading,
            (w as i32 / 2, HEADER as i32 / 2),
            font(20.0).pos(center),
        ))?;
        let scale = self.scale();
        let img_w = (self.images.width() * scale) as i32;
        let img_h = (self.images.height() * scale) as i32;
        for (i, (title, ok)) in self.titles.iter().enumerate() {
            let (r, c) = ((i / self.cols) as i32, (i % self.cols) as i32);
            let x0 = 8 + c * cw as i32;
            let y0 = HEADER as i32 + r * ch as i32;
            let color = if *ok { BLACK } else { WRONG };
            let style = font(TITLE_SIZE).color(&color).pos(center);
            root.draw(&Text::new(
                title.clone(),
                (x0 + cw as i32 / 2, y0 + 11),
                style,
            ))?;
            let ix = x0 + (cw as i32 - img_w) / 2;
            let iy = y0 + 24;
            self.images.draw(root, i, (ix, iy), scale)?;
            if !ok {
                root.draw(&Rectangle::new(
                    [(ix - 3, iy - 3), (ix + img_w + 2, iy + img_h + 2)],
                    WRONG.stroke_width(3),
                ))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn renders_grayscale_and_rgb_grids() {
        let dir = out_dir("pred-grid");
        let names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
        for channels in [1, 3] {
            let (data, y_true) = fake_digits(60, channels);
            let y_pred: Vec<usize> = y_true
                .iter()
                .enumerate()
                .map(|(i, &t)| if i % 7 == 0 { (t + 1) % 10 } else { t })
                .collect();
            let images = Images::new(&data, 28, 28, channels).unwrap();
            let stem = format!("pred{channels}");
            let files =
                prediction_grid(&dir, &stem, &images, &y_true, &y_pred, &names, (10, 5)).unwrap();
            check_files(&files, 10_000);
            assert!(png_has_content(&files.png));
            let svg = std::fs::read_to_string(&files.svg).unwrap();
            assert_eq!(svg.matches("GT: ").count(), 50, "first 50 of 60 images");
            assert!(svg.contains("#D62728"), "wrong predictions drawn in red");
        }
    }

    #[test]
    fn unknown_class_is_an_error() {
        let dir = out_dir("pred-grid-err");
        let (data, y_true) = fake_digits(3, 1);
        let images = Images::new(&data, 28, 28, 1).unwrap();
        let e = prediction_grid(
            &dir,
            "p",
            &images,
            &y_true,
            &[0, 1, 2],
            &["a", "b"],
            (10, 5),
        )
        .unwrap_err();
        assert!(e.to_string().contains("no class name"), "{e}");
    }
}
