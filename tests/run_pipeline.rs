//! The run pipeline: one file set and schema for every run, observation that never changes
//! results, and interrupts that lose nothing.

use nabla::run::{run, RunOptions, RunSpec};
use nabla::train::Sequential;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const NABLA: &str = env!("CARGO_BIN_EXE_nabla");

/// A small CNN with Dropout and BatchNormalization: the layers whose training draws random
/// numbers or updates statistics, where a careless probe would change the run.
fn spec(plots: &str, diagnostics: bool) -> RunSpec {
    let text = format!(
        r#"
name = "observed"
[data]
source = "mnist-sample"
limit = 300
[model]
layers = [
  {{ type = "Conv2D", filters = 4, kernel_size = 3, activation = "relu" }},
  {{ type = "BatchNormalization" }},
  {{ type = "MaxPooling2D", pool_size = 2 }},
  {{ type = "Flatten" }},
  {{ type = "Dense", units = 16, activation = "relu" }},
  {{ type = "Dropout", rate = 0.3 }},
  {{ type = "Dense", units = 10, activation = "softmax" }},
]
[training]
epochs = 3
batch_size = 32
seed = 3
[output]
plots = {plots}
diagnostics = {diagnostics}
"#
    );
    toml::from_str(&text).unwrap()
}

fn weight_bits(model: &Sequential<f32>) -> Vec<(String, Vec<u32>)> {
    model
        .params()
        .iter()
        .map(|(_, p)| {
            let bits = p.value.data().iter().map(|x| x.to_bits()).collect();
            (p.name.clone(), bits)
        })
        .collect()
}

#[test]
fn looking_at_a_run_never_changes_it() {
    let dir = tempfile::tempdir().unwrap();
    let all = r#"["curves", "confusion", "predictions", "samples", "gradients", "activations"]"#;
    let observed = run(
        &spec(all, true),
        RunOptions {
            out: Some(dir.path().join("observed")),
            ..RunOptions::default()
        },
    )
    .unwrap();
    let plain = run(&spec("[]", false), RunOptions::default()).unwrap();
    let (a, b) = (&observed.record.history, &plain.record.history);
    assert_eq!(a.loss, b.loss);
    assert_eq!(a.accuracy, b.accuracy);
    assert_eq!(a.val_loss, b.val_loss);
    assert_eq!(a.val_accuracy, b.val_accuracy);
    assert_eq!(weight_bits(&observed.model), weight_bits(&plain.model));
    // The observed run really did observe.
    let g = &observed.record.gradients;
    assert!(g.batch.is_some() && g.probe.is_some() && g.training.is_some());
    assert_eq!(
        g.probe.as_ref().unwrap().means[0].len(),
        4,
        "epoch 0 and 3 epochs"
    );
    for file in ["gradients_probe.png", "gradients_epochs.png", "report.html"] {
        assert!(dir.path().join("observed").join(file).is_file(), "{file}");
    }
}

fn nabla(args: &[&str], cwd: &Path) -> Output {
    Command::new(NABLA)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "nabla failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const TRAIN: &[&str] = &[
    "train",
    "--hidden",
    "256",
    "--epochs",
    "6",
    "--batch-size",
    "8",
    "--seed",
    "5",
    "--threads",
    "1",
    "--quiet",
    "--json",
];

#[cfg(unix)]
#[test]
fn ctrl_c_mid_epoch_saves_everything_and_the_resumed_run_equals_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let mut args = TRAIN.to_vec();
    args.extend(["--out", "whole", "--save", "whole.safetensors"]);
    let expected = json_of(&nabla(&args, cwd));

    let mut args = TRAIN.to_vec();
    args.extend(["--out", "cut", "--save", "cut.safetensors"]);
    let child = Command::new(NABLA)
        .args(&args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Signal once the first epoch is recorded: the run is then inside a later epoch.
    let history = cwd.join("cut/history.csv");
    let start = Instant::now();
    while !history.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no epoch finished"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");

    let info = read_json(&cwd.join("cut/run.json"));
    assert_eq!(info["status"], "interrupted");
    let done = info["epochs_done"].as_u64().unwrap();
    assert!((1..6).contains(&done), "interrupted after {done} epochs");
    assert!(cwd.join("cut/checkpoint.safetensors").is_file());
    assert!(
        !cwd.join("cut.safetensors").exists(),
        "saved only when done"
    );
    let (_, state) = nabla::train::load_checkpoint::<f32>(&cwd.join("cut")).unwrap();
    let position = state.position.expect("a mid-epoch position");
    assert_eq!(position.epoch as u64, done);

    // The interrupted run's report renders what exists and says what happened.
    let out = nabla(&["report", "cut"], cwd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(cwd.join("cut/report.html")).unwrap();
    assert!(html.contains("(interrupted)"), "the title says so");
    assert!(html.contains("--resume"));

    let got = json_of(&nabla(
        &[
            "train",
            "--resume",
            "cut",
            "--threads",
            "1",
            "--quiet",
            "--json",
        ],
        cwd,
    ));
    assert_eq!(got["status"], "complete");
    for key in [
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "learning_rate",
    ] {
        assert_eq!(got["history"][key], expected["history"][key], "{key}");
    }
    assert_eq!(got["test_loss"], expected["test_loss"]);
    assert_eq!(got["metrics"], expected["metrics"]);
    let a = Sequential::<f32>::load(cwd.join("whole.safetensors")).unwrap();
    let b = Sequential::<f32>::load(cwd.join("cut.safetensors")).unwrap();
    assert_eq!(weight_bits(&a), weight_bits(&b));
    let info = read_json(&cwd.join("cut/run.json"));
    assert_eq!(info["status"], "complete");
    assert_eq!(info["epochs_done"], 6);
    assert!(
        !cwd.join("cut/checkpoint.safetensors").exists(),
        "a complete run's own checkpoint is removed"
    );
}

#[test]
fn train_and_run_write_the_same_files_and_metrics_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let out = nabla(
        &[
            "train",
            "--epochs",
            "1",
            "--quiet",
            "--out",
            "t",
            "--threads",
            "1",
        ],
        cwd,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lab = r#"
[data]
source = "mnist-sample"
[model]
layers = [{ type = "Flatten" }, { type = "Dense", units = 128, activation = "relu" },
          { type = "Dense", units = 10, activation = "softmax" }]
[training]
epochs = 1
[output]
plots = ["curves", "confusion", "predictions", "samples", "gradients", "activations"]
"#;
    std::fs::write(cwd.join("lab.toml"), lab).unwrap();
    let out = nabla(
        &["run", "lab.toml", "--out", "r", "--json", "--threads", "1"],
        cwd,
    );
    let printed = json_of(&out);
    assert_eq!(printed["runs"][0]["status"], "complete");

    let files = |d: &str| {
        let mut names: Vec<String> = std::fs::read_dir(cwd.join(d))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(files("t"), files("r"));
    let keys = |d: &str, f: &str| {
        let mut k: Vec<String> = read_json(&cwd.join(d).join(f))
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    for f in ["metrics.json", "run.json", "gradients.json"] {
        assert_eq!(keys("t", f), keys("r", f), "{f}");
    }
    // The same settings through either door train the same model.
    let (t, r) = (
        read_json(&cwd.join("t/metrics.json")),
        read_json(&cwd.join("r/metrics.json")),
    );
    assert_eq!(t, r);
    assert_eq!(read_json(&cwd.join("r/run.json"))["kind"], "run");

    // `nabla report` re-renders a `nabla run` directory, and the resolved settings rerun.
    std::fs::remove_file(cwd.join("r/report.html")).unwrap();
    let out = nabla(&["report", "r"], cwd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(cwd.join("r/report.html").is_file());
    let html = std::fs::read_to_string(cwd.join("r/report.html")).unwrap();
    assert!(html.contains("validation data is the test set"));
    let out = nabla(
        &["run", "r/experiment.toml", "--out", "again", "--json"],
        cwd,
    );
    assert_eq!(
        json_of(&out)["runs"][0]["test_accuracy"],
        printed["runs"][0]["test_accuracy"]
    );
}

#[test]
fn a_failed_run_says_so_in_its_run_json() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    // A learning rate this large makes the loss non-finite within the first epoch.
    let out = nabla(
        &[
            "train",
            "--epochs",
            "2",
            "--optimizer",
            "sgd",
            "--lr",
            "1e30",
            "--quiet",
            "--out",
            "f",
        ],
        cwd,
    );
    assert_eq!(out.status.code(), Some(1));
    let info = read_json(&cwd.join("f/run.json"));
    assert_eq!(info["status"], "failed");
    assert!(
        info["error"].as_str().unwrap().contains("loss became"),
        "{info}"
    );
    let out = nabla(&["report", "f"], cwd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(cwd.join("f/report.html")).unwrap();
    assert!(html.contains("(failed)") && html.contains("loss became"));
}

#[test]
fn report_refuses_a_directory_that_is_not_a_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = nabla(&["report", "."], tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a run directory"), "{err}");
}

#[test]
fn absurd_thread_counts_are_capped_not_obeyed() {
    let tmp = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let out = nabla(
        &[
            "train",
            "--epochs",
            "1",
            "--threads",
            "100000",
            "--no-out",
            "--quiet",
        ],
        tmp.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--threads 100000") && err.contains("cores"),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(120));
    let out = nabla(&["train", "--threads", "0", "--no-out"], tmp.path());
    assert_eq!(out.status.code(), Some(1));
}

/// The scalars of the one event file in `dir`.
fn scalars(dir: &Path) -> Vec<nabla::io::tensorboard::Scalar> {
    let files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("tfevents"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    nabla::io::tensorboard::read_scalars(&std::fs::read(&files[0]).unwrap(), &files[0]).unwrap()
}

#[test]
fn tensorboard_logs_come_from_the_flag_and_the_experiment_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let out = nabla(
        &[
            "train",
            "--epochs",
            "2",
            "--quiet",
            "--json",
            "--no-out",
            "--tensorboard",
            "tb",
            "--diagnostics",
        ],
        cwd,
    );
    let printed = json_of(&out);
    let train = scalars(&cwd.join("tb/train"));
    let losses: Vec<f64> = train
        .iter()
        .filter(|s| s.tag == "epoch_loss")
        .map(|s| f64::from(s.value))
        .collect();
    let history: Vec<f64> = printed["history"]["loss"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32 as f64)
        .collect();
    assert_eq!(losses, history);
    assert!(train.iter().any(|s| s.tag.starts_with("gradient_norm/")));
    let validation = scalars(&cwd.join("tb/validation"));
    assert_eq!(
        validation
            .iter()
            .filter(|s| s.tag == "epoch_accuracy")
            .count(),
        2
    );

    let lab = r#"
[model]
layers = [{ type = "Flatten" }, { type = "Dense", units = 10, activation = "softmax" }]
[training]
epochs = 1
[output]
tensorboard = true
"#;
    std::fs::write(cwd.join("lab.toml"), lab).unwrap();
    let out = nabla(&["run", "lab.toml", "--out", "r"], cwd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        scalars(&cwd.join("r/logs/train")).len(),
        3,
        "loss, accuracy, lr"
    );
}

#[test]
fn an_experiment_starts_from_a_keras_model_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path();
    let trained = json_of(&nabla(
        &[
            "train", "--epochs", "1", "--quiet", "--json", "--no-out", "--save", "m.keras",
        ],
        cwd,
    ));
    // epochs = 0 evaluates the imported model as it is: the same numbers as after training.
    let lab = "[model]\nfrom = \"m.keras\"\n[training]\nepochs = 0\n";
    std::fs::write(cwd.join("eval.toml"), lab).unwrap();
    let out = json_of(&nabla(&["run", "eval.toml", "--out", "e", "--json"], cwd));
    assert_eq!(out["runs"][0]["test_accuracy"], trained["test_accuracy"]);
    // Fine-tuning trains it further.
    let lab = "[model]\nfrom = \"m.keras\"\n[training]\nepochs = 1\noptimizer = \"sgd\"\n";
    std::fs::write(cwd.join("tune.toml"), lab).unwrap();
    let out = json_of(&nabla(&["run", "tune.toml", "--out", "t", "--json"], cwd));
    assert_eq!(
        out["runs"][0]["history"]["loss"].as_array().unwrap().len(),
        1
    );
    // Both or neither of layers and from is a mistake named with its line.
    std::fs::write(cwd.join("bad.toml"), "[model]\n[training]\nepochs = 1\n").unwrap();
    let out = nabla(&["run", "bad.toml"], cwd);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("model.layers"));
}
