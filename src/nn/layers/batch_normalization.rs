//! BatchNormalization over the last axis: batch statistics while training (and an update of
//! the moving averages), the moving statistics at inference.
//!
//! Keras's rule for the averages: moving ← moving·momentum + batch·(1 − momentum), with the
//! batch's biased variance (Keras 3). gamma and beta are trained; moving_mean and
//! moving_variance are non-trainable parameters, counted as such in the summary.

use crate::autograd::{ParamId, ParamStore, Tape, Var};
use crate::error::{Error, Result};
use crate::nn::layer::{Declared, Forward, LayerType, Output, Plan, WeightSpec};
use crate::nn::{Context, Initializer};
use crate::ops;
use crate::tensor::{Float, Tensor};
use serde::{Deserialize, Serialize};

/// Batch normalization's options, with Keras's defaults.
///
/// ```
/// use nabla::nn::layers::BatchNormalization;
/// let bn = BatchNormalization::new();
/// assert_eq!((bn.momentum, bn.epsilon), (0.99, 1e-3));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormalization {
    #[serde(default = "momentum")]
    pub momentum: f64,
    #[serde(default = "epsilon")]
    pub epsilon: f64,
    /// Learn an offset β.
    #[serde(default = "super::yes")]
    pub center: bool,
    /// Learn a scale γ.
    #[serde(default = "super::yes")]
    pub scale: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn momentum() -> f64 {
    0.99
}

fn epsilon() -> f64 {
    1e-3
}

impl Default for BatchNormalization {
    fn default() -> Self {
        BatchNormalization {
            momentum: momentum(),
            epsilon: epsilon(),
            center: true,
            scale: true,
            name: None,
        }
    }
}

impl BatchNormalization {
    pub fn new() -> Self {
        BatchNormalization::default()
    }
}

impl LayerType for BatchNormalization {
    fn plan(&self, name: &str, input_shape: &[usize]) -> Result<Plan> {
        let Some(&c) = input_shape.last() else {
            return Err(Error::shape(format!(
                "{name}: BatchNormalization needs inputs with at least one axis"
            )));
        };
        if !(0.0..=1.0).contains(&self.momentum) || self.epsilon.is_nan() || self.epsilon <= 0.0 {
            return Err(Error::invalid(format!(
                "{name}: momentum {} must be in [0, 1] and epsilon {} positive",
                self.momentum, self.epsilon
            )));
        }
        // Keras's weight order: gamma, beta, moving_mean, moving_variance.
        let mut weights = Vec::new();
        if self.scale {
            weights.push(WeightSpec::trainable("gamma", vec![c], Initializer::Ones));
        }
        if self.center {
            weights.push(WeightSpec::trainable("beta", vec![c], Initializer::Zeros));
        }
        weights.push(WeightSpec::state(
            "moving_mean",
            vec![c],
            Initializer::Zeros,
        ));
        weights.push(WeightSpec::state(
            "moving_variance",
            vec![c],
            Initializer::Ones,
        ));
        Ok(Plan {
            output_shape: input_shape.to_vec(),
            weights,
        })
    }

    fn build<T: Float>(&self, _plan: &Plan, weights: &Declared) -> Box<dyn Forward<T>> {
        Box::new(BuiltBatchNorm {
            config: self.clone(),
            gamma: weights.get("gamma"),
            beta: weights.get("beta"),
            moving_mean: weights.expect("moving_mean"),
            moving_variance: weights.expect("moving_variance"),
        })
    }
}

struct BuiltBatchNorm {
    config: BatchNormalization,
    gamma: Option<ParamId>,
    beta: Option<ParamId>,
    moving_mean: ParamId,
    moving_variance: ParamId,
}

impl<T: Float> Forward<T> for BuiltBatchNorm {
    fn forward(&mut self, tape: &mut Tape<T>, x: Var, ctx: &mut Context) -> Result<Output> {
        let gamma = self.gamma.map(|g| tape.param(g));
        let beta = self.beta.map(|b| tape.param(b));
        let eps = self.config.epsilon;
        if !ctx.training {
            let params = tape.params();
            let mean = params.value(self.moving_mean).data().to_vec();
            let variance = params.value(self.moving_variance).data().to_vec();
            return ops::batch_norm_inference(tape, x, gamma, beta, &mean, &variance, eps)
                .map(Output::plain);
        }
        let (y, batch) = ops::batch_norm(tape, x, gamma, beta, eps)?;
        if !ctx.update_statistics {
            return Ok(Output::plain(y));
        }
        let m = self.config.momentum;
        let params = tape.params_mut();
        update(params.value_mut(self.moving_mean), &batch.mean, m);
        update(params.value_mut(self.moving_variance), &batch.variance, m);
        Ok(Output::plain(y))
    }

    fn commutes_with_max_pool(&self, params: &ParamStore<T>) -> bool {
        let values = |id: Option<ParamId>| id.map(|id| params.value(id).data());
        ops::batch_norm_inference_increases(
            values(self.gamma),
            values(self.beta),
            params.value(self.moving_mean).data(),
            params.value(self.moving_variance).data(),
            self.config.epsilon,
        )
    }
}

fn update<T: Float>(moving: &mut Tensor<T>, batch: &[f64], momentum: f64) {
    for (m, &b) in moving.data_mut().iter_mut().zip(batch) {
        *m = T::of(m.as_f64() * momentum + b * (1.0 - momentum));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::harness::run_layer_test;

    // Shapes and counts from real Keras: tests/fixtures/make_keras_layer_counts.py.
    #[test]
    fn batch_normalization_passes_the_layer_test() {
        run_layer_test(
            "batch_normalization_dense",
            BatchNormalization::new(),
            &[5],
            &[5],
            (10, 10),
        );
        run_layer_test(
            "batch_normalization_image",
            BatchNormalization::new(),
            &[3, 3, 4],
            &[3, 3, 4],
            (8, 8),
        );
        run_layer_test(
            "batch_normalization_no_center",
            BatchNormalization {
                center: false,
                ..BatchNormalization::new()
            },
            &[6],
            &[6],
            (6, 12),
        );
    }

    #[test]
    fn batch_normalization_refuses_bad_momentum() {
        let bn = BatchNormalization {
            momentum: 1.5,
            ..BatchNormalization::new()
        };
        assert!(bn.plan("bn", &[4]).is_err());
    }
}
