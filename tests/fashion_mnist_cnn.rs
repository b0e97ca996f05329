//! Integration: the MNIST CNN trained for one epoch on Fashion-MNIST reaches ≥ 0.85 test
//! accuracy. Runs in optimized builds (`cargo test --release`); a debug build would take
//! many minutes, so there it is ignored.
//!
//! Needs Debian's `dataset-fashion-mnist` (/usr/share/datasets/fashion-mnist). Without it the
//! test says so and passes, unless the environment variable CI is set: then it fails.

use nabla::models;
use nabla::nn::{Loss, OptimizerConfig};
use nabla::train::{FitOptions, Sequential, Verbosity};
use std::path::Path;

const DIR: &str = "/usr/share/datasets/fashion-mnist";

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "slow in debug builds: run `cargo test --release`"
)]
fn mnist_cnn_reaches_85_percent_on_fashion_mnist_in_one_epoch() {
    if !Path::new(DIR).is_dir() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{DIR} is missing (apt-get install dataset-fashion-mnist)"
        );
        eprintln!("skipped: {DIR} is missing (apt-get install dataset-fashion-mnist)");
        return;
    }
    let (train, test) = nabla::data::load_fashion_mnist_dir(Path::new(DIR)).unwrap();
    let (train, test) = (train.scaled(), test.scaled());
    let layers = models::mnist_cnn(10, 0.5, false);
    let mut model = Sequential::<f32>::from_configs(&train.sample_shape, &layers, 0).unwrap();
    assert_eq!(model.count_params(), (225_034, 0));
    model
        .compile(OptimizerConfig::adam(1e-3), Loss::CategoricalCrossentropy)
        .unwrap();
    model
        .fit(
            &train,
            FitOptions {
                epochs: 1,
                batch_size: 32,
                verbosity: Verbosity::Lines,
                ..FitOptions::default()
            },
        )
        .unwrap();
    let result = model.evaluate(&test).unwrap();
    eprintln!("test accuracy after one epoch: {:.4}", result.accuracy);
    assert!(
        result.accuracy >= 0.85,
        "test accuracy {:.4}",
        result.accuracy
    );
}
