//! Elementwise activations, each written with the derivative expressed through its output:
//!   relu:    y = max(x, 0)      dy/dx = [y > 0]   (0 at the kink, as in TensorFlow and PyTorch)
//!   sigmoid: y = 1/(1 + e^−x)   dy/dx = y(1 − y)
//!   tanh:    y = tanh x         dy/dx = 1 − y²

use super::Activation;
use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::Result;
use crate::tensor::Float;

pub fn relu<T: Float>(tape: &mut Tape<T>, x: Var) -> Result<Var> {
    Ok(elementwise(tape, x, Activation::Relu))
}

pub fn sigmoid<T: Float>(tape: &mut Tape<T>, x: Var) -> Result<Var> {
    Ok(elementwise(tape, x, Activation::Sigmoid))
}

pub fn tanh<T: Float>(tape: &mut Tape<T>, x: Var) -> Result<Var> {
    Ok(elementwise(tape, x, Activation::Tanh))
}

fn elementwise<T: Float>(tape: &mut Tape<T>, x: Var, act: Activation) -> Var {
    let mut out = tape.alloc(tape.shape(x));
    for (o, &v) in out.data_mut().iter_mut().zip(tape.value(x).data()) {
        *o = act.apply(v);
    }
    tape.push_op(act.name(), out, &[x], ActivationBackward { act })
}

struct ActivationBackward {
    act: Activation,
}

impl<T: Float> Backward<T> for ActivationBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (y, g) = (io.output().data(), io.grad_out().data());
        if let Some(dx) = grads.slot(0) {
            dx.put(y.iter().zip(g).map(|(&y, &g)| g * self.act.derivative(y)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};

    #[test]
    fn relu_gradients() {
        assert_gradients(&[random_tensor(&[4, 5], 11)], |t, v| relu(t, v[0]));
    }

    #[test]
    fn sigmoid_gradients() {
        assert_gradients(&[random_tensor(&[4, 5], 12)], |t, v| sigmoid(t, v[0]));
    }

    #[test]
    fn tanh_gradients() {
        assert_gradients(&[random_tensor(&[4, 5], 13)], |t, v| tanh(t, v[0]));
    }

    #[test]
    fn sigmoid_is_stable_for_large_inputs() {
        let mut params = crate::autograd::ParamStore::<f32>::default();
        let mut tape = Tape::new(&mut params);
        let x = tape.input(crate::Tensor::from_vec(vec![-1000.0, 0.0, 1000.0], [3]).unwrap());
        let y = sigmoid(&mut tape, x).unwrap();
        assert_eq!(tape.value(y).data(), &[0.0, 0.5, 1.0]);
    }
}
