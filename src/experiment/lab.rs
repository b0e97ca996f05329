//! `nabla lab DIR`: every experiment file of one notebook's lab folder, in name order, into
//! one directory, and one page with every run's numbers and what the runs say together —
//! notebook 002's staged comparison against the fair one, computed from both.
//!
//! ```text
//! OUT/<file stem>/...   each file's run directory (or variants, or sweep)
//! OUT/report.html       the runs' final numbers, and the findings across runs
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::file::ExperimentFile;
use super::sweep::{run_sweep, CellRecord, SweepOptions};
use super::variants::{run_file, FileRunOptions};
use crate::error::{Error, Result};
use crate::report::findings::{staged_vs_fair, Finding};
use crate::report::HtmlReport;
use crate::run::RunRecord;

/// One experiment file of the lab, loaded (with the command line's overrides applied).
pub struct LabFile {
    pub stem: String,
    pub file: ExperimentFile,
}

/// What a lab run produced: each file's records, and the findings across files.
pub struct LabOutcome {
    pub runs: Vec<(String, Vec<(String, RunRecord)>)>,
    pub sweeps: Vec<(String, Vec<CellRecord>)>,
    pub findings: Vec<Finding>,
    pub report: PathBuf,
}

/// The `*.toml` files of `dir`, in name order.
pub fn lab_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no experiment files (*.toml) in this folder",
            dir.display()
        )));
    }
    Ok(files)
}

/// Runs every file into `out/<stem>`: files with a `[sweep]` through the sweep, the others
/// through `nabla run`; then writes `out/report.html`.
pub fn run_lab(
    name: &str,
    files: &[LabFile],
    out: &Path,
    run_options: FileRunOptions,
    sweep_options: SweepOptions,
) -> Result<LabOutcome> {
    // Resolve every file first: a typo in the last one fails before any training.
    for f in files {
        f.file.runs()?;
    }
    let mut runs = Vec::new();
    let mut sweeps = Vec::new();
    for f in files {
        let dir = out.join(&f.stem);
        if f.file.sweep.is_some() {
            let outcome = run_sweep(&f.file, &dir, sweep_options)?;
            sweeps.push((f.stem.clone(), outcome.records));
        } else {
            let records = run_file(&f.file, &dir, run_options)?;
            let interrupted = records
                .iter()
                .any(|(_, r)| r.info.status == crate::report::RunStatus::Interrupted);
            runs.push((f.stem.clone(), records));
            if interrupted {
                break;
            }
        }
    }
    let mut findings = Vec::new();
    for (_, records) in &runs {
        for (_, staged) in records.iter().filter(|(_, r)| !r.info.stages.is_empty()) {
            for (_, cells) in &sweeps {
                findings.extend(staged_against_fair(staged, cells));
            }
        }
    }
    let report = out.join("report.html");
    write_report(name, &runs, &sweeps, &findings, &report)?;
    Ok(LabOutcome {
        runs,
        sweeps,
        findings,
        report,
    })
}

/// Each stage's (optimizer, loss) and validation accuracy at its end, in order; `compiled`
/// says whether it began with a fresh optimizer.
fn stage_results(staged: &RunRecord) -> Vec<(String, String, bool, f64)> {
    let Some(stages) = staged.spec.training.resolved_stages() else {
        return Vec::new();
    };
    let val = &staged.history.val_accuracy;
    let mut current = (String::new(), String::new());
    let mut out = Vec::new();
    for (stage, mark) in stages.iter().zip(&staged.info.stages) {
        if let Some((optimizer, loss)) = &stage.compile {
            current = (optimizer.name().to_string(), loss.name().to_string());
        }
        let end = mark.start + mark.epochs;
        if let Some(&v) = end.checked_sub(1).and_then(|i| val.get(i)) {
            out.push((
                current.0.clone(),
                current.1.clone(),
                stage.compile.is_some(),
                v,
            ));
        }
    }
    out
}

/// Notebook 002's comparisons answered twice — by the staged run (one model, each choice
/// continuing from the last) and by the sweep's fresh models — for every loss shared by both
/// (which optimizer is best) and every optimizer shared by both (which loss is best).
pub fn staged_against_fair(staged: &RunRecord, cells: &[CellRecord]) -> Vec<Finding> {
    let stages = stage_results(staged);
    let fair: Vec<(String, String, f64)> = cells
        .iter()
        .filter_map(|c| {
            let t = &c.result.spec.training;
            let v = c.result.metric("val_accuracy")?;
            Some((t.optimizer.name().to_string(), t.loss.name().to_string(), v))
        })
        .collect();
    let mut found = Vec::new();
    let losses: Vec<String> = unique(fair.iter().map(|f| f.1.clone()));
    for loss in &losses {
        // The last stage that compiled each optimizer with this loss: notebook 002's
        // compile_and_train calls.
        let mut staged_by: BTreeMap<String, f64> = BTreeMap::new();
        for (o, l, compiled, v) in &stages {
            if l == loss && *compiled {
                staged_by.insert(o.clone(), *v);
            }
        }
        let fair_by = group(fair.iter().filter(|f| &f.1 == loss).map(|f| (&f.0, f.2)));
        found.extend(compare(
            &format!("With {loss}, the optimizers"),
            staged_by,
            fair_by,
        ));
    }
    let optimizers: Vec<String> = unique(fair.iter().map(|f| f.0.clone()));
    for optimizer in &optimizers {
        // The first stage that compiled each loss with this optimizer: the notebook's MSE,
        // then cross-entropy.
        let mut staged_by: BTreeMap<String, f64> = BTreeMap::new();
        for (o, l, compiled, v) in &stages {
            if o == optimizer && *compiled {
                staged_by.entry(l.clone()).or_insert(*v);
            }
        }
        let fair_by = group(
            fair.iter()
                .filter(|f| &f.0 == optimizer)
                .map(|f| (&f.1, f.2)),
        );
        found.extend(compare(
            &format!("With {optimizer}, the losses"),
            staged_by,
            fair_by,
        ));
    }
    found
}

fn compare(
    what: &str,
    staged: BTreeMap<String, f64>,
    fair: BTreeMap<String, Vec<f64>>,
) -> Option<Finding> {
    let shared: Vec<&String> = staged.keys().filter(|k| fair.contains_key(*k)).collect();
    let staged: Vec<(String, f64)> = shared.iter().map(|k| ((*k).clone(), staged[*k])).collect();
    let fair: Vec<(String, Vec<f64>)> = shared
        .iter()
        .map(|k| ((*k).clone(), fair[*k].clone()))
        .collect();
    let mut f = staged_vs_fair(&staged, &fair)?;
    f.text = format!("{what}: {}", f.text);
    Some(f)
}

fn unique(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn group<'a>(items: impl Iterator<Item = (&'a String, f64)>) -> BTreeMap<String, Vec<f64>> {
    let mut out: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (k, v) in items {
        out.entry(k.clone()).or_default().push(v);
    }
    out
}

fn number(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.4}"))
}

fn write_report(
    name: &str,
    runs: &[(String, Vec<(String, RunRecord)>)],
    sweeps: &[(String, Vec<CellRecord>)],
    findings: &[Finding],
    path: &Path,
) -> Result<()> {
    let mut report = HtmlReport::new(format!("nabla lab: {name}"));
    report.paragraph(
        "Every experiment file of the lab, in name order; each has its own report in its \
         directory.",
    );
    report.section("Runs");
    let mut rows = Vec::new();
    for (stem, records) in runs {
        for (run, r) in records {
            let dir = match records.len() {
                1 => format!("{stem}/"),
                _ => format!("{stem}/{run}/"),
            };
            rows.push(vec![
                dir,
                r.info.name.clone(),
                r.info.status.name().to_string(),
                r.info.epochs_done.to_string(),
                number(r.metric("val_accuracy")),
                number(r.metric("test_accuracy")),
            ]);
        }
    }
    report.table(
        &[
            "directory",
            "run",
            "status",
            "epochs",
            "final val_accuracy",
            "test accuracy",
        ],
        &rows,
    );
    for (stem, cells) in sweeps {
        report.paragraph(format!(
            "{stem}/: a sweep of {} cells; its report compares them.",
            cells.len()
        ));
    }
    if !findings.is_empty() {
        report.section("Findings");
        for f in findings {
            report.paragraph(f.text.clone());
        }
    }
    report.write(path)
}
