//! Reading Keras model files into a nabla `Sequential`: the architecture from Keras's JSON
//! config, the weights from HDF5, and the compile config (optimizer and loss) where present.
//!
//! Two weight layouts exist. Keras 3 (`model.weights.h5` inside a `.keras` zip, and
//! `.weights.h5`) stores layer `i` of a class under `layers/<snake_case class>[_k]/vars/<i>`,
//! `k` counting earlier layers of the same class. The legacy `.h5` layout (Keras 3's
//! `model.save("m.h5")` and tf.keras 2) lists `layer_names`, and per layer the `weight_names`
//! (`dense/kernel:0` in tf.keras 2) under which each dataset sits; Keras matches those to the
//! model's layers that have weights, in order, and so does nabla.

use super::config::{compile_from_keras, layer_from_keras, KerasLayer};
use crate::error::{Error, Result};
use crate::io::h5::H5;
use crate::nn::LayerConfig;
use crate::tensor::{Float, Tensor};
use crate::train::Sequential;
use serde_json::Value;
use std::io::{Cursor, Read};
use std::path::Path;

/// The largest `config.json` nabla reads from a `.keras` zip (real ones are kilobytes).
const MAX_CONFIG_BYTES: u64 = 64 << 20;
/// The largest `model.weights.h5` nabla reads from a `.keras` zip.
const MAX_WEIGHTS_BYTES: u64 = 8 << 30;

/// Reads a Keras 3 `.keras` zip: architecture, weights and compile settings.
pub fn read_keras<T: Float>(path: &Path) -> Result<Sequential<T>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_keras(&bytes, path)
}

/// [`read_keras`] on bytes in memory; `source` names the file in errors.
pub fn decode_keras<T: Float>(bytes: &[u8], source: &Path) -> Result<Sequential<T>> {
    let bad = |m: String| Error::format(source, m);
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        bad(format!(
            "not a .keras file (a .keras file is a zip archive): {e}"
        ))
    })?;
    let config = read_entry(&mut zip, "config.json", MAX_CONFIG_BYTES, source)?;
    let config: Value = serde_json::from_slice(&config)
        .map_err(|e| bad(format!("config.json is not valid JSON: {e}")))?;
    let weights = read_entry(&mut zip, "model.weights.h5", MAX_WEIGHTS_BYTES, source)?;
    let mut model = model_from_config(&config).map_err(|e| bad(e.to_string()))?;
    let inner = source.join("model.weights.h5");
    let h5 = H5::parse(weights, &inner)?;
    assign_keras3(&mut model, &h5)?;
    if let Some(compile) = config.get("compile_config").filter(|c| !c.is_null()) {
        let optimizer = compile.get("optimizer").cloned().unwrap_or(Value::Null);
        let loss = compile.get("loss").cloned().unwrap_or(Value::Null);
        compile_model(&mut model, &optimizer, &loss).map_err(|e| bad(e.to_string()))?;
    }
    Ok(model)
}

/// Reads a legacy Keras `.h5` model file (Keras 3's `model.save("m.h5")` or tf.keras 2's).
pub fn read_h5<T: Float>(path: &Path) -> Result<Sequential<T>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_h5(bytes, path)
}

/// [`read_h5`] on bytes in memory; `source` names the file in errors.
pub fn decode_h5<T: Float>(bytes: Vec<u8>, source: &Path) -> Result<Sequential<T>> {
    let h5 = H5::parse(bytes, source)?;
    let root = h5.file.root();
    let Some(config) = h5.attr_string(&root, "model_config", "the file")? else {
        return Err(h5.bad(
            "an HDF5 file without a model_config attribute: a weights-only file has no \
             architecture; build the model and load the weights into it instead",
        ));
    };
    let config: Value = serde_json::from_str(&config)
        .map_err(|e| h5.bad(format!("model_config is not valid JSON: {e}")))?;
    let mut model = model_from_config(&config).map_err(|e| h5.bad(e.to_string()))?;
    let group = if h5.group("model_weights").is_some() {
        "model_weights"
    } else {
        ""
    };
    assign_legacy(&mut model, &h5, group)?;
    if let Some(training) = h5.attr_string(&root, "training_config", "the file")? {
        let training: Value = serde_json::from_str(&training)
            .map_err(|e| h5.bad(format!("training_config is not valid JSON: {e}")))?;
        let optimizer = training
            .get("optimizer_config")
            .cloned()
            .unwrap_or(Value::Null);
        let loss = training.get("loss").cloned().unwrap_or(Value::Null);
        compile_model(&mut model, &optimizer, &loss).map_err(|e| h5.bad(e.to_string()))?;
    }
    Ok(model)
}

/// Loads Keras weights into `model` as Keras's `model.load_weights` does: from a Keras 3
/// `.weights.h5` (or the weights of a `.keras` zip), or a legacy `.h5` weights or model file.
/// The model must have the file's architecture; shapes are checked weight by weight.
pub fn load_weights<T: Float>(model: &mut Sequential<T>, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_weights(model, bytes, path)
}

/// [`load_weights`] on bytes in memory.
pub fn decode_weights<T: Float>(
    model: &mut Sequential<T>,
    bytes: Vec<u8>,
    source: &Path,
) -> Result<()> {
    let h5 = H5::parse(bytes, source)?;
    if h5.group("layers").is_some() {
        assign_keras3(model, &h5)
    } else if h5.group("model_weights").is_some() {
        assign_legacy(model, &h5, "model_weights")
    } else {
        assign_legacy(model, &h5, "")
    }
}

fn read_entry(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    limit: u64,
    source: &Path,
) -> Result<Vec<u8>> {
    let mut entry = zip.by_name(name).map_err(|e| {
        Error::format(
            source,
            format!("the .keras zip has no readable '{name}': {e}"),
        )
    })?;
    if entry.size() > limit {
        return Err(Error::format(
            source,
            format!(
                "'{name}' claims {} bytes, more than the {limit} nabla reads",
                entry.size()
            ),
        ));
    }
    // The claimed size only bounds the read; memory grows with the bytes actually there.
    let mut out = Vec::with_capacity(entry.size().min(1 << 20) as usize);
    (&mut entry)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|e| Error::format(source, format!("'{name}' is corrupted in the zip: {e}")))?;
    Ok(out)
}

/// A `Sequential` from Keras's model config (weights still at their initial values).
pub(crate) fn model_from_config<T: Float>(config: &Value) -> Result<Sequential<T>> {
    let class = config
        .get("class_name")
        .and_then(Value::as_str)
        .unwrap_or("?");
    if class != "Sequential" {
        return Err(Error::invalid(format!(
            "the Keras model is a {class}; nabla reads Sequential models only"
        )));
    }
    let inner = config.get("config").unwrap_or(&Value::Null);
    // Keras 2.0-era files keep the layer list as the config itself.
    let layers = inner
        .get("layers")
        .or(Some(inner))
        .and_then(Value::as_array)
        .ok_or_else(|| Error::invalid("the Keras model config has no layer list"))?;
    let mut input_shape: Option<Vec<usize>> = None;
    let mut parsed = Vec::new();
    for (i, entry) in layers.iter().enumerate() {
        let p = layer_from_keras(entry, i)?;
        if input_shape.is_none() {
            input_shape = p.declared.clone();
        }
        if let KerasLayer::Layer(layer) = p.layer {
            parsed.push((layer, p.axis));
        }
    }
    if input_shape.is_none() {
        let build = config
            .pointer("/build_config/input_shape")
            .or(inner.get("build_input_shape"));
        if let Some(Value::Array(dims)) = build {
            let shape: Option<Vec<usize>> = dims
                .get(1..)
                .unwrap_or_default()
                .iter()
                .map(|d| d.as_u64().filter(|&d| d > 0).map(|d| d as usize))
                .collect();
            input_shape = shape.filter(|s| !s.is_empty() && s.len() <= 5);
        }
    }
    let input_shape = input_shape.ok_or_else(|| {
        Error::invalid("the Keras model declares no input shape (no InputLayer or batch shape)")
    })?;
    let mut model = Sequential::<T>::with_seed(&input_shape, 0);
    if let Some(name) = inner.get("name").and_then(Value::as_str) {
        model.name = name.to_string();
    }
    for (layer, axis) in parsed {
        if let Some(axis) = axis {
            let rank = model.output_shape().len() + 1;
            if axis + 1 != rank {
                return Err(Error::invalid(format!(
                    "Keras layer '{}': BatchNormalization over axis {axis} of a rank-{rank} \
                     input is not supported by nabla (only the last axis)",
                    layer.name().unwrap_or_default()
                )));
            }
        }
        model.add(layer)?;
    }
    Ok(model)
}

fn compile_model<T: Float>(
    model: &mut Sequential<T>,
    optimizer: &Value,
    loss: &Value,
) -> Result<()> {
    if optimizer.is_null() || loss.is_null() {
        return Ok(());
    }
    let (optimizer, loss) = compile_from_keras(optimizer, loss)?;
    model.compile(optimizer, loss)
}

/// The Keras weight names of a layer, in Keras's order; nabla's parameters are named
/// `<layer>/<weight>` with the same words.
fn keras_weight_names(config: &LayerConfig) -> &'static [&'static str] {
    match config {
        LayerConfig::Dense(_) | LayerConfig::Conv2D(_) => &["kernel", "bias"],
        LayerConfig::BatchNormalization(_) => &["gamma", "beta", "moving_mean", "moving_variance"],
        _ => &[],
    }
}

/// Per layer: its name, its Keras 3 path, and the parameter names it has, in Keras's order.
pub(crate) struct LayerWeights {
    pub name: String,
    pub keras3_path: String,
    pub params: Vec<String>,
}

pub(crate) fn layer_weights<T: Float>(model: &Sequential<T>) -> Vec<LayerWeights> {
    let mut seen: std::collections::HashMap<&str, usize> = Default::default();
    let mut out = Vec::new();
    for (config, layer) in model.configs().iter().zip(model.layers()) {
        let prefix = config.default_prefix();
        let count = seen.entry(prefix).or_insert(0);
        let keras3_path = if *count == 0 {
            format!("layers/{prefix}")
        } else {
            format!("layers/{prefix}_{count}")
        };
        *count += 1;
        let params = keras_weight_names(config)
            .iter()
            .map(|w| format!("{}/{w}", layer.name()))
            .filter(|n| model.params().find(n).is_some())
            .collect();
        out.push(LayerWeights {
            name: layer.name().to_string(),
            keras3_path,
            params,
        });
    }
    out
}

fn set_param<T: Float>(model: &mut Sequential<T>, name: &str, data: Vec<f32>) -> Result<()> {
    let id = model.params().find(name).expect("listed by layer_weights");
    let dims = model.params().value(id).dims().to_vec();
    let values: Vec<T> = data.into_iter().map(|x| T::of(x as f64)).collect();
    *model.params_mut().value_mut(id) = Tensor::from_vec(values, dims.as_slice())?;
    Ok(())
}

fn expected_dims<T: Float>(model: &Sequential<T>, name: &str) -> Vec<usize> {
    let id = model.params().find(name).expect("listed by layer_weights");
    model.params().value(id).dims().to_vec()
}

/// Keras 3's layout: `layers/<class path>/vars/<i>`.
fn assign_keras3<T: Float>(model: &mut Sequential<T>, h5: &H5) -> Result<()> {
    for layer in layer_weights(model) {
        let vars = format!("{}/vars", layer.keras3_path);
        let stored = match h5.group(&vars) {
            Some(g) => g
                .datasets()
                .map_err(|e| h5.bad(format!("'{vars}': unreadable: {e}")))?
                .len(),
            None => 0,
        };
        if stored != layer.params.len() {
            return Err(h5.bad(format!(
                "layer '{}' has {} weights but the file has {stored} under '{vars}': the file \
                 was saved from a different architecture",
                layer.name,
                layer.params.len()
            )));
        }
        for (i, param) in layer.params.iter().enumerate() {
            let dims = expected_dims(model, param);
            let data = h5.read_f32(&format!("{vars}/{i}"), &dims)?;
            set_param(model, param, data)?;
        }
    }
    Ok(())
}

/// The legacy layout: `layer_names`, then per layer `weight_names` and their datasets.
fn assign_legacy<T: Float>(model: &mut Sequential<T>, h5: &H5, group: &str) -> Result<()> {
    let what = if group.is_empty() { "the file" } else { group };
    let root = h5
        .group(group)
        .ok_or_else(|| h5.bad(format!("no group '{group}'")))?;
    let names = h5
        .attr_strings(&root, "layer_names", what)?
        .ok_or_else(|| {
            h5.bad(format!(
                "{what} has no layer_names attribute: not Keras weights"
            ))
        })?;
    let prefix = |name: &str| {
        if group.is_empty() {
            name.to_string()
        } else {
            format!("{group}/{name}")
        }
    };
    let mut stored = Vec::new();
    for name in &names {
        let g = h5.group(&prefix(name)).ok_or_else(|| {
            h5.bad(format!(
                "layer_names lists '{name}' but there is no such group"
            ))
        })?;
        let weights = h5
            .attr_strings(&g, "weight_names", name)?
            .unwrap_or_default();
        if !weights.is_empty() {
            stored.push((name.clone(), weights));
        }
    }
    let ours: Vec<LayerWeights> = layer_weights(model)
        .into_iter()
        .filter(|l| !l.params.is_empty())
        .collect();
    if ours.len() != stored.len() {
        return Err(h5.bad(format!(
            "the file has weights for {} layers but the model has {} layers with weights",
            stored.len(),
            ours.len()
        )));
    }
    for (layer, (name, weights)) in ours.iter().zip(&stored) {
        if weights.len() != layer.params.len() {
            return Err(h5.bad(format!(
                "layer '{name}' in the file has {} weights, but layer '{}' has {}",
                weights.len(),
                layer.name,
                layer.params.len()
            )));
        }
        for (param, weight) in layer.params.iter().zip(weights) {
            let dims = expected_dims(model, param);
            let data = h5.read_f32(&format!("{}/{weight}", prefix(name)), &dims)?;
            set_param(model, param, data)?;
        }
    }
    Ok(())
}
