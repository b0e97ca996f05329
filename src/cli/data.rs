//! Loading the dataset a command names, and the preprocessing its flags ask for.

use super::args::{DataArgs, DataName};
use nabla::data::{
    self, resolve, split_indices, standardize, CsvOptions, Dataset, DatasetName, Features,
    LabelColumn, ResolveOptions,
};
use nabla::{Error, Result};
use std::path::{Path, PathBuf};

/// Where Debian's `dataset-fashion-mnist` package puts the files.
const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// The data a run trains, validates and tests on.
pub struct Splits {
    pub train: Dataset,
    /// Held out from `train` by --validation-split; `None` means the test set validates.
    pub validation: Option<Dataset>,
    pub test: Dataset,
}

/// (train, validation, test), pixels scaled to [0, 1] and standardized if asked.
pub fn load(args: &DataArgs) -> Result<Splits> {
    let (train, test) = match args.data {
        DataName::MnistSample => data::mnist_sample()?,
        DataName::Mnist => fetch(DatasetName::Mnist, args.data_dir.clone(), args.offline)?,
        DataName::FashionMnist => {
            let debian = Path::new(DEBIAN_FASHION_MNIST);
            let dir = args
                .data_dir
                .clone()
                .or_else(|| debian.is_dir().then(|| debian.to_path_buf()));
            fetch(DatasetName::FashionMnist, dir, args.offline)?
        }
        DataName::Cifar10 => fetch(DatasetName::Cifar10, args.data_dir.clone(), args.offline)?,
        DataName::Csv => load_csv(args)?,
    };
    let (mut train, mut test) = (scale_pixels(train), scale_pixels(test));
    let mut validation = match args.validation_split {
        None => None,
        Some(fraction) => {
            let (kept, held_out) = split_indices(train.len(), fraction, args.split_seed)
                .map_err(|e| Error::invalid(format!("--validation-split: {e}")))?;
            let validation = train.subset(&held_out);
            train = train.subset(&kept);
            Some(validation)
        }
    };
    if args.standardize {
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

fn fetch(name: DatasetName, dir: Option<PathBuf>, offline: bool) -> Result<(Dataset, Dataset)> {
    let options = ResolveOptions {
        dir,
        offline,
        progress: true,
        ..ResolveOptions::default()
    };
    resolve(name, &options)
}

/// Pixels stored as bytes are scaled to [0, 1]; real-valued features are left as they are.
fn scale_pixels(data: Dataset) -> Dataset {
    match data.features {
        Features::U8(_) => data.scaled(),
        Features::F32(_) => data,
    }
}

fn load_csv(args: &DataArgs) -> Result<(Dataset, Dataset)> {
    let path = args
        .csv
        .as_ref()
        .ok_or_else(|| Error::invalid("--data csv needs --csv FILE (pixel columns and a label)"))?;
    let label = match args.csv_label.as_str() {
        "first" => LabelColumn::First,
        "last" => LabelColumn::Last,
        other => match other.parse::<usize>() {
            Ok(i) => LabelColumn::Index(i),
            Err(_) => LabelColumn::Name(other.to_string()),
        },
    };
    let options = CsvOptions {
        label,
        has_header: args.csv_header,
        sample_shape: args.csv_shape()?,
        ..CsvOptions::default()
    };
    let train = data::read_csv(path, &options)?;
    match &args.test_csv {
        Some(test_path) => {
            let mut test = data::read_csv(test_path, &options)?;
            if test.num_classes < train.num_classes {
                test.class_names = train.class_names.clone();
                test.num_classes = train.num_classes;
            }
            Ok((train, test))
        }
        None => {
            let (kept, held_out) = split_indices(train.len(), 0.2, args.split_seed)?;
            Ok((train.subset(&kept), train.subset(&held_out)))
        }
    }
}
