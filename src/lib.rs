//! # nabla
//!
//! Neural networks in Rust, the way Keras users know them: tensors with reverse-mode
//! autodiff, Dense/Conv2D/pooling/normalization layers, SGD/Adam/RMSprop, a `Sequential`
//! model with `compile`/`fit`/`evaluate`/`predict`/`summary`, and loaders for MNIST-style data.

pub mod autograd;
pub mod data;
pub mod error;
pub mod experiment;
pub mod files;
pub mod io;
pub mod json;
pub mod models;
pub mod nn;
pub mod ops;
pub mod random;
pub mod report;
pub mod run;
pub mod scratch;
pub mod tensor;
pub mod train;

pub use error::{Error, Result};
pub use tensor::{Float, Shape, Tensor};

/// Sets how many threads nabla computes with (large matrix products and per-batch parallel
/// loops all run on rayon's global pool). Call it once, before any work.
pub fn set_num_threads(threads: usize) -> Result<()> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .map_err(|e| Error::invalid(format!("cannot size the thread pool: {e}")))
}

/// `f` on a pool of `threads` threads: for tests that results do not depend on the count.
#[cfg(test)]
pub(crate) fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// The README's Rust examples, compiled and run as doctests so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
