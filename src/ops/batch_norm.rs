//! Batch normalization over the last axis (channels for NHWC images, units for Dense outputs).
//!
//! Training, with M rows (all axes but the last) and per channel:
//!   μ = (1/M)·Σ x,   σ² = (1/M)·Σ (x − μ)²   (biased, as Keras normalizes with),
//!   x̂ = (x − μ)/√(σ² + ε),   y = γ·x̂ + β.
//! Backward, with G = ∂L/∂y and s = 1/√(σ² + ε), through μ and σ² as well as x:
//!   ∂L/∂β = Σ G,   ∂L/∂γ = Σ G·x̂,
//!   ∂L/∂x = γ·s·(G − (1/M)·Σ G − x̂·(1/M)·Σ G·x̂).
//! Inference uses fixed (moving) statistics m, v instead, so x̂ = (x − m)/√(v + ε) is affine
//! in x:  ∂L/∂x = γ·G/√(v + ε), and ∂L/∂γ, ∂L/∂β as above.
//!
//! Channel sums run in f64 over fixed blocks of rows, added in block order: the same numbers
//! for any thread count.

use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::simd::wide_simd_fn;
use crate::tensor::Float;
use rayon::prelude::*;

/// Rows per block of a channel reduction.
const BLOCK: usize = 256;

/// The batch's per-channel mean and (biased) variance, for the layer's moving averages.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchMoments {
    pub mean: Vec<f64>,
    pub variance: Vec<f64>,
}

/// Training-mode batch normalization of `x` over its last axis. `gamma` and `beta`, when
/// given, have one value per channel. Returns the output and the batch's moments.
pub fn batch_norm<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    gamma: Option<Var>,
    beta: Option<Var>,
    epsilon: f64,
) -> Result<(Var, BatchMoments)> {
    let (rows, c) = channels(tape, x, gamma, beta)?;
    let xs = tape.value(x).data();
    let inv_m = 1.0 / rows as f64;
    let mean: Vec<f64> = reduce_channels(rows, c, 1, |rows, acc| {
        add_rows(acc, &xs[rows.start * c..rows.end * c])
    })
    .into_iter()
    .map(|s| s * inv_m)
    .collect();
    let variance: Vec<f64> = reduce_channels(rows, c, 1, |rows, acc| {
        add_squared_deviations(acc, &xs[rows.start * c..rows.end * c], &mean)
    })
    .into_iter()
    .map(|s| s * inv_m)
    .collect();
    let shift: Vec<T> = mean.iter().map(|&m| T::of(m)).collect();
    let inv_std: Vec<T> = variance
        .iter()
        .map(|&v| T::of(1.0 / (v + epsilon).sqrt()))
        .collect();
    let out = normalize(tape, x, gamma, beta, &shift, &inv_std);
    let (inputs, slots) = arrange(x, gamma, beta);
    let var = tape.push_op(
        "batch_norm",
        out,
        &inputs[..slots.count],
        BatchNormBackward {
            shift,
            inv_std,
            slots,
            training: true,
        },
    );
    Ok((var, BatchMoments { mean, variance }))
}

/// Inference-mode batch normalization with fixed statistics (the moving mean and variance).
pub fn batch_norm_inference<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    gamma: Option<Var>,
    beta: Option<Var>,
    mean: &[T],
    variance: &[T],
    epsilon: f64,
) -> Result<Var> {
    let (_, c) = channels(tape, x, gamma, beta)?;
    if mean.len() != c || variance.len() != c {
        return Err(Error::shape(format!(
            "batch_norm: {} means and {} variances for {c} channels",
            mean.len(),
            variance.len()
        )));
    }
    let shift = mean.to_vec();
    let inv_std = inverse_std(variance, epsilon);
    let out = normalize(tape, x, gamma, beta, &shift, &inv_std);
    let (inputs, slots) = arrange(x, gamma, beta);
    Ok(tape.push_op(
        "batch_norm",
        out,
        &inputs[..slots.count],
        BatchNormBackward {
            shift,
            inv_std,
            slots,
            training: false,
        },
    ))
}

/// (rows, channels) of `x`, after checking γ and β have one value per channel.
fn channels<T: Float>(
    tape: &Tape<T>,
    x: Var,
    gamma: Option<Var>,
    beta: Option<Var>,
) -> Result<(usize, usize)> {
    let shape = tape.shape(x);
    if shape.rank() < 2 {
        return Err(Error::shape(format!(
            "batch_norm needs a batch of at least 1-D samples, got {shape}"
        )));
    }
    let c = shape.dim(-1);
    for v in [gamma, beta].into_iter().flatten() {
        if tape.shape(v).dims() != [c] {
            return Err(Error::shape(format!(
                "batch_norm: a per-channel parameter of shape {} for input {shape}",
                tape.shape(v)
            )));
        }
    }
    Ok((shape.numel() / c.max(1), c))
}

/// y = γ·(x − shift)·inv_std + β, rows in parallel.
fn normalize<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    gamma: Option<Var>,
    beta: Option<Var>,
    shift: &[T],
    inv_std: &[T],
) -> crate::tensor::Tensor<T> {
    let gamma = gamma.map(|g| tape.value(g).data());
    let beta = beta.map(|b| tape.value(b).data());
    let (a, b) = scale_and_offset(gamma, beta, shift, inv_std);
    let c = shift.len();
    let mut out = tape.alloc(tape.shape(x));
    out.data_mut()
        .par_chunks_mut(BLOCK * c)
        .zip(tape.value(x).data().par_chunks(BLOCK * c))
        .for_each(|(out, xs)| scale_shift_rows(out, xs, &a, &b));
    out
}

/// 1/√(v + ε) per channel: inference's scale before γ.
fn inverse_std<T: Float>(variance: &[T], epsilon: f64) -> Vec<T> {
    variance
        .iter()
        .map(|&v| T::of(1.0 / (v.as_f64() + epsilon).sqrt()))
        .collect()
}

/// The per-channel a and b of y = x·a + b: γ folded into the scale, a = γ·inv_std, and β
/// into the offset, b = β − shift·a.
fn scale_and_offset<T: Float>(
    gamma: Option<&[T]>,
    beta: Option<&[T]>,
    shift: &[T],
    inv_std: &[T],
) -> (Vec<T>, Vec<T>) {
    let a: Vec<T> = match gamma {
        Some(g) => g.iter().zip(inv_std).map(|(&g, &s)| g * s).collect(),
        None => inv_std.to_vec(),
    };
    let b = (0..shift.len())
        .map(|j| beta.map_or(T::zero(), |b| b[j]) - shift[j] * a[j])
        .collect();
    (a, b)
}

/// Whether inference-mode normalization with these parameters increases on every channel
/// (a > 0, a and b finite). Then a max pooling after it gives the values a max pooling
/// before it would, normalized: rounding keeps order, so the largest rounded x·a + b of a
/// window is the rounded (max x)·a + b. That lets a convolution fuse with the pooling.
pub fn batch_norm_inference_increases<T: Float>(
    gamma: Option<&[T]>,
    beta: Option<&[T]>,
    mean: &[T],
    variance: &[T],
    epsilon: f64,
) -> bool {
    let (a, b) = scale_and_offset(gamma, beta, mean, &inverse_std(variance, epsilon));
    let finite = |v: &T| v.as_f64().is_finite();
    a.iter().all(|&a| a > T::zero() && finite(&a)) && b.iter().all(finite)
}

/// Which tape input holds γ and β (x is always input 0).
#[derive(Clone, Copy)]
struct Slots {
    gamma: Option<usize>,
    beta: Option<usize>,
    count: usize,
}

fn arrange(x: Var, gamma: Option<Var>, beta: Option<Var>) -> ([Var; 3], Slots) {
    let mut inputs = [x; 3];
    let mut slots = Slots {
        gamma: None,
        beta: None,
        count: 1,
    };
    if let Some(g) = gamma {
        inputs[slots.count] = g;
        slots.gamma = Some(slots.count);
        slots.count += 1;
    }
    if let Some(b) = beta {
        inputs[slots.count] = b;
        slots.beta = Some(slots.count);
        slots.count += 1;
    }
    (inputs, slots)
}

struct BatchNormBackward<T> {
    /// μ (training) or the moving mean (inference), per channel.
    shift: Vec<T>,
    /// 1/√(σ² + ε) per channel.
    inv_std: Vec<T>,
    slots: Slots,
    training: bool,
}

impl<T: Float> Backward<T> for BatchNormBackward<T> {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let c = self.shift.len();
        let (xs, g) = (io.input(0).data(), io.grad_out().data());
        let rows = g.len() / c;
        let (shift, inv_std) = (&self.shift, &self.inv_std);
        // Σ G and Σ G·x̂ per channel, side by side.
        let sums = reduce_channels(rows, c, 2, |rows, acc| {
            let block = rows.start * c..rows.end * c;
            add_gradient_sums(acc, &g[block.clone()], &xs[block], shift, inv_std)
        });
        let (sum_g, sum_gx) = sums.split_at(c);
        if let Some(dgamma) = self.slots.gamma.and_then(|i| grads.slot(i)) {
            dgamma.put(sum_gx.iter().map(|&v| T::of(v)));
        }
        if let Some(dbeta) = self.slots.beta.and_then(|i| grads.slot(i)) {
            dbeta.put(sum_g.iter().map(|&v| T::of(v)));
        }
        let gamma: Vec<T> = match self.slots.gamma {
            Some(i) => io.input(i).data().to_vec(),
            None => vec![T::one(); c],
        };
        let Some(dx) = grads.slot(0) else {
            return;
        };
        // ∂L/∂x = k·(G − a − x̂·b), with k = γ·s and, in training, a = ΣG/M, b = ΣG·x̂/M.
        let inv_m = 1.0 / rows as f64;
        let k: Vec<T> = gamma.iter().zip(inv_std).map(|(&g, &s)| g * s).collect();
        let (a, b): (Vec<T>, Vec<T>) = if self.training {
            sum_g
                .iter()
                .zip(sum_gx)
                .map(|(&sg, &sgx)| (T::of(sg * inv_m), T::of(sgx * inv_m)))
                .unzip()
        } else {
            (vec![T::zero(); c], vec![T::zero(); c])
        };
        let terms = InputGrad {
            shift,
            inv_std,
            k: &k,
            a: &a,
            b: &b,
        };
        let accumulate = dx.accumulate;
        dx.data
            .par_chunks_mut(BLOCK * c)
            .zip(g.par_chunks(BLOCK * c))
            .zip(xs.par_chunks(BLOCK * c))
            .for_each(|((dx, g), xs)| input_grad_rows(dx, g, xs, &terms, accumulate));
    }
}

// The row loops, compiled for AVX2 where the processor has it. Each channel's sum runs over
// the rows in order, as a scalar loop would: the lanes only hold different channels.

wide_simd_fn! {
    /// acc[j] += x[r, j] over the rows of `xs`.
    fn add_rows<T: Float>(acc: &mut [f64], xs: &[T]) {
        for row in xs.chunks_exact(acc.len()) {
            for (a, &v) in acc.iter_mut().zip(row) {
                *a += v.as_f64();
            }
        }
    }
}

wide_simd_fn! {
    /// acc[j] += (x[r, j] − μ[j])² over the rows of `xs`.
    fn add_squared_deviations<T: Float>(acc: &mut [f64], xs: &[T], mean: &[f64]) {
        for row in xs.chunks_exact(acc.len()) {
            for ((a, &v), &mu) in acc.iter_mut().zip(row).zip(mean) {
                let d = v.as_f64() - mu;
                *a += d * d;
            }
        }
    }
}

wide_simd_fn! {
    /// out[r, j] = x[r, j]·a[j] + b[j].
    fn scale_shift_rows<T: Float>(out: &mut [T], xs: &[T], a: &[T], b: &[T]) {
        for (orow, xrow) in out.chunks_exact_mut(a.len()).zip(xs.chunks_exact(a.len())) {
            for (((o, &v), &a), &b) in orow.iter_mut().zip(xrow).zip(a).zip(b) {
                *o = v * a + b;
            }
        }
    }
}

wide_simd_fn! {
    /// acc = [Σ G, Σ G·x̂] per channel (two halves of `acc`) over the rows of `g` and `xs`.
    fn add_gradient_sums<T: Float>(acc: &mut [f64], g: &[T], xs: &[T], shift: &[T], inv_std: &[T]) {
        let (sum_g, sum_gx) = acc.split_at_mut(shift.len());
        for (grow, xrow) in g.chunks_exact(shift.len()).zip(xs.chunks_exact(shift.len())) {
            let statistics = shift.iter().zip(inv_std);
            let row = grow.iter().zip(xrow).zip(statistics);
            for ((sg, sgx), ((&gv, &xv), (&mu, &s))) in sum_g.iter_mut().zip(sum_gx.iter_mut()).zip(row) {
                let gv = gv.as_f64();
                *sg += gv;
                *sgx += gv * ((xv - mu) * s).as_f64();
            }
        }
    }
}

/// k, a and b of ∂L/∂x = k·(G − a − x̂·b) per channel, with x̂ = (x − shift)·inv_std.
struct InputGrad<'a, T> {
    shift: &'a [T],
    inv_std: &'a [T],
    k: &'a [T],
    a: &'a [T],
    b: &'a [T],
}

wide_simd_fn! {
    /// dx = k·(G − a − x̂·b) over the rows, or dx += it when `accumulate`.
    fn input_grad_rows<T: Float>(dx: &mut [T], g: &[T], xs: &[T], terms: &InputGrad<'_, T>, accumulate: bool) {
        let c = terms.k.len();
        let per_channel = || {
            let statistics = terms.shift.iter().zip(terms.inv_std);
            statistics.zip(terms.k.iter().zip(terms.a).zip(terms.b))
        };
        let rows = dx.chunks_exact_mut(c).zip(g.chunks_exact(c)).zip(xs.chunks_exact(c));
        for ((drow, grow), xrow) in rows {
            let values = grow.iter().zip(xrow).zip(per_channel()).map(
                |((&gv, &xv), ((&mu, &s), ((&k, &a), &b)))| k * (gv - a - (xv - mu) * s * b),
            );
            if accumulate {
                drow.iter_mut().zip(values).for_each(|(d, v)| *d += v);
            } else {
                drow.iter_mut().zip(values).for_each(|(d, v)| *d = v);
            }
        }
    }
}

/// Per-channel sums over `rows` rows: `add(block, acc)` adds the `terms·c` contributions of
/// the rows in `block`.
/// Blocks of rows are summed in parallel and the block sums added in order.
fn reduce_channels(
    rows: usize,
    c: usize,
    terms: usize,
    add: impl Fn(std::ops::Range<usize>, &mut [f64]) + Sync,
) -> Vec<f64> {
    let partials: Vec<Vec<f64>> = (0..rows.div_ceil(BLOCK))
        .into_par_iter()
        .map(|block| {
            let mut acc = vec![0.0; terms * c];
            add(block * BLOCK..((block + 1) * BLOCK).min(rows), &mut acc);
            acc
        })
        .collect();
    let mut total = vec![0.0; terms * c];
    for p in partials {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};
    use crate::autograd::ParamStore;

    #[test]
    fn training_output_has_zero_mean_and_unit_variance_per_channel() {
        let x = random_tensor(&[6, 2, 2, 3], 100);
        let mut params = ParamStore::default();
        let mut tape = Tape::new(&mut params);
        let xv = tape.input(x);
        let (y, moments) = batch_norm(&mut tape, xv, None, None, 0.0).unwrap();
        let y = tape.value(y).data();
        for j in 0..3 {
            let col: Vec<f64> = y.iter().skip(j).step_by(3).copied().collect();
            let mean = col.iter().sum::<f64>() / col.len() as f64;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / col.len() as f64;
            assert!(mean.abs() < 1e-12 && (var - 1.0).abs() < 1e-12);
        }
        assert_eq!(moments.mean.len(), 3);
    }

    #[test]
    fn training_gradients_through_mean_and_variance() {
        for (dims, seed) in [(vec![8, 3], 1u32), (vec![2, 3, 3, 4], 2), (vec![5, 1], 3)] {
            let c = dims[dims.len() - 1];
            let inputs = [
                random_tensor(&dims, 110 + seed),
                random_tensor(&[c], 120 + seed),
                random_tensor(&[c], 130 + seed),
            ];
            assert_gradients(&inputs, |t, v| {
                Ok(batch_norm(t, v[0], Some(v[1]), Some(v[2]), 1e-3)?.0)
            });
            assert_gradients(&inputs[..1], |t, v| {
                Ok(batch_norm(t, v[0], None, None, 1e-3)?.0)
            });
            assert_gradients(&[inputs[0].clone(), inputs[2].clone()], |t, v| {
                Ok(batch_norm(t, v[0], None, Some(v[1]), 1e-3)?.0)
            });
        }
    }

    #[test]
    fn gradient_accumulates_into_a_reused_input() {
        // x feeds the product too, whose backward runs first: batch norm then adds to ∂L/∂x.
        let inputs = [random_tensor(&[6, 2, 2, 3], 140), random_tensor(&[3], 141)];
        assert_gradients(&inputs, |t, v| {
            let (y, _) = batch_norm(t, v[0], Some(v[1]), None, 1e-3)?;
            crate::ops::mul(t, y, v[0])
        });
    }

    #[test]
    fn inference_gradients() {
        let inputs = [
            random_tensor(&[4, 3, 2], 140),
            random_tensor(&[2], 141),
            random_tensor(&[2], 142),
        ];
        let (mean, var) = ([0.3, -0.2], [0.5, 2.0]);
        assert_gradients(&inputs, |t, v| {
            batch_norm_inference(t, v[0], Some(v[1]), Some(v[2]), &mean, &var, 1e-3)
        });
    }

    #[test]
    fn inference_uses_the_given_statistics() {
        let x = random_tensor(&[3, 2], 150);
        let mut params = ParamStore::default();
        let mut tape = Tape::new(&mut params);
        let xv = tape.input(x.clone());
        let y = batch_norm_inference(&mut tape, xv, None, None, &[1.0, -1.0], &[4.0, 0.25], 0.0)
            .unwrap();
        let y = tape.value(y).data();
        assert!((y[0] - (x.data()[0] - 1.0) / 2.0).abs() < 1e-12);
        assert!((y[1] - (x.data()[1] + 1.0) / 0.5).abs() < 1e-12);
    }
}
