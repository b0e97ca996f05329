//! The first test images in a grid, each titled on two lines `GT: a` / `P: b` (notebooks 001
//! and 003), wrong predictions in red with a red frame: the quickest way to see what kind of
//! mistakes a classifier makes.

use std::path::Path;

use super::image_grid::{image_grid, Cell};
use super::{Images, PlotFiles};
use crate::error::{Error, Result};

/// Writes `<stem>.png`/`.svg`: up to `cols x rows` images in order (the notebooks'
/// `plt.subplot(10, 5, i + 1)` is `cols = 5, rows = 10`), with ground truth and prediction
/// named by `class_names`.
pub fn prediction_grid<S: AsRef<str>>(
    dir: &Path,
    stem: &str,
    images: &Images,
    y_true: &[usize],
    y_pred: &[usize],
    class_names: &[S],
    (cols, rows): (usize, usize),
) -> Result<PlotFiles> {
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
    let names: Vec<&str> = class_names.iter().map(|s| s.as_ref()).collect();
    let mut cells = Vec::with_capacity(n);
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
        cells.push(Cell {
            image: Some(i),
            title: vec![format!("GT: {}", name(t)?), format!("P: {}", name(p)?)],
            wrong: t != p,
        });
    }
    let correct = cells.iter().filter(|c| !c.wrong).count();
    let heading = format!("Predictions: {correct}/{n} correct (wrong in red)");
    image_grid(dir, stem, images, &heading, &cells, cols)
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
                prediction_grid(&dir, &stem, &images, &y_true, &y_pred, &names, (5, 10)).unwrap();
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
