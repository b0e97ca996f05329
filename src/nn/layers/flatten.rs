//! Flatten: (batch, ...) → (batch, product of the rest).

use crate::autograd::{Tape, Var};
use crate::error::{Error, Result};
use crate::nn::layer::{Declared, Forward, LayerType, Output, Plan};
use crate::nn::Context;
use crate::ops;
use crate::tensor::{Float, Shape};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flatten {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Flatten {
    pub fn new() -> Self {
        Flatten::default()
    }
}

impl LayerType for Flatten {
    fn plan(&self, name: &str, input_shape: &[usize]) -> Result<Plan> {
        let size = input_shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{name}: an input of shape {input_shape:?} has more elements than this \
                     machine can address"
                ))
            })?;
        Ok(Plan::stateless(vec![size]))
    }

    fn build<T: Float>(&self, _plan: &Plan, _weights: &Declared) -> Box<dyn Forward<T>> {
        Box::new(BuiltFlatten)
    }
}

struct BuiltFlatten;

impl<T: Float> Forward<T> for BuiltFlatten {
    fn forward(&mut self, tape: &mut Tape<T>, x: Var, _ctx: &mut Context) -> Result<Output> {
        let shape = tape.shape(x);
        if shape.rank() == 2 {
            return Ok(Output::plain(x));
        }
        ops::reshape(tape, x, Shape::new(&[shape.batch(), shape.row_len()])).map(Output::plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::harness::run_layer_test;

    // Shapes and counts from real Keras: tests/fixtures/make_keras_layer_counts.py.
    #[test]
    fn flatten_passes_the_layer_test() {
        run_layer_test("flatten", Flatten::new(), &[3, 2, 2], &[12], (0, 0));
    }

    #[test]
    fn flatten_refuses_an_overflowing_size() {
        let error = Flatten::new()
            .plan("flatten", &[usize::MAX / 2, 4])
            .unwrap_err();
        assert!(error.to_string().contains("flatten"), "{error}");
    }
}
