//! GlobalAveragePooling2D: the mean of each channel over the whole image, (h, w, c) → (c).

use crate::autograd::{ParamId, Tape, Var};
use crate::error::{Error, Result};
use crate::nn::{Context, Layer};
use crate::ops;
use crate::tensor::Float;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalAveragePooling2D {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl GlobalAveragePooling2D {
    pub fn new() -> Self {
        GlobalAveragePooling2D::default()
    }

    pub(crate) fn build<T: Float>(
        &self,
        name: String,
        input_shape: &[usize],
    ) -> Result<Box<dyn Layer<T>>> {
        let &[_, _, c] = input_shape else {
            return Err(Error::shape(format!(
                "{name}: needs (height, width, channels) inputs, got {input_shape:?}"
            )));
        };
        Ok(Box::new(BuiltGlobalAvgPool {
            name,
            output_shape: vec![c],
        }))
    }
}

struct BuiltGlobalAvgPool {
    name: String,
    output_shape: Vec<usize>,
}

impl<T: Float> Layer<T> for BuiltGlobalAvgPool {
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
        ops::global_avg_pool2d(tape, x)
    }
}
