//! `nabla sweep FILE`: every cell on this machine, `jobs` at a time within a thread budget,
//! then the merge. The jobs are workers like `--worker`'s, so two such processes on one
//! directory share the cells instead of both training every one.

use super::cells::{CellRecord, SweepDir};
use super::merge::{merge, PointSummary};
use super::plan::Plan;
use super::worker::{Crew, DEFAULT_CLAIM_TIMEOUT};
use crate::error::{Error, Result};
use crate::experiment::file::ExperimentFile;
use crate::train::Stream;
use std::path::Path;

/// How a sweep uses the machine.
#[derive(Clone, Copy, Debug)]
pub struct SweepOptions {
    /// Cells trained at the same time.
    pub jobs: usize,
    /// Threads each cell's training may use; `jobs × threads_per_job` is the budget.
    pub threads_per_job: usize,
    pub stream: Stream,
}

/// What `run_sweep` did: every cell's record, and which ones it computed this time.
pub struct SweepOutcome {
    pub records: Vec<CellRecord>,
    pub computed: Vec<String>,
    pub reused: Vec<String>,
    pub summary: Vec<PointSummary>,
}

/// Prints to the chosen stream.
pub(crate) fn say(stream: Stream, text: &str) {
    match stream {
        Stream::Stdout => println!("{text}"),
        Stream::Stderr => eprintln!("{text}"),
    }
}

pub fn run_sweep(file: &ExperimentFile, out: &Path, options: SweepOptions) -> Result<SweepOutcome> {
    // Resolve every cell first, so a bad value fails before hours of training.
    let plan = Plan::new(file)?;
    let dir = SweepDir::create(out)?;
    let done: Vec<bool> = plan.cells.iter().map(|c| dir.state(c).is_done()).collect();
    let reused: Vec<String> = plan
        .cells
        .iter()
        .zip(&done)
        .filter(|(_, d)| **d)
        .map(|(c, _)| c.id())
        .collect();
    let total = plan.cells.len();
    let jobs = options.jobs.max(1);
    say(
        options.stream,
        &format!(
            "sweep: {total} cells ({} grid points x {} replicates), {} already done, {} to run, {jobs} at a time",
            total / plan.sweep.replicates,
            plan.sweep.replicates,
            reused.len(),
            total - reused.len(),
        ),
    );
    let crew = Crew::new(&plan, &dir, DEFAULT_CLAIM_TIMEOUT, true);
    let metric = &plan.sweep.metric;
    let report = |cell: &super::plan::PlannedCell, outcome: &Result<CellRecord>| {
        if let Ok(record) = outcome {
            say(
                options.stream,
                &format!(
                    "[{}/{total}] {} {}: {metric} = {:.4}, test accuracy {:.4}",
                    cell.index + 1,
                    cell.id(),
                    cell.cell.label(),
                    record.result.metric(metric).unwrap_or(f64::NAN),
                    record.result.test_accuracy()
                ),
            );
        }
    };
    let worker_errors = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min((total - reused.len()).max(1)) {
            scope.spawn(|| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(options.threads_per_job.max(1))
                    .build()
                    .map_err(|e| Error::invalid(format!("cannot start a thread pool: {e}")));
                let outcome = pool.and_then(|pool| pool.install(|| crew.work(&report)));
                if let Err(e) = outcome {
                    worker_errors.lock().expect("no worker panicked").push(e);
                }
            });
        }
    });
    if let Some(e) = worker_errors
        .into_inner()
        .expect("no worker panicked")
        .pop()
    {
        return Err(e);
    }
    let errors = crew.errors.into_inner().expect("no worker panicked");
    if let Some((index, e)) = errors.into_iter().min_by_key(|(i, _)| *i) {
        let cell = &plan.cells[index];
        return Err(Error::invalid(format!(
            "sweep cell {} ({}): {e}",
            cell.id(),
            cell.cell.label()
        )));
    }
    let mut computed: Vec<String> = crew
        .trained
        .into_inner()
        .expect("no worker panicked")
        .into_iter()
        .map(|r| r.id)
        .collect();
    computed.sort();
    let merged = merge(&plan, &dir)?;
    if !merged.complete() {
        return Err(Error::invalid(format!(
            "sweep {}: not every cell is done:\n{}",
            out.display(),
            merged.describe_not_done()
        )));
    }
    for s in &merged.summary {
        let settings: Vec<String> = s.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        say(
            options.stream,
            &format!(
                "{}: {metric} = {:.4} ± {:.4} (n = {})",
                settings.join(", "),
                s.mean,
                s.std,
                s.n
            ),
        );
    }
    Ok(SweepOutcome {
        records: merged.records,
        computed,
        reused,
        summary: merged.summary,
    })
}
