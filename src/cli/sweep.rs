//! `nabla sweep FILE`: run an experiment file's `[sweep]` grid × replicates, several cells at
//! a time, resumably, and summarise it.

use super::run::FileArgs;
use clap::Args;
use nabla::experiment::{run_sweep, SweepOptions};
use nabla::train::Stream;
use nabla::{Error, Result};

#[derive(Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Cells trained at the same time (default: one per 2 threads of the budget, at least 1).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Print one JSON object with the summary and every cell's numbers on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: SweepArgs) -> Result<()> {
    let file = args.file.load()?;
    let out = args.file.out_dir(&file, "-sweep")?;
    let threads = super::thread_count(args.file.threads)?;
    let jobs = match args.jobs {
        Some(0) => return Err(Error::invalid("--jobs must be at least 1")),
        Some(j) => j.min(threads),
        None => (threads / 2).max(1),
    };
    let threads_per_job = (threads / jobs).max(1);
    // The GEMM's threads follow this setting; each job's rayon work runs in its own pool.
    nabla::set_num_threads(threads_per_job)?;
    let outcome = run_sweep(
        &file,
        &out,
        SweepOptions {
            jobs,
            threads_per_job,
            stream: if args.json {
                Stream::Stderr
            } else {
                Stream::Stdout
            },
        },
    )?;
    if args.json {
        let cells: Vec<_> = outcome
            .records
            .iter()
            .map(|c| {
                serde_json::json!({
                    "id": c.id,
                    "point": c.point,
                    "replicate": c.replicate,
                    "seed": c.seed,
                    "settings": c.settings,
                    "status": c.result.info.status,
                    "history": c.result.history,
                    "test_loss": c.result.metric("test_loss"),
                    "test_accuracy": c.result.metric("test_accuracy"),
                })
            })
            .collect();
        let report = serde_json::json!({
            "out": out,
            "computed": outcome.computed,
            "reused": outcome.reused,
            "summary": outcome.summary,
            "cells": cells,
        });
        println!("{report}");
        return Ok(());
    }
    println!(
        "Sweep directory: {} ({} cells computed, {} reused; summary.csv, report.html)",
        out.display(),
        outcome.computed.len(),
        outcome.reused.len()
    );
    Ok(())
}
