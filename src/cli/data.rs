//! Loading the dataset a command names.

use super::args::{DataArgs, DataName};
use nabla::data::{self, Dataset, Features};
use nabla::random::Rng;
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
        DataName::Cifar10 => {
            return Err(Error::invalid(
                "--data cifar10 is not yet supported for training (its loader is still to \
                 come); `nabla summary --data cifar10` works, and --data random-cifar10 gives \
                 CIFAR-shaped random data for benchmarks",
            ))
        }
        DataName::RandomCifar10 => (
            random_images(50_000, &[32, 32, 3], 10, 1)?,
            random_images(10_000, &[32, 32, 3], 10, 2)?,
        ),
    };
    Ok((train.scaled(), test.scaled()))
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
