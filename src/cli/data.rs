//! Loading the dataset a command names: the flags become a [`DataConfig`], which the library
//! loads exactly as it loads an experiment file's `[data]` section.

use super::args::{DataArgs, DataName};
pub use nabla::data::Splits;
use nabla::data::{DataConfig, DataSource};
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
            DataName::RandomCifar10 => DataSource::RandomCifar10,
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
    args.to_config()?.load().map_err(flag_error)
}

/// A data error in the flags' words.
pub fn flag_error(e: Error) -> Error {
    match e {
        Error::InvalidArgument(m) if m.starts_with("validation_split") => {
            Error::invalid(format!("--{}", m.replacen('_', "-", 1)))
        }
        Error::InvalidArgument(m) if m.starts_with("csv data needs") => {
            Error::invalid("--data csv needs --csv FILE (pixel columns and a label)")
        }
        other => other,
    }
}
