//! Conv2D (bias, activation) then MaxPooling2D as one op where Winograd's kernel computes
//! the convolution: the MNIST CNN's second block (32 → 64 channels, 3×3, then 2×2 pooling).
//! Same maths as `conv2d_pool.rs` does for the direct kernel:
//!
//!   z = conv2d(x, W) + b,   a = f(z),   y[n, p, c] = a[n, q(p, c), c]
//!   ∂L/∂z[n, q(p, c), c] = G[n, p, c] · f′(y[n, p, c]),   0 at every other pixel
//!
//! Forward, each task's feature maps (a few images) are convolved into a per-thread buffer,
//! biased, activated and pooled there while in cache; the batch's feature map (the MNIST
//! CNN's 11×11×64 per image, 4.0 MB at batch 128) is never written, and the bias+ReLU and
//! pooling passes over it are gone. Backward, f′ is taken on the pooled gradient alone and
//! ∂L/∂z routed to the argmax pixels; the convolution's gradients then follow from ∂L/∂z as
//! in `conv2d_winograd.rs`, on the same code.
//!
//! Threads split the batch as the Winograd convolution does; ∂L/∂b is summed per fixed group
//! of images and the groups added in order, so results do not depend on the thread count.

use super::bias_activation::{
    bias_activation_grad, bias_activation_in_place, bias_period, fold_periods, period_len,
    Activation,
};
use super::conv2d_direct::GROUP;
use super::conv2d_pool::{pooled_outputs, ARGMAX, BIAS, KERNEL, X};
use super::conv2d_winograd::{
    backward_from, convolve_task, images_per_task, this_thread, Scratch, Tiling,
};
use super::pool::{max_image, route_tiles, tiles_cover, Uncovered};
use super::window::Window;
use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::tensor::{Float, Shape, Tensor};
use rayon::prelude::*;
use std::sync::{Mutex, PoisonError};

/// max_pool(f(conv2d(x, kernel) + bias)) by Winograd's algorithm. `conv` and `pooling` are
/// already checked against the inputs and each other: 3×3 stride-1 windows on at least one
/// channel, pooling windows that do not overlap, feature maps under `MAX_PIXELS`.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv2d_winograd_max_pool<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    kernel: Var,
    bias: Option<Var>,
    activation: Activation,
    conv: Window,
    filters: usize,
    pooling: Window,
    tiling: Tiling,
) -> Var {
    let rest = conv.channels * filters;
    let mut u = tape.alloc(Shape::new(&[tiling.kernel_buffer_len(rest)]));
    tiling.transform_kernel(tape.value(kernel).data(), rest, u.data_mut());
    let (mut out, mut argmax) = pooled_outputs(tape, &pooling, filters);
    let recording = tape.is_recording();
    let bias_values = bias.map(|b| bias_period(tape.value(b).data()));
    let (in_len, feature_len) = (conv.in_len(), conv.out_pixels() * filters);
    let pooled_len = pooling.out_pixels() * filters;
    let group = images_per_task(conv.batch, tiling, &conv);
    let scratch = Scratch::per_thread(&conv, tiling, filters, group, |s| tape.alloc(s));
    // Each thread's feature maps of one task, drawn from the pool with the scratch.
    let maps: Vec<Mutex<Tensor<T>>> = (0..scratch.len())
        .map(|_| Mutex::new(tape.alloc(Shape::new(&[group * feature_len]))))
        .collect();
    if pooled_len > 0 {
        let xs = tape.value(x).data();
        // One task's images: their feature maps, then pooled into `out`. The task starts no
        // parallel work while it holds the thread's buffers (see `Scratch::this_thread`).
        let task = |images: &[T], out: &mut [T], argmax: &mut [T]| {
            let count = images.len() / in_len;
            let mut maps = this_thread(&maps);
            let maps = &mut maps.data_mut()[..count * feature_len];
            convolve_task(
                &conv,
                tiling,
                images,
                u.data(),
                filters,
                maps,
                false,
                &mut Scratch::this_thread(&scratch),
            );
            if bias_values.is_some() || activation != Activation::Linear {
                bias_activation_in_place(maps, bias_values.as_deref(), activation);
            }
            for (k, map) in maps.chunks_exact(feature_len).enumerate() {
                let out = &mut out[k * pooled_len..][..pooled_len];
                if recording {
                    let argmax = &mut argmax[k * pooled_len..][..pooled_len];
                    max_image::<T, true>(&pooling, map, out, argmax);
                } else {
                    max_image::<T, false>(&pooling, map, out, &mut []);
                }
            }
        };
        let tasks = out
            .data_mut()
            .par_chunks_mut(group * pooled_len)
            .zip(xs.par_chunks(group * in_len));
        if recording {
            tasks
                .zip(argmax.data_mut().par_chunks_mut(group * pooled_len))
                .for_each(|((out, images), argmax)| task(images, out, argmax));
        } else {
            tasks.for_each(|(out, images)| task(images, out, &mut []));
        }
    }
    tape.recycle(u);
    for buffer in Scratch::buffers(scratch) {
        tape.recycle(buffer);
    }
    for buffer in maps {
        tape.recycle(buffer.into_inner().unwrap_or_else(PoisonError::into_inner));
    }
    // The argmax rides along as a constant input, so its buffer returns to the pool.
    let argmax = tape.input(argmax);
    let mut inputs = vec![x, kernel, argmax];
    inputs.extend(bias);
    tape.push_op(
        "conv2d_max_pool",
        out,
        &inputs,
        WinogradPoolBackward {
            conv,
            pooling,
            filters,
            activation,
            tiling,
        },
    )
}

struct WinogradPoolBackward {
    conv: Window,
    pooling: Window,
    filters: usize,
    activation: Activation,
    tiling: Tiling,
}

impl<T: Float> Backward<T> for WinogradPoolBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (conv, pooling, f) = (&self.conv, &self.pooling, self.filters);
        let (g, y) = (io.grad_out().data(), io.output().data());
        let argmax = io.input(ARGMAX).data();
        let (feature_len, pooled_len) = (conv.out_pixels() * f, pooling.out_pixels() * f);
        // ∂L/∂z at the argmax pixels, G ⊙ f′(y), and its sums per group of images.
        let mut pooled_dz = grads.scratch(io.output().shape());
        let period = period_len(f);
        let groups = conv.batch.div_ceil(GROUP);
        let mut bias_sums = vec![T::zero(); groups * period];
        pooled_dz
            .data_mut()
            .par_chunks_mut(GROUP * pooled_len)
            .zip(g.par_chunks(GROUP * pooled_len))
            .zip(y.par_chunks(GROUP * pooled_len))
            .zip(bias_sums.par_chunks_mut(period))
            .for_each(|(((dz, g), y), sums)| {
                bias_activation_grad(self.activation, dz, g, y, Some(sums));
            });
        if let Some(db) = grads.slot(BIAS) {
            let mut total = vec![T::zero(); f];
            fold_periods(&mut total, &bias_sums);
            db.put(total.into_iter());
        }
        if grads.wants(X) || grads.wants(KERNEL) {
            // The whole of ∂L/∂z, zero away from the argmax: every pixel is written, those in
            // no window (an odd edge) by `uncovered`.
            let map = Shape::new(&[conv.batch, conv.out_h, conv.out_w, f]);
            let mut dz = grads.scratch(map);
            let uncovered = (tiles_cover(pooling) == Some(false)).then(|| Uncovered::of(pooling));
            if pooled_len == 0 {
                dz.data_mut().fill(T::zero());
            } else {
                dz.data_mut()
                    .par_chunks_mut(feature_len)
                    .zip(pooled_dz.data().par_chunks(pooled_len))
                    .zip(argmax.par_chunks(pooled_len))
                    .for_each(|((dz, g), argmax)| {
                        if let Some(uncovered) = &uncovered {
                            uncovered.zero(dz, f);
                        }
                        route_tiles(pooling, g, argmax, dz, false);
                    });
            }
            let (x, kernel) = (io.input(X).data(), io.input(KERNEL).data());
            backward_from(conv, f, self.tiling, x, kernel, dz.data(), grads);
            grads.recycle(dz);
        }
        grads.recycle(pooled_dz);
    }
}
