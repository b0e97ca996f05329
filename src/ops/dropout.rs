//! Inverted dropout: y = x ⊙ mask, the mask holding 0 (dropped) or 1/(1 − rate) (kept), so the
//! expected value of y is x and inference needs no rescaling.
//!
//! ∂L/∂x = G ⊙ mask. The mask is an input rather than drawn inside the op, so a gradient check
//! can hold it fixed while nudging x; `dropout_mask` draws one from the model's seeded RNG.

use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::{Error, Result};
use crate::random::Rng;
use crate::tensor::{Float, Shape, Tensor};

/// A mask of `shape` from `rng`: each element dropped with probability `rate` (Keras keeps an
/// element when its uniform draw is ≥ rate). Its buffer comes from the tape's pool.
pub fn dropout_mask<T: Float>(
    tape: &mut Tape<T>,
    shape: Shape,
    rate: f64,
    rng: &mut Rng,
) -> Tensor<T> {
    let mut mask = tape.alloc(shape);
    let keep = T::of(1.0 / (1.0 - rate));
    rng.map_random_samples(
        mask.data_mut(),
        |u| if u >= rate { keep } else { T::zero() },
    );
    mask
}

/// x ⊙ mask, with `mask` a constant of the same shape (see [`dropout_mask`]).
pub fn dropout<T: Float>(tape: &mut Tape<T>, x: Var, mask: Var) -> Result<Var> {
    let (sx, sm) = (tape.shape(x), tape.shape(mask));
    if sx != sm {
        return Err(Error::shape(format!(
            "dropout mask of shape {sm} for input {sx}"
        )));
    }
    let mut out = tape.alloc(sx);
    for ((o, &v), &m) in out
        .data_mut()
        .iter_mut()
        .zip(tape.value(x).data())
        .zip(tape.value(mask).data())
    {
        *o = v * m;
    }
    Ok(tape.push_op("dropout", out, &[x, mask], DropoutBackward))
}

struct DropoutBackward;

impl<T: Float> Backward<T> for DropoutBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (g, mask) = (io.grad_out().data(), io.input(1).data());
        if let Some(dx) = grads.slot(0) {
            dx.put(g.iter().zip(mask).map(|(&g, &m)| g * m));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};
    use crate::autograd::ParamStore;

    fn fixed_mask() -> Tensor<f64> {
        let values = (0..12)
            .map(|i| if i % 3 == 0 { 0.0 } else { 1.5 })
            .collect();
        Tensor::from_vec(values, [3, 4]).unwrap()
    }

    #[test]
    fn gradients_with_a_fixed_mask() {
        let mask = fixed_mask();
        assert_gradients(&[random_tensor(&[3, 4], 160)], |t, v| {
            let m = t.input(mask.clone());
            dropout(t, v[0], m)
        });
    }

    #[test]
    fn masks_drop_about_rate_and_keep_the_mean() {
        let mut params = ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let mut rng = Rng::new(0);
        let mask = dropout_mask(&mut tape, Shape::new(&[100, 100]), 0.3, &mut rng);
        let dropped = mask.data().iter().filter(|&&m| m == 0.0).count();
        assert!((2800..3200).contains(&dropped), "{dropped}");
        let mean = mask.data().iter().sum::<f64>() / 10_000.0;
        assert!((mean - 1.0).abs() < 0.03, "{mean}");
        // Same seed, same mask.
        let again = dropout_mask(&mut tape, Shape::new(&[100, 100]), 0.3, &mut Rng::new(0));
        assert_eq!(mask, again);
    }
}
