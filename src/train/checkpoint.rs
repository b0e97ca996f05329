//! Resumable training: after every epoch the model (weights, optimizer slots, RNG state) and
//! the run so far (epochs done, history, the caller's settings) go into one model file,
//! written atomically, so a run killed at any moment resumes from its last finished epoch.
//!
//! Resuming is exact: the per-epoch shuffle and dropout draw from the model's RNG, whose
//! state at the epoch boundary is saved, so the resumed epochs repeat the uninterrupted
//! run's bit for bit (same seed, same thread count).

use super::callbacks::{Callback, Control};
use super::saving::{encode_model, read_model_file};
use super::{EpochLogs, EpochPosition, History, Sequential};
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::tensor::Float;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The checkpoint's name inside its directory: a model file like any other.
pub const CHECKPOINT_FILE: &str = "checkpoint.safetensors";

/// The `__metadata__` key holding the [`CheckpointState`] JSON.
pub const CHECKPOINT_KEY: &str = "nabla.checkpoint";

/// Where a run stands, beside the model in the checkpoint file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Epochs finished: training resumes at this 0-based epoch.
    pub epochs_done: usize,
    /// The history of the finished epochs.
    pub history: History,
    /// The settings the run was started with, so a resume can check that it continues the
    /// same run.
    pub settings: serde_json::Value,
    /// Where an interrupted epoch stopped (Ctrl-C, SIGTERM): the resumed run finishes that
    /// epoch from its next batch. `None` at an epoch boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<EpochPosition>,
}

/// The checkpoint file of `dir`.
pub fn checkpoint_path(dir: &Path) -> PathBuf {
    dir.join(CHECKPOINT_FILE)
}

/// Writes `model` and `state` to `dir`'s checkpoint file atomically.
pub fn save_checkpoint<T: Float>(
    model: &Sequential<T>,
    dir: &Path,
    state: &CheckpointState,
) -> Result<()> {
    let json = serde_json::to_string(state)
        .map_err(|e| Error::invalid(format!("cannot encode the checkpoint state: {e}")))?;
    let extra = BTreeMap::from([(CHECKPOINT_KEY.to_string(), json)]);
    write_atomic(checkpoint_path(dir), &encode_model(model, &extra)?)
}

/// The model and run state of `dir`'s checkpoint.
pub fn load_checkpoint<T: Float>(dir: &Path) -> Result<(Sequential<T>, CheckpointState)> {
    let path = checkpoint_path(dir);
    if !path.exists() {
        return Err(Error::format(
            &path,
            "no checkpoint here: was the run started with --checkpoint-dir pointing to this \
             directory, and did it finish an epoch?",
        ));
    }
    let file = read_model_file::<T>(&path)?;
    let text = file.extra.get(CHECKPOINT_KEY).ok_or_else(|| {
        Error::format(
            &path,
            format!("a model file but not a checkpoint: no '{CHECKPOINT_KEY}' metadata"),
        )
    })?;
    let state: CheckpointState = serde_json::from_str(text)
        .map_err(|e| Error::format(&path, format!("invalid checkpoint state: {e}")))?;
    if state.history.epochs() != state.epochs_done {
        return Err(Error::format(
            &path,
            format!(
                "checkpoint says {} epochs are done but holds the history of {}",
                state.epochs_done,
                state.history.epochs()
            ),
        ));
    }
    Ok((file.model, state))
}

/// A callback that saves the checkpoint at the end of every epoch.
pub struct Checkpointer {
    dir: PathBuf,
    state: CheckpointState,
}

impl Checkpointer {
    /// Where the checkpoints go.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Checkpoints a new run into `dir` (created if missing).
    pub fn new(dir: impl AsRef<Path>, settings: serde_json::Value) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Checkpointer {
            dir,
            state: CheckpointState {
                settings,
                ..CheckpointState::default()
            },
        })
    }

    /// Goes on checkpointing a resumed run, whose earlier epochs are in `state`. Temporary
    /// files left by a run killed while writing its checkpoint are removed.
    pub fn resume(dir: impl AsRef<Path>, state: CheckpointState) -> Self {
        let dir = dir.as_ref().to_path_buf();
        let stale = format!(".{CHECKPOINT_FILE}.tmp-");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(&stale) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Checkpointer { dir, state }
    }

    /// Everything so far: the resumed run's earlier epochs and this run's.
    pub fn state(&self) -> &CheckpointState {
        &self.state
    }
}

impl<T: Float> Callback<T> for Checkpointer {
    fn on_epoch_end(
        &mut self,
        model: &mut Sequential<T>,
        epoch: usize,
        logs: &EpochLogs,
    ) -> Result<Control> {
        self.state.history.push(logs);
        self.state.epochs_done = epoch + 1;
        self.state.position = None;
        save_checkpoint(model, &self.dir, &self.state)?;
        Ok(Control::Continue)
    }

    /// Saves the model mid-epoch, with where the epoch stopped.
    fn on_interrupt(&mut self, model: &mut Sequential<T>, position: &EpochPosition) -> Result<()> {
        self.state.position = Some(position.clone());
        save_checkpoint(model, &self.dir, &self.state)
    }
}
