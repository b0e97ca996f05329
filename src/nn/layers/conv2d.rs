//! Conv2D: y = activation(conv2d(x, W) + b) on NHWC images, W of shape (k_h, k_w, in, filters).

use crate::autograd::{ParamId, ParamStore, Tape, Var};
use crate::error::{Error, Result};
use crate::nn::{Context, Initializer, Layer, Regularizer};
use crate::ops::{self, Activation, Padding};
use crate::random::Rng;
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

    pub(crate) fn build<T: Float>(
        &self,
        name: String,
        input_shape: &[usize],
        params: &mut ParamStore<T>,
        rng: &mut Rng,
    ) -> Result<Box<dyn Layer<T>>> {
        if self.filters == 0 {
            return Err(Error::invalid(format!(
                "{name}: Conv2D needs at least one filter"
            )));
        }
        let [out_h, out_w, channels] = window_output(
            &name,
            input_shape,
            self.kernel_size,
            self.strides,
            self.padding,
        )?;
        let [k_h, k_w] = self.kernel_size.0;
        let kernel = params.add(
            format!("{name}/kernel"),
            self.kernel_initializer
                .init(&[k_h, k_w, channels, self.filters], rng),
            true,
        );
        let mut ids = vec![kernel];
        let bias = self.use_bias.then(|| {
            let id = params.add(
                format!("{name}/bias"),
                self.bias_initializer.init(&[self.filters], rng),
                true,
            );
            ids.push(id);
            id
        });
        Ok(Box::new(BuiltConv2D {
            name,
            config: self.clone(),
            kernel,
            bias,
            ids,
            output_shape: vec![out_h, out_w, self.filters],
        }))
    }
}

struct BuiltConv2D {
    name: String,
    config: Conv2D,
    kernel: ParamId,
    bias: Option<ParamId>,
    ids: Vec<ParamId>,
    output_shape: Vec<usize>,
}

impl<T: Float> Layer<T> for BuiltConv2D {
    fn name(&self) -> &str {
        &self.name
    }

    fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    fn params(&self) -> &[ParamId] {
        &self.ids
    }

    fn forward(&mut self, tape: &mut Tape<T>, x: Var, _ctx: &mut Context) -> Result<Var> {
        let kernel = tape.param(self.kernel);
        let c = &self.config;
        let mut y = ops::conv2d(tape, x, kernel, c.strides.0, c.padding)?;
        // As in Dense: sigmoid and softmax stay separate so a loss can find the logits.
        let fused = match c.activation {
            Activation::Sigmoid | Activation::Softmax => Activation::Linear,
            other => other,
        };
        let bias = self.bias.map(|b| tape.param(b));
        if bias.is_some() || fused != Activation::Linear {
            y = ops::bias_activation(tape, y, bias, fused)?;
        }
        match c.activation {
            Activation::Sigmoid => ops::sigmoid(tape, y),
            Activation::Softmax => ops::softmax(tape, y),
            _ => Ok(y),
        }
    }

    fn penalty(&self, tape: &mut Tape<T>) -> Result<Option<Var>> {
        Ok(self.config.kernel_regularizer.map(|r| {
            let w = tape.param(self.kernel);
            r.penalty(tape, w)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn output_shapes_and_parameter_counts() {
        let mut params = ParamStore::<f32>::default();
        let mut rng = Rng::new(0);
        let layer = Conv2D::new(6, 5)
            .build("conv2d".into(), &[32, 32, 3], &mut params, &mut rng)
            .unwrap();
        assert_eq!(layer.output_shape(), &[28, 28, 6]);
        assert_eq!(params.count(), (456, 0));
        let same = Conv2D::new(4, 3)
            .padding(Padding::Same)
            .strides(2)
            .build("c".into(), &[7, 7, 2], &mut params, &mut rng)
            .unwrap();
        assert_eq!(same.output_shape(), &[4, 4, 4]);
        assert!(Conv2D::new(4, 3)
            .build("c".into(), &[784], &mut params, &mut rng)
            .is_err());
    }
}
