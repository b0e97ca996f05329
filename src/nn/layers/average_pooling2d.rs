//! AveragePooling2D: the mean of each window, per channel (padding left out of the mean).

use super::conv2d::Size2;
use super::pooling::{plan_pool, two, BuiltPool, Reduction};
use crate::error::Result;
use crate::nn::layer::{Declared, Forward, LayerType, Plan};
use crate::ops::Padding;
use crate::tensor::Float;
use serde::{Deserialize, Serialize};

/// Average pooling's options, with Keras's defaults: 2x2 windows, strides equal to the window.
///
/// ```
/// use nabla::nn::layers::AveragePooling2D;
/// let pool = AveragePooling2D::new(3).strides(2);
/// assert_eq!(pool.pool_size.0, [3, 3]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AveragePooling2D {
    #[serde(default = "two")]
    pub pool_size: Size2,
    /// `None` means the window size, as in Keras.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strides: Option<Size2>,
    #[serde(default)]
    pub padding: Padding,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Default for AveragePooling2D {
    fn default() -> Self {
        AveragePooling2D::new(2)
    }
}

impl AveragePooling2D {
    pub fn new(pool_size: impl Into<Size2>) -> Self {
        AveragePooling2D {
            pool_size: pool_size.into(),
            strides: None,
            padding: Padding::Valid,
            name: None,
        }
    }

    pub fn strides(mut self, strides: impl Into<Size2>) -> Self {
        self.strides = Some(strides.into());
        self
    }

    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }
}

impl LayerType for AveragePooling2D {
    fn plan(&self, name: &str, input_shape: &[usize]) -> Result<Plan> {
        plan_pool(
            name,
            input_shape,
            self.pool_size,
            self.strides,
            self.padding,
        )
    }

    fn build<T: Float>(&self, _plan: &Plan, _weights: &Declared) -> Box<dyn Forward<T>> {
        Box::new(BuiltPool {
            pool: self.pool_size,
            strides: self.strides,
            padding: self.padding,
            reduction: Reduction::Average,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::harness::run_layer_test;

    // Shapes and counts from real Keras: tests/fixtures/make_keras_layer_counts.py.
    #[test]
    fn average_pooling2d_passes_the_layer_test() {
        run_layer_test(
            "average_pooling2d",
            AveragePooling2D::new(2),
            &[4, 6, 2],
            &[2, 3, 2],
            (0, 0),
        );
        run_layer_test(
            "average_pooling2d_same_strided",
            AveragePooling2D::new(3).strides(2).padding(Padding::Same),
            &[5, 5, 2],
            &[3, 3, 2],
            (0, 0),
        );
    }
}
