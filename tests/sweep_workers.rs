//! Shared-directory workers: three at once train each cell exactly once; a worker killed with
//! SIGKILL in the middle of a cell has that cell taken over and finished by another; two
//! in-process sweeps on one directory share the cells instead of both training all of them.

mod sweep_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use sweep_support::*;

/// 3 grid points x 2 replicates: 6 cells.
fn six_cells() -> String {
    SWEEP.replace("[1e-5, 1e-3]", "[1e-5, 1e-4, 1e-3]")
}

fn spawn(args: &[&str], env: &[(&str, &Path)]) -> std::process::Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nabla"));
    command
        .args(args)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("JOB_COMPLETION_INDEX")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        command.env(k, v);
    }
    command.spawn().unwrap()
}

#[test]
fn three_workers_train_each_cell_exactly_once() {
    let dir = temp_dir("workers");
    let file = sweep_file(dir.path(), &six_cells());
    let out = dir.path().join("out");
    let log = dir.path().join("trainings.log");
    let args = [
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--worker",
        "--threads",
        "1",
    ];
    let env = [("NABLA_TEST_TRAIN_LOG", log.as_path())];
    let workers: Vec<_> = (0..3).map(|_| spawn(&args, &env)).collect();
    for w in workers {
        let output = w.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut trained = trainings(&log);
    trained.sort();
    assert_eq!(trained, [0, 1, 2, 3, 4, 5], "each cell once");
    assert!(out.join("summary.csv").is_file());
    // Every claim was given back.
    assert_eq!(std::fs::read_dir(out.join("claims")).unwrap().count(), 0);

    // The in-process sweep over the same directory has nothing left to do and merges the same.
    let local = dir.path().join("local");
    ok(
        &[
            "sweep",
            file.to_str().unwrap(),
            "--out",
            local.to_str().unwrap(),
            "--threads",
            "1",
            "--jobs",
            "1",
        ],
        &[],
    );
    assert_same_merge(&local, &out);
}

#[test]
fn a_killed_worker_has_its_cell_taken_over_and_finished() {
    let dir = temp_dir("killed");
    let file = sweep_file(dir.path(), SWEEP);
    let out = dir.path().join("out");
    let log = dir.path().join("trainings.log");
    let never = dir.path().join("never-created");
    // A claim timeout of an hour: the takeover below cannot come from waiting for the
    // heartbeat to age; it comes from seeing that the claimant's process is gone.
    let args = [
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--worker",
        "--threads",
        "1",
        "--claim-timeout",
        "3600",
    ];
    let mut first = spawn(
        &args,
        &[("NABLA_TEST_TRAIN_LOG", &log), ("NABLA_TEST_HOLD", &never)],
    );
    // It claims cell 0, logs the start of its training and holds there until killed.
    let start = Instant::now();
    while trainings(&log).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "worker never started a cell"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(trainings(&log), [0]);
    let claims: Vec<String> = std::fs::read_dir(out.join("claims"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(claims, ["p000-r0.claim.0"]);
    let started = std::fs::read_dir(out.join("cells")).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".p000-r0.run-")
    });
    assert!(started, "the worker has its temporary run directory");
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    assert!(!out.join("cells/p000-r0.json").exists());

    let output = ok(&args, &[("NABLA_TEST_TRAIN_LOG", &log)]);
    assert!(output.contains("every cell is done"), "{output}");
    // Cell 0 was started twice (the killed attempt and the takeover), every other once.
    assert_eq!(trainings(&log), [0, 0, 1, 2, 3]);
    assert!(out.join("cells/p000-r0.json").is_file());
    assert_eq!(std::fs::read_dir(out.join("claims")).unwrap().count(), 0);
    // The killed attempt's temporary run directory is gone; the finished one is in place.
    let run = out.join("cells/p000-r0");
    assert!(run.join("metrics.json").is_file());
    let hidden: Vec<_> = std::fs::read_dir(out.join("cells"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn a_live_workers_claim_is_respected_by_an_in_process_sweep() {
    let dir = temp_dir("respect");
    let file = sweep_file(dir.path(), SWEEP);
    let out = dir.path().join("out");
    let log = dir.path().join("trainings.log");
    let hold = dir.path().join("hold");
    let worker_args = [
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--worker",
        "--threads",
        "1",
    ];
    let env = [
        ("NABLA_TEST_TRAIN_LOG", log.as_path()),
        ("NABLA_TEST_HOLD", &hold),
    ];
    let mut worker = spawn(&worker_args, &env);
    let start = Instant::now();
    while trainings(&log).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "worker never started a cell"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The worker holds cell 0 (alive, heartbeating). An in-process sweep on the same directory
    // trains the other three and waits for cell 0 rather than training it too.
    let sweep_args = [
        "sweep",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--threads",
        "1",
        "--jobs",
        "1",
    ];
    let mut sweep = spawn(&sweep_args, &[("NABLA_TEST_TRAIN_LOG", &log)]);
    while trainings(&log).len() < 4 {
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "the sweep did not train 3 cells"
        );
        assert!(
            sweep.try_wait().unwrap().is_none(),
            "the sweep ended while cell 0 is held"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Release the worker: it finishes cell 0, and both end.
    std::fs::write(&hold, b"").unwrap();
    assert!(worker.wait().unwrap().success());
    let output = sweep.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut trained = trainings(&log);
    trained.sort();
    assert_eq!(trained, [0, 1, 2, 3], "each cell once");
    assert!(out.join("summary.csv").is_file());
}
