//! Dropout: while training, zero each input with probability `rate` and scale the rest by
//! 1/(1 − rate); at inference, pass the input through unchanged.

use crate::autograd::{Tape, Var};
use crate::error::{Error, Result};
use crate::nn::layer::{Declared, Forward, LayerType, Output, Plan};
use crate::nn::Context;
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
}

impl LayerType for Dropout {
    fn plan(&self, name: &str, input_shape: &[usize]) -> Result<Plan> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Error::invalid(format!(
                "{name}: dropout rate {} must be in [0, 1)",
                self.rate
            )));
        }
        Ok(Plan::stateless(input_shape.to_vec()))
    }

    fn build<T: Float>(&self, _plan: &Plan, _weights: &Declared) -> Box<dyn Forward<T>> {
        Box::new(BuiltDropout { rate: self.rate })
    }
}

struct BuiltDropout {
    rate: f64,
}

impl<T: Float> Forward<T> for BuiltDropout {
    fn forward(&mut self, tape: &mut Tape<T>, x: Var, ctx: &mut Context) -> Result<Output> {
        if !ctx.training || self.rate == 0.0 {
            return Ok(Output::plain(x));
        }
        let mask = ops::dropout_mask(tape, tape.shape(x), self.rate, ctx.rng);
        let mask = tape.input(mask);
        ops::dropout(tape, x, mask).map(Output::plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::harness::run_layer_test;

    // Shapes and counts from real Keras: tests/fixtures/make_keras_layer_counts.py.
    #[test]
    fn dropout_passes_the_layer_test() {
        run_layer_test("dropout", Dropout::new(0.5), &[6], &[6], (0, 0));
    }

    #[test]
    fn dropout_refuses_a_rate_of_one() {
        assert!(Dropout::new(1.0).plan("dropout", &[3]).is_err());
    }
}
