//! `nabla evaluate`: a saved model's loss and accuracy on a dataset's test split.

use super::args::DataArgs;
use super::data;
use clap::Args;
use nabla::train::Sequential;
use nabla::{Error, Result};
use serde_json::json;
use std::path::PathBuf;

#[derive(Args)]
pub struct EvaluateArgs {
    /// The model file: nabla's .safetensors, or a Keras .keras / .h5 file (by its contents).
    #[arg(long)]
    pub model_file: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Samples per inference batch (the results do not depend on it).
    #[arg(long, default_value_t = nabla::train::INFERENCE_BATCH)]
    pub batch_size: usize,
    /// Print one JSON object with the results on stdout, with the seconds the predict pass
    /// took (`predict_seconds`: measured inside, after a first pass has warmed the buffers).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: EvaluateArgs) -> Result<()> {
    super::with_threads(args.threads, move || evaluate(args))
}

fn evaluate(args: EvaluateArgs) -> Result<()> {
    let mut model = Sequential::<f32>::load(&args.model_file)?;
    if model.loss().is_none() {
        return Err(Error::invalid(format!(
            "{}: the model was saved before compile, so it has no loss to evaluate",
            args.model_file.display()
        )));
    }
    let test = data::load(&args.data)?.test;
    let (metrics, predict_seconds) =
        nabla::run::timed_test_metrics(&mut model, &test, args.batch_size)?;
    if args.json {
        let report = json!({
            "model_file": args.model_file,
            "samples": test.len(),
            "test_loss": metrics.test_loss,
            "test_accuracy": metrics.test_accuracy,
            "batch_size": args.batch_size,
            "predict_seconds": predict_seconds,
            "metrics": metrics,
        });
        println!("{report}");
    } else {
        println!(
            "Test loss: {:.4} - Test accuracy: {:.4} ({} samples)",
            metrics.test_loss,
            metrics.test_accuracy,
            test.len()
        );
        print!("{}", metrics.text()?);
    }
    Ok(())
}
