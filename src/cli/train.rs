//! `nabla train`: the flags become a [`RunSpec`], and the library's run pipeline trains,
//! evaluates and records it, exactly as it runs an experiment file.
//!
//! Every run checkpoints into its run directory (or `--checkpoint-dir DIR`) after each epoch
//! and at Ctrl-C; `--resume DIR` continues it with the settings recorded there, ending with
//! the same weights and history as a run never interrupted.

use super::args::{DataArgs, ModelArgs};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, ValueEnum};
use nabla::nn::{Loss, OptimizerConfig};
use nabla::run::{
    install_signal_handler, run as run_spec, utc_stamp, DataCache, ModelSpec, OutputSpec, Plot,
    RunOptions, RunSpec, TrainingSpec,
};
use nabla::train::checkpoint::checkpoint_path;
use nabla::train::{
    load_checkpoint, CheckpointState, Sequential, Stream, Verbosity, MAX_BATCH_SIZE,
};
use nabla::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

/// Where a run's files go.
#[derive(Args, Clone, Debug)]
pub struct OutArgs {
    /// Directory for the run's files: run.json, experiment.toml, history.csv, metrics.json,
    /// plots (PNG + SVG) and report.html [default: runs/<model>-<data>-<YYYYmmdd-HHMMSS> (UTC)].
    #[arg(long, conflicts_with = "no_out")]
    pub out: Option<PathBuf>,
    /// Write no run directory (metrics are still printed).
    #[arg(long)]
    pub no_out: bool,
    /// Record per-epoch gradient mean/std/norm and dead ReLUs (gradients.json, plots) and
    /// warn when a layer's gradients vanish or explode.
    #[arg(long)]
    pub diagnostics: bool,
    /// Write TensorBoard event files into DIR (`tensorboard --logdir DIR` shows them):
    /// per-epoch loss, accuracy and learning rate, and with --diagnostics gradient norms.
    #[arg(long, value_name = "DIR")]
    pub tensorboard: Option<PathBuf>,
}

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub run: OutArgs,
    /// Optimizer: adam, sgd or rmsprop.
    #[arg(long, default_value = "adam")]
    pub optimizer: String,
    /// Learning rate (Keras's default for the optimizer if not given: 0.001, or 0.01 for sgd).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Momentum for sgd and rmsprop.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f64,
    /// Loss: categorical_crossentropy or mse (also sparse_categorical_crossentropy).
    #[arg(long, default_value = "categorical_crossentropy")]
    pub loss: String,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Seed for initial weights, shuffling and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// One line per epoch instead of a live progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print one JSON object with the results on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Save the trained model to this file (safetensors with the architecture in its header).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Keep the last finished epoch's checkpoint (model, optimizer, RNG, history) in DIR
    /// (by default it lives in the run directory until the run is complete).
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue the interrupted run in DIR (a run directory, or a --checkpoint-dir), with the
    /// settings it recorded (a different value for one of them is an error; only --epochs may
    /// be raised).
    #[arg(long, value_name = "DIR", conflicts_with = "checkpoint_dir")]
    pub resume: Option<PathBuf>,
}

/// The flags that decide a run's numbers, recorded in its checkpoint. Field names are the
/// clap ids of the flags, so a conflicting flag on `--resume` can be named.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunSettings {
    #[serde(flatten)]
    data: DataArgs,
    #[serde(flatten)]
    model: ModelArgs,
    optimizer: String,
    lr: Option<f64>,
    momentum: f64,
    loss: String,
    epochs: usize,
    batch_size: usize,
    seed: u32,
    threads: Option<usize>,
}

impl RunSettings {
    fn of(args: &TrainArgs) -> Self {
        RunSettings {
            data: args.data.clone(),
            model: args.model.clone(),
            optimizer: args.optimizer.clone(),
            lr: args.lr,
            momentum: args.momentum,
            loss: args.loss.clone(),
            epochs: args.epochs,
            batch_size: args.batch_size,
            seed: args.seed,
            threads: args.threads,
        }
    }

    fn apply(&self, args: &mut TrainArgs) {
        args.data = self.data.clone();
        args.model = self.model.clone();
        args.optimizer = self.optimizer.clone();
        args.lr = self.lr;
        args.momentum = self.momentum;
        args.loss = self.loss.clone();
        args.epochs = self.epochs;
        args.batch_size = self.batch_size;
        args.seed = self.seed;
        args.threads = self.threads;
    }
}

pub fn run(mut args: TrainArgs, typed: &ArgMatches) -> Result<ExitCode> {
    let resumed = match args.resume.clone() {
        Some(dir) => Some(resume(&dir, &mut args, typed)?),
        None => None,
    };
    super::with_threads(args.threads, move || train(args, resumed))
}

/// A checkpoint being continued: the model, where it stood, and its settings.
struct Resumed {
    dir: PathBuf,
    model: Sequential<f32>,
    state: CheckpointState,
    spec: RunSpec,
    out: Option<PathBuf>,
}

/// The flags as a run specification: the same thing an experiment file describes.
/// The data is loaded here (into `cache`, where the run finds it again): the model's input
/// and output sizes come from it.
fn spec_of(args: &TrainArgs, cache: &DataCache) -> Result<RunSpec> {
    let loss = Loss::parse(&args.loss).map_err(|e| Error::invalid(format!("--loss: {e}")))?;
    let optimizer = OptimizerConfig::parse(&args.optimizer, args.lr, args.momentum)
        .map_err(|e| Error::invalid(format!("--optimizer: {e}")))?;
    check_training_flags(args)?;
    let data = args.data.to_config()?;
    let splits = cache.get(&data).map_err(super::data::flag_error)?;
    let layers = args
        .model
        .layers(&splits.train.sample_shape, splits.train.num_classes)?;
    let spec = RunSpec {
        name: format!(
            "{}-{}",
            value_name(&args.model.model),
            value_name(&args.data.data)
        ),
        description: String::new(),
        data,
        model: ModelSpec {
            input_shape: None,
            l2: None,
            from: None,
            l2_layers: None,
            layers,
        },
        training: TrainingSpec {
            optimizer,
            loss,
            epochs: args.epochs,
            batch_size: args.batch_size,
            seed: args.seed,
            ..TrainingSpec::default()
        },
        output: OutputSpec {
            plots: Plot::ALL.to_vec(),
            model_file: args.save.clone(),
            diagnostics: args.run.diagnostics,
            tensorboard: args.run.tensorboard.is_some(),
            tensorboard_dir: args.run.tensorboard.clone(),
            ..OutputSpec::default()
        },
    };
    spec.check()
        .map_err(|(key, message)| Error::invalid(format!("{key}: {message}")))?;
    Ok(spec)
}

/// The flags' ranges, checked before any data is read.
fn check_training_flags(args: &TrainArgs) -> Result<()> {
    if args.batch_size == 0 || args.batch_size > MAX_BATCH_SIZE {
        return Err(Error::invalid(format!(
            "--batch-size {} is out of range (1..={MAX_BATCH_SIZE})",
            args.batch_size
        )));
    }
    if args.epochs == 0 {
        return Err(Error::invalid("--epochs must be at least 1"));
    }
    Ok(())
}

/// The run itself, inside the thread pool.
fn train(args: TrainArgs, resumed: Option<Resumed>) -> Result<ExitCode> {
    let cache = DataCache::default();
    let (spec, out, checkpoint_dir, resume) = match resumed {
        Some(r) => {
            let out = if args.run.no_out {
                None
            } else {
                args.run.out.clone().or(r.out)
            };
            (r.spec, out, Some(r.dir), Some((r.model, r.state)))
        }
        None => {
            let spec = spec_of(&args, &cache)?;
            if let Some(dir) = &args.checkpoint_dir {
                refuse_existing_checkpoint(dir)?;
            }
            let out = match (&args.run.out, args.run.no_out) {
                (_, true) => None,
                (Some(out), false) => Some(out.clone()),
                (None, false) => Some(default_out(&args)?),
            };
            (spec, out, args.checkpoint_dir.clone(), None)
        }
    };
    let flags = serde_json::to_value(RunSettings::of(&args)).expect("plain data");
    let output = run_spec(
        &spec,
        RunOptions {
            out,
            kind: "train".into(),
            verbosity: if args.quiet {
                Verbosity::Lines
            } else {
                Verbosity::Bar
            },
            stream: if args.json {
                Stream::Stderr
            } else {
                Stream::Stdout
            },
            data: Some(&cache),
            interrupt: Some(install_signal_handler()?),
            checkpoint_dir,
            resume,
            argv: std::env::args().collect(),
            flags,
            ..RunOptions::default()
        },
    )?;
    let record = &output.record;
    if args.json {
        let report = json!({
            "status": record.info.status,
            "params": record.params(),
            "trainable_params": record.info.trainable_params,
            "non_trainable_params": record.info.non_trainable_params,
            "history": record.history,
            "test_loss": record.metric("test_loss"),
            "test_accuracy": record.metric("test_accuracy"),
            "saved_model": spec.output.model_file,
            "metrics": record.metrics,
            "out": output.out,
        });
        println!("{report}");
    }
    Ok(if output.interrupted() {
        ExitCode::from(nabla::run::EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// `runs/<model>-<data>-<YYYYmmdd-HHMMSS>`, made unique.
fn default_out(args: &TrainArgs) -> Result<PathBuf> {
    let name = format!(
        "{}-{}-{}",
        value_name(&args.model.model),
        value_name(&args.data.data),
        utc_stamp(SystemTime::now())
    );
    Ok(nabla::run::RunDir::create_new(Path::new("runs"), &name)?
        .path()
        .to_path_buf())
}

/// The name clap shows for an enum value (`mnist-sample`, `mlp`).
fn value_name<E: ValueEnum>(value: &E) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// A fresh run never overwrites a checkpoint: a finished or interrupted run is continued
/// with --resume, not started over by mistake.
fn refuse_existing_checkpoint(dir: &Path) -> Result<()> {
    if checkpoint_path(dir).exists() {
        return Err(Error::invalid(format!(
            "{} already holds a checkpoint: continue it with --resume {0}, or choose another \
             --checkpoint-dir",
            dir.display()
        )));
    }
    Ok(())
}

/// Loads `dir`'s checkpoint (a run directory's or a --checkpoint-dir's) and its recorded
/// settings; a flag typed on this command line with another value than the recorded one is
/// an error naming both.
fn resume(dir: &Path, args: &mut TrainArgs, typed: &ArgMatches) -> Result<Resumed> {
    let (model, mut state) = load_checkpoint::<f32>(dir)?;
    let path = checkpoint_path(dir);
    let bad = |e: serde_json::Error| {
        Error::format(&path, format!("the recorded settings cannot be read: {e}"))
    };
    let mut spec: RunSpec = serde_json::from_value(state.settings["spec"].clone()).map_err(bad)?;
    let recorded_out: Option<PathBuf> =
        serde_json::from_value(state.settings["out"].clone()).map_err(bad)?;
    let epochs_typed = typed.value_source("epochs") == Some(ValueSource::CommandLine);
    if !state.settings["flags"].is_null() {
        let recorded: RunSettings =
            serde_json::from_value(state.settings["flags"].clone()).map_err(bad)?;
        check_flags(&recorded, args, typed, &path)?;
        recorded.apply(args);
    }
    if epochs_typed {
        if args.epochs < state.epochs_done {
            return Err(Error::invalid(format!(
                "--epochs {}: the checkpoint in {} has already finished {} epochs",
                args.epochs,
                dir.display(),
                state.epochs_done
            )));
        }
        spec.training.epochs = args.epochs;
    }
    args.epochs = spec.training.epochs;
    if typed.value_source("save") == Some(ValueSource::CommandLine) {
        spec.output.model_file = args.save.clone();
    }
    state.settings["spec"] = serde_json::to_value(&spec).expect("specs serialize");
    // A run directory's own checkpoint: the resumed run goes on writing there.
    let out = if dir.join(nabla::report::files::RUN).is_file() {
        Some(dir.to_path_buf())
    } else {
        recorded_out
    };
    Ok(Resumed {
        dir: dir.to_path_buf(),
        model,
        state,
        spec,
        out,
    })
}

fn check_flags(
    recorded: &RunSettings,
    args: &TrainArgs,
    typed: &ArgMatches,
    path: &Path,
) -> Result<()> {
    let recorded_json = serde_json::to_value(recorded).expect("plain data");
    let given_json = serde_json::to_value(RunSettings::of(args)).expect("plain data");
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "the default".to_string(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (id, recorded_value) in recorded_json.as_object().expect("a struct") {
        // More epochs only lengthens the run (Keras: fit again with initial_epoch).
        if id == "epochs" {
            continue;
        }
        let typed_here = typed.value_source(id) == Some(ValueSource::CommandLine);
        let given_value = &given_json[id.as_str()];
        if typed_here && given_value != recorded_value {
            return Err(Error::invalid(format!(
                "--{} {} conflicts with {} recorded in {}: resume with the same flags as the \
                 interrupted run, or none of them",
                id.replace('_', "-"),
                show(given_value),
                show(recorded_value),
                path.display()
            )));
        }
    }
    Ok(())
}
