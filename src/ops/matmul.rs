//! Matrix product and transpose.
//!
//! C = A·B with A m×k, B k×n:  ∂L/∂A = G·Bᵀ,  ∂L/∂B = Aᵀ·G.

use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::{gemm, Float, Shape, Transpose};

pub fn matmul<T: Float>(tape: &mut Tape<T>, a: Var, b: Var) -> Result<Var> {
    let (sa, sb) = (tape.shape(a), tape.shape(b));
    if sa.rank() != 2 || sb.rank() != 2 || sa.dim(1) != sb.dim(0) {
        return Err(Error::shape(format!("matmul of {sa} and {sb}")));
    }
    let (m, k, n) = (sa.dim(0), sa.dim(1), sb.dim(1));
    let mut out = tape.alloc(Shape::new(&[m, n]));
    gemm(
        m,
        n,
        k,
        tape.value(a).data(),
        Transpose::No,
        tape.value(b).data(),
        Transpose::No,
        out.data_mut(),
        false,
    );
    Ok(tape.push_op("matmul", out, &[a, b], MatMulBackward { m, k, n }))
}

struct MatMulBackward {
    m: usize,
    k: usize,
    n: usize,
}

impl<T: Float> Backward<T> for MatMulBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (m, k, n) = (self.m, self.k, self.n);
        let (a, b, g) = (io.input(0).data(), io.input(1).data(), io.grad_out().data());
        if let Some(da) = grads.slot(0) {
            gemm(
                m,
                k,
                n,
                g,
                Transpose::No,
                b,
                Transpose::Yes,
                da.data,
                da.accumulate,
            );
        }
        if let Some(db) = grads.slot(1) {
            gemm(
                k,
                n,
                m,
                a,
                Transpose::Yes,
                g,
                Transpose::No,
                db.data,
                db.accumulate,
            );
        }
    }
}

/// Transpose of a matrix (a copy). ∂L/∂X = Gᵀ.
pub fn transpose<T: Float>(tape: &mut Tape<T>, x: Var) -> Result<Var> {
    let shape = tape.shape(x);
    if shape.rank() != 2 {
        return Err(Error::shape(format!(
            "transpose of {shape}: needs a matrix"
        )));
    }
    let (rows, cols) = (shape.dim(0), shape.dim(1));
    let mut out = tape.alloc(Shape::new(&[cols, rows]));
    transpose_into(tape.value(x).data(), rows, cols, out.data_mut(), false);
    Ok(tape.push_op("transpose", out, &[x], TransposeBackward { rows, cols }))
}

fn transpose_into<T: Float>(src: &[T], rows: usize, cols: usize, dst: &mut [T], add: bool) {
    for r in 0..rows {
        for c in 0..cols {
            let v = src[r * cols + c];
            if add {
                dst[c * rows + r] += v;
            } else {
                dst[c * rows + r] = v;
            }
        }
    }
}

struct TransposeBackward {
    rows: usize,
    cols: usize,
}

impl<T: Float> Backward<T> for TransposeBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        if let Some(dx) = grads.slot(0) {
            // The output is cols×rows; its transpose is rows×cols.
            transpose_into(
                io.grad_out().data(),
                self.cols,
                self.rows,
                dx.data,
                dx.accumulate,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};

    #[test]
    fn matmul_matches_hand_product() {
        let mut params = crate::autograd::ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let a = tape.input(crate::Tensor::from_vec(vec![1., 2., 3., 4., 5., 6.], [2, 3]).unwrap());
        let b = tape.input(crate::Tensor::from_vec(vec![1., 0., 0., 1., 1., 1.], [3, 2]).unwrap());
        let c = matmul(&mut tape, a, b).unwrap();
        assert_eq!(tape.value(c).data(), &[4., 5., 10., 11.]);
    }

    #[test]
    fn matmul_gradients() {
        for (m, k, n) in [(3, 4, 5), (1, 7, 2), (6, 1, 3)] {
            assert_gradients(
                &[random_tensor(&[m, k], 1), random_tensor(&[k, n], 2)],
                |tape, v| matmul(tape, v[0], v[1]),
            );
        }
    }

    #[test]
    fn matmul_gradient_accumulates_when_input_is_reused() {
        // x·x uses x as both operands: both halves of the rule must add up.
        assert_gradients(&[random_tensor(&[4, 4], 3)], |tape, v| {
            matmul(tape, v[0], v[0])
        });
    }

    #[test]
    fn transpose_gradients() {
        assert_gradients(&[random_tensor(&[3, 5], 4)], |tape, v| {
            transpose(tape, v[0])
        });
    }

    #[test]
    fn matmul_rejects_mismatched_shapes() {
        let mut params = crate::autograd::ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let a = tape.input(random_tensor(&[2, 3], 1));
        let b = tape.input(random_tensor(&[4, 2], 1));
        assert!(matches!(matmul(&mut tape, a, b), Err(Error::Shape(_))));
    }
}
