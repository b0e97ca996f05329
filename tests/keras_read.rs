//! Keras files written by real Keras 3 (tests/fixtures/keras/make_fixtures.py) load into
//! nabla with the same predictions (within 1e-5) and parameter counts, from `.keras`, legacy
//! `.h5` and `.weights.h5`; and bad files of each kind are clear errors, never panics.

mod io_support;

use io_support::*;
use nabla::nn::{Loss, OptimizerConfig};
use nabla::train::Sequential;
use std::io::Write;
use std::path::{Path, PathBuf};

const MODELS: &[&str] = &["mlp", "cnn", "lenet5"];

fn keras_dir() -> PathBuf {
    fixtures().join("keras")
}

fn check_predictions(model: &mut Sequential<f32>, name: &str, what: &str) {
    let record = read_json(&keras_dir().join(format!("{name}.json")));
    let x = batch(&floats(&record["x"]), &dims(&record["input_shape"]));
    let y = model.predict_tensor(&x).unwrap();
    assert_eq!(
        y.dims(),
        dims(&record["output_shape"]).as_slice(),
        "{name} {what}"
    );
    let diff = max_abs_diff(&as_f64(&y), &floats(&record["predictions"]));
    assert!(
        diff < 1e-5,
        "{name} from {what}: predictions differ from Keras's by {diff}"
    );
}

#[test]
fn keras_and_h5_files_predict_as_keras_does() {
    for name in MODELS {
        for ext in ["keras", "h5"] {
            let path = keras_dir().join(format!("{name}.{ext}"));
            let mut model = Sequential::<f32>::load(&path).unwrap();
            check_predictions(&mut model, name, ext);
            let record = read_json(&keras_dir().join(format!("{name}.json")));
            let (trainable, frozen) = model.count_params();
            assert_eq!(
                trainable as u64,
                record["trainable_params"].as_u64().unwrap(),
                "{name}.{ext}"
            );
            assert_eq!(
                frozen as u64,
                record["non_trainable_params"].as_u64().unwrap(),
                "{name}.{ext}"
            );
            let total = record["total_params"].as_u64().unwrap() as usize;
            assert!(
                model.summary().contains(&format!("Total params: {total}")),
                "{name}.{ext}: summary lacks Keras's total {total}:\n{}",
                model.summary()
            );
        }
    }
}

#[test]
fn layer_options_and_names_come_through() {
    let model = Sequential::<f32>::load(keras_dir().join("cnn.keras")).unwrap();
    let json = serde_json::to_value(model.configs()).unwrap();
    assert_eq!(json[0]["padding"], "same");
    assert_eq!(json[0]["activation"], "relu");
    assert_eq!(json[1]["momentum"], 0.9);
    assert_eq!(json[3]["rate"], 0.25);
    assert_eq!(json[4]["strides"], serde_json::json!([1, 2]));
    assert_eq!(json[4]["use_bias"], false);
    assert_eq!(json[5]["activation"], "sigmoid");
    assert_eq!(model.name(), "cnn");
    assert_eq!(model.layers()[7].name(), "dense_3");
    let mlp = Sequential::<f32>::load(keras_dir().join("mlp.h5")).unwrap();
    let json = serde_json::to_value(mlp.configs()).unwrap();
    assert_eq!(json[1]["kernel_regularizer"]["l2"].as_f64().unwrap(), 1e-4);
    assert_eq!(json[2]["rate"], 0.2);
}

#[test]
fn compile_settings_become_nablas_optimizer_and_loss() {
    for ext in ["keras", "h5"] {
        let mlp = Sequential::<f32>::load(keras_dir().join(format!("mlp.{ext}"))).unwrap();
        assert_eq!(mlp.loss(), Some(Loss::CategoricalCrossentropy));
        match mlp.optimizer().unwrap().config() {
            OptimizerConfig::Adam { learning_rate, .. } => {
                assert!((learning_rate - 2e-3).abs() < 1e-9, "{learning_rate}")
            }
            other => panic!("mlp.{ext}: expected Adam, got {other:?}"),
        }
        let cnn = Sequential::<f32>::load(keras_dir().join(format!("cnn.{ext}"))).unwrap();
        match cnn.optimizer().unwrap().config() {
            OptimizerConfig::Sgd { momentum, .. } => assert!((momentum - 0.9).abs() < 1e-9),
            other => panic!("cnn.{ext}: expected SGD, got {other:?}"),
        }
        let lenet = Sequential::<f32>::load(keras_dir().join(format!("lenet5.{ext}"))).unwrap();
        assert!(matches!(
            lenet.optimizer().unwrap().config(),
            OptimizerConfig::Rmsprop { .. }
        ));
    }
}

#[test]
fn weights_files_load_into_the_same_architecture() {
    for name in MODELS {
        let reference = Sequential::<f32>::load(keras_dir().join(format!("{name}.keras"))).unwrap();
        // Same architecture, other (random) weights, then Keras's weights file on top.
        let mut model =
            Sequential::<f32>::from_configs(reference.input_shape(), reference.configs(), 99)
                .unwrap();
        model
            .load_weights(keras_dir().join(format!("{name}.weights.h5")))
            .unwrap();
        check_predictions(&mut model, name, "weights.h5");
        // The legacy .h5 model file holds weights too.
        let mut model =
            Sequential::<f32>::from_configs(reference.input_shape(), reference.configs(), 98)
                .unwrap();
        model
            .load_weights(keras_dir().join(format!("{name}.h5")))
            .unwrap();
        check_predictions(&mut model, name, "h5 weights");
    }
}

fn temp_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
    path
}

fn load_error(path: &Path) -> String {
    match Sequential::<f32>::load(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_and_corrupted_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    for name in MODELS {
        for ext in ["keras", "h5"] {
            let bytes = std::fs::read(keras_dir().join(format!("{name}.{ext}"))).unwrap();
            for cut in [
                0,
                8,
                100,
                600,
                bytes.len() / 3,
                bytes.len() / 2,
                bytes.len() - 1,
            ] {
                let path = temp_file(dir.path(), &format!("cut.{ext}"), &bytes[..cut]);
                let message = load_error(&path);
                assert!(
                    message.contains("cut."),
                    "{name}.{ext} cut at {cut}: {message}"
                );
            }
            // Bytes flipped across the metadata at the start (superblock, headers, zip header).
            for at in [0usize, 3, 40, 200, 700] {
                let mut bad = bytes.clone();
                for b in &mut bad[at..(at + 16).min(bytes.len())] {
                    *b ^= 0x5a;
                }
                let path = temp_file(dir.path(), &format!("flip.{ext}"), &bad);
                // Either a clear error or (where the bytes were slack) a model; never a panic.
                if let Err(e) = Sequential::<f32>::load(&path) {
                    assert!(e.to_string().contains("flip."), "{e}");
                }
            }
        }
    }
}

#[test]
fn wrong_kinds_of_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    // A weights-only file has no architecture.
    let message = load_error(&keras_dir().join("mlp.weights.h5"));
    assert!(message.contains("weights-only"), "{message}");
    // A text file named .keras / .h5.
    let text = temp_file(dir.path(), "notes.keras", b"just some text, not a model");
    assert!(!load_error(&text).is_empty());
    let text = temp_file(
        dir.path(),
        "notes.h5",
        b"\x89HDF\r\n\x1a\n and then nothing",
    );
    assert!(load_error(&text).contains("HDF5"), "{}", load_error(&text));
    // A zip without config.json.
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("readme.txt", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"hello").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let path = temp_file(dir.path(), "other.keras", &bytes);
    assert!(
        load_error(&path).contains("config.json"),
        "{}",
        load_error(&path)
    );
    // Weights of another architecture.
    let mut lenet = Sequential::<f32>::load(keras_dir().join("lenet5.keras")).unwrap();
    let err = lenet
        .load_weights(keras_dir().join("mlp.weights.h5"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("different architecture") || err.contains("shape"),
        "{err}"
    );
    let err = lenet
        .load_weights(keras_dir().join("cnn.h5"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("layers with weights") || err.contains("shape"),
        "{err}"
    );
}

/// The .keras fixture with its config.json edited by `edit`.
fn edited_keras(dir: &Path, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let bytes = std::fs::read(keras_dir().join("mlp.keras")).unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().to_string();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        if name == "config.json" {
            let mut config: serde_json::Value = serde_json::from_slice(&data).unwrap();
            edit(&mut config);
            data = serde_json::to_vec(&config).unwrap();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&data).unwrap();
    }
    temp_file(dir, "edited.keras", &out.finish().unwrap().into_inner())
}

/// A change to a Keras config.
type Edit = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn unsupported_layers_and_options_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Edit)> = vec![
        (
            "LSTM",
            Box::new(|c| c["config"]["layers"][2]["class_name"] = "LSTM".into()),
        ),
        (
            "elu",
            Box::new(|c| c["config"]["layers"][2]["config"]["activation"] = "elu".into()),
        ),
        (
            "bias_regularizer",
            Box::new(|c| {
                c["config"]["layers"][2]["config"]["bias_regularizer"] =
                    serde_json::json!({"class_name": "L2", "config": {"l2": 0.1}})
            }),
        ),
        (
            "L1",
            Box::new(|c| {
                c["config"]["layers"][2]["config"]["kernel_regularizer"] =
                    serde_json::json!({"class_name": "L1", "config": {"l1": 0.1}})
            }),
        ),
        (
            "Functional",
            Box::new(|c| c["class_name"] = "Functional".into()),
        ),
        (
            "Nadam",
            Box::new(|c| c["compile_config"]["optimizer"]["class_name"] = "Nadam".into()),
        ),
        (
            "clipnorm",
            Box::new(|c| c["compile_config"]["optimizer"]["config"]["clipnorm"] = 1.0.into()),
        ),
        (
            "mixed_float16",
            Box::new(|c| c["config"]["layers"][2]["config"]["dtype"] = "mixed_float16".into()),
        ),
    ];
    for (needle, edit) in cases {
        let path = edited_keras(dir.path(), edit);
        let message = load_error(&path);
        assert!(
            message.contains(needle),
            "expected '{needle}' in: {message}"
        );
    }
}
