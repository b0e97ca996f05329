//! The entry points for processes that share a sweep directory: `--cell N` (a Slurm array
//! task, a Kubernetes pod, a shell loop), `--worker` (any number, anywhere) and `--merge`.
//! Whichever process finishes the last cell merges.

use super::cells::{CellRecord, SweepDir};
use super::local::say;
use super::merge::{merge, Merged};
use super::plan::{Plan, PlannedCell};
use super::worker::Crew;
use crate::error::{Error, Result};
use crate::train::Stream;
use std::path::Path;
use std::time::Duration;

/// How a process takes part.
#[derive(Clone, Copy, Debug)]
pub struct SharedOptions {
    /// A claim whose heartbeat is older than this is taken over.
    pub claim_timeout: Duration,
    pub stream: Stream,
}

/// What `--cell` or `--worker` did.
pub struct SharedOutcome {
    /// Cells this process trained.
    pub trained: Vec<CellRecord>,
    /// Cells this process tried and failed: (index, error).
    pub failed: Vec<(usize, String)>,
    /// The merge, when every cell was done at the end.
    pub merged: Option<Merged>,
}

/// `--cell N`: trains exactly cell N into `out` (skipped when already done with the same
/// settings), then merges if it was the last one.
pub fn run_cell(
    plan: &Plan,
    out: &Path,
    index: usize,
    options: SharedOptions,
) -> Result<SharedOutcome> {
    let dir = SweepDir::create(out)?;
    let cell = plan.get(index)?;
    let crew = Crew::new(plan, &dir, options.claim_timeout, true);
    let said = |text: String| say(options.stream, &text);
    let mut trained = Vec::new();
    match crew.train_one(index, &said) {
        Ok(Some(record)) => {
            said(done_line(plan, cell, &record));
            trained.push(record);
        }
        Ok(None) => said(format!(
            "cell {index} ({}) is already done with these settings",
            cell.id()
        )),
        Err(e) => {
            return Err(Error::invalid(format!(
                "sweep cell {index} ({} {}): {e}",
                cell.id(),
                cell.cell.label()
            )))
        }
    }
    let merged = merge_if_complete(plan, &dir, options.stream)?;
    Ok(SharedOutcome {
        trained,
        failed: Vec::new(),
        merged,
    })
}

/// `--worker`: trains cells nobody alive holds until none is left, then merges if all are
/// done. A failed cell is recorded and the worker goes on with the others.
pub fn run_worker(plan: &Plan, out: &Path, options: SharedOptions) -> Result<SharedOutcome> {
    let dir = SweepDir::create(out)?;
    let crew = Crew::new(plan, &dir, options.claim_timeout, false);
    let report = |cell: &PlannedCell, outcome: &Result<CellRecord>| match outcome {
        Ok(record) => say(options.stream, &done_line(plan, cell, record)),
        Err(e) => say(
            options.stream,
            &format!("cell {} ({}) failed: {e}", cell.index, cell.id()),
        ),
    };
    crew.work(&report)?;
    let trained = crew.trained.into_inner().expect("no worker panicked");
    let failed = crew
        .errors
        .into_inner()
        .expect("no worker panicked")
        .into_iter()
        .map(|(i, e)| (i, e.to_string()))
        .collect();
    let merged = merge_if_complete(plan, &dir, options.stream)?;
    Ok(SharedOutcome {
        trained,
        failed,
        merged,
    })
}

fn done_line(plan: &Plan, cell: &PlannedCell, record: &CellRecord) -> String {
    let metric = &plan.sweep.metric;
    format!(
        "cell {} ({} {}): {metric} = {:.4}, test accuracy {:.4}",
        cell.index,
        cell.id(),
        cell.cell.label(),
        record.result.metric(metric).unwrap_or(f64::NAN),
        record.result.test_accuracy()
    )
}

/// Merges when every cell is done (two processes finishing at once both merge: the writes
/// are atomic and their bytes the same).
fn merge_if_complete(plan: &Plan, dir: &SweepDir, stream: Stream) -> Result<Option<Merged>> {
    if !plan.cells.iter().all(|c| dir.state(c).is_done()) {
        return Ok(None);
    }
    let merged = merge(plan, dir)?;
    say(
        stream,
        &format!(
            "every cell is done: merged into {} (summary.csv, report.html)",
            dir.root.display()
        ),
    );
    Ok(Some(merged))
}

/// `--merge`: the summary, plot and report of the cells done so far; an error naming the
/// cells that are not done (after writing what there is, with those cells in the report).
pub fn run_merge(plan: &Plan, out: &Path) -> Result<Merged> {
    let dir = SweepDir::create(out)?;
    let merged = merge(plan, &dir)?;
    if !merged.complete() {
        return Err(Error::invalid(format!(
            "{}: merged {} of {} cells; not done (listed in report.html too):\n{}",
            out.display(),
            merged.records.len(),
            plan.cells.len(),
            merged.describe_not_done()
        )));
    }
    Ok(merged)
}
