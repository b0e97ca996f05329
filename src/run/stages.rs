//! `[[training.stages]]` in the run pipeline: the stages fit one after another on the same
//! model (see [`crate::train::fit_stages`]), and where each begins goes into `run.json` so the
//! report can mark the boundaries in the curves.

use crate::error::{Error, Result};
use crate::report::files::StageMark;
use crate::report::RunInfo;
use crate::train::{fit_stages, BatchSource, Callback, FitOptions, History, Sequential, Stage};

/// Fits `stages` on `model`, `options(epochs)` giving each fit's options, and records the
/// stage marks in `info`. A staged run starts from epoch 0: resuming one mid-way would need the
/// stage and its optimizer saved in the checkpoint, which they are not.
pub(super) fn fit<'a>(
    model: &mut Sequential<f32>,
    train: &dyn BatchSource<f32>,
    stages: &[Stage],
    initial_epoch: usize,
    options: impl Fn(usize) -> FitOptions<'a, f32>,
    callbacks: &mut [&mut dyn Callback<f32>],
    info: &mut RunInfo,
) -> Result<History> {
    if initial_epoch > 0 {
        return Err(Error::invalid(
            "a run with [[training.stages]] cannot resume from a checkpoint; start it again",
        ));
    }
    let (history, marks) = fit_stages(model, train, stages, |s| options(s.epochs), callbacks)?;
    info.stages = marks
        .into_iter()
        .map(|m| StageMark {
            label: m.label,
            start: m.start,
            epochs: m.epochs,
            compiled: m.compiled,
            loss: m.loss.name().into(),
        })
        .collect();
    Ok(history)
}
