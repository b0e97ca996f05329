//! The training loop: shuffle, batch, step, report, validate — Keras's `fit`.

use super::batches::BatchSource;
use super::callbacks::{BatchLogs, Callback, Control};
use super::history::{EpochLogs, History};
use super::progress::{Progress, Stream, Verbosity};
use super::warm_workers::WarmWorkers;
use super::Sequential;
use crate::error::{Error, Result};
use crate::tensor::Float;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Where validation numbers come from.
#[derive(Default)]
pub enum Validation<'a, T: Float> {
    #[default]
    None,
    /// A separate dataset, e.g. the test set as the labs use it.
    Data(&'a dyn BatchSource<T>),
    /// The last fraction of the training data, taken before shuffling (as Keras does).
    Split(f64),
}

/// `fit`'s options, with Keras's defaults.
pub struct FitOptions<'a, T: Float> {
    pub epochs: usize,
    pub batch_size: usize,
    pub validation: Validation<'a, T>,
    pub shuffle: bool,
    pub verbosity: Verbosity,
    pub stream: Stream,
    /// The epoch to start from (for resuming): epochs before it are taken as done.
    pub initial_epoch: usize,
    /// Where an interrupted epoch stopped: training goes on from its next batch, in the same
    /// order and with the same running sums, so the resumed run ends as if never stopped.
    /// Takes precedence over `initial_epoch`.
    pub resume_from: Option<EpochPosition>,
    /// Set from elsewhere (a signal handler, a notebook's stop button) to stop after the
    /// current batch: callbacks get [`Callback::on_interrupt`] with the position, and `fit`
    /// returns the finished epochs' history.
    pub interrupt: Option<&'a AtomicBool>,
}

/// How far an epoch got: everything needed to finish it later exactly as it would have gone.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochPosition {
    /// The 0-based epoch (also the number of finished epochs).
    pub epoch: usize,
    /// Batches of `order` already trained on.
    pub batches_done: usize,
    /// The epoch's sample order (after shuffling).
    pub order: Vec<usize>,
    /// Running sums behind the epoch's mean loss and accuracy.
    pub loss_sum: f64,
    pub correct: usize,
    pub seen: usize,
    /// Seconds the epoch had run.
    pub seconds: f64,
}

impl<T: Float> Default for FitOptions<'_, T> {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            validation: Validation::None,
            shuffle: true,
            verbosity: Verbosity::Bar,
            stream: Stream::Stdout,
            initial_epoch: 0,
            resume_from: None,
            interrupt: None,
        }
    }
}

/// Largest batch accepted: beyond this a typo (an extra zero or two) is more likely than intent.
pub const MAX_BATCH_SIZE: usize = 1 << 20;

impl<T: Float> Sequential<T> {
    /// Trains on `data` for `options.epochs` epochs and returns the history.
    ///
    /// With several threads, call it from inside a rayon pool
    /// (`pool.install(|| model.fit(..))`), as the `nabla` command does: parallel work started
    /// from outside a pool is handed over and waited for, which costs more than a small
    /// model's whole step. Inside one, the pool's other threads keep polling for work while
    /// it trains, and go back to sleep a few milliseconds after it returns.
    pub fn fit(
        &mut self,
        data: &dyn BatchSource<T>,
        options: FitOptions<'_, T>,
    ) -> Result<History> {
        self.fit_with_callbacks(data, options, &mut [])
    }

    pub fn fit_with_callbacks(
        &mut self,
        data: &dyn BatchSource<T>,
        options: FitOptions<'_, T>,
        callbacks: &mut [&mut dyn Callback<T>],
    ) -> Result<History> {
        if self.compiled.is_none() {
            return Err(Error::invalid(
                "the model must be compiled (optimizer and loss) before fit",
            ));
        }
        if options.batch_size == 0 || options.batch_size > MAX_BATCH_SIZE {
            return Err(Error::invalid(format!(
                "batch size {} is out of range (1..={MAX_BATCH_SIZE})",
                options.batch_size
            )));
        }
        self.check_input_shape(data.input_shape())?;
        let n = data.len();
        let (train, held_out): (Vec<usize>, Vec<usize>) = match options.validation {
            Validation::Split(fraction) => {
                if !(0.0..1.0).contains(&fraction) {
                    return Err(Error::invalid(format!(
                        "validation split {fraction} must be in [0, 1)"
                    )));
                }
                let cut = n - (n as f64 * fraction).floor() as usize;
                ((0..cut).collect(), (cut..n).collect())
            }
            _ => ((0..n).collect(), Vec::new()),
        };
        if train.is_empty() {
            return Err(Error::invalid("no training samples"));
        }
        let validation: Option<(&dyn BatchSource<T>, Vec<usize>)> = match options.validation {
            Validation::None => None,
            Validation::Data(v) => {
                self.check_input_shape(v.input_shape())?;
                Some((v, (0..v.len()).collect()))
            }
            Validation::Split(_) if held_out.is_empty() => None,
            Validation::Split(_) => Some((data, held_out)),
        };

        for cb in callbacks.iter_mut() {
            cb.on_train_begin(self)?;
        }
        let mut history = History::default();
        let steps = train.len().div_ceil(options.batch_size);
        let mut resume = options.resume_from.clone();
        if let Some(p) = &resume {
            if p.order.len() != train.len() || p.batches_done > steps {
                return Err(Error::invalid(format!(
                    "cannot resume epoch {}: it was over {} samples in batches of {}, not {} \
                     samples in batches of {}",
                    p.epoch + 1,
                    p.order.len(),
                    options.batch_size,
                    train.len(),
                    options.batch_size
                )));
            }
        }
        let first_epoch = resume.as_ref().map_or(options.initial_epoch, |p| p.epoch);
        let warm = WarmWorkers::new();
        'epochs: for epoch in first_epoch..options.epochs {
            let start = Instant::now();
            let mut progress = Progress::new(steps, options.verbosity, options.stream);
            progress.epoch_header(epoch + 1, options.epochs);
            // A resumed epoch carries on with its order and sums; a new one shuffles afresh.
            let (order, first_batch, mut loss_sum, mut correct, mut seen, earlier_seconds) =
                match resume.take() {
                    Some(p) => (
                        p.order,
                        p.batches_done,
                        p.loss_sum,
                        p.correct,
                        p.seen,
                        p.seconds,
                    ),
                    None => {
                        let mut order = train.clone();
                        if options.shuffle {
                            self.rng.shuffle(&mut order);
                        }
                        (order, 0, 0.0, 0usize, 0usize, 0.0)
                    }
                };
            for (batch, indices) in order.chunks(options.batch_size).enumerate() {
                if batch < first_batch {
                    continue;
                }
                if options.interrupt.is_some_and(|f| f.load(Ordering::SeqCst)) {
                    let position = EpochPosition {
                        epoch,
                        batches_done: batch,
                        order: order.clone(),
                        loss_sum,
                        correct,
                        seen,
                        seconds: earlier_seconds + start.elapsed().as_secs_f64(),
                    };
                    progress.interrupted();
                    for cb in callbacks.iter_mut() {
                        cb.on_interrupt(self, &position)?;
                    }
                    return Ok(history);
                }
                warm.keep_warm();
                let (x, y) = self.gather(data, indices);
                let result = self.train_on_batch(x, y)?;
                if !result.loss.is_finite() {
                    return Err(Error::NonFinite {
                        epoch: epoch + 1,
                        batch: batch + 1,
                        value: result.loss,
                    });
                }
                loss_sum += result.loss * indices.len() as f64;
                correct += result.correct;
                seen += indices.len();
                let logs = BatchLogs {
                    batch_loss: result.loss,
                    loss: loss_sum / seen as f64,
                    accuracy: correct as f64 / seen as f64,
                    seen,
                };
                progress.update(
                    batch + 1,
                    &[("loss", logs.loss), ("accuracy", logs.accuracy)],
                );
                let mut stop = false;
                for cb in callbacks.iter_mut() {
                    stop |= cb.on_batch_end(self, epoch, batch, &logs)? == Control::Stop;
                }
                if stop {
                    break 'epochs;
                }
            }
            let mut logs = EpochLogs {
                loss: loss_sum / seen as f64,
                accuracy: correct as f64 / seen as f64,
                learning_rate: self.optimizer().map(|o| o.learning_rate()).unwrap_or(0.0),
                ..EpochLogs::default()
            };
            if let Some((source, indices)) = &validation {
                let eval = self.evaluate_indices(*source, indices)?;
                logs.val_loss = Some(eval.loss);
                logs.val_accuracy = Some(eval.accuracy);
            }
            logs.seconds = earlier_seconds + start.elapsed().as_secs_f64();
            let mut shown = vec![("loss", logs.loss), ("accuracy", logs.accuracy)];
            if let (Some(l), Some(a)) = (logs.val_loss, logs.val_accuracy) {
                shown.push(("val_loss", l));
                shown.push(("val_accuracy", a));
            }
            progress.finish(&shown);
            history.push(&logs);
            let mut stop = false;
            for cb in callbacks.iter_mut() {
                stop |= cb.on_epoch_end(self, epoch, &logs)? == Control::Stop;
            }
            if stop {
                break;
            }
        }
        for cb in callbacks.iter_mut() {
            cb.on_train_end(self)?;
        }
        Ok(history)
    }
}
