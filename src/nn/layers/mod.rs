//! The layers, one per file, as Keras groups them: core (Dense, Activation), reshaping (Flatten).

mod activation;
mod dense;
mod flatten;

pub use activation::ActivationLayer;
pub use dense::Dense;
pub use flatten::Flatten;
