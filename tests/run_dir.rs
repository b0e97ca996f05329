//! `nabla train --out DIR` writes a complete run directory, and `nabla report DIR` rebuilds its
//! plots and report from the files alone.

use std::path::Path;
use std::process::{Command, Output};

fn nabla(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const PLOTS: [&str; 8] = [
    "curves",
    "confusion_matrix",
    "predictions",
    "samples",
    "gradients_batch",
    "gradients_probe",
    "gradients_epochs",
    "activations",
];

const DATA_FILES: [&str; 9] = [
    "run.json",
    "experiment.toml",
    "classification_report.txt",
    "summary.txt",
    "history.csv",
    "metrics.json",
    "gradients.json",
    "predictions.json",
    "samples.json",
];

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn non_empty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

/// Every `src`/`href`/`url(` in the page points at inlined data, never a file or the network.
fn assert_self_contained(html: &str) {
    for needle in ["src=\"", "href=\"", "url("] {
        for (at, _) in html.match_indices(needle) {
            let rest = &html[at + needle.len()..];
            assert!(
                rest.starts_with("data:"),
                "external reference: {}",
                &html[at..(at + 80).min(html.len())]
            );
        }
    }
    assert!(!html.contains("<script"), "the report needs no scripts");
}

#[test]
fn train_writes_a_run_directory_that_report_rebuilds() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let out = nabla(
        &[
            "train",
            "--epochs",
            "2",
            "--hidden",
            "16",
            "--diagnostics",
            "--out",
            run.to_str().unwrap(),
            "--json",
            "--quiet",
        ],
        tmp.path(),
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    // --json: one object on stdout with `metrics` and `out`; the report and matrix on stderr.
    let json: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(json["out"], run.display().to_string());
    assert!(stderr.contains("weighted avg") && stderr.contains("true \\ pred"));

    for name in DATA_FILES.iter().chain(&["report.html"]) {
        assert!(non_empty(&run.join(name)), "{name} missing or empty");
    }
    for stem in PLOTS {
        for ext in ["png", "svg"] {
            assert!(
                non_empty(&run.join(format!("{stem}.{ext}"))),
                "{stem}.{ext}"
            );
        }
    }

    let metrics = read_json(&run.join("metrics.json"));
    assert_eq!(
        json["metrics"], metrics,
        "--json metrics equal metrics.json"
    );
    let test_samples = metrics["test_samples"].as_u64().unwrap();
    assert_eq!(test_samples, 1000);
    let cm = metrics["confusion_matrix"].as_array().unwrap();
    assert_eq!(cm.len(), 10);
    let total: u64 = cm
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(total, test_samples);
    let diagonal: u64 = (0..10).map(|i| cm[i][i].as_u64().unwrap()).sum();
    let accuracy = metrics["test_accuracy"].as_f64().unwrap();
    assert!((diagonal as f64 / total as f64 - accuracy).abs() < 1e-9);
    assert_eq!(metrics["class_names"].as_array().unwrap().len(), 10);
    assert!(metrics["top_3_accuracy"].as_f64().unwrap() >= accuracy);
    let report = &metrics["classification_report"];
    assert_eq!(report["classes"].as_array().unwrap().len(), 10);
    assert_eq!(report["weighted avg"]["support"], 1000);

    let info = read_json(&run.join("run.json"));
    assert_eq!(info["status"], "complete");
    assert_eq!(info["kind"], "train");
    assert_eq!(info["epochs_done"], 2);
    let settings = info["settings"].as_array().unwrap();
    let setting = |key: &str| {
        settings
            .iter()
            .find(|s| s[0] == key)
            .map(|s| s[1].as_str().unwrap().to_string())
    };
    assert_eq!(setting("training.epochs").as_deref(), Some("2"));
    assert_eq!(setting("output.diagnostics").as_deref(), Some("true"));
    assert_eq!(
        setting("training.batch_size"),
        None,
        "defaults are not listed"
    );
    assert_eq!(
        setting("model.layers.1").as_deref(),
        Some("Dense(activation=relu, units=16)")
    );
    let spec: toml::Value =
        toml::from_str(&std::fs::read_to_string(run.join("experiment.toml")).unwrap()).unwrap();
    assert_eq!(spec["training"]["optimizer"]["type"].as_str(), Some("adam"));

    let gradients = read_json(&run.join("gradients.json"));
    assert_eq!(gradients["batch"]["params"][0]["name"], "dense/kernel");
    assert_eq!(gradients["training"]["epochs"], serde_json::json!([1, 2]));
    assert_eq!(gradients["training"]["dead_relu"][0]["layer"], "dense");

    let predictions = read_json(&run.join("predictions.json"));
    assert_eq!(predictions["pixels"].as_array().unwrap().len(), 50);
    assert_eq!(predictions["predictions"].as_array().unwrap().len(), 50);
    assert_eq!(
        std::fs::read_to_string(run.join("history.csv"))
            .unwrap()
            .lines()
            .count(),
        3
    );

    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert_self_contained(&html);
    assert_eq!(
        html.matches("<img src=\"data:image/png;base64,").count(),
        PLOTS.len()
    );
    for needle in ["Total params", "weighted avg", "val_accuracy", "dead"] {
        assert!(html.contains(needle), "report.html lacks {needle}");
    }

    // Remove every plot and the report; `nabla report` makes them again from the files.
    for entry in std::fs::read_dir(&run).unwrap() {
        let path = entry.unwrap().path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if matches!(ext, "png" | "svg" | "html") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let rebuilt = nabla(&["report", run.to_str().unwrap()], tmp.path());
    assert!(rebuilt.status.success(), "{}", text(&rebuilt.stderr));
    for stem in PLOTS {
        for ext in ["png", "svg"] {
            assert!(
                non_empty(&run.join(format!("{stem}.{ext}"))),
                "{stem}.{ext}"
            );
        }
    }
    let again = std::fs::read_to_string(run.join("report.html")).unwrap();
    assert_self_contained(&again);
    assert_eq!(
        again.len(),
        html.len(),
        "the same report from the same files"
    );

    // A corrupted file is a clear error naming it.
    std::fs::write(run.join("metrics.json"), "{ not json").unwrap();
    let broken = nabla(&["report", run.to_str().unwrap()], tmp.path());
    assert!(!broken.status.success());
    let err = text(&broken.stderr);
    assert!(
        err.contains("metrics.json") && !err.contains("panicked"),
        "{err}"
    );
}

#[test]
fn default_run_directory_is_named_after_model_data_and_time() {
    let tmp = tempfile::tempdir().unwrap();
    let out = nabla(
        &["train", "--epochs", "1", "--hidden", "8", "--quiet"],
        tmp.path(),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Without --json the report and matrix go to stdout.
    assert!(stdout.contains("weighted avg") && stdout.contains("Run saved to runs/"));
    let runs: Vec<_> = std::fs::read_dir(tmp.path().join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1);
    let name = runs[0].file_name().unwrap().to_str().unwrap().to_string();
    // mlp-mnist-sample-YYYYmmdd-HHMMSS
    let stamp = name.strip_prefix("mlp-mnist-sample-").expect(&name);
    assert_eq!(stamp.len(), 15, "{name}");
    assert!(non_empty(&runs[0].join("report.html")));
    // No --diagnostics: the one-batch statistics only.
    let gradients = read_json(&runs[0].join("gradients.json"));
    assert!(gradients["training"].is_null() && gradients["batch"].is_object());
}
