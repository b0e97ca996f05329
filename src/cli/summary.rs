//! `nabla summary`: the model table, from flags alone (no data files needed) or from a saved
//! model file.

use super::args::{DataArgs, ModelArgs};
use clap::Args;
use nabla::train::Sequential;
use nabla::Result;
use std::path::PathBuf;

#[derive(Args)]
pub struct SummaryArgs {
    /// Summarize this saved model (.safetensors, .keras or .h5) instead of building one from
    /// the flags.
    #[arg(long)]
    pub model_file: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

pub fn run(args: SummaryArgs) -> Result<()> {
    let model = match &args.model_file {
        Some(path) => Sequential::<f32>::load(path)?,
        None => {
            let input_shape = args.data.input_shape()?;
            let layers = args.model.layers(&input_shape, args.data.num_classes())?;
            Sequential::<f32>::from_configs(&input_shape, &layers, 0)?
        }
    };
    print!("{}", model.summary());
    Ok(())
}
