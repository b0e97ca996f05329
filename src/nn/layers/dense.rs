//! Dense: y = activation(x·W + b), W of shape (in, units).

use super::activation::bias_then_activation;
use crate::autograd::{ParamId, Tape, Var};
use crate::error::{Error, Result};
use crate::nn::layer::{Declared, Forward, LayerType, Output, Plan, WeightSpec};
use crate::nn::{Context, Initializer, Regularizer};
use crate::ops::{self, Activation};
use crate::tensor::Float;
use serde::{Deserialize, Serialize};

/// A fully connected layer's options, with Keras's defaults.
///
/// ```
/// use nabla::nn::layers::Dense;
/// use nabla::ops::Activation;
/// let hidden = Dense::new(128).activation(Activation::Relu);
/// assert_eq!(hidden.units, 128);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dense {
    pub units: usize,
    #[serde(default)]
    pub activation: Activation,
    #[serde(default = "super::yes")]
    pub use_bias: bool,
    #[serde(default)]
    pub kernel_initializer: Initializer,
    #[serde(default = "super::zeros")]
    pub bias_initializer: Initializer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_regularizer: Option<Regularizer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Dense {
    pub fn new(units: usize) -> Self {
        Dense {
            units,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            name: None,
        }
    }

    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    pub fn kernel_initializer(mut self, init: Initializer) -> Self {
        self.kernel_initializer = init;
        self
    }

    /// Adds λ·Σw² over the kernel to the loss.
    pub fn l2(mut self, lambda: f64) -> Self {
        self.kernel_regularizer = (lambda > 0.0).then_some(Regularizer::L2(lambda));
        self
    }
}

impl LayerType for Dense {
    fn plan(&self, name: &str, input_shape: &[usize]) -> Result<Plan> {
        let &[inputs] = input_shape else {
            return Err(Error::shape(format!(
                "{name}: Dense needs a flat input, got {input_shape:?} (add a Flatten layer first)"
            )));
        };
        if self.units == 0 {
            return Err(Error::invalid(format!(
                "{name}: Dense needs at least one unit"
            )));
        }
        let mut weights = vec![WeightSpec::trainable(
            "kernel",
            vec![inputs, self.units],
            self.kernel_initializer,
        )
        .regularizer(self.kernel_regularizer)];
        if self.use_bias {
            weights.push(WeightSpec::trainable(
                "bias",
                vec![self.units],
                self.bias_initializer,
            ));
        }
        Ok(Plan {
            output_shape: vec![self.units],
            weights,
        })
    }

    fn build<T: Float>(&self, _plan: &Plan, weights: &Declared) -> Box<dyn Forward<T>> {
        Box::new(BuiltDense {
            kernel: weights.expect("kernel"),
            bias: weights.get("bias"),
            activation: self.activation,
        })
    }
}

struct BuiltDense {
    kernel: ParamId,
    bias: Option<ParamId>,
    activation: Activation,
}

impl<T: Float> Forward<T> for BuiltDense {
    fn forward(&mut self, tape: &mut Tape<T>, x: Var, _ctx: &mut Context) -> Result<Output> {
        let kernel = tape.param(self.kernel);
        let y = ops::matmul(tape, x, kernel)?;
        bias_then_activation(tape, y, self.bias, self.activation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::harness::run_layer_test;

    // Expected output shapes and (trainable, non-trainable) counts are Keras's
    // (tests/fixtures/make_keras_layer_counts.py); the harness checks them against its output.
    #[test]
    fn dense_passes_the_layer_test() {
        run_layer_test(
            "dense_relu",
            Dense::new(4).activation(Activation::Relu),
            &[5],
            &[4],
            (24, 0),
        );
        run_layer_test(
            "dense_softmax_no_bias",
            Dense::new(3)
                .activation(Activation::Softmax)
                .use_bias(false),
            &[6],
            &[3],
            (18, 0),
        );
        run_layer_test(
            "dense_sigmoid_l2",
            Dense::new(2).activation(Activation::Sigmoid).l2(0.01),
            &[5],
            &[2],
            (12, 0),
        );
        run_layer_test(
            "dense_tanh",
            Dense::new(7).activation(Activation::Tanh),
            &[3],
            &[7],
            (28, 0),
        );
    }

    #[test]
    fn dense_refuses_images_and_zero_units() {
        assert!(Dense::new(3).plan("d", &[2, 2, 1]).is_err());
        assert!(Dense::new(0).plan("d", &[4]).is_err());
    }
}
