//! Clusters: `--slurm` writes a job-array script and a dependent merge script (checked line by
//! line and run by bash as a task would run); `--only-missing` asks for just the cells not
//! done; `--k8s-job` prints an Indexed Job that the Kubernetes Python client accepts field for
//! field; and the real thing: `tests/slurm/run_cluster_test.sh` starts a single-node Slurm
//! cluster, submits a 4x2 sweep with `--slurm --submit` and compares the merge with the
//! in-process sweep's (it skips, saying why, where no cluster can start).

mod sweep_support;

use std::path::Path;
use std::process::Command;
use sweep_support::*;

#[test]
fn slurm_scripts_run_one_cell_per_task_and_merge_after() {
    let dir = temp_dir("slurm");
    let file = sweep_file(dir.path(), SWEEP);
    let out = dir.path().join("out");
    let (file_s, out_s) = (file.to_str().unwrap(), out.to_str().unwrap());
    let printed = ok(
        &[
            "sweep",
            file_s,
            "--out",
            out_s,
            "--limit",
            "100",
            "--slurm",
            "--partition",
            "debug",
            "--time",
            "0:10:00",
            "--cpus-per-task",
            "1",
            "--mem",
            "1G",
            "--jobs",
            "3",
        ],
        &[],
    );
    assert!(
        printed.contains("sbatch --dependency=afterok:$job"),
        "{printed}"
    );
    let cells = std::fs::read_to_string(out.join("slurm/cells.sbatch")).unwrap();
    for line in [
        "#!/bin/bash",
        "#SBATCH --array=0-3%3",
        "#SBATCH --cpus-per-task=1",
        "#SBATCH --partition=debug",
        "#SBATCH --time=0:10:00",
        "#SBATCH --mem=1G",
        &format!("#SBATCH --output={out_s}/slurm/%A_%a.out"),
    ] {
        assert!(
            cells.lines().any(|l| l == line),
            "no line {line:?} in:\n{cells}"
        );
    }
    let exec = cells.lines().find(|l| l.starts_with("exec ")).unwrap();
    assert!(
        exec.contains(&format!("'{file_s}' '--out' '{out_s}' '--limit' '100'"))
            && exec.ends_with(
                "--cell \"$SLURM_ARRAY_TASK_ID\" --threads \"${SLURM_CPUS_PER_TASK:-1}\""
            ),
        "{exec}"
    );
    let merge = std::fs::read_to_string(out.join("slurm/merge.sbatch")).unwrap();
    assert!(
        merge.contains("#SBATCH --kill-on-invalid-dep=yes"),
        "{merge}"
    );
    assert!(merge
        .lines()
        .any(|l| l.starts_with("exec ") && l.ends_with(" --merge")));

    // The scripts are plain bash: run as Slurm would run task 2, then task 0, and the merge.
    let log = dir.path().join("trainings.log");
    for task in ["2", "0"] {
        let status = Command::new("bash")
            .arg(out.join("slurm/cells.sbatch"))
            .env("SLURM_ARRAY_TASK_ID", task)
            .env("SLURM_CPUS_PER_TASK", "1")
            .env("NABLA_TEST_TRAIN_LOG", &log)
            .output()
            .unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
    assert_eq!(trainings(&log), [2, 0]);
    let merged = Command::new("bash")
        .arg(out.join("slurm/merge.sbatch"))
        .output()
        .unwrap();
    assert!(!merged.status.success(), "two cells are missing");
    assert!(String::from_utf8_lossy(&merged.stderr).contains("merged 2 of 4 cells"));

    // --only-missing: an array of the two cells not done.
    ok(
        &[
            "sweep",
            file_s,
            "--out",
            out_s,
            "--limit",
            "100",
            "--slurm",
            "--only-missing",
        ],
        &[],
    );
    let cells = std::fs::read_to_string(out.join("slurm/cells.sbatch")).unwrap();
    assert!(
        cells.lines().any(|l| l == "#SBATCH --array=1,3%2"),
        "{cells}"
    );

    // Values that would break an #SBATCH line are refused; so is --submit without sbatch.
    let bad = nabla(
        &[
            "sweep",
            file_s,
            "--out",
            out_s,
            "--slurm",
            "--partition",
            "a b",
        ],
        &[],
    );
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--partition \"a b\""));
    let empty = dir.path().join("empty-path");
    std::fs::create_dir(&empty).unwrap();
    let no_sbatch = nabla(
        &["sweep", file_s, "--out", out_s, "--slurm", "--submit"],
        &[("PATH", &empty)],
    );
    assert!(!no_sbatch.status.success());
    assert!(String::from_utf8_lossy(&no_sbatch.stderr).contains("cannot run sbatch"));
}

/// `NABLA_PYTHON` (default `python3`) if it has these modules.
fn python_with(modules: &str) -> Option<String> {
    let python = std::env::var("NABLA_PYTHON").unwrap_or_else(|_| "python3".into());
    let found = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("skipped: {python} lacks {modules} (pip install pyyaml kubernetes)");
    }
    found.then_some(python)
}

#[test]
fn k8s_indexed_job_is_accepted_by_the_kubernetes_client() {
    let dir = temp_dir("k8s");
    let file = sweep_file(dir.path(), SWEEP);
    let out = dir.path().join("l2-sweep");
    let manifest = ok(
        &[
            "sweep",
            file.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--k8s-job",
            "--jobs",
            "3",
            "--limit",
            "100",
            "--image",
            "registry.example/nabla:0.1",
        ],
        &[],
    );
    assert!(manifest.contains("completionMode: Indexed"), "{manifest}");
    assert!(
        manifest.contains(
            r#"command: ["nabla", "sweep", "/sweep/sweep.toml", "--out", "/sweep/l2-sweep", "--limit", "100", "--cell", "--threads", "1"]"#
        ),
        "{manifest}"
    );
    let Some(python) = python_with("yaml, kubernetes") else {
        return;
    };
    let job = dir.path().join("job.yaml");
    std::fs::write(&job, &manifest).unwrap();
    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/k8s/check_job.py");
    let output = Command::new(python)
        .arg(check)
        .arg(&job)
        .args(["4", "3"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_real_slurm_cluster_runs_the_sweep() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slurm/run_cluster_test.sh");
    let output = Command::new("bash")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_nabla"))
        .env_remove("NABLA_TEST_TRAIN_LOG")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("skipped: ") || stdout.contains("slurm cluster test passed"),
        "{stdout}"
    );
}
