//! Images in a grid, each under its own title of one or more lines: matplotlib's
//! `plt.subplot(rows, cols, i + 1)` with `plt.title(...)`, the layout of every image figure in
//! the notebooks (the 3x3 first images, the 10x5 samples per class, the 10x5 predictions).

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{font, render, text_width, DrawResult, Figure, Images, PlotFiles};
use crate::error::{Error, Result};

pub(crate) const WRONG: RGBColor = RGBColor(214, 39, 40);
const TITLE_SIZE: f64 = 15.0;
const LINE: u32 = 18;
const HEADER: u32 = 44;

/// One cell of the grid: an image (or none, left blank) under its title lines; `wrong` draws
/// the title and a frame in red.
#[derive(Clone, Debug)]
pub struct Cell {
    pub image: Option<usize>,
    pub title: Vec<String>,
    pub wrong: bool,
}

/// Writes `<stem>.png`/`.svg`: `cells` row by row, `cols` across, under `heading`.
pub fn image_grid(
    dir: &Path,
    stem: &str,
    images: &Images,
    heading: &str,
    cells: &[Cell],
    cols: usize,
) -> Result<PlotFiles> {
    super::check_dir(dir)?;
    if cells.is_empty() || cols == 0 {
        return Err(Error::invalid("an image grid needs at least one cell"));
    }
    if let Some(i) = cells
        .iter()
        .filter_map(|c| c.image)
        .find(|&i| i >= images.len())
    {
        return Err(Error::invalid(format!(
            "image {i} is out of range for {} images",
            images.len()
        )));
    }
    let grid = Grid {
        images: *images,
        heading: heading.to_string(),
        cells: cells.to_vec(),
        cols: cols.min(cells.len()),
    };
    render(dir, stem, &grid)
}

struct Grid<'a> {
    images: Images<'a>,
    heading: String,
    cells: Vec<Cell>,
    cols: usize,
}

impl Grid<'_> {
    fn scale(&self) -> usize {
        self.images.scale_for(84)
    }

    fn title_lines(&self) -> u32 {
        self.cells.iter().map(|c| c.title.len()).max().unwrap_or(0) as u32
    }

    /// Cell size: the wider of the image and its longest title line.
    fn cell(&self) -> (u32, u32) {
        let img_w = (self.images.width() * self.scale()) as u32;
        let img_h = (self.images.height() * self.scale()) as u32;
        let title_w = self
            .cells
            .iter()
            .flat_map(|c| &c.title)
            .map(|t| text_width(t, TITLE_SIZE))
            .max()
            .unwrap_or(0);
        (
            img_w.max(title_w) + 16,
            img_h + LINE * self.title_lines() + 16,
        )
    }

    fn rows(&self) -> usize {
        self.cells.len().div_ceil(self.cols)
    }
}

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
        let center = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            self.heading.clone(),
            (w as i32 / 2, HEADER as i32 / 2),
            font(20.0).pos(center),
        ))?;
        let scale = self.scale();
        let img_w = (self.images.width() * scale) as i32;
        let img_h = (self.images.height() * scale) as i32;
        let titles_h = (LINE * self.title_lines()) as i32;
        for (i, cell) in self.cells.iter().enumerate() {
            let (r, c) = ((i / self.cols) as i32, (i % self.cols) as i32);
            let x0 = 8 + c * cw as i32;
            let y0 = HEADER as i32 + r * ch as i32;
            let color = if cell.wrong { WRONG } else { BLACK };
            for (k, line) in cell.title.iter().enumerate() {
                let style = font(TITLE_SIZE).color(&color).pos(center);
                let y = y0 + 10 + k as i32 * LINE as i32;
                root.draw(&Text::new(line.clone(), (x0 + cw as i32 / 2, y), style))?;
            }
            let Some(index) = cell.image else { continue };
            let ix = x0 + (cw as i32 - img_w) / 2;
            let iy = y0 + titles_h + 6;
            self.images.draw(root, index, (ix, iy), scale)?;
            if cell.wrong {
                root.draw(&Rectangle::new(
                    [(ix - 3, iy - 3), (ix + img_w + 2, iy + img_h + 2)],
                    WRONG.stroke_width(3),
                ))?;
            }
        }
        Ok(())
    }
}

/// The first `n` images on a square-ish grid (9 → 3x3), each titled with its class name:
/// notebook 002's `plot_sample_images`.
pub fn first_images<S: AsRef<str>>(
    dir: &Path,
    stem: &str,
    images: &Images,
    labels: &[usize],
    class_names: &[S],
) -> Result<PlotFiles> {
    let n = images.len().min(labels.len());
    let cells = labels[..n]
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let name = class_names.get(l).ok_or_else(|| {
                Error::invalid(format!("label {l} at index {i} has no class name"))
            })?;
            Ok(Cell {
                image: Some(i),
                title: vec![name.as_ref().to_string()],
                wrong: false,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let cols = (n as f64).sqrt().ceil().max(1.0) as usize;
    let heading = format!("The first {n} training images");
    image_grid(dir, stem, images, &heading, &cells, cols)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn titles_of_several_lines_and_blank_cells() {
        let dir = out_dir("image-grid");
        let (data, _) = fake_digits(4, 3);
        let images = Images::new(&data, 28, 28, 3).unwrap();
        let cells = vec![
            Cell {
                image: Some(0),
                title: vec!["GT: cat".into(), "P: dog".into()],
                wrong: true,
            },
            Cell {
                image: None,
                title: vec![],
                wrong: false,
            },
            Cell {
                image: Some(3),
                title: vec!["GT: dog".into(), "P: dog".into()],
                wrong: false,
            },
        ];
        let files = image_grid(&dir, "grid", &images, "heading", &cells, 2).unwrap();
        check_files(&files, 2_000);
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        assert_eq!(svg.matches("GT: ").count(), 2);
        assert_eq!(svg.matches("P: dog").count(), 2);
        assert!(svg.contains("#D62728"), "the wrong one in red");
        let out_of_range = [Cell {
            image: Some(4),
            title: vec![],
            wrong: false,
        }];
        assert!(image_grid(&dir, "bad", &images, "h", &out_of_range, 1).is_err());
    }

    #[test]
    fn first_nine_on_three_by_three_with_class_names() {
        let dir = out_dir("first-images");
        let (data, labels) = fake_digits(9, 3);
        let images = Images::new(&data, 28, 28, 3).unwrap();
        let names = crate::data::CIFAR10_CLASSES;
        let files = first_images(&dir, "first", &images, &labels, &names).unwrap();
        check_files(&files, 2_000);
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        for &l in &labels {
            assert!(svg.contains(names[l]), "{}", names[l]);
        }
        let grid = Grid {
            images,
            heading: String::new(),
            cells: vec![
                Cell {
                    image: Some(0),
                    title: vec![],
                    wrong: false
                };
                9
            ],
            cols: 3,
        };
        assert_eq!(grid.rows(), 3);
    }
}
