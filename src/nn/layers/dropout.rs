//! Dropout: while training, zero each input with probability `rate` and scale the rest by
//! 1/(1 − rate); at inference, pass the input through unchanged.

use crate::autograd::{ParamId, Tape, Var};
use crate::error::{Error, Result};
use crate::nn::{Context, Layer};
use crate::ops;
use crate::tensor::Float;
use serde::{Deserialize, Serialize};

/// ```
/// use nabla::nn::layers::Dropout;
/// assert_eq!(Dropout::new(0.5).rate, 0.5);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dropout {
    pub rate: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Dropout {
    pub fn new(rate: f64) -> Self {
        Dropout { rate, name: None }
    }

    pub(crate) fn build<T: Float>(
        &self,
        name: String,
        input_shape: &[usize],
    ) -> Result<Box<dyn Layer<T>>> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Error::invalid(format!(
                "{name}: dropout rate {} must be in [0, 1)",
                self.rate
            )));
        }
        Ok(Box::new(BuiltDropout {
            name,
            rate: self.rate,
            output_shape: input_shape.to_vec(),
        }))
    }
}

struct BuiltDropout {
    name: String,
    rate: f64,
    output_shape: Vec<usize>,
}

impl<T: Float> Layer<T> for BuiltDropout {
    fn name(&self) -> &str {
        &self.name
    }

    fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    fn params(&self) -> &[ParamId] {
        &[]
    }

    fn forward(&mut self, tape: &mut Tape<T>, x: Var, ctx: &mut Context) -> Result<Var> {
        if !ctx.training || self.rate == 0.0 {
            return Ok(x);
        }
        let mask = ops::dropout_mask(tape, tape.shape(x), self.rate, ctx.rng);
        let mask = tape.input(mask);
        ops::dropout(tape, x, mask)
    }
}
