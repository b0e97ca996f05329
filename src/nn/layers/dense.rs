//! Dense: y = activation(x·W + b), W of shape (in, units).

use crate::autograd::{ParamId, ParamStore, Tape, Var};
use crate::error::{Error, Result};
use crate::nn::{Context, Initializer, Layer, Regularizer};
use crate::ops::{self, Activation};
use crate::random::Rng;
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

    pub(crate) fn build<T: Float>(
        &self,
        name: String,
        input_shape: &[usize],
        params: &mut ParamStore<T>,
        rng: &mut Rng,
    ) -> Result<Box<dyn Layer<T>>> {
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
        let kernel = params.add(
            format!("{name}/kernel"),
            self.kernel_initializer.init(&[inputs, self.units], rng),
            true,
        );
        let mut ids = vec![kernel];
        let bias = self.use_bias.then(|| {
            let id = params.add(
                format!("{name}/bias"),
                self.bias_initializer.init(&[self.units], rng),
                true,
            );
            ids.push(id);
            id
        });
        Ok(Box::new(BuiltDense {
            name,
            config: self.clone(),
            kernel,
            bias,
            ids,
            output_shape: vec![self.units],
        }))
    }
}

struct BuiltDense {
    name: String,
    config: Dense,
    kernel: ParamId,
    bias: Option<ParamId>,
    ids: Vec<ParamId>,
    output_shape: Vec<usize>,
}

impl<T: Float> Layer<T> for BuiltDense {
    fn name(&self) -> &str {
        &self.name
    }

    fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    fn params(&self) -> &[ParamId] {
        &self.ids
    }

    fn forward(&mut self, tape: &mut Tape<T>, x: Var, _ctx: &mut Context) -> Result<Var> {
        let kernel = tape.param(self.kernel);
        let mut y = ops::matmul(tape, x, kernel)?;
        // Sigmoid and softmax stay separate ops so a cross-entropy loss can find the logits.
        let act = self.config.activation;
        let fused = match act {
            Activation::Sigmoid | Activation::Softmax => Activation::Linear,
            other => other,
        };
        let bias = self.bias.map(|b| tape.param(b));
        if bias.is_some() || fused != Activation::Linear {
            y = ops::bias_activation(tape, y, bias, fused)?;
        }
        match act {
            Activation::Sigmoid => ops::sigmoid(tape, y),
            Activation::Softmax => ops::softmax(tape, y),
            _ => Ok(y),
        }
    }

    fn penalty(&self, tape: &mut Tape<T>) -> Result<Option<Var>> {
        Ok(self.config.kernel_regularizer.map(|r| {
            let w = tape.param(self.kernel);
            r.penalty(tape, w)
        }))
    }
}
