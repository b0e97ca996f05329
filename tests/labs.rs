//! Every file in labs/ is parsed and run on tiny data (a few hundred samples, one epoch), so
//! none of them rots. MNIST-shaped labs run on the built-in sample; the CIFAR-10 lab runs on a
//! small CSV of random 32x32x3 images (CIFAR-10 itself is not in the repository). A lab whose
//! layer types this build does not have yet is listed, not silently passed.

use nabla::experiment::{run_file, run_sweep, ExperimentFile, FileRunOptions, SweepOptions};
use nabla::train::{Stream, Verbosity};
use std::io::Write;
use std::path::{Path, PathBuf};
use toml::Value;

fn labs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// 300 random CIFAR-shaped images with labels 0..9, as `pixels...,label` CSV rows.
fn cifar_stand_in(path: &Path) {
    let mut rng = nabla::random::Rng::new(7);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..300 {
        for _ in 0..32 * 32 * 3 {
            write!(out, "{},", rng.next_u32() % 256).unwrap();
        }
        writeln!(out, "{}", i % 10).unwrap();
    }
}

#[test]
fn every_lab_parses_and_runs_on_tiny_data() {
    let scratch = std::env::temp_dir().join(format!("nabla-labs-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let csv = scratch.join("cifar_stand_in.csv");
    cifar_stand_in(&csv);
    let quiet = FileRunOptions {
        verbosity: Verbosity::Silent,
        stream: Stream::Stderr,
        interrupt: None,
    };
    let mut ran = Vec::new();
    let labs = labs();
    assert!(labs.len() >= 8, "{labs:?}");
    for lab in &labs {
        let name = lab.file_name().unwrap().to_string_lossy().into_owned();
        let mut file = match ExperimentFile::read(lab) {
            Ok(f) => f,
            Err(e) => panic!("{name}: {e}"),
        };
        let cifar = file.base().map(|b| b.data.source.name() == "cifar10");
        if matches!(cifar, Ok(true)) || lab.to_string_lossy().contains("cifar") {
            file.override_setting("data.source", Value::String("csv".into()), "test");
            let path = csv.to_string_lossy().into_owned();
            file.override_setting("data.csv", Value::String(path), "test");
            let shape = [32, 32, 3].map(Value::Integer).to_vec();
            file.override_setting("data.csv_shape", Value::Array(shape), "test");
        } else {
            file.override_setting("data.source", Value::String("mnist-sample".into()), "test");
        }
        file.override_setting("data.limit", Value::Integer(300), "test");
        file.override_setting("training.epochs", Value::Integer(1), "test");
        if let Err(e) = file.runs() {
            panic!("{name}: {e}");
        }
        let out = scratch.join(name.trim_end_matches(".toml"));
        if let Some(sweep) = file.sweep.as_mut() {
            // Two grid points and two replicates are enough to keep a sweep file honest.
            sweep.replicates = 2;
            for (_, values) in sweep.axes.iter_mut() {
                values.truncate(2);
            }
            let options = SweepOptions {
                jobs: 2,
                threads_per_job: 1,
                stream: Stream::Stderr,
            };
            let outcome = run_sweep(&file, &out, options).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(outcome.records.len(), 4, "{name}");
        }
        let results = run_file(&file, &out, quiet).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (variant, r) in &results {
            assert!(r.test_loss().is_finite(), "{name} {variant}");
        }
        ran.push(name);
    }
    eprintln!("labs run: {ran:?}");
    assert_eq!(ran.len(), labs.len(), "every lab runs");
}

#[test]
fn a_lab_without_its_dataset_says_so_and_how_to_run_anyway() {
    let lab = labs()
        .into_iter()
        .find(|p| p.ends_with("mlp_64_64_sgd.toml"))
        .unwrap();
    let mut file = ExperimentFile::read(&lab).unwrap();
    let missing = std::env::temp_dir().join("nabla-no-such-mnist-dir");
    let dir = missing.to_string_lossy().into_owned();
    file.override_setting("data.dir", Value::String(dir), "--data-dir");
    let out = std::env::temp_dir().join(format!("nabla-labs-missing-{}", std::process::id()));
    let quiet = FileRunOptions {
        verbosity: Verbosity::Silent,
        stream: Stream::Stderr,
        interrupt: None,
    };
    let err = run_file(&file, &out, quiet).unwrap_err().to_string();
    assert!(err.contains("mnist is not available here"), "{err}");
    assert!(err.contains("--data mnist-sample"), "{err}");
    assert!(!out.join("report.html").exists());
}
