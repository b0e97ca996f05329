//! Command-line interface: one subcommand per file.

mod args;
mod convert;
mod data;
mod evaluate;
mod gradcheck;
mod lab;
mod predict;
mod report;
mod run;
mod scratch;
mod summary;
mod sweep;
mod train;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use nabla::Result;
use std::process::ExitCode;

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
    /// Run a notebook's lab folder (every experiment file in it) with one page across runs.
    Lab(lab::LabArgs),
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
    /// Convert a model file by extension: .safetensors, .keras, .h5 -> those, .weights.h5, .onnx.
    Convert(convert::ConvertArgs),
}

pub fn run() -> Result<ExitCode> {
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
        Command::Sweep(args) => sweep::run(args).map(done),
        Command::Lab(args) => lab::run(args),
        Command::Evaluate(args) => evaluate::run(args).map(done),
        Command::Predict(args) => predict::run(args).map(done),
        Command::Summary(args) => summary::run(args).map(done),
        Command::Gradcheck(args) => gradcheck::run(args).map(done),
        Command::Scratch(args) => scratch::run(args).map(done),
        Command::Report(args) => report::run(args).map(done),
        Command::Convert(args) => convert::run(args).map(done),
    }
}

fn done(_: ()) -> ExitCode {
    ExitCode::SUCCESS
}

/// `--threads`, checked: at least 1, and at most the machine's cores (more only adds
/// hand-overs between threads; a typo like 100000 would otherwise start that many). Default:
/// all cores.
fn thread_count(threads: Option<usize>) -> Result<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match threads {
        None => Ok(cores),
        Some(0) => Err(nabla::Error::invalid("--threads must be at least 1")),
        Some(n) if n > cores => {
            eprintln!("warning: --threads {n}: this machine has {cores} cores; using {cores}");
            Ok(cores)
        }
        Some(n) => Ok(n),
    }
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
    let threads = thread_count(threads)?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| nabla::Error::invalid(format!("cannot start {threads} threads: {e}")))?
        .install(work)
}
