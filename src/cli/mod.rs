//! Command-line interface: one subcommand per file.

mod args;
mod data;
mod evaluate;
mod gradcheck;
mod predict;
mod report;
mod run;
mod run_dir;
mod scratch;
mod summary;
mod sweep;
mod train;

use clap::{ArgAction, CommandFactory, FromArgMatches, Parser, Subcommand};
use nabla::Result;

#[derive(Parser)]
#[command(
    name = "nabla",
    version,
    about = "Neural networks in Rust: train, inspect and evaluate Keras-style models"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model and report its test loss and accuracy.
    Train(train::TrainArgs),
    /// Run an experiment file (its settings, or each of its variants) into a run directory.
    Run(run::RunArgs),
    /// Run an experiment file's [sweep] grid x replicates, in parallel and resumably.
    Sweep(sweep::SweepArgs),
    /// Test loss and accuracy of a saved model.
    Evaluate(evaluate::EvaluateArgs),
    /// Class and probabilities for each image of IDX, CSV or PNG files, from a saved model.
    Predict(predict::PredictArgs),
    /// Print a model's summary (layers, output shapes, parameter counts) without training.
    Summary(summary::SummaryArgs),
    /// Check every parameter's gradient against finite differences (f64, random batch).
    Gradcheck(gradcheck::GradcheckArgs),
    /// The from-scratch 2-3-1 exercise: loss and gradients by hand and by autodiff.
    Scratch(scratch::ScratchArgs),
    /// Rebuild a run directory's plots and report.html from its files alone.
    Report(report::ReportArgs),
}

pub fn run() -> Result<()> {
    // The raw matches tell which flags were typed (not defaulted): `train --resume` needs that.
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match cli.command {
        Command::Train(args) => {
            let typed = matches
                .subcommand_matches("train")
                .expect("clap parsed the train subcommand");
            train::run(args, typed)
        }
        Command::Run(args) => run::run(args),
        Command::Sweep(args) => sweep::run(args),
        Command::Evaluate(args) => evaluate::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Summary(args) => summary::run(args),
        Command::Gradcheck(args) => gradcheck::run(args),
        Command::Scratch(args) => scratch::run(args),
        Command::Report(args) => report::run(args),
    }
}

/// Every flag of the running subcommand by its long name, with its value as given or
/// defaulted (`null` when unset without a default), for a run's `config.json`. The command
/// line is parsed again here, so flags added to any subcommand are recorded with no extra code.
pub(crate) fn resolved_flags() -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let mut flags = serde_json::Map::new();
    let mut command = Cli::command();
    let Ok(matches) = command.try_get_matches_from_mut(std::env::args_os()) else {
        return flags;
    };
    let Some((name, sub)) = matches.subcommand() else {
        return flags;
    };
    let Some(sub_command) = command.find_subcommand(name) else {
        return flags;
    };
    for arg in sub_command.get_arguments() {
        let id = arg.get_id().as_str();
        let key = arg.get_long().unwrap_or(id).to_string();
        let value = match arg.get_action() {
            ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version => {
                continue
            }
            ArgAction::SetTrue | ArgAction::SetFalse => sub
                .try_get_one::<bool>(id)
                .ok()
                .flatten()
                .map_or(Value::Null, |b| Value::Bool(*b)),
            _ => match sub.try_get_raw(id).ok().flatten() {
                None => Value::Null,
                Some(raw) => {
                    let mut values: Vec<Value> = raw
                        .map(|v| Value::String(v.to_string_lossy().into_owned()))
                        .collect();
                    if values.len() == 1 {
                        values.remove(0)
                    } else {
                        Value::Array(values)
                    }
                }
            },
        };
        flags.insert(key, value);
    }
    flags
}

/// Runs a command's work on a pool of `threads` workers (default: all cores).
///
/// The whole command runs inside the pool, not just beside it: rayon work started from a
/// thread outside the pool is handed over and waited for, which costs tens of microseconds
/// each time — more than a small model's entire training step.
fn with_threads<R: Send>(
    threads: Option<usize>,
    work: impl FnOnce() -> Result<R> + Send,
) -> Result<R> {
    let threads = match threads {
        Some(0) => return Err(nabla::Error::invalid("--threads must be at least 1")),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| nabla::Error::invalid(format!("cannot start {threads} threads: {e}")))?
        .install(work)
}
