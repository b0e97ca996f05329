//! nabla → `.keras` / `.h5` → real Keras `load_model` → the same predictions (within 1e-5),
//! parameter counts and compile settings. Needs Python with keras and numpy (NABLA_PYTHON);
//! skipped with a message otherwise. Round trips through nabla itself run without Python.

mod io_support;

use io_support::*;
use nabla::nn::layers::{
    ActivationLayer, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
    GlobalAveragePooling2D, MaxPool2D,
};
use nabla::nn::{Loss, OptimizerConfig};
use nabla::ops::{Activation, Padding};
use nabla::train::{FitOptions, Sequential, TensorData, Verbosity};
use nabla::Tensor;
use serde_json::json;
use std::path::Path;

/// A nabla-built model with every layer type, trained one epoch so batch-norm statistics
/// and weights are away from their initial values.
fn every_layer_model() -> (Sequential<f32>, Tensor<f32>) {
    let mut model = Sequential::<f32>::with_seed(&[9, 9, 2], 5);
    model
        .add(
            Conv2D::new(4, 3)
                .padding(Padding::Same)
                .activation(Activation::Relu),
        )
        .unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(MaxPool2D::new(2).padding(Padding::Same)).unwrap();
    model.add(Dropout::new(0.3)).unwrap();
    model
        .add(Conv2D::new(5, [2, 3]).strides([1, 2]).use_bias(false))
        .unwrap();
    model.add(ActivationLayer::new(Activation::Tanh)).unwrap();
    model.add(AveragePooling2D::new(2).strides(1)).unwrap();
    model.add(Flatten::new()).unwrap();
    model
        .add(Dense::new(6).activation(Activation::Sigmoid).l2(1e-3))
        .unwrap();
    model
        .add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    model
        .compile(
            OptimizerConfig::sgd(0.1, 0.9),
            Loss::CategoricalCrossentropy,
        )
        .unwrap();
    let mut rng = nabla::random::NumpyRandomState::new(3);
    let x: Vec<f64> = (0..32 * 9 * 9 * 2).map(|_| rng.random_sample()).collect();
    let y: Vec<f64> = (0..32)
        .flat_map(|i| {
            let mut row = vec![0.0; 3];
            row[i % 3] = 1.0;
            row
        })
        .collect();
    let x = Tensor::<f32>::from_f64(&x, [32, 9, 9, 2]).unwrap();
    let data = TensorData::new(x.clone(), Tensor::from_f64(&y, [32, 3]).unwrap()).unwrap();
    let options = FitOptions {
        epochs: 1,
        batch_size: 8,
        verbosity: Verbosity::Silent,
        ..Default::default()
    };
    model.fit(&data, options).unwrap();
    let model_gap = x.rows(0, 4);
    (model, model_gap)
}

fn gap_model() -> Sequential<f32> {
    let mut model = Sequential::<f32>::with_seed(&[6, 6, 3], 8);
    model
        .add(Conv2D::new(4, 3).activation(Activation::Relu))
        .unwrap();
    model.add(GlobalAveragePooling2D::new()).unwrap();
    model
        .add(BatchNormalization {
            center: false,
            ..BatchNormalization::new()
        })
        .unwrap();
    model
        .add(
            Dense::new(2)
                .activation(Activation::Softmax)
                .use_bias(false),
        )
        .unwrap();
    model
        .compile(
            OptimizerConfig::rmsprop(1e-3),
            Loss::CategoricalCrossentropy,
        )
        .unwrap();
    model
}

fn models() -> Vec<(String, Sequential<f32>, Tensor<f32>)> {
    let mut out = Vec::new();
    for name in ["mlp", "cnn", "lenet5"] {
        let dir = fixtures().join("keras");
        let model = Sequential::<f32>::load(dir.join(format!("{name}.keras"))).unwrap();
        let record = read_json(&dir.join(format!("{name}.json")));
        out.push((
            name.to_string(),
            model,
            batch(&floats(&record["x"]), &dims(&record["input_shape"])),
        ));
    }
    let (model, x) = every_layer_model();
    out.push(("every_layer".into(), model, x));
    let gap = gap_model();
    let x = Tensor::<f32>::from_f64(
        &(0..2 * 108)
            .map(|i| ((i * 37 % 101) as f64) / 50.0 - 1.0)
            .collect::<Vec<_>>(),
        [2, 6, 6, 3],
    )
    .unwrap();
    out.push(("gap".into(), gap, x));
    out
}

/// Layer configs as JSON with what a Keras file makes explicit filled in: layer names (Keras
/// always names layers) and pooling strides (Keras writes the default, the pool size).
fn normalized(model: &Sequential<f32>) -> Vec<serde_json::Value> {
    model
        .configs()
        .iter()
        .zip(model.layers())
        .map(|(config, layer)| {
            let mut v = serde_json::to_value(config).unwrap();
            v["name"] = json!(layer.name());
            if v.get("pool_size").is_some() && v["strides"].is_null() {
                v["strides"] = v["pool_size"].clone();
            }
            v
        })
        .collect()
}

#[test]
fn nabla_round_trips_through_its_own_keras_files() {
    let dir = tempfile::tempdir().unwrap();
    for (name, mut model, x) in models() {
        let expected = model.predict_tensor(&x).unwrap();
        for ext in ["keras", "h5"] {
            let path = dir.path().join(format!("{name}.{ext}"));
            model.save(&path).unwrap();
            let mut back = Sequential::<f32>::load(&path).unwrap();
            assert_eq!(normalized(&back), normalized(&model), "{name}.{ext}");
            assert_eq!(back.summary(), model.summary(), "{name}.{ext}");
            assert_eq!(back.loss(), model.loss());
            assert_eq!(
                back.optimizer().unwrap().config(),
                model.optimizer().unwrap().config()
            );
            let got = back.predict_tensor(&x).unwrap();
            assert_eq!(got.data(), expected.data(), "{name}.{ext}: weights changed");
        }
        let weights = dir.path().join(format!("{name}.weights.h5"));
        model.save(&weights).unwrap();
        let mut fresh =
            Sequential::<f32>::from_configs(model.input_shape(), model.configs(), 77).unwrap();
        fresh.load_weights(&weights).unwrap();
        assert_eq!(
            fresh.predict_tensor(&x).unwrap().data(),
            expected.data(),
            "{name}.weights.h5"
        );
    }
}

fn inputs_file(dir: &Path, name: &str, x: &Tensor<f32>) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.inputs.json"));
    let record = json!({"x": as_f64(x), "input_shape": &x.dims()[1..]});
    std::fs::write(&path, record.to_string()).unwrap();
    path
}

#[test]
fn keras_loads_what_nabla_writes_and_predicts_the_same() {
    let Some(python) = python_with(&["keras", "numpy"]) else {
        return;
    };
    let script = fixtures().join("keras/keras_predict.py");
    let dir = tempfile::tempdir().unwrap();
    let mut models = models();
    let mut args = Vec::new();
    for (name, model, x) in &models {
        let inputs = inputs_file(dir.path(), name, x);
        for ext in ["keras", "h5"] {
            let path = dir.path().join(format!("{name}.{ext}"));
            model.save(&path).unwrap();
            args.push(path);
            args.push(inputs.clone());
        }
    }
    let args: Vec<&Path> = args.iter().map(|p| p.as_path()).collect();
    let results = run_python(&python, &script, &args);
    let mut results = results.as_array().unwrap().iter();
    for (name, model, x) in &mut models {
        let expected = as_f64(&model.predict_tensor(x).unwrap());
        for ext in ["keras", "h5"] {
            let out = results.next().unwrap();
            let diff = max_abs_diff(&floats(&out["predictions"]), &expected);
            assert!(
                diff < 1e-5,
                "{name}.{ext}: Keras's predictions differ by {diff}"
            );
            let (trainable, frozen) = model.count_params();
            assert_eq!(
                out["trainable_params"].as_u64().unwrap() as usize,
                trainable,
                "{name}.{ext}"
            );
            assert_eq!(
                out["non_trainable_params"].as_u64().unwrap() as usize,
                frozen,
                "{name}.{ext}"
            );
            let optimizer = match model.optimizer().unwrap().config() {
                OptimizerConfig::Sgd { .. } => "SGD",
                OptimizerConfig::Adam { .. } => "Adam",
                OptimizerConfig::Rmsprop { .. } => "RMSprop",
            };
            assert_eq!(out["optimizer"], optimizer, "{name}.{ext}: {out}");
            let lr = model.optimizer().unwrap().config().learning_rate();
            assert!((out["learning_rate"].as_f64().unwrap() - lr).abs() < 1e-6 * lr.max(1.0));
        }
    }
}
