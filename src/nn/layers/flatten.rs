//! Flatten: (batch, ...) → (batch, product of the rest).

use crate::autograd::{ParamId, Tape, Var};
use crate::error::Result;
use crate::nn::{Context, Layer};
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

    pub(crate) fn build<T: Float>(
        &self,
        name: String,
        input_shape: &[usize],
    ) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(BuiltFlatten {
            name,
            output_shape: vec![input_shape.iter().product()],
        }))
    }
}

struct BuiltFlatten {
    name: String,
    output_shape: Vec<usize>,
}

impl<T: Float> Layer<T> for BuiltFlatten {
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
        let shape = tape.shape(x);
        if shape.rank() == 2 {
            return Ok(x);
        }
        ops::reshape(tape, x, Shape::new(&[shape.batch(), shape.row_len()]))
    }
}
