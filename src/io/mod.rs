//! Files other tools read and write: Keras model files (`.keras`, legacy `.h5`, weights-only
//! `.weights.h5`), ONNX export and TensorBoard event logs. nabla's own format,
//! `.safetensors`, lives in [`crate::train::saving`]; [`ModelFormat`] picks one by extension so
//! every place that takes a model file takes all of them.

mod h5;
pub mod keras;
pub mod onnx;
pub mod tensorboard;

use crate::error::{Error, Result};
use std::path::Path;

/// A model file format, chosen by the file's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelFormat {
    /// nabla's own file: architecture, weights, optimizer slots, RNG state.
    Safetensors,
    /// Keras 3's zip of `config.json`, `metadata.json` and `model.weights.h5`.
    Keras,
    /// Keras's legacy single HDF5 file (`model.save("m.h5")`).
    H5,
    /// Keras's weights-only HDF5 file (`model.save_weights("m.weights.h5")`): no architecture.
    WeightsH5,
    /// ONNX (export only).
    Onnx,
}

impl ModelFormat {
    /// The format `path`'s extension names, or an error listing the ones nabla knows.
    pub fn of(path: &Path) -> Result<Self> {
        Self::from_extension(path).ok_or_else(|| {
            Error::invalid(format!(
                "{}: unknown model file extension (expected .safetensors, .keras, .h5, \
                 .weights.h5 or .onnx)",
                path.display()
            ))
        })
    }

    /// The format `path`'s extension names, if it names one.
    pub fn from_extension(path: &Path) -> Option<Self> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        Some(if name.ends_with(".weights.h5") {
            ModelFormat::WeightsH5
        } else if name.ends_with(".safetensors") {
            ModelFormat::Safetensors
        } else if name.ends_with(".keras") {
            ModelFormat::Keras
        } else if name.ends_with(".h5") || name.ends_with(".hdf5") {
            ModelFormat::H5
        } else if name.ends_with(".onnx") {
            ModelFormat::Onnx
        } else {
            return None;
        })
    }

    /// The format of a model file's bytes, from their signature: a zip is a `.keras` file,
    /// HDF5 a Keras `.h5`, anything else is taken for safetensors (whose parser says if not).
    pub fn sniff(bytes: &[u8]) -> Self {
        if bytes.starts_with(b"PK\x03\x04") {
            ModelFormat::Keras
        } else if bytes.starts_with(b"\x89HDF\r\n\x1a\n") {
            ModelFormat::H5
        } else {
            ModelFormat::Safetensors
        }
    }
}
