//! Finite-difference gradient checks in f64.
//!
//! The output of the function under test is reduced to a scalar with fixed random weights,
//! L = Σ rᵢ·outᵢ, so every output element's gradient matters. Each input element is then
//! nudged by ±h and (L(x+h) − L(x−h)) / 2h is compared with the autodiff gradient.

use super::{Backward, GradSink, OpIo, ParamStore, Tape, Var};
use crate::error::Result;
use crate::random::Rng;
use crate::tensor::Tensor;

/// Central-difference step: small enough for O(h²) truncation error (≈ 1e-10), large enough that
/// rounding (≈ 1e-16·L / h ≈ 1e-11) stays far below the tolerance.
pub const STEP: f64 = 1e-5;

/// Gradients below this magnitude are compared absolutely rather than relatively.
pub const FLOOR: f64 = 1e-3;

/// The error measure used throughout: |a − n| / max(|a|, |n|, FLOOR).
pub fn relative_error(analytic: f64, numeric: f64) -> f64 {
    (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(FLOOR)
}

/// A tensor of uniform values in ±[0.1, 1.1): random, never zero, and away from the kinks of
/// ReLU and friends. `seed` keeps each test's inputs fixed across runs but distinct.
pub fn random_tensor(dims: &[usize], seed: u32) -> Tensor<f64> {
    let mut rng = Rng::new(seed.wrapping_mul(7919).wrapping_add(17));
    let n: usize = dims.iter().product();
    let values: Vec<f64> = (0..n)
        .map(|_| {
            let magnitude = rng.uniform(0.1, 1.1);
            if rng.random_sample() < 0.5 {
                -magnitude
            } else {
                magnitude
            }
        })
        .collect();
    Tensor::from_vec(values, dims).expect("dims match the count")
}

/// Largest relative error between autodiff and central differences, one per input.
pub fn gradient_errors(
    inputs: &[Tensor<f64>],
    f: impl Fn(&mut Tape<f64>, &[Var]) -> Result<Var>,
) -> Result<Vec<f64>> {
    let mut params = ParamStore::default();
    let weights = {
        let mut tape = Tape::new(&mut params);
        let vars: Vec<Var> = inputs.iter().map(|t| tape.input(t.clone())).collect();
        let out = f(&mut tape, &vars)?;
        random_tensor(tape.value(out).dims(), 99)
    };
    let objective = |values: &[Tensor<f64>], params: &mut ParamStore<f64>| -> Result<f64> {
        let mut tape = Tape::new(params);
        let vars: Vec<Var> = values.iter().map(|t| tape.input(t.clone())).collect();
        let out = f(&mut tape, &vars)?;
        Ok(weighted_sum(tape.value(out).data(), weights.data()))
    };

    let mut tape = Tape::new(&mut params);
    let vars: Vec<Var> = inputs
        .iter()
        .map(|t| tape.input_with_grad(t.clone()))
        .collect();
    let out = f(&mut tape, &vars)?;
    let loss = tape.push_op(
        "weighted_sum",
        Tensor::scalar(weighted_sum(tape.value(out).data(), weights.data())),
        &[out],
        WeightedSum(weights.clone()),
    );
    tape.backward(loss)?;
    let analytic: Vec<Tensor<f64>> = vars
        .iter()
        .zip(inputs)
        .map(|(&v, x)| {
            tape.grad(v)
                .cloned()
                .unwrap_or_else(|| Tensor::zeros(x.shape()))
        })
        .collect();
    drop(tape);

    let mut errors = Vec::with_capacity(inputs.len());
    let mut nudged = inputs.to_vec();
    for (i, grad) in analytic.iter().enumerate() {
        let mut worst: f64 = 0.0;
        for j in 0..inputs[i].numel() {
            let original = inputs[i].data()[j];
            nudged[i].data_mut()[j] = original + STEP;
            let plus = objective(&nudged, &mut params)?;
            nudged[i].data_mut()[j] = original - STEP;
            let minus = objective(&nudged, &mut params)?;
            nudged[i].data_mut()[j] = original;
            let numeric = (plus - minus) / (2.0 * STEP);
            worst = worst.max(relative_error(grad.data()[j], numeric));
        }
        errors.push(worst);
    }
    Ok(errors)
}

/// Asserts that every input's gradient agrees with central differences to 1e-6.
#[track_caller]
pub fn assert_gradients(inputs: &[Tensor<f64>], f: impl Fn(&mut Tape<f64>, &[Var]) -> Result<Var>) {
    let errors = gradient_errors(inputs, f).expect("the function runs");
    for (i, e) in errors.iter().enumerate() {
        assert!(
            *e < 1e-6,
            "input {i}: relative gradient error {e:e} exceeds 1e-6 (all: {errors:?})"
        );
    }
}

fn weighted_sum(values: &[f64], weights: &[f64]) -> f64 {
    values.iter().zip(weights).map(|(v, w)| v * w).sum()
}

struct WeightedSum(Tensor<f64>);

impl Backward<f64> for WeightedSum {
    fn backward(&self, io: &OpIo<'_, f64>, grads: &mut GradSink<'_, f64>) {
        let g = io.grad_out().item();
        if let Some(dx) = grads.slot(0) {
            dx.put(self.0.data().iter().map(|&w| w * g));
        }
    }
}
