//! Cross-entropy losses, averaged over the batch (Keras's `sum_over_batch_size`).
//!
//! From probabilities, as Keras computes them (p clipped to [ε, 1 − ε], ε = 1e-7):
//!   categorical: L = −(1/B) Σ t·log p            ∂L/∂p = −t / (B·p)   (0 where clipped)
//!   binary:      L = −(1/N) Σ t·log p + (1−t)·log(1−p)
//!                                               ∂L/∂p = (p − t) / (N·p(1−p))
//! Fused with the output activation, from logits z (stable, no clipping):
//!   softmax:     L = (1/B) Σ_rows (Σt·logΣe^z − Σ t·z)   ∂L/∂z = (softmax(z)·Σt − t) / B
//!   sigmoid:     L = (1/N) Σ max(z,0) − z·t + log(1 + e^−|z|)   ∂L/∂z = (σ(z) − t) / N
//! Targets are constants: no gradient flows into them.

use super::softmax::{log_sum_exp, softmax_row};
use super::Activation;
use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::{Float, Tensor};

/// Keras's `epsilon()`: how far probabilities are kept from 0 and 1.
pub const EPSILON: f64 = 1e-7;

fn check_same_shape<T: Float>(tape: &Tape<T>, a: Var, b: Var, what: &str) -> Result<()> {
    if tape.shape(a) != tape.shape(b) {
        return Err(Error::shape(format!(
            "{what}: predictions {} and targets {} differ",
            tape.shape(a),
            tape.shape(b)
        )));
    }
    Ok(())
}

pub fn softmax_crossentropy<T: Float>(
    tape: &mut Tape<T>,
    logits: Var,
    targets: Var,
) -> Result<Var> {
    check_same_shape(tape, logits, targets, "softmax cross-entropy")?;
    let width = tape.shape(logits).dim(-1);
    let (z, t) = (tape.value(logits).data(), tape.value(targets).data());
    let batch = z.len() / width;
    let mut total = T::zero();
    for (zr, tr) in z.chunks(width).zip(t.chunks(width)) {
        let lse = log_sum_exp(zr);
        total += zr
            .iter()
            .zip(tr)
            .map(|(&zv, &tv)| tv * (lse - zv))
            .sum::<T>();
    }
    let loss = Tensor::scalar(total / T::of(batch as f64));
    Ok(tape.push_op(
        "softmax_crossentropy",
        loss,
        &[logits, targets],
        SoftmaxCrossEntropyBackward { width },
    ))
}

struct SoftmaxCrossEntropyBackward {
    width: usize,
}

impl<T: Float> Backward<T> for SoftmaxCrossEntropyBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (z, t) = (io.input(0).data(), io.input(1).data());
        let batch = z.len() / self.width;
        let scale = io.grad_out().item() / T::of(batch as f64);
        let Some(dz) = grads.slot(0) else { return };
        let mut probs = vec![T::zero(); self.width];
        for ((drow, zr), tr) in dz
            .data
            .chunks_mut(self.width)
            .zip(z.chunks(self.width))
            .zip(t.chunks(self.width))
        {
            softmax_row(zr, &mut probs);
            let mass: T = tr.iter().copied().sum();
            for ((d, &p), &tv) in drow.iter_mut().zip(&probs).zip(tr) {
                let v = (p * mass - tv) * scale;
                if dz.accumulate {
                    *d += v;
                } else {
                    *d = v;
                }
            }
        }
    }
}

pub fn categorical_crossentropy<T: Float>(
    tape: &mut Tape<T>,
    probs: Var,
    targets: Var,
) -> Result<Var> {
    check_same_shape(tape, probs, targets, "categorical cross-entropy")?;
    let width = tape.shape(probs).dim(-1);
    let (p, t) = (tape.value(probs).data(), tape.value(targets).data());
    let batch = p.len() / width;
    let total: T = p.iter().zip(t).map(|(&pv, &tv)| -tv * clip(pv).ln()).sum();
    let loss = Tensor::scalar(total / T::of(batch as f64));
    Ok(tape.push_op(
        "categorical_crossentropy",
        loss,
        &[probs, targets],
        CategoricalBackward { batch },
    ))
}

fn clip<T: Float>(p: T) -> T {
    p.max(T::of(EPSILON)).min(T::of(1.0 - EPSILON))
}

fn inside_clip<T: Float>(p: T) -> bool {
    p > T::of(EPSILON) && p < T::of(1.0 - EPSILON)
}

struct CategoricalBackward {
    batch: usize,
}

impl<T: Float> Backward<T> for CategoricalBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (p, t) = (io.input(0).data(), io.input(1).data());
        let scale = io.grad_out().item() / T::of(self.batch as f64);
        if let Some(dp) = grads.slot(0) {
            dp.put(p.iter().zip(t).map(|(&pv, &tv)| {
                if inside_clip(pv) {
                    -tv / pv * scale
                } else {
                    T::zero()
                }
            }));
        }
    }
}

pub fn binary_crossentropy<T: Float>(tape: &mut Tape<T>, probs: Var, targets: Var) -> Result<Var> {
    check_same_shape(tape, probs, targets, "binary cross-entropy")?;
    let (p, t) = (tape.value(probs).data(), tape.value(targets).data());
    let n = p.len().max(1);
    let total: T = p
        .iter()
        .zip(t)
        .map(|(&pv, &tv)| {
            let pc = clip(pv);
            -(tv * pc.ln() + (T::one() - tv) * (T::one() - pc).ln())
        })
        .sum();
    let loss = Tensor::scalar(total / T::of(n as f64));
    Ok(tape.push_op(
        "binary_crossentropy",
        loss,
        &[probs, targets],
        BinaryBackward { n },
    ))
}

struct BinaryBackward {
    n: usize,
}

impl<T: Float> Backward<T> for BinaryBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (p, t) = (io.input(0).data(), io.input(1).data());
        let scale = io.grad_out().item() / T::of(self.n as f64);
        if let Some(dp) = grads.slot(0) {
            dp.put(p.iter().zip(t).map(|(&pv, &tv)| {
                if inside_clip(pv) {
                    (pv - tv) / (pv * (T::one() - pv)) * scale
                } else {
                    T::zero()
                }
            }));
        }
    }
}

pub fn sigmoid_binary_crossentropy<T: Float>(
    tape: &mut Tape<T>,
    logits: Var,
    targets: Var,
) -> Result<Var> {
    check_same_shape(tape, logits, targets, "binary cross-entropy")?;
    let (z, t) = (tape.value(logits).data(), tape.value(targets).data());
    let n = z.len().max(1);
    let total: T = z
        .iter()
        .zip(t)
        .map(|(&zv, &tv)| zv.max(T::zero()) - zv * tv + (T::one() + (-zv.abs()).exp()).ln())
        .sum();
    let loss = Tensor::scalar(total / T::of(n as f64));
    Ok(tape.push_op(
        "sigmoid_binary_crossentropy",
        loss,
        &[logits, targets],
        SigmoidBinaryBackward { n },
    ))
}

struct SigmoidBinaryBackward {
    n: usize,
}

impl<T: Float> Backward<T> for SigmoidBinaryBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (z, t) = (io.input(0).data(), io.input(1).data());
        let scale = io.grad_out().item() / T::of(self.n as f64);
        if let Some(dz) = grads.slot(0) {
            dz.put(
                z.iter()
                    .zip(t)
                    .map(|(&zv, &tv)| (Activation::Sigmoid.apply(zv) - tv) * scale),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};
    use crate::ops::{sigmoid, softmax};

    fn one_hot(rows: usize, width: usize) -> crate::Tensor<f64> {
        let mut t = crate::Tensor::zeros([rows, width]);
        for r in 0..rows {
            t.data_mut()[r * width + (r * 7 + 3) % width] = 1.0;
        }
        t
    }

    fn soft_targets(rows: usize, width: usize) -> crate::Tensor<f64> {
        let mut t = random_tensor(&[rows, width], 77);
        t.data_mut().iter_mut().for_each(|v| *v = v.abs() / 2.0);
        t
    }

    #[test]
    fn softmax_crossentropy_gradients() {
        for targets in [one_hot(4, 5), soft_targets(4, 5)] {
            assert_gradients(&[random_tensor(&[4, 5], 61)], |t, v| {
                let y = t.input(targets.clone());
                softmax_crossentropy(t, v[0], y)
            });
        }
    }

    #[test]
    fn fused_softmax_crossentropy_equals_the_unfused_loss() {
        let logits = random_tensor(&[6, 4], 62);
        let targets = one_hot(6, 4);
        let mut params = crate::autograd::ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let z = tape.input(logits);
        let y = tape.input(targets);
        let fused = softmax_crossentropy(&mut tape, z, y).unwrap();
        let p = softmax(&mut tape, z).unwrap();
        let plain = categorical_crossentropy(&mut tape, p, y).unwrap();
        let (a, b) = (tape.value(fused).item(), tape.value(plain).item());
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn categorical_crossentropy_gradients() {
        // Probabilities strictly inside (ε, 1 − ε), as a softmax gives.
        let mut probs = random_tensor(&[3, 4], 63);
        probs.data_mut().iter_mut().for_each(|v| *v = v.abs() / 1.2);
        assert_gradients(&[probs], |t, v| {
            let y = t.input(soft_targets(3, 4));
            categorical_crossentropy(t, v[0], y)
        });
    }

    #[test]
    fn binary_crossentropy_gradients() {
        let mut probs = random_tensor(&[3, 2], 64);
        probs.data_mut().iter_mut().for_each(|v| *v = v.abs() / 1.2);
        let targets = soft_targets(3, 2);
        assert_gradients(&[probs], |t, v| {
            let y = t.input(targets.clone());
            binary_crossentropy(t, v[0], y)
        });
        assert_gradients(&[random_tensor(&[3, 2], 65)], |t, v| {
            let y = t.input(targets.clone());
            sigmoid_binary_crossentropy(t, v[0], y)
        });
    }

    #[test]
    fn fused_sigmoid_crossentropy_equals_the_unfused_loss() {
        let mut params = crate::autograd::ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let z = tape.input(random_tensor(&[5, 1], 66));
        let y = tape.input(soft_targets(5, 1));
        let fused = sigmoid_binary_crossentropy(&mut tape, z, y).unwrap();
        let p = sigmoid(&mut tape, z).unwrap();
        let plain = binary_crossentropy(&mut tape, p, y).unwrap();
        let (a, b) = (tape.value(fused).item(), tape.value(plain).item());
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn keras_clips_probabilities() {
        // Keras: categorical_crossentropy([[1, 0]], [[0, 1]]) = −log(1e-7) = 16.118095…
        let mut params = crate::autograd::ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let p = tape.input(crate::Tensor::from_vec(vec![0.0, 1.0], [1, 2]).unwrap());
        let y = tape.input(crate::Tensor::from_vec(vec![1.0, 0.0], [1, 2]).unwrap());
        let loss = categorical_crossentropy(&mut tape, p, y).unwrap();
        assert!((tape.value(loss).item() - 16.11809565095832).abs() < 1e-9);
    }
}
