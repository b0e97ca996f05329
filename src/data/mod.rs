//! Datasets: loaders for the labs' formats and the built-in MNIST sample.

mod dataset;

pub use dataset::{Dataset, Features, Transform};
