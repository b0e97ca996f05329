//! Model files. `save` and `load` take every format by extension ([`crate::io`] for Keras
//! and ONNX); this file is nabla's own format: one `.safetensors` file holding a `Sequential` whole — architecture, compile
//! settings, RNG state, weights and optimizer slots — so a model can be evaluated, used for
//! prediction or trained further after loading, with the same numbers as before saving.
//!
//! Layout (any safetensors reader opens it; `safetensors.torch.load_file` or
//! `safe_open(path, "np")` in Python):
//! - tensors: every parameter under its own name (`dense/kernel`, `dense/bias`, …) and every
//!   optimizer slot under `optimizer/<slot>/<parameter index>` (`optimizer/m/0`), in the
//!   model's element type (F32 normally);
//! - `__metadata__["nabla"]`: a JSON [`Header`] — format name and version, input shape,
//!   layer configs (the same serde form as experiment files), loss and optimizer config,
//!   seed, RNG state, and a SHA-256 of the tensors so flipped bits are caught on loading.
//!
//! Other `__metadata__` entries are free for callers (checkpoints keep their epoch and
//! history there), see [`encode_model`] and [`decode_model`].
//!
//! ```
//! use nabla::nn::layers::{Dense, Flatten};
//! use nabla::nn::{Loss, OptimizerConfig};
//! use nabla::train::Sequential;
//!
//! let mut model = Sequential::<f32>::new(&[4, 4, 1]);
//! model.add(Flatten::new())?;
//! model.add(Dense::new(3))?;
//! model.compile(OptimizerConfig::adam(1e-3), Loss::CategoricalCrossentropy)?;
//! let path = std::env::temp_dir().join(format!("nabla-doc-{}.safetensors", std::process::id()));
//! model.save(&path)?;
//! let loaded = Sequential::<f32>::load(&path)?;
//! assert_eq!(loaded.configs(), model.configs());
//! # std::fs::remove_file(&path).unwrap();
//! # Ok::<(), nabla::Error>(())
//! ```

use super::Sequential;
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::io::{keras, ModelFormat};
use crate::nn::optimizers::OptimizerState;
use crate::nn::{LayerConfig, Loss, OptimizerConfig};
use crate::random::{NumpyRandomState, RngState};
use crate::tensor::{Float, Tensor};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What the `format` field of every nabla model file says.
pub const FORMAT_NAME: &str = "nabla.sequential";

/// The newest format version this build writes and reads. Raise it when a change would make
/// an older nabla misread a file; older versions stay readable.
pub const FORMAT_VERSION: u32 = 1;

/// The `__metadata__` key holding the [`Header`] JSON.
pub const HEADER_KEY: &str = "nabla";

/// Tensor-name prefix of optimizer slots.
const OPTIMIZER_PREFIX: &str = "optimizer/";

/// Everything about a model that is not a tensor, as JSON in `__metadata__["nabla"]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub format: String,
    pub format_version: u32,
    /// The nabla version that wrote the file, for people reading it.
    pub written_by: String,
    pub name: String,
    pub input_shape: Vec<usize>,
    pub seed: u32,
    /// Kept as JSON here and parsed one by one, so an error names the layer.
    pub layers: Vec<serde_json::Value>,
    pub compile: Option<CompileSettings>,
    pub rng: RngState,
    /// `"f32"` or `"f64"`: the element type of the tensors.
    pub dtype: String,
    /// SHA-256 over the tensors in name order (name, a zero byte, raw little-endian data).
    pub tensors_sha256: String,
}

/// The loss and optimizer of a compiled model, and how far the optimizer has got.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompileSettings {
    pub loss: Loss,
    /// The optimizer's current settings (a learning rate lowered by ReduceLROnPlateau included).
    pub optimizer: OptimizerConfig,
    pub iterations: u64,
}

/// A loaded model file: the model and the caller's own `__metadata__` entries.
pub struct ModelFile<T: Float> {
    pub model: Sequential<T>,
    /// Every `__metadata__` entry except the header.
    pub extra: BTreeMap<String, String>,
}

impl<T: Float> Sequential<T> {
    /// Writes the model to `path` atomically (temporary file, fsync, rename): a crash while
    /// saving leaves the previous file intact. The extension picks the format: `.keras` and
    /// `.h5` for Keras, `.weights.h5` for Keras weights only, `.onnx` for an ONNX export, and
    /// nabla's own `.safetensors` (whole model with optimizer state) for anything else.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        match ModelFormat::from_extension(path) {
            Some(ModelFormat::Keras) => keras::write_keras(self, path),
            Some(ModelFormat::H5) => keras::write_h5(self, path),
            Some(ModelFormat::WeightsH5) => keras::write_weights_h5(self, path),
            Some(ModelFormat::Onnx) => crate::io::onnx::export_onnx(self, path),
            Some(ModelFormat::Safetensors) | None => {
                write_atomic(path, &encode_model(self, &BTreeMap::new())?)
            }
        }
    }

    /// Rebuilds a saved model. nabla's `.safetensors` files give back everything (weights,
    /// optimizer state, RNG state), so `evaluate`, `predict` and further `fit` match the
    /// original; Keras `.keras` and `.h5` files give the architecture, weights and compile
    /// settings. The format is read from the file's first bytes.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        match ModelFormat::sniff(&bytes) {
            ModelFormat::Keras => keras::decode_keras(&bytes, path),
            ModelFormat::H5 => keras::decode_h5(bytes, path),
            _ => Ok(decode_model(&bytes, path)?.model),
        }
    }

    /// Loads Keras weights (`.weights.h5`, a legacy `.h5`) into this model, as Keras's
    /// `model.load_weights` does; the architecture must match.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        keras::load_weights(self, path.as_ref())
    }

    /// Exports the model for inference as ONNX (see [`crate::io::onnx`]).
    pub fn export_onnx(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::onnx::export_onnx(self, path.as_ref())
    }
}

/// Reads a model file with its extra metadata.
pub fn read_model_file<T: Float>(path: impl AsRef<Path>) -> Result<ModelFile<T>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_model(&bytes, path)
}

/// The model file's bytes, with `extra` entries added to `__metadata__` beside the header.
pub fn encode_model<T: Float>(
    model: &Sequential<T>,
    extra: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    let mut tensors: BTreeMap<String, Tensor<T>> = BTreeMap::new();
    for (_, param) in model.params().iter() {
        tensors.insert(param.name.clone(), param.value.clone());
    }
    let compile = match &model.compiled {
        Some(c) => {
            let state = c.optimizer.state();
            for (name, tensor) in state.slots {
                let name = format!("{OPTIMIZER_PREFIX}{name}");
                if tensors.insert(name.clone(), tensor).is_some() {
                    return Err(Error::invalid(format!(
                        "cannot save: tensor name '{name}' is used twice"
                    )));
                }
            }
            Some(CompileSettings {
                loss: c.loss,
                optimizer: c.optimizer.config(),
                iterations: state.iterations,
            })
        }
        None => None,
    };
    let layers = model
        .configs()
        .iter()
        .map(serde_json::to_value)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::invalid(format!("cannot save the layer configs: {e}")))?;
    let dtype = dtype_of::<T>();
    let views: Vec<(String, RawTensor)> = tensors
        .iter()
        .map(|(name, t)| {
            let raw = RawTensor {
                dtype,
                shape: t.dims().to_vec(),
                bytes: to_le_bytes(t.data()),
            };
            (name.clone(), raw)
        })
        .collect();
    let header = Header {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        written_by: format!("nabla {}", env!("CARGO_PKG_VERSION")),
        name: model.name().to_string(),
        input_shape: model.input_shape().to_vec(),
        seed: model.seed(),
        layers,
        compile,
        rng: model.rng.get_state(),
        dtype: T::DTYPE.into(),
        tensors_sha256: checksum(views.iter().map(|(n, r)| (n.as_str(), r.bytes.as_slice()))),
    };
    let mut metadata: HashMap<String, String> =
        extra.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let header = serde_json::to_string(&header)
        .map_err(|e| Error::invalid(format!("cannot encode the model header: {e}")))?;
    metadata.insert(HEADER_KEY.into(), header);
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::invalid(format!("cannot encode the model file: {e}")))
}

/// Parses a model file's bytes; `source` names the file in every error.
pub fn decode_model<T: Float>(bytes: &[u8], source: &Path) -> Result<ModelFile<T>> {
    let bad = |message: String| Error::format(source, message);
    let file = SafeTensors::deserialize(bytes).map_err(|e| {
        bad(format!(
            "not a readable model file (truncated or corrupted safetensors data: {e})"
        ))
    })?;
    let (_, metadata) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(format!("not a readable model file: {e}")))?;
    let mut extra: BTreeMap<String, String> = metadata
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let header_text = extra.remove(HEADER_KEY).ok_or_else(|| {
        bad(format!(
            "a safetensors file but not a nabla model: no '{HEADER_KEY}' entry in __metadata__"
        ))
    })?;
    let header = parse_header(&header_text).map_err(bad)?;

    let tensors: BTreeMap<String, TensorView> = file.tensors().into_iter().collect();
    let sum = checksum(tensors.iter().map(|(n, v)| (n.as_str(), v.data())));
    if sum != header.tensors_sha256 {
        return Err(bad(
            "the tensor data does not match the checksum in its header: the file is corrupted"
                .into(),
        ));
    }

    let mut configs = Vec::with_capacity(header.layers.len());
    for (i, value) in header.layers.iter().enumerate() {
        let config: LayerConfig = serde_json::from_value(value.clone()).map_err(|e| {
            let kind = value.get("type").and_then(|t| t.as_str()).unwrap_or("?");
            bad(format!(
                "layer {} (type '{kind}') is unknown or invalid: {e}",
                i + 1
            ))
        })?;
        configs.push(config);
    }
    let mut model = Sequential::<T>::from_configs(&header.input_shape, &configs, header.seed)
        .map_err(|e| bad(format!("the stored architecture cannot be built: {e}")))?;
    model.name = header.name.clone();

    let mut used = 0;
    let ids: Vec<_> = model.params().iter().map(|(id, _)| id).collect();
    for id in ids {
        let param = model.params.get_mut(id);
        let view = tensors
            .get(&param.name)
            .ok_or_else(|| bad(format!("missing tensor '{}'", param.name)))?;
        param.value = read_tensor(&param.name, view, param.value.dims()).map_err(&bad)?;
        used += 1;
    }

    if let Some(compile) = &header.compile {
        model
            .compile(compile.optimizer.clone(), compile.loss)
            .map_err(|e| bad(format!("the stored optimizer cannot be used: {e}")))?;
        let mut slots = Vec::new();
        for (name, view) in tensors.range(OPTIMIZER_PREFIX.to_string()..) {
            let Some(slot) = name.strip_prefix(OPTIMIZER_PREFIX) else {
                break;
            };
            let index = slot
                .rsplit('/')
                .next()
                .and_then(|i| i.parse::<usize>().ok())
                .filter(|&i| i < model.params().len())
                .ok_or_else(|| {
                    bad(format!(
                        "optimizer slot '{name}' names no parameter of this architecture"
                    ))
                })?;
            let like = model.params().get(crate::autograd::ParamId(index));
            slots.push((
                slot.to_string(),
                read_tensor(name, view, like.value.dims()).map_err(&bad)?,
            ));
            used += 1;
        }
        let state = OptimizerState {
            iterations: compile.iterations,
            slots,
        };
        let optimizer = model.optimizer_mut().expect("compiled just above");
        optimizer
            .load_state(state)
            .map_err(|e| bad(format!("optimizer state: {e}")))?;
    }
    if used != tensors.len() {
        let names: Vec<&str> = model
            .params()
            .iter()
            .map(|(_, p)| p.name.as_str())
            .collect();
        let stray = tensors
            .keys()
            .find(|n| {
                !names.contains(&n.as_str())
                    && (header.compile.is_none() || !n.starts_with(OPTIMIZER_PREFIX))
            })
            .map_or("?", |n| n.as_str());
        return Err(bad(format!(
            "tensor '{stray}' belongs to no weight of the stored architecture"
        )));
    }
    model.rng = NumpyRandomState::from_state(&header.rng).map_err(|e| bad(e.to_string()))?;
    Ok(ModelFile { model, extra })
}

/// Checks the format name and version before the rest, so a file from a newer nabla says so
/// instead of failing on a field this build does not know.
fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("the model header is not valid JSON: {e}"))?;
    let format = value.get("format").and_then(|f| f.as_str());
    if format != Some(FORMAT_NAME) {
        return Err(format!(
            "not a nabla model file: header format is {}, expected '{FORMAT_NAME}'",
            format.map_or("missing".to_string(), |f| format!("'{f}'"))
        ));
    }
    let version = value.get("format_version").and_then(|v| v.as_u64());
    match version {
        Some(v) if v > FORMAT_VERSION as u64 => {
            return Err(format!(
                "written in model format version {v}, newer than version {FORMAT_VERSION} \
                 that this nabla reads: upgrade nabla to load it"
            ))
        }
        Some(v) if v >= 1 => {}
        _ => return Err("the model header has no valid format_version".into()),
    }
    let header: Header =
        serde_json::from_value(value).map_err(|e| format!("invalid model header: {e}"))?;
    // Tensors hold at most six dimensions, one of them the batch.
    if header.input_shape.is_empty()
        || header.input_shape.len() > 5
        || header.input_shape.contains(&0)
    {
        return Err(format!(
            "invalid input shape {:?} (1 to 5 dimensions, none zero)",
            header.input_shape
        ));
    }
    if header.dtype != "f32" && header.dtype != "f64" {
        return Err(format!(
            "unsupported dtype '{}' (expected f32 or f64)",
            header.dtype
        ));
    }
    Ok(header)
}

/// A tensor read from the file, checked against the shape the architecture expects.
fn read_tensor<T: Float>(
    name: &str,
    view: &TensorView,
    expected: &[usize],
) -> std::result::Result<Tensor<T>, String> {
    if view.shape() != expected {
        return Err(format!(
            "tensor '{name}' has shape {:?} but the architecture needs {expected:?}",
            view.shape()
        ));
    }
    let data: Vec<T> = match view.dtype() {
        Dtype::F32 => view
            .data()
            .chunks_exact(4)
            .map(|b| T::of(f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64))
            .collect(),
        Dtype::F64 => view
            .data()
            .chunks_exact(8)
            .map(|b| T::of(f64::from_le_bytes(b.try_into().expect("8 bytes"))))
            .collect(),
        other => {
            return Err(format!(
                "tensor '{name}' has dtype {other:?}, not F32 or F64"
            ))
        }
    };
    Tensor::from_vec(data, expected).map_err(|e| format!("tensor '{name}': {e}"))
}

fn dtype_of<T: Float>() -> Dtype {
    if T::DTYPE == "f64" {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

fn to_le_bytes<T: Float>(data: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(std::mem::size_of_val(data));
    for &x in data {
        if T::DTYPE == "f64" {
            out.extend_from_slice(&x.as_f64().to_le_bytes());
        } else {
            out.extend_from_slice(&(x.as_f64() as f32).to_le_bytes());
        }
    }
    out
}

/// SHA-256 over `(name, 0, bytes)` in the order given (the callers give name order).
fn checksum<'a>(tensors: impl Iterator<Item = (&'a str, &'a [u8])>) -> String {
    let mut hasher = Sha256::new();
    for (name, bytes) in tensors {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(bytes);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An owned tensor in safetensors' terms, for `safetensors::serialize`.
struct RawTensor {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl safetensors::View for RawTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}
