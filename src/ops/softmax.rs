//! Softmax and log-softmax over the last axis.
//!
//!   softmax:     y = e^(x − max) / Σ e^(x − max)    ∂L/∂x = y ⊙ (G − Σ G⊙y)
//!   log_softmax: y = x − max − log Σ e^(x − max)    ∂L/∂x = G − softmax(x)·Σ G

use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::Result;
use crate::tensor::Float;

pub fn softmax<T: Float>(tape: &mut Tape<T>, x: Var) -> Result<Var> {
    let shape = tape.shape(x);
    let width = shape.dim(-1);
    let mut out = tape.alloc(shape);
    let rows = |out: &mut [T], x: &[T]| {
        for (orow, xrow) in out.chunks_mut(width).zip(x.chunks(width)) {
            softmax_row(xrow, orow);
        }
    };
    let (out_data, x_data) = (out.data_mut(), tape.value(x).data());
    // A large batch (a predict's) in groups of rows on the pool's threads.
    let task = TASK_ELEMENTS.div_ceil(width.max(1)) * width;
    if x_data.len() < 2 * TASK_ELEMENTS {
        rows(out_data, x_data);
    } else {
        use rayon::prelude::*;
        out_data
            .par_chunks_mut(task)
            .zip(x_data.par_chunks(task))
            .for_each(|(out, x)| rows(out, x));
    }
    Ok(tape.push_op("softmax", out, &[x], SoftmaxBackward { width }))
}

/// Elements of whole rows per parallel task of [`softmax`]: each row is its own, so the result
/// is the same on any thread count.
const TASK_ELEMENTS: usize = 4096;

/// Writes softmax(x) into `out`; shared with the fused cross-entropy.
pub(crate) fn softmax_row<T: Float>(x: &[T], out: &mut [T]) {
    let max = x.iter().copied().fold(T::neg_infinity(), T::max);
    let mut total = T::zero();
    for (o, &v) in out.iter_mut().zip(x) {
        *o = (v - max).exp();
        total += *o;
    }
    for o in out.iter_mut() {
        *o /= total;
    }
}

/// log Σ e^x, computed stably.
pub(crate) fn log_sum_exp<T: Float>(x: &[T]) -> T {
    let max = x.iter().copied().fold(T::neg_infinity(), T::max);
    let total: T = x.iter().map(|&v| (v - max).exp()).sum();
    max + total.ln()
}

struct SoftmaxBackward {
    width: usize,
}

impl<T: Float> Backward<T> for SoftmaxBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (y, g) = (io.output().data(), io.grad_out().data());
        let Some(dx) = grads.slot(0) else { return };
        for ((drow, yrow), grow) in dx
            .data
            .chunks_mut(self.width)
            .zip(y.chunks(self.width))
            .zip(g.chunks(self.width))
        {
            let dot: T = yrow.iter().zip(grow).map(|(&a, &b)| a * b).sum();
            for ((d, &yv), &gv) in drow.iter_mut().zip(yrow).zip(grow) {
                let v = yv * (gv - dot);
                if dx.accumulate {
                    *d += v;
                } else {
                    *d = v;
                }
            }
        }
    }
}

pub fn log_softmax<T: Float>(tape: &mut Tape<T>, x: Var) -> Result<Var> {
    let shape = tape.shape(x);
    let width = shape.dim(-1);
    let mut out = tape.alloc(shape);
    for (orow, xrow) in out
        .data_mut()
        .chunks_mut(width)
        .zip(tape.value(x).data().chunks(width))
    {
        let lse = log_sum_exp(xrow);
        for (o, &v) in orow.iter_mut().zip(xrow) {
            *o = v - lse;
        }
    }
    Ok(tape.push_op("log_softmax", out, &[x], LogSoftmaxBackward { width }))
}

struct LogSoftmaxBackward {
    width: usize,
}

impl<T: Float> Backward<T> for LogSoftmaxBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (y, g) = (io.output().data(), io.grad_out().data());
        let Some(dx) = grads.slot(0) else { return };
        for ((drow, yrow), grow) in dx
            .data
            .chunks_mut(self.width)
            .zip(y.chunks(self.width))
            .zip(g.chunks(self.width))
        {
            let total: T = grow.iter().copied().sum();
            for ((d, &yv), &gv) in drow.iter_mut().zip(yrow).zip(grow) {
                let v = gv - yv.exp() * total;
                if dx.accumulate {
                    *d += v;
                } else {
                    *d = v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};

    #[test]
    fn softmax_gradients() {
        assert_gradients(&[random_tensor(&[3, 5], 31)], |t, v| softmax(t, v[0]));
    }

    #[test]
    fn log_softmax_gradients() {
        assert_gradients(&[random_tensor(&[3, 5], 32)], |t, v| log_softmax(t, v[0]));
    }

    #[test]
    fn softmax_rows_sum_to_one_even_for_huge_logits() {
        let mut params = crate::autograd::ParamStore::<f32>::default();
        let mut tape = Tape::new(&mut params);
        let x =
            tape.input(crate::Tensor::from_vec(vec![1000.0, 1001.0, 0.0, 0.0], [2, 2]).unwrap());
        let y = softmax(&mut tape, x).unwrap();
        let v = tape.value(y).data();
        assert!((v[0] + v[1] - 1.0).abs() < 1e-6 && v[1] > v[0]);
        assert_eq!(&v[2..], &[0.5, 0.5]);
    }

    #[test]
    fn a_large_batch_gives_each_rows_softmax_on_any_thread_count() {
        // 1,000 rows of 10: the parallel path, whose tasks end on whole rows.
        let (rows, width) = (1000, 10);
        let x = crate::tensor::Tensor::from_vec(
            (0..rows * width)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 9.0)
                .collect(),
            [rows, width],
        )
        .unwrap();
        let on = |threads| {
            crate::on_threads(threads, || {
                let mut params = crate::autograd::ParamStore::<f32>::default();
                let mut tape = Tape::new(&mut params);
                let xv = tape.input(x.clone());
                let y = softmax(&mut tape, xv).unwrap();
                tape.value(y).data().to_vec()
            })
        };
        let one = on(1);
        for (row, xrow) in one.chunks(width).zip(x.data().chunks(width)) {
            let mut expected = vec![0.0; width];
            softmax_row(xrow, &mut expected);
            assert_eq!(row, &expected[..]);
        }
        assert_eq!(one, on(3));
    }
}
