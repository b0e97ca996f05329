//! Mean squared error: L = (1/N) Σ (p − t)²,  ∂L/∂p = 2(p − t) / N.
//! Keras averages over the last axis and then the batch; with equal rows that is the same mean.

use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::{Float, Tensor};

pub fn mean_squared_error<T: Float>(tape: &mut Tape<T>, pred: Var, target: Var) -> Result<Var> {
    if tape.shape(pred) != tape.shape(target) {
        return Err(Error::shape(format!(
            "mean squared error: predictions {} and targets {} differ",
            tape.shape(pred),
            tape.shape(target)
        )));
    }
    let (p, t) = (tape.value(pred).data(), tape.value(target).data());
    let n = p.len().max(1);
    let total: T = p.iter().zip(t).map(|(&a, &b)| (a - b) * (a - b)).sum();
    let loss = Tensor::scalar(total / T::of(n as f64));
    Ok(tape.push_op(
        "mean_squared_error",
        loss,
        &[pred, target],
        MseBackward { n },
    ))
}

struct MseBackward {
    n: usize,
}

impl<T: Float> Backward<T> for MseBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (p, t) = (io.input(0).data(), io.input(1).data());
        let scale = T::of(2.0) * io.grad_out().item() / T::of(self.n as f64);
        if let Some(dp) = grads.slot(0) {
            dp.put(p.iter().zip(t).map(|(&a, &b)| (a - b) * scale));
        }
        if let Some(dt) = grads.slot(1) {
            dt.put(p.iter().zip(t).map(|(&a, &b)| (b - a) * scale));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};

    #[test]
    fn mse_gradients_for_both_arguments() {
        let inputs = [random_tensor(&[4, 3], 71), random_tensor(&[4, 3], 72)];
        assert_gradients(&inputs, |t, v| mean_squared_error(t, v[0], v[1]));
    }

    #[test]
    fn mse_value() {
        let mut params = crate::autograd::ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let p = tape.input(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2]).unwrap());
        let t = tape.input(Tensor::from_vec(vec![0.0, 2.0, 5.0, 4.0], [2, 2]).unwrap());
        let loss = mean_squared_error(&mut tape, p, t).unwrap();
        assert_eq!(tape.value(loss).item(), 1.25);
    }
}
