//! Loading the dataset a command names: the flags become a [`DataConfig`], which the library
//! loads exactly as it loads an experiment file's `[data]` section.

use super::args::{DataArgs, DataName};
pub use nabla::data::Splits;
use nabla::data::{DataConfig, DataSource};
use nabla::data::{Dataset, Features};
use nabla::random::Rng;
use nabla::{Error, Result};

impl DataArgs {
    /// The flags as the library's data description.
    pub fn to_config(&self) -> Result<DataConfig> {
        let source = match self.data {
            DataName::MnistSample => DataSource::MnistSample,
            DataName::Mnist => DataSource::Mnist,
            DataName::FashionMnist => DataSource::FashionMnist,
            DataName::Cifar10 => DataSource::Cifar10,
            DataName::Csv => DataSource::Csv,
            DataName::RandomCifar10 => {
                return Err(Error::invalid(
                    "--data random-cifar10 is for benchmarks and has no data description",
                ))
            }
        };
        Ok(DataConfig {
            source,
            dir: self.data_dir.clone(),
            offline: self.offline,
            validation_split: self.validation_split,
            split_seed: self.split_seed,
            standardize: self.standardize,
            csv: self.csv.clone(),
            test_csv: self.test_csv.clone(),
            csv_label: self.csv_label.clone(),
            csv_header: self.csv_header,
            csv_shape: self.csv_shape()?,
            ..DataConfig::default()
        })
    }
}

/// (train, validation, test), pixels scaled to [0, 1] and standardized if asked.
pub fn load(args: &DataArgs) -> Result<Splits> {
    if args.data == DataName::RandomCifar10 {
        return Ok(Splits {
            train: random_images(50_000, &[32, 32, 3], 10, 1)?.scaled(),
            validation: None,
            test: random_images(10_000, &[32, 32, 3], 10, 2)?.scaled(),
        });
    }
    args.to_config()?.load().map_err(|e| match e {
        Error::InvalidArgument(m) if m.starts_with("validation_split") => {
            Error::invalid(format!("--{}", m.replacen('_', "-", 1)))
        }
        Error::InvalidArgument(m) if m.starts_with("csv data needs") => {
            Error::invalid("--data csv needs --csv FILE (pixel columns and a label)")
        }
        other => other,
    })
}

/// `n` images of uniform random pixels with uniform random labels: a stand-in of the right
/// shape and size for timing, not for learning.
fn random_images(n: usize, shape: &[usize], classes: usize, seed: u32) -> Result<Dataset> {
    let mut rng = Rng::new(seed);
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
