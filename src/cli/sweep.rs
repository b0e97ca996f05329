//! `nabla sweep FILE`: run an experiment file's `[sweep]` grid × replicates, several cells at
//! a time, resumably, and summarise it; or one part of that on a cluster: `--plan`,
//! `--cell N`, `--worker`, `--merge`, `--slurm [--submit]`, `--k8s-job`.

use super::run::FileArgs;
use clap::{Args, ValueEnum};
use nabla::experiment::sweep::{
    index_from_env, indexed_job, run_cell, run_merge, run_worker, slurm, K8sOptions, Plan,
    SharedOptions, SlurmOptions, DEFAULT_CLAIM_TIMEOUT,
};
use nabla::experiment::{run_sweep, SweepOptions};
use nabla::train::Stream;
use nabla::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub file: FileArgs,
    /// Cells trained at the same time (default: one per 2 threads of the budget, at least 1);
    /// with --slurm or --k8s-job, tasks or pods running at the same time (default: all).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// List the cells (index, cell, seed, settings) in their stable order; train nothing.
    #[arg(long, group = "mode")]
    pub plan: bool,
    /// One JSON object on stdout: the plan with --plan, else the summary and every cell's
    /// numbers.
    #[arg(long)]
    pub json: bool,
    /// Train exactly cell N into the sweep directory (default: $SLURM_ARRAY_TASK_ID, then
    /// $JOB_COMPLETION_INDEX). A cell already done with the same settings is skipped.
    #[arg(long, group = "mode", num_args = 0..=1, value_name = "N")]
    pub cell: Option<Option<usize>>,
    /// Claim and train cells nobody alive is training, until none is left; run any number
    /// of these, on machines that share the sweep directory.
    #[arg(long, group = "mode")]
    pub worker: bool,
    /// Write the summary, plot and report from the cell files; name the cells not done.
    #[arg(long, group = "mode")]
    pub merge: bool,
    /// Write a Slurm job-array script (one task per cell) and a dependent merge job.
    #[arg(long, group = "mode")]
    pub slurm: bool,
    /// With --slurm: submit both through sbatch and print their job ids.
    #[arg(long, requires = "slurm")]
    pub submit: bool,
    /// With --slurm: only the cells that are not done (missing, failed, corrupt, stale).
    #[arg(long, requires = "slurm")]
    pub only_missing: bool,
    /// With --slurm: the partition.
    #[arg(long, requires = "slurm")]
    pub partition: Option<String>,
    /// With --slurm: each task's time limit (`30`, `2:00:00`, `1-0`).
    #[arg(long, requires = "slurm")]
    pub time: Option<String>,
    /// With --slurm or --k8s-job: CPUs per task or pod, and its training threads (default 1).
    #[arg(long)]
    pub cpus_per_task: Option<usize>,
    /// With --slurm: memory per task (`4G`).
    #[arg(long, requires = "slurm")]
    pub mem: Option<String>,
    /// Print a Kubernetes Indexed Job manifest whose pods run `nabla sweep FILE --cell`.
    #[arg(long, group = "mode")]
    pub k8s_job: bool,
    /// With --k8s-job: the container image with nabla on its PATH.
    #[arg(long, requires = "k8s_job", default_value = "nabla:latest")]
    pub image: String,
    /// With --k8s-job: the PersistentVolumeClaim holding the sweep file and directory.
    #[arg(long, requires = "k8s_job", default_value = "nabla-sweep")]
    pub pvc: String,
    /// With --k8s-job: where pods mount it; the file and the sweep directory are looked for
    /// there under their own names.
    #[arg(long, requires = "k8s_job", default_value = "/sweep")]
    pub mount: String,
    /// With --cell or --worker: seconds without a heartbeat after which a claimed cell is
    /// taken over (a claimant on the same machine whose process is gone: at once).
    #[arg(long, value_name = "SECONDS")]
    pub claim_timeout: Option<f64>,
}

pub fn run(args: SweepArgs) -> Result<()> {
    let file = args.file.load()?;
    let out = args.file.out_dir(&file, "-sweep")?;
    if args.plan || args.slurm || args.k8s_job || args.merge || args.worker || args.cell.is_some() {
        return run_part(&args, &file, &out);
    }
    let threads = threads(&args)?;
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

fn threads(args: &SweepArgs) -> Result<usize> {
    match args.file.threads {
        Some(0) => Err(Error::invalid("--threads must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// The modes that do one part of a sweep, for clusters and shared directories.
fn run_part(args: &SweepArgs, file: &nabla::experiment::ExperimentFile, out: &Path) -> Result<()> {
    let plan = Plan::new(file)?;
    if args.plan {
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&plan.to_json()).expect("json")
            );
        } else {
            print!("{}", plan.to_text());
        }
        return Ok(());
    }
    if args.merge {
        let merged = run_merge(&plan, out)?;
        println!(
            "Merged {} cells into {} (summary.csv, report.html)",
            merged.records.len(),
            out.display()
        );
        return Ok(());
    }
    if args.slurm {
        return slurm_part(args, &plan, out);
    }
    if args.k8s_job {
        let options = K8sOptions {
            image: args.image.clone(),
            claim: args.pvc.clone(),
            mount: args.mount.clone(),
            parallelism: args.jobs,
            command: k8s_command(args, out)?,
            cpus: args.cpus_per_task.unwrap_or(1),
        };
        print!("{}", indexed_job(&plan, &options)?);
        return Ok(());
    }
    let timeout = match args.claim_timeout {
        None => DEFAULT_CLAIM_TIMEOUT,
        Some(s) if s.is_finite() && s > 0.0 => Duration::from_secs_f64(s),
        Some(s) => {
            return Err(Error::invalid(format!(
                "--claim-timeout {s}: must be positive"
            )))
        }
    };
    let options = SharedOptions {
        claim_timeout: timeout,
        stream: Stream::Stdout,
    };
    let threads = threads(args)?;
    nabla::set_num_threads(threads)?;
    if let Some(cell) = args.cell {
        let index = match cell.map_or_else(index_from_env, |n| Ok(Some(n)))? {
            Some(index) => index,
            None => {
                return Err(Error::invalid(
                    "--cell needs a number, or SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX set",
                ))
            }
        };
        super::with_threads(Some(threads), || run_cell(&plan, out, index, options))?;
        return Ok(());
    }
    let outcome = super::with_threads(Some(threads), || run_worker(&plan, out, options))?;
    println!(
        "worker done: trained {} cells{}",
        outcome.trained.len(),
        if outcome.merged.is_some() {
            "; every cell is done"
        } else {
            ""
        }
    );
    if !outcome.failed.is_empty() {
        let list: Vec<String> = outcome
            .failed
            .iter()
            .map(|(i, e)| format!("cell {i}: {e}"))
            .collect();
        return Err(Error::invalid(format!(
            "{} cells failed:\n{}",
            list.len(),
            list.join("\n")
        )));
    }
    Ok(())
}

fn slurm_part(args: &SweepArgs, plan: &Plan, out: &Path) -> Result<()> {
    let options = SlurmOptions {
        partition: args.partition.clone(),
        time: args.time.clone(),
        cpus_per_task: args.cpus_per_task,
        mem: args.mem.clone(),
        max_parallel: args.jobs,
        only_missing: args.only_missing,
    };
    let exe = std::env::current_exe()
        .map_err(|e| Error::invalid(format!("cannot tell where this nabla program is: {e}")))?;
    let mut command = vec![exe.to_string_lossy().into_owned(), "sweep".into()];
    command.push(absolute(&args.file.file)?.to_string_lossy().into_owned());
    command.push("--out".into());
    command.push(absolute(out)?.to_string_lossy().into_owned());
    command.extend(overrides(args, true)?);
    let Some(scripts) = slurm::write_scripts(plan, out, &command, &options)? else {
        println!("Every cell is done: nothing to submit (merge with --merge)");
        return Ok(());
    };
    println!(
        "Slurm scripts: {} (array {}, {} cells) and {}",
        scripts.cells.display(),
        scripts.array,
        scripts.indexes.len(),
        scripts.merge.display()
    );
    if args.submit {
        let (array, merge) = slurm::submit(&scripts)?;
        println!("Submitted array job {array}");
        println!("Submitted merge job {merge} (runs after {array} succeeds)");
    } else {
        println!(
            "Submit with: job=$(sbatch --parsable {}) && sbatch --dependency=afterok:$job {}",
            scripts.cells.display(),
            scripts.merge.display()
        );
    }
    Ok(())
}

/// The pods' command: the file and the sweep directory under their names on the volume.
fn k8s_command(args: &SweepArgs, out: &Path) -> Result<Vec<String>> {
    let on_volume = |p: &Path| -> Result<String> {
        let name = p.file_name().ok_or_else(|| {
            Error::invalid(format!("{}: needs a file or folder name", p.display()))
        })?;
        Ok(format!(
            "{}/{}",
            args.mount.trim_end_matches('/'),
            name.to_string_lossy()
        ))
    };
    let mut command = vec![
        "nabla".to_string(),
        "sweep".into(),
        on_volume(&args.file.file)?,
    ];
    command.push("--out".into());
    command.push(on_volume(out)?);
    command.extend(overrides(args, false)?);
    Ok(command)
}

/// The command line's settings, for the same cells elsewhere.
fn overrides(args: &SweepArgs, absolute_paths: bool) -> Result<Vec<String>> {
    let f = &args.file;
    let mut words = Vec::new();
    if let Some(data) = f.data {
        let name = data
            .to_possible_value()
            .expect("every data name has a flag value");
        words.extend(["--data".to_string(), name.get_name().to_string()]);
    }
    if let Some(dir) = &f.data_dir {
        let dir = if absolute_paths {
            absolute(dir)?
        } else {
            dir.clone()
        };
        words.extend(["--data-dir".to_string(), dir.to_string_lossy().into_owned()]);
    }
    for (flag, value) in [
        ("--epochs", f.epochs),
        ("--seed", f.seed.map(|s| s as usize)),
        ("--limit", f.limit),
    ] {
        if let Some(v) = value {
            words.extend([flag.to_string(), v.to_string()]);
        }
    }
    if let Some(t) = args.claim_timeout {
        words.extend(["--claim-timeout".to_string(), t.to_string()]);
    }
    Ok(words)
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io(path, e))
}
