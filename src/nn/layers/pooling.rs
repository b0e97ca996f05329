//! The half shared by MaxPool2D and AveragePooling2D: a window geometry and which reduction
//! to run over it. Their configs differ only in name and Keras prefix.

use super::conv2d::{window_output, Size2};
use crate::autograd::{Tape, Var};
use crate::error::Result;
use crate::nn::layer::{Forward, Output, Plan};
use crate::nn::Context;
use crate::ops::{self, Padding};
use crate::tensor::Float;

/// serde default for pool sizes: Keras's 2x2.
pub(crate) fn two() -> Size2 {
    Size2([2, 2])
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reduction {
    Max,
    Average,
}

/// Checks the window against `input_shape`; strides default to the window, as in Keras.
pub(crate) fn plan_pool(
    name: &str,
    input_shape: &[usize],
    pool_size: Size2,
    strides: Option<Size2>,
    padding: Padding,
) -> Result<Plan> {
    let strides = strides.unwrap_or(pool_size);
    let out = window_output(name, input_shape, pool_size, strides, padding)?;
    Ok(Plan::stateless(out.to_vec()))
}

pub(crate) struct BuiltPool {
    pub(crate) pool: Size2,
    pub(crate) strides: Option<Size2>,
    pub(crate) padding: Padding,
    pub(crate) reduction: Reduction,
}

impl<T: Float> Forward<T> for BuiltPool {
    fn forward(&mut self, tape: &mut Tape<T>, x: Var, _ctx: &mut Context) -> Result<Output> {
        let pool = self.pool.0;
        let strides = self.strides.unwrap_or(self.pool).0;
        let y = match self.reduction {
            Reduction::Max => ops::max_pool2d(tape, x, pool, strides, self.padding)?,
            Reduction::Average => ops::avg_pool2d(tape, x, pool, strides, self.padding)?,
        };
        Ok(Output::plain(y))
    }

    fn max_pool(&self) -> Option<ops::MaxPool> {
        (self.reduction == Reduction::Max).then(|| ops::MaxPool {
            size: self.pool.0,
            strides: self.strides.unwrap_or(self.pool).0,
            padding: self.padding,
        })
    }
}
