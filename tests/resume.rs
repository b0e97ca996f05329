//! Kill and resume: a `nabla train` run killed with SIGKILL in the middle of an epoch and
//! resumed with `--resume` must end with exactly the weights, optimizer state and history of
//! the same run never interrupted (timing aside).

use nabla::train::{load_checkpoint, Sequential};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const NABLA: &str = env!("CARGO_BIN_EXE_nabla");

/// A small, fast run on the built-in sample; every flag that decides the numbers is fixed.
const RUN: &[&str] = &[
    "train",
    "--data",
    "mnist-sample",
    "--hidden",
    "128",
    "--epochs",
    "10",
    "--batch-size",
    "16",
    "--seed",
    "7",
    "--threads",
    "1",
    "--quiet",
    "--json",
    "--no-out",
];

fn nabla(args: &[&str]) -> Output {
    Command::new(NABLA).args(args).output().unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "nabla failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn weight_bits(model: &Sequential<f32>) -> Vec<(String, Vec<u32>)> {
    let mut all: Vec<(String, Vec<u32>)> = model
        .params()
        .iter()
        .map(|(_, p)| {
            let bits = p.value.data().iter().map(|x| x.to_bits()).collect();
            (p.name.clone(), bits)
        })
        .collect();
    let state = model.optimizer().unwrap().state();
    all.push(("iterations".into(), vec![state.iterations as u32]));
    for (name, t) in state.slots {
        all.push((name, t.data().iter().map(|x| x.to_bits()).collect()));
    }
    all
}

#[cfg(unix)]
#[test]
fn a_run_killed_mid_epoch_and_resumed_equals_the_uninterrupted_run() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let (whole, resumed) = (dir.path().join("whole.st"), dir.path().join("resumed.st"));
    let ckpt = dir.path().join("ckpt");

    // 1. The uninterrupted run.
    let mut args = RUN.to_vec();
    args.extend(["--save", path(&whole)]);
    let expected = json_of(&nabla(&args));

    // 2. The same run with checkpoints, killed with SIGKILL once its first checkpoint exists
    //    (so it is inside epoch 2).
    let mut args = RUN.to_vec();
    args.extend(["--checkpoint-dir", path(&ckpt), "--save", path(&resumed)]);
    let mut child = Command::new(NABLA)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let file = ckpt.join("checkpoint.safetensors");
    let start = Instant::now();
    while !file.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its first checkpoint"
        );
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the run finished before it could be killed; make it longer"
    );
    child.kill().unwrap(); // SIGKILL on Unix
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{status:?}");
    let (_, state) = load_checkpoint::<f32>(&ckpt).unwrap();
    assert!(
        (1..10).contains(&state.epochs_done),
        "killed after {} epochs",
        state.epochs_done
    );
    assert!(!resumed.exists(), "the killed run must not have saved");
    // What a kill during the checkpoint's own write would leave behind.
    let stale = ckpt.join(".checkpoint.safetensors.tmp-1-0");
    std::fs::write(&stale, b"half a checkpoint").unwrap();

    // 3. Resume (typing a recorded flag with its recorded value is no conflict).
    let out = nabla(&[
        "train",
        "--resume",
        path(&ckpt),
        "--threads",
        "1",
        "--quiet",
        "--json",
        "--no-out",
        "--save",
        path(&resumed),
    ]);
    let got = json_of(&out);
    assert!(!stale.exists(), "resume removes stale temporary files");

    // Same history (timing aside) and test results, to the last bit.
    for key in [
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
    ] {
        assert_eq!(
            got["history"][key], expected["history"][key],
            "history.{key}"
        );
    }
    assert_eq!(got["history"]["loss"].as_array().unwrap().len(), 10);
    assert_eq!(got["test_loss"], expected["test_loss"]);
    assert_eq!(got["test_accuracy"], expected["test_accuracy"]);
    // Same weights and optimizer state.
    let a = Sequential::<f32>::load(&whole).unwrap();
    let b = Sequential::<f32>::load(&resumed).unwrap();
    assert_eq!(weight_bits(&a), weight_bits(&b));

    // A flag that would change the run is refused, naming both values...
    let out = nabla(&["train", "--resume", path(&ckpt), "--seed", "8", "--no-out"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--seed 8 conflicts with 7"), "{err}");
    // ...and a new run will not overwrite a directory holding a checkpoint.
    let mut args = RUN.to_vec();
    args.extend(["--checkpoint-dir", path(&ckpt)]);
    let out = nabla(&args);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already holds a checkpoint"), "{err}");
}

#[test]
fn resuming_from_a_directory_without_checkpoint_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = nabla(&["train", "--resume", path(dir.path())]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no checkpoint here"), "{err}");
}
