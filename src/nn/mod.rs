//! Layers, initializers, losses, optimizers, regularizers and metrics, with Keras's names and
//! defaults so that numbers carry over from a Keras notebook.

pub mod budget;
pub mod initializers;
pub mod layer;
pub mod layers;
pub mod losses;
pub mod metrics;
pub mod optimizers;
pub mod regularizers;

pub use initializers::Initializer;
pub use layer::{
    Context, Declared, Forward, Layer, LayerConfig, LayerType, Output, Plan, WeightSpec,
};
pub use losses::Loss;
pub use optimizers::{Optimizer, OptimizerConfig};
pub use regularizers::Regularizer;
