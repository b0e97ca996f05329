//! One description of "which data, split and preprocessed how", shared by `nabla train`'s flags
//! and the `[data]` section of experiment files, so both load data the same way.

use super::{
    mnist_sample, read_csv, resolve, split_indices, standardize, CsvOptions, Dataset, DatasetName,
    Features, LabelColumn, ResolveOptions,
};
use crate::error::{Error, Result};
use crate::random::NumpyRandomState;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Where Debian's `dataset-fashion-mnist` package puts the files.
pub const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The datasets nabla can load by name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataSource {
    /// The 5,000 real MNIST digits built into nabla (4,000 train / 1,000 test).
    #[default]
    MnistSample,
    /// MNIST: `dir`, the cache, Keras's mnist.npz, or a download.
    Mnist,
    /// Fashion-MNIST: `dir`, Debian's package, the cache, or a download.
    FashionMnist,
    /// CIFAR-10: `dir` (archive or folder, binary or Python), the cache, or a download.
    Cifar10,
    /// A CSV file of pixel columns and a label column (`csv`).
    Csv,
    /// Benchmarks only: 50,000 training and 10,000 test images of uniform random pixels in
    /// CIFAR-10's shape, with random labels. Measures speed; there is nothing to learn.
    RandomCifar10,
}

impl DataSource {
    pub fn name(self) -> &'static str {
        match self {
            DataSource::MnistSample => "mnist-sample",
            DataSource::Mnist => "mnist",
            DataSource::FashionMnist => "fashion-mnist",
            DataSource::Cifar10 => "cifar10",
            DataSource::Csv => "csv",
            DataSource::RandomCifar10 => "random-cifar10",
        }
    }

    /// Per-sample shape, when the name alone says it (not for CSV).
    pub fn input_shape(self) -> Option<Vec<usize>> {
        match self {
            DataSource::MnistSample | DataSource::Mnist | DataSource::FashionMnist => {
                Some(vec![28, 28, 1])
            }
            DataSource::Cifar10 | DataSource::RandomCifar10 => Some(vec![32, 32, 3]),
            DataSource::Csv => None,
        }
    }
}

/// How stored pixel bytes are presented to the model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scaling {
    /// Pixels divided by 255, to [0, 1] (what every lab does first).
    #[default]
    Unit,
    /// Values as stored (0..=255 for images).
    None,
}

/// Which data to load and how to split and preprocess it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    #[serde(default)]
    pub source: DataSource,
    /// Where the dataset's files are (a directory, or an archive for CIFAR-10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Never download: use only local files, and say which are missing.
    #[serde(default)]
    pub offline: bool,
    #[serde(default)]
    pub scaling: Scaling,
    /// Hold out this fraction of the training data for validation; otherwise the test set
    /// validates (as the labs do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_split: Option<f64>,
    /// Seed of the validation split and of `limit`'s choice of samples (numpy's
    /// RandomState permutation, as scikit-learn uses).
    #[serde(default = "default_split_seed")]
    pub split_seed: u32,
    /// Standardize each feature with mean and deviation fitted on the training data only.
    #[serde(default)]
    pub standardize: bool,
    /// What `standardize` fits on: the training part after the validation split (`train`,
    /// the default), or the whole training file before it (`dev`, as notebook 003 does with
    /// `StandardScaler().fit_transform(x_dev)` and then `train_test_split`).
    #[serde(default, skip_serializing_if = "is_default")]
    pub standardize_fit: StandardizeFit,
    /// Use only this many training samples (a seeded random choice), for quick runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Use only this many test samples; defaults to `limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_limit: Option<usize>,
    /// Training CSV for `source = "csv"` (raw or .gz).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<PathBuf>,
    /// Test CSV; without it a seeded 20% of `csv` is held out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_csv: Option<PathBuf>,
    /// Label column of the CSV: first, last, a 0-based index or a header name.
    #[serde(default = "default_csv_label")]
    pub csv_label: String,
    /// The CSV's first line is a header.
    #[serde(default)]
    pub csv_header: bool,
    /// Shape of one CSV sample, e.g. [28, 28, 1] (default: flat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_shape: Option<Vec<usize>>,
    /// Show download progress on stderr.
    #[serde(skip, default = "yes")]
    pub progress: bool,
}

/// The data a standardization is fitted on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StandardizeFit {
    /// The training part, after the validation split: nothing held out leaks in.
    #[default]
    Train,
    /// The whole training file (train + validation), before the split.
    Dev,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

fn default_split_seed() -> u32 {
    42
}

fn default_csv_label() -> String {
    "last".into()
}

fn yes() -> bool {
    true
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            source: DataSource::default(),
            dir: None,
            offline: false,
            scaling: Scaling::default(),
            validation_split: None,
            split_seed: default_split_seed(),
            standardize: false,
            standardize_fit: StandardizeFit::default(),
            limit: None,
            test_limit: None,
            csv: None,
            test_csv: None,
            csv_label: default_csv_label(),
            csv_header: false,
            csv_shape: None,
            progress: true,
        }
    }
}

/// The data a run trains, validates and tests on.
pub struct Splits {
    pub train: Dataset,
    /// Held out from `train` by `validation_split`; `None` means the test set validates.
    pub validation: Option<Dataset>,
    pub test: Dataset,
}

impl Splits {
    /// What validates during training: the held-out split, or else the test set.
    pub fn validation_or_test(&self) -> &Dataset {
        self.validation.as_ref().unwrap_or(&self.test)
    }
}

impl DataConfig {
    /// Rejects settings that cannot work, naming the setting.
    pub fn validate(&self) -> Result<()> {
        if let Some(f) = self.validation_split {
            if !(f > 0.0 && f < 1.0) {
                return Err(Error::invalid(format!(
                    "validation_split = {f} must be in (0, 1)"
                )));
            }
        }
        if self.limit == Some(0) || self.test_limit == Some(0) {
            return Err(Error::invalid("limit must be at least 1"));
        }
        if let Some(shape) = &self.csv_shape {
            if shape.is_empty() || shape.contains(&0) {
                return Err(Error::invalid(format!(
                    "csv_shape = {shape:?} must be positive sizes, e.g. [28, 28, 1]"
                )));
            }
        }
        Ok(())
    }

    /// Loads (train, validation, test), scaled, limited, split and standardized as configured.
    pub fn load(&self) -> Result<Splits> {
        self.validate()?;
        let (train, test) = match self.source {
            DataSource::MnistSample => mnist_sample()?,
            DataSource::Mnist => self.fetch(DatasetName::Mnist, self.dir.clone())?,
            DataSource::FashionMnist => {
                let debian = Path::new(DEBIAN_FASHION_MNIST);
                let dir = self
                    .dir
                    .clone()
                    .or_else(|| debian.is_dir().then(|| debian.to_path_buf()));
                self.fetch(DatasetName::FashionMnist, dir)?
            }
            DataSource::Cifar10 => self.fetch(DatasetName::Cifar10, self.dir.clone())?,
            DataSource::Csv => self.load_csv()?,
            DataSource::RandomCifar10 => (
                random_images(50_000, &[32, 32, 3], 10, 1)?,
                random_images(10_000, &[32, 32, 3], 10, 2)?,
            ),
        };
        let (mut train, mut test) = (self.scale(train), self.scale(test));
        if let Some(n) = self.limit {
            train = random_subset(&train, n, self.split_seed);
        }
        if let Some(n) = self.test_limit.or(self.limit) {
            test = random_subset(&test, n, self.split_seed);
        }
        let fit_on_dev = self.standardize && self.standardize_fit == StandardizeFit::Dev;
        if fit_on_dev {
            standardize(&mut train, &mut [&mut test]);
        }
        let mut validation = match self.validation_split {
            None => None,
            Some(fraction) => {
                let (kept, held_out) = split_indices(train.len(), fraction, self.split_seed)
                    .map_err(|e| Error::invalid(format!("validation_split: {e}")))?;
                let (kept, validation) = train.split(&kept, &held_out);
                train = kept;
                Some(validation)
            }
        };
        if self.standardize && !fit_on_dev {
            match validation.as_mut() {
                Some(v) => standardize(&mut train, &mut [v, &mut test]),
                None => standardize(&mut train, &mut [&mut test]),
            }
        }
        Ok(Splits {
            train,
            validation,
            test,
        })
    }

    fn fetch(&self, name: DatasetName, dir: Option<PathBuf>) -> Result<(Dataset, Dataset)> {
        let options = ResolveOptions {
            dir,
            offline: self.offline,
            progress: self.progress,
            ..ResolveOptions::default()
        };
        resolve(name, &options)
    }

    /// Pixels stored as bytes are scaled to [0, 1] unless asked not to; real-valued features
    /// are left as they are.
    fn scale(&self, data: Dataset) -> Dataset {
        match (&data.features, self.scaling) {
            (Features::U8(_), Scaling::Unit) => data.scaled(),
            _ => data,
        }
    }

    fn load_csv(&self) -> Result<(Dataset, Dataset)> {
        let path = self.csv.as_ref().ok_or_else(|| {
            Error::invalid("csv data needs a CSV file (pixel columns and a label)")
        })?;
        let label = match self.csv_label.as_str() {
            "first" => LabelColumn::First,
            "last" => LabelColumn::Last,
            other => match other.parse::<usize>() {
                Ok(i) => LabelColumn::Index(i),
                Err(_) => LabelColumn::Name(other.to_string()),
            },
        };
        let options = CsvOptions {
            label,
            has_header: self.csv_header,
            sample_shape: self.csv_shape.clone(),
            ..CsvOptions::default()
        };
        let train = read_csv(path, &options)?;
        match &self.test_csv {
            Some(test_path) => {
                let mut test = read_csv(test_path, &options)?;
                if test.num_classes < train.num_classes {
                    test.class_names = train.class_names.clone();
                    test.num_classes = train.num_classes;
                }
                Ok((train, test))
            }
            None => {
                let (kept, held_out) = split_indices(train.len(), 0.2, self.split_seed)?;
                Ok(train.split(&kept, &held_out))
            }
        }
    }
}

/// `n` samples chosen by a seeded permutation (all of them if there are fewer), so a limited
/// run still sees every class even when the file is sorted by label.
fn random_subset(data: &Dataset, n: usize, seed: u32) -> Dataset {
    if n >= data.len() {
        return data.clone();
    }
    let mut chosen = NumpyRandomState::new(seed).permutation(data.len());
    chosen.truncate(n);
    chosen.sort_unstable();
    data.subset(&chosen)
}

/// `n` images of uniform random pixels with uniform random labels: a stand-in of the right
/// shape and size for timing, not for learning.
fn random_images(n: usize, shape: &[usize], classes: usize, seed: u32) -> Result<Dataset> {
    let mut rng = crate::random::Rng::new(seed);
    let len = n * shape.iter().product::<usize>();
    let mut pixels = Vec::with_capacity(len + 4);
    while pixels.len() < len {
        pixels.extend_from_slice(&rng.next_u32().to_le_bytes());
    }
    pixels.truncate(len);
    let labels = (0..n)
        .map(|_| rng.randint(0, classes as i64) as u32)
        .collect();
    Dataset::new(
        Features::U8(pixels),
        shape.to_vec(),
        labels,
        Dataset::digit_names(classes),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_takes_a_seeded_subset_with_every_class() {
        let config = DataConfig {
            limit: Some(200),
            ..DataConfig::default()
        };
        let splits = config.load().unwrap();
        assert_eq!(splits.train.len(), 200);
        assert_eq!(splits.test.len(), 200);
        for class in 0..10 {
            assert!(splits.test.labels.contains(&class), "class {class} missing");
        }
        let again = config.load().unwrap();
        assert_eq!(again.train.labels, splits.train.labels);
    }

    #[test]
    fn standardization_fits_where_asked() {
        let on = |fit| DataConfig {
            limit: Some(300),
            validation_split: Some(0.2),
            standardize: true,
            standardize_fit: fit,
            ..DataConfig::default()
        };
        let mean = |t: &crate::data::Transform| match t {
            crate::data::Transform::Standardize { mean, .. } => mean.clone(),
            other => panic!("not standardized: {other:?}"),
        };
        let train_fit = on(StandardizeFit::Train).load().unwrap();
        let dev_fit = on(StandardizeFit::Dev).load().unwrap();
        // Same split either way; only the fitted statistics differ.
        assert_eq!(train_fit.train.labels, dev_fit.train.labels);
        assert_eq!(train_fit.train.len(), 240);
        let dev = on(StandardizeFit::Train);
        let whole = DataConfig {
            validation_split: None,
            ..dev
        }
        .load()
        .unwrap();
        assert_eq!(mean(&dev_fit.train.transform), mean(&whole.train.transform));
        assert_ne!(
            mean(&train_fit.train.transform),
            mean(&dev_fit.train.transform)
        );
        let v = dev_fit.validation.as_ref().unwrap();
        assert_eq!(mean(&v.transform), mean(&dev_fit.test.transform));
    }

    #[test]
    fn bad_split_is_rejected() {
        let config = DataConfig {
            validation_split: Some(1.5),
            ..DataConfig::default()
        };
        assert!(config.load().is_err());
    }
}
