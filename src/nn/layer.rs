//! What every layer is: a typed config that serializes (into model and experiment files), a
//! plan (output shape and declared weights, computed without allocating anything) and the
//! built layer that runs on the tape.
//!
//! Adding a layer is one file and one line: the file defines the config, implements
//! [`LayerType`] (plan the weights with [`WeightSpec`]s, build the forward op), and gets one
//! line in the `layer_registry!` call below. Names, parameters, penalties, saving and the
//! summary follow from the declared weights.

use super::layers::{
    ActivationLayer, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
    GlobalAveragePooling2D, MaxPool2D,
};
use super::{Initializer, Regularizer};
use crate::autograd::{ParamId, ParamStore, Tape, Var};
use crate::error::{Error, Result};
use crate::ops::{Activation, MaxPool};
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

/// One weight as a layer declares it (Keras's `add_weight`): the model creates it, counts
/// it, saves it and adds its penalty from this alone.
#[derive(Clone, Debug, PartialEq)]
pub struct WeightSpec {
    /// Name within the layer (`kernel`, `bias`, `gamma`, …); the parameter is `layer/name`.
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub initializer: Initializer,
    /// Trained by the optimizer, or state such as batch norm's moving averages.
    pub trainable: bool,
    pub regularizer: Option<Regularizer>,
}

impl WeightSpec {
    /// A trainable weight without a penalty.
    pub fn trainable(name: &'static str, shape: Vec<usize>, initializer: Initializer) -> Self {
        WeightSpec {
            name,
            shape,
            initializer,
            trainable: true,
            regularizer: None,
        }
    }

    /// State the layer updates itself (not trained, not penalized).
    pub fn state(name: &'static str, shape: Vec<usize>, initializer: Initializer) -> Self {
        WeightSpec {
            trainable: false,
            ..WeightSpec::trainable(name, shape, initializer)
        }
    }

    pub fn regularizer(mut self, regularizer: Option<Regularizer>) -> Self {
        self.regularizer = regularizer;
        self
    }
}

/// What a layer becomes for an input shape, before anything is allocated: the basis of the
/// memory estimate, of building and of the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Per-sample output shape (no batch dimension).
    pub output_shape: Vec<usize>,
    /// The weights, in Keras's weight order.
    pub weights: Vec<WeightSpec>,
}

impl Plan {
    /// A layer without weights.
    pub fn stateless(output_shape: Vec<usize>) -> Self {
        Plan {
            output_shape,
            weights: Vec::new(),
        }
    }
}

/// The parameter ids of a layer's declared weights, for its forward op to look up by name.
pub struct Declared<'a> {
    pub(crate) specs: &'a [WeightSpec],
    pub(crate) ids: &'a [ParamId],
}

impl Declared<'_> {
    /// The id of the weight declared as `name`, if the plan declared it.
    pub fn get(&self, name: &str) -> Option<ParamId> {
        let index = self.specs.iter().position(|s| s.name == name)?;
        Some(self.ids[index])
    }

    /// The id of a weight the plan always declares.
    pub fn expect(&self, name: &str) -> ParamId {
        self.get(name)
            .unwrap_or_else(|| panic!("the plan declares weight '{name}'"))
    }
}

/// What a layer's forward pass returns: its output, tagged with the activation that made it,
/// so the loss finds softmax or sigmoid logits and diagnostics find ReLUs by type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Output {
    pub var: Var,
    /// The activation applied last (`Linear` when none).
    pub activation: Activation,
    /// The pre-activation input of a softmax or sigmoid output, for fused losses.
    pub logits: Option<Var>,
}

impl Output {
    /// An output with no activation to report (pooling, flatten, a linear layer).
    pub fn plain(var: Var) -> Self {
        Output {
            var,
            activation: Activation::Linear,
            logits: None,
        }
    }

    /// `var` = `activation`(`logits`).
    pub fn activated(var: Var, activation: Activation, logits: Var) -> Self {
        Output {
            var,
            activation,
            logits: Some(logits),
        }
    }

    /// An output tagged with its activation but no logits: one fused into the op that made
    /// it (bias + ReLU), or one no loss fuses with (ReLU, tanh).
    pub fn fused(var: Var, activation: Activation) -> Self {
        Output {
            var,
            activation,
            logits: None,
        }
    }
}

impl From<Var> for Output {
    fn from(var: Var) -> Self {
        Output::plain(var)
    }
}

/// The forward half of a built layer: the op it runs on the tape.
pub trait Forward<T: Float>: Send {
    fn forward(&mut self, tape: &mut Tape<T>, x: Var, ctx: &mut Context) -> Result<Output>;

    /// The pooling this layer does, when it is a max pooling, for the layer before it to
    /// fuse with (see [`Forward::forward_max_pooled`]).
    fn max_pool(&self) -> Option<MaxPool> {
        None
    }

    /// Whether [`Forward::forward_max_pooled`] makes one op at inference on per-sample
    /// inputs of `input_shape`, so that this layer's own output is never stored.
    fn fuses_max_pool(&self, _input_shape: &[usize], _pool: MaxPool) -> bool {
        false
    }

    /// Whether this layer, at inference, gives the same values after a max pooling as before
    /// it (a batch normalization whose every scale is positive), so that a Conv2D before it
    /// can fuse with a pooling after it.
    fn commutes_with_max_pool(&self, _params: &ParamStore<T>) -> bool {
        false
    }

    /// This layer's forward followed by `pool`'s as one op, where the layer has such an op
    /// (a Conv2D: its feature map then never leaves the cache); `None` to run the two layers
    /// one after the other.
    fn forward_max_pooled(
        &mut self,
        _tape: &mut Tape<T>,
        _x: Var,
        _ctx: &mut Context,
        _pool: MaxPool,
    ) -> Option<Result<Output>> {
        None
    }
}

/// A layer config's two steps, as in Keras: plan the weights for an input shape, then build
/// the forward op over the created parameters.
pub trait LayerType {
    /// Output shape and declared weights for per-sample `input_shape`; allocates nothing.
    /// `name` is the layer's name, for error messages.
    fn plan(&self, name: &str, input_shape: &[usize]) -> Result<Plan>;

    /// The forward op over the weights `plan` declared.
    fn build<T: Float>(&self, plan: &Plan, weights: &Declared) -> Box<dyn Forward<T>>;
}

/// A built layer: its name, shape, declared weights and the op it runs.
pub struct Layer<T: Float> {
    name: String,
    kind: &'static str,
    output_shape: Vec<usize>,
    weights: Vec<WeightSpec>,
    params: Vec<ParamId>,
    op: Box<dyn Forward<T>>,
}

impl<T: Float> Layer<T> {
    /// The layer's unique name in its model, e.g. `dense_1`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Keras's class name, e.g. `Dense`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Per-sample output shape (no batch dimension).
    pub fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    /// Parameter ids, trainable and not, in Keras's weight order.
    pub fn params(&self) -> &[ParamId] {
        &self.params
    }

    /// The declared weights with their parameter ids.
    pub fn weights(&self) -> impl Iterator<Item = (&WeightSpec, ParamId)> {
        self.weights.iter().zip(self.params.iter().copied())
    }

    pub fn forward(&mut self, tape: &mut Tape<T>, x: Var, ctx: &mut Context) -> Result<Output> {
        self.op.forward(tape, x, ctx)
    }

    /// Whether this layer's output is fused away at inference, `next` following it and
    /// per-sample inputs of `input_shape` coming in.
    pub fn fuses_at_inference(&self, next: &Layer<T>, input_shape: &[usize]) -> bool {
        next.op
            .max_pool()
            .is_some_and(|pool| self.op.fuses_max_pool(input_shape, pool))
    }

    /// Whether inference may run this layer after the max pooling that follows it, with
    /// the same values: see [`Forward::commutes_with_max_pool`].
    pub fn commutes_with_max_pool(&self, params: &ParamStore<T>) -> bool {
        self.op.commutes_with_max_pool(params)
    }

    /// This layer and `next` as one op, where the two fuse (a Conv2D, then a max pooling);
    /// `None` where they do not.
    pub fn forward_fused(
        &mut self,
        next: &Layer<T>,
        tape: &mut Tape<T>,
        x: Var,
        ctx: &mut Context,
    ) -> Option<Result<Output>> {
        let pool = next.op.max_pool()?;
        self.op.forward_max_pooled(tape, x, ctx, pool)
    }

    /// The regularization terms of the declared weights (λ·Σw² for L2), summed, if any.
    pub fn penalty(&self, tape: &mut Tape<T>) -> Result<Option<Var>> {
        let mut total = None;
        for (spec, id) in self.weights() {
            let Some(regularizer) = spec.regularizer else {
                continue;
            };
            let w = tape.param(id);
            let term = regularizer.penalty(tape, w);
            total = Some(match total {
                Some(sum) => crate::ops::add(tape, sum, term)?,
                None => term,
            });
        }
        Ok(total)
    }
}

/// Declares the layer types: the `LayerConfig` enum with its serde form, Keras's class
/// names and name prefixes, and the dispatch to each config's [`LayerType`] impl.
macro_rules! layer_registry {
    ($($(#[$meta:meta])* $variant:ident($ty:ty) = $prefix:literal,)*) => {
        /// A layer's options, by Keras class name. One source of truth: the builder API, the
        /// model file and the experiment file all use it.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "type", deny_unknown_fields)]
        pub enum LayerConfig {
            $($(#[$meta])* $variant($ty),)*
        }

        impl LayerConfig {
            /// Every Keras class name nabla knows, in registry order.
            pub const KINDS: &'static [&'static str] = &[$(stringify!($variant)),*];

            /// Keras's class name, e.g. `Dense`.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(LayerConfig::$variant(_) => stringify!($variant),)*
                }
            }

            /// Keras's default name prefix, e.g. `dense` (then `dense_1`, `dense_2`, …).
            pub fn default_prefix(&self) -> &'static str {
                match self {
                    $(LayerConfig::$variant(_) => $prefix,)*
                }
            }

            /// The name the user gave the layer, if any.
            pub fn name(&self) -> Option<String> {
                match self {
                    $(LayerConfig::$variant(c) => c.name.clone(),)*
                }
            }

            /// Output shape and declared weights for per-sample `input_shape`, without
            /// allocating anything.
            pub fn plan(&self, name: &str, input_shape: &[usize]) -> Result<Plan> {
                match self {
                    $(LayerConfig::$variant(c) => c.plan(name, input_shape),)*
                }
            }

            fn build_op<T: Float>(&self, plan: &Plan, weights: &Declared) -> Box<dyn Forward<T>> {
                match self {
                    $(LayerConfig::$variant(c) => c.build(plan, weights),)*
                }
            }
        }

        $(impl From<$ty> for LayerConfig {
            fn from(c: $ty) -> Self {
                LayerConfig::$variant(c)
            }
        })*
    };
}

layer_registry! {
    Dense(Dense) = "dense",
    Flatten(Flatten) = "flatten",
    Activation(ActivationLayer) = "activation",
    Conv2D(Conv2D) = "conv2d",
    #[serde(alias = "MaxPool2D")]
    MaxPooling2D(MaxPool2D) = "max_pooling2d",
    #[serde(alias = "AvgPool2D")]
    AveragePooling2D(AveragePooling2D) = "average_pooling2d",
    GlobalAveragePooling2D(GlobalAveragePooling2D) = "global_average_pooling2d",
    BatchNormalization(BatchNormalization) = "batch_normalization",
    Dropout(Dropout) = "dropout",
}

impl LayerConfig {
    /// Creates the weights of `plan` (made by [`LayerConfig::plan`] for this config) in
    /// `params`, initialized in declaration order from `rng`, and builds the layer.
    pub fn build<T: Float>(
        &self,
        name: String,
        plan: Plan,
        params: &mut ParamStore<T>,
        rng: &mut Rng,
    ) -> Layer<T> {
        let ids: Vec<ParamId> = plan
            .weights
            .iter()
            .map(|w| {
                params.add(
                    format!("{name}/{}", w.name),
                    w.initializer.init(&w.shape, rng),
                    w.trainable,
                )
            })
            .collect();
        let op = self.build_op(
            &plan,
            &Declared {
                specs: &plan.weights,
                ids: &ids,
            },
        );
        Layer {
            name,
            kind: self.kind(),
            output_shape: plan.output_shape,
            weights: plan.weights,
            params: ids,
            op,
        }
    }
}

/// A shape error for a layer that needs `(height, width, channels)` inputs.
pub(crate) fn need_image(name: &str, input_shape: &[usize]) -> Result<[usize; 3]> {
    match *input_shape {
        [h, w, c] => Ok([h, w, c]),
        _ => Err(Error::shape(format!(
            "{name}: needs (height, width, channels) inputs, got {input_shape:?}"
        ))),
    }
}
