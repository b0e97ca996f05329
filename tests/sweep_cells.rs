//! Numbered cells: `--plan` lists them in a stable order; `--cell N` run as separate
//! processes (N given, or from Slurm's or Kubernetes' variable) then `--merge` gives the
//! in-process sweep's output byte for byte; a done cell is skipped; a corrupted or
//! half-written cell file is reported, never merged, and trained again.

mod sweep_support;

use sweep_support::*;

#[test]
fn plan_lists_the_cells_in_a_stable_order() {
    let dir = temp_dir("plan");
    let file = sweep_file(dir.path(), SWEEP);
    let file = file.to_str().unwrap();
    let text = ok(&["sweep", file, "--plan"], &[]);
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        text.starts_with("4 cells (2 grid points x 2 replicates)"),
        "{text}"
    );
    assert_eq!(
        rows,
        [
            ["0", "p000-r0", "0", "model.l2=0.00001"],
            ["1", "p000-r1", "1", "model.l2=0.00001"],
            ["2", "p001-r0", "0", "model.l2=0.001"],
            ["3", "p001-r1", "1", "model.l2=0.001"],
        ]
    );
    // The same again (stable), and as JSON with the settings' own types.
    assert_eq!(ok(&["sweep", file, "--plan"], &[]), text);
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["sweep", file, "--plan", "--json"], &[])).unwrap();
    let cells = json["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    for (i, c) in cells.iter().enumerate() {
        assert_eq!(c["index"], i);
        assert_eq!(c["seed"], i % 2);
    }
    assert_eq!(cells[3]["id"], "p001-r1");
    assert_eq!(cells[3]["settings"]["model.l2"], 1e-3);
    // Nothing was trained or written.
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn cells_in_separate_processes_merge_to_the_in_process_sweep() {
    let dir = temp_dir("cells");
    let file = sweep_file(dir.path(), SWEEP);
    let file = file.to_str().unwrap();
    let local = dir.path().join("local");
    let shared = dir.path().join("shared");
    let log = dir.path().join("trainings.log");
    let (local_s, shared_s) = (local.to_str().unwrap(), shared.to_str().unwrap());
    ok(
        &[
            "sweep",
            file,
            "--out",
            local_s,
            "--threads",
            "1",
            "--jobs",
            "1",
        ],
        &[],
    );

    let cell = |n: &str, env: &[(&str, &std::path::Path)]| {
        let mut args = vec!["sweep", file, "--out", shared_s, "--threads", "1", "--cell"];
        if !n.is_empty() {
            args.push(n);
        }
        let mut env = env.to_vec();
        env.push(("NABLA_TEST_TRAIN_LOG", &log));
        ok(&args, &env)
    };
    cell("0", &[]);
    // A Slurm array task and a Kubernetes pod give the number through the environment.
    let one = std::path::Path::new("1");
    let two = std::path::Path::new("2");
    cell("", &[("SLURM_ARRAY_TASK_ID", one)]);
    cell("", &[("JOB_COMPLETION_INDEX", two)]);
    assert_eq!(trainings(&log), [0, 1, 2]);

    // One cell is missing: --merge writes what there is, says what is not done, and fails.
    let merge = nabla(&["sweep", file, "--out", shared_s, "--merge"], &[]);
    assert!(!merge.status.success());
    let stderr = String::from_utf8_lossy(&merge.stderr);
    assert!(stderr.contains("merged 3 of 4 cells"), "{stderr}");
    assert!(
        stderr.contains("cell 3 p001-r1 (model.l2=0.001): missing"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(shared.join("report.html")).unwrap();
    assert!(html.contains("Cells not done") && html.contains("p001-r1"));

    // The last cell merges by itself.
    let last = cell("3", &[]);
    assert!(last.contains("every cell is done: merged"), "{last}");
    assert_same_merge(&local, &shared);
    // And so does --merge, to the same bytes.
    std::fs::remove_file(shared.join("summary.csv")).unwrap();
    ok(&["sweep", file, "--out", shared_s, "--merge"], &[]);
    assert_same_merge(&local, &shared);
    // Each cell has its run directory.
    for id in ["p000-r0", "p000-r1", "p001-r0", "p001-r1"] {
        let run = shared.join("cells").join(id);
        assert!(run.join("metrics.json").is_file() && run.join("report.html").is_file());
    }

    // A done cell is not trained again; a cell that does not exist is an error.
    let again = cell("0", &[]);
    assert!(again.contains("already done"), "{again}");
    assert_eq!(trainings(&log), [0, 1, 2, 3]);
    let bad = nabla(&["sweep", file, "--out", shared_s, "--cell", "9"], &[]);
    assert!(!bad.status.success());
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("cell 9 does not exist: this sweep has 4 cells, numbered 0 to 3"),
        "{stderr}"
    );
    let none = nabla(&["sweep", file, "--out", shared_s, "--cell"], &[]);
    assert!(!none.status.success());
    assert!(String::from_utf8_lossy(&none.stderr).contains("SLURM_ARRAY_TASK_ID"));
}

#[test]
fn a_corrupt_or_half_written_cell_is_reported_and_trained_again_never_merged() {
    let dir = temp_dir("corrupt");
    let file = sweep_file(dir.path(), SWEEP);
    let file = file.to_str().unwrap();
    let out = dir.path().join("out");
    let out_s = out.to_str().unwrap();
    let log = dir.path().join("trainings.log");
    let env = [("NABLA_TEST_TRAIN_LOG", log.as_path())];
    ok(
        &["sweep", file, "--out", out_s, "--worker", "--threads", "1"],
        &env,
    );
    assert_eq!(trainings(&log), [0, 1, 2, 3]);
    let complete = temp_dir("complete");
    for f in [
        "summary.csv",
        "summary.json",
        "sweep.svg",
        "sweep.png",
        "report.html",
    ] {
        std::fs::copy(out.join(f), complete.path().join(f)).unwrap();
    }

    // Cell 1's file cut off half way (as a copy without atomic writes leaves it) and cell 2's
    // overwritten with something else.
    let cells = out.join("cells");
    let half = std::fs::read(cells.join("p000-r1.json")).unwrap();
    std::fs::write(cells.join("p000-r1.json"), &half[..half.len() / 2]).unwrap();
    std::fs::write(cells.join("p001-r0.json"), b"\0\0garbage").unwrap();
    let merge = nabla(&["sweep", file, "--out", out_s, "--merge"], &[]);
    assert!(!merge.status.success());
    let stderr = String::from_utf8_lossy(&merge.stderr);
    for id in ["cell 1 p000-r1", "cell 2 p001-r0"] {
        assert!(
            stderr.contains(&format!("{id} (model.l2=")) && stderr.contains("corrupt result file"),
            "{stderr}"
        );
    }
    // Not merged: each grid point has one replicate left.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let n: Vec<u64> = summary
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["n"].as_u64().unwrap())
        .collect();
    assert_eq!(n, [1, 1]);

    // A worker trains exactly those two again; the merge is the complete one again.
    std::fs::remove_file(&log).unwrap();
    let worker = ok(
        &["sweep", file, "--out", out_s, "--worker", "--threads", "1"],
        &env,
    );
    assert!(worker.contains("every cell is done"), "{worker}");
    assert_eq!(trainings(&log), [1, 2]);
    assert_same_merge(complete.path(), &out);
}

#[test]
fn failed_cells_are_named_by_merge_and_asked_for_again_by_only_missing() {
    let dir = temp_dir("failed");
    // The "mnist" cells fail at training time: its files are not in a folder that does not
    // exist, and offline forbids a download. The built-in sample's cells succeed.
    let text = SWEEP
        .replace(
            "limit = 200",
            "limit = 200\ndir = \"/nonexistent/nabla-no-mnist\"\noffline = true",
        )
        .replace(
            "grid = { \"model.l2\" = [1e-5, 1e-3] }",
            "grid = { \"data.source\" = [\"mnist-sample\", \"mnist\"] }",
        );
    let file = sweep_file(dir.path(), &text);
    let (file, out) = (file.to_str().unwrap(), dir.path().join("out"));
    let out_s = out.to_str().unwrap();
    let worker = nabla(
        &["sweep", file, "--out", out_s, "--worker", "--threads", "1"],
        &[],
    );
    assert!(!worker.status.success());
    let stderr = String::from_utf8_lossy(&worker.stderr);
    assert!(stderr.contains("2 cells failed") && stderr.contains("cell 3: mnist is not available"));

    let merge = nabla(&["sweep", file, "--out", out_s, "--merge"], &[]);
    assert!(!merge.status.success());
    let stderr = String::from_utf8_lossy(&merge.stderr);
    assert!(stderr.contains("merged 2 of 4 cells"), "{stderr}");
    assert!(
        stderr.contains("cell 2 p001-r0 (data.source=mnist): failed: mnist is not available here"),
        "{stderr}"
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Cells not done") && html.contains("failed: mnist is not available"));

    ok(
        &["sweep", file, "--out", out_s, "--slurm", "--only-missing"],
        &[],
    );
    let script = std::fs::read_to_string(out.join("slurm/cells.sbatch")).unwrap();
    assert!(
        script.lines().any(|l| l == "#SBATCH --array=2-3%2"),
        "{script}"
    );
}
