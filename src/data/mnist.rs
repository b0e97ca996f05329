//! MNIST and Fashion-MNIST from a directory of the four standard IDX files.
//!
//! Both datasets share one layout, so one loader serves them; only the class names differ.

use std::path::{Path, PathBuf};

use super::dataset::{Dataset, Features};
use super::idx::read_idx;
use crate::error::{Error, Result};

/// The four files of MNIST's layout: (train images, train labels, test images, test labels).
pub const MNIST_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Fashion-MNIST's labels 0..9, in Zalando's order.
pub const FASHION_MNIST_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Loads MNIST's (train, test) from `dir`; each file may be raw or `.gz`.
pub fn load_mnist_dir(dir: &Path) -> Result<(Dataset, Dataset)> {
    let names = Dataset::digit_names(10);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    load_idx_dir(dir, &names)
}

/// Loads Fashion-MNIST's (train, test) from `dir`.
pub fn load_fashion_mnist_dir(dir: &Path) -> Result<(Dataset, Dataset)> {
    load_idx_dir(dir, &FASHION_MNIST_CLASSES)
}

/// Loads any dataset in MNIST's four-file layout, naming its classes.
pub fn load_idx_dir(dir: &Path, class_names: &[&str]) -> Result<(Dataset, Dataset)> {
    let [tri, trl, tei, tel] = MNIST_FILES.map(|name| find_file(dir, name));
    let train = load_idx_pair(&tri?, &trl?, class_names)?;
    let test = load_idx_pair(&tei?, &tel?, class_names)?;
    Ok((train, test))
}

/// True when `dir` holds all four files (raw or `.gz`).
pub fn has_idx_files(dir: &Path) -> bool {
    MNIST_FILES.iter().all(|n| find_file(dir, n).is_ok())
}

/// `dir/name`, else `dir/name.gz`.
fn find_file(dir: &Path, name: &str) -> Result<PathBuf> {
    let raw = dir.join(name);
    if raw.is_file() {
        return Ok(raw);
    }
    let gz = dir.join(format!("{name}.gz"));
    if gz.is_file() {
        return Ok(gz);
    }
    Err(Error::io(
        &raw,
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("neither {name} nor {name}.gz is there"),
        ),
    ))
}

/// Reads one images file (n × rows × cols) and its labels file (n) into a dataset of
/// `[rows, cols, 1]` images.
pub fn load_idx_pair(images: &Path, labels: &Path, class_names: &[&str]) -> Result<Dataset> {
    let img = read_idx(images)?;
    if img.dims.len() != 3 {
        return Err(Error::format(
            images,
            format!(
                "expected images of 3 dimensions (count, rows, cols), found dimensions {:?}",
                img.dims
            ),
        ));
    }
    let lab = read_idx(labels)?;
    if lab.dims.len() != 1 {
        return Err(Error::format(
            labels,
            format!(
                "expected labels of 1 dimension (count), found dimensions {:?}",
                lab.dims
            ),
        ));
    }
    if img.dims[0] != lab.dims[0] {
        return Err(Error::format(
            labels,
            format!(
                "{} labels for the {} images of {}",
                lab.dims[0],
                img.dims[0],
                images.display()
            ),
        ));
    }
    let labels_u32 = check_labels(&lab.data, class_names.len(), labels)?;
    let names = class_names.iter().map(|s| s.to_string()).collect();
    Dataset::new(
        Features::U8(img.data),
        vec![img.dims[1], img.dims[2], 1],
        labels_u32,
        names,
    )
    .map_err(|e| Error::format(images, e.to_string()))
}

/// Labels as u32, each checked to be below `num_classes`; errors name `path`.
pub(crate) fn check_labels(labels: &[u8], num_classes: usize, path: &Path) -> Result<Vec<u32>> {
    if let Some((i, &bad)) = labels
        .iter()
        .enumerate()
        .find(|(_, &l)| l as usize >= num_classes)
    {
        return Err(Error::format(
            path,
            format!(
                "label {bad} of sample {i} is out of range: expected 0..={}",
                num_classes.saturating_sub(1)
            ),
        ));
    }
    Ok(labels.iter().map(|&l| l as u32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::idx::{write_idx, write_idx_gz};

    fn temp_dir(tag: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("nabla-mnist-{tag}"))
            .tempdir()
            .unwrap()
    }

    /// Writes a tiny MNIST-layout dataset: `n` train and `n / 2` test 4x3 images.
    fn write_tiny(dir: &Path, n: usize, gz: bool) {
        let write = if gz { write_idx_gz } else { write_idx };
        let sfx = if gz { ".gz" } else { "" };
        for (prefix, count) in [("train", n), ("t10k", n / 2)] {
            let pixels: Vec<u8> = (0..count * 12).map(|i| (i * 7 % 256) as u8).collect();
            let labels: Vec<u8> = (0..count).map(|i| (i % 10) as u8).collect();
            write(
                &dir.join(format!("{prefix}-images-idx3-ubyte{sfx}")),
                &[count, 4, 3],
                &pixels,
            )
            .unwrap();
            write(
                &dir.join(format!("{prefix}-labels-idx1-ubyte{sfx}")),
                &[count],
                &labels,
            )
            .unwrap();
        }
    }

    #[test]
    fn loads_raw_and_gz() {
        for gz in [false, true] {
            let dir = temp_dir("ok");
            write_tiny(dir.path(), 20, gz);
            let (train, test) = load_mnist_dir(dir.path()).unwrap();
            assert_eq!(train.len(), 20);
            assert_eq!(test.len(), 10);
            assert_eq!(train.sample_shape, vec![4, 3, 1]);
            assert_eq!(train.labels[13], 3);
            assert_eq!(train.features.get(12 + 1), 91.0);
            assert_eq!(test.class_names[9], "9");
        }
    }

    #[test]
    fn count_mismatch_and_bad_labels_name_the_file() {
        let dir = temp_dir("bad");
        write_tiny(dir.path(), 20, false);
        let lab = dir.path().join("train-labels-idx1-ubyte");
        write_idx(&lab, &[19], &[0; 19]).unwrap();
        let e = load_mnist_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("19 labels for the 20 images"), "{e}");
        assert!(e.contains("train-labels-idx1-ubyte"), "{e}");
        let mut labels = vec![0u8; 20];
        labels[5] = 10;
        write_idx(&lab, &[20], &labels).unwrap();
        let e = load_mnist_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("label 10 of sample 5 is out of range"), "{e}");
        write_idx(&lab, &[4, 5], &labels).unwrap();
        let e = load_mnist_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("expected labels of 1 dimension"), "{e}");
        std::fs::remove_file(&lab).unwrap();
        let e = load_mnist_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("train-labels-idx1-ubyte.gz"), "{e}");
    }

    #[test]
    fn real_fashion_mnist_when_installed() {
        let dir = Path::new("/usr/share/datasets/fashion-mnist");
        if !has_idx_files(dir) {
            eprintln!(
                "note: {} not found (apt-get install dataset-fashion-mnist); skipping",
                dir.display()
            );
            return;
        }
        let (train, test) = load_fashion_mnist_dir(dir).unwrap();
        assert_eq!((train.len(), test.len()), (60_000, 10_000));
        assert_eq!(train.sample_shape, vec![28, 28, 1]);
        assert_eq!(train.class_names[9], "Ankle boot");
        for c in 0..10u32 {
            assert_eq!(train.labels.iter().filter(|&&l| l == c).count(), 6000);
            assert_eq!(test.labels.iter().filter(|&&l| l == c).count(), 1000);
        }
        // The first training image is an ankle boot (label 9).
        assert_eq!(train.labels[0], 9);
    }
}
