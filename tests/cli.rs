//! The `nabla` command: output layout, JSON, and clear errors (never a panic) on bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

fn nabla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh directory for one test's files.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nabla-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An error is one line on stderr, the exit code is non-zero, and nothing panicked.
fn assert_clean_error(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "expected failure, stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert!(err.contains(needle), "expected '{needle}' in: {err}");
}

#[test]
fn summary_counts_parameters_like_keras() {
    for (hidden, total) in [("128,64", "109386"), ("64,64", "55050")] {
        let out = nabla(&["summary", "--hidden", hidden]);
        assert!(out.status.success());
        let s = text(&out.stdout);
        assert!(s.contains(&format!("Total params: {total} (")), "{s}");
        assert!(s.contains("Non-trainable params: 0 ("), "{s}");
        assert!(s.contains("flatten (Flatten)"), "{s}");
        assert!(s.contains("dense_1 (Dense)"), "{s}");
    }
}

#[test]
fn train_json_reports_history_and_test_metrics() {
    let out = nabla(&[
        "train", "--epochs", "2", "--hidden", "16", "--json", "--quiet", "--no-out",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(json["params"], 784 * 16 + 16 + 16 * 10 + 10);
    for key in [
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "epoch_seconds",
    ] {
        assert_eq!(json["history"][key].as_array().unwrap().len(), 2, "{key}");
    }
    assert!(json["test_accuracy"].as_f64().unwrap() > 0.5);
    assert!(json["out"].is_null(), "--no-out writes no run directory");
    assert_eq!(json["metrics"]["test_samples"], 1000);
    // Progress and summary went to stderr.
    let err = text(&out.stderr);
    assert!(
        err.contains("Epoch 2/2") && err.contains("Total params"),
        "{err}"
    );
}

#[test]
fn bad_flags_are_clear_errors() {
    assert_clean_error(&nabla(&["train", "--batch-size", "0"]), "--batch-size 0");
    assert_clean_error(
        &nabla(&["train", "--batch-size", "99999999999"]),
        "--batch-size",
    );
    assert_clean_error(
        &nabla(&["train", "--optimizer", "adagrad"]),
        "unknown optimizer 'adagrad'",
    );
    assert_clean_error(&nabla(&["train", "--hidden", "12,x"]), "--hidden");
    assert_clean_error(
        &nabla(&["train", "--activation", "swish"]),
        "unknown activation",
    );
    assert_clean_error(&nabla(&["train", "--lr=-1"]), "learning_rate");
    assert_clean_error(&nabla(&["train", "--epochs", "0"]), "--epochs");
    assert_clean_error(
        &nabla(&["train", "--data", "mnist", "--offline"]),
        "train-images-idx3-ubyte",
    );
    assert_clean_error(&nabla(&["train", "--data", "csv"]), "--csv FILE");
    assert_clean_error(
        &nabla(&["train", "--validation-split", "1.5"]),
        "--validation-split",
    );
    assert_clean_error(&nabla(&["summary", "--data", "csv"]), "--csv-shape");
}

#[test]
fn bad_data_files_are_clear_errors() {
    let dir = scratch_dir("bad-idx");
    let missing = nabla(&[
        "train",
        "--data",
        "mnist",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert_clean_error(&missing, "train-images-idx3-ubyte");

    // Images claim 10^9 samples in a 100-byte file; labels are fine.
    let mut images = vec![0, 0, 8, 3];
    for d in [1_000_000_000u32, 28, 28] {
        images.extend_from_slice(&d.to_be_bytes());
    }
    images.extend_from_slice(&[0u8; 100]);
    std::fs::write(dir.join("train-images-idx3-ubyte"), &images).unwrap();
    let mut labels = vec![0, 0, 8, 1];
    labels.extend_from_slice(&2u32.to_be_bytes());
    labels.extend_from_slice(&[1, 2]);
    for name in ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"] {
        std::fs::write(dir.join(name), &labels).unwrap();
    }
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), &images).unwrap();
    let truncated = nabla(&[
        "train",
        "--data",
        "mnist",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert_clean_error(&truncated, "train-images-idx3-ubyte");

    // Wrong magic.
    std::fs::write(
        dir.join("train-images-idx3-ubyte"),
        b"not an idx file at all",
    )
    .unwrap();
    let magic = nabla(&[
        "train",
        "--data",
        "mnist",
        "--data-dir",
        dir.to_str().unwrap(),
    ]);
    assert_clean_error(&magic, "train-images-idx3-ubyte");
}

#[test]
fn trains_on_a_csv_with_a_validation_split_and_standardization() {
    // Two classes separated by the sign of feature 0 − feature 1; pixel-like 0..255 values.
    let dir = scratch_dir("csv");
    let path = dir.join("train.csv");
    let mut rng = nabla::random::NumpyRandomState::new(5);
    let mut rows = String::from("a,b,c,d,label\n");
    for _ in 0..400 {
        let v: Vec<i64> = (0..4).map(|_| rng.randint(0, 256)).collect();
        let label = i64::from(v[0] > v[1]);
        rows.push_str(&format!("{},{},{},{},{label}\n", v[0], v[1], v[2], v[3]));
    }
    std::fs::write(&path, rows).unwrap();
    let out = nabla(&[
        "train",
        "--data",
        "csv",
        "--csv",
        path.to_str().unwrap(),
        "--csv-header",
        "--hidden",
        "16",
        "--epochs",
        "30",
        "--lr",
        "0.01",
        "--validation-split",
        "0.2",
        "--standardize",
        "--json",
        "--quiet",
        "--no-out",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert!(json["test_accuracy"].as_f64().unwrap() > 0.9, "{json}");
}
