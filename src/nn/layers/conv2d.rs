//! Conv2D: y = activation(conv2d(x, W) + b) on NHWC images, W of shape (k_h, k_w, in, filters).

use super::activation::{after_fused, fused_part};
use crate::autograd::{ParamId, Tape, Var};
use crate::error::{Error, Result};
use crate::nn::layer::{Declared, Forward, LayerType, Output, Plan, WeightSpec};
use crate::nn::{Context, Initializer, Regularizer};
use crate::ops::{self, Activation, Padding};
use crate::tensor::Float;
use serde::{Deserialize, Serialize};

/// A height × width pair that, as in Keras, may be written as one number for a square.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SizeText", into = "[usize; 2]")]
pub struct Size2(pub [usize; 2]);

#[derive(Deserialize)]
#[serde(untagged)]
enum SizeText {
    Square(usize),
    Pair([usize; 2]),
}

impl From<SizeText> for Size2 {
    fn from(s: SizeText) -> Self {
        match s {
            SizeText::Square(n) => Size2([n, n]),
            SizeText::Pair(p) => Size2(p),
        }
    }
}

impl From<Size2> for [usize; 2] {
    fn from(s: Size2) -> Self {
        s.0
    }
}

impl From<usize> for Size2 {
    fn from(n: usize) -> Self {
        Size2([n, n])
    }
}

impl From<[usize; 2]> for Size2 {
    fn from(p: [usize; 2]) -> Self {
        Size2(p)
    }
}

/// Output size of a sliding window over a per-sample `[h, w, c]` shape, or a shape error.
pub(crate) fn window_output(
    name: &str,
    input_shape: &[usize],
    window: Size2,
    strides: Size2,
    padding: Padding,
) -> Result<[usize; 3]> {
    let &[h, w, c] = input_shape else {
        return Err(Error::shape(format!(
            "{name}: needs (height, width, channels) inputs, got {input_shape:?}"
        )));
    };
    let dims = [1, h, w, c];
    let geometry = ops::Window::new(name, &dims, window.0, strides.0, padding)?;
    Ok([geometry.out_h, geometry.out_w, c])
}

/// A 2-D convolution layer's options, with Keras's defaults.
///
/// ```
/// use nabla::nn::layers::Conv2D;
/// use nabla::ops::{Activation, Padding};
/// let conv = Conv2D::new(32, 3).activation(Activation::Relu).padding(Padding::Same);
/// assert_eq!(conv.kernel_size.0, [3, 3]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2D {
    pub filters: usize,
    pub kernel_size: Size2,
    #[serde(default = "one")]
    pub strides: Size2,
    #[serde(default)]
    pub padding: Padding,
    #[serde(default)]
    pub activation: Activation,
    #[serde(default = "super::yes")]
    pub use_bias: bool,
    #[serde(default)]
    pub kernel_initializer: Initializer,
    #[serde(default = "super::zeros")]
    pub bias_initializer: Initializer,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_regularizer: Option<Regularizer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

fn one() -> Size2 {
    Size2([1, 1])
}

impl Conv2D {
    pub fn new(filters: usize, kernel_size: impl Into<Size2>) -> Self {
        Conv2D {
            filters,
            kernel_size: kernel_size.into(),
            strides: one(),
            padding: Padding::Valid,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            name: None,
        }
    }

    pub fn strides(mut self, strides: impl Into<Size2>) -> Self {
        self.strides = strides.into();
        self
    }

    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    pub fn activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    pub fn kernel_initializer(mut self, init: Initializer) -> Self {
        self.kernel_initializer = init;
        self
    }

    /// Adds λ·Σw² over the kernel to the loss.
    pub fn l2(mut self, lambda: f64) -> Self {
        self.kernel_regularizer = (lambda > 0.0).then_some(Regularizer::L2(lambda));
        self
    }
}

impl LayerType for Conv2D {
    fn plan(&self, name: &str, input_shape: &[usize]) -> Result<Plan> {
        if self.filters == 0 {
            return Err(Error::invalid(format!(
                "{name}: Conv2D needs at least one filter"
            )));
        }
        let [out_h, out_w, channels] = window_output(
            name,
            input_shape,
            self.kernel_size,
            self.strides,
            self.padding,
        )?;
        let [k_h, k_w] = self.kernel_size.0;
        let mut weights = vec![WeightSpec::trainable(
            "kernel",
            vec![k_h, k_w, channels, self.filters],
            self.kernel_initializer,
        )
        .regularizer(self.kernel_regularizer)];
        if self.use_bias {
            weights.push(WeightSpec::trainable(
                "bias",
                vec![self.filters],
                self.bias_initializer,
            ));
        }
        Ok(Plan {
            output_shape: vec![out_h, out_w, self.filters],
            weights,
        })
    }

    fn build<T: Float>(&self, plan: &Plan, weights: &Declared) -> Box<dyn Forward<T>> {
        // (k_h, k_w, C, F) from the plan; zeros (never fused) if it is not 4-D.
        let kernel_shape = plan
            .weights
            .first()
            .and_then(|w| <[usize; 4]>::try_from(&w.shape[..]).ok())
            .unwrap_or_default();
        Box::new(BuiltConv2D {
            kernel: weights.expect("kernel"),
            kernel_shape,
            bias: weights.get("bias"),
            strides: self.strides.0,
            padding: self.padding,
            activation: self.activation,
        })
    }
}

struct BuiltConv2D {
    kernel: ParamId,
    kernel_shape: [usize; 4],
    bias: Option<ParamId>,
    strides: [usize; 2],
    padding: Padding,
    activation: Activation,
}

impl<T: Float> Forward<T> for BuiltConv2D {
    fn forward(&mut self, tape: &mut Tape<T>, x: Var, _ctx: &mut Context) -> Result<Output> {
        let kernel = tape.param(self.kernel);
        let bias = self.bias.map(|b| tape.param(b));
        let fused = fused_part(self.activation);
        let (strides, padding) = (self.strides, self.padding);
        let y = ops::conv2d_bias_activation(tape, x, kernel, bias, fused, strides, padding)?;
        after_fused(tape, y, self.activation)
    }

    fn fuses_max_pool(&self, input_shape: &[usize], pool: ops::MaxPool) -> bool {
        fused_part(self.activation) == self.activation
            && ops::conv_max_pool_fuses(
                input_shape,
                self.kernel_shape,
                self.strides,
                self.padding,
                pool,
                false,
            )
    }

    fn forward_max_pooled(
        &mut self,
        tape: &mut Tape<T>,
        x: Var,
        _ctx: &mut Context,
        pool: ops::MaxPool,
    ) -> Option<Result<Output>> {
        // Sigmoid and softmax stay ops of their own (for the losses that fuse with them).
        if fused_part(self.activation) != self.activation {
            return None;
        }
        let kernel = tape.param(self.kernel);
        let bias = self.bias.map(|b| tape.param(b));
        let (strides, padding, act) = (self.strides, self.padding, self.activation);
        let y = ops::conv2d_bias_activation_max_pool(
            tape, x, kernel, bias, act, strides, padding, pool,
        );
        Some(y.map(Output::plain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::harness::run_layer_test;
    use crate::nn::LayerConfig;

    #[test]
    fn config_reads_keras_style_sizes() {
        let c: LayerConfig = serde_json::from_str(
            r#"{"type": "Conv2D", "filters": 8, "kernel_size": 5, "strides": [2, 1], "padding": "same", "activation": "relu"}"#,
        )
        .unwrap();
        let LayerConfig::Conv2D(c) = c else {
            panic!("not a Conv2D")
        };
        assert_eq!((c.kernel_size.0, c.strides.0), ([5, 5], [2, 1]));
        assert_eq!(c.padding, Padding::Same);
        let round = serde_json::to_string(&LayerConfig::Conv2D(c.clone())).unwrap();
        assert_eq!(
            serde_json::from_str::<LayerConfig>(&round).unwrap(),
            c.into()
        );
    }

    // Shapes and counts from real Keras: tests/fixtures/make_keras_layer_counts.py.
    #[test]
    fn conv2d_passes_the_layer_test() {
        run_layer_test(
            "conv2d_relu",
            Conv2D::new(3, 3).activation(Activation::Relu),
            &[6, 6, 2],
            &[4, 4, 3],
            (57, 0),
        );
        run_layer_test(
            "conv2d_same_strided_tanh",
            Conv2D::new(2, 3)
                .strides(2)
                .padding(Padding::Same)
                .activation(Activation::Tanh),
            &[7, 7, 2],
            &[4, 4, 2],
            (38, 0),
        );
        run_layer_test(
            "conv2d_softmax_no_bias_l2",
            Conv2D::new(3, [2, 3])
                .activation(Activation::Softmax)
                .use_bias(false)
                .l2(0.01),
            &[5, 4, 1],
            &[4, 2, 3],
            (18, 0),
        );
    }

    #[test]
    fn conv2d_refuses_flat_inputs_and_zero_filters() {
        assert!(Conv2D::new(4, 3).plan("c", &[784]).is_err());
        assert!(Conv2D::new(0, 3).plan("c", &[5, 5, 1]).is_err());
    }
}
