//! Flags shared by several subcommands: which data, which model.

use clap::{Args, ValueEnum};
use nabla::nn::LayerConfig;
use nabla::ops::Activation;
use nabla::{models, Error, Result};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DataName {
    /// The 5,000 real MNIST digits built into nabla (4,000 train / 1,000 test).
    MnistSample,
    /// MNIST from a directory of the four IDX files.
    Mnist,
    /// Fashion-MNIST from a directory of the four IDX files.
    FashionMnist,
    /// CIFAR-10 (32x32x3 colour images, 10 classes).
    Cifar10,
    /// Benchmarks only: 50,000 training and 10,000 test images of uniform random pixels in
    /// CIFAR-10's shape, with random labels. Measures speed; there is nothing to learn.
    RandomCifar10,
}

#[derive(Args, Clone, Debug)]
pub struct DataArgs {
    /// Dataset to use.
    #[arg(long, value_enum, default_value = "mnist-sample")]
    pub data: DataName,
    /// Directory holding the dataset's files.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl DataArgs {
    /// Per-sample input shape of the dataset, known from its name alone.
    pub fn input_shape(&self) -> Vec<usize> {
        match self.data {
            DataName::MnistSample | DataName::Mnist | DataName::FashionMnist => vec![28, 28, 1],
            DataName::Cifar10 | DataName::RandomCifar10 => vec![32, 32, 3],
        }
    }

    pub fn num_classes(&self) -> usize {
        10
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelName {
    /// Flatten, the --hidden Dense layers, then a softmax Dense.
    Mlp,
    /// LeNet-5: Conv 6@5x5, MaxPool, Conv 16@5x5, MaxPool, Dense 120, Dense 84, softmax.
    Lenet5,
    /// The lab CNN: on 28x28x1 Conv 32@3x3, MaxPool, Conv 64@3x3, MaxPool, Dense 128,
    /// Dropout 0.5; on 32x32x3 Conv 32, MaxPool, Conv 64, MaxPool, Conv 64, Dropout 0.3, Dense 64.
    Cnn,
}

#[derive(Args, Clone, Debug)]
pub struct ModelArgs {
    /// Architecture.
    #[arg(long, value_enum, default_value = "mlp")]
    pub model: ModelName,
    /// Hidden Dense layer sizes, comma-separated (empty for none).
    #[arg(long, default_value = "128")]
    pub hidden: String,
    /// Activation of the hidden layers.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// L2 factor λ: adds λ·Σw² over every kernel to the loss.
    #[arg(long, default_value_t = 0.0)]
    pub l2: f64,
    /// Dropout rate for lenet5 and cnn (default: none for lenet5; 0.5 / 0.3 for cnn on
    /// MNIST- / CIFAR-shaped data, none with --batch-norm).
    #[arg(long, value_name = "RATE")]
    pub dropout: Option<f64>,
    /// BatchNormalization after every convolution and hidden Dense layer (lenet5, cnn).
    #[arg(long)]
    pub batch_norm: bool,
}

impl ModelArgs {
    pub fn hidden_sizes(&self) -> Result<Vec<usize>> {
        self.hidden
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s.parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(Error::invalid(format!(
                    "--hidden: '{s}' is not a positive layer size (expected e.g. 128,64)"
                ))),
            })
            .collect()
    }

    /// The model's layers for samples of `input_shape` and `classes` classes.
    pub fn layers(&self, input_shape: &[usize], classes: usize) -> Result<Vec<LayerConfig>> {
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return Err(Error::invalid(format!(
                "--l2 {} must be a non-negative number",
                self.l2
            )));
        }
        let activation = Activation::parse(&self.activation)
            .map_err(|e| Error::invalid(format!("--activation: {e}")))?;
        if let Some(rate) = self.dropout {
            if !(0.0..1.0).contains(&rate) {
                return Err(Error::invalid(format!(
                    "--dropout {rate} must be in [0, 1)"
                )));
            }
        }
        let image = input_shape.len() == 3;
        if self.model != ModelName::Mlp && !image {
            return Err(Error::invalid(format!(
                "--model {:?} needs image data (height, width, channels), got samples of shape {input_shape:?}",
                self.model
            )));
        }
        match self.model {
            ModelName::Mlp => {
                if self.dropout.is_some() || self.batch_norm {
                    return Err(Error::invalid(
                        "--dropout and --batch-norm apply to --model lenet5 and cnn",
                    ));
                }
                Ok(models::mlp(
                    &self.hidden_sizes()?,
                    activation,
                    classes,
                    self.l2,
                ))
            }
            ModelName::Lenet5 => Ok(models::lenet5(
                classes,
                self.dropout.unwrap_or(0.0),
                self.batch_norm,
            )),
            ModelName::Cnn => Ok(models::cnn(
                input_shape,
                classes,
                self.dropout,
                self.batch_norm,
            )),
        }
    }
}
