//! Keras model files, both ways: `.keras` (Keras 3's zip), legacy `.h5`, and weights-only
//! `.weights.h5`. Reading maps Keras's layer configs onto nabla's typed configs (an option
//! nabla lacks is an error naming it); writing produces files `keras.models.load_model`
//! opens and predicts with identically (tests/keras_write.rs runs Keras on them).
//!
//! ```no_run
//! use nabla::train::Sequential;
//! let model = Sequential::<f32>::load("cifar10_classifier.h5")?; // or .keras
//! model.save("cifar10_classifier.keras")?;
//! # Ok::<(), nabla::Error>(())
//! ```

mod config;
mod read;
mod write;

pub use read::{decode_h5, decode_keras, decode_weights, load_weights, read_h5, read_keras};
pub use write::{
    encode_h5, encode_keras, encode_weights_h5, write_h5, write_keras, write_weights_h5,
};
