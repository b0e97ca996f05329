//! `nabla convert IN OUT`: a model file from one format to another, each picked by its
//! extension (`.safetensors`, `.keras`, `.h5` to read; those, `.weights.h5` and `.onnx` to write).

use clap::Args;
use nabla::io::ModelFormat;
use nabla::train::Sequential;
use nabla::{Error, Result};
use std::path::PathBuf;

#[derive(Args)]
pub struct ConvertArgs {
    /// The model to read: .safetensors, .keras or .h5.
    pub input: PathBuf,
    /// The file to write: .safetensors, .keras, .h5, .weights.h5 or .onnx.
    pub output: PathBuf,
}

pub fn run(args: ConvertArgs) -> Result<()> {
    ModelFormat::of(&args.output)?;
    if ModelFormat::from_extension(&args.input) == Some(ModelFormat::Onnx) {
        return Err(Error::invalid(format!(
            "{}: nabla exports ONNX but does not read it",
            args.input.display()
        )));
    }
    let model = Sequential::<f32>::load(&args.input)?;
    model.save(&args.output)?;
    let (trainable, frozen) = model.count_params();
    println!(
        "{} -> {} ({} layers, {} parameters)",
        args.input.display(),
        args.output.display(),
        model.layers().len(),
        trainable + frozen
    );
    Ok(())
}
