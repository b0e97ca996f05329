//! `nabla train`: build, compile and fit a model, then evaluate it on the test set.

use super::args::{DataArgs, ModelArgs};
use super::data;
use clap::Args;
use nabla::nn::{Loss, OptimizerConfig};
use nabla::train::{FitOptions, Sequential, Stream, Validation, Verbosity, MAX_BATCH_SIZE};
use nabla::{Error, Result};
use serde_json::json;

#[derive(Args)]
pub struct TrainArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Optimizer: adam, sgd or rmsprop.
    #[arg(long, default_value = "adam")]
    pub optimizer: String,
    /// Learning rate (Keras's default for the optimizer if not given: 0.001, or 0.01 for sgd).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Momentum for sgd and rmsprop.
    #[arg(long, default_value_t = 0.0)]
    pub momentum: f64,
    /// Loss: categorical_crossentropy or mse (also sparse_categorical_crossentropy).
    #[arg(long, default_value = "categorical_crossentropy")]
    pub loss: String,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Seed for initial weights, shuffling and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// One line per epoch instead of a live progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print one JSON object with the results on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: TrainArgs) -> Result<()> {
    if args.batch_size == 0 || args.batch_size > MAX_BATCH_SIZE {
        return Err(Error::invalid(format!(
            "--batch-size {} is out of range (1..={MAX_BATCH_SIZE})",
            args.batch_size
        )));
    }
    if args.epochs == 0 {
        return Err(Error::invalid("--epochs must be at least 1"));
    }
    super::set_threads(args.threads)?;
    let loss = Loss::parse(&args.loss).map_err(|e| Error::invalid(format!("--loss: {e}")))?;
    let optimizer = OptimizerConfig::parse(&args.optimizer, args.lr, args.momentum)
        .map_err(|e| Error::invalid(format!("--optimizer: {e}")))?;
    let (train, test) = data::load(&args.data)?;

    let layers = args.model.layers(&train.sample_shape, train.num_classes)?;
    let mut model = Sequential::<f32>::from_configs(&train.sample_shape, &layers, args.seed)?;
    model.compile(optimizer, loss)?;
    let stream = if args.json {
        Stream::Stderr
    } else {
        Stream::Stdout
    };
    let say = |text: &str| match stream {
        Stream::Stdout => print!("{text}"),
        Stream::Stderr => eprint!("{text}"),
    };
    say(&model.summary());

    let history = model.fit(
        &train,
        FitOptions {
            epochs: args.epochs,
            batch_size: args.batch_size,
            validation: Validation::Data(&test),
            verbosity: if args.quiet {
                Verbosity::Lines
            } else {
                Verbosity::Bar
            },
            stream,
            ..FitOptions::default()
        },
    )?;
    let result = model.evaluate(&test)?;
    say(&format!(
        "Test loss: {:.4} - Test accuracy: {:.4}\n",
        result.loss, result.accuracy
    ));
    if args.json {
        let (trainable, frozen) = model.count_params();
        let report = json!({
            "params": trainable + frozen,
            "trainable_params": trainable,
            "non_trainable_params": frozen,
            "history": history,
            "test_loss": result.loss,
            "test_accuracy": result.accuracy,
        });
        println!("{report}");
    }
    Ok(())
}
