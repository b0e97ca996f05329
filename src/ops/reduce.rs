//! Reductions to a scalar.
//!   sum:         y = Σ x      ∂L/∂x = G
//!   mean:        y = Σ x / n  ∂L/∂x = G / n
//!   sum_squares: y = Σ x²     ∂L/∂x = 2x·G   (the L2 penalty's core)

use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::tensor::{Float, Tensor};

pub fn sum<T: Float>(tape: &mut Tape<T>, x: Var) -> Var {
    let total: T = tape.value(x).data().iter().copied().sum();
    tape.push_op(
        "sum",
        Tensor::scalar(total),
        &[x],
        SumBackward { divisor: 1.0 },
    )
}

pub fn mean<T: Float>(tape: &mut Tape<T>, x: Var) -> Var {
    let n = tape.value(x).numel().max(1);
    let total: T = tape.value(x).data().iter().copied().sum();
    let divisor = n as f64;
    tape.push_op(
        "mean",
        Tensor::scalar(total / T::of(divisor)),
        &[x],
        SumBackward { divisor },
    )
}

struct SumBackward {
    divisor: f64,
}

impl<T: Float> Backward<T> for SumBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let g = io.grad_out().item() / T::of(self.divisor);
        let n = io.input(0).numel();
        if let Some(dx) = grads.slot(0) {
            dx.put(std::iter::repeat_n(g, n));
        }
    }
}

pub fn sum_squares<T: Float>(tape: &mut Tape<T>, x: Var) -> Var {
    let total: T = tape.value(x).data().iter().map(|&v| v * v).sum();
    tape.push_op(
        "sum_squares",
        Tensor::scalar(total),
        &[x],
        SumSquaresBackward,
    )
}

struct SumSquaresBackward;

impl<T: Float> Backward<T> for SumSquaresBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let g = io.grad_out().item();
        let two = T::of(2.0);
        let x = io.input(0).data();
        if let Some(dx) = grads.slot(0) {
            dx.put(x.iter().map(|&v| two * v * g));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};

    #[test]
    fn reduction_gradients() {
        let inputs = [random_tensor(&[3, 4], 41)];
        assert_gradients(&inputs, |t, v| Ok(sum(t, v[0])));
        assert_gradients(&inputs, |t, v| Ok(mean(t, v[0])));
        assert_gradients(&inputs, |t, v| Ok(sum_squares(t, v[0])));
    }
}
