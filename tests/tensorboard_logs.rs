//! The TensorBoard callback's event files: read back by nabla's own parser (framing and
//! CRC-32C checked) and by tbparse (TensorBoard's reader; NABLA_PYTHON, skipped with a
//! message when missing) with the scalars nabla logged; bad files are clear errors.

mod io_support;

use io_support::*;
use nabla::io::tensorboard::{frame_record, masked_crc, read_scalars, TensorBoard};
use nabla::nn::layers::Dense;
use nabla::nn::{Loss, OptimizerConfig};
use nabla::ops::Activation;
use nabla::train::{FitOptions, History, Sequential, TensorData, Validation, Verbosity};
use nabla::Tensor;
use std::collections::BTreeMap;
use std::path::Path;

fn train(log_dir: &Path) -> (History, Vec<String>) {
    let mut model = Sequential::<f32>::with_seed(&[4], 1);
    model
        .add(Dense::new(5).activation(Activation::Relu))
        .unwrap();
    model
        .add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    model
        .compile(OptimizerConfig::adam(0.01), Loss::CategoricalCrossentropy)
        .unwrap();
    let x: Vec<f64> = (0..40 * 4)
        .map(|i| ((i * 29 % 31) as f64) / 15.0 - 1.0)
        .collect();
    let y: Vec<f64> = (0..40)
        .flat_map(|i| {
            let mut r = vec![0.0; 3];
            r[(i * 7) % 3] = 1.0;
            r
        })
        .collect();
    let x = Tensor::<f32>::from_f64(&x, [40, 4]).unwrap();
    let y = Tensor::<f32>::from_f64(&y, [40, 3]).unwrap();
    let data = TensorData::new(x.rows(0, 32), y.rows(0, 32)).unwrap();
    let validation = TensorData::new(x.rows(32, 8), y.rows(32, 8)).unwrap();
    let mut tb = TensorBoard::new(log_dir).gradient_norms(&x.rows(0, 8), &y.rows(0, 8));
    let options = FitOptions {
        epochs: 3,
        batch_size: 8,
        validation: Validation::Data(&validation),
        verbosity: Verbosity::Silent,
        ..Default::default()
    };
    let history = model
        .fit_with_callbacks(&data, options, &mut [&mut tb])
        .unwrap();
    let names = model.params().iter().map(|(_, p)| p.name.clone()).collect();
    (history, names)
}

/// (run, tag) → values by step.
type Logged = BTreeMap<(String, String), Vec<(i64, f64)>>;

fn expected(history: &History) -> Logged {
    let mut out = Logged::new();
    let mut put = |run: &str, tag: &str, values: &[f64]| {
        let v = values
            .iter()
            .enumerate()
            .map(|(i, &x)| (i as i64, x as f32 as f64))
            .collect();
        out.insert((run.to_string(), tag.to_string()), v);
    };
    put("train", "epoch_loss", &history.loss);
    put("train", "epoch_accuracy", &history.accuracy);
    put("train", "epoch_learning_rate", &history.learning_rate);
    put("validation", "epoch_loss", &history.val_loss);
    put("validation", "epoch_accuracy", &history.val_accuracy);
    out
}

fn read_dir(dir: &Path) -> Logged {
    let mut out = Logged::new();
    for run in ["train", "validation"] {
        let files: Vec<_> = std::fs::read_dir(dir.join(run))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{run}: {files:?}");
        let name = files[0].file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with("events.out.tfevents.") && name.ends_with(".v2"),
            "{name}"
        );
        for s in read_scalars(&std::fs::read(&files[0]).unwrap(), &files[0]).unwrap() {
            out.entry((run.to_string(), s.tag))
                .or_default()
                .push((s.step, s.value as f64));
        }
    }
    out
}

#[test]
fn epoch_scalars_and_gradient_norms_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let (history, names) = train(dir.path());
    let logged = read_dir(dir.path());
    for (key, values) in expected(&history) {
        assert_eq!(logged.get(&key), Some(&values), "{key:?}");
    }
    for name in &names {
        let key = ("train".to_string(), format!("gradient_norm/{name}"));
        let norms = logged.get(&key).unwrap_or_else(|| panic!("no {key:?}"));
        assert_eq!(norms.len(), 3);
        assert!(
            norms.iter().all(|&(_, v)| v.is_finite() && v > 0.0),
            "{key:?}: {norms:?}"
        );
    }
}

#[test]
fn tbparse_reads_the_same_scalars() {
    let Some(python) = python_with(&["tbparse", "tensorboard"]) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (history, _) = train(dir.path());
    let out = run_python(
        &python,
        &fixtures().join("tensorboard/tb_read.py"),
        &[dir.path()],
    );
    let mut read = Logged::new();
    for row in out["scalars"].as_array().unwrap() {
        let run = row[0].as_str().unwrap().to_string();
        let tag = row[1].as_str().unwrap().to_string();
        read.entry((run, tag))
            .or_default()
            .push((row[2].as_i64().unwrap(), row[3].as_f64().unwrap()));
    }
    for values in read.values_mut() {
        values.sort_by_key(|&(step, _)| step);
    }
    assert_eq!(read, read_dir(dir.path()), "tbparse and nabla disagree");
    for (key, values) in expected(&history) {
        assert_eq!(read.get(&key), Some(&values), "{key:?}");
    }
}

#[test]
fn truncated_and_corrupted_event_files_are_clear_errors() {
    let mut bytes = Vec::new();
    frame_record(
        &mut bytes,
        b"\x09\x00\x00\x00\x00\x00\x00\xf0\x3f\x1a\x0dbrain.Event:2",
    );
    assert_eq!(read_scalars(&bytes, Path::new("ok")).unwrap(), vec![]);
    for cut in 1..bytes.len() {
        let e = read_scalars(&bytes[..cut], Path::new("cut"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("truncated") || e.contains("checksum"),
            "{cut}: {e}"
        );
    }
    for at in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[at] ^= 0x10;
        let e = read_scalars(&bad, Path::new("flip"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("flip"), "{at}: {e}");
    }
    // The mask: TensorFlow's published value for the CRC-32C of "" is 0, masked 0xa282ead8.
    assert_eq!(masked_crc(b""), 0xa282_ead8);
    let e = read_scalars(b"{\"not\": \"events\"}", Path::new("json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("checksum") || e.contains("truncated"), "{e}");
}
