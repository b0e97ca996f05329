//! What every layer is: a typed config that serializes (into model and experiment files), and
//! the built layer that owns parameter ids and runs on the tape.

use super::layers::{
    ActivationLayer, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
    GlobalAveragePooling2D, MaxPool2D,
};
use crate::autograd::{ParamId, ParamStore, Tape, Var};
use crate::error::Result;
use crate::random::Rng;
use crate::tensor::Float;
use serde::{Deserialize, Serialize};

/// Per-call state shared by the layers of one forward pass.
pub struct Context<'a> {
    /// Training mode: dropout drops, batch norm uses batch statistics.
    pub training: bool,
    /// Whether batch norm may update its moving averages in training mode. Off for probes
    /// (gradient inspection, diagnostics), so looking at a model never changes it.
    pub update_statistics: bool,
    pub rng: &'a mut Rng,
}

/// A built layer: parameters created for a known input shape, ready to run.
pub trait Layer<T: Float>: Send {
    /// The layer's unique name in its model, e.g. `dense_1`.
    fn name(&self) -> &str;

    /// Per-sample output shape (no batch dimension).
    fn output_shape(&self) -> &[usize];

    /// Parameter ids, trainable and not, in Keras's weight order.
    fn params(&self) -> &[ParamId];

    fn forward(&mut self, tape: &mut Tape<T>, x: Var, ctx: &mut Context) -> Result<Var>;

    /// The regularization term this layer adds to the loss, if any.
    fn penalty(&self, _tape: &mut Tape<T>) -> Result<Option<Var>> {
        Ok(None)
    }
}

/// A layer's options, by Keras class name. One source of truth: the builder API, the model file
/// and the experiment file all use it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum LayerConfig {
    Dense(Dense),
    Flatten(Flatten),
    Activation(ActivationLayer),
    Conv2D(Conv2D),
    #[serde(alias = "MaxPool2D")]
    MaxPooling2D(MaxPool2D),
    #[serde(alias = "AvgPool2D")]
    AveragePooling2D(AveragePooling2D),
    GlobalAveragePooling2D(GlobalAveragePooling2D),
    BatchNormalization(BatchNormalization),
    Dropout(Dropout),
}

impl LayerConfig {
    /// Keras's class name, e.g. `Dense`.
    pub fn kind(&self) -> &'static str {
        match self {
            LayerConfig::Dense(_) => "Dense",
            LayerConfig::Flatten(_) => "Flatten",
            LayerConfig::Activation(_) => "Activation",
            LayerConfig::Conv2D(_) => "Conv2D",
            LayerConfig::MaxPooling2D(_) => "MaxPooling2D",
            LayerConfig::AveragePooling2D(_) => "AveragePooling2D",
            LayerConfig::GlobalAveragePooling2D(_) => "GlobalAveragePooling2D",
            LayerConfig::BatchNormalization(_) => "BatchNormalization",
            LayerConfig::Dropout(_) => "Dropout",
        }
    }

    /// Keras's default name prefix, e.g. `dense` (then `dense_1`, `dense_2`, …).
    pub fn default_prefix(&self) -> &'static str {
        match self {
            LayerConfig::Dense(_) => "dense",
            LayerConfig::Flatten(_) => "flatten",
            LayerConfig::Activation(_) => "activation",
            LayerConfig::Conv2D(_) => "conv2d",
            LayerConfig::MaxPooling2D(_) => "max_pooling2d",
            LayerConfig::AveragePooling2D(_) => "average_pooling2d",
            LayerConfig::GlobalAveragePooling2D(_) => "global_average_pooling2d",
            LayerConfig::BatchNormalization(_) => "batch_normalization",
            LayerConfig::Dropout(_) => "dropout",
        }
    }

    /// The name the user gave the layer, if any.
    pub fn name(&self) -> Option<String> {
        match self {
            LayerConfig::Dense(c) => c.name.clone(),
            LayerConfig::Flatten(c) => c.name.clone(),
            LayerConfig::Activation(c) => c.name.clone(),
            LayerConfig::Conv2D(c) => c.name.clone(),
            LayerConfig::MaxPooling2D(c) => c.name.clone(),
            LayerConfig::AveragePooling2D(c) => c.name.clone(),
            LayerConfig::GlobalAveragePooling2D(c) => c.name.clone(),
            LayerConfig::BatchNormalization(c) => c.name.clone(),
            LayerConfig::Dropout(c) => c.name.clone(),
        }
    }

    /// Creates the layer's parameters for `input_shape` (per sample) in `params`.
    pub fn build<T: Float>(
        &self,
        name: String,
        input_shape: &[usize],
        params: &mut ParamStore<T>,
        rng: &mut Rng,
    ) -> Result<Box<dyn Layer<T>>> {
        match self {
            LayerConfig::Dense(c) => c.build(name, input_shape, params, rng),
            LayerConfig::Flatten(c) => c.build(name, input_shape),
            LayerConfig::Activation(c) => c.build(name, input_shape),
            LayerConfig::Conv2D(c) => c.build(name, input_shape, params, rng),
            LayerConfig::MaxPooling2D(c) => c.build(name, input_shape),
            LayerConfig::AveragePooling2D(c) => c.build(name, input_shape),
            LayerConfig::GlobalAveragePooling2D(c) => c.build(name, input_shape),
            LayerConfig::BatchNormalization(c) => c.build(name, input_shape, params, rng),
            LayerConfig::Dropout(c) => c.build(name, input_shape),
        }
    }
}

macro_rules! into_layer_config {
    ($($variant:ident => $ty:ty),* $(,)?) => {
        $(impl From<$ty> for LayerConfig {
            fn from(c: $ty) -> Self {
                LayerConfig::$variant(c)
            }
        })*
    };
}

into_layer_config!(
    Dense => Dense,
    Flatten => Flatten,
    Activation => ActivationLayer,
    Conv2D => Conv2D,
    MaxPooling2D => MaxPool2D,
    AveragePooling2D => AveragePooling2D,
    GlobalAveragePooling2D => GlobalAveragePooling2D,
    BatchNormalization => BatchNormalization,
    Dropout => Dropout,
);
