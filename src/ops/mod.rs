//! Differentiable ops. Each file holds one op family: its forward, its backward rule and
//! its finite-difference gradient tests, side by side.
//!
//! Every op takes the tape and input variables and returns the output variable. Shapes are
//! checked up front and reported as [`Error::Shape`](crate::Error::Shape).

mod activation;
mod arithmetic;
mod batch_norm;
mod bias_activation;
mod conv2d;
mod conv2d_direct;
mod conv2d_direct_fma;
mod conv2d_direct_planar;
mod conv2d_pool;
mod conv2d_winograd;
mod conv2d_winograd_avx;
mod conv2d_winograd_f4;
mod conv2d_winograd_f4_simd;
mod conv2d_winograd_gemm;
mod conv2d_winograd_pool;
mod cross_entropy;
mod dropout;
mod matmul;
mod mse;
mod pool;
mod pool_2x2;
mod reduce;
mod reshape;
mod softmax;
mod window;

pub use activation::{relu, sigmoid, tanh};
pub use arithmetic::{add, add_scalar, div, mul, scale, sub};
pub use batch_norm::{
    batch_norm, batch_norm_inference, batch_norm_inference_increases, BatchMoments,
};
pub use bias_activation::{bias_activation, Activation};
pub use conv2d::{conv2d, conv2d_bias_activation, conv2d_with, ConvKernel};
pub use conv2d_pool::{conv2d_bias_activation_max_pool, conv_max_pool_fuses, MaxPool};
pub use cross_entropy::{
    binary_crossentropy, categorical_crossentropy, sigmoid_binary_crossentropy,
    softmax_crossentropy,
};
pub use dropout::{dropout, dropout_mask};
pub use matmul::{matmul, transpose};
pub use mse::mean_squared_error;
pub use pool::{avg_pool2d, global_avg_pool2d, max_pool2d};
pub use reduce::{mean, sum, sum_squares};
pub use reshape::reshape;
pub use softmax::{log_softmax, softmax};
pub use window::{Padding, Window};
