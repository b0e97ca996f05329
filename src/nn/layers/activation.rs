//! Activation as a layer of its own, as in `keras.layers.Activation("relu")`.

use crate::autograd::{ParamId, Tape, Var};
use crate::error::Result;
use crate::nn::{Context, Layer};
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

    pub(crate) fn build<T: Float>(
        &self,
        name: String,
        input_shape: &[usize],
    ) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(BuiltActivation {
            name,
            activation: self.activation,
            output_shape: input_shape.to_vec(),
        }))
    }
}

struct BuiltActivation {
    name: String,
    activation: Activation,
    output_shape: Vec<usize>,
}

impl<T: Float> Layer<T> for BuiltActivation {
    fn name(&self) -> &str {
        &self.name
    }

    fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    fn params(&self) -> &[ParamId] {
        &[]
    }

    fn forward(&mut self, tape: &mut Tape<T>, x: Var, _ctx: &mut Context) -> Result<Var> {
        match self.activation {
            Activation::Linear => Ok(x),
            Activation::Relu => ops::relu(tape, x),
            Activation::Sigmoid => ops::sigmoid(tape, x),
            Activation::Tanh => ops::tanh(tape, x),
            Activation::Softmax => ops::softmax(tape, x),
        }
    }
}
