//! `nabla train`: build, compile and fit a model, then evaluate it on the test set.
//!
//! With `--checkpoint-dir DIR` the run is checkpointed after every epoch; `--resume DIR`
//! continues it from there with the flags recorded in the checkpoint, ending with the same
//! weights and history as a run never interrupted.

use super::args::{DataArgs, ModelArgs};
use super::data;
use super::run_dir::{Recorder, RunArgs};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use nabla::nn::{Loss, OptimizerConfig};
use nabla::train::checkpoint::checkpoint_path;
use nabla::train::{
    load_checkpoint, CheckpointState, Checkpointer, FitOptions, History, Sequential, Stream,
    Validation, Verbosity, MAX_BATCH_SIZE,
};
use nabla::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub run: RunArgs,
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
    /// Keep the last finished epoch's checkpoint (model, optimizer, RNG, history) in DIR.
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue the interrupted run checkpointed in DIR, with the flags it recorded (a
    /// different value for one of them is an error; only --epochs may be raised).
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

    fn apply(&self, args: &mut TrainArgs) -> Result<()> {
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
        Ok(())
    }
}

pub fn run(mut args: TrainArgs, typed: &ArgMatches) -> Result<()> {
    let resumed = match args.resume.clone() {
        Some(dir) => Some((dir.clone(), resume(&dir, &mut args, typed)?)),
        None => None,
    };
    if args.batch_size == 0 || args.batch_size > MAX_BATCH_SIZE {
        return Err(Error::invalid(format!(
            "--batch-size {} is out of range (1..={MAX_BATCH_SIZE})",
            args.batch_size
        )));
    }
    if args.epochs == 0 {
        return Err(Error::invalid("--epochs must be at least 1"));
    }
    super::with_threads(args.threads, move || train(args, resumed))
}

/// The run itself, inside the thread pool.
fn train(
    args: TrainArgs,
    resumed: Option<(PathBuf, (Sequential<f32>, CheckpointState))>,
) -> Result<()> {
    let loss = Loss::parse(&args.loss).map_err(|e| Error::invalid(format!("--loss: {e}")))?;
    let optimizer = OptimizerConfig::parse(&args.optimizer, args.lr, args.momentum)
        .map_err(|e| Error::invalid(format!("--optimizer: {e}")))?;
    let data::Splits {
        train,
        validation,
        test,
    } = data::load(&args.data)?;

    let stream = if args.json {
        Stream::Stderr
    } else {
        Stream::Stdout
    };
    let say = |text: &str| match stream {
        Stream::Stdout => print!("{text}"),
        Stream::Stderr => eprint!("{text}"),
    };

    let (mut model, mut checkpointer) = match resumed {
        Some((dir, (model, state))) => {
            say(&format!(
                "Resuming {} after epoch {}/{}\n",
                dir.display(),
                state.epochs_done,
                args.epochs
            ));
            (model, Some(Checkpointer::resume(&dir, state)))
        }
        None => {
            let layers = args.model.layers(&train.sample_shape, train.num_classes)?;
            let mut model =
                Sequential::<f32>::from_configs(&train.sample_shape, &layers, args.seed)?;
            model.compile(optimizer, loss)?;
            let checkpointer = match &args.checkpoint_dir {
                Some(dir) => Some(start_checkpoints(dir, &args)?),
                None => None,
            };
            (model, checkpointer)
        }
    };
    say(&model.summary());
    let mut recorder = Recorder::start(&args, &model, &train, validation.as_ref(), &test, stream)?;

    let done = checkpointer.as_ref().map_or(0, |c| c.state().epochs_done);
    let mut callbacks = recorder.callbacks();
    if let Some(c) = checkpointer.as_mut() {
        callbacks.push(c);
    }
    let new_epochs = model.fit_with_callbacks(
        &train,
        FitOptions {
            epochs: args.epochs,
            batch_size: args.batch_size,
            validation: Validation::Data(validation.as_ref().unwrap_or(&test)),
            verbosity: if args.quiet {
                Verbosity::Lines
            } else {
                Verbosity::Bar
            },
            stream,
            initial_epoch: done,
            ..FitOptions::default()
        },
        &mut callbacks,
    )?;
    let history: History = match &checkpointer {
        Some(c) => c.state().history.clone(),
        None => new_epochs,
    };
    let result = model.evaluate(&test)?;
    say(&format!(
        "Test loss: {:.4} - Test accuracy: {:.4}\n",
        result.loss, result.accuracy
    ));
    // Saved before the report's one-batch gradients, which run in training mode.
    if let Some(path) = &args.save {
        model.save(path)?;
        say(&format!("Saved the model to {}\n", path.display()));
    }
    let finished = recorder.finish(&mut model, &history, &train, &test, result)?;
    if args.json {
        let (trainable, frozen) = model.count_params();
        let report = json!({
            "params": trainable + frozen,
            "trainable_params": trainable,
            "non_trainable_params": frozen,
            "history": history,
            "test_loss": result.loss,
            "test_accuracy": result.accuracy,
            "saved_model": args.save,
            "metrics": finished.metrics_json(),
            "out": finished.out_json(),
        });
        println!("{report}");
    }
    Ok(())
}

/// A fresh run's checkpointer; refuses a directory that already holds a checkpoint, so a
/// finished or interrupted run is never overwritten by mistake.
fn start_checkpoints(dir: &Path, args: &TrainArgs) -> Result<Checkpointer> {
    if checkpoint_path(dir).exists() {
        return Err(Error::invalid(format!(
            "{} already holds a checkpoint: continue it with --resume {0}, or choose another \
             --checkpoint-dir",
            dir.display()
        )));
    }
    let settings = serde_json::to_value(RunSettings::of(args))
        .map_err(|e| Error::invalid(format!("cannot record the flags: {e}")))?;
    Checkpointer::new(dir, settings)
}

/// Loads `dir`'s checkpoint and takes its recorded flags into `args`; a flag typed on this
/// command line with another value than the recorded one is an error naming both.
fn resume(
    dir: &Path,
    args: &mut TrainArgs,
    typed: &ArgMatches,
) -> Result<(Sequential<f32>, CheckpointState)> {
    let (model, state) = load_checkpoint::<f32>(dir)?;
    let path = checkpoint_path(dir);
    let recorded: RunSettings = serde_json::from_value(state.settings.clone())
        .map_err(|e| Error::format(&path, format!("the recorded flags cannot be read: {e}")))?;
    let recorded_json = serde_json::to_value(&recorded).expect("plain data");
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
    let epochs_typed = typed.value_source("epochs") == Some(ValueSource::CommandLine);
    let epochs = if epochs_typed {
        args.epochs
    } else {
        recorded.epochs
    };
    recorded.apply(args)?;
    if epochs < state.epochs_done {
        return Err(Error::invalid(format!(
            "--epochs {epochs}: the checkpoint in {} has already finished {} epochs",
            dir.display(),
            state.epochs_done
        )));
    }
    args.epochs = epochs;
    let mut state = state;
    state.settings["epochs"] = epochs.into();
    Ok((model, state))
}
