//! Finding a named dataset wherever it already is, and downloading it only as a last resort:
//! an explicit folder, then nabla's cache, then Keras's cache, then the network.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::cifar::{has_cifar10, load_cifar10};
use super::dataset::Dataset;
use super::download::{
    cache_dir, fetch_source, Source, CIFAR10_SOURCE, FASHION_MNIST_SOURCE, MNIST_SOURCE,
};
use super::mnist::{has_idx_files, load_fashion_mnist_dir, load_mnist_dir, FASHION_MNIST_CLASSES};
use super::npz::load_mnist_npz;
use crate::error::{Error, Result};

/// The datasets nabla can find or fetch by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatasetName {
    Mnist,
    FashionMnist,
    Cifar10,
}

impl FromStr for DatasetName {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "mnist" => Ok(DatasetName::Mnist),
            "fashion-mnist" | "fashionmnist" | "fashion" => Ok(DatasetName::FashionMnist),
            "cifar10" | "cifar-10" => Ok(DatasetName::Cifar10),
            _ => Err(Error::invalid(format!(
                "unknown dataset {s:?}: expected mnist, fashion-mnist or cifar10"
            ))),
        }
    }
}

impl DatasetName {
    /// Where its official files come from.
    pub fn source(self) -> &'static Source {
        match self {
            DatasetName::Mnist => &MNIST_SOURCE,
            DatasetName::FashionMnist => &FASHION_MNIST_SOURCE,
            DatasetName::Cifar10 => &CIFAR10_SOURCE,
        }
    }

    /// Loads it from a folder (or, for CIFAR-10, an archive) that holds it.
    pub fn load_from(self, path: &Path) -> Result<(Dataset, Dataset)> {
        match self {
            DatasetName::Mnist => load_mnist_dir(path),
            DatasetName::FashionMnist => load_fashion_mnist_dir(path),
            DatasetName::Cifar10 => load_cifar10(path),
        }
    }

    fn found_in(self, path: &Path) -> bool {
        match self {
            DatasetName::Cifar10 => has_cifar10(path),
            _ => has_idx_files(path),
        }
    }
}

/// Where to look, and whether the network may be used.
#[derive(Clone, Debug, Default)]
pub struct ResolveOptions {
    /// A folder given by the user: used alone, its errors reported as they are.
    pub dir: Option<PathBuf>,
    /// nabla's cache root; `None` means [`cache_dir`].
    pub cache_dir: Option<PathBuf>,
    /// Keras's dataset cache; `None` means `$KERAS_HOME/datasets` or `~/.keras/datasets`.
    pub keras_dir: Option<PathBuf>,
    /// Never touch the network.
    pub offline: bool,
    /// Show download progress on stderr.
    pub progress: bool,
    /// Replaces the official base URL (mirrors, tests).
    pub base_url: Option<String>,
}

/// Keras's dataset cache folder.
pub fn keras_datasets_dir() -> Option<PathBuf> {
    if let Some(h) = std::env::var_os("KERAS_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(h).join("datasets"));
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    Some(PathBuf::from(home).join(".keras").join("datasets"))
}

/// Loads `name` from Keras's dataset cache `keras` if Keras has it there, in the layout Keras
/// writes: `mnist.npz`; `fashion-mnist/*-ubyte.gz` (or a `fashion_mnist.npz`); CIFAR-10 as
/// Keras 3 extracts it (`cifar-10-batches-py-target/cifar-10-batches-py/`) or Keras 2 did
/// (`cifar-10-batches-py/`). `None` when the files are not there.
pub fn from_keras_cache(name: DatasetName, keras: &Path) -> Option<Result<(Dataset, Dataset)>> {
    Some(match name {
        DatasetName::Mnist if keras.join("mnist.npz").is_file() => {
            let digits = Dataset::digit_names(10);
            let digits: Vec<&str> = digits.iter().map(String::as_str).collect();
            load_mnist_npz(&keras.join("mnist.npz"), &digits)
        }
        DatasetName::FashionMnist if has_idx_files(&keras.join("fashion-mnist")) => {
            load_fashion_mnist_dir(&keras.join("fashion-mnist"))
        }
        DatasetName::FashionMnist if keras.join("fashion_mnist.npz").is_file() => {
            load_mnist_npz(&keras.join("fashion_mnist.npz"), &FASHION_MNIST_CLASSES)
        }
        DatasetName::Cifar10 if has_cifar10(&keras.join("cifar-10-batches-py-target")) => {
            load_cifar10(&keras.join("cifar-10-batches-py-target"))
        }
        DatasetName::Cifar10 if has_cifar10(keras) => load_cifar10(keras),
        _ => return None,
    })
}

/// Finds `name` and loads its (train, test): explicit dir → nabla's cache → Keras's cache →
/// download into nabla's cache (unless offline).
pub fn resolve(name: DatasetName, options: &ResolveOptions) -> Result<(Dataset, Dataset)> {
    if let Some(dir) = &options.dir {
        return name.load_from(dir);
    }
    let cache = options.cache_dir.clone().unwrap_or_else(cache_dir);
    let source = name.source();
    let cached = cache.join(source.folder);
    if name.found_in(&cached) {
        return name.load_from(&cached);
    }
    if let Some(keras) = options.keras_dir.clone().or_else(keras_datasets_dir) {
        if let Some(found) = from_keras_cache(name, &keras) {
            return found;
        }
    }
    let dir = fetch_source(
        source,
        &cache,
        options.base_url.as_deref(),
        options.offline,
        options.progress,
    )?;
    name.load_from(&dir)
}
