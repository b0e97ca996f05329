//! The architectures the labs use, as layer lists ready for `Sequential::from_configs`.
//!
//! ```
//! use nabla::models;
//! use nabla::train::Sequential;
//! let layers = models::lenet5(10, 0.0, false);
//! let model = Sequential::<f32>::from_configs(&[32, 32, 3], &layers, 0)?;
//! assert_eq!(model.count_params(), (62_006, 0));
//! # Ok::<(), nabla::Error>(())
//! ```

use crate::error::{Error, Result};
use crate::nn::layers::{BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPool2D};
use crate::nn::LayerConfig;
use crate::ops::Activation;

/// Flatten → Dense(h, activation) for each hidden size → Dense(classes, softmax).
/// `l2` puts a λ·Σw² penalty on every kernel.
pub fn mlp(hidden: &[usize], activation: Activation, classes: usize, l2: f64) -> Vec<LayerConfig> {
    let mut layers = vec![LayerConfig::from(Flatten::new())];
    for &units in hidden {
        layers.push(Dense::new(units).activation(activation).l2(l2).into());
    }
    layers.push(
        Dense::new(classes)
            .activation(Activation::Softmax)
            .l2(l2)
            .into(),
    );
    layers
}

/// Flatten → Dense(units, activation) for each hidden layer → Dense(classes, softmax): an MLP
/// whose hidden layers may differ in activation (notebook 001's first has none).
pub fn mlp_layers(hidden: &[(usize, Activation)], classes: usize) -> Vec<LayerConfig> {
    let mut layers = vec![LayerConfig::from(Flatten::new())];
    for &(units, activation) in hidden {
        layers.push(Dense::new(units).activation(activation).into());
    }
    layers.push(Dense::new(classes).activation(Activation::Softmax).into());
    layers
}

/// Builds a layer list, adding BatchNormalization after a layer when asked and Dropout
/// only when its rate is positive.
struct Stack {
    layers: Vec<LayerConfig>,
    batch_norm: bool,
}

impl Stack {
    fn new(batch_norm: bool) -> Self {
        Stack {
            layers: Vec::new(),
            batch_norm,
        }
    }

    fn push(&mut self, layer: impl Into<LayerConfig>) {
        self.layers.push(layer.into());
    }

    /// A layer that BatchNormalization follows when the stack has it on.
    fn normalized(&mut self, layer: impl Into<LayerConfig>) {
        self.push(layer);
        if self.batch_norm {
            self.push(BatchNormalization::new());
        }
    }

    fn dropout(&mut self, rate: f64) {
        if rate > 0.0 {
            self.push(Dropout::new(rate));
        }
    }
}

fn relu_conv(filters: usize, size: usize) -> Conv2D {
    Conv2D::new(filters, size).activation(Activation::Relu)
}

fn relu_dense(units: usize) -> Dense {
    Dense::new(units).activation(Activation::Relu)
}

/// LeNet-5 as the labs write it: Conv 6@5x5 relu, MaxPool 2, Conv 16@5x5 relu, MaxPool 2,
/// Flatten, Dense 120 relu, Dense 84 relu, Dense `classes` softmax (62,006 parameters on
/// 32x32x3). `dropout` > 0 adds Dropout after both hidden Dense layers; `batch_norm` adds
/// BatchNormalization after every convolution and hidden Dense layer.
pub fn lenet5(classes: usize, dropout: f64, batch_norm: bool) -> Vec<LayerConfig> {
    let mut s = Stack::new(batch_norm);
    s.normalized(relu_conv(6, 5));
    s.push(MaxPool2D::new(2));
    s.normalized(relu_conv(16, 5));
    s.push(MaxPool2D::new(2));
    s.push(Flatten::new());
    for units in [120, 84] {
        s.normalized(relu_dense(units));
        s.dropout(dropout);
    }
    s.push(Dense::new(classes).activation(Activation::Softmax));
    s.layers
}

/// The classic Keras MNIST CNN: Conv 32@3x3, MaxPool, Conv 64@3x3, MaxPool, Flatten,
/// Dense 128, Dropout, Dense `classes` (225,034 parameters on 28x28x1 with the usual 0.5).
pub fn mnist_cnn(classes: usize, dropout: f64, batch_norm: bool) -> Vec<LayerConfig> {
    let mut s = Stack::new(batch_norm);
    s.normalized(relu_conv(32, 3));
    s.push(MaxPool2D::new(2));
    s.normalized(relu_conv(64, 3));
    s.push(MaxPool2D::new(2));
    s.push(Flatten::new());
    s.normalized(relu_dense(128));
    s.dropout(dropout);
    s.push(Dense::new(classes).activation(Activation::Softmax));
    s.layers
}

/// The CIFAR-10 lab's CNN: Conv 32@3x3, MaxPool, Conv 64@3x3, MaxPool, Conv 64@3x3, Flatten,
/// Dropout, Dense 64, Dense `classes` (122,570 parameters on 32x32x3 with the usual 0.3; the
/// batch-norm variant, without dropout, has 123,466 of which 448 are non-trainable).
pub fn cifar_cnn(classes: usize, dropout: f64, batch_norm: bool) -> Vec<LayerConfig> {
    let mut s = Stack::new(batch_norm);
    s.normalized(relu_conv(32, 3));
    s.push(MaxPool2D::new(2));
    s.normalized(relu_conv(64, 3));
    s.push(MaxPool2D::new(2));
    s.normalized(relu_conv(64, 3));
    s.push(Flatten::new());
    s.dropout(dropout);
    s.normalized(relu_dense(64));
    s.push(Dense::new(classes).activation(Activation::Softmax));
    s.layers
}

/// The lab CNN for an input shape: the MNIST CNN for one-channel images, the CIFAR CNN for
/// colour ones. `dropout: None` takes the lab's rate: 0.5 (MNIST), 0.3 (CIFAR), or none
/// with batch normalization.
pub fn cnn(
    input_shape: &[usize],
    classes: usize,
    dropout: Option<f64>,
    batch_norm: bool,
) -> Vec<LayerConfig> {
    let grey = input_shape.last() == Some(&1);
    let usual = match (batch_norm, grey) {
        (true, _) => 0.0,
        (false, true) => 0.5,
        (false, false) => 0.3,
    };
    let rate = dropout.unwrap_or(usual);
    if grey {
        mnist_cnn(classes, rate, batch_norm)
    } else {
        cifar_cnn(classes, rate, batch_norm)
    }
}

/// The same layers with an L2 penalty λ·Σw² on every kernel (Dense, Conv2D, …), replacing
/// any they had; λ = 0 removes them. One knob for the L2 labs, sweeps and `--l2`.
pub fn with_l2(layers: &[LayerConfig], lambda: f64) -> Result<Vec<LayerConfig>> {
    with_l2_where(layers, lambda, |_, _| true)
}

/// Like [`with_l2`], but only on the layers named in `names` (Keras's names, as
/// [`layer_names`] gives them): one factor shared by several chosen layers, as in notebook
/// 004's `kernel_regularizer=l2(reg_factor)` on the two hidden layers and not the output.
/// A name that is not a layer with a kernel is an error, so a typo cannot pass silently.
pub fn with_l2_on(
    layers: &[LayerConfig],
    lambda: f64,
    names: &[String],
) -> Result<Vec<LayerConfig>> {
    let all = layer_names(layers);
    for name in names {
        let Some(i) = all.iter().position(|n| n == name) else {
            return Err(Error::invalid(format!(
                "no layer is named '{name}' (the layers are {})",
                all.join(", ")
            )));
        };
        if !has_kernel(&layers[i])? {
            return Err(Error::invalid(format!(
                "layer '{name}' ({}) has no kernel to put L2 on",
                layers[i].kind()
            )));
        }
    }
    with_l2_where(layers, lambda, |i, _| names.contains(&all[i]))
}

/// The hidden layers with a kernel, by name: every kernel but the last one (the output).
pub fn hidden_kernel_names(layers: &[LayerConfig]) -> Result<Vec<String>> {
    let names = layer_names(layers);
    let mut with_kernel = Vec::new();
    for (layer, name) in layers.iter().zip(names) {
        if has_kernel(layer)? {
            with_kernel.push(name);
        }
    }
    with_kernel.pop();
    Ok(with_kernel)
}

/// The names a fresh `Sequential` gives these layers: the layer's own `name`, else Keras's
/// `dense`, `dense_1`, … (the same rule as `Sequential::add`).
pub fn layer_names(layers: &[LayerConfig]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for layer in layers {
        let name = layer.name().unwrap_or_else(|| {
            let prefix = layer.default_prefix();
            std::iter::once(prefix.to_string())
                .chain((1..).map(|i| format!("{prefix}_{i}")))
                .find(|n| !names.contains(n))
                .expect("some suffix is free")
        });
        names.push(name);
    }
    names
}

/// A layer has a kernel exactly when its options have a kernel initializer.
fn has_kernel(layer: &LayerConfig) -> Result<bool> {
    let value =
        serde_json::to_value(layer).map_err(|e| Error::invalid(format!("layer options: {e}")))?;
    Ok(value.get("kernel_initializer").is_some())
}

fn with_l2_where(
    layers: &[LayerConfig],
    lambda: f64,
    chosen: impl Fn(usize, &LayerConfig) -> bool,
) -> Result<Vec<LayerConfig>> {
    layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let mut value = serde_json::to_value(layer)
                .map_err(|e| Error::invalid(format!("layer options: {e}")))?;
            let object = value.as_object_mut().expect("layers serialize as tables");
            // A layer has a kernel exactly when it has a kernel initializer.
            if !object.contains_key("kernel_initializer") || !chosen(i, layer) {
                return Ok(layer.clone());
            }
            if lambda > 0.0 {
                object.insert(
                    "kernel_regularizer".into(),
                    serde_json::json!({ "l2": lambda }),
                );
            } else {
                object.remove("kernel_regularizer");
            }
            serde_json::from_value(value).map_err(|e| Error::invalid(format!("layer options: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::Sequential;

    fn counts(input: &[usize], layers: &[LayerConfig]) -> (usize, usize) {
        Sequential::<f32>::from_configs(input, layers, 0)
            .unwrap()
            .count_params()
    }

    /// Parameter counts as Keras's `model.summary()` reports them.
    #[test]
    fn mlp_parameter_counts_equal_keras() {
        for (hidden, expected) in [
            (vec![128, 64], 109_386),
            (vec![64, 64], 55_050),
            (vec![128], 101_770),
        ] {
            let layers = mlp(&hidden, Activation::Relu, 10, 0.0);
            let model = Sequential::<f32>::from_configs(&[28, 28, 1], &layers, 0).unwrap();
            assert_eq!(model.count_params(), (expected, 0), "hidden {hidden:?}");
            assert!(model
                .summary()
                .contains(&format!("Total params: {expected} (")));
        }
    }

    #[test]
    fn cnn_parameter_counts_equal_keras() {
        assert_eq!(counts(&[32, 32, 3], &lenet5(10, 0.0, false)), (62_006, 0));
        assert_eq!(
            counts(&[32, 32, 3], &cifar_cnn(10, 0.3, false)),
            (122_570, 0)
        );
        assert_eq!(
            counts(&[32, 32, 3], &cnn(&[32, 32, 3], 10, None, true)),
            (123_466 - 448, 448)
        );
        assert_eq!(
            counts(&[28, 28, 1], &mnist_cnn(10, 0.5, false)),
            (225_034, 0)
        );
        assert_eq!(
            counts(&[28, 28, 1], &cnn(&[28, 28, 1], 10, None, false)),
            (225_034, 0)
        );
    }

    #[test]
    fn batch_norm_variant_has_no_dropout_and_the_keras_summary() {
        let layers = cnn(&[32, 32, 3], 10, None, true);
        assert!(!layers.iter().any(|l| l.kind() == "Dropout"));
        assert_eq!(
            layers
                .iter()
                .filter(|l| l.kind() == "BatchNormalization")
                .count(),
            4
        );
        let model = Sequential::<f32>::from_configs(&[32, 32, 3], &layers, 0).unwrap();
        let summary = model.summary();
        assert!(summary.contains("Total params: 123466 ("), "{summary}");
        assert!(summary.contains("Non-trainable params: 448 ("), "{summary}");
        let names: Vec<&str> = model.layers().iter().map(|l| l.name()).collect();
        assert!(names.contains(&"batch_normalization_3"));
        assert!(names.contains(&"max_pooling2d_1"));
        assert!(summary.contains("max_pooling2d (MaxPooling2D)"));
        assert!(summary.contains("(None, 4, 4, 64)"));
    }

    #[test]
    fn layer_names_are_the_ones_sequential_gives() {
        let mut layers = cnn(&[32, 32, 3], 10, None, true);
        layers[0] = relu_conv(32, 3).into();
        if let LayerConfig::Conv2D(c) = &mut layers[0] {
            c.name = Some("conv2d_2".into());
        }
        let model = Sequential::<f32>::from_configs(&[32, 32, 3], &layers, 0).unwrap();
        let built: Vec<&str> = model.layers().iter().map(|l| l.name()).collect();
        assert_eq!(layer_names(&layers), built);
        assert_eq!(built[0], "conv2d_2");
    }

    #[test]
    fn l2_on_named_layers_leaves_the_others_alone() {
        let plain = mlp(&[500, 300], Activation::Relu, 10, 0.0);
        let hidden = hidden_kernel_names(&plain).unwrap();
        assert_eq!(hidden, ["dense", "dense_1"]);
        let layers = with_l2_on(&plain, 1e-4, &hidden).unwrap();
        let l2: Vec<bool> = layers
            .iter()
            .map(|l| {
                serde_json::to_value(l)
                    .unwrap()
                    .get("kernel_regularizer")
                    .is_some()
            })
            .collect();
        assert_eq!(l2, [false, true, true, false]);
        let model = Sequential::<f32>::from_configs(&[28, 28, 1], &layers, 0).unwrap();
        assert_eq!(model.count_params(), (545_810, 0));

        let typo = with_l2_on(&plain, 1e-4, &["dense_9".to_string()]).unwrap_err();
        assert!(
            typo.to_string().contains("no layer is named 'dense_9'"),
            "{typo}"
        );
        let flat = with_l2_on(&plain, 1e-4, &["flatten".to_string()]).unwrap_err();
        assert!(flat.to_string().contains("has no kernel"), "{flat}");
    }

    #[test]
    fn l2_goes_on_every_kernel_and_only_there() {
        let layers = with_l2(&lenet5(10, 0.0, true), 1e-4).unwrap();
        let json = serde_json::to_value(&layers).unwrap();
        let kernels = json
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l.get("kernel_initializer").is_some());
        for layer in kernels {
            assert_eq!(
                layer["kernel_regularizer"],
                serde_json::json!({ "l2": 1e-4 }),
                "{layer}"
            );
        }
        let others = json
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l.get("kernel_initializer").is_none());
        assert!(
            others.clone().count() > 0
                && others
                    .into_iter()
                    .all(|l| l.get("kernel_regularizer").is_none())
        );
        let removed = serde_json::to_value(with_l2(&layers, 0.0).unwrap()).unwrap();
        assert!(!removed.to_string().contains("kernel_regularizer"));
    }
}
