//! Command-line interface: one subcommand per file.

mod args;
mod data;
mod evaluate;
mod gradcheck;
mod predict;
mod run;
mod scratch;
mod summary;
mod sweep;
mod train;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
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
    }
}

/// Sizes the thread pools (rayon's and the GEMM's) once, before any work starts.
fn set_threads(threads: Option<usize>) -> Result<()> {
    let threads = match threads {
        Some(0) => return Err(nabla::Error::invalid("--threads must be at least 1")),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    nabla::set_num_threads(threads)
}
