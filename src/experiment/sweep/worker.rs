//! Workers: claim the next cell nobody alive holds, train it, repeat until every cell is done.
//! `nabla sweep --worker` runs one per process (on any number of machines sharing the sweep
//! directory); the in-process sweep runs `--jobs` of them as threads; `--cell N` is a worker
//! for one cell.

use super::cells::{train_cell, CellRecord, CellState, SweepDir};
use super::claims::{try_claim, Claimed};
use super::plan::{Plan, PlannedCell};
use crate::error::{Error, Result};
use crate::run::DataCache;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How long a claim lives without a heartbeat before another worker takes its cell over.
pub const DEFAULT_CLAIM_TIMEOUT: Duration = Duration::from_secs(60);

/// What the workers of one process share.
pub struct Crew<'a> {
    pub plan: &'a Plan,
    pub dir: &'a SweepDir,
    pub cache: DataCache,
    pub timeout: Duration,
    /// Stop everything at the first failed cell (the in-process sweep) or go on (workers).
    pub stop_on_error: bool,
    /// Cells this process has tried: each is tried at most once per process, so a cell that
    /// always fails cannot keep a worker busy forever.
    tried: Mutex<HashSet<usize>>,
    failed: AtomicBool,
    /// Trained here, in completion order, and the failures (index, error).
    pub trained: Mutex<Vec<CellRecord>>,
    pub errors: Mutex<Vec<(usize, Error)>>,
}

impl<'a> Crew<'a> {
    pub fn new(plan: &'a Plan, dir: &'a SweepDir, timeout: Duration, stop_on_error: bool) -> Self {
        Crew {
            plan,
            dir,
            cache: DataCache::default(),
            timeout,
            stop_on_error,
            tried: Mutex::new(HashSet::new()),
            failed: AtomicBool::new(false),
            trained: Mutex::new(Vec::new()),
            errors: Mutex::new(Vec::new()),
        }
    }

    /// One worker's loop; `report` is told about each cell it finishes.
    pub fn work(&self, report: &(dyn Fn(&PlannedCell, &Result<CellRecord>) + Sync)) -> Result<()> {
        let poll = (self.timeout / 4).clamp(Duration::from_millis(20), Duration::from_secs(2));
        loop {
            if self.stop_on_error && self.failed.load(Ordering::SeqCst) {
                return Ok(());
            }
            let mut waiting = false;
            let mut progressed = false;
            for cell in &self.plan.cells {
                if self
                    .tried
                    .lock()
                    .expect("no worker panicked")
                    .contains(&cell.index)
                {
                    continue;
                }
                if self.dir.state(cell).is_done() {
                    continue;
                }
                match try_claim(&self.dir.claims(), &cell.id(), self.timeout)? {
                    Claimed::Held(_) => waiting = true,
                    Claimed::Mine(claim) => {
                        // It may have been finished between the look and the claim.
                        if self.dir.state(cell).is_done() {
                            continue;
                        }
                        if !self
                            .tried
                            .lock()
                            .expect("no worker panicked")
                            .insert(cell.index)
                        {
                            continue;
                        }
                        let outcome = train_cell(cell, self.dir, &self.cache);
                        drop(claim);
                        report(cell, &outcome);
                        match outcome {
                            Ok(record) => self.trained.lock().expect("no panic").push(record),
                            Err(e) => {
                                self.failed.store(true, Ordering::SeqCst);
                                self.errors.lock().expect("no panic").push((cell.index, e));
                            }
                        }
                        progressed = true;
                        break;
                    }
                }
            }
            if !progressed {
                if !waiting {
                    return Ok(());
                }
                // Others hold the remaining cells: wait for them to finish or die.
                std::thread::sleep(poll);
            }
        }
    }

    /// Trains exactly cell `index` unless it is done; waits while a live claimant holds it.
    /// Returns `None` when it was already done.
    pub fn train_one(&self, index: usize, say: &dyn Fn(String)) -> Result<Option<CellRecord>> {
        let cell = self.plan.get(index)?;
        let poll = (self.timeout / 4).clamp(Duration::from_millis(20), Duration::from_secs(2));
        let mut told = false;
        loop {
            if let CellState::Done(_) = self.dir.state(cell) {
                return Ok(None);
            }
            match try_claim(&self.dir.claims(), &cell.id(), self.timeout)? {
                Claimed::Held(info) => {
                    if !told {
                        say(format!(
                            "cell {index} ({}) is being trained by {} (pid {}); waiting",
                            cell.id(),
                            info.host,
                            info.pid
                        ));
                        told = true;
                    }
                    std::thread::sleep(poll);
                }
                Claimed::Mine(claim) => {
                    if self.dir.state(cell).is_done() {
                        return Ok(None);
                    }
                    let record = train_cell(cell, self.dir, &self.cache);
                    drop(claim);
                    return record.map(Some);
                }
            }
        }
    }
}

/// Each cell's state, in plan order.
pub fn states(plan: &Plan, dir: &SweepDir) -> Vec<CellState> {
    plan.cells.iter().map(|c| dir.state(c)).collect()
}
