//! Activation as a layer of its own, as in `keras.layers.Activation("relu")`, and the
//! activation step that ends Dense and Conv2D.

use crate::autograd::{ParamId, Tape, Var};
use crate::error::Result;
use crate::nn::layer::{Declared, Forward, LayerType, Output, Plan};
use crate::nn::Context;
use crate::ops::{self, Activation};
use crate::tensor::Float;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationLayer {
    pub activation: Activation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ActivationLayer {
    pub fn new(activation: Activation) -> Self {
        ActivationLayer {
            activation,
            name: None,
        }
    }
}

impl LayerType for ActivationLayer {
    fn plan(&self, _name: &str, input_shape: &[usize]) -> Result<Plan> {
        Ok(Plan::stateless(input_shape.to_vec()))
    }

    fn build<T: Float>(&self, _plan: &Plan, _weights: &Declared) -> Box<dyn Forward<T>> {
        Box::new(BuiltActivation(self.activation))
    }
}

struct BuiltActivation(Activation);

impl<T: Float> Forward<T> for BuiltActivation {
    fn forward(&mut self, tape: &mut Tape<T>, x: Var, _ctx: &mut Context) -> Result<Output> {
        activate(tape, x, self.0)
    }
}

/// `activation(x)` as its own op, tagged with the activation and, for softmax and sigmoid,
/// the logits `x` a loss fuses with.
pub(crate) fn activate<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    activation: Activation,
) -> Result<Output> {
    let y = match activation {
        Activation::Linear => return Ok(Output::plain(x)),
        Activation::Relu => ops::relu(tape, x)?,
        Activation::Sigmoid => ops::sigmoid(tape, x)?,
        Activation::Tanh => ops::tanh(tape, x)?,
        Activation::Softmax => ops::softmax(tape, x)?,
    };
    Ok(match activation {
        Activation::Softmax | Activation::Sigmoid => Output::activated(y, activation, x),
        _ => Output::fused(y, activation),
    })
}

/// The end of Dense and Conv2D: `activation(y + bias)`, with the bias and any elementwise
/// activation but sigmoid fused into one op. Sigmoid and softmax stay separate ops so the
/// output carries their logits for a fused cross-entropy.
pub(crate) fn bias_then_activation<T: Float>(
    tape: &mut Tape<T>,
    y: Var,
    bias: Option<ParamId>,
    activation: Activation,
) -> Result<Output> {
    let fused = fused_part(activation);
    let bias = bias.map(|b| tape.param(b));
    let y = if bias.is_some() || fused != Activation::Linear {
        ops::bias_activation(tape, y, bias, fused)?
    } else {
        y
    };
    after_fused(tape, y, activation)
}

/// The part of `activation` fused with the bias: itself, or linear for sigmoid and softmax.
pub(crate) fn fused_part(activation: Activation) -> Activation {
    match activation {
        Activation::Sigmoid | Activation::Softmax => Activation::Linear,
        other => other,
    }
}

/// The layer's output once `y = fused_part(activation)(x + bias)` is computed: `y` itself,
/// or sigmoid/softmax applied to it as an op of its own.
pub(crate) fn after_fused<T: Float>(
    tape: &mut Tape<T>,
    y: Var,
    activation: Activation,
) -> Result<Output> {
    match fused_part(activation) {
        Activation::Linear => activate(tape, y, activation),
        fused => Ok(Output::fused(y, fused)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::harness::run_layer_test;

    // Shapes and counts from real Keras: tests/fixtures/make_keras_layer_counts.py.
    #[test]
    fn activation_passes_the_layer_test() {
        for (case, activation, shape) in [
            ("activation_relu", Activation::Relu, &[5][..]),
            ("activation_sigmoid", Activation::Sigmoid, &[5]),
            ("activation_tanh", Activation::Tanh, &[2, 3]),
            ("activation_softmax", Activation::Softmax, &[4]),
        ] {
            run_layer_test(case, ActivationLayer::new(activation), shape, shape, (0, 0));
        }
    }
}
