//! Writing nabla models as Keras files that Keras 3's `keras.models.load_model` opens:
//! a `.keras` zip (Keras 3's own format) or a legacy single-file `.h5`. Only what Keras needs
//! to rebuild and predict is written: the architecture, the weights and the compile config
//! (optimizer settings and loss); optimizer slots stay in nabla's `.safetensors` files.

use super::config::{layer_to_keras, optimizer_to_keras};
use super::read::layer_weights;
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::tensor::Float;
use crate::train::Sequential;
use hdf5_pure::{AttrValue, FileBuilder};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// The Keras version nabla's files say they follow: the format of Keras 3.
const KERAS_VERSION: &str = "3.0.0";

/// Keras's model config for `model`, with `compile_config` when it is compiled.
pub(crate) fn model_config<T: Float>(model: &Sequential<T>, module: bool) -> Value {
    let mut batch = vec![Value::Null];
    batch.extend(model.input_shape().iter().map(|&d| json!(d)));
    let mut layers = vec![json!({
        "module": "keras.layers", "class_name": "InputLayer", "registered_name": null,
        "config": {"batch_shape": batch, "dtype": "float32", "sparse": false,
                   "name": "input_layer"},
    })];
    let mut shape = model.input_shape().to_vec();
    for (config, layer) in model.configs().iter().zip(model.layers()) {
        layers.push(layer_to_keras(config, layer.name(), &shape));
        shape = layer.output_shape().to_vec();
    }
    let mut out = json!({
        "class_name": "Sequential",
        "config": {"name": model.name(), "trainable": true, "dtype": "float32", "layers": layers},
    });
    if module {
        out["module"] = json!("keras");
        out["registered_name"] = Value::Null;
        out["build_config"] = json!({"input_shape": batch});
        if let (Some(loss), Some(optimizer)) = (model.loss(), model.optimizer()) {
            out["compile_config"] = json!({
                "optimizer": optimizer_to_keras(&optimizer.config()),
                "loss": loss.name(), "loss_weights": null, "metrics": ["accuracy"],
                "weighted_metrics": null, "run_eagerly": false, "steps_per_execution": 1,
                "jit_compile": false,
            });
        }
    }
    out
}

fn f32_data<T: Float>(model: &Sequential<T>, name: &str) -> (Vec<f32>, Vec<u64>) {
    let id = model.params().find(name).expect("listed by layer_weights");
    let t = model.params().value(id);
    let data = t.data().iter().map(|x| x.as_f64() as f32).collect();
    (data, t.dims().iter().map(|&d| d as u64).collect())
}

/// Keras 3's weights file (`model.weights.h5`, or `model.save_weights("m.weights.h5")`).
pub fn encode_weights_h5<T: Float>(model: &Sequential<T>) -> Result<Vec<u8>> {
    let mut file = FileBuilder::new();
    let mut layers = file.create_group("layers");
    for layer in layer_weights(model) {
        let generic = layer.keras3_path.trim_start_matches("layers/").to_string();
        let mut group = layers.create_group(&generic);
        let mut vars = group.create_group("vars");
        vars.set_attr("name", AttrValue::VarLenString(layer.name.clone()));
        for (i, param) in layer.params.iter().enumerate() {
            let (data, dims) = f32_data(model, param);
            vars.create_dataset(&i.to_string())
                .with_f32_data(&data)
                .with_shape(&dims);
        }
        group.add_group(vars.finish());
        layers.add_group(group.finish());
    }
    file.add_group(layers.finish());
    let mut vars = file.create_group("vars");
    vars.set_attr("name", AttrValue::VarLenString(model.name().to_string()));
    file.add_group(vars.finish());
    file.finish()
        .map_err(|e| Error::invalid(format!("cannot encode the HDF5 weights: {e}")))
}

/// A Keras 3 `.keras` zip: `metadata.json`, `config.json`, `model.weights.h5`, stored
/// uncompressed as Keras writes them.
pub fn encode_keras<T: Float>(model: &Sequential<T>) -> Result<Vec<u8>> {
    let config = serde_json::to_vec(&model_config(model, true))
        .map_err(|e| Error::invalid(format!("cannot encode the Keras config: {e}")))?;
    let metadata = serde_json::to_vec(&json!({
        "keras_version": KERAS_VERSION,
        "date_saved": "",
        "written_by": format!("nabla {}", env!("CARGO_PKG_VERSION")),
    }))
    .expect("plain JSON");
    let weights = encode_weights_h5(model)?;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(weights.len() > u32::MAX as usize / 2);
    let zip_err = |e: zip::result::ZipError| Error::invalid(format!("cannot write the zip: {e}"));
    for (name, bytes) in [
        ("metadata.json", &metadata),
        ("config.json", &config),
        ("model.weights.h5", &weights),
    ] {
        zip.start_file(name, options).map_err(zip_err)?;
        zip.write_all(bytes)
            .map_err(|e| Error::invalid(format!("cannot write the zip: {e}")))?;
    }
    Ok(zip.finish().map_err(zip_err)?.into_inner())
}

/// A legacy single-file `.h5` as Keras's `model.save("m.h5")` writes it.
pub fn encode_h5<T: Float>(model: &Sequential<T>) -> Result<Vec<u8>> {
    let mut file = FileBuilder::new();
    let config = model_config(model, false).to_string();
    file.set_attr("backend", AttrValue::VarLenString("tensorflow".into()));
    file.set_attr(
        "keras_version",
        AttrValue::VarLenString(KERAS_VERSION.into()),
    );
    file.set_attr("model_config", AttrValue::VarLenString(config));
    if let (Some(loss), Some(optimizer)) = (model.loss(), model.optimizer()) {
        let training = json!({
            "loss": loss.name(), "loss_weights": null, "metrics": ["accuracy"],
            "weighted_metrics": null, "optimizer_config": optimizer_to_keras(&optimizer.config()),
        });
        file.set_attr(
            "training_config",
            AttrValue::VarLenString(training.to_string()),
        );
    }
    let mut weights = file.create_group("model_weights");
    weights.set_attr("backend", AttrValue::VarLenString("tensorflow".into()));
    weights.set_attr(
        "keras_version",
        AttrValue::VarLenString(KERAS_VERSION.into()),
    );
    let layers = layer_weights(model);
    weights.set_attr(
        "layer_names",
        AttrValue::VarLenStringArray(layers.iter().map(|l| l.name.clone()).collect()),
    );
    for layer in &layers {
        let mut group = weights.create_group(&layer.name);
        let names: Vec<String> = layer.params.clone();
        if names.is_empty() {
            group.set_attr("weight_names", AttrValue::F64Array(Vec::new()));
        } else {
            group.set_attr("weight_names", AttrValue::VarLenStringArray(names));
            // `<layer>/<weight>` names: datasets in a sub-group named after the layer.
            let mut inner = group.create_group(&layer.name);
            for param in &layer.params {
                let (data, dims) = f32_data(model, param);
                let leaf = param.rsplit('/').next().expect("has a name");
                inner
                    .create_dataset(leaf)
                    .with_f32_data(&data)
                    .with_shape(&dims);
            }
            group.add_group(inner.finish());
        }
        weights.add_group(group.finish());
    }
    file.add_group(weights.finish());
    file.finish()
        .map_err(|e| Error::invalid(format!("cannot encode the HDF5 model: {e}")))
}

/// Writes `model` as a `.keras` zip, atomically.
pub fn write_keras<T: Float>(model: &Sequential<T>, path: &Path) -> Result<()> {
    write_atomic(path, &encode_keras(model)?)
}

/// Writes `model` as a legacy `.h5` file, atomically.
pub fn write_h5<T: Float>(model: &Sequential<T>, path: &Path) -> Result<()> {
    write_atomic(path, &encode_h5(model)?)
}

/// Writes only the weights, as Keras 3's `model.save_weights("m.weights.h5")`, atomically.
pub fn write_weights_h5<T: Float>(model: &Sequential<T>, path: &Path) -> Result<()> {
    write_atomic(path, &encode_weights_h5(model)?)
}
