//! `nabla run FILE`: run an experiment file (its base, or each of its variants) into a run
//! directory with the report.

use super::args::DataName;
use clap::{Args, ValueEnum};
use nabla::experiment::{run_file, ExperimentFile, FileRunOptions};
use nabla::report::RunStatus;
use nabla::train::{Stream, Verbosity};
use nabla::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use toml::Value;

/// The overrides `nabla run` and `nabla sweep` share.
#[derive(Args, Clone, Debug)]
pub struct FileArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// Use this dataset instead of the file's (e.g. mnist-sample to try a lab quickly).
    #[arg(long, value_enum)]
    pub data: Option<DataName>,
    /// Where the dataset's files are.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Train for this many epochs instead of the file's.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Seed of initial weights, shuffling and dropout instead of the file's.
    #[arg(long)]
    pub seed: Option<u32>,
    /// Use only this many training (and test) samples: a quick run.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Output directory (default: the file's [output] dir, else runs/<file name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads in all (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl FileArgs {
    /// Reads the file and applies the command line's overrides.
    pub fn load(&self) -> Result<ExperimentFile> {
        let mut file = ExperimentFile::read(&self.file)?;
        if let Some(data) = self.data {
            let name = data
                .to_possible_value()
                .expect("every data name has a flag value")
                .get_name()
                .to_string();
            file.override_setting("data.source", Value::String(name), "--data");
        }
        if let Some(dir) = &self.data_dir {
            let dir = dir.to_string_lossy().into_owned();
            file.override_setting("data.dir", Value::String(dir), "--data-dir");
        }
        if let Some(epochs) = self.epochs {
            file.override_setting("training.epochs", Value::Integer(epochs as i64), "--epochs");
        }
        if let Some(seed) = self.seed {
            file.override_setting("training.seed", Value::Integer(seed.into()), "--seed");
        }
        if let Some(limit) = self.limit {
            file.override_setting("data.limit", Value::Integer(limit as i64), "--limit");
        }
        Ok(file)
    }

    /// `--out`, else the file's `[output] dir`, else `runs/<file name><suffix>`.
    pub fn out_dir(&self, file: &ExperimentFile, suffix: &str) -> Result<PathBuf> {
        if let Some(out) = &self.out {
            return Ok(out.clone());
        }
        if let Some(dir) = file.base()?.output.dir {
            return Ok(dir);
        }
        let stem = self
            .file
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "experiment".into());
        Ok(Path::new("runs").join(format!("{stem}{suffix}")))
    }
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// One line per epoch instead of a live progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print one JSON object with every run's results on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let file = args.file.load()?;
    if file.sweep.is_some() {
        eprintln!(
            "note: {} has a [sweep]; `nabla run` runs its base settings once \
             (`nabla sweep` runs the grid)",
            args.file.file.display()
        );
    }
    let out = args.file.out_dir(&file, "")?;
    let options = FileRunOptions {
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
        interrupt: Some(nabla::run::install_signal_handler()?),
    };
    let results = super::with_threads(args.file.threads, || run_file(&file, &out, options))?;
    if results.is_empty() {
        return Err(Error::invalid("nothing to run"));
    }
    let interrupted = results
        .iter()
        .any(|(_, r)| r.info.status == RunStatus::Interrupted);
    if args.json {
        let runs: Vec<_> = results
            .iter()
            .map(|(name, r)| {
                let dir = if results.len() == 1 && file.variants.is_empty() {
                    out.clone()
                } else {
                    out.join(name)
                };
                json!({
                    "name": name,
                    "out": dir,
                    "status": r.info.status,
                    "params": r.params(),
                    "history": r.history,
                    "test_loss": r.metric("test_loss"),
                    "test_accuracy": r.metric("test_accuracy"),
                    "metrics": r.metrics,
                })
            })
            .collect();
        println!("{}", json!({ "out": out, "runs": runs }));
    } else {
        println!("Run directory: {} (report.html)", out.display());
    }
    Ok(if interrupted {
        ExitCode::from(nabla::run::EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}
