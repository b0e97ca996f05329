//! `nabla sweep`: every grid point × every replicate of an experiment file, as numbered cells
//! that any number of processes on any number of machines can train into one directory,
//! with nothing lost and nothing done twice, then merged into one summary.
//!
//! ```text
//! OUT/cells/p003-r1.json   one finished cell: its settings, resolved config and results
//! OUT/cells/p003-r1/       its run directory
//! OUT/claims/              who is training which cell (host, pid, heartbeat)
//! OUT/summary.csv          per grid point: the settings, n, mean and std of the metric
//! OUT/sweep.png            mean ± std against a swept value on a log axis (and .svg)
//! OUT/report.html          the table, the plot, and every cell
//! OUT/slurm/               `--slurm`'s scripts and its tasks' output
//! ```
//!
//! - [`plan`]: the numbered cells (`--plan`), resolved before anything trains.
//! - [`cells`]: a cell's files, written atomically, and the one function that trains a cell.
//! - [`claims`]: create-exclusive claim files with heartbeats; dead claims are taken over.
//! - [`worker`]: claim, train, repeat.
//! - [`local`]: the in-process sweep (`--jobs` workers as threads, then the merge).
//! - [`shared`]: `--cell N`, `--worker`, `--merge`.
//! - [`mod@merge`]: summary, error-bar plot and report from the cell files alone.
//! - [`slurm`], [`k8s`]: job-array scripts and an Indexed Job manifest.
//!
//! Resuming: a cell whose result file exists and was made from the same resolved config is
//! not run again, so an interrupted sweep (or one with a grid point added) only computes what
//! is missing.

pub mod cells;
pub mod claims;
pub mod k8s;
pub mod local;
pub mod merge;
pub mod plan;
pub mod shared;
pub mod slurm;
pub mod worker;

pub use cells::{CellRecord, CellState, SweepDir};
pub use k8s::{indexed_job, K8sOptions};
pub use local::{run_sweep, SweepOptions, SweepOutcome};
pub use merge::{merge, summarise, Merged, PointSummary};
pub use plan::{index_from_env, Plan, PlannedCell};
pub use shared::{run_cell, run_merge, run_worker, SharedOptions, SharedOutcome};
pub use slurm::{SlurmOptions, SlurmScripts};
pub use worker::DEFAULT_CLAIM_TIMEOUT;
