//! Flags shared by several subcommands: which data, which model.

use clap::{Args, ValueEnum};
use nabla::nn::LayerConfig;
use nabla::ops::Activation;
use nabla::{models, Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataName {
    /// The 5,000 real MNIST digits built into nabla (4,000 train / 1,000 test).
    MnistSample,
    /// MNIST: --data-dir, the cache, Keras's mnist.npz, or a download.
    Mnist,
    /// Fashion-MNIST: --data-dir, Debian's package, the cache, or a download.
    FashionMnist,
    /// CIFAR-10: --data-dir (archive or folder, binary or Python), the cache, or a download.
    Cifar10,
    /// A CSV file of pixel columns and a label column (--csv).
    Csv,
    /// Benchmarks only: 50,000 training and 10,000 test images of uniform random pixels in
    /// CIFAR-10's shape, with random labels. Measures speed; there is nothing to learn.
    RandomCifar10,
}

/// Serialized into checkpoints: every field decides the numbers a run produces.
#[derive(Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataArgs {
    /// Dataset to use.
    #[arg(long, value_enum, default_value = "mnist-sample")]
    pub data: DataName,
    /// Where the dataset's files are (a directory, or an archive for CIFAR-10).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Never download: use only local files, and say which are missing.
    #[arg(long)]
    pub offline: bool,
    /// Training CSV for --data csv (raw or .gz).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Test CSV for --data csv; without it a seeded 20% of --csv is held out.
    #[arg(long)]
    pub test_csv: Option<PathBuf>,
    /// Label column of the CSV: first, last, a 0-based index or a header name.
    #[arg(long, default_value = "last")]
    pub csv_label: String,
    /// The CSV's first line is a header.
    #[arg(long)]
    pub csv_header: bool,
    /// Shape of one CSV sample, e.g. 28,28,1 (default: flat).
    #[arg(long)]
    pub csv_shape: Option<String>,
    /// Hold out this fraction of the training data for validation (scikit-learn's
    /// train_test_split with --split-seed); otherwise the test set validates.
    #[arg(long)]
    pub validation_split: Option<f64>,
    /// Seed of the validation split (numpy's RandomState permutation, as scikit-learn uses).
    #[arg(long, default_value_t = 42)]
    pub split_seed: u32,
    /// Standardize each feature with mean and deviation fitted on the training data only.
    #[arg(long)]
    pub standardize: bool,
}

impl DataArgs {
    /// Per-sample input shape of the dataset, known from its name alone.
    pub fn input_shape(&self) -> Result<Vec<usize>> {
        Ok(match self.data {
            DataName::MnistSample | DataName::Mnist | DataName::FashionMnist => vec![28, 28, 1],
            DataName::Cifar10 | DataName::RandomCifar10 => vec![32, 32, 3],
            DataName::Csv => self.csv_shape()?.ok_or_else(|| {
                Error::invalid(
                    "--data csv: give --csv-shape (e.g. 28,28,1) to know the input shape",
                )
            })?,
        })
    }

    pub fn csv_shape(&self) -> Result<Option<Vec<usize>>> {
        self.csv_shape
            .as_deref()
            .map(|text| {
                text.split(',')
                    .map(|d| match d.trim().parse::<usize>() {
                        Ok(n) if n > 0 => Ok(n),
                        _ => Err(Error::invalid(format!(
                            "--csv-shape: '{text}' is not a shape like 28,28,1"
                        ))),
                    })
                    .collect()
            })
            .transpose()
    }

    pub fn num_classes(&self) -> usize {
        10
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelName {
    /// Flatten, the --hidden Dense layers, then a softmax Dense.
    Mlp,
    /// LeNet-5: Conv 6@5x5, MaxPool, Conv 16@5x5, MaxPool, Dense 120, Dense 84, softmax.
    Lenet5,
    /// The lab CNN: on 28x28x1 Conv 32@3x3, MaxPool, Conv 64@3x3, MaxPool, Dense 128,
    /// Dropout 0.5; on 32x32x3 Conv 32, MaxPool, Conv 64, MaxPool, Conv 64, Dropout 0.3, Dense 64.
    Cnn,
}

/// Serialized into checkpoints, like `DataArgs`.
#[derive(Args, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelArgs {
    /// Architecture.
    #[arg(long, value_enum, default_value = "mlp")]
    pub model: ModelName,
    /// Hidden Dense layer sizes, comma-separated (empty for none); a size may name its own
    /// activation, e.g. `128:linear,64` (notebook 001's first hidden layer has none).
    #[arg(long, default_value = "128")]
    pub hidden: String,
    /// Activation of the hidden layers that do not name their own.
    #[arg(long, default_value = "relu")]
    pub activation: String,
    /// L2 factor λ: adds λ·Σw² over the kernels of --l2-layers to the loss.
    #[arg(long, default_value_t = 0.0)]
    pub l2: f64,
    /// Which kernels --l2 goes on: `all`, `hidden` (every kernel but the output layer's, as
    /// notebook 004 does), or layer names, comma-separated (`dense,dense_1`).
    #[arg(long, default_value = "all")]
    #[serde(default = "all_layers")]
    pub l2_layers: String,
    /// Dropout rate for lenet5 and cnn (default: none for lenet5; 0.5 / 0.3 for cnn on
    /// MNIST- / CIFAR-shaped data, none with --batch-norm).
    #[arg(long, value_name = "RATE")]
    pub dropout: Option<f64>,
    /// BatchNormalization after every convolution and hidden Dense layer (lenet5, cnn).
    #[arg(long)]
    pub batch_norm: bool,
}

fn all_layers() -> String {
    "all".into()
}

impl ModelArgs {
    /// (units, activation) of each hidden layer: `128:linear,64` → (128, linear), (64, --activation).
    pub fn hidden_layers(&self) -> Result<Vec<(usize, Activation)>> {
        let default = Activation::parse(&self.activation)
            .map_err(|e| Error::invalid(format!("--activation: {e}")))?;
        self.hidden
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                let (size, activation) = match s.split_once(':') {
                    Some((size, name)) => {
                        let activation = Activation::parse(name.trim())
                            .map_err(|e| Error::invalid(format!("--hidden '{s}': {e}")))?;
                        (size.trim(), activation)
                    }
                    None => (s, default),
                };
                match size.parse::<usize>() {
                    Ok(n) if n > 0 => Ok((n, activation)),
                    _ => Err(Error::invalid(format!(
                        "--hidden: '{s}' is not a positive layer size (expected e.g. 128,64 or 128:linear)"
                    ))),
                }
            })
            .collect()
    }

    /// Puts --l2 on the kernels --l2-layers names.
    fn with_l2(&self, layers: Vec<LayerConfig>) -> Result<Vec<LayerConfig>> {
        let names: Vec<String> = match self.l2_layers.trim() {
            "all" => return models::with_l2(&layers, self.l2),
            "hidden" => models::hidden_kernel_names(&layers)?,
            list => list
                .split(',')
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
        };
        models::with_l2_on(&layers, self.l2, &names)
            .map_err(|e| Error::invalid(format!("--l2-layers: {e}")))
    }

    /// The model's layers for samples of `input_shape` and `classes` classes.
    pub fn layers(&self, input_shape: &[usize], classes: usize) -> Result<Vec<LayerConfig>> {
        if !(self.l2 >= 0.0 && self.l2.is_finite()) {
            return Err(Error::invalid(format!(
                "--l2 {} must be a non-negative number",
                self.l2
            )));
        }
        Activation::parse(&self.activation)
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
                self.with_l2(models::mlp_layers(&self.hidden_layers()?, classes))
            }
            ModelName::Lenet5 => self.with_l2(models::lenet5(
                classes,
                self.dropout.unwrap_or(0.0),
                self.batch_norm,
            )),
            ModelName::Cnn => self.with_l2(models::cnn(
                input_shape,
                classes,
                self.dropout,
                self.batch_norm,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nabla::train::Sequential;

    fn args(hidden: &str, l2: f64, l2_layers: &str) -> ModelArgs {
        ModelArgs {
            model: ModelName::Mlp,
            hidden: hidden.into(),
            activation: "relu".into(),
            l2,
            l2_layers: l2_layers.into(),
            dropout: None,
            batch_norm: false,
        }
    }

    fn regularized(layers: &[LayerConfig]) -> Vec<bool> {
        layers
            .iter()
            .map(|l| {
                serde_json::to_value(l)
                    .unwrap()
                    .get("kernel_regularizer")
                    .is_some()
            })
            .collect()
    }

    #[test]
    fn a_hidden_layer_may_have_no_activation() {
        // Notebook 001: Dense(128) with Keras's default (none), Dense(64, relu), softmax.
        let layers = args("128:linear,64", 0.0, "all")
            .layers(&[28, 28, 1], 10)
            .unwrap();
        let activations: Vec<String> = layers
            .iter()
            .filter_map(|l| match l {
                LayerConfig::Dense(d) => Some(format!("{:?}", d.activation)),
                _ => None,
            })
            .collect();
        assert_eq!(activations, ["Linear", "Relu", "Softmax"]);
        let model = Sequential::<f32>::from_configs(&[28, 28, 1], &layers, 0).unwrap();
        assert_eq!(model.count_params(), (109_386, 0));
        let bad = args("128:tanhh", 0.0, "all").layers(&[28, 28, 1], 10);
        assert!(bad
            .unwrap_err()
            .to_string()
            .contains("--hidden '128:tanhh'"));
    }

    #[test]
    fn l2_goes_on_the_layers_asked_for() {
        let shape = [28, 28, 1];
        let all = args("500,300", 1e-4, "all").layers(&shape, 10).unwrap();
        assert_eq!(regularized(&all), [false, true, true, true]);
        // Notebook 004: kernel_regularizer=l2(...) on the hidden layers, not the output.
        let hidden = args("500,300", 1e-4, "hidden").layers(&shape, 10).unwrap();
        assert_eq!(regularized(&hidden), [false, true, true, false]);
        let named = args("500,300", 1e-4, "dense_1").layers(&shape, 10).unwrap();
        assert_eq!(regularized(&named), [false, false, true, false]);
        let typo = args("500,300", 1e-4, "dense_7")
            .layers(&shape, 10)
            .unwrap_err();
        assert!(typo
            .to_string()
            .starts_with("--l2-layers: no layer is named 'dense_7'"));
    }
}
