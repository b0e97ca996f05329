//! Loading the dataset a command names.

use super::args::{DataArgs, DataName};
use nabla::data::{self, Dataset};
use nabla::{Error, Result};
use std::path::PathBuf;

/// Where Debian's `dataset-fashion-mnist` package puts the files.
const DEBIAN_FASHION_MNIST: &str = "/usr/share/datasets/fashion-mnist";

/// (train, test), pixels scaled to [0, 1].
pub fn load(args: &DataArgs) -> Result<(Dataset, Dataset)> {
    let (train, test) = match args.data {
        DataName::MnistSample => data::mnist_sample()?,
        DataName::Mnist => {
            let dir = args.data_dir.clone().ok_or_else(|| {
                Error::invalid(
                    "--data mnist needs --data-dir DIR holding train-images-idx3-ubyte(.gz), \
                     train-labels-idx1-ubyte(.gz), t10k-images-idx3-ubyte(.gz) and \
                     t10k-labels-idx1-ubyte(.gz)",
                )
            })?;
            data::load_mnist_dir(&dir)?
        }
        DataName::FashionMnist => {
            let dir = args
                .data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEBIAN_FASHION_MNIST));
            data::load_fashion_mnist_dir(&dir)?
        }
    };
    Ok((train.scaled(), test.scaled()))
}
