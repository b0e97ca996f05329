//! BatchNormalization over the last axis: batch statistics while training (and an update of
//! the moving averages), the moving statistics at inference.
//!
//! Keras's rule for the averages: moving ← moving·momentum + batch·(1 − momentum), with the
//! batch's biased variance (Keras 3). gamma and beta are trained; moving_mean and
//! moving_variance are non-trainable parameters, counted as such in the summary.

use crate::autograd::{ParamId, ParamStore, Tape, Var};
use crate::error::{Error, Result};
use crate::nn::{Context, Initializer, Layer};
use crate::ops;
use crate::random::Rng;
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

    pub(crate) fn build<T: Float>(
        &self,
        name: String,
        input_shape: &[usize],
        params: &mut ParamStore<T>,
        rng: &mut Rng,
    ) -> Result<Box<dyn Layer<T>>> {
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
        let mut ids = Vec::new();
        let mut add = |what: &str, init: Initializer, trainable: bool| {
            let id = params.add(format!("{name}/{what}"), init.init(&[c], rng), trainable);
            ids.push(id);
            id
        };
        // Keras's weight order: gamma, beta, moving_mean, moving_variance.
        let gamma = self.scale.then(|| add("gamma", Initializer::Ones, true));
        let beta = self.center.then(|| add("beta", Initializer::Zeros, true));
        let moving_mean = add("moving_mean", Initializer::Zeros, false);
        let moving_variance = add("moving_variance", Initializer::Ones, false);
        Ok(Box::new(BuiltBatchNorm {
            name,
            config: self.clone(),
            gamma,
            beta,
            moving_mean,
            moving_variance,
            ids,
            output_shape: input_shape.to_vec(),
        }))
    }
}

struct BuiltBatchNorm {
    name: String,
    config: BatchNormalization,
    gamma: Option<ParamId>,
    beta: Option<ParamId>,
    moving_mean: ParamId,
    moving_variance: ParamId,
    ids: Vec<ParamId>,
    output_shape: Vec<usize>,
}

impl<T: Float> Layer<T> for BuiltBatchNorm {
    fn name(&self) -> &str {
        &self.name
    }

    fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    fn params(&self) -> &[ParamId] {
        &self.ids
    }

    fn forward(&mut self, tape: &mut Tape<T>, x: Var, ctx: &mut Context) -> Result<Var> {
        let gamma = self.gamma.map(|g| tape.param(g));
        let beta = self.beta.map(|b| tape.param(b));
        let eps = self.config.epsilon;
        if !ctx.training {
            let params = tape.params();
            let mean = params.value(self.moving_mean).data().to_vec();
            let variance = params.value(self.moving_variance).data().to_vec();
            return ops::batch_norm_inference(tape, x, gamma, beta, &mean, &variance, eps);
        }
        let (y, batch) = ops::batch_norm(tape, x, gamma, beta, eps)?;
        if !ctx.update_statistics {
            return Ok(y);
        }
        let m = self.config.momentum;
        let params = tape.params_mut();
        update(params.value_mut(self.moving_mean), &batch.mean, m);
        update(params.value_mut(self.moving_variance), &batch.variance, m);
        Ok(y)
    }
}

fn update<T: Float>(moving: &mut Tensor<T>, batch: &[f64], momentum: f64) {
    for (m, &b) in moving.data_mut().iter_mut().zip(batch) {
        *m = T::of(m.as_f64() * momentum + b * (1.0 - momentum));
    }
}
