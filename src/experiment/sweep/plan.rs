//! The numbered cells of a sweep: every grid point × every replicate, resolved before anything
//! trains, in one stable order (grid order, last axis fastest, then replicate), so that cell
//! `N` means the same training on every machine that reads the same file and flags.

use super::super::file::{value_text, Cell, ExperimentFile, Sweep};
use crate::error::{Error, Result};
use crate::run::RunSpec as Experiment;
use serde_json::json;

/// One cell with its number and the experiment it trains.
#[derive(Clone, Debug)]
pub struct PlannedCell {
    /// The cell's number: `--cell N`, a Slurm array task id, a Kubernetes completion index.
    pub index: usize,
    pub cell: Cell,
    pub experiment: Experiment,
    /// The resolved config as JSON: a stored result made from a different one is stale.
    pub config: serde_json::Value,
}

impl PlannedCell {
    /// `p003-r1`: the name of the cell's files.
    pub fn id(&self) -> String {
        self.cell.id()
    }

    /// (dotted key, value as TOML text) for every swept setting.
    pub fn settings(&self) -> Vec<(String, String)> {
        self.cell
            .assignments
            .iter()
            .map(|(k, v)| (k.clone(), value_text(v)))
            .collect()
    }
}

/// Every cell of a sweep file, resolved (so a bad value fails before any training).
#[derive(Clone, Debug)]
pub struct Plan {
    pub sweep: Sweep,
    /// The file's base settings (the sweep's name, description and output options).
    pub base: Experiment,
    pub cells: Vec<PlannedCell>,
}

impl Plan {
    pub fn new(file: &ExperimentFile) -> Result<Plan> {
        let sweep = file.sweep.clone().ok_or_else(|| {
            Error::invalid(format!(
                "{}: has no [sweep] section (use `nabla run` for a single run or variants)",
                file.doc.path.display()
            ))
        })?;
        let cells = file
            .cells()
            .into_iter()
            .enumerate()
            .map(|(index, cell)| {
                let experiment = file.cell(&cell)?;
                let config = serde_json::to_value(&experiment).expect("configs serialize");
                Ok(PlannedCell {
                    index,
                    cell,
                    experiment,
                    config,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Plan {
            sweep,
            base: file.base()?,
            cells,
        })
    }

    /// Cell `index`, or an error that gives the valid range.
    pub fn get(&self, index: usize) -> Result<&PlannedCell> {
        self.cells.get(index).ok_or_else(|| {
            Error::invalid(format!(
                "cell {index} does not exist: this sweep has {} cells, numbered 0 to {}",
                self.cells.len(),
                self.cells.len().saturating_sub(1)
            ))
        })
    }

    /// `--plan`: one line per cell.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{} cells ({} grid points x {} replicates), metric {}\n",
            self.cells.len(),
            self.cells.len() / self.sweep.replicates,
            self.sweep.replicates,
            self.sweep.metric
        );
        text += "index  cell       seed  settings\n";
        for c in &self.cells {
            text += &format!(
                "{:>5}  {:<9}  {:>4}  {}\n",
                c.index,
                c.id(),
                c.experiment.training.seed,
                c.cell.label()
            );
        }
        text
    }

    /// `--plan --json`: the same as a JSON object, settings with their TOML types.
    pub fn to_json(&self) -> serde_json::Value {
        let cells: Vec<serde_json::Value> = self
            .cells
            .iter()
            .map(|c| {
                let settings: serde_json::Map<String, serde_json::Value> = c
                    .cell
                    .assignments
                    .iter()
                    .map(|(k, v)| {
                        let v = serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
                        (k.clone(), v)
                    })
                    .collect();
                json!({
                    "index": c.index,
                    "id": c.id(),
                    "point": c.cell.point,
                    "replicate": c.cell.replicate,
                    "seed": c.experiment.training.seed,
                    "settings": settings,
                })
            })
            .collect();
        json!({
            "name": self.base.name,
            "metric": self.sweep.metric,
            "replicates": self.sweep.replicates,
            "cells": cells,
        })
    }
}

/// The cell number a cluster gave this process: `SLURM_ARRAY_TASK_ID` (a Slurm job array
/// task), then `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job pod); `None` when neither is set.
pub fn index_from_env() -> Result<Option<usize>> {
    for name in ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"] {
        if let Ok(value) = std::env::var(name) {
            return value
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::invalid(format!("{name}={value:?} is not a cell number")));
        }
    }
    Ok(None)
}
