//! `nabla scratch`: the 2-3-1 from-scratch exercise, by hand and by autodiff, side by side.

use clap::Args;
use nabla::scratch::{by_autodiff, by_hand, by_hand_numpy_order, Exercise};
use nabla::{Error, Result};

#[derive(Args)]
pub struct ScratchArgs {
    /// numpy seed for the data and weights (`np.random.seed`).
    #[arg(long, default_value_t = 0)]
    pub seed: u32,
    /// Print the autodiff solution as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Print only what notebooks 001 and 003 print (`print(L)`, `pp.pprint(gradients)`),
    /// to compare with them line by line.
    #[arg(long, conflicts_with = "json")]
    pub notebook: bool,
}

/// Two f64 computations of the same sums in different orders agree to about 1e-15.
const AGREEMENT: f64 = 1e-12;

pub fn run(args: ScratchArgs) -> Result<()> {
    let exercise = Exercise::numpy_seeded(args.seed);
    let hand = by_hand(&exercise);
    let auto = by_autodiff(&exercise)?;
    let difference = hand.max_relative_difference(&auto);
    if args.json {
        println!(
            "{}",
            serde_json::to_string(&auto).expect("plain numbers serialize")
        );
    } else if args.notebook {
        println!("{}", by_hand_numpy_order(&exercise).notebook_printout());
    } else {
        // The notebook's two cells first, computed by hand and summed as numpy sums.
        let notebook = by_hand_numpy_order(&exercise);
        println!("{}\n", notebook.notebook_printout());
        println!("(a) by hand, as the derivation reads:\n{}\n", hand.pprint());
        println!("(b) by nabla's autodiff (f64):\n{}\n", auto.pprint());
        println!("largest relative difference between (a) and (b): {difference:.3e}");
    }
    if difference > AGREEMENT {
        return Err(Error::invalid(format!(
            "the two computations disagree (relative difference {difference:e} > {AGREEMENT:e})"
        )));
    }
    if !args.json && !args.notebook {
        println!("(a) and (b) agree");
    }
    Ok(())
}
