//! Checking a whole model's gradients against central finite differences, in f64.
//!
//! For each trainable parameter, elements are nudged by ±h and the loss is recomputed in
//! training mode with the same random state (so dropout draws the same mask), then
//! (L(w+h) − L(w−h)) / 2h is compared with the autodiff gradient.

use super::Sequential;
use crate::autograd::check::{relative_error, STEP};
use crate::error::Result;
use crate::random::Rng;
use crate::tensor::Tensor;

/// The outcome for one parameter tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamCheck {
    pub layer: String,
    pub param: String,
    /// Elements compared (all, or a seeded sample of `max_elements`), kinks aside.
    pub checked: usize,
    /// Elements left out because the loss is not differentiable there (see [`KINK`]).
    pub kinks: usize,
    pub max_error: f64,
}

impl ParamCheck {
    pub fn passed(&self, tolerance: f64) -> bool {
        self.max_error < tolerance
    }
}

/// Default tolerance on the relative error, as the invariants demand.
pub const TOLERANCE: f64 = 1e-6;

/// Steps tried in turn for an element until one meets the tolerance.
///
/// A real network has tens of thousands of ReLU inputs and max-pool windows, and nudging one
/// weight moves every position of its filter, so now and then a step carries some unit across
/// a kink, where the loss has no derivative; a smaller step usually clears it. Below 1e-7,
/// rounding (≈ 1e-16·L / h) would swamp the comparison.
const STEPS: [f64; 3] = [STEP, 1e-6, 1e-7];

/// Where every step misses, the estimates tell a kink from a wrong gradient: across a kink
/// they change with the step (they depend on where within the step the kink lies), while for
/// a wrong gradient they agree with each other and all disagree with autodiff. Estimates that
/// differ by more than this (relatively) mark the element as a kink, left out of the check.
pub const KINK: f64 = 1e-5;

/// Compares every trainable parameter's gradient on batch (`x`, `y`) with finite
/// differences. At most `max_elements` elements per tensor are checked, chosen with a
/// fixed seed; `None` checks them all.
pub fn check_model_gradients(
    model: &mut Sequential<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    max_elements: Option<usize>,
) -> Result<Vec<ParamCheck>> {
    let start_rng = model.rng.clone();
    let (_, grads) = model.gradients(x.clone(), y.clone())?;
    let loss_at = |model: &mut Sequential<f64>| -> Result<f64> {
        model.rng = start_rng.clone();
        model.loss_on_batch(x.clone(), y.clone())
    };
    let mut pick = Rng::new(12345);
    let mut results = Vec::new();
    let layers: Vec<(String, Vec<_>)> = model
        .layers()
        .iter()
        .map(|l| (l.name().to_string(), l.params().to_vec()))
        .collect();
    for (layer, ids) in layers {
        for id in ids {
            let param = model.params().get(id);
            if !param.trainable {
                continue;
            }
            let name = param.name.clone();
            let n = param.value.numel();
            let mut elements: Vec<usize> = (0..n).collect();
            if let Some(limit) = max_elements {
                if n > limit {
                    pick.shuffle(&mut elements);
                    elements.truncate(limit);
                }
            }
            let analytic = grads
                .get(id)
                .cloned()
                .unwrap_or_else(|| Tensor::zeros(param.value.shape()));
            let mut worst: f64 = 0.0;
            let mut kinks = 0;
            for &j in &elements {
                let original = model.params().value(id).data()[j];
                let mut numeric_at = |step: f64| -> Result<f64> {
                    model.params_mut().value_mut(id).data_mut()[j] = original + step;
                    let plus = loss_at(model)?;
                    model.params_mut().value_mut(id).data_mut()[j] = original - step;
                    let minus = loss_at(model)?;
                    model.params_mut().value_mut(id).data_mut()[j] = original;
                    Ok((plus - minus) / (2.0 * step))
                };
                let a = analytic.data()[j];
                let mut estimates = Vec::with_capacity(STEPS.len());
                let mut error = f64::INFINITY;
                for step in STEPS {
                    let numeric = numeric_at(step)?;
                    estimates.push(numeric);
                    error = error.min(relative_error(a, numeric));
                    if error < TOLERANCE {
                        break;
                    }
                }
                let unstable = estimates
                    .windows(2)
                    .any(|w| relative_error(w[0], w[1]) > KINK);
                if error >= TOLERANCE && unstable {
                    kinks += 1;
                    continue;
                }
                worst = worst.max(error);
            }
            results.push(ParamCheck {
                layer: layer.clone(),
                param: name,
                checked: elements.len() - kinks,
                kinks,
                max_error: worst,
            });
        }
    }
    model.rng = start_rng;
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::random_tensor;
    use crate::nn::layers::{Dense, Flatten};
    use crate::nn::{Loss, OptimizerConfig};
    use crate::ops::Activation;

    fn one_hot(rows: usize, width: usize) -> Tensor<f64> {
        let mut t = Tensor::zeros([rows, width]);
        for r in 0..rows {
            t.data_mut()[r * width + (r * 5 + 2) % width] = 1.0;
        }
        t
    }

    fn assert_all_pass(checks: &[ParamCheck]) {
        assert!(!checks.is_empty());
        for c in checks {
            assert!(
                c.passed(TOLERANCE),
                "{} {}: error {:e}",
                c.layer,
                c.param,
                c.max_error
            );
        }
    }

    #[test]
    fn dense_gradients_for_each_activation() {
        for act in [
            Activation::Linear,
            Activation::Relu,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Softmax,
        ] {
            let mut model = Sequential::<f64>::with_seed(&[3, 2], 7);
            model.add(Flatten::new()).unwrap();
            model.add(Dense::new(5).activation(act).l2(1e-3)).unwrap();
            model
                .add(Dense::new(4).activation(Activation::Softmax))
                .unwrap();
            model
                .compile(OptimizerConfig::adam(1e-3), Loss::CategoricalCrossentropy)
                .unwrap();
            let checks = check_model_gradients(
                &mut model,
                &random_tensor(&[6, 3, 2], 3),
                &one_hot(6, 4),
                None,
            )
            .unwrap();
            assert_eq!(checks.len(), 4);
            assert_all_pass(&checks);
        }
    }

    #[test]
    fn activation_layers_on_their_own() {
        use crate::nn::layers::ActivationLayer;
        let mut model = Sequential::<f64>::with_seed(&[5], 11);
        model.add(Dense::new(6)).unwrap();
        model.add(ActivationLayer::new(Activation::Tanh)).unwrap();
        model.add(Dense::new(6)).unwrap();
        model
            .add(ActivationLayer::new(Activation::Sigmoid))
            .unwrap();
        model.add(Dense::new(4)).unwrap();
        model
            .add(ActivationLayer::new(Activation::Softmax))
            .unwrap();
        model
            .compile(OptimizerConfig::adam(1e-3), Loss::CategoricalCrossentropy)
            .unwrap();
        let checks =
            check_model_gradients(&mut model, &random_tensor(&[3, 5], 6), &one_hot(3, 4), None)
                .unwrap();
        assert_eq!(checks.len(), 6);
        assert_all_pass(&checks);
    }

    #[test]
    fn dense_gradients_with_mse_and_binary_crossentropy() {
        for (loss, act, width) in [
            (Loss::MeanSquaredError, Activation::Linear, 3),
            (Loss::BinaryCrossentropy, Activation::Sigmoid, 1),
        ] {
            let mut model = Sequential::<f64>::with_seed(&[4], 3);
            model
                .add(Dense::new(6).activation(Activation::Tanh))
                .unwrap();
            model
                .add(Dense::new(width).activation(act).use_bias(false))
                .unwrap();
            model.compile(OptimizerConfig::sgd(0.1, 0.0), loss).unwrap();
            let mut y = random_tensor(&[5, width], 9);
            y.data_mut().iter_mut().for_each(|v| *v = v.abs() / 1.2);
            let checks =
                check_model_gradients(&mut model, &random_tensor(&[5, 4], 4), &y, None).unwrap();
            assert_all_pass(&checks);
        }
    }

    #[test]
    fn sampling_limits_the_elements_checked() {
        let mut model = Sequential::<f64>::with_seed(&[20], 1);
        model
            .add(Dense::new(10).activation(Activation::Softmax))
            .unwrap();
        model
            .compile(OptimizerConfig::adam(1e-3), Loss::CategoricalCrossentropy)
            .unwrap();
        let checks = check_model_gradients(
            &mut model,
            &random_tensor(&[2, 20], 5),
            &one_hot(2, 10),
            Some(7),
        )
        .unwrap();
        assert_eq!(checks[0].checked, 7);
        assert_eq!(checks[1].checked, 7);
        assert_all_pass(&checks);
    }
}
