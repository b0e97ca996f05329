//! 2-D convolution computed directly from the input, without unfolding it: the kernel for
//! few filters (LeNet-5's 6 and 16, the MNIST CNN's first 32), where im2col + GEMM spends
//! most of its time writing and reading the unfolded matrix and the GEMM's narrow N wastes
//! its tiles. Same maths as `conv2d.rs` (which documents the im2col path):
//!
//!   y[n, oy, ox, f]  = Σ_{i,j,c} x[n, oy·s_h + i − p_t, ox·s_w + j − p_l, c] · W[i, j, c, f]
//!   ∂L/∂x[n, a, c]  += Σ_f G[n, oy, ox, f] · W[i, j, c, f]   for every window reading a
//!   ∂L/∂W[i, j, c, f] = Σ_{n,oy,ox} x[n, window pixel (i, j), c] · G[n, oy, ox, f]
//!
//! For one output pixel and one kernel row, the window's pixels are consecutive in NHWC
//! memory, so the sum over (j, c) runs along a contiguous slice of the input against a
//! contiguous block of the kernel; the sum over filters f is the vector lane. Filters are
//! padded to a multiple of 8 (`FP`) so the accumulators are whole AVX registers held in
//! registers for the whole window. In f32, on a processor with AVX2 and FMA, the forward and
//! ∂L/∂W run the same loops written with intrinsics (`conv2d_direct_fma.rs`); the generic
//! code below is then the f64 path and the fallback. With few filters at stride 1 on
//! AVX-512, both take output pixels as the lanes instead (`conv2d_direct_planar.rs`).
//!
//! Threads split the batch, one image per task, never a sum: the forward and ∂L/∂x write
//! only their own image; ∂L/∂W is summed per fixed group of images and the groups' partial
//! sums are added in order, so every result is the same for any thread count.

use super::bias_activation::{
    bias_activation_grad, bias_activation_in_place, bias_period, fold_periods, period_len,
    Activation,
};
#[cfg(target_arch = "x86_64")]
use super::conv2d_direct_fma as fma;
#[cfg(target_arch = "x86_64")]
use super::conv2d_direct_planar as planar;
use super::window::Window;
use crate::autograd::{Backward, GradSink, GradSlot, OpIo, Tape, Var};
use crate::error::Result;
use crate::tensor::{f32s, f32s_mut, Float, Shape, Tensor};
use rayon::prelude::*;

/// The most filters the direct kernel takes: above it, im2col + GEMM's blocking wins and the
/// accumulators no longer fit in registers.
pub(super) const MAX_FILTERS: usize = 64;

/// Images whose ∂L/∂W is summed into one partial sum: fixed, so that the order of the sum
/// does not depend on the number of threads.
pub(super) const GROUP: usize = 4;

/// What the direct convolution does to its output while each image is still in cache:
/// `f(y + b)`, the layer's bias and elementwise activation, which then need no op (and no
/// pass over the feature map) of their own.
#[derive(Clone, Copy, Debug)]
pub(super) struct Epilogue {
    pub bias: Option<Var>,
    pub activation: Activation,
}

impl Epilogue {
    /// The plain convolution.
    pub const NONE: Epilogue = Epilogue {
        bias: None,
        activation: Activation::Linear,
    };

    pub(super) fn is_none(&self) -> bool {
        self.bias.is_none() && self.activation == Activation::Linear
    }
}

/// y = f(conv2d(x, kernel) + b) by the direct kernel; `window` is already checked against
/// the input and kernel, and the bias against the filters.
pub(super) fn conv2d_direct<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    kernel: Var,
    window: Window,
    filters: usize,
    epilogue: Epilogue,
) -> Result<Var> {
    let wide = padded_kernel(tape, kernel, &window, filters);
    let mut out = tape.alloc(Shape::new(&[
        window.batch,
        window.out_h,
        window.out_w,
        filters,
    ]));
    let out_len = window.out_pixels() * filters;
    let bias = epilogue.bias.map(|b| bias_period(tape.value(b).data()));
    if out_len > 0 && window.in_len() > 0 {
        let (xs, ws) = (tape.value(x).data(), wide.data());
        out.data_mut()
            .par_chunks_mut(out_len)
            .zip(xs.par_chunks(window.in_len()))
            .for_each(|(out, image)| {
                forward_image(&window, image, ws, filters, out);
                if !epilogue.is_none() {
                    bias_activation_in_place(out, bias.as_deref(), epilogue.activation);
                }
            });
    }
    let wide = tape.input(wide);
    let (name, inputs) = match epilogue.bias {
        Some(b) => ("conv2d_bias", vec![x, kernel, wide, b]),
        None => ("conv2d", vec![x, kernel, wide]),
    };
    Ok(tape.push_op(
        name,
        out,
        &inputs,
        DirectBackward {
            window,
            filters,
            epilogue,
        },
    ))
}

/// The kernel as (depth, FP), its filters padded by zeros to the accumulator width, in a
/// buffer from the tape's pool.
pub(super) fn padded_kernel<T: Float>(
    tape: &mut Tape<T>,
    kernel: Var,
    window: &Window,
    filters: usize,
) -> Tensor<T> {
    let padded = padded_filters(filters);
    let depth = window.k_h * window.k_w * window.channels;
    let mut wide = tape.alloc(Shape::new(&[depth, padded]));
    for (dst, src) in wide
        .data_mut()
        .chunks_exact_mut(padded)
        .zip(tape.value(kernel).data().chunks_exact(filters))
    {
        dst[..filters].copy_from_slice(src);
        dst[filters..].fill(T::zero());
    }
    wide
}

/// Filters rounded up to the accumulator widths the kernel is compiled for.
pub(super) fn padded_filters(filters: usize) -> usize {
    match filters {
        0..=8 => 8,
        9..=16 => 16,
        17..=32 => 32,
        _ => 64,
    }
}

/// Runs `$kernel::<T, FP, PX>` for the padded filter count `FP`, with `PX` output pixels
/// computed at once where their windows lie inside the image: independent accumulators that
/// hide the latency of the additions, as many as the 16 AVX2 registers hold.
macro_rules! by_width {
    ($padded:expr, $kernel:ident($($arg:expr),*)) => {
        match $padded {
            8 => $kernel::<T, 8, 4>($($arg),*),
            16 => $kernel::<T, 16, 4>($($arg),*),
            32 => $kernel::<T, 32, 2>($($arg),*),
            _ => $kernel::<T, 64, 1>($($arg),*),
        }
    };
}

/// Runs `$body` in a function compiled for AVX2 when the CPU has it. Results are the same
/// bit for bit either way: each lane does the same multiplications and additions in the same
/// order (Rust never fuses them into FMAs on its own).
macro_rules! avx2_when_available {
    ($name:ident<$t:ident>($($arg:ident: $ty:ty),*) $body:block) => {{
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        unsafe fn $name<$t: Float>($($arg: $ty),*) $body
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { $name::<$t>($($arg),*) };
        }
        $body
    }};
}

/// The forward for one image. `wide` is the kernel as (depth, FP), filters zero-padded.
pub(super) fn forward_image<T: Float>(
    w: &Window,
    image: &[T],
    wide: &[T],
    filters: usize,
    out: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(image), Some(wide), Some(out)) = (f32s(image), f32s(wide), f32s_mut(out)) {
        if planar::applies(w, filters) {
            return planar::forward_image(w, image, wide, filters, out);
        }
        if fma::available() {
            return fma::forward_image(w, image, wide, filters, out);
        }
    }
    avx2_when_available!(avx2<T>(w: &Window, image: &[T], wide: &[T], filters: usize, out: &mut [T]) {
        by_width!(padded_filters(filters), forward_block(w, image, wide, filters, out))
    })
}

#[inline(always)]
fn forward_block<T: Float, const FP: usize, const PX: usize>(
    w: &Window,
    image: &[T],
    wide: &[T],
    filters: usize,
    out: &mut [T],
) {
    let c = w.channels;
    let (span, step) = (w.k_w * c, w.stride_w * c);
    for oy in 0..w.out_h {
        let (ki, iy, nh) = w.rows(oy);
        let mut ox = 0;
        while ox < w.out_w {
            let (kj, ix, nw) = w.cols(ox);
            if ox + PX <= w.out_w && nw == w.k_w && w.cols(ox + PX - 1).2 == w.k_w {
                // PX whole windows side by side, `step` apart in the input.
                let mut acc = [[T::zero(); FP]; PX];
                for r in 0..nh {
                    let src = &image[((iy + r) * w.in_w + ix) * c..][..(PX - 1) * step + span];
                    let block = &wide[(ki + r) * span * FP..][..span * FP];
                    for (t, row) in block.chunks_exact(FP).enumerate() {
                        for (p, acc) in acc.iter_mut().enumerate() {
                            let xv = src[p * step + t];
                            for (a, &wv) in acc.iter_mut().zip(row) {
                                *a += xv * wv;
                            }
                        }
                    }
                }
                for (p, acc) in acc.iter().enumerate() {
                    out[(oy * w.out_w + ox + p) * filters..][..filters]
                        .copy_from_slice(&acc[..filters]);
                }
                ox += PX;
                continue;
            }
            // One window, clipped by the border.
            let mut acc = [T::zero(); FP];
            for r in 0..nh {
                let src = &image[((iy + r) * w.in_w + ix) * c..][..nw * c];
                let block = &wide[((ki + r) * w.k_w + kj) * c * FP..][..nw * c * FP];
                for (&xv, row) in src.iter().zip(block.chunks_exact(FP)) {
                    for (a, &wv) in acc.iter_mut().zip(row) {
                        *a += xv * wv;
                    }
                }
            }
            out[(oy * w.out_w + ox) * filters..][..filters].copy_from_slice(&acc[..filters]);
            ox += 1;
        }
    }
}

struct DirectBackward {
    window: Window,
    filters: usize,
    epilogue: Epilogue,
}

/// The bias's input index in a fused op.
const BIAS: usize = 3;

impl<T: Float> Backward<T> for DirectBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (w, f) = (&self.window, self.filters);
        let (x, kernel) = (io.input(0).data(), io.input(1).data());
        let (g_out, y) = (io.grad_out().data(), io.output().data());
        let out_len = w.out_pixels() * f;
        let depth = w.k_h * w.k_w * w.channels;
        let group_len = GROUP * out_len;
        // With an epilogue, the convolution's own gradient is dz = G ⊙ f′(y), and ∂L/∂b its
        // sums, kept per group of images (whole bias periods) and added in group order. dz
        // is computed for the whole batch when ∂L/∂x needs it too; otherwise group by group
        // in the ∂W pass, while the group's G and y are in cache.
        let fused = !self.epilogue.is_none();
        let act = self.epilogue.activation;
        let period = period_len(f);
        let mut bias_sums = vec![T::zero(); w.batch.div_ceil(GROUP) * period];
        let whole_dz = (fused && (grads.wants(0) || !grads.wants(1))).then(|| {
            let mut dz = vec![T::zero(); g_out.len()];
            dz.par_chunks_mut(group_len)
                .zip(g_out.par_chunks(group_len))
                .zip(y.par_chunks(group_len))
                .zip(bias_sums.par_chunks_mut(period))
                .for_each(|(((dz, g), y), sum)| bias_activation_grad(act, dz, g, y, Some(sum)));
            dz
        });
        let dz_by_group = fused && whole_dz.is_none();
        let g = whole_dz.as_deref().unwrap_or(g_out);
        if let Some(dx) = grads.slot(0) {
            let transposed = transposed_kernel(kernel, f);
            let accumulate = dx.accumulate;
            dx.data
                .par_chunks_mut(w.in_len())
                .zip(g.par_chunks(out_len))
                .for_each_init(
                    || vec![T::zero(); depth],
                    |scratch, (dimage, g)| {
                        if !accumulate {
                            dimage.fill(T::zero());
                        }
                        input_grad_image(w, g, &transposed, f, scratch, dimage)
                    },
                );
        }
        if let Some(dw) = grads.slot(1) {
            let padded = padded_filters(f);
            let images = w.batch;
            let groups = images.div_ceil(GROUP);
            let mut partials = vec![T::zero(); groups * depth * padded];
            partials
                .par_chunks_mut(depth * padded)
                .zip(x.par_chunks(GROUP * w.in_len()))
                .zip(g.par_chunks(group_len).zip(y.par_chunks(group_len)))
                .zip(bias_sums.par_chunks_mut(period))
                .for_each(|(((partial, xs), (gs, ys)), sum)| {
                    let mut padded_g = vec![T::zero(); w.out_pixels() * padded];
                    let mut dz = Vec::new();
                    let gs = if dz_by_group {
                        dz.resize(gs.len(), T::zero());
                        bias_activation_grad(act, &mut dz, gs, ys, Some(sum));
                        &dz[..]
                    } else {
                        gs
                    };
                    for (image, g) in xs.chunks(w.in_len()).zip(gs.chunks(out_len)) {
                        kernel_grad_image(w, image, g, f, &mut padded_g, partial);
                    }
                });
            put_kernel_grad(dw, &partials, f);
        }
        if let Some(db) = grads.slot(BIAS) {
            let mut total = vec![T::zero(); f];
            fold_periods(&mut total, &bias_sums);
            db.put(total.into_iter());
        }
    }
}

/// Wᵀ as (F, depth), for ∂L/∂x: the sum over filters then runs along contiguous rows.
pub(super) fn transposed_kernel<T: Float>(kernel: &[T], filters: usize) -> Vec<T> {
    let depth = kernel.len() / filters.max(1);
    let mut transposed = vec![T::zero(); filters * depth];
    for (t, row) in kernel.chunks_exact(filters).enumerate() {
        for (fi, &v) in row.iter().enumerate() {
            transposed[fi * depth + t] = v;
        }
    }
    transposed
}

/// Writes ∂L/∂W from the groups' partial sums, laid out as (depth, FP) each: added in group
/// order, without the padding.
pub(super) fn put_kernel_grad<T: Float>(dw: GradSlot<'_, T>, partials: &[T], filters: usize) {
    let padded = padded_filters(filters);
    let group_len = dw.data.len() / filters.max(1) * padded;
    for (t, out) in dw.data.chunks_exact_mut(filters).enumerate() {
        for (fi, o) in out.iter_mut().enumerate() {
            let mut sum = T::zero();
            for group in partials.chunks_exact(group_len) {
                sum += group[t * padded + fi];
            }
            *o = if dw.accumulate { *o + sum } else { sum };
        }
    }
}

/// ∂L/∂x for one image: each output pixel's G·Wᵀ (one row of what im2col's backward would
/// materialize), built in `scratch` and added onto the window's pixels at once.
pub(super) fn input_grad_image<T: Float>(
    w: &Window,
    g: &[T],
    transposed: &[T],
    filters: usize,
    scratch: &mut [T],
    dimage: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(g), Some(transposed), Some(scratch), Some(dimage)) = (
        f32s(g),
        f32s(transposed),
        f32s_mut(scratch),
        f32s_mut(dimage),
    ) {
        if fma::available() {
            return fma::input_grad_image(w, g, transposed, filters, scratch, dimage);
        }
    }
    avx2_when_available!(avx2<T>(w: &Window, g: &[T], transposed: &[T], filters: usize, scratch: &mut [T], dimage: &mut [T]) {
        input_grad_body(w, g, transposed, filters, scratch, dimage)
    })
}

#[inline(always)]
fn input_grad_body<T: Float>(
    w: &Window,
    g: &[T],
    transposed: &[T],
    filters: usize,
    scratch: &mut [T],
    dimage: &mut [T],
) {
    let c = w.channels;
    let depth = scratch.len();
    for oy in 0..w.out_h {
        let (ki, iy, nh) = w.rows(oy);
        for ox in 0..w.out_w {
            let (kj, ix, nw) = w.cols(ox);
            let g = &g[(oy * w.out_w + ox) * filters..][..filters];
            // Chunks of 64, then of 8 (one register), then the last few as the last 8 once
            // more (the same sums, written again), so that none goes through memory.
            let mut from = 0;
            while from + SUM_CHUNK <= depth {
                weighted_rows(
                    fixed::<T, SUM_CHUNK>(scratch, from),
                    g,
                    transposed,
                    depth,
                    from,
                );
                from += SUM_CHUNK;
            }
            while from + 8 <= depth {
                weighted_rows(fixed::<T, 8>(scratch, from), g, transposed, depth, from);
                from += 8;
            }
            if from < depth && depth >= 8 {
                let last = depth - 8;
                weighted_rows(fixed::<T, 8>(scratch, last), g, transposed, depth, last);
            } else if from < depth {
                weighted_rows(&mut scratch[from..], g, transposed, depth, from);
            }
            for r in 0..nh {
                let dst = &mut dimage[((iy + r) * w.in_w + ix) * c..][..nw * c];
                let src = &scratch[((ki + r) * w.k_w + kj) * c..][..nw * c];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            }
        }
    }
}

/// Elements of G·Wᵀ summed at once: 64 f32 are 8 AVX2 registers, which stay in registers
/// across the filters instead of going through memory once per filter (perf on a LeNet-5
/// epoch: this loop took 18% of the samples when it did, its 150-long rows a store and a
/// load per filter and element).
const SUM_CHUNK: usize = 64;

/// The `N` elements of `xs` from `from` on, as an array.
fn fixed<T, const N: usize>(xs: &mut [T], from: usize) -> &mut [T; N] {
    (&mut xs[from..from + N]).try_into().expect("N elements")
}

/// sums[i] = Σ_f g[f] · transposed[f·depth + from + i], filter after filter; a fixed-size
/// `sums` is unrolled into registers.
#[inline(always)]
fn weighted_rows<T: Float, S: AsMut<[T]> + ?Sized>(
    sums: &mut S,
    g: &[T],
    transposed: &[T],
    depth: usize,
    from: usize,
) {
    let sums = sums.as_mut();
    sums.fill(T::zero());
    let len = sums.len();
    for (&gv, row) in g.iter().zip(transposed.chunks_exact(depth)) {
        for (s, &wv) in sums.iter_mut().zip(&row[from..from + len]) {
            *s += gv * wv;
        }
    }
}

/// Adds one image's ∂L/∂W to `partial`, laid out as (depth, FP). `padded_g` is scratch for
/// the image's G with its filters padded to FP lanes.
pub(super) fn kernel_grad_image<T: Float>(
    w: &Window,
    image: &[T],
    g: &[T],
    filters: usize,
    padded_g: &mut [T],
    partial: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(image), Some(g), Some(padded_g), Some(partial)) =
        (f32s(image), f32s(g), f32s_mut(padded_g), f32s_mut(partial))
    {
        if fma::available() {
            return kernel_grad_image_f32(w, image, g, filters, padded_g, partial);
        }
    }
    avx2_when_available!(avx2<T>(w: &Window, image: &[T], g: &[T], filters: usize, padded_g: &mut [T], partial: &mut [T]) {
        let span = w.k_w * w.channels;
        // As many kernel positions at once as there are registers for (FP x TB lanes).
        let tb = |most: usize| [4, 3, 2].into_iter().find(|&b| b <= most && span.is_multiple_of(b)).unwrap_or(1);
        match (padded_filters(filters), tb(4), tb(3)) {
            (8, 4, _) => kernel_grad_block::<T, 8, 4>(w, image, g, filters, padded_g, partial),
            (8, 3, _) => kernel_grad_block::<T, 8, 3>(w, image, g, filters, padded_g, partial),
            (8, 2, _) => kernel_grad_block::<T, 8, 2>(w, image, g, filters, padded_g, partial),
            (8, _, _) => kernel_grad_block::<T, 8, 1>(w, image, g, filters, padded_g, partial),
            (16, 4, _) => kernel_grad_block::<T, 16, 4>(w, image, g, filters, padded_g, partial),
            (16, 3, _) => kernel_grad_block::<T, 16, 3>(w, image, g, filters, padded_g, partial),
            (16, 2, _) => kernel_grad_block::<T, 16, 2>(w, image, g, filters, padded_g, partial),
            (16, _, _) => kernel_grad_block::<T, 16, 1>(w, image, g, filters, padded_g, partial),
            (32, _, 3) => kernel_grad_block::<T, 32, 3>(w, image, g, filters, padded_g, partial),
            (32, _, 2) => kernel_grad_block::<T, 32, 2>(w, image, g, filters, padded_g, partial),
            (32, _, _) => kernel_grad_block::<T, 32, 1>(w, image, g, filters, padded_g, partial),
            _ => kernel_grad_block::<T, 64, 1>(w, image, g, filters, padded_g, partial),
        }
    })
}

/// [`kernel_grad_image`] in f32 on the intrinsics kernels, over the pixels whose G is not
/// zero only (under a 2×2 max pooling, at most 1 in 4), found in one pass over G: by the
/// planar kernel where it needs fewer multiply-adds for that many pixels, else by the
/// filter-lane kernel, with only those pixels' G padded to its lanes.
#[cfg(target_arch = "x86_64")]
fn kernel_grad_image_f32(
    w: &Window,
    image: &[f32],
    g: &[f32],
    filters: usize,
    padded_g: &mut [f32],
    partial: &mut [f32],
) {
    let mut nonzero = Vec::with_capacity(g.len() / filters);
    fma::nonzero_pixels(g, filters, &mut nonzero);
    if planar::applies(w, filters) && planar::kernel_grad_wins(w, filters, nonzero.len()) {
        return planar::kernel_grad_image(w, image, g, filters, partial);
    }
    let fp = padded_filters(filters);
    // G as the kernels read it, each pixel's filters padded to the lanes; already so when
    // the filters fill whole registers (the MNIST CNN's 32).
    let padded_g: &[f32] = if fp == filters {
        g
    } else {
        for &p in &nonzero {
            let (dst, src) = (&mut padded_g[p * fp..][..fp], &g[p * filters..][..filters]);
            for (i, d) in dst.iter_mut().enumerate() {
                *d = if i < filters { src[i] } else { 0.0 };
            }
        }
        padded_g
    };
    let rows = inside(w.out_h, w.k_h, |oy| w.rows(oy));
    let cols = inside(w.out_w, w.k_w, |ox| w.cols(ox));
    let (whole, clipped): (Vec<usize>, Vec<usize>) = nonzero
        .into_iter()
        .partition(|&p| rows.contains(&(p / w.out_w)) && cols.contains(&(p % w.out_w)));
    fma::kernel_grad_inside(w, image, padded_g, &whole, partial);
    for p in clipped {
        let gv = &padded_g[p * fp..][..fp];
        add_clipped_window(w, image, gv, p / w.out_w, p % w.out_w, partial);
    }
}

/// Adds x[window] ⊗ G[pixel] for output pixel (oy, ox), whose window the border may clip;
/// `gv` is the pixel's G padded to the partial sum's lanes.
fn add_clipped_window<T: Float>(
    w: &Window,
    image: &[T],
    gv: &[T],
    oy: usize,
    ox: usize,
    partial: &mut [T],
) {
    let (c, fp) = (w.channels, gv.len());
    let (ki, iy, nh) = w.rows(oy);
    let (kj, ix, nw) = w.cols(ox);
    for r in 0..nh {
        let src = &image[((iy + r) * w.in_w + ix) * c..][..nw * c];
        let block = &mut partial[((ki + r) * w.k_w + kj) * c * fp..][..nw * c * fp];
        for (&xv, row) in src.iter().zip(block.chunks_exact_mut(fp)) {
            for (d, &gl) in row.iter_mut().zip(gv) {
                *d += xv * gl;
            }
        }
    }
}

/// The output positions along one axis whose windows lie wholly inside the image: a
/// contiguous range, since windows move monotonically.
fn inside(
    out: usize,
    k: usize,
    clip: impl Fn(usize) -> (usize, usize, usize),
) -> std::ops::Range<usize> {
    let whole = |o: usize| {
        let (skip, _, count) = clip(o);
        skip == 0 && count == k
    };
    match (0..out).find(|&o| whole(o)) {
        Some(first) => first..(first..out).find(|&o| !whole(o)).unwrap_or(out),
        None => 0..0,
    }
}

/// ∂W for one image. For windows inside the image, each kernel row's TB consecutive (column,
/// channel) positions are summed over all pixels in registers: the outer products
/// x[window, t] · G[pixel] of im2col's colsᵀ·G without the cols. Windows the border clips
/// are added one at a time afterwards.
#[inline(always)]
fn kernel_grad_block<T: Float, const FP: usize, const TB: usize>(
    w: &Window,
    image: &[T],
    g: &[T],
    filters: usize,
    padded_g: &mut [T],
    partial: &mut [T],
) {
    let c = w.channels;
    let span = w.k_w * c;
    // Element by element: `copy_from_slice` called memcpy for every pixel's few filters.
    for (dst, src) in padded_g.chunks_exact_mut(FP).zip(g.chunks_exact(filters)) {
        for (i, d) in dst.iter_mut().enumerate() {
            *d = if i < filters { src[i] } else { T::zero() };
        }
    }
    let rows = inside(w.out_h, w.k_h, |oy| w.rows(oy));
    let cols = inside(w.out_w, w.k_w, |ox| w.cols(ox));
    for i in 0..w.k_h {
        for t0 in (0..span).step_by(TB) {
            let mut acc = [[T::zero(); FP]; TB];
            for oy in rows.clone() {
                let iy = w.rows(oy).1 + i;
                for ox in cols.clone() {
                    let ix = ox * w.stride_w - w.pad_left;
                    let xs = &image[(iy * w.in_w + ix) * c + t0..][..TB];
                    let gv = &padded_g[(oy * w.out_w + ox) * FP..][..FP];
                    for (a, &xv) in acc.iter_mut().zip(xs) {
                        for (a, &gl) in a.iter_mut().zip(gv) {
                            *a += xv * gl;
                        }
                    }
                }
            }
            let block = &mut partial[(i * span + t0) * FP..][..TB * FP];
            for (row, a) in block.chunks_exact_mut(FP).zip(&acc) {
                for (d, &v) in row.iter_mut().zip(a) {
                    *d += v;
                }
            }
        }
    }
    for oy in 0..w.out_h {
        for ox in 0..w.out_w {
            if rows.contains(&oy) && cols.contains(&ox) {
                continue;
            }
            let gv = &padded_g[(oy * w.out_w + ox) * FP..][..FP];
            add_clipped_window(w, image, gv, oy, ox, partial);
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::autograd::check::{assert_gradients, random_tensor};
    use crate::autograd::{ParamStore, Tape};
    use crate::ops::{self, conv2d_with, Activation, ConvKernel, Padding};
    use crate::tensor::{Float, Tensor};

    /// (input dims, kernel dims, strides, padding).
    pub(in crate::ops) type Case = ([usize; 4], [usize; 4], [usize; 2], Padding);

    /// Every convolution the labs' models run (batch cut to 2), then the odd ones: strides 2
    /// and (1, 2), `same` with odd and even kernels, 1x1, kernel = input, filter counts that
    /// are not a multiple of 8, a batch that is not a whole number of ∂W groups.
    pub(in crate::ops) const CASES: [Case; 16] = [
        ([2, 32, 32, 3], [5, 5, 3, 6], [1, 1], Padding::Valid), // LeNet-5 conv1
        ([2, 14, 14, 6], [5, 5, 6, 16], [1, 1], Padding::Valid), // LeNet-5 conv2
        ([2, 28, 28, 1], [3, 3, 1, 32], [1, 1], Padding::Valid), // MNIST CNN conv1
        ([2, 13, 13, 32], [3, 3, 32, 64], [1, 1], Padding::Valid), // MNIST CNN conv2
        ([2, 32, 32, 3], [3, 3, 3, 32], [1, 1], Padding::Valid), // CIFAR CNN conv1
        ([2, 15, 15, 32], [3, 3, 32, 64], [1, 1], Padding::Valid), // CIFAR CNN conv2
        ([2, 6, 6, 64], [3, 3, 64, 64], [1, 1], Padding::Valid), // CIFAR CNN conv3
        ([2, 28, 28, 1], [5, 5, 1, 6], [1, 1], Padding::Same),  // LeNet-5 on MNIST
        ([3, 9, 8, 3], [3, 3, 3, 5], [2, 2], Padding::Valid),
        ([3, 9, 8, 3], [3, 3, 3, 5], [2, 2], Padding::Same),
        ([2, 7, 9, 2], [4, 2, 2, 10], [1, 2], Padding::Same),
        ([2, 6, 6, 4], [1, 1, 4, 3], [1, 1], Padding::Valid),
        ([2, 5, 5, 3], [5, 5, 3, 4], [1, 1], Padding::Valid), // kernel = input
        ([5, 6, 6, 2], [3, 3, 2, 33], [1, 1], Padding::Same),
        ([1, 4, 4, 1], [3, 3, 1, 1], [1, 1], Padding::Same),
        ([9, 5, 5, 2], [2, 2, 2, 17], [2, 1], Padding::Valid),
    ];

    /// An f64 test tensor in the element type under test.
    fn cast<T: Float>(t: Tensor<f64>) -> Tensor<T> {
        Tensor::from_vec(t.data().iter().map(|&v| T::of(v)).collect(), t.shape()).unwrap()
    }

    /// y and ∂L/∂x, ∂L/∂W for L = Σ y ⊙ R with a fixed random R, by one kernel.
    pub(in crate::ops) fn run<T: Float>(
        case: Case,
        seed: u32,
        algorithm: ConvKernel,
    ) -> [Vec<T>; 3] {
        let (xd, kd, s, p) = case;
        let mut params = ParamStore::default();
        let mut tape = Tape::new(&mut params);
        let x = tape.input_with_grad(cast::<T>(random_tensor(&xd, seed)));
        let k = tape.input_with_grad(cast::<T>(random_tensor(&kd, seed + 1)));
        let y = conv2d_with(&mut tape, x, k, s, p, algorithm).unwrap();
        let r = tape.input(cast::<T>(random_tensor(tape.shape(y).dims(), seed + 2)));
        let weighted = ops::mul(&mut tape, y, r).unwrap();
        let loss = ops::sum(&mut tape, weighted);
        tape.backward(loss).unwrap();
        let data = |t: &Tensor<T>| t.data().to_vec();
        [
            data(tape.value(y)),
            data(tape.grad(x).unwrap()),
            data(tape.grad(k).unwrap()),
        ]
    }

    /// Largest difference relative to the largest reference value.
    pub(in crate::ops) fn normwise_error<T: Float>(a: &[T], reference: &[T]) -> f64 {
        assert_eq!(a.len(), reference.len());
        let scale = reference
            .iter()
            .map(|v| v.as_f64().abs())
            .fold(0.0, f64::max);
        // NaN anywhere is an error of NaN, which no bound passes (`f64::max` would drop it).
        let worst = a
            .iter()
            .zip(reference)
            .map(|(a, b)| (a.as_f64() - b.as_f64()).abs())
            .fold(0.0, |worst: f64, d| {
                if worst.is_nan() || d.is_nan() {
                    f64::NAN
                } else {
                    worst.max(d)
                }
            });
        worst / scale.max(f64::MIN_POSITIVE)
    }

    #[test]
    fn direct_equals_im2col_in_f32_to_1e_5() {
        for (i, case) in CASES.into_iter().enumerate() {
            let direct = run::<f32>(case, 100 + i as u32, ConvKernel::Direct);
            let reference = run::<f32>(case, 100 + i as u32, ConvKernel::Im2col);
            for (what, (a, b)) in ["y", "dx", "dW"].iter().zip(direct.iter().zip(&reference)) {
                let e = normwise_error(a, b);
                assert!(e < 1e-5, "case {i} {case:?}: {what} differs by {e:e}");
            }
        }
    }

    #[test]
    fn direct_equals_im2col_in_f64_to_rounding() {
        for (i, case) in CASES.into_iter().enumerate() {
            let direct = run::<f64>(case, 200 + i as u32, ConvKernel::Direct);
            let reference = run::<f64>(case, 200 + i as u32, ConvKernel::Im2col);
            for (what, (a, b)) in ["y", "dx", "dW"].iter().zip(direct.iter().zip(&reference)) {
                let e = normwise_error(a, b);
                assert!(e < 1e-13, "case {i} {case:?}: {what} differs by {e:e}");
            }
        }
    }

    #[test]
    fn direct_gradients_on_padded_filters_and_partial_groups() {
        // 33 filters pad to 64 lanes; a batch of 5 leaves the second ∂W group one image short.
        for (seed, (xd, kd, s, p)) in [CASES[13], CASES[15], CASES[10]].into_iter().enumerate() {
            let inputs = [
                random_tensor(&xd, 300 + seed as u32),
                random_tensor(&kd, 310 + seed as u32),
            ];
            assert_gradients(&inputs, |t, v| {
                conv2d_with(t, v[0], v[1], s, p, ConvKernel::Direct)
            });
        }
    }

    #[test]
    fn direct_results_do_not_depend_on_the_thread_count() {
        let on = |threads: usize| {
            crate::on_threads(threads, || run::<f32>(CASES[15], 7, ConvKernel::Direct))
        };
        let one = on(1);
        assert_eq!(one, on(2));
        assert_eq!(one, on(3));
    }

    #[test]
    fn grouped_equals_im2col_in_f32_to_1e_5_and_f64_to_rounding() {
        // Test builds group one or two images per task (conv2d.rs's GROUP_BYTES), so every
        // case runs in several groups, the last one short where the batch is odd.
        for (i, case) in CASES.into_iter().enumerate() {
            let seed = 400 + i as u32;
            let grouped = run::<f32>(case, seed, ConvKernel::Grouped);
            let reference = run::<f32>(case, seed, ConvKernel::Im2col);
            for (what, (a, b)) in ["y", "dx", "dW"].iter().zip(grouped.iter().zip(&reference)) {
                let e = normwise_error(a, b);
                assert!(e < 1e-5, "case {i} {case:?}: {what} differs by {e:e}");
            }
            let grouped = run::<f64>(case, seed, ConvKernel::Grouped);
            let reference = run::<f64>(case, seed, ConvKernel::Im2col);
            for (what, (a, b)) in ["y", "dx", "dW"].iter().zip(grouped.iter().zip(&reference)) {
                let e = normwise_error(a, b);
                assert!(
                    e < 1e-13,
                    "case {i} {case:?}: {what} differs by {e:e} in f64"
                );
            }
        }
    }

    #[test]
    fn grouped_gradients_on_odd_shapes_and_partial_groups() {
        for (seed, (xd, kd, s, p)) in [CASES[9], CASES[10], CASES[11], CASES[12], CASES[15]]
            .into_iter()
            .enumerate()
        {
            let inputs = [
                random_tensor(&xd, 500 + seed as u32),
                random_tensor(&kd, 510 + seed as u32),
            ];
            assert_gradients(&inputs, |t, v| {
                conv2d_with(t, v[0], v[1], s, p, ConvKernel::Grouped)
            });
        }
    }

    #[test]
    fn grouped_results_do_not_depend_on_the_thread_count() {
        let on = |threads: usize| {
            crate::on_threads(threads, || run::<f32>(CASES[3], 8, ConvKernel::Grouped))
        };
        let one = on(1);
        assert_eq!(one, on(2));
        assert_eq!(one, on(3));
    }

    /// y = f(conv2d(x, W) + b) fused, or by im2col then bias_activation, and its gradients
    /// for L = Σ y ⊙ R; `x_grad` false leaves the input constant (a first layer).
    fn run_fused<T: Float>(case: Case, act: Activation, fused: bool, x_grad: bool) -> Vec<Vec<T>> {
        let (xd, kd, s, p) = case;
        let mut params = ParamStore::default();
        let mut tape = Tape::new(&mut params);
        let x = cast::<T>(random_tensor(&xd, 40));
        let x = if x_grad {
            tape.input_with_grad(x)
        } else {
            tape.input(x)
        };
        let k = tape.input_with_grad(cast::<T>(random_tensor(&kd, 41)));
        let b = tape.input_with_grad(cast::<T>(random_tensor(&kd[3..], 42)));
        let y = if fused {
            ops::conv2d_bias_activation(&mut tape, x, k, Some(b), act, s, p).unwrap()
        } else {
            let y = conv2d_with(&mut tape, x, k, s, p, ConvKernel::Im2col).unwrap();
            ops::bias_activation(&mut tape, y, Some(b), act).unwrap()
        };
        let r = tape.input(cast::<T>(random_tensor(tape.shape(y).dims(), 43)));
        let weighted = ops::mul(&mut tape, y, r).unwrap();
        let loss = ops::sum(&mut tape, weighted);
        tape.backward(loss).unwrap();
        let mut out = vec![tape.value(y).data().to_vec()];
        for v in [x, k, b].into_iter().filter(|&v| v != x || x_grad) {
            out.push(tape.grad(v).unwrap().data().to_vec());
        }
        out
    }

    #[test]
    fn fused_bias_and_activation_equal_the_separate_ops() {
        // LeNet-5's layers (the direct kernel's), a `same` strided one and a batch of 5 (the
        // second ∂W group one image short); ∂L/∂x both wanted (dz for the whole batch) and
        // not (dz group by group).
        for case in [CASES[0], CASES[1], CASES[9], CASES[15]] {
            for act in [Activation::Relu, Activation::Linear, Activation::Tanh] {
                for x_grad in [true, false] {
                    let fused = run_fused::<f32>(case, act, true, x_grad);
                    let reference = run_fused::<f32>(case, act, false, x_grad);
                    for (i, (a, b)) in fused.iter().zip(&reference).enumerate() {
                        let e = normwise_error(a, b);
                        assert!(
                            e < 1e-5,
                            "{case:?} {act:?} x_grad {x_grad}: output {i} by {e:e}"
                        );
                    }
                    let fused = run_fused::<f64>(case, act, true, x_grad);
                    let reference = run_fused::<f64>(case, act, false, x_grad);
                    for (i, (a, b)) in fused.iter().zip(&reference).enumerate() {
                        let e = normwise_error(a, b);
                        assert!(e < 1e-13, "{case:?} {act:?} f64: output {i} by {e:e}");
                    }
                }
            }
        }
    }

    #[test]
    fn fused_gradients_by_finite_differences() {
        // Smooth activations, on shapes the direct kernel takes with short windows: a window
        // sum near ReLU's kink, or deep in tanh's flat tail, makes the differences, not the
        // gradient, inexact. The rest is held to the separate ops above, whose gradients are
        // checked.
        for (seed, (xd, kd, s, p)) in [CASES[9], CASES[10], CASES[11]].into_iter().enumerate() {
            for act in [Activation::Linear, Activation::Tanh] {
                let inputs = [
                    random_tensor(&xd, 600 + seed as u32),
                    random_tensor(&kd, 610 + seed as u32),
                    random_tensor(&kd[3..], 620 + seed as u32),
                ];
                assert_gradients(&inputs, |t, v| {
                    ops::conv2d_bias_activation(t, v[0], v[1], Some(v[2]), act, s, p)
                });
            }
        }
    }

    #[test]
    fn gradients_from_a_mostly_zero_g_equal_the_f64_kernels_to_1e_5() {
        // G zero at 3 pixels in 4, as under a 2×2 max pooling, which the f32 kernels skip:
        // every case the direct kernel takes, clipped windows and 8 to 64 lanes included.
        use super::{input_grad_image, kernel_grad_image, padded_filters, transposed_kernel};
        use crate::ops::Window;
        let wave = |len: usize, step: f64| (0..len).map(move |i| (i as f64 * step).sin());
        let narrow = |v: &[f64]| v.iter().map(|&v| v as f32).collect::<Vec<f32>>();
        for (i, (xd, kd, strides, padding)) in CASES.into_iter().enumerate() {
            let filters = kd[3];
            let w = Window::new(
                "test",
                &[1, xd[1], xd[2], xd[3]],
                [kd[0], kd[1]],
                strides,
                padding,
            )
            .unwrap();
            let (lanes, depth) = (padded_filters(filters), kd[0] * kd[1] * kd[2]);
            let image: Vec<f64> = wave(w.in_len(), 0.37)
                .map(|v| f64::from(v as f32))
                .collect();
            let kernel: Vec<f64> = wave(depth * filters, 0.11)
                .map(|v| f64::from(v as f32))
                .collect();
            let g: Vec<f64> = wave(w.out_pixels() * filters, 0.23)
                .enumerate()
                .map(|(j, v)| {
                    if j / filters % 4 == 1 {
                        f64::from(v as f32)
                    } else {
                        0.0
                    }
                })
                .collect();
            let mut dw64 = vec![0.0; depth * lanes];
            let mut padded64 = vec![0.0; w.out_pixels() * lanes];
            kernel_grad_image(&w, &image, &g, filters, &mut padded64, &mut dw64);
            let mut dw = vec![0.0f32; depth * lanes];
            let mut padded = vec![0.0f32; w.out_pixels() * lanes];
            let (image32, g32) = (narrow(&image), narrow(&g));
            kernel_grad_image(&w, &image32, &g32, filters, &mut padded, &mut dw);
            let e = normwise_error(&dw.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(), &dw64);
            assert!(e < 1e-5, "case {i}: ∂W differs by {e:e}");
            let transposed = transposed_kernel(&kernel, filters);
            let mut dx64 = vec![0.0; w.in_len()];
            input_grad_image(
                &w,
                &g,
                &transposed,
                filters,
                &mut vec![0.0; depth],
                &mut dx64,
            );
            let mut dx = vec![0.0f32; w.in_len()];
            let mut scratch = vec![0.0f32; depth];
            input_grad_image(
                &w,
                &g32,
                &narrow(&transposed),
                filters,
                &mut scratch,
                &mut dx,
            );
            let e = normwise_error(&dx.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(), &dx64);
            assert!(e < 1e-5, "case {i}: ∂x differs by {e:e}");
        }
    }

    #[test]
    fn more_filters_than_the_direct_kernel_takes_fall_back_to_im2col() {
        let case = ([1, 4, 4, 2], [3, 3, 2, 65], [1, 1], Padding::Valid);
        assert_eq!(
            run::<f64>(case, 9, ConvKernel::Direct),
            run::<f64>(case, 9, ConvKernel::Im2col)
        );
    }
}
