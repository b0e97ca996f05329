//! A few training images of every class, one row per class with each image titled by its
//! class name (notebooks 001 and 003, `plt.subplots(10, 5)`): a look at the data before
//! training (is it what the labels say? how varied is each class?).

use std::path::Path;

use super::image_grid::{image_grid, Cell};
use super::{Images, PlotFiles};
use crate::error::{Error, Result};

/// Writes `<stem>.png`/`.svg`: for each class a row of the first `per_class` images with
/// that label, each titled with the class name. The notebooks' 10x5 is `per_class = 5` with
/// 10 classes. A class with fewer images leaves its cells empty.
pub fn sample_grid<S: AsRef<str>>(
    dir: &Path,
    stem: &str,
    images: &Images,
    labels: &[usize],
    class_names: &[S],
    per_class: usize,
) -> Result<PlotFiles> {
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
        let row = picks.get_mut(l).ok_or_else(|| {
            Error::invalid(format!(
                "label {l} at index {i} is out of range for {} classes",
                class_names.len()
            ))
        })?;
        if row.len() < per_class {
            row.push(i);
        }
    }
    let mut cells = Vec::with_capacity(class_names.len() * per_class);
    for (name, row) in class_names.iter().zip(&picks) {
        for k in 0..per_class {
            let image = row.get(k).copied();
            cells.push(Cell {
                image,
                title: image
                    .map(|_| name.as_ref().to_string())
                    .into_iter()
                    .collect(),
                wrong: false,
            });
        }
    }
    let heading = format!("{per_class} training images of each class");
    image_grid(dir, stem, images, &heading, &cells, per_class)
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    #[test]
    fn one_row_per_class_each_image_titled() {
        let dir = out_dir("sample-grid");
        let (data, labels) = fake_digits(100, 1);
        let images = Images::new(&data, 28, 28, 1).unwrap();
        let names = crate::data::FASHION_MNIST_CLASSES;
        let files = sample_grid(&dir, "samples", &images, &labels, &names, 5).unwrap();
        check_files(&files, 10_000);
        assert!(png_has_content(&files.png));
        let svg = std::fs::read_to_string(&files.svg).unwrap();
        assert_eq!(svg.matches("Ankle boot").count(), 5, "each image titled");
        assert!(sample_grid(&dir, "bad", &images, &labels[1..], &names, 5).is_err());
    }
}
