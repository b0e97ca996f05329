//! `nabla sweep`: every grid point × every replicate, several at a time within a thread
//! budget, resumable, summarised as mean ± std per grid point and an error-bar plot.
//!
//! ```text
//! OUT/cells/p003-r1.json   one finished cell: its settings, resolved config and results
//! OUT/summary.csv          per grid point: the settings, n, mean and std of the metric
//! OUT/sweep.png            mean ± std against a swept value on a log axis (and .svg)
//! OUT/report.html          the table, the plot, and every cell
//! ```
//!
//! Resuming: a cell whose result file exists and was made from the same resolved config is
//! not run again, so an interrupted sweep (or one with a grid point added) only computes what
//! is missing. Each result file is written atomically: a killed run leaves none half-written.

use super::file::{value_text, Cell, ExperimentFile};
use crate::error::{Error, Result};
use crate::report::plots::{error_bars_log_x, mean_std, ChartText};
use crate::report::{write_atomic, HtmlReport};
use crate::run::{run, DataCache, RunOptions, RunRecord, RunSpec};
use crate::train::{Stream, Verbosity};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use toml::Value;

/// How a sweep uses the machine.
#[derive(Clone, Copy, Debug)]
pub struct SweepOptions {
    /// Cells trained at the same time.
    pub jobs: usize,
    /// Threads each cell's training may use; `jobs × threads_per_job` is the budget.
    pub threads_per_job: usize,
    pub stream: Stream,
}

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
}

/// What `run_sweep` did: every cell's record, and which ones it computed this time.
pub struct SweepOutcome {
    pub records: Vec<CellRecord>,
    pub computed: Vec<String>,
    pub reused: Vec<String>,
    pub summary: Vec<PointSummary>,
}

/// Mean ± std of the metric over one grid point's replicates.
#[derive(Clone, Debug, Serialize)]
pub struct PointSummary {
    pub point: usize,
    pub settings: Vec<(String, String)>,
    pub n: usize,
    pub mean: f64,
    pub std: f64,
    pub test_accuracy_mean: f64,
    pub test_accuracy_std: f64,
}

pub fn run_sweep(file: &ExperimentFile, out: &Path, options: SweepOptions) -> Result<SweepOutcome> {
    let sweep = file.sweep.as_ref().ok_or_else(|| {
        Error::invalid(format!(
            "{}: has no [sweep] section (use `nabla run` for a single run or variants)",
            file.doc.path.display()
        ))
    })?;
    // Resolve every cell first, so a bad value fails before hours of training.
    let cells = file.cells();
    let experiments: Vec<RunSpec> = cells.iter().map(|c| file.cell(c)).collect::<Result<_>>()?;
    let cells_dir = out.join("cells");
    std::fs::create_dir_all(&cells_dir).map_err(|e| Error::io(&cells_dir, e))?;

    let say = |text: String| match options.stream {
        Stream::Stdout => println!("{text}"),
        Stream::Stderr => eprintln!("{text}"),
    };
    let mut records: Vec<Option<CellRecord>> = vec![None; cells.len()];
    let mut pending = Vec::new();
    let mut reused = Vec::new();
    for (i, (cell, experiment)) in cells.iter().zip(&experiments).enumerate() {
        let config = serde_json::to_value(experiment).expect("configs serialize");
        match read_record(&cell_path(&cells_dir, cell)) {
            Some(record) if record.config == config => {
                reused.push(cell.id());
                records[i] = Some(record);
            }
            _ => pending.push(i),
        }
    }
    say(format!(
        "sweep: {} cells ({} grid points x {} replicates), {} already done, {} to run, {} at a time",
        cells.len(),
        cells.len() / sweep.replicates,
        sweep.replicates,
        reused.len(),
        pending.len(),
        options.jobs.max(1)
    ));

    let cache = DataCache::default();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    let finished: Mutex<Vec<(usize, CellRecord)>> = Mutex::new(Vec::new());
    let total = cells.len();
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1).min(pending.len().max(1)) {
            scope.spawn(|| {
                let pool = match rayon::ThreadPoolBuilder::new()
                    .num_threads(options.threads_per_job.max(1))
                    .build()
                {
                    Ok(pool) => pool,
                    Err(e) => {
                        failed.store(true, Ordering::SeqCst);
                        let e = Error::invalid(format!("cannot start a thread pool: {e}"));
                        first_error.lock().unwrap().get_or_insert(e);
                        return;
                    }
                };
                while !failed.load(Ordering::SeqCst) {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&i) = pending.get(k) else { break };
                    let (cell, experiment) = (&cells[i], &experiments[i]);
                    let outcome = pool.install(|| run_cell(cell, experiment, &cache, &cells_dir));
                    match outcome {
                        Ok(record) => {
                            say(format!(
                                "[{}/{total}] {} {}: {} = {:.4}, test accuracy {:.4}",
                                i + 1,
                                cell.id(),
                                cell.label(),
                                sweep.metric,
                                record.result.metric(&sweep.metric).unwrap_or(f64::NAN),
                                record.result.test_accuracy()
                            ));
                            finished.lock().unwrap().push((i, record));
                        }
                        Err(e) => {
                            failed.store(true, Ordering::SeqCst);
                            let e = Error::invalid(format!(
                                "sweep cell {} ({}): {e}",
                                cell.id(),
                                cell.label()
                            ));
                            first_error.lock().unwrap().get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap() {
        return Err(e);
    }
    let mut computed = Vec::new();
    for (i, record) in finished.into_inner().unwrap() {
        computed.push(record.id.clone());
        records[i] = Some(record);
    }
    computed.sort();
    let records: Vec<CellRecord> = records
        .into_iter()
        .map(|r| r.expect("every cell is reused or computed"))
        .collect();
    let summary = summarise(&records, &sweep.metric);
    let base = file.base()?;
    write_summary(out, &base, &sweep.metric, &sweep.axes, &records, &summary)?;
    for s in &summary {
        let settings: Vec<String> = s.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
        say(format!(
            "{}: {} = {:.4} ± {:.4} (n = {})",
            settings.join(", "),
            sweep.metric,
            s.mean,
            s.std,
            s.n
        ));
    }
    Ok(SweepOutcome {
        records,
        computed,
        reused,
        summary,
    })
}

fn cell_path(dir: &Path, cell: &Cell) -> PathBuf {
    dir.join(format!("{}.json", cell.id()))
}

/// A finished cell's record, or `None` if it is missing or unreadable (then it runs again).
fn read_record(path: &Path) -> Option<CellRecord> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

fn run_cell(
    cell: &Cell,
    experiment: &RunSpec,
    cache: &DataCache,
    cells_dir: &Path,
) -> Result<CellRecord> {
    let output = run(
        experiment,
        RunOptions {
            out: Some(cells_dir.join(cell.id())),
            kind: "cell".into(),
            verbosity: Verbosity::Silent,
            stream: Stream::Stderr,
            data: Some(cache),
            ..RunOptions::default()
        },
    )?;
    let record = CellRecord {
        id: cell.id(),
        label: cell.label(),
        point: cell.point,
        replicate: cell.replicate,
        seed: experiment.training.seed,
        settings: settings_text(&cell.assignments),
        config: serde_json::to_value(experiment).expect("configs serialize"),
        result: output.record.without_images(),
    };
    let text = serde_json::to_string_pretty(&record).expect("records serialize");
    write_atomic(cell_path(cells_dir, cell), text.as_bytes())?;
    Ok(record)
}

fn settings_text(assignments: &[(String, Value)]) -> Vec<(String, String)> {
    assignments
        .iter()
        .map(|(k, v)| (k.clone(), value_text(v)))
        .collect()
}

/// Groups the records by grid point: mean and population std (numpy's) over replicates.
pub fn summarise(records: &[CellRecord], metric: &str) -> Vec<PointSummary> {
    let points = records.iter().map(|r| r.point).max().map_or(0, |m| m + 1);
    (0..points)
        .filter_map(|p| {
            let group: Vec<&CellRecord> = records.iter().filter(|r| r.point == p).collect();
            let first = group.first()?;
            let values: Vec<f64> = group
                .iter()
                .map(|r| r.result.metric(metric).unwrap_or(f64::NAN))
                .collect();
            let tests: Vec<f64> = group.iter().map(|r| r.result.test_accuracy()).collect();
            let (mean, std) = mean_std(&values);
            let (test_accuracy_mean, test_accuracy_std) = mean_std(&tests);
            Some(PointSummary {
                point: p,
                settings: first.settings.clone(),
                n: group.len(),
                mean,
                std,
                test_accuracy_mean,
                test_accuracy_std,
            })
        })
        .collect()
}

/// A swept axis whose values are positive numbers spanning at least two decades: plotted on
/// a log axis (L2 factors, learning rates).
fn log_axis(values: &[Value]) -> Option<Vec<f64>> {
    let xs: Vec<f64> = values
        .iter()
        .map(|v| match v {
            Value::Float(f) => Some(*f),
            Value::Integer(i) => Some(*i as f64),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let (lo, hi) = xs.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &x| {
        (lo.min(x), hi.max(x))
    });
    (lo > 0.0 && hi / lo >= 100.0).then_some(xs)
}

fn write_summary(
    out: &Path,
    base: &RunSpec,
    metric: &str,
    axes: &[(String, Vec<Value>)],
    records: &[CellRecord],
    summary: &[PointSummary],
) -> Result<()> {
    let keys: Vec<&str> = axes.iter().map(|(k, _)| k.as_str()).collect();
    let mut csv = keys.join(",");
    csv += &format!(",n,{metric}_mean,{metric}_std,test_accuracy_mean,test_accuracy_std\n");
    let mut rows = Vec::new();
    for s in summary {
        let values: Vec<&str> = s.settings.iter().map(|(_, v)| v.as_str()).collect();
        csv += &format!(
            "{},{},{},{},{},{}\n",
            values
                .iter()
                .map(|v| csv_field(v))
                .collect::<Vec<_>>()
                .join(","),
            s.n,
            s.mean,
            s.std,
            s.test_accuracy_mean,
            s.test_accuracy_std
        );
        let mut row: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        row.push(s.n.to_string());
        row.push(format!("{:.4} ± {:.4}", s.mean, s.std));
        row.push(format!(
            "{:.4} ± {:.4}",
            s.test_accuracy_mean, s.test_accuracy_std
        ));
        rows.push(row);
    }
    write_atomic(out.join("summary.csv"), csv.as_bytes())?;
    let json = serde_json::to_string_pretty(summary).expect("summaries serialize");
    write_atomic(out.join("summary.json"), json.as_bytes())?;

    let mut report = HtmlReport::new(format!("nabla: {} — sweep", base.name));
    if !base.description.is_empty() {
        report.paragraph(base.description.clone());
    }
    let mut headers: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    headers.push("n".into());
    headers.push(format!("{metric} (mean ± std)"));
    headers.push("test accuracy (mean ± std)".into());
    report.section("Summary").table(&headers, &rows);

    // The error-bar plot: against the first axis that spans decades, one plot for each
    // combination of the other axes.
    if let Some(x_axis) = axes.iter().position(|(_, v)| log_axis(v).is_some()) {
        let xs_all = log_axis(&axes[x_axis].1).expect("checked");
        let mut groups: Vec<(String, Vec<&PointSummary>)> = Vec::new();
        for s in summary {
            let others: Vec<String> = s
                .settings
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != x_axis)
                .map(|(_, (k, v))| format!("{k}={v}"))
                .collect();
            let label = others.join(", ");
            match groups.iter_mut().find(|(l, _)| *l == label) {
                Some((_, g)) => g.push(s),
                None => groups.push((label, vec![s])),
            }
        }
        for (g, (label, points)) in groups.iter().enumerate() {
            let xs: Vec<f64> = points
                .iter()
                .map(|p| {
                    let v = &p.settings[x_axis].1;
                    let i = axes[x_axis]
                        .1
                        .iter()
                        .position(|a| value_text(a) == *v)
                        .unwrap_or(0);
                    xs_all[i]
                })
                .collect();
            let means: Vec<f64> = points.iter().map(|p| p.mean).collect();
            let stds: Vec<f64> = points.iter().map(|p| p.std).collect();
            let stem = if groups.len() == 1 {
                "sweep".to_string()
            } else {
                format!("sweep_{g}")
            };
            let title = if label.is_empty() {
                format!("{metric} vs {}", axes[x_axis].0)
            } else {
                format!("{metric} vs {} ({label})", axes[x_axis].0)
            };
            let text = ChartText {
                title: &title,
                x_desc: &axes[x_axis].0,
                y_desc: metric,
            };
            let files = error_bars_log_x(out, &stem, &text, &xs, &means, &stds)?;
            report.image_file(format!("{title}: mean ± std over replicates"), &files.png)?;
        }
    } else {
        report.paragraph(
            "No error-bar plot: no swept setting is numeric and spans two decades or more.",
        );
    }
    report.section("Cells");
    let cell_rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.label.clone(),
                r.seed.to_string(),
                format!("{:.4}", r.result.metric(metric).unwrap_or(f64::NAN)),
                format!("{:.4}", r.result.test_accuracy()),
                format!("{:.1}", r.result.info.seconds),
            ]
        })
        .collect();
    report.table(
        &[
            "cell",
            "settings",
            "seed",
            metric,
            "test accuracy",
            "seconds",
        ],
        &cell_rows,
    );
    if base.output.report {
        report.write(&out.join("report.html"))?;
    }
    Ok(())
}

fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}
