//! # nabla
//!
//! Neural networks in Rust, the way Keras users know them: tensors with reverse-mode
//! autodiff, Dense/Conv2D/pooling/normalization layers, SGD/Adam/RMSprop, a `Sequential`
//! model with `compile`/`fit`/`evaluate`/`predict`/`summary`, and loaders for MNIST-style data.

pub mod autograd;
pub mod data;
pub mod error;
pub mod ops;
pub mod random;
pub mod report;
pub mod tensor;

pub use error::{Error, Result};
pub use tensor::{Float, Shape, Tensor};
