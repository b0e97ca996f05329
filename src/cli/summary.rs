//! `nabla summary`: the model table, from flags alone (no data files needed).

use super::args::{DataArgs, ModelArgs};
use clap::Args;
use nabla::train::Sequential;
use nabla::Result;

#[derive(Args)]
pub struct SummaryArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

pub fn run(args: SummaryArgs) -> Result<()> {
    let input_shape = args.data.input_shape();
    let layers = args.model.layers(&input_shape, args.data.num_classes())?;
    let model = Sequential::<f32>::from_configs(&input_shape, &layers, 0)?;
    print!("{}", model.summary());
    Ok(())
}
