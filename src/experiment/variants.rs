//! `nabla run`: the base experiment, or each of its variants side by side with comparison
//! plots (validation accuracy and loss of every variant on one chart) and a table.
//!
//! ```text
//! OUT/<variant>/...      one run directory per variant (see `rundir`)
//! OUT/comparison.csv     final numbers of every variant
//! OUT/val_accuracy.png   validation accuracy per epoch, one line per variant (and .svg)
//! OUT/val_loss.png       validation loss per epoch, one line per variant (and .svg)
//! OUT/report.html        the comparison, then every variant's own report
//! ```

use super::file::ExperimentFile;
use crate::error::{Error, Result};
use crate::report::plots::runs_overlay;
use crate::report::{write_atomic, HtmlReport};
use crate::run::{run, DataCache, RunOptions, RunRecord};
use crate::train::{Stream, Verbosity};
use std::path::Path;
use std::sync::atomic::AtomicBool;

/// How `nabla run` talks and whether it can be interrupted.
#[derive(Clone, Copy, Debug)]
pub struct FileRunOptions<'a> {
    pub verbosity: Verbosity,
    pub stream: Stream,
    pub interrupt: Option<&'a AtomicBool>,
}

impl Default for FileRunOptions<'_> {
    fn default() -> Self {
        FileRunOptions {
            verbosity: Verbosity::Lines,
            stream: Stream::Stdout,
            interrupt: None,
        }
    }
}

/// Runs the file's base (into `out`) or every variant (into `out/<name>`), and returns the
/// records in order. An interrupted variant ends the list (its record is the last one).
pub fn run_file(
    file: &ExperimentFile,
    out: &Path,
    options: FileRunOptions,
) -> Result<Vec<(String, RunRecord)>> {
    // Resolve everything first: a typo in the last variant fails before any training.
    let runs = file.runs()?;
    let cache = DataCache::default();
    let say = |text: String| match options.stream {
        Stream::Stdout => println!("{text}"),
        Stream::Stderr => eprintln!("{text}"),
    };
    let mut results = Vec::new();
    let single = file.variants.is_empty();
    for (name, spec) in &runs {
        if !single {
            say(format!("== variant {name}"));
        }
        let dir = if single {
            out.to_path_buf()
        } else {
            out.join(name)
        };
        let output = run(
            spec,
            RunOptions {
                out: Some(dir),
                kind: if single { "run" } else { "variant" }.into(),
                verbosity: options.verbosity,
                stream: options.stream,
                data: Some(&cache),
                interrupt: options.interrupt,
                argv: std::env::args().collect(),
                ..RunOptions::default()
            },
        )?;
        let interrupted = output.interrupted();
        results.push((name.clone(), output.record));
        if interrupted {
            return Ok(results);
        }
    }
    if !single {
        let base = file.base()?;
        write_comparison(out, &base.name, &results, base.output.report)?;
    }
    Ok(results)
}

/// The comparison of several runs: overlay plots, a table, a CSV and a report.
fn write_comparison(
    out: &Path,
    title: &str,
    results: &[(String, RunRecord)],
    write_report: bool,
) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let mut report = HtmlReport::new(format!("nabla: {title} — variants"));
    report.section("Comparison");
    let headers = [
        "variant",
        "test accuracy",
        "test loss",
        "final val accuracy",
        "final val loss",
        "best val accuracy",
        "params",
        "seconds",
    ];
    let mut csv = String::from(
        "variant,test_accuracy,test_loss,val_accuracy,val_loss,best_val_accuracy,params,seconds\n",
    );
    let mut rows = Vec::new();
    for (name, r) in results {
        let val_acc = r.metric("val_accuracy").unwrap_or(f64::NAN);
        let val_loss = r.metric("val_loss").unwrap_or(f64::NAN);
        let best = r
            .history
            .val_accuracy
            .iter()
            .copied()
            .fold(f64::NAN, f64::max);
        let params = r.params();
        let (test_accuracy, test_loss) = (r.test_accuracy(), r.test_loss());
        let seconds = r.info.seconds;
        csv += &format!(
            "{name},{test_accuracy},{test_loss},{val_acc},{val_loss},{best},{params},{seconds}\n"
        );
        rows.push(vec![
            name.clone(),
            format!("{test_accuracy:.4}"),
            format!("{test_loss:.4}"),
            format!("{val_acc:.4}"),
            format!("{val_loss:.4}"),
            format!("{best:.4}"),
            params.to_string(),
            format!("{seconds:.1}"),
        ]);
    }
    write_atomic(out.join("comparison.csv"), csv.as_bytes())?;
    report.table(&headers, &rows);
    // Which variant is best, and whether one run each can say so (it cannot: no spread).
    let finals: Vec<(String, Vec<f64>)> = results
        .iter()
        .filter_map(|(name, r)| Some((name.clone(), vec![r.metric("val_accuracy")?])))
        .collect();
    let findings = crate::report::findings::variant_findings(&finals, "val_accuracy", true);
    if !findings.is_empty() {
        report.section("Findings");
        for f in &findings {
            report.paragraph(f.text.clone());
        }
    }
    for (stem, key, title, y) in [
        (
            "val_accuracy",
            "val_accuracy",
            "Validation accuracy",
            "validation accuracy",
        ),
        ("val_loss", "val_loss", "Validation loss", "validation loss"),
        ("loss", "loss", "Training loss", "training loss"),
    ] {
        let series: Vec<(&str, &Vec<f64>)> = results
            .iter()
            .map(|(name, r)| {
                let values = match key {
                    "val_accuracy" => &r.history.val_accuracy,
                    "val_loss" => &r.history.val_loss,
                    _ => &r.history.loss,
                };
                (name.as_str(), values)
            })
            .collect();
        let files = runs_overlay(out, stem, title, y, &series)?;
        report.image_file(format!("{title} per epoch, every variant"), &files.png)?;
    }
    if write_report {
        for (name, _) in results {
            report.section(format!("Variant {name}"));
            report.paragraph(format!("Its full report: {name}/report.html"));
            let curves = out.join(name).join("curves.png");
            if curves.exists() {
                report.image_file(format!("{name}: loss and accuracy per epoch"), &curves)?;
            }
        }
        report.write(&out.join("report.html"))?;
    }
    Ok(())
}
