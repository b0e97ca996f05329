//! The classic lab: 784-128-10 ReLU/softmax, Adam, categorical cross-entropy, batch 32,
//! 10 epochs, validated on the test set. Run: `cargo run --release --example mnist_mlp`.

use nabla::data::mnist_sample;
use nabla::nn::layers::{Dense, Flatten};
use nabla::nn::{Loss, OptimizerConfig};
use nabla::ops::Activation;
use nabla::train::{FitOptions, Sequential, Validation};

fn main() -> nabla::Result<()> {
    let (train, test) = mnist_sample()?;
    let (train, test) = (train.scaled(), test.scaled());

    let mut model = Sequential::<f32>::with_seed(&[28, 28, 1], 0);
    model.add(Flatten::new())?;
    model.add(Dense::new(128).activation(Activation::Relu))?;
    model.add(Dense::new(10).activation(Activation::Softmax))?;
    model.compile(OptimizerConfig::adam(1e-3), Loss::CategoricalCrossentropy)?;
    print!("{}", model.summary());

    let history = model.fit(
        &train,
        FitOptions {
            epochs: 10,
            batch_size: 32,
            validation: Validation::Data(&test),
            ..FitOptions::default()
        },
    )?;
    let result = model.evaluate(&test)?;
    println!(
        "test loss {:.4}, test accuracy {:.4} after {} epochs",
        result.loss,
        result.accuracy,
        history.epochs()
    );
    Ok(())
}
