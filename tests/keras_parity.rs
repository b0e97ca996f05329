//! Training parity with Keras: from the same initial weights (parity_init.keras, written by
//! Keras before training), the same 64 samples in the same order (no shuffling), batch 16,
//! nabla's per-epoch training loss equals Keras's (parity.json, from make_fixtures.py) within
//! 2e-4 relative over 3 epochs, for SGD with momentum, Adam and RMSprop.

mod io_support;

use io_support::*;
use nabla::nn::OptimizerConfig;
use nabla::train::{FitOptions, Sequential, TensorData, Verbosity};
use nabla::Tensor;

#[test]
fn per_epoch_loss_matches_keras_for_each_optimizer() {
    let dir = fixtures().join("keras");
    let record = read_json(&dir.join("parity.json"));
    let x = floats(&record["x"]);
    let y = floats(&record["y"]);
    let n = y.len() / 3;
    let batch_size = record["batch_size"].as_u64().unwrap() as usize;
    let epochs = record["epochs"].as_u64().unwrap() as usize;
    for name in ["sgd", "adam", "rmsprop"] {
        let mut model = Sequential::<f32>::load(dir.join("parity_init.keras")).unwrap();
        let settings = &record["optimizers"][name];
        let lr = settings["learning_rate"].as_f64().unwrap();
        let optimizer = match name {
            "sgd" => OptimizerConfig::sgd(lr, settings["momentum"].as_f64().unwrap()),
            "adam" => OptimizerConfig::adam(lr),
            _ => OptimizerConfig::rmsprop(lr),
        };
        model
            .compile(optimizer, nabla::nn::Loss::CategoricalCrossentropy)
            .unwrap();
        let data = TensorData::new(
            Tensor::<f32>::from_f64(&x, [n, 6]).unwrap(),
            Tensor::<f32>::from_f64(&y, [n, 3]).unwrap(),
        )
        .unwrap();
        let options = FitOptions {
            epochs,
            batch_size,
            shuffle: false,
            verbosity: Verbosity::Silent,
            ..Default::default()
        };
        let history = model.fit(&data, options).unwrap();
        let keras = floats(&record["losses"][name]);
        let worst = history
            .loss
            .iter()
            .zip(&keras)
            .map(|(a, b)| (a - b).abs() / b.abs())
            .fold(0.0, f64::max);
        eprintln!(
            "{name}: nabla {:?} Keras {keras:?}, largest relative difference {worst:.2e}",
            history.loss
        );
        assert_eq!(history.loss.len(), keras.len());
        for (epoch, (ours, theirs)) in history.loss.iter().zip(&keras).enumerate() {
            let rel = (ours - theirs).abs() / theirs.abs();
            assert!(
                rel < 2e-4,
                "{name} epoch {}: nabla {ours} vs Keras {theirs} (relative {rel:.2e})",
                epoch + 1
            );
        }
    }
}
