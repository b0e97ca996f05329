//! A few training images of every class, one column per class: a look at the data before
//! training (is it what the labels say? how varied is each class?).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{font, render, text_width, DrawResult, Figure, Images, PlotFiles};
use crate::error::{Error, Result};

const NAME_SIZE: f64 = 15.0;

/// Writes `<stem>.png`/`.svg`: for each class (a column titled with its name) the first
/// `per_class` images with that label, top to bottom. The lab's "5 per class, 10x5" is
/// `per_class = 5` with 10 classes. A class with fewer images leaves its cells empty.
pub fn sample_grid<S: AsRef<str>>(
    dir: &Path,
    stem: &str,
    images: &Images,
    labels: &[usize],
    class_names: &[S],
    per_class: usize,
) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    if class_names.is_empty() || per_class == 0 {
        return Err(Error::invalid(
            "sample grid needs at least one class and one image per class",
        ));
    }
    if labels.len() != images.len() {
        return Err(Error::invalid(format!(
            "{} labels for {} images",
            labels.len(),
            images.len()
        )));
    }
    let mut picks = vec![Vec::with_capacity(per_class); class_names.len()];
    for (i, &l) in labels.iter().enumerate() {
        let column = picks.get_mut(l).ok_or_else(|| {
            Error::invalid(format!(
                "label {l} at index {i} is out of range for {} classes",
                class_names.len()
            ))
        })?;
        if column.len() < per_class {
            column.push(i);
        }
    }
    let grid = Grid {
        images: *images,
        names: class_names.iter().map(|s| s.as_ref().to_string()).collect(),
        picks,
        per_class,
    };
    render(dir, stem, &grid)
}

struct Grid<'a> {
    images: Images<'a>,
    names: Vec<String>,
    picks: Vec<Vec<usize>>,
    per_class: usize,
}

const HEADER: u32 = 40;

impl Grid<'_> {
    fn scale(&self) -> usize {
        self.images.scale_for(84)
    }

    fn cell(&self) -> (u32, u32) {
        let img_w = (self.images.width() * self.scale()) as u32;
        let img_h = (self.images.height() * self.scale()) as u32;
        let name_w = self
            .names
            .iter()
            .map(|n| text_width(n, NAME_SIZE))
            .max()
            .unwrap_or(0);
        (img_w.max(name_w) + 12, img_h + 8)
    }
}

impl Figure for Grid<'_> {
    fn size(&self) -> (u32, u32) {
        let (cw, ch) = self.cell();
        (
            cw * self.names.len() as u32 + 16,
            ch * self.per_class as u32 + HEADER + 8,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let (cw, ch) = self.cell();
        let scale = self.scale();
        let img_w = (self.images.width() * scale) as i32;
        let center = Pos::new(HPos::Center, VPos::Center);
        for (c, (name, picks)) in self.names.iter().zip(&self.picks).enumerate() {
            let x0 = 8 + c as i32 * cw as i32;
            root.draw(&Text::new(
                name.clone(),
                (x0 + cw as i32 / 2, HEADER as i32 / 2),
                font(NAME_SIZE).pos(center),
            ))?;
            for (r, &index) in picks.iter().enumerate() {
                let y0 = HEADER as i32 + r as i32 * ch as i32;
                self.images
                    .draw(root, index, (x0 + (cw as i32 - img_w) / 2, y0 + 4), scale)?;
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
    fn one_column_per_class() {
        let dir = out_dir("sample-grid");
        let (data, labels) = fake_digits(100, 1);
        let images = Images::new(&data, 28, 28, 1).unwrap();
        let names = crate::data::FASHION_MNIST_CLASSES;
        let files = sample_grid(&dir, "samples", &images, &labels, &names, 5).unwrap();
        check_files(&files, 10_000);
        assert!(png_has_content(&files.png));
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        assert!(svg.contains("Ankle boot"));
        assert!(sample_grid(&dir, "bad", &images, &labels[1..], &names, 5).is_err());
    }
}
