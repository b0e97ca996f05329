//! [`run`]: one run from its [`RunSpec`] to its [`RunRecord`] and run directory — the same
//! steps whether `nabla train`, an experiment file, a variant or a sweep cell asked for it.
//!
//! Observation never changes the run: the gradient probe, batch gradients and diagnostics
//! use a copy of the random generator and leave batch-norm statistics and the optimizer
//! alone, so a run with every plot on trains to the same weights, bit for bit, as one with
//! none.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime};

use serde_json::json;

use super::clock;
use super::data_cache::DataCache;
use super::dir::RunDir;
use super::images::{
    data_look, first_rows, prediction_images, sample_images, spread_rows, PROBE_SAMPLES,
};
use super::probe::GradientRecorder;
use super::record::{GradientsFile, RunRecord};
use super::spec::{Plot, RunSpec};
use super::stages;
use crate::data::{Dataset, Splits};
use crate::error::{Error, Result};
use crate::report::files::{final_losses, CHECKPOINT, MODEL, SPEC, SUMMARY};
use crate::report::metrics::predicted_classes;
use crate::report::{DataFacts, Reloaded, RunInfo, RunMetrics, RunStatus};
use crate::train::{
    batch_gradients, Callback, CheckpointState, Checkpointer, Control, EpochLogs, EpochPosition,
    FitOptions, GradientMonitor, History, Sequential, Stream, Validation, Verbosity,
};

/// How to run: where the files go, how to talk, what to share with other runs.
pub struct RunOptions<'a> {
    /// The run directory; `None` writes nothing (the record still comes back).
    pub out: Option<PathBuf>,
    /// What asked for the run, recorded in `run.json`: `train`, `run`, `variant`, `cell`.
    pub kind: String,
    pub verbosity: Verbosity,
    pub stream: Stream,
    /// Data already loaded by other runs of this process.
    pub data: Option<&'a DataCache>,
    /// Set it (e.g. from [`super::install_signal_handler`]) to stop after the current batch
    /// with everything saved and the run marked `interrupted`.
    pub interrupt: Option<&'a AtomicBool>,
    /// Where to keep a checkpoint after every epoch (and at an interrupt). By default the
    /// run directory, whose checkpoint is removed once the run is complete; one kept
    /// elsewhere stays.
    pub checkpoint_dir: Option<PathBuf>,
    /// A checkpoint to continue (from `load_checkpoint`), with `checkpoint_dir` set to its
    /// directory.
    pub resume: Option<(Sequential<f32>, CheckpointState)>,
    /// More callbacks for `fit`, after the ones the spec asks for.
    pub callbacks: Vec<Box<dyn Callback<f32> + 'a>>,
    /// The command line, for `run.json`.
    pub argv: Vec<String>,
    /// Kept in the checkpoint beside the spec (the CLI's flags, to check a resume against).
    pub flags: serde_json::Value,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        RunOptions {
            out: None,
            kind: "run".into(),
            verbosity: Verbosity::Lines,
            stream: Stream::Stdout,
            data: None,
            interrupt: None,
            checkpoint_dir: None,
            resume: None,
            callbacks: Vec::new(),
            argv: Vec::new(),
            flags: serde_json::Value::Null,
        }
    }
}

/// A finished (or interrupted) run: its record and the trained model.
pub struct RunOutput {
    pub record: RunRecord,
    pub model: Sequential<f32>,
    /// The run directory, if one was written.
    pub out: Option<PathBuf>,
}

impl RunOutput {
    pub fn interrupted(&self) -> bool {
        self.record.info.status == RunStatus::Interrupted
    }
}

/// What a checkpoint of a run keeps beside the model, to resume it as it was.
pub fn checkpoint_settings(spec: &RunSpec, options: &RunOptions) -> serde_json::Value {
    json!({ "spec": spec, "flags": options.flags, "out": options.out })
}

/// Trains, evaluates and records `spec`. With `options.out`, the run directory is written as
/// the run goes (`run.json` says `running`, then `complete`, `interrupted` or `failed`).
pub fn run(spec: &RunSpec, mut options: RunOptions) -> Result<RunOutput> {
    let started = SystemTime::now();
    let clock_start = Instant::now();
    spec.check()
        .map_err(|(key, message)| Error::invalid(format!("{key}: {message}")))?;
    let own_cache;
    let cache = match options.data {
        Some(cache) => cache,
        None => {
            own_cache = DataCache::default();
            &own_cache
        }
    };
    let splits = cache.get(&spec.data)?;
    let (mut model, resumed) = match options.resume.take() {
        Some((model, state)) => (model, Some(state)),
        None => (build_model(spec, &splits.train)?, None),
    };
    let (verbosity, stream) = (options.verbosity, options.stream);
    let say = move |text: &str| match (verbosity, stream) {
        (Verbosity::Silent, _) => {}
        (_, Stream::Stdout) => print!("{text}"),
        (_, Stream::Stderr) => eprint!("{text}"),
    };
    let summary = model.summary();
    say(&summary);
    let untrained = resumed.is_none().then_some(&mut model);
    let look = data_look(&splits, spec.training.loss, untrained)?;
    say(&look.shape_lines());
    if let Some(sum) = look.first_output_sum {
        say(&format!(
            "Output: {sum:.2} (the untrained model's output on the first training sample, summed)\n"
        ));
    }
    if let Some(state) = &resumed {
        say(&format!(
            "Resuming after epoch {}/{}{}\n",
            state.epochs_done,
            spec.training.epochs,
            match &state.position {
                Some(p) => format!(", batch {}", p.batches_done),
                None => String::new(),
            }
        ));
    }
    let (trainable, frozen) = model.count_params();
    let mut info = RunInfo {
        status: RunStatus::Running,
        error: None,
        name: spec.name.clone(),
        description: spec.description.clone(),
        kind: options.kind.clone(),
        started: clock::iso(started),
        ended: None,
        seconds: 0.0,
        nabla_version: env!("CARGO_PKG_VERSION").into(),
        threads: rayon::current_num_threads(),
        host: hostname(),
        argv: options.argv.clone(),
        settings: spec.settings_diff(),
        plots: spec.output.plots.iter().map(|p| p.name().into()).collect(),
        epochs: spec.training.epochs,
        epochs_done: resumed.as_ref().map_or(0, |s| s.epochs_done),
        trainable_params: trainable,
        non_trainable_params: frozen,
        data: data_facts(spec, &splits),
        stages: Vec::new(),
    };
    let dir = options.out.as_ref().map(RunDir::create).transpose()?;
    let samples = sample_images(&splits.train);
    if let Some(dir) = &dir {
        let text = toml::to_string(spec)
            .map_err(|e| Error::invalid(format!("cannot write the resolved settings: {e}")))?;
        dir.write_text(SPEC, &text)?;
        dir.write_text(SUMMARY, &summary)?;
        dir.write_info(&info)?;
    }
    let outcome = train_and_record(
        spec,
        &mut options,
        &splits,
        &mut model,
        resumed,
        dir.as_ref(),
        &mut info,
    );
    info.seconds = clock_start.elapsed().as_secs_f64();
    info.ended = Some(clock::iso(SystemTime::now()));
    let (history, gradients, metrics, predictions) = match outcome {
        Ok(parts) => parts,
        Err(error) => {
            info.status = RunStatus::Failed;
            info.error = Some(error.to_string());
            if let Some(dir) = &dir {
                // The error matters more than a second one while saying so.
                let _ = dir.write_info(&info);
            }
            return Err(error);
        }
    };
    info.epochs_done = history.epochs();
    let record = RunRecord {
        info,
        spec: spec.clone(),
        summary,
        history,
        metrics,
        gradients,
        predictions,
        samples,
        data: Some(look),
    };
    if let Some(dir) = &dir {
        dir.write(&record)?;
        if spec.output.report {
            crate::report::render(dir.path())?;
        }
        // The run directory's own checkpoint (also when a resume pointed at it) goes once
        // the run is complete; one kept elsewhere on request stays.
        let implicit_checkpoint = options
            .checkpoint_dir
            .as_ref()
            .is_none_or(|c| same_dir(c, dir.path()));
        if record.info.status == RunStatus::Complete && implicit_checkpoint {
            let _ = std::fs::remove_file(dir.path().join(CHECKPOINT));
        }
        match record.info.status {
            RunStatus::Interrupted => say(&format!(
                "\nInterrupted: run saved to {}; continue it with `nabla train --resume {0}`\n",
                dir.path().display()
            )),
            _ => say(&format!(
                "\nRun saved to {} (open {})\n",
                dir.path().display(),
                dir.path().join(crate::report::files::REPORT).display()
            )),
        }
    } else if record.info.status == RunStatus::Interrupted {
        match &options.checkpoint_dir {
            Some(c) => say(&format!(
                "\nInterrupted: continue with `nabla train --resume {}`\n",
                c.display()
            )),
            None => say("\nInterrupted: no run directory or checkpoint was asked for.\n"),
        }
    }
    Ok(RunOutput {
        record,
        model,
        out: dir.map(|d| d.path().to_path_buf()),
    })
}

type Parts = (
    History,
    GradientsFile,
    Option<RunMetrics>,
    Option<crate::report::ImageSet>,
);

/// Fit (with probes, callbacks and checkpoints), then evaluate and save: everything that can
/// fail once the run directory exists.
fn train_and_record(
    spec: &RunSpec,
    options: &mut RunOptions,
    splits: &Splits,
    model: &mut Sequential<f32>,
    resumed: Option<CheckpointState>,
    dir: Option<&RunDir>,
    info: &mut RunInfo,
) -> Result<Parts> {
    let train = &splits.train;
    let test = &splits.test;
    let t = &spec.training;
    let (probe_x, probe_y) = spread_rows(train, PROBE_SAMPLES);
    let mut recorder = spec
        .output
        .wants(Plot::Gradients)
        .then(|| GradientRecorder::new(probe_x.clone(), probe_y.clone()));
    let mut monitor = spec
        .output
        .diagnostics
        .then(|| GradientMonitor::new().probe(probe_x.clone()));
    let mut from_spec = t.callbacks.build(dir.map(RunDir::path))?;
    let (earlier, position) = match &resumed {
        Some(state) => (state.history.clone(), state.position.clone()),
        None => (History::default(), None),
    };
    let initial_epoch = earlier.epochs();
    let checkpoint_dir = options
        .checkpoint_dir
        .clone()
        .or_else(|| dir.map(|d| d.path().to_path_buf()));
    let mut checkpointer = match (resumed, &checkpoint_dir) {
        (Some(state), Some(d)) => Some(Checkpointer::resume(d, state)),
        (None, Some(d)) => Some(Checkpointer::new(d, checkpoint_settings(spec, options))?),
        (_, None) => None,
    };
    let mut tensorboard = match (&spec.output, dir) {
        (o, _) if !o.tensorboard && o.tensorboard_dir.is_none() => None,
        (o, dir) => {
            let logs = o
                .tensorboard_dir
                .clone()
                .or_else(|| dir.map(|d| d.path().join("logs")))
                .ok_or_else(|| {
                    Error::invalid(
                        "output.tensorboard: give tensorboard_dir, or a run directory for logs/",
                    )
                })?;
            let board = crate::io::tensorboard::TensorBoard::new(logs);
            Some(match o.diagnostics {
                true => board.gradient_norms(&probe_x, &probe_y),
                false => board,
            })
        }
    };
    let mut journal = dir.map(|d| Journal {
        dir: d.clone(),
        info: info.clone(),
        history: earlier.clone(),
    });
    let mut stopped = InterruptSeen(false);
    let mut callbacks: Vec<&mut dyn Callback<f32>> = Vec::new();
    if let Some(r) = recorder.as_mut() {
        callbacks.push(r);
    }
    if let Some(m) = monitor.as_mut() {
        callbacks.push(m);
    }
    for c in from_spec.iter_mut() {
        callbacks.push(c.as_mut());
    }
    if let Some(t) = tensorboard.as_mut() {
        callbacks.push(t);
    }
    for c in options.callbacks.iter_mut() {
        callbacks.push(c.as_mut());
    }
    if let Some(j) = journal.as_mut() {
        callbacks.push(j);
    }
    if let Some(c) = checkpointer.as_mut() {
        callbacks.push(c);
    }
    callbacks.push(&mut stopped);
    let fit = |epochs| FitOptions {
        epochs,
        batch_size: t.batch_size,
        validation: Validation::Data(splits.validation_or_test()),
        shuffle: t.shuffle,
        verbosity: options.verbosity,
        stream: options.stream,
        initial_epoch,
        resume_from: position.clone(),
        interrupt: options.interrupt,
    };
    let later = match t.resolved_stages() {
        None => model.fit_with_callbacks(train, fit(t.epochs), &mut callbacks)?,
        Some(stages) => stages::fit(
            model,
            train,
            &stages,
            initial_epoch,
            fit,
            &mut callbacks,
            info,
        )?,
    };
    drop(callbacks);
    let mut history = earlier;
    history.extend(&later);
    say(
        options,
        &final_losses(
            history.loss.last().copied(),
            history.val_loss.last().copied(),
        ),
    );
    let gradients = GradientsFile {
        batch: None,
        probe: recorder.map(|r| r.log),
        training: monitor.map(GradientMonitor::into_record),
    };
    if stopped.0 {
        info.status = RunStatus::Interrupted;
        return Ok((history, gradients, None, None));
    }

    let evaluation = model.evaluate(test)?;
    let scores = model.predict(test)?;
    let y_true: Vec<usize> = test.labels.iter().map(|&l| l as usize).collect();
    let mut metrics = RunMetrics::new(
        &y_true,
        scores.data(),
        &test.class_names,
        evaluation.loss,
        evaluation.accuracy,
    )?;
    let predicted = predicted_classes(scores.data(), test.num_classes)?;
    let predictions = prediction_images(test, &predicted);
    let (batch_x, batch_y) = match spec.output.gradients_first {
        Some(n) => first_rows(train, n),
        None => (probe_x, probe_y),
    };
    let gradients = GradientsFile {
        batch: Some(batch_gradients(model, batch_x, batch_y)?),
        ..gradients
    };
    let say = |text: &str| say(options, text);
    say(&format!(
        "Test loss: {:.4} - Test accuracy: {:.4}\n",
        evaluation.loss, evaluation.accuracy
    ));
    say(&metrics.text()?);
    if let Some(path) = &spec.output.model_file {
        model.save(path)?;
        say(&format!("Saved the model to {}\n", path.display()));
    }
    if let (Some(dir), true) = (dir, spec.output.save_model || spec.output.reload) {
        let name = spec.output.save_as.as_deref().unwrap_or(MODEL);
        let path = dir.path().join(name);
        model.save(&path)?;
        if spec.output.reload {
            let mut again = Sequential::<f32>::load(&path)?;
            let e = again.evaluate(test)?;
            let identical = e.loss == evaluation.loss && e.accuracy == evaluation.accuracy;
            if !identical {
                return Err(Error::invalid(format!(
                    "{}: the reloaded model evaluates differently (loss {} vs {})",
                    path.display(),
                    e.loss,
                    evaluation.loss
                )));
            }
            metrics.reloaded = Some(Reloaded {
                file: name.into(),
                test_loss: e.loss,
                test_accuracy: e.accuracy,
                identical,
            });
        }
    }
    info.status = RunStatus::Complete;
    Ok((history, gradients, Some(metrics), predictions))
}

/// Prints `text` unless silent, on the stream asked for.
fn say(options: &RunOptions, text: &str) {
    match (options.verbosity, options.stream) {
        (Verbosity::Silent, _) => {}
        (_, Stream::Stdout) => print!("{text}"),
        (_, Stream::Stderr) => eprint!("{text}"),
    }
}

/// A trained model's test metrics: loss and accuracy as `evaluate` gives them, with the
/// confusion matrix and classification report of its predictions.
pub fn test_metrics(model: &mut Sequential<f32>, test: &Dataset) -> Result<RunMetrics> {
    Ok(timed_test_metrics(model, test, crate::train::INFERENCE_BATCH)?.0)
}

/// [`test_metrics`] in batches of `batch_size`, with the seconds its predict pass took.
/// That pass runs after the evaluation pass has sized every buffer, so it is a warm
/// in-process predict, as benchmarks time other frameworks' (`benches/compare_pytorch.py`).
pub fn timed_test_metrics(
    model: &mut Sequential<f32>,
    test: &Dataset,
    batch_size: usize,
) -> Result<(RunMetrics, f64)> {
    let evaluation = model.evaluate_in_batches(test, batch_size)?;
    let start = std::time::Instant::now();
    let scores = model.predict_in_batches(test, batch_size)?;
    let predict_seconds = start.elapsed().as_secs_f64();
    let y_true: Vec<usize> = test.labels.iter().map(|&l| l as usize).collect();
    let metrics = RunMetrics::new(
        &y_true,
        scores.data(),
        &test.class_names,
        evaluation.loss,
        evaluation.accuracy,
    )?;
    Ok((metrics, predict_seconds))
}

fn build_model(spec: &RunSpec, train: &Dataset) -> Result<Sequential<f32>> {
    if let Some(path) = &spec.model.from {
        let mut model = Sequential::<f32>::load(path)?;
        model.compile(spec.training.optimizer.clone(), spec.training.loss)?;
        return Ok(model);
    }
    let shape = spec
        .input_shape()
        .unwrap_or_else(|| train.sample_shape.clone());
    let layers = spec.model.layer_configs()?;
    let mut model = Sequential::<f32>::from_configs(&shape, &layers, spec.training.seed)?;
    model.compile(spec.training.optimizer.clone(), spec.training.loss)?;
    Ok(model)
}

fn data_facts(spec: &RunSpec, splits: &Splits) -> DataFacts {
    DataFacts {
        source: spec.data.source.name().into(),
        sample_shape: splits.train.sample_shape.clone(),
        class_names: splits.train.class_names.clone(),
        train_samples: splits.train.len(),
        validation_samples: splits.validation_or_test().len(),
        test_samples: splits.test.len(),
        validation_is_test: splits.validation.is_none(),
    }
}

fn same_dir(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Keeps `history.csv` and `run.json` current after every epoch, so a run killed at any
/// moment still shows how far it got.
struct Journal {
    dir: RunDir,
    info: RunInfo,
    history: History,
}

impl Callback<f32> for Journal {
    fn on_epoch_end(
        &mut self,
        _model: &mut Sequential<f32>,
        _epoch: usize,
        logs: &EpochLogs,
    ) -> Result<Control> {
        self.history.push(logs);
        self.info.epochs_done = self.history.epochs();
        self.info.seconds += logs.seconds;
        self.dir
            .write_text(crate::report::files::HISTORY, &self.history.to_csv())?;
        self.dir.write_info(&self.info)?;
        Ok(Control::Continue)
    }
}

/// Notes that `fit` stopped for an interrupt.
struct InterruptSeen(bool);

impl Callback<f32> for InterruptSeen {
    fn on_interrupt(&mut self, _model: &mut Sequential<f32>, _p: &EpochPosition) -> Result<()> {
        self.0 = true;
        Ok(())
    }
}
