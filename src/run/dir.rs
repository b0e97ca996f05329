//! A run directory being filled: the one file set of [`crate::report::files`], each file
//! written atomically, so a crash, a kill or a power cut never leaves a half-written one, and
//! `run.json` always says how far the run got.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::record::RunRecord;
use crate::error::{Error, Result};
use crate::files::write_atomic;
use crate::report::files::{
    CLASSIFICATION_REPORT, DATA, GRADIENTS, HISTORY, METRICS, PREDICTIONS, RUN, SAMPLES, SPEC,
    SUMMARY,
};
use crate::report::RunInfo;

#[derive(Clone, Debug)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Uses `path`, creating it (and its parents) if needed; files already there are replaced.
    pub fn create(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        std::fs::create_dir_all(&path).map_err(|e| Error::io(&path, e))?;
        Ok(RunDir { path })
    }

    /// `parent/name`, or `parent/name-2`, `-3`, … if taken: two runs started in the same
    /// second never share a directory.
    pub fn create_new(parent: &Path, name: &str) -> Result<Self> {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        for i in 1.. {
            let path = match i {
                1 => parent.join(name),
                n => parent.join(format!("{name}-{n}")),
            };
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(RunDir { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
        unreachable!("some suffix is free")
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write_text(&self, name: &str, text: &str) -> Result<()> {
        write_atomic(self.path.join(name), text.as_bytes())
    }

    /// Indented JSON with lists of plain values on one line.
    pub fn write_json<S: Serialize>(&self, name: &str, value: &S) -> Result<()> {
        let text = crate::json::to_pretty_string(value)
            .map_err(|e| Error::invalid(format!("{name}: {e}")))?;
        self.write_text(name, &text)
    }

    /// One-line JSON, for the image files (pixel lists would take a line per number).
    pub fn write_json_compact<S: Serialize>(&self, name: &str, value: &S) -> Result<()> {
        let text =
            serde_json::to_string(value).map_err(|e| Error::invalid(format!("{name}: {e}")))?;
        self.write_text(name, &(text + "\n"))
    }

    pub fn write_info(&self, info: &RunInfo) -> Result<()> {
        self.write_json(RUN, info)
    }

    /// Everything in `record`: the resolved settings, summary, history, metrics, gradients
    /// and images. `run.json` goes last, so its status never runs ahead of the files.
    pub fn write(&self, record: &RunRecord) -> Result<()> {
        let spec = toml::to_string(&record.spec)
            .map_err(|e| Error::invalid(format!("cannot write the resolved settings: {e}")))?;
        self.write_text(SPEC, &spec)?;
        self.write_text(SUMMARY, &record.summary)?;
        self.write_text(HISTORY, &record.history.to_csv())?;
        if let Some(metrics) = &record.metrics {
            self.write_json(METRICS, metrics)?;
            self.write_text(
                CLASSIFICATION_REPORT,
                &metrics.classification_report.to_text(2),
            )?;
        }
        self.write_json(GRADIENTS, &record.gradients)?;
        if let Some(p) = &record.predictions {
            self.write_json_compact(PREDICTIONS, p)?;
        }
        if let Some(s) = &record.samples {
            self.write_json_compact(SAMPLES, s)?;
        }
        if let Some(d) = &record.data {
            self.write_json_compact(DATA, d)?;
        }
        self.write_info(&record.info)
    }
}
