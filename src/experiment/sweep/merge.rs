//! Merging: the summary, the error-bar plot and the report, from the cell files alone.
//!
//! ```text
//! OUT/summary.csv          per grid point: the settings, n, mean and std of the metric
//! OUT/summary.json         the same as JSON
//! OUT/sweep.png            mean ± std against a swept value on a log axis (and .svg)
//! OUT/report.html          the table, the plot, every cell, and the cells not done
//! ```
//!
//! Whoever runs it (the in-process sweep at its end, the process that finishes the last cell,
//! `nabla sweep --merge`, a dependent Slurm job) writes the same bytes from the same cells,
//! apart from the cells' timings in the report.

use super::super::file::value_text;
use super::cells::{CellRecord, CellState, SweepDir};
use super::plan::Plan;
use crate::error::Result;
use crate::report::plots::{error_bars_log_x, mean_std, ChartText};
use crate::report::{write_atomic, HtmlReport};
use crate::run::RunSpec as Experiment;
use serde::Serialize;
use std::path::Path;
use toml::Value;

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

/// A cell that is not done, and why.
#[derive(Clone, Debug)]
pub struct NotDone {
    pub index: usize,
    pub id: String,
    pub label: String,
    /// "missing", "failed: ...", "corrupt: ..." or "stale: ...".
    pub why: String,
}

/// What a merge found and wrote.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The finished cells, in plan order.
    pub records: Vec<CellRecord>,
    pub summary: Vec<PointSummary>,
    pub not_done: Vec<NotDone>,
}

impl Merged {
    pub fn complete(&self) -> bool {
        self.not_done.is_empty()
    }

    /// `missing p001-r0 (cell 2); failed p002-r1 (cell 5): ...`, one line per cell.
    pub fn describe_not_done(&self) -> String {
        self.not_done
            .iter()
            .map(|n| format!("cell {} {} ({}): {}", n.index, n.id, n.label, n.why))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Reads every cell's files and writes the summary, plot and report of the finished ones;
/// the report lists the cells that are not done, which are never merged.
pub fn merge(plan: &Plan, dir: &SweepDir) -> Result<Merged> {
    let mut records = Vec::new();
    let mut not_done = Vec::new();
    for cell in &plan.cells {
        let why = match dir.state(cell) {
            CellState::Done(record) => {
                records.push(*record);
                continue;
            }
            CellState::Missing => "missing".to_string(),
            CellState::Failed(e) => format!("failed: {e}"),
            CellState::Corrupt(e) => format!("corrupt result file, to train again: {e}"),
            CellState::Stale => "stale: its result was made from other settings".to_string(),
        };
        not_done.push(NotDone {
            index: cell.index,
            id: cell.id(),
            label: cell.cell.label(),
            why,
        });
    }
    let summary = summarise(&records, &plan.sweep.metric);
    write_summary(&dir.root, plan, &records, &summary, &not_done)?;
    Ok(Merged {
        records,
        summary,
        not_done,
    })
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
    plan: &Plan,
    records: &[CellRecord],
    summary: &[PointSummary],
    not_done: &[NotDone],
) -> Result<()> {
    let base: &Experiment = &plan.base;
    let metric = plan.sweep.metric.as_str();
    let axes = &plan.sweep.axes;
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
    let findings = sweep_findings(axes, records, metric);
    if !findings.is_empty() {
        report.section("Findings");
        for f in &findings {
            report.paragraph(f.text.clone());
        }
    }

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
    if !not_done.is_empty() {
        report.section("Cells not done");
        report.paragraph(format!(
            "{} of {} cells are not in this summary. Train them with `nabla sweep FILE --cell N`, \
             `--worker`, or `--slurm --only-missing`, then merge again.",
            not_done.len(),
            plan.cells.len()
        ));
        let rows: Vec<Vec<String>> = not_done
            .iter()
            .map(|n| {
                vec![
                    n.index.to_string(),
                    n.id.clone(),
                    n.label.clone(),
                    n.why.clone(),
                ]
            })
            .collect();
        report.table(&["index", "cell", "settings", "why"], &rows);
    }
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

/// The sweep's question answered from its cells: the best grid point and whether it beats the
/// next beyond the replicates' spread, and, for one numeric axis (an L2 factor), the value
/// with the best mean.
fn sweep_findings(
    axes: &[(String, Vec<toml::Value>)],
    records: &[CellRecord],
    metric: &str,
) -> Vec<crate::report::findings::Finding> {
    use crate::report::findings::{best_factor, variant_findings};
    let higher_better = metric.contains("accuracy");
    let mut points: Vec<(usize, String, Vec<f64>)> = Vec::new();
    for r in records {
        let Some(value) = r.result.metric(metric) else {
            continue;
        };
        match points.iter_mut().find(|p| p.0 == r.point) {
            Some(p) => p.2.push(value),
            None => {
                let label = r
                    .settings
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                points.push((r.point, label, vec![value]));
            }
        }
    }
    points.sort_by_key(|p| p.0);
    let named: Vec<(String, Vec<f64>)> =
        points.iter().map(|p| (p.1.clone(), p.2.clone())).collect();
    let mut found = variant_findings(&named, metric, higher_better);
    if let [(key, values)] = axes {
        let numeric: Option<Vec<f64>> = values
            .iter()
            .map(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
            .collect();
        if let Some(xs) = numeric {
            let at: Vec<(f64, Vec<f64>)> = points
                .iter()
                .filter_map(|p| xs.get(p.0).map(|&x| (x, p.2.clone())))
                .collect();
            found.extend(best_factor(key, &at, metric, higher_better));
        }
    }
    found
}
