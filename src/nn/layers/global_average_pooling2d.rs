//! GlobalAveragePooling2D: the mean of each channel over the whole image, (h, w, c) → (c).

use crate::autograd::{Tape, Var};
use crate::error::Result;
use crate::nn::layer::{need_image, Declared, Forward, LayerType, Output, Plan};
use crate::nn::Context;
use crate::ops;
use crate::tensor::Float;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalAveragePooling2D {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl GlobalAveragePooling2D {
    pub fn new() -> Self {
        GlobalAveragePooling2D::default()
    }
}

impl LayerType for GlobalAveragePooling2D {
    fn plan(&self, name: &str, input_shape: &[usize]) -> Result<Plan> {
        let [_, _, c] = need_image(name, input_shape)?;
        Ok(Plan::stateless(vec![c]))
    }

    fn build<T: Float>(&self, _plan: &Plan, _weights: &Declared) -> Box<dyn Forward<T>> {
        Box::new(BuiltGlobalAvgPool)
    }
}

struct BuiltGlobalAvgPool;

impl<T: Float> Forward<T> for BuiltGlobalAvgPool {
    fn forward(&mut self, tape: &mut Tape<T>, x: Var, _ctx: &mut Context) -> Result<Output> {
        ops::global_avg_pool2d(tape, x).map(Output::plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::harness::run_layer_test;

    // Shapes and counts from real Keras: tests/fixtures/make_keras_layer_counts.py.
    #[test]
    fn global_average_pooling2d_passes_the_layer_test() {
        run_layer_test(
            "global_average_pooling2d",
            GlobalAveragePooling2D::new(),
            &[3, 3, 4],
            &[4],
            (0, 0),
        );
    }
}
