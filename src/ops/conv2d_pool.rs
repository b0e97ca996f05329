//! A convolution with its bias and activation, then max pooling, as one op: Conv2D followed
//! by MaxPooling2D, the block of the MNIST CNN and LeNet-5. Same maths as the three ops in
//! a row (`conv2d_direct.rs`, `bias_activation.rs`, `pool.rs`):
//!
//!   z = conv2d(x, W) + b,   a = f(z),   y[n, p, c] = a[n, q(p, c), c]
//!   ∂L/∂z[n, q(p, c), c] = G[n, p, c] · f′(y[n, p, c]),   0 at every other pixel
//!
//! with q(p, c) the pixel of window p where channel c is largest (the first, on ties); a
//! there is y itself, so f′ needs no more than y. ∂L/∂b, ∂L/∂W and ∂L/∂x then follow from
//! ∂L/∂z as in the direct kernel. The feature map `a` (the MNIST CNN's largest: 26x26x32 per
//! image, 11 MB a batch) lives only in a per-thread scratch buffer while its image is in
//! cache: the forward pools it there, and the backward rebuilds ∂L/∂z there from the pooled
//! gradient and the argmax. Neither pass streams it through memory, and the tape keeps only
//! the pooled output and its argmax.
//!
//! Measured with `RAYON_NUM_THREADS=2 cargo bench --bench cnn_ops` (ms, fused / apart,
//! forward + backward then forward alone): the MNIST CNN's first block 4.7 / 8.1 and 1.9 /
//! 2.9; LeNet-5's 1.16 / 1.21 and 0.40 / 0.58, 0.93 / 1.00 and 0.14 / 0.21.
//!
//! Fused where the direct kernel is the one [`ConvKernel::choose`] picks and the pooling
//! windows do not overlap (every pool of the labs); where it picks Winograd's, the op of
//! `conv2d_winograd_pool.rs` does the same on that kernel; otherwise the three ops run in a
//! row.
//! Threads split the batch as in the direct kernel: ∂L/∂W and ∂L/∂b are summed per fixed
//! group of images and the groups added in order, so results do not depend on the thread
//! count.

use super::bias_activation::{
    bias_activation_grad, bias_activation_in_place, bias_period, fold_periods, period_len,
    Activation,
};
use super::conv2d::{conv2d_bias_activation, conv_window, refuse_softmax, ConvKernel};
use super::conv2d_direct::{
    forward_image, input_grad_image, kernel_grad_image, padded_filters, padded_kernel,
    put_kernel_grad, transposed_kernel, GROUP,
};
use super::conv2d_winograd_pool::conv2d_winograd_max_pool;
use super::pool::{max_image, max_pool2d, route_tiles, tiles_cover, MAX_PIXELS};
use super::window::{Padding, Window};
use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::Result;
use crate::tensor::{Float, Shape, Tensor};
use rayon::prelude::*;

/// A max pooling's window size, strides and padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool {
    pub size: [usize; 2],
    pub strides: [usize; 2],
    pub padding: Padding,
}

/// max_pool2d(activation(conv2d(x, kernel) + bias)): the same values as
/// [`conv2d_bias_activation`] followed by [`max_pool2d`], computed image by image in cache
/// where the direct kernel applies (see the module docs). `activation` must be elementwise.
#[allow(clippy::too_many_arguments)]
pub fn conv2d_bias_activation_max_pool<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    kernel: Var,
    bias: Option<Var>,
    activation: Activation,
    strides: [usize; 2],
    padding: Padding,
    pool: MaxPool,
) -> Result<Var> {
    refuse_softmax(activation)?;
    let (conv, filters) = conv_window(tape, x, kernel, strides, padding, bias)?;
    let map_dims = [conv.batch, conv.out_h, conv.out_w, filters];
    let pooling = Window::new(
        "max_pool2d",
        &map_dims,
        pool.size,
        pool.strides,
        pool.padding,
    )?;
    match fusion(&conv, filters, &pooling, tape.is_recording()) {
        None => {
            let y = conv2d_bias_activation(tape, x, kernel, bias, activation, strides, padding)?;
            return max_pool2d(tape, y, pool.size, pool.strides, pool.padding);
        }
        Some(algorithm @ (ConvKernel::Winograd | ConvKernel::Winograd4x4)) => {
            let tiling = algorithm.tiling().expect("a Winograd kernel");
            return Ok(conv2d_winograd_max_pool(
                tape, x, kernel, bias, activation, conv, filters, pooling, tiling,
            ));
        }
        Some(_) => {}
    }
    let wide = padded_kernel(tape, kernel, &conv, filters);
    let (mut out, mut argmax) = pooled_outputs(tape, &pooling, filters);
    let recording = tape.is_recording();
    let bias_values = bias.map(|b| bias_period(tape.value(b).data()));
    let feature_len = conv.out_pixels() * filters;
    let pooled_len = pooling.out_pixels() * filters;
    if pooled_len > 0 {
        let (xs, ws) = (tape.value(x).data(), wide.data());
        let bias_values = bias_values.as_deref();
        // One image's feature map, in the thread's scratch buffer.
        let feature_map = |image: &[T], map: &mut Vec<T>| {
            map.resize(feature_len, T::zero());
            forward_image(&conv, image, ws, filters, map);
            if bias_values.is_some() || activation != Activation::Linear {
                bias_activation_in_place(map, bias_values, activation);
            }
        };
        let images = out
            .data_mut()
            .par_chunks_mut(pooled_len)
            .zip(xs.par_chunks(conv.in_len()));
        if recording {
            images
                .zip(argmax.data_mut().par_chunks_mut(pooled_len))
                .for_each_init(Vec::new, |map, ((out, image), argmax)| {
                    feature_map(image, map);
                    max_image::<T, true>(&pooling, map, out, argmax);
                });
        } else {
            images.for_each_init(Vec::new, |map, (out, image)| {
                feature_map(image, map);
                max_image::<T, false>(&pooling, map, out, &mut []);
            });
        }
    }
    tape.recycle(wide);
    // The argmax rides along as a constant input, so its buffer returns to the pool.
    let argmax = tape.input(argmax);
    let mut inputs = vec![x, kernel, argmax];
    inputs.extend(bias);
    Ok(tape.push_op(
        "conv2d_max_pool",
        out,
        &inputs,
        ConvPoolBackward {
            conv,
            pooling,
            filters,
            activation,
        },
    ))
}

/// Whether [`conv2d_bias_activation_max_pool`] runs as one op, rather than as the three in
/// a row, on per-sample inputs of `input_shape` (H, W, C) with a kernel of `kernel_shape`
/// (k_h, k_w, C, F): in training (`training`) or at inference. False where the shapes do
/// not fit together.
pub fn conv_max_pool_fuses(
    input_shape: &[usize],
    kernel_shape: [usize; 4],
    strides: [usize; 2],
    padding: Padding,
    pool: MaxPool,
    training: bool,
) -> bool {
    let [k_h, k_w, _, filters] = kernel_shape;
    let input: Vec<usize> = [1].iter().chain(input_shape).copied().collect();
    let Ok(conv) = Window::new("conv2d", &input, [k_h, k_w], strides, padding) else {
        return false;
    };
    let feature_map = [1, conv.out_h, conv.out_w, filters];
    match Window::new(
        "max_pool2d",
        &feature_map,
        pool.size,
        pool.strides,
        pool.padding,
    ) {
        Ok(pooling) => fusion(&conv, filters, &pooling, training).is_some(),
        Err(_) => false,
    }
}

/// The rule: the convolution's kernel is the direct one or Winograd's (which then computes
/// the fused op, `conv2d_winograd_pool.rs`), and the pooling windows do not overlap. The
/// kernel that fuses, or `None`.
fn fusion(conv: &Window, filters: usize, pooling: &Window, training: bool) -> Option<ConvKernel> {
    let kernel = ConvKernel::Auto.choose(conv, filters, training);
    let fits = conv.out_h * conv.out_w <= MAX_PIXELS && conv.in_len() > 0;
    let fused = matches!(
        kernel,
        ConvKernel::Direct | ConvKernel::Winograd | ConvKernel::Winograd4x4
    );
    (fused && fits && tiles_cover(pooling).is_some()).then_some(kernel)
}

/// The fused op's output buffer, and its argmax's (pixel indices into the feature map, kept
/// only for a backward to read: empty at inference).
pub(super) fn pooled_outputs<T: Float>(
    tape: &mut Tape<T>,
    pooling: &Window,
    filters: usize,
) -> (Tensor<T>, Tensor<T>) {
    let shape = Shape::new(&[pooling.batch, pooling.out_h, pooling.out_w, filters]);
    let argmax = if tape.is_recording() {
        shape
    } else {
        Shape::new(&[0])
    };
    (tape.alloc(shape), tape.alloc(argmax))
}

struct ConvPoolBackward {
    conv: Window,
    pooling: Window,
    filters: usize,
    activation: Activation,
}

/// The inputs' indices on the tape, for both fused ops (this one and Winograd's).
pub(super) const X: usize = 0;
pub(super) const KERNEL: usize = 1;
pub(super) const ARGMAX: usize = 2;
pub(super) const BIAS: usize = 3;

/// One group of images' share of the backward: its ∂L/∂x rows, ∂L/∂W partial sum and ∂L/∂b
/// period sums.
type GroupTask<'a, T> = (usize, Option<&'a mut [T]>, Option<&'a mut [T]>, &'a mut [T]);

impl<T: Float> Backward<T> for ConvPoolBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (conv, pooling, f) = (&self.conv, &self.pooling, self.filters);
        let (x, kernel) = (io.input(X).data(), io.input(KERNEL).data());
        let argmax = io.input(ARGMAX).data();
        let (g, y) = (io.grad_out().data(), io.output().data());
        let (in_len, feature_len) = (conv.in_len(), conv.out_pixels() * f);
        let pooled_len = pooling.out_pixels() * f;
        let depth = conv.k_h * conv.k_w * conv.channels;
        let padded = padded_filters(f);
        let groups = conv.batch.div_ceil(GROUP);
        let period = period_len(f);
        let mut bias_sums = vec![T::zero(); groups * period];
        let mut partials = vec![T::zero(); groups * depth * padded];
        let want_kernel = grads.wants(KERNEL);
        let mut dx = grads.slot(X);
        let transposed = dx.as_ref().map(|_| transposed_kernel(kernel, f));
        let accumulate = dx.as_ref().is_some_and(|d| d.accumulate);
        let mut dx_groups: Vec<Option<&mut [T]>> = match dx.as_mut() {
            Some(d) => d.data.chunks_mut(GROUP * in_len).map(Some).collect(),
            None => (0..groups).map(|_| None).collect(),
        };
        let tasks: Vec<GroupTask<T>> = dx_groups
            .iter_mut()
            .map(Option::take)
            .zip(partials.chunks_mut(depth * padded))
            .zip(bias_sums.chunks_mut(period))
            .enumerate()
            .map(|(group, ((dx, partial), sums))| (group, dx, want_kernel.then_some(partial), sums))
            .collect();
        tasks.into_par_iter().for_each_init(
            || (Vec::new(), Vec::new(), vec![T::zero(); depth], Vec::new()),
            |(pooled_dz, dz, row, padded_g), (group, dx, partial, sums)| {
                let first = group * GROUP;
                let count = GROUP.min(conv.batch - first);
                let span = first * pooled_len..(first + count) * pooled_len;
                // ∂L/∂z at the argmax pixels: G ⊙ f′(y), whose sums are ∂L/∂b.
                pooled_dz.resize(span.len(), T::zero());
                bias_activation_grad(
                    self.activation,
                    pooled_dz,
                    &g[span.clone()],
                    &y[span.clone()],
                    Some(sums),
                );
                dz.resize(feature_len, T::zero());
                padded_g.resize(conv.out_pixels() * padded, T::zero());
                let (mut dx, mut partial) = (dx, partial);
                for k in 0..count {
                    let n = first + k;
                    // The whole of ∂L/∂z for image n, zero away from the argmax. Pixels in
                    // no window are never written, so they keep the zeros `resize` gave them.
                    let at = k * pooled_len..(k + 1) * pooled_len;
                    let image_argmax = &argmax[n * pooled_len..][..pooled_len];
                    route_tiles(pooling, &pooled_dz[at], image_argmax, dz, false);
                    if let (Some(dx), Some(t)) = (dx.as_deref_mut(), transposed.as_deref()) {
                        let dimage = &mut dx[k * in_len..][..in_len];
                        if !accumulate {
                            dimage.fill(T::zero());
                        }
                        input_grad_image(conv, dz, t, f, row, dimage);
                    }
                    if let Some(partial) = partial.as_deref_mut() {
                        let image = &x[n * in_len..][..in_len];
                        kernel_grad_image(conv, image, dz, f, padded_g, partial);
                    }
                }
            },
        );
        if let Some(dw) = grads.slot(KERNEL) {
            put_kernel_grad(dw, &partials, f);
        }
        if let Some(db) = grads.slot(BIAS) {
            let mut total = vec![T::zero(); f];
            fold_periods(&mut total, &bias_sums);
            db.put(total.into_iter());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, gradient_errors, random_tensor};
    use crate::autograd::ParamStore;
    use crate::ops::conv2d_direct::tests::normwise_error;
    use crate::ops::{mul, sum};
    use crate::tensor::Tensor;

    /// (input dims, kernel dims, strides, padding, pooling, whether the op fuses).
    type Case = ([usize; 4], [usize; 4], [usize; 2], Padding, MaxPool, bool);

    const fn pool(size: usize, stride: usize, padding: Padding) -> MaxPool {
        MaxPool {
            size: [size, size],
            strides: [stride, stride],
            padding,
        }
    }

    const VALID: Padding = Padding::Valid;
    const SAME: Padding = Padding::Same;

    /// The labs' conv + pool blocks that take the direct kernel (batch cut to 2), then odd
    /// ones: a strided conv whose odd map leaves a row and a column out of the windows, a
    /// short ∂W group (batch 5), 3x3 windows, windows with gaps between them, `same`
    /// pooling, 1x1 windows, a 1x1 kernel and kernel = input; then the MNIST CNN's second
    /// block, on Winograd's kernel (`conv2d_winograd_pool.rs`), a block that does not fuse
    /// (overlapping windows), and Winograd's odd ones: a short group of 3x3 windows that
    /// leave pixels out, an odd map under `same` padding, 33 channels (past whole
    /// registers) under `same` pooling, and overlapping windows again, not fused.
    const CASES: [Case; 16] = [
        (
            [2, 28, 28, 1],
            [3, 3, 1, 32],
            [1, 1],
            VALID,
            pool(2, 2, VALID),
            true,
        ), // MNIST CNN
        (
            [2, 32, 32, 3],
            [5, 5, 3, 6],
            [1, 1],
            VALID,
            pool(2, 2, VALID),
            true,
        ), // LeNet-5 conv1
        (
            [2, 14, 14, 6],
            [5, 5, 6, 16],
            [1, 1],
            VALID,
            pool(2, 2, VALID),
            true,
        ), // LeNet-5 conv2
        (
            [2, 28, 28, 1],
            [5, 5, 1, 6],
            [1, 1],
            SAME,
            pool(2, 2, VALID),
            true,
        ), // LeNet-5, MNIST
        (
            [5, 9, 8, 3],
            [3, 3, 3, 5],
            [2, 2],
            SAME,
            pool(2, 2, VALID),
            true,
        ),
        (
            [3, 11, 11, 2],
            [3, 3, 2, 8],
            [1, 1],
            VALID,
            pool(3, 3, VALID),
            true,
        ),
        (
            [2, 10, 9, 2],
            [2, 2, 2, 10],
            [1, 1],
            VALID,
            pool(2, 3, VALID),
            true,
        ),
        (
            [2, 9, 9, 1],
            [3, 3, 1, 16],
            [1, 1],
            SAME,
            pool(2, 2, SAME),
            true,
        ),
        (
            [2, 5, 6, 3],
            [2, 2, 3, 4],
            [1, 1],
            VALID,
            pool(1, 1, VALID),
            true,
        ),
        (
            [2, 6, 6, 4],
            [1, 1, 4, 3],
            [1, 1],
            VALID,
            pool(2, 2, VALID),
            true,
        ),
        (
            [2, 13, 13, 32],
            [3, 3, 32, 64],
            [1, 1],
            VALID,
            pool(2, 2, VALID),
            true,
        ), // MNIST CNN conv2
        (
            [2, 9, 9, 2],
            [3, 3, 2, 4],
            [1, 1],
            VALID,
            pool(3, 2, VALID),
            false,
        ),
        (
            [5, 6, 5, 32],
            [3, 3, 32, 2],
            [1, 1],
            VALID,
            pool(3, 3, VALID),
            true,
        ),
        (
            [3, 7, 8, 32],
            [3, 3, 32, 3],
            [1, 1],
            SAME,
            pool(2, 2, VALID),
            true,
        ),
        (
            [2, 7, 7, 33],
            [3, 3, 33, 4],
            [1, 1],
            SAME,
            pool(2, 2, SAME),
            true,
        ),
        (
            [2, 9, 9, 32],
            [3, 3, 32, 4],
            [1, 1],
            VALID,
            pool(3, 2, VALID),
            false,
        ),
    ];

    /// The MNIST CNN's second block: too large for finite differences.
    const MNIST_CONV2: usize = 10;

    const ACTIVATIONS: [Activation; 3] = [Activation::Relu, Activation::Tanh, Activation::Linear];

    fn cast<T: Float>(t: Tensor<f64>) -> Tensor<T> {
        Tensor::from_vec(t.data().iter().map(|&v| T::of(v)).collect(), t.shape()).unwrap()
    }

    /// y, ∂L/∂x, ∂L/∂W and ∂L/∂b for L = Σ y ⊙ R with a fixed random R, by the fused op
    /// (`fused`) or by the three ops in a row; and the name of the op that made y.
    fn run<T: Float>(
        case: Case,
        activation: Activation,
        seed: u32,
        fused: bool,
    ) -> ([Vec<T>; 4], &'static str) {
        let (xd, kd, strides, padding, pooling, _) = case;
        let mut params = ParamStore::default();
        let mut tape = Tape::new(&mut params);
        let x = tape.input_with_grad(cast::<T>(random_tensor(&xd, seed)));
        let k = tape.input_with_grad(cast::<T>(random_tensor(&kd, seed + 1)));
        let b = tape.input_with_grad(cast::<T>(random_tensor(&[kd[3]], seed + 2)));
        let y = if fused {
            conv2d_bias_activation_max_pool(
                &mut tape,
                x,
                k,
                Some(b),
                activation,
                strides,
                padding,
                pooling,
            )
        } else {
            conv2d_bias_activation(&mut tape, x, k, Some(b), activation, strides, padding).and_then(
                |z| max_pool2d(&mut tape, z, pooling.size, pooling.strides, pooling.padding),
            )
        }
        .unwrap();
        let r = tape.input(cast::<T>(random_tensor(tape.shape(y).dims(), seed + 3)));
        let weighted = mul(&mut tape, y, r).unwrap();
        let loss = sum(&mut tape, weighted);
        tape.backward(loss).unwrap();
        let data = |t: &Tensor<T>| t.data().to_vec();
        let values = [
            data(tape.value(y)),
            data(tape.grad(x).unwrap()),
            data(tape.grad(k).unwrap()),
            data(tape.grad(b).unwrap()),
        ];
        (values, tape.op_name(y))
    }

    #[test]
    fn fused_equals_conv_then_pool_in_f32_to_1e_5_and_f64_to_rounding() {
        for (i, case) in CASES.into_iter().enumerate() {
            let act = ACTIVATIONS[i % ACTIVATIONS.len()];
            let seed = 500 + 10 * i as u32;
            let (fused, name) = run::<f32>(case, act, seed, true);
            let expected = if case.5 {
                "conv2d_max_pool"
            } else {
                "max_pool2d"
            };
            assert_eq!(name, expected, "case {i} {case:?}");
            let (reference, _) = run::<f32>(case, act, seed, false);
            for (what, (a, b)) in ["y", "dx", "dW", "db"]
                .iter()
                .zip(fused.iter().zip(&reference))
            {
                let e = normwise_error(a, b);
                assert!(
                    e < 1e-5,
                    "case {i} {case:?} {act:?}: {what} differs by {e:e}"
                );
            }
            let (fused, _) = run::<f64>(case, act, seed, true);
            let (reference, _) = run::<f64>(case, act, seed, false);
            for (what, (a, b)) in ["y", "dx", "dW", "db"]
                .iter()
                .zip(fused.iter().zip(&reference))
            {
                let e = normwise_error(a, b);
                assert!(
                    e < 1e-13,
                    "case {i} {case:?} {act:?}: {what} differs by {e:e} in f64"
                );
            }
        }
    }

    #[test]
    fn fused_gradients_match_finite_differences() {
        // The labs' blocks are left to the comparison above (too many finite differences);
        // the blocks that do not fuse are the other ops' to check.
        let fused = |&(i, c): &(usize, Case)| c.5 && i != MNIST_CONV2;
        for (i, case) in CASES.into_iter().enumerate().skip(3).filter(fused) {
            let (xd, kd, strides, padding, pooling, _) = case;
            let seed = 600 + 10 * i as u32;
            let inputs = [
                random_tensor(&xd, seed),
                random_tensor(&kd, seed + 1),
                random_tensor(&[kd[3]], seed + 2),
            ];
            let act = ACTIVATIONS[i % ACTIVATIONS.len()];
            let block = |t: &mut Tape<f64>, v: &[Var]| {
                let bias = Some(v[2]);
                conv2d_bias_activation_max_pool(t, v[0], v[1], bias, act, strides, padding, pooling)
            };
            // Central differences divide the forward's rounding by 2h. F(4×4, 3×3) rounds
            // about 4 times as much as the other kernels (in f64, y within 8e-14 of im2col's
            // against 2e-14 for F(2×2) on case 13's convolution), and over 32 channels that
            // moves the differences by up to 1.0e-6 of the gradient (F(2×2): 6.7e-7 on the
            // convolution alone). Its gradients themselves equal the unfused ops' to 1e-13
            // (`fused_equals_conv_then_pool_in_f32_to_1e_5_and_f64_to_rounding`).
            let conv = Window::new("t", &xd, [kd[0], kd[1]], strides, padding).unwrap();
            let kernel = ConvKernel::Auto.choose(&conv, kd[3], true);
            let bound = if kernel == ConvKernel::Winograd4x4 {
                1e-5
            } else {
                1e-6
            };
            let errors = gradient_errors(&inputs, block).unwrap();
            for (input, e) in errors.iter().enumerate() {
                assert!(*e < bound, "case {i}, input {input}: {e:e} ({kernel:?})");
            }
        }
    }

    #[test]
    fn fused_gradients_add_onto_gradients_already_there() {
        // x, W and b each feed two fused ops, so the second backward adds to the first's.
        let (xd, kd, strides, padding, pooling, _) = CASES[4];
        let inputs = [
            random_tensor(&xd, 700),
            random_tensor(&kd, 701),
            random_tensor(&[kd[3]], 702),
        ];
        assert_gradients(&inputs, |t, v| {
            let mut block = |act| {
                conv2d_bias_activation_max_pool(
                    t,
                    v[0],
                    v[1],
                    Some(v[2]),
                    act,
                    strides,
                    padding,
                    pooling,
                )
            };
            let (a, b) = (block(Activation::Relu)?, block(Activation::Tanh)?);
            crate::ops::add(t, a, b)
        });
    }

    #[test]
    fn fused_inference_equals_the_training_forward() {
        for (i, case) in CASES.into_iter().enumerate() {
            let (xd, kd, strides, padding, pooling, _) = case;
            let forward = |recording: bool| {
                let mut params = ParamStore::default();
                let mut tape = Tape::with_pool(&mut params, Default::default(), recording);
                let x = tape.input(cast::<f32>(random_tensor(&xd, 800 + i as u32)));
                let k = tape.input(cast::<f32>(random_tensor(&kd, 801 + i as u32)));
                let y = conv2d_bias_activation_max_pool(
                    &mut tape,
                    x,
                    k,
                    None,
                    Activation::Relu,
                    strides,
                    padding,
                    pooling,
                )
                .unwrap();
                tape.value(y).data().to_vec()
            };
            assert_eq!(forward(true), forward(false), "case {i} {case:?}");
        }
    }

    #[test]
    fn fused_op_refuses_a_kernel_without_filters() {
        // On direct's channels and Winograd's: an error before any buffer is sized by it
        // (the fused backward's chunks would be 0 elements long).
        for channels in [2, 32] {
            let mut params = ParamStore::default();
            let mut tape = Tape::<f32>::new(&mut params);
            let x = tape.input(cast(random_tensor(&[2, 6, 6, channels], 1)));
            let k = tape.input(Tensor::zeros(Shape::new(&[3, 3, channels, 0])));
            let relu = Activation::Relu;
            let pooled = pool(2, 2, VALID);
            let err =
                conv2d_bias_activation_max_pool(&mut tape, x, k, None, relu, [1, 1], VALID, pooled)
                    .unwrap_err();
            assert!(err.to_string().contains("has no filters"), "{err}");
        }
    }

    #[test]
    fn fused_results_do_not_depend_on_the_thread_count() {
        // The direct kernel's block and Winograd's.
        for case in [CASES[4], CASES[13]] {
            let on = |threads: usize| {
                crate::on_threads(threads, || run::<f32>(case, Activation::Relu, 9, true).0)
            };
            let one = on(1);
            assert_eq!(one, on(2));
            assert_eq!(one, on(3));
        }
    }
}
