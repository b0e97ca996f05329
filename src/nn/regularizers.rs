//! Weight penalties added to the loss. Keras's L2 is λ·Σw², with no ½.

use crate::autograd::{Tape, Var};
use crate::ops;
use crate::tensor::Float;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regularizer {
    L2(f64),
}

impl Regularizer {
    /// The penalty term for `weights` on the tape.
    pub fn penalty<T: Float>(self, tape: &mut Tape<T>, weights: Var) -> Var {
        match self {
            Regularizer::L2(lambda) => {
                let squares = ops::sum_squares(tape, weights);
                ops::scale(tape, squares, T::of(lambda))
            }
        }
    }
}
