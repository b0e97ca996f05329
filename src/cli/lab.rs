//! `nabla lab DIR`: run a notebook's lab folder (every experiment file in it, in name
//! order) into one directory with a page that puts the runs side by side.

use super::run::FileArgs;
use clap::Args;
use nabla::experiment::{lab_files, run_lab, FileRunOptions, LabFile, SweepOptions};
use nabla::report::RunStatus;
use nabla::train::{Stream, Verbosity};
use nabla::{Error, Result};
use std::path::Path;
use std::process::ExitCode;

#[derive(Args)]
pub struct LabArgs {
    /// The lab folder (e.g. labs/002_d50056cc170183d7), or the same overrides as `nabla
    /// run` applied to each of its files.
    #[command(flatten)]
    pub file: FileArgs,
    /// One line per epoch instead of a live progress bar.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(args: LabArgs) -> Result<ExitCode> {
    let folder = args.file.file.clone();
    if !folder.is_dir() {
        return Err(Error::invalid(format!(
            "{}: not a folder (`nabla lab` takes a lab folder; `nabla run` takes one file)",
            folder.display()
        )));
    }
    let name = folder
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "lab".into());
    let mut files = Vec::new();
    for path in lab_files(&folder)? {
        let one = FileArgs {
            file: path.clone(),
            ..args.file.clone()
        };
        files.push(LabFile {
            stem: stem(&path),
            file: one.load()?,
        });
    }
    let out = args
        .file
        .out
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(&name));
    let run_options = FileRunOptions {
        verbosity: if args.quiet {
            Verbosity::Lines
        } else {
            Verbosity::Bar
        },
        stream: Stream::Stdout,
        interrupt: Some(nabla::run::install_signal_handler()?),
    };
    let outcome = super::with_threads(args.file.threads, || {
        let threads = rayon::current_num_threads();
        let jobs = (threads / 2).max(1);
        let sweep_options = SweepOptions {
            jobs,
            threads_per_job: (threads / jobs).max(1),
            stream: Stream::Stdout,
        };
        run_lab(&name, &files, &out, run_options, sweep_options)
    })?;
    for f in &outcome.findings {
        println!("{}", f.text);
    }
    println!("Lab directory: {} (report.html)", out.display());
    let interrupted = outcome
        .runs
        .iter()
        .flat_map(|(_, records)| records)
        .any(|(_, r)| r.info.status == RunStatus::Interrupted);
    Ok(if interrupted {
        ExitCode::from(nabla::run::EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
