//! Training one model in stages, as notebook 002 does: `compile(MSE)`, `fit(10)`,
//! `compile(cross-entropy)`, `fit(10)`, `fit(50)`, then `compile`/`fit` with Adam, SGD and
//! RMSprop in turn — all on the same weights. A stage that compiles gets a new optimizer
//! (Keras's `compile` builds one from the name or constructor it is given, so its moments start
//! at zero); a stage that does not compile keeps training with the optimizer it has.
//!
//! The histories concatenate, and each stage's first epoch and length are kept so the curves
//! can mark where one stage ends and the next begins.

use super::{BatchSource, Callback, FitOptions, History, Sequential};
use crate::error::{Error, Result};
use crate::nn::{Loss, OptimizerConfig};
use crate::tensor::Float;
use serde::{Deserialize, Serialize};

/// One `[compile;] fit(epochs)` of a staged run.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// What the curves and reports call it, e.g. `MSE` or `SGD`.
    pub label: String,
    /// `Some` compiles first (a fresh optimizer); `None` keeps the model's optimizer and loss.
    pub compile: Option<(OptimizerConfig, Loss)>,
    pub epochs: usize,
}

/// Where a stage sits in the concatenated history: epochs `start .. start + epochs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageMark {
    pub label: String,
    pub start: usize,
    pub epochs: usize,
    /// Whether the stage began with a compile (a new optimizer, maybe a new loss).
    pub compiled: bool,
    /// The loss the stage trained with (its history's `loss` is in this loss's units).
    pub loss: Loss,
}

/// Runs `stages` in order on `model`; `options(stage)` gives each fit's options (validation,
/// batch size, verbosity) with its `epochs` set from the stage. Returns the histories
/// concatenated and where each stage sits in it.
pub fn fit_stages<'a, T: Float>(
    model: &mut Sequential<T>,
    data: &dyn BatchSource<T>,
    stages: &[Stage],
    options: impl Fn(&Stage) -> FitOptions<'a, T>,
    callbacks: &mut [&mut dyn Callback<T>],
) -> Result<(History, Vec<StageMark>)> {
    let mut history = History::default();
    let mut marks = Vec::with_capacity(stages.len());
    for (i, stage) in stages.iter().enumerate() {
        if stage.epochs == 0 {
            return Err(Error::invalid(format!(
                "stage {} ('{}') needs at least one epoch",
                i + 1,
                stage.label
            )));
        }
        match &stage.compile {
            Some((optimizer, loss)) => model.compile(optimizer.clone(), *loss)?,
            None if model.loss().is_none() => {
                return Err(Error::invalid(format!(
                "stage {} ('{}') fits without compiling, but nothing compiled the model before it",
                i + 1,
                stage.label
            )))
            }
            None => {}
        }
        let loss = model.loss().expect("compiled above or before");
        let fit = FitOptions {
            epochs: stage.epochs,
            initial_epoch: 0,
            ..options(stage)
        };
        let part = model.fit_with_callbacks(data, fit, callbacks)?;
        marks.push(StageMark {
            label: stage.label.clone(),
            start: history.loss.len(),
            epochs: part.loss.len(),
            compiled: stage.compile.is_some(),
            loss,
        });
        history.extend(&part);
    }
    Ok((history, marks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mnist_sample;
    use crate::models;
    use crate::ops::Activation;

    fn model() -> Sequential<f32> {
        let layers = models::mlp(&[16], Activation::Relu, 10, 0.0);
        Sequential::from_configs(&[28, 28, 1], &layers, 0).unwrap()
    }

    #[test]
    fn stages_concatenate_and_are_marked() {
        let (train, _) = mnist_sample().unwrap();
        let train = train.take(200).scaled();
        let stages = [
            Stage {
                label: "MSE".into(),
                compile: Some((OptimizerConfig::adam(1e-3), Loss::MeanSquaredError)),
                epochs: 2,
            },
            Stage {
                label: "cross-entropy".into(),
                compile: Some((OptimizerConfig::adam(1e-3), Loss::CategoricalCrossentropy)),
                epochs: 1,
            },
            Stage {
                label: "more".into(),
                compile: None,
                epochs: 3,
            },
        ];
        let mut m = model();
        let quiet = |_: &Stage| FitOptions {
            verbosity: crate::train::Verbosity::Silent,
            ..FitOptions::default()
        };
        let (history, marks) = fit_stages(&mut m, &train, &stages, quiet, &mut []).unwrap();
        assert_eq!(history.loss.len(), 6);
        let starts: Vec<usize> = marks.iter().map(|m| m.start).collect();
        assert_eq!(starts, [0, 2, 3]);
        assert_eq!(marks[2].loss, Loss::CategoricalCrossentropy);
        assert!(!marks[2].compiled);
        // MSE on one-hot targets is far below cross-entropy's scale: the loss jumps at the
        // boundary where the loss function changes.
        assert!(
            history.loss[1] < 0.2 && history.loss[2] > 0.5,
            "{:?}",
            history.loss
        );
        // A stage that does not compile keeps the optimizer's step count running.
        let steps = m.optimizer().unwrap().iterations();
        assert_eq!(
            steps,
            4 * 7,
            "1 + 3 epochs of 7 batches since the last compile"
        );
    }

    #[test]
    fn fitting_before_any_compile_is_an_error() {
        let (train, _) = mnist_sample().unwrap();
        let stages = [Stage {
            label: "more".into(),
            compile: None,
            epochs: 1,
        }];
        let err = fit_stages(
            &mut model(),
            &train.take(10),
            &stages,
            |_| FitOptions::default(),
            &mut [],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("nothing compiled the model"),
            "{err}"
        );
    }
}
