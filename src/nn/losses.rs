//! Losses by their Keras names. Targets arrive dense (one-hot for classes), so the sparse
//! and the categorical cross-entropy compute the same thing; they differ in what the user feeds.
//!
//! A probabilistic output is fused with its loss when the model ends in the matching
//! activation: softmax + categorical cross-entropy and sigmoid + binary cross-entropy are
//! computed from the logits, as Keras does, which is both stable and cheaper.

use crate::autograd::{Tape, Var};
use crate::error::{Error, Result};
use crate::ops;
use crate::tensor::Float;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
    MeanSquaredError,
    BinaryCrossentropy,
}

impl Loss {
    pub fn name(self) -> &'static str {
        match self {
            Loss::CategoricalCrossentropy => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy => "sparse_categorical_crossentropy",
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::BinaryCrossentropy => "binary_crossentropy",
        }
    }

    /// Accepts Keras's names and common aliases (`mse`, `crossentropy`, `cce`, `bce`).
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "categorical_crossentropy" | "crossentropy" | "cross_entropy" | "cce" => {
                Loss::CategoricalCrossentropy
            }
            "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy,
            "mean_squared_error" | "mse" => Loss::MeanSquaredError,
            "binary_crossentropy" | "bce" => Loss::BinaryCrossentropy,
            other => {
                return Err(Error::invalid(format!(
                    "unknown loss '{other}' (expected categorical_crossentropy, \
                     sparse_categorical_crossentropy, mean_squared_error or binary_crossentropy)"
                )))
            }
        })
    }

    /// The mean loss of `pred` against dense `targets` over the batch.
    pub fn compute<T: Float>(self, tape: &mut Tape<T>, pred: Var, targets: Var) -> Result<Var> {
        match self {
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy => {
                if tape.op_name(pred) == "softmax" {
                    let logits = tape.op_inputs(pred)[0];
                    ops::softmax_crossentropy(tape, logits, targets)
                } else {
                    ops::categorical_crossentropy(tape, pred, targets)
                }
            }
            Loss::BinaryCrossentropy => {
                if tape.op_name(pred) == "sigmoid" {
                    let logits = tape.op_inputs(pred)[0];
                    ops::sigmoid_binary_crossentropy(tape, logits, targets)
                } else {
                    ops::binary_crossentropy(tape, pred, targets)
                }
            }
            Loss::MeanSquaredError => ops::mean_squared_error(tape, pred, targets),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};

    fn one_hot(rows: usize, width: usize) -> crate::Tensor<f64> {
        let mut t = crate::Tensor::zeros([rows, width]);
        for r in 0..rows {
            t.data_mut()[r * width + (r * 3 + 1) % width] = 1.0;
        }
        t
    }

    #[test]
    fn every_loss_has_correct_gradients_through_its_output_activation() {
        let cases = [
            (Loss::CategoricalCrossentropy, "softmax"),
            (Loss::SparseCategoricalCrossentropy, "softmax"),
            (Loss::BinaryCrossentropy, "sigmoid"),
            (Loss::MeanSquaredError, "softmax"),
            (Loss::MeanSquaredError, "linear"),
        ];
        for (loss, act) in cases {
            assert_gradients(&[random_tensor(&[4, 3], 81)], |t, v| {
                let p = match act {
                    "softmax" => ops::softmax(t, v[0])?,
                    "sigmoid" => ops::sigmoid(t, v[0])?,
                    _ => v[0],
                };
                let y = t.input(one_hot(4, 3));
                loss.compute(t, p, y)
            });
        }
    }

    #[test]
    fn softmax_output_is_fused_with_cross_entropy() {
        let mut params = crate::autograd::ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let z = tape.input(random_tensor(&[2, 3], 82));
        let p = ops::softmax(&mut tape, z).unwrap();
        let y = tape.input(one_hot(2, 3));
        let loss = Loss::CategoricalCrossentropy
            .compute(&mut tape, p, y)
            .unwrap();
        assert_eq!(tape.op_name(loss), "softmax_crossentropy");
    }

    #[test]
    fn aliases_parse() {
        assert_eq!(Loss::parse("mse").unwrap(), Loss::MeanSquaredError);
        assert!(Loss::parse("hinge").is_err());
    }
}
