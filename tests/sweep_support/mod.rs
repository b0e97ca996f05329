//! Shared by the sweep tests: a tiny sweep file, the `nabla` binary, and output comparison.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// 2 L2 values (two decades apart, so the error-bar plot is drawn) x 2 replicates of a
/// 784-16-10 MLP on 200 built-in samples for 1 epoch: 4 cells, each well under a second.
pub const SWEEP: &str = r#"
name = "test sweep"

[data]
source = "mnist-sample"
limit = 200

[model]
layers = [
  { type = "Flatten" },
  { type = "Dense", units = 16, activation = "relu" },
  { type = "Dense", units = 10, activation = "softmax" },
]

[training]
epochs = 1
batch_size = 32

[sweep]
replicates = 2
grid = { "model.l2" = [1e-5, 1e-3] }
"#;

/// A fresh temporary folder, removed when dropped.
pub fn temp_dir(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("nabla-{tag}-"))
        .tempdir()
        .unwrap()
}

/// Writes a sweep file into `dir` and returns its path.
pub fn sweep_file(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("sweep.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `nabla ARGS` with extra environment variables; the output, whatever the exit status.
pub fn nabla(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nabla"));
    command.args(args);
    // A sweep run by a test never inherits a cluster's cell number.
    command.env_remove("SLURM_ARRAY_TASK_ID");
    command.env_remove("JOB_COMPLETION_INDEX");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

/// `nabla ARGS`, which must succeed; its stdout.
pub fn ok(args: &[&str], env: &[(&str, &Path)]) -> String {
    let out = nabla(args, env);
    assert!(
        out.status.success(),
        "nabla {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The cell indexes a train log names, in the order they were trained.
pub fn trainings(log: &Path) -> Vec<usize> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect()
}

/// The merged outputs of two sweep directories are the same bytes, apart from the cells'
/// seconds (one decimal, in the report's cells table).
pub fn assert_same_merge(a: &Path, b: &Path) {
    for f in ["summary.csv", "summary.json", "sweep.svg", "sweep.png"] {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap(),
            std::fs::read(b.join(f)).unwrap(),
        );
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
    let mask = |p: &Path| {
        let html = std::fs::read_to_string(p.join("report.html")).unwrap();
        let mut out = String::new();
        let mut rest = html.as_str();
        // Replace every `<td>D.D</td>` (a one-decimal number: seconds) with a marker.
        while let Some(i) = rest.find("<td>") {
            out += &rest[..i];
            let cell = &rest[i + 4..];
            let end = cell.find("</td>").unwrap_or(cell.len());
            let text = &cell[..end];
            let seconds = text.split_once('.').is_some_and(|(w, f)| {
                !w.is_empty()
                    && f.len() == 1
                    && (w.to_owned() + f).bytes().all(|c| c.is_ascii_digit())
            });
            out += if seconds {
                "<td>(seconds)"
            } else {
                &rest[i..i + 4 + end]
            };
            rest = &cell[end..];
        }
        out + rest
    };
    assert!(
        mask(a) == mask(b),
        "report.html differs beyond the cells' seconds"
    );
}
