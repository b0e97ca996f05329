//! End-to-end training on real data. Run optimized: `cargo test --release`.

use nabla::data::{load_fashion_mnist_dir, mnist_sample};
use nabla::models;
use nabla::nn::{Loss, OptimizerConfig};
use nabla::ops::Activation;
use nabla::train::{FitOptions, Sequential, Validation, Verbosity};
use std::path::Path;

const FASHION: &str = "/usr/share/datasets/fashion-mnist";

fn mlp(seed: u32) -> Sequential<f32> {
    let layers = models::mlp(&[128], Activation::Relu, 10, 0.0);
    let mut model = Sequential::from_configs(&[28, 28, 1], &layers, seed).unwrap();
    model
        .compile(OptimizerConfig::adam(1e-3), Loss::CategoricalCrossentropy)
        .unwrap();
    model
}

fn quiet<'a>(epochs: usize, validation: Validation<'a, f32>) -> FitOptions<'a, f32> {
    FitOptions {
        epochs,
        batch_size: 32,
        validation,
        verbosity: Verbosity::Silent,
        ..FitOptions::default()
    }
}

#[test]
fn mlp_learns_the_builtin_sample() {
    let (train, test) = mnist_sample().unwrap();
    let (train, test) = (train.scaled(), test.scaled());
    let mut model = mlp(0);
    let history = model
        .fit(&train, quiet(10, Validation::Data(&test)))
        .unwrap();
    let result = model.evaluate(&test).unwrap();
    assert!(result.accuracy >= 0.90, "test accuracy {}", result.accuracy);
    assert_eq!(history.val_accuracy.len(), 10);
    assert!(
        history.loss[9] < history.loss[0] / 3.0,
        "{:?}",
        history.loss
    );
    // The last validation numbers are those of evaluate on the same data.
    assert!((history.val_accuracy[9] - result.accuracy).abs() < 1e-12);
}

#[test]
fn mlp_reaches_80_percent_on_fashion_mnist_in_one_epoch() {
    if !Path::new(FASHION).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{FASHION} is missing on CI: apt-get install dataset-fashion-mnist"
        );
        eprintln!("skipped: {FASHION} not found (apt-get install dataset-fashion-mnist)");
        return;
    }
    let (train, test) = load_fashion_mnist_dir(Path::new(FASHION)).unwrap();
    let (train, test) = (train.scaled(), test.scaled());
    assert_eq!((train.len(), test.len()), (60_000, 10_000));
    let mut model = mlp(0);
    model.fit(&train, quiet(1, Validation::None)).unwrap();
    let result = model.evaluate(&test).unwrap();
    assert!(result.accuracy >= 0.80, "test accuracy {}", result.accuracy);
}

#[test]
fn same_seed_same_numbers() {
    let (train, _) = mnist_sample().unwrap();
    let train = train.scaled().take(1000);
    let run = |seed| {
        let mut model = mlp(seed);
        let history = model.fit(&train, quiet(2, Validation::Split(0.2))).unwrap();
        (
            history.loss,
            history.val_loss,
            model.params().value(nabla::autograd::ParamId(0)).clone(),
        )
    };
    let (a, b, c) = (run(3), run(3), run(4));
    assert_eq!(a, b);
    assert_ne!(a.0, c.0);
}
