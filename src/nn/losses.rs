//! Losses by their Keras names. Targets arrive dense (one-hot for classes), so the sparse
//! and the categorical cross-entropy compute the same thing; they differ in what the user feeds.
//!
//! A probabilistic output is fused with its loss when the model ends in the matching
//! activation: softmax + categorical cross-entropy and sigmoid + binary cross-entropy are
//! computed from the logits, as Keras does, which is both stable and cheaper.

use crate::autograd::{Tape, Var};
use crate::error::{Error, Result};
use crate::nn::Output;
use crate::ops::{self, Activation};
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

    /// The mean loss of the model output `pred` against dense `targets` over the batch. An
    /// output tagged as softmax (for cross-entropy) or sigmoid (for binary cross-entropy)
    /// with its logits is computed from the logits; a plain `Var` from its values.
    pub fn compute<T: Float>(
        self,
        tape: &mut Tape<T>,
        pred: impl Into<Output>,
        targets: Var,
    ) -> Result<Var> {
        let pred = pred.into();
        let logits_of = |activation| match pred.logits {
            Some(logits) if pred.activation == activation => Some(logits),
            _ => None,
        };
        match self {
            Loss::CategoricalCrossentropy | Loss::SparseCategoricalCrossentropy => {
                match logits_of(Activation::Softmax) {
                    Some(logits) => ops::softmax_crossentropy(tape, logits, targets),
                    None => ops::categorical_crossentropy(tape, pred.var, targets),
                }
            }
            Loss::BinaryCrossentropy => match logits_of(Activation::Sigmoid) {
                Some(logits) => ops::sigmoid_binary_crossentropy(tape, logits, targets),
                None => ops::binary_crossentropy(tape, pred.var, targets),
            },
            Loss::MeanSquaredError => ops::mean_squared_error(tape, pred.var, targets),
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
            (Loss::CategoricalCrossentropy, Activation::Softmax),
            (Loss::SparseCategoricalCrossentropy, Activation::Softmax),
            (Loss::BinaryCrossentropy, Activation::Sigmoid),
            (Loss::MeanSquaredError, Activation::Softmax),
            (Loss::MeanSquaredError, Activation::Linear),
        ];
        for (loss, act) in cases {
            // Both the fused path (a tagged output) and the plain one (probabilities only).
            for tagged in [true, false] {
                assert_gradients(&[random_tensor(&[4, 3], 81)], |t, v| {
                    let p = match act {
                        Activation::Softmax => ops::softmax(t, v[0])?,
                        Activation::Sigmoid => ops::sigmoid(t, v[0])?,
                        _ => v[0],
                    };
                    let out = if tagged && act != Activation::Linear {
                        Output::activated(p, act, v[0])
                    } else {
                        Output::plain(p)
                    };
                    let y = t.input(one_hot(4, 3));
                    loss.compute(t, out, y)
                });
            }
        }
    }

    #[test]
    fn softmax_output_is_fused_with_cross_entropy() {
        let mut params = crate::autograd::ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let z = tape.input(random_tensor(&[2, 3], 82));
        let p = ops::softmax(&mut tape, z).unwrap();
        let y = tape.input(one_hot(2, 3));
        let fused = Loss::CategoricalCrossentropy
            .compute(&mut tape, Output::activated(p, Activation::Softmax, z), y)
            .unwrap();
        assert_eq!(tape.op_inputs(fused), &[z, y]);
        // An untagged output is taken as probabilities, whatever op made it.
        let plain = Loss::CategoricalCrossentropy
            .compute(&mut tape, p, y)
            .unwrap();
        assert_eq!(tape.op_inputs(plain), &[p, y]);
    }

    #[test]
    fn aliases_parse() {
        assert_eq!(Loss::parse("mse").unwrap(), Loss::MeanSquaredError);
        assert!(Loss::parse("hinge").is_err());
    }
}
