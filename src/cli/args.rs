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

    pub fn layers(&self, classes: usize) -> Result<Vec<LayerConfig>> {
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return Err(Error::invalid(format!(
                "--l2 {} must be a non-negative number",
                self.l2
            )));
        }
        let activation = Activation::parse(&self.activation)
            .map_err(|e| Error::invalid(format!("--activation: {e}")))?;
        match self.model {
            ModelName::Mlp => Ok(models::mlp(
                &self.hidden_sizes()?,
                activation,
                classes,
                self.l2,
            )),
        }
    }
}
