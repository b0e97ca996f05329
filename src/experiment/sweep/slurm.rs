//! Slurm: a job array with one task per cell (`nabla sweep FILE --cell $SLURM_ARRAY_TASK_ID`)
//! and a merge job that runs once every task succeeded (`--dependency=afterok:<array job>`).
//!
//! ```text
//! OUT/slurm/cells.sbatch     #SBATCH --array=0-7%4 ...; one cell per task
//! OUT/slurm/merge.sbatch     nabla sweep FILE --merge
//! OUT/slurm/<job>_<task>.out each task's output
//! ```
//!
//! A failed task leaves `cells/<id>.failed.json`; the merge job is then cancelled by Slurm
//! (`--kill-on-invalid-dep=yes`), `nabla sweep FILE --merge` lists what is missing, and
//! `--slurm --only-missing` writes (and submits) an array of just those cells.

use super::cells::SweepDir;
use super::plan::Plan;
use crate::error::{Error, Result};
use crate::files::write_atomic;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What to ask Slurm for, per task.
#[derive(Clone, Debug, Default)]
pub struct SlurmOptions {
    pub partition: Option<String>,
    /// Wall-clock limit per task, in Slurm's form (`30`, `2:00:00`, `1-0`).
    pub time: Option<String>,
    /// CPUs per task (default 1); each task trains with that many threads.
    pub cpus_per_task: Option<usize>,
    /// Memory per task, in Slurm's form (`4G`).
    pub mem: Option<String>,
    /// Tasks running at the same time (`%max` of the array); default all.
    pub max_parallel: Option<usize>,
    /// Only the cells that are not done (missing, failed, corrupt or stale).
    pub only_missing: bool,
}

/// The scripts written for one submission.
#[derive(Clone, Debug)]
pub struct SlurmScripts {
    pub cells: PathBuf,
    pub merge: PathBuf,
    /// The `--array` value, e.g. `0-7%4` or `2,5-6%3`.
    pub array: String,
    pub indexes: Vec<usize>,
}

/// Writes `OUT/slurm/cells.sbatch` and `merge.sbatch`. `command` is the argv that runs this
/// sweep (program, `sweep`, the file, `--out`, overrides), absolute paths included; the scripts
/// add `--cell` or `--merge`. `None` when `only_missing` finds every cell done.
pub fn write_scripts(
    plan: &Plan,
    out: &Path,
    command: &[String],
    options: &SlurmOptions,
) -> Result<Option<SlurmScripts>> {
    let dir = SweepDir::create(out)?;
    let indexes: Vec<usize> = plan
        .cells
        .iter()
        .filter(|c| !options.only_missing || !dir.state(c).is_done())
        .map(|c| c.index)
        .collect();
    if indexes.is_empty() {
        return Ok(None);
    }
    if options.cpus_per_task == Some(0) || options.max_parallel == Some(0) {
        return Err(Error::invalid(
            "--cpus-per-task and --jobs must be at least 1",
        ));
    }
    for (flag, value) in [
        ("--partition", &options.partition),
        ("--time", &options.time),
        ("--mem", &options.mem),
    ] {
        if let Some(v) = value {
            if v.is_empty()
                || !v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.:,-+@".contains(c))
            {
                return Err(Error::invalid(format!(
                    "{flag} {v:?}: use letters, digits and _ . : , - + @ only"
                )));
            }
        }
    }
    let out = std::path::absolute(out).map_err(|e| Error::io(out, e))?;
    let logs = out.join("slurm");
    std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
    let workdir = std::env::current_dir().map_err(|e| Error::io(Path::new("."), e))?;
    for path in [&logs, &workdir] {
        if path
            .to_string_lossy()
            .contains(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        {
            return Err(Error::invalid(format!(
                "{}: Slurm's #SBATCH lines cannot hold this path (spaces or quotes); use another --out or directory",
                path.display()
            )));
        }
    }
    let max = options
        .max_parallel
        .unwrap_or(indexes.len())
        .min(indexes.len());
    let array = format!("{}%{max}", ranges(&indexes));
    let name = job_name(&plan.base.name);
    let cpus = options.cpus_per_task.unwrap_or(1);
    let mut header = vec![
        "#!/bin/bash".to_string(),
        "# Written by `nabla sweep --slurm`: one task per sweep cell.".to_string(),
        format!("#SBATCH --job-name={name}"),
        format!("#SBATCH --array={array}"),
        format!("#SBATCH --cpus-per-task={cpus}"),
        format!("#SBATCH --output={}/%A_%a.out", logs.display()),
        format!("#SBATCH --chdir={}", workdir.display()),
    ];
    for (flag, value) in [
        ("partition", &options.partition),
        ("time", &options.time),
        ("mem", &options.mem),
    ] {
        if let Some(v) = value {
            header.push(format!("#SBATCH --{flag}={v}"));
        }
    }
    let argv = shell_words(command);
    let cells = format!(
        "{}\nset -eu\nexec {argv} --cell \"$SLURM_ARRAY_TASK_ID\" --threads \"${{SLURM_CPUS_PER_TASK:-{cpus}}}\"\n",
        header.join("\n")
    );
    let mut merge_header = vec![
        "#!/bin/bash".to_string(),
        "# Written by `nabla sweep --slurm`: merges the cells once every task succeeded."
            .to_string(),
        format!("#SBATCH --job-name={name}-merge"),
        "#SBATCH --cpus-per-task=1".to_string(),
        "#SBATCH --kill-on-invalid-dep=yes".to_string(),
        format!("#SBATCH --output={}/%j-merge.out", logs.display()),
        format!("#SBATCH --chdir={}", workdir.display()),
    ];
    for (flag, value) in [("partition", &options.partition), ("time", &options.time)] {
        if let Some(v) = value {
            merge_header.push(format!("#SBATCH --{flag}={v}"));
        }
    }
    let merge = format!(
        "{}\nset -eu\nexec {argv} --merge\n",
        merge_header.join("\n")
    );
    let scripts = SlurmScripts {
        cells: logs.join("cells.sbatch"),
        merge: logs.join("merge.sbatch"),
        array,
        indexes,
    };
    write_atomic(&scripts.cells, cells.as_bytes())?;
    write_atomic(&scripts.merge, merge.as_bytes())?;
    Ok(Some(scripts))
}

/// Submits the array, then the merge after it: `(array job id, merge job id)`.
pub fn submit(scripts: &SlurmScripts) -> Result<(String, String)> {
    let array = sbatch(&[], &scripts.cells)?;
    let merge = sbatch(&[format!("--dependency=afterok:{array}")], &scripts.merge)?;
    Ok((array, merge))
}

/// Runs `sbatch --parsable ARGS SCRIPT` and returns the job id it prints.
fn sbatch(args: &[String], script: &Path) -> Result<String> {
    let output = Command::new("sbatch")
        .arg("--parsable")
        .args(args)
        .arg(script)
        .output()
        .map_err(|e| {
            Error::invalid(format!(
                "cannot run sbatch ({e}): --submit needs Slurm's client commands on PATH; \
                 the script is {} (submit it with sbatch yourself)",
                script.display()
            ))
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(Error::invalid(format!(
            "sbatch {} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    // `--parsable` prints `id` or `id;cluster`.
    let id = stdout.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid(format!(
            "sbatch {} printed no job id: {stdout:?}",
            script.display()
        )));
    }
    Ok(id)
}

/// `[0, 1, 2, 5, 7, 8]` → `0-2,5,7-8`.
pub fn ranges(indexes: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < indexes.len() {
        let start = indexes[i];
        let mut end = start;
        while i + 1 < indexes.len() && indexes[i + 1] == end + 1 {
            end += 1;
            i += 1;
        }
        parts.push(if end == start {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

/// `nabla-<name>` with anything but letters, digits, `-` and `_` turned into `_`.
pub fn job_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    format!("nabla-{clean}")
}

/// Each word single-quoted for bash (a `'` inside becomes `'\''`).
fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("'{}'", w.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_ranges_and_names() {
        assert_eq!(ranges(&[0, 1, 2, 3]), "0-3");
        assert_eq!(ranges(&[0, 1, 2, 5, 7, 8]), "0-2,5,7-8");
        assert_eq!(ranges(&[4]), "4");
        assert_eq!(job_name("L2 sweep (500-300)"), "nabla-L2_sweep__500-300_");
        assert_eq!(
            shell_words(&["a b".into(), "it's".into()]),
            r"'a b' 'it'\''s'"
        );
    }
}
