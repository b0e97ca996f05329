//! `nabla gradcheck`: every parameter's autodiff gradient against central finite differences,
//! in f64, on a small random batch shaped by the model's input (no data files needed).

use super::args::{DataArgs, ModelArgs};
use clap::Args;
use nabla::nn::{Loss, OptimizerConfig};
use nabla::random::Rng;
use nabla::train::gradcheck::{check_model_gradients, TOLERANCE};
use nabla::train::Sequential;
use nabla::{Error, Result, Shape, Tensor};

#[derive(Args)]
pub struct GradcheckArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Loss the gradients are of.
    #[arg(long, default_value = "categorical_crossentropy")]
    pub loss: String,
    /// Samples in the random batch.
    #[arg(long, default_value_t = 4)]
    pub batch_size: usize,
    /// Elements checked per parameter tensor (a seeded sample); 0 checks every element.
    #[arg(long, default_value_t = 64)]
    pub elements: usize,
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
}

pub fn run(args: GradcheckArgs) -> Result<()> {
    if args.batch_size == 0 {
        return Err(Error::invalid("--batch-size must be at least 1"));
    }
    let loss = Loss::parse(&args.loss).map_err(|e| Error::invalid(format!("--loss: {e}")))?;
    let classes = args.data.num_classes();
    let input_shape = args.data.input_shape()?;
    let layers = args.model.layers(&input_shape, classes)?;
    let mut model = Sequential::<f64>::from_configs(&input_shape, &layers, args.seed)?;
    model.compile(OptimizerConfig::adam(1e-3), loss)?;

    let mut rng = Rng::new(args.seed.wrapping_add(1));
    let shape = Shape::batched(args.batch_size, &input_shape);
    let x = Tensor::from_vec(
        (0..shape.numel()).map(|_| rng.random_sample()).collect(),
        shape,
    )?;
    let mut y = Tensor::zeros([args.batch_size, classes]);
    for row in 0..args.batch_size {
        let class = rng.randint(0, classes as i64) as usize;
        y.data_mut()[row * classes + class] = 1.0;
    }

    let limit = (args.elements > 0).then_some(args.elements);
    let checks = check_model_gradients(&mut model, &x, &y, limit)?;
    println!(
        "{:<28} {:>9} {:>6} {:>14}  result (tolerance {TOLERANCE:e})",
        "parameter", "checked", "kinks", "max rel. error"
    );
    let mut failed = 0;
    for c in &checks {
        let ok = c.passed(TOLERANCE);
        failed += usize::from(!ok);
        println!(
            "{:<28} {:>9} {:>6} {:>14.3e}  {}",
            c.param,
            c.checked,
            c.kinks,
            c.max_error,
            if ok { "PASS" } else { "FAIL" }
        );
    }
    if failed > 0 {
        return Err(Error::invalid(format!(
            "{failed} of {} parameter tensors have gradients that disagree with finite differences",
            checks.len()
        )));
    }
    println!("all {} parameter tensors PASS", checks.len());
    Ok(())
}
