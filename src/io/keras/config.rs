//! Keras's JSON layer and compile configs, to and from nabla's typed configs. Every option
//! nabla has is read; an option nabla does not have, set to anything but Keras's default, is
//! an error naming the layer and the option, never a silent approximation.

use crate::error::{Error, Result};
use crate::nn::layers::{
    ActivationLayer, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
    GlobalAveragePooling2D, MaxPool2D, Size2,
};
use crate::nn::{Initializer, LayerConfig, Loss, OptimizerConfig, Regularizer};
use crate::ops::{Activation, Padding};
use serde_json::{json, Map, Value};

/// One layer's `config` object, with the layer's name for error messages.
struct Options<'a> {
    layer: String,
    map: &'a Map<String, Value>,
}

impl<'a> Options<'a> {
    fn err(&self, message: impl std::fmt::Display) -> Error {
        Error::invalid(format!("Keras layer '{}': {message}", self.layer))
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn usize(&self, key: &str) -> Result<usize> {
        self.get(key)
            .and_then(Value::as_u64)
            .map(|v| v as usize)
            .ok_or_else(|| self.err(format!("'{key}' must be a non-negative integer")))
    }

    fn f64_or(&self, key: &str, default: f64) -> Result<f64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| self.err(format!("'{key}' must be a number"))),
        }
    }

    fn bool_or(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| self.err(format!("'{key}' must be true or false"))),
        }
    }

    fn str_or(&self, key: &str, default: &'a str) -> Result<&'a str> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_str()
                .ok_or_else(|| self.err(format!("'{key}' must be a string"))),
        }
    }

    /// An option nabla lacks must be absent, null or the value Keras defaults to.
    fn require(&self, key: &str, allowed: &[Value]) -> Result<()> {
        match self.get(key) {
            None => Ok(()),
            Some(v) if allowed.contains(v) => Ok(()),
            Some(v) => Err(self.err(format!(
                "option {key} = {v} is not supported by nabla (only {})",
                if allowed.is_empty() {
                    "null".to_string()
                } else {
                    allowed
                        .iter()
                        .map(|a| a.to_string())
                        .collect::<Vec<_>>()
                        .join(" or ")
                }
            ))),
        }
    }

    fn size2(&self, key: &str) -> Result<Option<Size2>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .filter(|&n| n > 0)
                .map(|n| Some(Size2::from(n as usize)))
                .ok_or_else(|| self.err(format!("'{key}' must be positive"))),
            Some(Value::Array(a)) if a.len() == 2 => {
                let h = a[0].as_u64().filter(|&n| n > 0);
                let w = a[1].as_u64().filter(|&n| n > 0);
                match (h, w) {
                    (Some(h), Some(w)) => Ok(Some(Size2([h as usize, w as usize]))),
                    _ => Err(self.err(format!("'{key}' must hold two positive integers"))),
                }
            }
            Some(v) => Err(self.err(format!("'{key}' = {v} is not a 2-D size"))),
        }
    }

    fn activation(&self) -> Result<Activation> {
        match self.get("activation") {
            None => Ok(Activation::Linear),
            Some(Value::String(name)) => activation_named(name).ok_or_else(|| {
                self.err(format!(
                    "activation '{name}' is not supported by nabla (linear, relu, sigmoid, \
                     tanh, softmax)"
                ))
            }),
            Some(v) => Err(self.err(format!("activation {v} is not supported by nabla"))),
        }
    }

    fn padding(&self) -> Result<Padding> {
        match self.str_or("padding", "valid")? {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            other => Err(self.err(format!("padding '{other}' is not supported by nabla"))),
        }
    }

    fn channels_last(&self) -> Result<()> {
        self.require("data_format", &[json!("channels_last")])
    }

    fn initializer(&self, key: &str, default: Initializer) -> Result<Initializer> {
        let Some(value) = self.get(key) else {
            return Ok(default);
        };
        let (class, config) = match value {
            Value::String(s) => (s.as_str(), None),
            Value::Object(o) => (
                o.get("class_name").and_then(Value::as_str).unwrap_or(""),
                o.get("config").and_then(Value::as_object),
            ),
            _ => ("", None),
        };
        let number = |k: &str| config.and_then(|c| c.get(k)).and_then(Value::as_f64);
        let init = match class {
            "GlorotUniform" | "glorot_uniform" => Initializer::GlorotUniform,
            "GlorotNormal" | "glorot_normal" => Initializer::GlorotNormal,
            "HeNormal" | "he_normal" => Initializer::HeNormal,
            "HeUniform" | "he_uniform" => Initializer::HeUniform,
            "LecunNormal" | "lecun_normal" => Initializer::LecunNormal,
            "LecunUniform" | "lecun_uniform" => Initializer::LecunUniform,
            "Zeros" | "zeros" => Initializer::Zeros,
            "Ones" | "ones" => Initializer::Ones,
            "RandomNormal" | "random_normal"
                if number("mean").unwrap_or(0.0) == 0.0
                    && number("stddev").unwrap_or(0.05) == 0.05 =>
            {
                Initializer::RandomNormal
            }
            "RandomUniform" | "random_uniform"
                if number("minval").unwrap_or(-0.05) == -0.05
                    && number("maxval").unwrap_or(0.05) == 0.05 =>
            {
                Initializer::RandomUniform
            }
            _ => {
                return Err(self.err(format!(
                    "{key} {value} is not supported by nabla (Keras's defaults of glorot, he, \
                     lecun, zeros, ones, random_normal, random_uniform)"
                )))
            }
        };
        Ok(init)
    }

    fn regularizer(&self, key: &str) -> Result<Option<Regularizer>> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let class = value.get("class_name").and_then(Value::as_str);
        let config = value.get("config");
        let number = |k: &str| {
            config
                .and_then(|c| c.get(k))
                .map(|v| if v.is_null() { Some(0.0) } else { v.as_f64() })
                .unwrap_or(Some(0.0))
        };
        match (class, number("l1"), number("l2")) {
            (Some("L2" | "l2"), _, Some(l2)) => Ok(Some(Regularizer::L2(l2))),
            (Some("L1L2"), Some(0.0), Some(l2)) => Ok(Some(Regularizer::L2(l2))),
            _ => Err(self.err(format!("{key} {value} is not supported by nabla (only L2)"))),
        }
    }

    /// Keras's float32 policy is the only one nabla's f32 models mirror.
    fn float32(&self) -> Result<()> {
        let name = match self.get("dtype") {
            None => return Ok(()),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v
                .pointer("/config/name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
        };
        if name == "float32" {
            Ok(())
        } else {
            Err(self.err(format!(
                "dtype policy '{name}' is not supported by nabla (float32)"
            )))
        }
    }

    fn no_constraints(&self, keys: &[&str]) -> Result<()> {
        for key in keys {
            self.require(key, &[])?;
        }
        Ok(())
    }
}

fn activation_named(name: &str) -> Option<Activation> {
    Some(match name {
        "linear" => Activation::Linear,
        "relu" => Activation::Relu,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "softmax" => Activation::Softmax,
        _ => return None,
    })
}

/// What a Keras layer entry becomes: an input declaration or a nabla layer.
pub(crate) enum KerasLayer {
    /// `InputLayer` (its shape is in [`Parsed::declared`]).
    Input,
    Layer(LayerConfig),
}

/// A parsed Keras layer entry.
pub(crate) struct Parsed {
    pub layer: KerasLayer,
    /// The per-sample input shape the entry declares (tf.keras 2's `batch_input_shape`).
    pub declared: Option<Vec<usize>>,
    /// A BatchNormalization axis given as a positive index, to check against the input rank.
    pub axis: Option<usize>,
}

/// The per-sample shape from a Keras `batch_shape` / `batch_input_shape` list.
fn sample_shape(options: &Options, value: &Value) -> Result<Vec<usize>> {
    let dims = value
        .as_array()
        .ok_or_else(|| options.err("the input shape is not a list"))?;
    let rest = dims.get(1..).unwrap_or_default();
    let shape: Option<Vec<usize>> = rest
        .iter()
        .map(|d| d.as_u64().filter(|&d| d > 0).map(|d| d as usize))
        .collect();
    match shape {
        Some(shape) if !shape.is_empty() && shape.len() <= 5 => Ok(shape),
        _ => Err(options.err(format!(
            "input shape {value} is not supported (1 to 5 fixed, positive dimensions after the batch)"
        ))),
    }
}

/// One entry of a Keras `layers` list (`{"class_name": ..., "config": {...}}`).
/// Also returns the input shape a first layer may declare itself (tf.keras 2's
/// `batch_input_shape`).
pub(crate) fn layer_from_keras(entry: &Value, index: usize) -> Result<Parsed> {
    let class = entry
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid(format!("Keras layer {}: no class_name", index + 1)))?;
    let empty = Map::new();
    let map = entry
        .get("config")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let layer_name = map
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| format!("#{} ({class})", index + 1));
    let o = Options {
        layer: layer_name.clone(),
        map,
    };
    let declared = match map.get("batch_input_shape").or(map.get("batch_shape")) {
        Some(v) if !v.is_null() => Some(sample_shape(&o, v)?),
        _ => None,
    };
    let name = Some(layer_name);
    let mut axis = None;
    if class != "InputLayer" {
        o.float32()?;
        o.require("trainable", &[json!(true)])?;
    }
    let layer: LayerConfig = match class {
        "InputLayer" => {
            let shape = declared.ok_or_else(|| o.err("InputLayer without a batch_shape"))?;
            o.require("sparse", &[json!(false)])?;
            o.require("ragged", &[json!(false)])?;
            return Ok(Parsed {
                layer: KerasLayer::Input,
                declared: Some(shape),
                axis: None,
            });
        }
        "Dense" => {
            o.no_constraints(&[
                "bias_regularizer",
                "activity_regularizer",
                "kernel_constraint",
                "bias_constraint",
                "lora_rank",
                "quantization_config",
            ])?;
            Dense {
                units: o.usize("units")?,
                activation: o.activation()?,
                use_bias: o.bool_or("use_bias", true)?,
                kernel_initializer: o
                    .initializer("kernel_initializer", Initializer::GlorotUniform)?,
                bias_initializer: o.initializer("bias_initializer", Initializer::Zeros)?,
                kernel_regularizer: o.regularizer("kernel_regularizer")?,
                name,
            }
            .into()
        }
        "Conv2D" | "Convolution2D" => {
            o.channels_last()?;
            o.require("dilation_rate", &[json!([1, 1]), json!(1)])?;
            o.require("groups", &[json!(1)])?;
            o.no_constraints(&[
                "bias_regularizer",
                "activity_regularizer",
                "kernel_constraint",
                "bias_constraint",
                "lora_rank",
            ])?;
            Conv2D {
                filters: o.usize("filters")?,
                kernel_size: o
                    .size2("kernel_size")?
                    .ok_or_else(|| o.err("no kernel_size"))?,
                strides: o.size2("strides")?.unwrap_or(Size2([1, 1])),
                padding: o.padding()?,
                activation: o.activation()?,
                use_bias: o.bool_or("use_bias", true)?,
                kernel_initializer: o
                    .initializer("kernel_initializer", Initializer::GlorotUniform)?,
                bias_initializer: o.initializer("bias_initializer", Initializer::Zeros)?,
                kernel_regularizer: o.regularizer("kernel_regularizer")?,
                name,
            }
            .into()
        }
        "MaxPooling2D" | "MaxPool2D" | "AveragePooling2D" | "AvgPool2D" => {
            o.channels_last()?;
            let pool_size = o.size2("pool_size")?.unwrap_or(Size2([2, 2]));
            let strides = o.size2("strides")?;
            let padding = o.padding()?;
            if class.starts_with("Max") {
                MaxPool2D {
                    pool_size,
                    strides,
                    padding,
                    name,
                }
                .into()
            } else {
                AveragePooling2D {
                    pool_size,
                    strides,
                    padding,
                    name,
                }
                .into()
            }
        }
        "GlobalAveragePooling2D" | "GlobalAvgPool2D" => {
            o.channels_last()?;
            o.require("keepdims", &[json!(false)])?;
            GlobalAveragePooling2D { name }.into()
        }
        "BatchNormalization" => {
            axis = batch_norm_axis(&o)?;
            o.require("synchronized", &[json!(false)])?;
            o.require("renorm", &[json!(false)])?;
            o.no_constraints(&[
                "beta_regularizer",
                "gamma_regularizer",
                "beta_constraint",
                "gamma_constraint",
            ])?;
            o.require("beta_initializer", &[json!("zeros")])
                .or_else(|_| named_initializer(&o, "beta_initializer", "Zeros"))?;
            o.require("gamma_initializer", &[json!("ones")])
                .or_else(|_| named_initializer(&o, "gamma_initializer", "Ones"))?;
            BatchNormalization {
                momentum: o.f64_or("momentum", 0.99)?,
                epsilon: o.f64_or("epsilon", 1e-3)?,
                center: o.bool_or("center", true)?,
                scale: o.bool_or("scale", true)?,
                name,
            }
            .into()
        }
        "Dropout" => {
            o.require("noise_shape", &[])?;
            Dropout {
                rate: o.f64_or("rate", 0.0)?,
                name,
            }
            .into()
        }
        "Flatten" => {
            o.channels_last()?;
            Flatten { name }.into()
        }
        "Activation" => ActivationLayer {
            activation: o.activation()?,
            name,
        }
        .into(),
        other => {
            return Err(Error::invalid(format!(
                "Keras layer '{}' is a {other}, which nabla does not have (it has Dense, \
                 Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, \
                 BatchNormalization, Dropout, Flatten, Activation)",
                o.layer
            )))
        }
    };
    Ok(Parsed {
        layer: KerasLayer::Layer(layer),
        declared,
        axis,
    })
}

/// BatchNormalization's axis: -1, or (tf.keras 2) a positive index such as `[3]` that the
/// caller checks is the last axis of the layer's input (batch axis counted).
fn batch_norm_axis(o: &Options) -> Result<Option<usize>> {
    let value = o.get("axis").cloned().unwrap_or(json!(-1));
    let single = match &value {
        Value::Array(a) if a.len() == 1 => a[0].clone(),
        other => other.clone(),
    };
    match single.as_i64() {
        Some(-1) => Ok(None),
        Some(axis) if axis > 0 => Ok(Some(axis as usize)),
        _ => Err(o.err(format!(
            "BatchNormalization axis {value} is not supported by nabla (only the last axis)"
        ))),
    }
}

fn named_initializer(o: &Options, key: &str, class: &str) -> Result<()> {
    match o
        .get(key)
        .and_then(|v| v.get("class_name"))
        .and_then(Value::as_str)
    {
        Some(c) if c == class => Ok(()),
        None if o.get(key).is_none() => Ok(()),
        _ => Err(o.err(format!(
            "{key} {} is not supported by nabla (only {class})",
            o.get(key).cloned().unwrap_or(Value::Null)
        ))),
    }
}

/// Keras's compile settings: an optimizer config (`{"class_name": "Adam", "config": {...}}`)
/// and a loss (a name or a `{"class_name": ...}` object).
pub(crate) fn compile_from_keras(
    optimizer: &Value,
    loss: &Value,
) -> Result<(OptimizerConfig, Loss)> {
    let class = optimizer
        .get("class_name")
        .and_then(Value::as_str)
        .or(optimizer.as_str())
        .ok_or_else(|| Error::invalid(format!("Keras optimizer {optimizer} has no class_name")))?;
    let empty = Map::new();
    let map = optimizer
        .get("config")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let o = Options {
        layer: format!("optimizer {class}"),
        map,
    };
    for key in ["weight_decay", "clipnorm", "global_clipnorm", "clipvalue"] {
        o.require(key, &[])?;
    }
    o.require("use_ema", &[json!(false)])?;
    o.require("loss_scale_factor", &[])?;
    o.require("gradient_accumulation_steps", &[])?;
    let lr = |default: f64| match o.get("learning_rate").or(o.get("lr")) {
        None => Ok(default),
        Some(v) => v.as_f64().ok_or_else(|| {
            o.err(format!(
                "learning_rate {v} is not supported by nabla (only a constant number)"
            ))
        }),
    };
    let config = match class.to_ascii_lowercase().as_str() {
        "sgd" => OptimizerConfig::Sgd {
            learning_rate: lr(0.01)?,
            momentum: o.f64_or("momentum", 0.0)?,
            nesterov: o.bool_or("nesterov", false)?,
        },
        "adam" => {
            o.require("amsgrad", &[json!(false)])?;
            OptimizerConfig::Adam {
                learning_rate: lr(0.001)?,
                beta_1: o.f64_or("beta_1", 0.9)?,
                beta_2: o.f64_or("beta_2", 0.999)?,
                epsilon: o.f64_or("epsilon", 1e-7)?,
            }
        }
        "rmsprop" => OptimizerConfig::Rmsprop {
            learning_rate: lr(0.001)?,
            rho: o.f64_or("rho", 0.9)?,
            momentum: o.f64_or("momentum", 0.0)?,
            epsilon: o.f64_or("epsilon", 1e-7)?,
            centered: o.bool_or("centered", false)?,
        },
        _ => {
            return Err(Error::invalid(format!(
                "Keras optimizer '{class}' is not supported by nabla (SGD, Adam, RMSprop)"
            )))
        }
    };
    config.validate()?;
    Ok((config, loss_from_keras(loss)?))
}

fn loss_from_keras(loss: &Value) -> Result<Loss> {
    match loss {
        Value::String(name) => Loss::parse(name),
        Value::Object(o) => {
            let class = o.get("class_name").and_then(Value::as_str).unwrap_or("?");
            let config = o.get("config").cloned().unwrap_or(Value::Null);
            let from_logits = config.get("from_logits").and_then(Value::as_bool);
            let smoothing = config.get("label_smoothing").and_then(Value::as_f64);
            if from_logits == Some(true) || smoothing.unwrap_or(0.0) != 0.0 {
                return Err(Error::invalid(format!(
                    "Keras loss {loss} is not supported by nabla (no from_logits or label smoothing)"
                )));
            }
            let name = match class {
                "CategoricalCrossentropy" => "categorical_crossentropy",
                "SparseCategoricalCrossentropy" => "sparse_categorical_crossentropy",
                "MeanSquaredError" => "mean_squared_error",
                "BinaryCrossentropy" => "binary_crossentropy",
                other => other,
            };
            Loss::parse(name)
        }
        other => Err(Error::invalid(format!(
            "Keras loss {other} is not supported by nabla (one loss, by name)"
        ))),
    }
}

fn initializer_json(init: Initializer) -> Value {
    let class = match init {
        Initializer::GlorotUniform => "GlorotUniform",
        Initializer::GlorotNormal => "GlorotNormal",
        Initializer::HeNormal => "HeNormal",
        Initializer::HeUniform => "HeUniform",
        Initializer::LecunNormal => "LecunNormal",
        Initializer::LecunUniform => "LecunUniform",
        Initializer::Zeros => "Zeros",
        Initializer::Ones => "Ones",
        Initializer::RandomNormal => "RandomNormal",
        Initializer::RandomUniform => "RandomUniform",
    };
    json!({"module": "keras.initializers", "class_name": class, "config": {}, "registered_name": null})
}

fn regularizer_json(r: Option<Regularizer>) -> Value {
    match r {
        None => Value::Null,
        Some(Regularizer::L2(l2)) => json!({
            "module": "keras.regularizers", "class_name": "L2",
            "config": {"l2": l2}, "registered_name": null
        }),
    }
}

/// A nabla layer as Keras 3 serializes it; `name` is its name in the model and
/// `input_shape` its per-sample input shape (for `build_config`).
pub(crate) fn layer_to_keras(config: &LayerConfig, name: &str, input_shape: &[usize]) -> Value {
    let mut c = Map::new();
    c.insert("name".into(), json!(name));
    c.insert("trainable".into(), json!(true));
    c.insert("dtype".into(), json!("float32"));
    let extra = match config {
        LayerConfig::Dense(d) => json!({
            "units": d.units, "activation": d.activation.name(), "use_bias": d.use_bias,
            "kernel_initializer": initializer_json(d.kernel_initializer),
            "bias_initializer": initializer_json(d.bias_initializer),
            "kernel_regularizer": regularizer_json(d.kernel_regularizer),
        }),
        LayerConfig::Conv2D(d) => json!({
            "filters": d.filters, "kernel_size": d.kernel_size.0, "strides": d.strides.0,
            "padding": padding_name(d.padding), "data_format": "channels_last",
            "dilation_rate": [1, 1], "groups": 1,
            "activation": d.activation.name(), "use_bias": d.use_bias,
            "kernel_initializer": initializer_json(d.kernel_initializer),
            "bias_initializer": initializer_json(d.bias_initializer),
            "kernel_regularizer": regularizer_json(d.kernel_regularizer),
        }),
        LayerConfig::MaxPooling2D(p) => json!({
            "pool_size": p.pool_size.0, "strides": p.strides.unwrap_or(p.pool_size).0,
            "padding": padding_name(p.padding), "data_format": "channels_last",
        }),
        LayerConfig::AveragePooling2D(p) => json!({
            "pool_size": p.pool_size.0, "strides": p.strides.unwrap_or(p.pool_size).0,
            "padding": padding_name(p.padding), "data_format": "channels_last",
        }),
        LayerConfig::GlobalAveragePooling2D(_) => {
            json!({"data_format": "channels_last", "keepdims": false})
        }
        LayerConfig::BatchNormalization(b) => json!({
            "axis": -1, "momentum": b.momentum, "epsilon": b.epsilon,
            "center": b.center, "scale": b.scale,
        }),
        LayerConfig::Dropout(d) => json!({"rate": d.rate, "noise_shape": null, "seed": null}),
        LayerConfig::Flatten(_) => json!({"data_format": "channels_last"}),
        LayerConfig::Activation(a) => json!({"activation": a.activation.name()}),
    };
    if let Value::Object(extra) = extra {
        c.extend(extra);
    }
    let mut batch = vec![Value::Null];
    batch.extend(input_shape.iter().map(|&d| json!(d)));
    json!({
        "module": "keras.layers",
        "class_name": config.kind(),
        "config": c,
        "registered_name": null,
        "build_config": {"input_shape": batch},
    })
}

fn padding_name(p: Padding) -> &'static str {
    match p {
        Padding::Valid => "valid",
        Padding::Same => "same",
    }
}

/// Keras's `{"class_name": "Adam", "config": {...}}` for nabla's optimizer.
pub(crate) fn optimizer_to_keras(config: &OptimizerConfig) -> Value {
    let (class, name, options) = match *config {
        OptimizerConfig::Sgd {
            learning_rate,
            momentum,
            nesterov,
        } => (
            "SGD",
            "SGD",
            json!({"learning_rate": learning_rate, "momentum": momentum, "nesterov": nesterov}),
        ),
        OptimizerConfig::Adam {
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
        } => (
            "Adam",
            "adam",
            json!({"learning_rate": learning_rate, "beta_1": beta_1, "beta_2": beta_2,
                   "epsilon": epsilon, "amsgrad": false}),
        ),
        OptimizerConfig::Rmsprop {
            learning_rate,
            rho,
            momentum,
            epsilon,
            centered,
        } => (
            "RMSprop",
            "rmsprop",
            json!({"learning_rate": learning_rate, "rho": rho, "momentum": momentum,
                   "epsilon": epsilon, "centered": centered}),
        ),
    };
    let mut options = options;
    options["name"] = json!(name);
    json!({"module": "keras.optimizers", "class_name": class, "config": options, "registered_name": null})
}
