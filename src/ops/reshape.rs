//! Reshape (and so Flatten): the same elements in a new shape; the gradient is reshaped back.

use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::{Float, Shape};

pub fn reshape<T: Float>(tape: &mut Tape<T>, x: Var, shape: Shape) -> Result<Var> {
    let from = tape.shape(x);
    if from.numel() != shape.numel() {
        return Err(Error::shape(format!("cannot reshape {from} into {shape}")));
    }
    let mut out = tape.alloc(shape);
    out.data_mut().copy_from_slice(tape.value(x).data());
    Ok(tape.push_op("reshape", out, &[x], ReshapeBackward))
}

struct ReshapeBackward;

impl<T: Float> Backward<T> for ReshapeBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        if let Some(dx) = grads.slot(0) {
            dx.put(io.grad_out().data().iter().copied());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};

    #[test]
    fn reshape_gradients() {
        assert_gradients(&[random_tensor(&[2, 3, 4], 51)], |t, v| {
            reshape(t, v[0], Shape::new(&[2, 12]))
        });
    }
}
