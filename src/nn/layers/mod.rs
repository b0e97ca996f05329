//! The layers, one per file, as Keras groups them: core (Dense, Activation), convolutional
//! (Conv2D), pooling (MaxPool2D, AveragePooling2D, GlobalAveragePooling2D), normalization
//! (BatchNormalization), regularization (Dropout), reshaping (Flatten).

mod activation;
mod average_pooling2d;
mod batch_normalization;
mod conv2d;
mod dense;
mod dropout;
mod flatten;
mod global_average_pooling2d;
#[cfg(test)]
pub(crate) mod harness;
mod max_pool2d;
mod pooling;

pub use activation::ActivationLayer;
pub use average_pooling2d::AveragePooling2D;
pub use batch_normalization::BatchNormalization;
pub use conv2d::{Conv2D, Size2};
pub use dense::Dense;
pub use dropout::Dropout;
pub use flatten::Flatten;
pub use global_average_pooling2d::GlobalAveragePooling2D;
pub use max_pool2d::MaxPool2D;

/// serde default for flags that Keras turns on (`use_bias`, `center`, `scale`).
pub(crate) fn yes() -> bool {
    true
}

/// serde default for bias initializers.
pub(crate) fn zeros() -> crate::nn::Initializer {
    crate::nn::Initializer::Zeros
}
