//! Elementwise add, sub, mul, div — with `b` of the same shape, a row broadcast over the
//! last axis (a bias), or a single element — and their scalar forms.
//!
//! For out = f(a, b):  ∂L/∂a = G·∂f/∂a,  ∂L/∂b = G·∂f/∂b, summed over broadcast rows.
//!   add: (1, 1)   sub: (1, −1)   mul: (b, a)   div: (1/b, −a/b²)

use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::Float;

#[derive(Clone, Copy)]
enum Kind {
    Add,
    Sub,
    Mul,
    Div,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Add => "add",
            Kind::Sub => "sub",
            Kind::Mul => "mul",
            Kind::Div => "div",
        }
    }

    #[inline(always)]
    fn apply<T: Float>(self, a: T, b: T) -> T {
        match self {
            Kind::Add => a + b,
            Kind::Sub => a - b,
            Kind::Mul => a * b,
            Kind::Div => a / b,
        }
    }

    /// (∂f/∂a, ∂f/∂b) at (a, b).
    #[inline(always)]
    fn partials<T: Float>(self, a: T, b: T) -> (T, T) {
        match self {
            Kind::Add => (T::one(), T::one()),
            Kind::Sub => (T::one(), -T::one()),
            Kind::Mul => (b, a),
            Kind::Div => (T::one() / b, -a / (b * b)),
        }
    }
}

/// a + b.
pub fn add<T: Float>(tape: &mut Tape<T>, a: Var, b: Var) -> Result<Var> {
    binary(tape, a, b, Kind::Add)
}

/// a − b.
pub fn sub<T: Float>(tape: &mut Tape<T>, a: Var, b: Var) -> Result<Var> {
    binary(tape, a, b, Kind::Sub)
}

/// a ⊙ b.
pub fn mul<T: Float>(tape: &mut Tape<T>, a: Var, b: Var) -> Result<Var> {
    binary(tape, a, b, Kind::Mul)
}

/// a ⊘ b.
pub fn div<T: Float>(tape: &mut Tape<T>, a: Var, b: Var) -> Result<Var> {
    binary(tape, a, b, Kind::Div)
}

fn binary<T: Float>(tape: &mut Tape<T>, a: Var, b: Var, kind: Kind) -> Result<Var> {
    let (sa, sb) = (tape.shape(a), tape.shape(b));
    // `b` repeats every `period` elements of `a`.
    let same = sa == sb || sb.numel() == 1;
    let row = sb.rank() == 1 && sa.rank() >= 1 && sa.dim(-1) == sb.dim(0);
    let period = if same || row {
        sb.numel()
    } else {
        return Err(Error::shape(format!(
            "{} of {sa} and {sb}: b must match a, be a row of its last axis, or one element",
            kind.name()
        )));
    };
    let mut out = tape.alloc(sa);
    {
        let (x, y) = (tape.value(a).data(), tape.value(b).data());
        for (chunk, xs) in out.data_mut().chunks_mut(period).zip(x.chunks(period)) {
            for ((o, &xv), &yv) in chunk.iter_mut().zip(xs).zip(y) {
                *o = kind.apply(xv, yv);
            }
        }
    }
    Ok(tape.push_op(kind.name(), out, &[a, b], BinaryBackward { kind, period }))
}

struct BinaryBackward {
    kind: Kind,
    period: usize,
}

impl<T: Float> Backward<T> for BinaryBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (a, b, g) = (io.input(0).data(), io.input(1).data(), io.grad_out().data());
        let period = self.period;
        let kind = self.kind;
        if let Some(da) = grads.slot(0) {
            let values = g
                .iter()
                .enumerate()
                .map(|(i, &gv)| gv * kind.partials(a[i], b[i % period]).0);
            da.put(values);
        }
        if let Some(db) = grads.slot(1) {
            if !db.accumulate {
                db.data.fill(T::zero());
            }
            for (i, &gv) in g.iter().enumerate() {
                db.data[i % period] += gv * kind.partials(a[i], b[i % period]).1;
            }
        }
    }
}

/// x + c for a constant c.
pub fn add_scalar<T: Float>(tape: &mut Tape<T>, x: Var, c: T) -> Var {
    affine(tape, x, T::one(), c, "add_scalar")
}

/// c·x for a constant c.
pub fn scale<T: Float>(tape: &mut Tape<T>, x: Var, c: T) -> Var {
    affine(tape, x, c, T::zero(), "scale")
}

/// m·x + c; ∂L/∂x = m·G.
fn affine<T: Float>(tape: &mut Tape<T>, x: Var, m: T, c: T, name: &'static str) -> Var {
    let mut out = tape.alloc(tape.shape(x));
    for (o, &v) in out.data_mut().iter_mut().zip(tape.value(x).data()) {
        *o = m * v + c;
    }
    tape.push_op(name, out, &[x], AffineBackward { m })
}

struct AffineBackward<T> {
    m: T,
}

impl<T: Float> Backward<T> for AffineBackward<T> {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        if let Some(dx) = grads.slot(0) {
            dx.put(io.grad_out().data().iter().map(|&g| g * self.m));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};

    #[test]
    fn same_shape_gradients() {
        let inputs = [random_tensor(&[3, 4], 1), random_tensor(&[3, 4], 2)];
        assert_gradients(&inputs, |t, v| add(t, v[0], v[1]));
        assert_gradients(&inputs, |t, v| sub(t, v[0], v[1]));
        assert_gradients(&inputs, |t, v| mul(t, v[0], v[1]));
        assert_gradients(&inputs, |t, v| div(t, v[0], v[1]));
    }

    #[test]
    fn row_broadcast_gradients() {
        let inputs = [random_tensor(&[5, 3], 3), random_tensor(&[3], 4)];
        assert_gradients(&inputs, |t, v| add(t, v[0], v[1]));
        assert_gradients(&inputs, |t, v| sub(t, v[0], v[1]));
        assert_gradients(&inputs, |t, v| mul(t, v[0], v[1]));
        assert_gradients(&inputs, |t, v| div(t, v[0], v[1]));
    }

    #[test]
    fn single_element_broadcast_gradients() {
        let inputs = [random_tensor(&[2, 3], 5), random_tensor(&[1], 6)];
        assert_gradients(&inputs, |t, v| mul(t, v[0], v[1]));
        assert_gradients(&inputs, |t, v| div(t, v[0], v[1]));
    }

    #[test]
    fn scalar_form_gradients() {
        let inputs = [random_tensor(&[4, 2], 7)];
        assert_gradients(&inputs, |t, v| Ok(add_scalar(t, v[0], 0.5)));
        assert_gradients(&inputs, |t, v| Ok(scale(t, v[0], -1.7)));
    }

    #[test]
    fn reused_operand_gradients() {
        // x ⊙ x: the two partials must add into one gradient, 2x.
        assert_gradients(&[random_tensor(&[6], 8)], |t, v| mul(t, v[0], v[0]));
    }

    #[test]
    fn incompatible_shapes_are_an_error() {
        let mut params = crate::autograd::ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let a = tape.input(random_tensor(&[2, 3], 1));
        let b = tape.input(random_tensor(&[2], 1));
        assert!(add(&mut tape, a, b).is_err());
    }
}
