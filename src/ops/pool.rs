//! Pooling over NHWC images: max, average and global average.
//!
//! Max:  y[n, oy, ox, c] = max over the window of x (padding never wins: it counts as −∞).
//!       ∂L/∂x[n, a*, c] += G[n, oy, ox, c] where a* is the window's argmax, kept from the
//!       forward pass (the first maximum on ties), so the backward never searches again.
//! Average: y = (1/|w|)·Σ_window x with |w| the pixels of the window inside the image (Keras
//!       leaves padding out of the count);  ∂L/∂x[a] += G / |w| for every a in the window.
//! Global average: y[n, c] = (1/HW)·Σ_{h,w} x[n, h, w, c];  ∂L/∂x[n, h, w, c] = G[n, c] / HW.
//!
//! Work is split over the batch: each image writes only its own rows, so the results do not
//! depend on the thread count.

use super::pool_2x2;
use super::window::{Padding, Window};
use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::simd::wide_simd_fn;
use crate::tensor::{f32s, f32s_mut, Float, Shape};
use rayon::prelude::*;

/// Argmax positions are stored as floats in a pooled tensor; integers are exact in f32 up to 2²⁴.
pub(super) const MAX_PIXELS: usize = 1 << 24;

/// Max pooling with any window, strides and padding.
pub fn max_pool2d<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    pool: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
) -> Result<Var> {
    let w = Window::new("max_pool2d", tape.shape(x).dims(), pool, strides, padding)?;
    if w.in_h * w.in_w > MAX_PIXELS {
        return Err(Error::shape(format!(
            "max_pool2d: {}x{} images are larger than supported",
            w.in_h, w.in_w
        )));
    }
    let out_shape = Shape::new(&[w.batch, w.out_h, w.out_w, w.channels]);
    let mut out = tape.alloc(out_shape);
    let out_len = w.out_pixels() * w.channels;
    if !tape.is_recording() {
        // Inference: no backward will read an argmax, so none is kept.
        out.data_mut()
            .par_chunks_mut(out_len)
            .zip(tape.value(x).data().par_chunks(w.in_len()))
            .for_each(|(out, image)| max_image::<T, false>(&w, image, out, &mut []));
        return Ok(tape.push_op("max_pool2d", out, &[x], MaxPoolBackward(w)));
    }
    let mut argmax = tape.alloc(out_shape);
    out.data_mut()
        .par_chunks_mut(out_len)
        .zip(argmax.data_mut().par_chunks_mut(out_len))
        .zip(tape.value(x).data().par_chunks(w.in_len()))
        .for_each(|((out, argmax), image)| max_image::<T, true>(&w, image, out, argmax));
    // The argmax rides along as a constant input, so its buffer returns to the pool.
    let argmax = tape.input(argmax);
    Ok(tape.push_op("max_pool2d", out, &[x, argmax], MaxPoolBackward(w)))
}

/// Max pooling of one image (with each maximum's pixel index in `argmax` when `ARG`): the
/// 2×2 kernel where it applies, the general one otherwise.
pub(super) fn max_image<T: Float, const ARG: bool>(
    w: &Window,
    image: &[T],
    out: &mut [T],
    argmax: &mut [T],
) {
    if let (Some(image), Some(out), Some(argmax)) =
        (f32s(image), f32s_mut(&mut *out), f32s_mut(&mut *argmax))
    {
        if pool_2x2::applies(w) {
            return pool_2x2::max_image::<ARG>(w, image, out, argmax);
        }
    }
    max_image_any::<T, ARG>(w, image, out, argmax)
}

/// [`max_image`] for any window and float type, compiled for AVX2 where the CPU has it: the
/// per-channel select of value and argmax then becomes a blend instead of a branch per lane,
/// which on random data mispredicts half the time (8x slower measured on the MNIST CNN's
/// first pool).
pub(super) fn max_image_any<T: Float, const ARG: bool>(
    w: &Window,
    image: &[T],
    out: &mut [T],
    argmax: &mut [T],
) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        return unsafe { max_image_avx2::<T, ARG>(w, image, out, argmax) };
    }
    max_image_body::<T, ARG>(w, image, out, argmax)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn max_image_avx2<T: Float, const ARG: bool>(
    w: &Window,
    image: &[T],
    out: &mut [T],
    argmax: &mut [T],
) {
    max_image_body::<T, ARG>(w, image, out, argmax)
}

/// Channels the pooling keeps in registers at once.
const LANES: usize = 8;

/// Channels pooled at once when the count is a multiple of it (the CNNs' 32 and 64).
const WIDE_LANES: usize = 32;

/// Each output pixel's channels `LANES` at a time, the running maximum (and argmax) held in
/// local arrays, which LLVM keeps in registers across the window. A rest of channels after
/// whole blocks is pooled as one more block ending at the last channel, overlapping the one
/// before: the overlapped channels get the same values again. Fewer than `LANES` channels
/// (LeNet's 6) are pooled as a whole block too, its extra lanes dropped. Ties keep the first
/// pixel, and NaN is never selected, in every part alike.
#[inline(always)]
fn max_image_body<T: Float, const ARG: bool>(
    w: &Window,
    image: &[T],
    out: &mut [T],
    argmax: &mut [T],
) {
    let c = w.channels;
    if c.is_multiple_of(WIDE_LANES) {
        // Several registers of channels per walk over the window instead of one: less loop
        // overhead, and more loads in flight. With the argmax, two registers a block: four
        // (values and argmax, 16 registers) spilled the argmax to the stack.
        if ARG {
            max_image_wide::<T, ARG, { WIDE_LANES / 2 }>(w, image, out, argmax);
        } else {
            max_image_wide::<T, ARG, WIDE_LANES>(w, image, out, argmax);
        }
        return;
    }
    let blocks = (0..c / LANES * LANES)
        .step_by(LANES)
        .chain((!c.is_multiple_of(LANES) && c > LANES).then(|| c - LANES));
    for oy in 0..w.out_h {
        let (_, iy, nh) = w.rows(oy);
        for ox in 0..w.out_w {
            let (_, ix, nw) = w.cols(ox);
            let at = (oy * w.out_w + ox) * c;
            let rect = [iy, nh, ix, nw];
            for ch in blocks.clone() {
                let (best, arg) = max_channels::<T, LANES>(w, image, ch..ch + LANES, rect);
                out[at + ch..][..LANES].copy_from_slice(&best);
                if ARG {
                    argmax[at + ch..][..LANES].copy_from_slice(&arg);
                }
            }
            if c < LANES {
                // A whole block from the pixel's first channel on reads into the next pixel's,
                // whose lanes are dropped; only windows at the image's end take the narrow one.
                let last = ((iy + nh.max(1) - 1) * w.in_w + ix + nw.max(1) - 1) * c;
                let (best, arg) = if last + LANES <= image.len() {
                    max_channels::<T, LANES>(w, image, 0..LANES, rect)
                } else {
                    max_channels::<T, LANES>(w, image, 0..c, rect)
                };
                // Likewise a whole block is stored where it fits: its extra lanes land on the
                // next pixel's channels, which that pixel overwrites next (a copy of `c`
                // values would be a call to memmove per pixel).
                if at + LANES <= out.len() {
                    out[at..][..LANES].copy_from_slice(&best);
                    if ARG {
                        argmax[at..][..LANES].copy_from_slice(&arg);
                    }
                } else {
                    out[at..][..c].copy_from_slice(&best[..c]);
                    if ARG {
                        argmax[at..][..c].copy_from_slice(&arg[..c]);
                    }
                }
            }
        }
    }
}

/// `max_image_body` for channels in blocks of `N`, a multiple of which they are.
#[inline(always)]
fn max_image_wide<T: Float, const ARG: bool, const N: usize>(
    w: &Window,
    image: &[T],
    out: &mut [T],
    argmax: &mut [T],
) {
    let c = w.channels;
    for oy in 0..w.out_h {
        let (_, iy, nh) = w.rows(oy);
        for ox in 0..w.out_w {
            let (_, ix, nw) = w.cols(ox);
            let at = (oy * w.out_w + ox) * c;
            for ch in (0..c).step_by(N) {
                let (best, arg) = max_channels::<T, N>(w, image, ch..ch + N, [iy, nh, ix, nw]);
                out[at + ch..][..N].copy_from_slice(&best);
                if ARG {
                    argmax[at + ch..][..N].copy_from_slice(&arg);
                }
            }
        }
    }
}

/// The maximum over the window `[iy, nh, ix, nw]` and its first pixel index for up to `N`
/// channels, by selects rather than branches, which on random data mispredict half the time.
/// Lanes past the channels stay at −∞. Inlined, a block's constant width keeps the lanes in
/// registers.
#[inline(always)]
fn max_channels<T: Float, const N: usize>(
    w: &Window,
    image: &[T],
    channels: std::ops::Range<usize>,
    [iy, nh, ix, nw]: [usize; 4],
) -> ([T; N], [T; N]) {
    let (c, ch, width) = (w.channels, channels.start, channels.len());
    let mut best = [T::neg_infinity(); N];
    let mut arg = [T::of((iy * w.in_w + ix) as f64); N];
    for y in iy..iy + nh {
        for x in ix..ix + nw {
            let pixel = y * w.in_w + x;
            let src = &image[pixel * c + ch..][..width];
            let p = T::of(pixel as f64);
            for ((b, a), &v) in best.iter_mut().zip(arg.iter_mut()).zip(src) {
                let greater = v > *b;
                *a = if greater { p } else { *a };
                *b = if greater { v } else { *b };
            }
        }
    }
    (best, arg)
}

struct MaxPoolBackward(Window);

impl<T: Float> Backward<T> for MaxPoolBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let w = &self.0;
        let Some(dx) = grads.slot(0) else {
            return;
        };
        let (c, out_len, accumulate) = (w.channels, w.out_pixels() * w.channels, dx.accumulate);
        let tiles = tiles_cover(w);
        let uncovered = match tiles {
            Some(false) if !accumulate => Some(Uncovered::of(w)),
            _ => None,
        };
        dx.data
            .par_chunks_mut(w.in_len())
            .zip(io.grad_out().data().par_chunks(out_len))
            .zip(io.input(1).data().par_chunks(out_len))
            .for_each(|((dimage, g), argmax)| match tiles {
                Some(_) => {
                    if let Some(uncovered) = &uncovered {
                        uncovered.zero(dimage, c);
                    }
                    route_tiles(w, g, argmax, dimage, accumulate);
                }
                None => {
                    if !accumulate {
                        dimage.fill(T::zero());
                    }
                    // One output pixel's channels at a time (no `i % c` per element: an
                    // integer division each, 5% of the MNIST CNN's step).
                    for (g, argmax) in g.chunks_exact(c).zip(argmax.chunks_exact(c)) {
                        for (ch, (&g, &a)) in g.iter().zip(argmax).enumerate() {
                            dimage[a.as_f64() as usize * c + ch] += g;
                        }
                    }
                }
            });
    }
}

/// The input rows and columns that no window reaches, where windows do not overlap: the
/// pixels [`route_tiles`] leaves alone. Zeroing only those, not the whole image before
/// `route_tiles` writes the rest, writes each pixel once: in the MNIST CNN's 11×11 second
/// feature map, 21 pixels are zeroed instead of 121.
pub(super) struct Uncovered {
    rows: Vec<bool>,
    cols: Vec<bool>,
}

impl Uncovered {
    pub(super) fn of(w: &Window) -> Uncovered {
        let (mut rows, mut cols) = (vec![true; w.in_h], vec![true; w.in_w]);
        for oy in 0..w.out_h {
            let (_, y, n) = w.rows(oy);
            rows[y..y + n].fill(false);
        }
        for ox in 0..w.out_w {
            let (_, x, n) = w.cols(ox);
            cols[x..x + n].fill(false);
        }
        Uncovered { rows, cols }
    }

    /// Zeroes the uncovered pixels of one image of `channels` channels.
    pub(super) fn zero<T: Float>(&self, image: &mut [T], channels: usize) {
        let row_len = self.cols.len() * channels;
        for (row, &uncovered) in image.chunks_exact_mut(row_len).zip(&self.rows) {
            if uncovered {
                row.fill(T::zero());
                continue;
            }
            for (pixel, _) in row
                .chunks_exact_mut(channels)
                .zip(&self.cols)
                .filter(|(_, &uncovered)| uncovered)
            {
                pixel.fill(T::zero());
            }
        }
    }
}

/// `Some(whether every pixel is in a window)` when no two windows overlap (stride ≥ window,
/// as in every 2×2 pool of the labs); `None` when they do.
pub(super) fn tiles_cover(w: &Window) -> Option<bool> {
    if w.stride_h < w.k_h || w.stride_w < w.k_w {
        return None;
    }
    let rows: usize = (0..w.out_h).map(|oy| w.rows(oy).2).sum();
    let cols: usize = (0..w.out_w).map(|ox| w.cols(ox).2).sum();
    Some(rows == w.in_h && cols == w.in_w)
}

/// ∂L/∂x of one image when windows do not overlap: [`route_tiles_any`], or the 2×2 kernel
/// where it applies.
pub(super) fn route_tiles<T: Float>(
    w: &Window,
    g: &[T],
    argmax: &[T],
    dimage: &mut [T],
    accumulate: bool,
) {
    if let (Some(g), Some(argmax), Some(dimage)) = (f32s(g), f32s(argmax), f32s_mut(&mut *dimage)) {
        if pool_2x2::applies(w) {
            return pool_2x2::route(w, g, argmax, dimage, accumulate);
        }
    }
    route_tiles_any(w, g, argmax, dimage, accumulate)
}

wide_simd_fn! {
    /// ∂L/∂x of one image when windows do not overlap: each input pixel takes its window's
    /// gradient where it is the argmax and zero elsewhere (kept as is when `accumulate`).
    /// Written pixel by pixel, vectorized over the channels, instead of zeroing the image and
    /// scattering one element at a time (that scatter was 5% of the MNIST CNN's epoch in perf).
    /// Pixels in no window are left alone: the caller zeroed them.
    pub(super) fn route_tiles_any<T: Float>(w: &Window, g: &[T], argmax: &[T], dimage: &mut [T], accumulate: bool) {
        let c = w.channels;
        for oy in 0..w.out_h {
            let (_, iy, nh) = w.rows(oy);
            for ox in 0..w.out_w {
                let (_, ix, nw) = w.cols(ox);
                let at = (oy * w.out_w + ox) * c;
                let (g, argmax) = (&g[at..][..c], &argmax[at..][..c]);
                for y in iy..iy + nh {
                    for x in ix..ix + nw {
                        let pixel = y * w.in_w + x;
                        let p = T::of(pixel as f64);
                        let d = &mut dimage[pixel * c..][..c];
                        if accumulate {
                            for ((d, &g), &a) in d.iter_mut().zip(g).zip(argmax) {
                                *d = if a == p { *d + g } else { *d };
                            }
                        } else {
                            for ((d, &g), &a) in d.iter_mut().zip(g).zip(argmax) {
                                *d = if a == p { g } else { T::zero() };
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Average pooling with any window, strides and padding (padding left out of the mean).
pub fn avg_pool2d<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    pool: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
) -> Result<Var> {
    let w = Window::new("avg_pool2d", tape.shape(x).dims(), pool, strides, padding)?;
    let mut out = tape.alloc(Shape::new(&[w.batch, w.out_h, w.out_w, w.channels]));
    let c = w.channels;
    out.data_mut()
        .par_chunks_mut(w.out_pixels() * c)
        .zip(tape.value(x).data().par_chunks(w.in_len()))
        .for_each(|(out, image)| {
            for oy in 0..w.out_h {
                let (_, iy, nh) = w.rows(oy);
                for ox in 0..w.out_w {
                    let (_, ix, nw) = w.cols(ox);
                    let acc = &mut out[(oy * w.out_w + ox) * c..][..c];
                    acc.fill(T::zero());
                    for y in iy..iy + nh {
                        for x in ix..ix + nw {
                            for (a, &v) in acc.iter_mut().zip(&image[(y * w.in_w + x) * c..]) {
                                *a += v;
                            }
                        }
                    }
                    let inv = T::one() / T::of((nh * nw) as f64);
                    acc.iter_mut().for_each(|a| *a *= inv);
                }
            }
        });
    Ok(tape.push_op("avg_pool2d", out, &[x], AvgPoolBackward(w)))
}

struct AvgPoolBackward(Window);

impl<T: Float> Backward<T> for AvgPoolBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let w = &self.0;
        let Some(dx) = grads.slot(0) else {
            return;
        };
        let (c, accumulate) = (w.channels, dx.accumulate);
        dx.data
            .par_chunks_mut(w.in_len())
            .zip(io.grad_out().data().par_chunks(w.out_pixels() * c))
            .for_each(|(dimage, g)| {
                if !accumulate {
                    dimage.fill(T::zero());
                }
                for oy in 0..w.out_h {
                    let (_, iy, nh) = w.rows(oy);
                    for ox in 0..w.out_w {
                        let (_, ix, nw) = w.cols(ox);
                        let inv = T::one() / T::of((nh * nw) as f64);
                        let g = &g[(oy * w.out_w + ox) * c..][..c];
                        for y in iy..iy + nh {
                            for x in ix..ix + nw {
                                let d = &mut dimage[(y * w.in_w + x) * c..][..c];
                                for (d, &g) in d.iter_mut().zip(g) {
                                    *d += g * inv;
                                }
                            }
                        }
                    }
                }
            });
    }
}

/// The mean over height and width: (N, H, W, C) → (N, C).
pub fn global_avg_pool2d<T: Float>(tape: &mut Tape<T>, x: Var) -> Result<Var> {
    let shape = tape.shape(x);
    let &[n, h, w, c] = shape.dims() else {
        return Err(Error::shape(format!(
            "global_avg_pool2d needs a 4-D (batch, height, width, channels) input, got {shape}"
        )));
    };
    let mut out = tape.alloc(Shape::new(&[n, c]));
    let inv = T::one() / T::of((h * w) as f64);
    out.data_mut()
        .par_chunks_mut(c)
        .zip(tape.value(x).data().par_chunks(h * w * c))
        .for_each(|(out, image)| {
            out.fill(T::zero());
            for pixel in image.chunks(c) {
                for (o, &v) in out.iter_mut().zip(pixel) {
                    *o += v;
                }
            }
            out.iter_mut().for_each(|o| *o *= inv);
        });
    Ok(tape.push_op(
        "global_avg_pool2d",
        out,
        &[x],
        GlobalAvgBackward { pixels: h * w, c },
    ))
}

struct GlobalAvgBackward {
    pixels: usize,
    c: usize,
}

impl<T: Float> Backward<T> for GlobalAvgBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let Some(dx) = grads.slot(0) else {
            return;
        };
        let inv = T::one() / T::of(self.pixels as f64);
        let (c, accumulate) = (self.c, dx.accumulate);
        dx.data
            .par_chunks_mut(self.pixels * c)
            .zip(io.grad_out().data().par_chunks(c))
            .for_each(|(dimage, g)| {
                for pixel in dimage.chunks_mut(c) {
                    for (d, &g) in pixel.iter_mut().zip(g) {
                        if accumulate {
                            *d += g * inv;
                        } else {
                            *d = g * inv;
                        }
                    }
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};
    use crate::autograd::ParamStore;
    use crate::tensor::Tensor;

    type Pool = fn(&mut Tape<f64>, Var, [usize; 2], [usize; 2], Padding) -> Result<Var>;

    /// (input dims, window, strides, padding).
    type Case = ([usize; 4], [usize; 2], [usize; 2], Padding);

    const CASES: [Case; 13] = [
        ([2, 4, 4, 3], [2, 2], [2, 2], Padding::Valid),
        // Odd size: the last row and column fit no window and are dropped.
        ([1, 11, 11, 2], [2, 2], [2, 2], Padding::Valid),
        ([1, 11, 11, 2], [2, 2], [2, 2], Padding::Same),
        ([2, 5, 6, 2], [3, 3], [1, 1], Padding::Same),
        ([1, 7, 5, 3], [3, 2], [2, 1], Padding::Valid),
        ([1, 5, 5, 1], [3, 3], [2, 2], Padding::Same),
        ([1, 6, 6, 2], [4, 4], [3, 3], Padding::Same),
        // Channels in whole register blocks and a rest (max pooling takes 8 at a time).
        ([2, 5, 6, 11], [2, 2], [2, 2], Padding::Valid),
        ([1, 7, 7, 16], [3, 3], [2, 2], Padding::Same),
        // Fewer channels than a block (LeNet-5's first pool).
        ([2, 6, 6, 6], [2, 2], [2, 2], Padding::Valid),
        // Channels in blocks of 32 (the CNNs' 32 and 64).
        ([2, 6, 5, 32], [2, 2], [2, 2], Padding::Valid),
        ([1, 5, 5, 64], [3, 3], [2, 2], Padding::Same),
        // Stride past the window: pixels between the windows belong to none.
        ([1, 8, 7, 9], [2, 2], [3, 3], Padding::Valid),
    ];

    fn run(pool: Pool, x: &Tensor<f64>, p: [usize; 2], s: [usize; 2], pad: Padding) -> Tensor<f64> {
        let mut params = ParamStore::default();
        let mut tape = Tape::new(&mut params);
        let xv = tape.input(x.clone());
        let y = pool(&mut tape, xv, p, s, pad).unwrap();
        tape.value(y).clone()
    }

    #[test]
    fn odd_input_pooled_valid_drops_the_last_row_and_column() {
        let x = Tensor::from_vec((0..121).map(f64::from).collect(), [1, 11, 11, 1]).unwrap();
        let y = run(max_pool2d, &x, [2, 2], [2, 2], Padding::Valid);
        assert_eq!(y.dims(), &[1, 5, 5, 1]);
        // Window (i, j) covers rows 2i..2i+2: its max is at (2i+1, 2j+1).
        let expected: Vec<f64> = (0..5)
            .flat_map(|i| (0..5).map(move |j| ((2 * i + 1) * 11 + 2 * j + 1) as f64))
            .collect();
        assert_eq!(y.data(), &expected[..]);
        let a = run(avg_pool2d, &x, [2, 2], [2, 2], Padding::Valid);
        assert_eq!(a.data()[0], (0.0 + 1.0 + 11.0 + 12.0) / 4.0);
    }

    #[test]
    fn same_padding_averages_over_the_pixels_inside_only() {
        let x = Tensor::from_vec(
            vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
            [1, 3, 3, 1],
        )
        .unwrap();
        let a = run(avg_pool2d, &x, [2, 2], [2, 2], Padding::Same);
        assert_eq!(a.data(), &[3.0, 4.5, 7.5, 9.0]);
        let m = run(max_pool2d, &x, [2, 2], [2, 2], Padding::Same);
        assert_eq!(m.data(), &[5.0, 6.0, 8.0, 9.0]);
    }

    #[test]
    fn max_pool_equals_the_definition_in_training_and_inference() {
        for (seed, (xd, p, s, pad)) in CASES.into_iter().enumerate() {
            let x = random_tensor(&xd, 90 + seed as u32);
            let w = Window::new("t", &xd, p, s, pad).unwrap();
            let expected: Vec<f64> = windows(&w)
                .map(|(_, pixels)| {
                    pixels
                        .iter()
                        .map(|&at| x.data()[at])
                        .fold(f64::NEG_INFINITY, f64::max)
                })
                .collect();
            assert_eq!(
                run(max_pool2d, &x, p, s, pad).data(),
                &expected[..],
                "case {seed}"
            );
            let mut params = ParamStore::default();
            let mut tape = Tape::inference(&mut params);
            let xv = tape.input(x.clone());
            let y = max_pool2d(&mut tape, xv, p, s, pad).unwrap();
            assert_eq!(
                tape.value(y).data(),
                &expected[..],
                "case {seed}, inference"
            );
        }
    }

    #[test]
    fn max_pool_gradient_goes_to_the_first_maximum_exactly() {
        // Quantized inputs make ties, which the first pixel in the window must win.
        for (seed, (xd, p, s, pad)) in CASES.into_iter().enumerate() {
            let w = Window::new("t", &xd, p, s, pad).unwrap();
            let mut x = random_tensor(&xd, 40 + seed as u32);
            x.data_mut()
                .iter_mut()
                .for_each(|v| *v = (*v * 4.0).round());
            let g = random_tensor(&[w.batch, w.out_h, w.out_w, w.channels], 50 + seed as u32);
            // The definition: each output's gradient added at its window's first maximum, in
            // output order.
            let routes: Vec<(usize, usize)> = windows(&w)
                .map(|(out, pixels)| {
                    let first_max = pixels.iter().fold(pixels[0], |best, &at| {
                        if x.data()[at] > x.data()[best] {
                            at
                        } else {
                            best
                        }
                    });
                    (first_max, out)
                })
                .collect();
            for reused in [false, true] {
                // A second use of x leaves 0.5 in its gradient before the pool's turn.
                let mut expected = vec![if reused { 0.5 } else { 0.0 }; x.numel()];
                for &(at, from) in &routes {
                    expected[at] += g.data()[from];
                }
                let mut params = ParamStore::default();
                let mut tape = Tape::new(&mut params);
                let xv = tape.input_with_grad(x.clone());
                let gv = tape.input(g.clone());
                let y = max_pool2d(&mut tape, xv, p, s, pad).unwrap();
                let y = crate::ops::mul(&mut tape, y, gv).unwrap();
                let mut loss = crate::ops::sum(&mut tape, y);
                if reused {
                    let half = tape.input(Tensor::full(x.shape(), 0.5));
                    let xh = crate::ops::mul(&mut tape, xv, half).unwrap();
                    let xh = crate::ops::sum(&mut tape, xh);
                    loss = crate::ops::add(&mut tape, xh, loss).unwrap();
                }
                tape.backward(loss).unwrap();
                let got = tape.grad(xv).unwrap().data();
                for (i, (&got, &want)) in got.iter().zip(&expected).enumerate() {
                    assert_eq!(got, want, "case {seed}, reused {reused}, element {i}");
                }
            }
        }
    }

    /// Every output element in order, with the input elements of its window (row by row).
    fn windows(w: &Window) -> impl Iterator<Item = (usize, Vec<usize>)> + '_ {
        let c = w.channels;
        let outputs = (0..w.batch).flat_map(move |n| {
            (0..w.out_h).flat_map(move |oy| {
                (0..w.out_w).flat_map(move |ox| (0..c).map(move |ch| (n, oy, ox, ch)))
            })
        });
        outputs.enumerate().map(move |(out, (n, oy, ox, ch))| {
            let ((_, iy, nh), (_, ix, nw)) = (w.rows(oy), w.cols(ox));
            let pixels = (iy..iy + nh)
                .flat_map(|y| {
                    (ix..ix + nw).map(move |col| ((n * w.in_h + y) * w.in_w + col) * c + ch)
                })
                .collect();
            (out, pixels)
        })
    }

    #[test]
    fn max_pool_gradients() {
        for (seed, (xd, p, s, pad)) in CASES.into_iter().enumerate() {
            assert_gradients(&[random_tensor(&xd, 60 + seed as u32)], |t, v| {
                max_pool2d(t, v[0], p, s, pad)
            });
        }
    }

    #[test]
    fn avg_pool_gradients() {
        for (seed, (xd, p, s, pad)) in CASES.into_iter().enumerate() {
            assert_gradients(&[random_tensor(&xd, 70 + seed as u32)], |t, v| {
                avg_pool2d(t, v[0], p, s, pad)
            });
        }
    }

    #[test]
    fn global_avg_pool_gradients_and_values() {
        assert_gradients(&[random_tensor(&[2, 3, 4, 5], 80)], |t, v| {
            global_avg_pool2d(t, v[0])
        });
        let x = random_tensor(&[2, 3, 4, 5], 81);
        let mut params = ParamStore::default();
        let mut tape = Tape::new(&mut params);
        let xv = tape.input(x.clone());
        let y = global_avg_pool2d(&mut tape, xv).unwrap();
        let mean: f64 = (0..12).map(|p| x.data()[p * 5 + 2]).sum::<f64>() / 12.0;
        assert!((tape.value(y).data()[2] - mean).abs() < 1e-12);
    }

    #[test]
    fn pooled_gradient_accumulates_into_a_reused_input() {
        assert_gradients(&[random_tensor(&[1, 5, 5, 2], 90)], |t, v| {
            let a = max_pool2d(t, v[0], [2, 2], [2, 2], Padding::Valid)?;
            let b = avg_pool2d(t, v[0], [2, 2], [2, 2], Padding::Valid)?;
            let c = crate::ops::mul(t, a, b)?;
            let g = global_avg_pool2d(t, v[0])?;
            let (c, g) = (crate::ops::sum(t, c), crate::ops::sum(t, g));
            crate::ops::add(t, c, g)
        });
    }
}
