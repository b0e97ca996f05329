//! The built half shared by MaxPool2D and AveragePooling2D: a window geometry and which
//! reduction to run over it. Their configs differ only in name and Keras prefix.

use super::conv2d::{window_output, Size2};
use crate::autograd::{ParamId, Tape, Var};
use crate::error::Result;
use crate::nn::{Context, Layer};
use crate::ops::{self, Padding};
use crate::tensor::Float;

/// serde default for pool sizes: Keras's 2x2.
pub(crate) fn two() -> Size2 {
    Size2([2, 2])
}

#[derive(Clone, Copy)]
pub(crate) enum Reduction {
    Max,
    Average,
}

/// Checks the window against `input_shape` and builds the layer; strides default to the
/// window, as in Keras.
pub(crate) fn build_pool<T: Float>(
    name: String,
    input_shape: &[usize],
    pool_size: Size2,
    strides: Option<Size2>,
    padding: Padding,
    reduction: Reduction,
) -> Result<Box<dyn Layer<T>>> {
    let strides = strides.unwrap_or(pool_size);
    let out = window_output(&name, input_shape, pool_size, strides, padding)?;
    Ok(Box::new(BuiltPool {
        name,
        pool: pool_size.0,
        strides: strides.0,
        padding,
        reduction,
        output_shape: out.to_vec(),
    }))
}

struct BuiltPool {
    name: String,
    pool: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
    reduction: Reduction,
    output_shape: Vec<usize>,
}

impl<T: Float> Layer<T> for BuiltPool {
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
        match self.reduction {
            Reduction::Max => ops::max_pool2d(tape, x, self.pool, self.strides, self.padding),
            Reduction::Average => ops::avg_pool2d(tape, x, self.pool, self.strides, self.padding),
        }
    }
}
