//! A cell's files in the sweep directory, and the one function that trains a cell.
//!
//! ```text
//! OUT/cells/p003-r1/          the cell's run directory (history, metrics, plots, report)
//! OUT/cells/p003-r1.json      its result: written last, so it exists only when all is done
//! OUT/cells/p003-r1.failed.json   the error of its last failed attempt
//! ```
//!
//! The run directory is written under a hidden temporary name and renamed into place; then
//! the result file is written atomically. Whatever kills a process, a reader sees a complete
//! cell or none. A result file that cannot be read (cut off, corrupted) or that was made from
//! other settings counts as not done: it is reported and trained again, never merged.

use super::plan::PlannedCell;
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::run::{run, DataCache, RunOptions, RunRecord, RunSpec};
use crate::train::{Stream, Verbosity};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// One finished cell, as stored in `cells/<id>.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CellRecord {
    pub id: String,
    pub label: String,
    pub point: usize,
    pub replicate: usize,
    pub seed: u32,
    /// (dotted key, value as TOML text).
    pub settings: Vec<(String, String)>,
    /// The resolved config the result came from; a different one means "run again".
    pub config: serde_json::Value,
    /// The cell's run, without images; its run directory is `cells/<id>/`.
    pub result: RunRecord,
    /// Which machine and process trained it, and when it started (seconds since 1970).
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub pid: u32,
    #[serde(default)]
    pub started: f64,
}

/// The last failed attempt at a cell, as stored in `cells/<id>.failed.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FailedRecord {
    pub id: String,
    pub error: String,
    pub host: String,
    pub pid: u32,
    pub config: serde_json::Value,
}

/// Where a cell stands, read from its files alone.
#[derive(Clone, Debug)]
pub enum CellState {
    Done(Box<CellRecord>),
    /// Never finished (not started, still running, or its process died).
    Missing,
    /// Its last attempt failed with this error.
    Failed(String),
    /// Its result file exists but cannot be read: why.
    Corrupt(String),
    /// Its result was made from other settings.
    Stale,
}

impl CellState {
    pub fn is_done(&self) -> bool {
        matches!(self, CellState::Done(_))
    }
}

/// The paths of a sweep directory.
#[derive(Clone, Debug)]
pub struct SweepDir {
    pub root: PathBuf,
}

impl SweepDir {
    /// Creates `root/cells` and `root/claims` if needed.
    pub fn create(root: &Path) -> Result<SweepDir> {
        let dir = SweepDir {
            root: root.to_path_buf(),
        };
        for d in [dir.cells(), dir.claims()] {
            std::fs::create_dir_all(&d).map_err(|e| Error::io(&d, e))?;
        }
        Ok(dir)
    }

    pub fn cells(&self) -> PathBuf {
        self.root.join("cells")
    }
    pub fn claims(&self) -> PathBuf {
        self.root.join("claims")
    }
    pub fn record(&self, id: &str) -> PathBuf {
        self.cells().join(format!("{id}.json"))
    }
    pub fn failed(&self, id: &str) -> PathBuf {
        self.cells().join(format!("{id}.failed.json"))
    }
    pub fn run_dir(&self, id: &str) -> PathBuf {
        self.cells().join(id)
    }

    /// Reads the cell's files.
    pub fn state(&self, cell: &PlannedCell) -> CellState {
        let path = self.record(&cell.id());
        match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<CellRecord>(&bytes) {
                Ok(record) if record.config == cell.config => CellState::Done(Box::new(record)),
                Ok(_) => CellState::Stale,
                Err(e) => CellState::Corrupt(format!("{}: {e}", path.display())),
            },
            Err(_) => match std::fs::read(self.failed(&cell.id()))
                .ok()
                .and_then(|b| serde_json::from_slice::<FailedRecord>(&b).ok())
            {
                Some(f) if f.config == cell.config => {
                    CellState::Failed(format!("{} (on {}, pid {})", f.error, f.host, f.pid))
                }
                _ => CellState::Missing,
            },
        }
    }
}

/// This machine's name, as claims and records show it.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Seconds since 1970, the clock claims and records use.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Trains one cell and stores it: run directory first, result file last. On failure the
/// error is stored in `<id>.failed.json` (for `--merge` to report) and returned.
pub fn train_cell(cell: &PlannedCell, dir: &SweepDir, cache: &DataCache) -> Result<CellRecord> {
    let id = cell.id();
    let host = host_name();
    let pid = std::process::id();
    let started = now();
    static ATTEMPT: AtomicU64 = AtomicU64::new(0);
    let n = ATTEMPT.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.cells().join(format!(".{id}.run-{host}-{pid}-{n}"));
    let outcome = (|| -> Result<CellRecord> {
        remove_abandoned(&dir.cells(), &id);
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        test_hooks::started(cell, &host, pid)?;
        let result = run_pipeline(&cell.experiment, cache, &tmp)?;
        install_dir(&tmp, &dir.run_dir(&id))?;
        let record = CellRecord {
            id: id.clone(),
            label: cell.cell.label(),
            point: cell.cell.point,
            replicate: cell.cell.replicate,
            seed: cell.experiment.training.seed,
            settings: cell.settings(),
            config: cell.config.clone(),
            result,
            host: host.clone(),
            pid,
            started,
        };
        let text = serde_json::to_string_pretty(&record).expect("records serialize");
        write_atomic(dir.record(&id), text.as_bytes())?;
        let _ = std::fs::remove_file(dir.failed(&id));
        Ok(record)
    })();
    if let Err(e) = &outcome {
        let _ = std::fs::remove_dir_all(&tmp);
        let failed = FailedRecord {
            id: id.clone(),
            error: e.to_string(),
            host,
            pid,
            config: cell.config.clone(),
        };
        let text = serde_json::to_string_pretty(&failed).expect("records serialize");
        write_atomic(dir.failed(&id), text.as_bytes())?;
    }
    outcome
}

/// The run pipeline, in one place: trains the spec silently, writes its run directory into
/// `out`, and returns its record without images (those stay in the run directory).
fn run_pipeline(spec: &RunSpec, cache: &DataCache, out: &Path) -> Result<RunRecord> {
    let output = run(
        spec,
        RunOptions {
            out: Some(out.to_path_buf()),
            kind: "cell".into(),
            verbosity: Verbosity::Silent,
            stream: Stream::Stderr,
            data: Some(cache),
            ..RunOptions::default()
        },
    )?;
    Ok(output.record.without_images())
}

/// Deletes the temporary run directories of earlier attempts at cell `id` (a killed
/// process leaves its own behind). Only the claim holder calls this, so none is in use.
fn remove_abandoned(cells: &Path, id: &str) {
    let prefix = format!(".{id}.run-");
    let Ok(entries) = std::fs::read_dir(cells) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Renames the finished directory `from` to `to`, replacing an older one (moved aside first,
/// since a directory cannot be renamed over a non-empty one).
fn install_dir(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        let mut aside = from.as_os_str().to_owned();
        aside.push(".old");
        let aside = PathBuf::from(aside);
        std::fs::rename(to, &aside).map_err(|e| Error::io(to, e))?;
        let _ = std::fs::remove_dir_all(&aside);
    }
    std::fs::rename(from, to).map_err(|e| Error::io(to, e))
}

/// Instrumentation for the tests of distributed sweeps, off unless its variables are set.
///
/// - `NABLA_TEST_TRAIN_LOG=FILE`: every training of a cell appends `index id host pid` to
///   FILE (one short append, atomic on a local filesystem), so a test counts trainings.
/// - `NABLA_TEST_HOLD=FILE`: after logging, wait until FILE exists before training, so a test
///   can kill a worker that is certainly in the middle of a cell.
mod test_hooks {
    use super::PlannedCell;
    use crate::error::{Error, Result};
    use std::io::Write;
    use std::path::PathBuf;

    pub fn started(cell: &PlannedCell, host: &str, pid: u32) -> Result<()> {
        if let Some(path) = std::env::var_os("NABLA_TEST_TRAIN_LOG").map(PathBuf::from) {
            let line = format!("{} {} {host} {pid}\n", cell.index, cell.id());
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(line.as_bytes()))
                .map_err(|e| Error::io(&path, e))?;
        }
        if let Some(path) = std::env::var_os("NABLA_TEST_HOLD").map(PathBuf::from) {
            while !path.exists() {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        }
        Ok(())
    }
}
