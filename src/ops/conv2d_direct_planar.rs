//! The direct convolution's f32 forward and ∂L/∂W on AVX-512 with output pixels as the
//! vector lanes: for few filters at stride 1, such as LeNet-5's first convolution (3 → 6).
//!
//! The filter-lane kernels (`conv2d_direct_fma.rs`) hold one pixel's filters in a register:
//! 6 filters pad to 8 lanes of AVX2, one multiply-add per 6 products (perf on a LeNet-5
//! epoch: 38% of the samples in that layer's forward and ∂L/∂W). Here the image is first
//! copied into zero-padded channel planes, so that 16 consecutive output pixels of a row read
//! 16 consecutive floats of a plane at each kernel tap: one 16-lane multiply-add per 16
//! products (the last register of a row masked), and the padding needs no clipped windows.
//!
//! The forward sums each output's products in the filter-lane kernels' order (kernel row,
//! column, channel), one FMA each from zero, so it gives their bits: a product with the
//! padding's zero leaves a sum unchanged. ∂L/∂W sums each weight's products in 16 lanes of
//! pixels, then across the lanes: other bits than the filter-lane kernel, the same for any
//! thread count.

use super::window::Window;

/// Output pixels per register.
const LANES: usize = 16;

/// The most filters this kernel takes: their accumulators for a few registers of pixels
/// fill AVX-512's 32 registers.
const MAX_FILTERS: usize = 8;

/// Whether the planar kernels run this convolution here, by a measured rule: stride 1, at
/// most [`MAX_FILTERS`], and at most 3/4 of the filter-lane kernel's multiply-add
/// instructions (the rest pays for moving pixels between the layouts). LeNet-5's first
/// convolution: 2 registers × 6 filters per row and tap against 28 pixels' 8-lane registers.
pub(super) fn applies(w: &Window, filters: usize) -> bool {
    if w.stride_h != 1 || w.stride_w != 1 || !(1..=MAX_FILTERS).contains(&filters) {
        return false;
    }
    if !avx512_available() {
        return false;
    }
    let padded = super::conv2d_direct::padded_filters(filters);
    let filter_lanes = if padded.is_multiple_of(LANES) { 16 } else { 8 };
    let planar = w.out_w.div_ceil(LANES) * filters;
    let by_filters = w.out_w * padded / filter_lanes;
    4 * planar <= 3 * by_filters
}

fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// One image as zero-padded channel planes, `LANES` floats of slack after the last so that
/// a register of pixels starting in the last row stays inside the buffer.
struct Planes {
    data: Vec<f32>,
    /// Padded row length.
    width: usize,
    /// Floats per plane.
    len: usize,
}

impl Planes {
    /// The planes of an NHWC image for a stride-1 window: every window lies inside them.
    fn of(w: &Window, image: &[f32]) -> Planes {
        let (height, width) = (w.out_h + w.k_h - 1, w.out_w + w.k_w - 1);
        let (len, c) = (height * width, w.channels);
        let mut data = vec![0.0; c * len + LANES];
        let rows = w.in_h.min(height - w.pad_top);
        let cols = w.in_w.min(width - w.pad_left);
        let src = &image[..rows * w.in_w * c];
        let dst = &mut data[w.pad_top * width + w.pad_left..];
        split_rows(src, c, w.in_w * c, cols, dst, width, len);
        Planes { data, width, len }
    }

    /// Offsets of each kernel tap's first pixel, in the kernel's (row, column, channel) order.
    fn taps(&self, w: &Window) -> Vec<usize> {
        let mut taps = Vec::with_capacity(w.k_h * w.k_w * w.channels);
        for r in 0..w.k_h {
            for kx in 0..w.k_w {
                taps.extend((0..w.channels).map(|ch| ch * self.len + r * self.width + kx));
            }
        }
        taps
    }
}

/// dst[j · plane_len + r · dst_row + p] = src[r · src_row + p · stride + j]: the first
/// `pixels` pixels of each row of `stride` interleaved values (an NHWC image's channels,
/// G's filters), into `stride` planes.
fn split_rows(
    src: &[f32],
    stride: usize,
    src_row: usize,
    pixels: usize,
    dst: &mut [f32],
    dst_row: usize,
    plane_len: usize,
) {
    let rows = src.len() / src_row;
    if rows == 0 || pixels == 0 {
        return;
    }
    assert!(pixels * stride <= src_row && pixels <= dst_row);
    assert!((stride - 1) * plane_len + (rows - 1) * dst_row + pixels <= dst.len());
    #[cfg(target_arch = "x86_64")]
    if stride <= avx512::MAX_STRIDE && avx512_available() {
        // SAFETY: AVX-512F checked just above, the lengths before.
        return unsafe {
            avx512::split_rows(src, stride, src_row, pixels, dst, dst_row, plane_len)
        };
    }
    for (r, row) in src.chunks_exact(src_row).enumerate() {
        for (p, values) in row[..pixels * stride].chunks_exact(stride).enumerate() {
            for (j, &v) in values.iter().enumerate() {
                dst[j * plane_len + r * dst_row + p] = v;
            }
        }
    }
}

/// A register of 16 output pixels on one row: its offset in the planes (at tap 0), in the
/// G planes, and its lanes inside the row.
#[derive(Clone, Copy)]
struct PixelRegister {
    x: usize,
    g: usize,
    mask: u16,
}

/// One image as the kernels read it: its planes, the kernel taps' offsets in them, and the
/// registers of output pixels.
struct Prepared {
    planes: Planes,
    taps: Vec<usize>,
    registers: Vec<PixelRegister>,
}

impl Prepared {
    fn new(w: &Window, image: &[f32], filters: usize) -> Prepared {
        assert!(applies(w, filters) && image.len() == w.in_len());
        let planes = Planes::of(w, image);
        let (taps, registers) = (planes.taps(w), pixel_registers(w, &planes));
        Prepared {
            planes,
            taps,
            registers,
        }
    }
}

/// The registers of pixels of a whole output image, row after row.
fn pixel_registers(w: &Window, planes: &Planes) -> Vec<PixelRegister> {
    let row = w.out_w.div_ceil(LANES) * LANES;
    let mut registers = Vec::with_capacity(w.out_h * row / LANES);
    for oy in 0..w.out_h {
        for ox in (0..w.out_w).step_by(LANES) {
            let inside = (w.out_w - ox).min(LANES);
            registers.push(PixelRegister {
                x: oy * planes.width + ox,
                g: oy * row + ox,
                mask: ((1u32 << inside) - 1) as u16,
            });
        }
    }
    registers
}

/// The forward for one image: `wide` is the kernel as (depth, lanes), filters zero-padded;
/// `out` the image's (pixels, filters). The caller checks [`applies`] first.
pub(super) fn forward_image(
    w: &Window,
    image: &[f32],
    wide: &[f32],
    filters: usize,
    out: &mut [f32],
) {
    let Prepared {
        planes,
        taps,
        registers,
    } = Prepared::new(w, image, filters);
    assert!(wide.len() >= taps.len() * filters && out.len() == w.out_pixels() * filters);
    let (x, ow) = (&planes.data[..], w.out_w);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the processor has AVX-512F (`applies`); the kernel checks its reads against
    // the slices' lengths.
    unsafe {
        match filters {
            1 => avx512::forward::<1, 24>(x, &taps, &registers, wide, ow, out),
            2 => avx512::forward::<2, 12>(x, &taps, &registers, wide, ow, out),
            3 => avx512::forward::<3, 8>(x, &taps, &registers, wide, ow, out),
            4 => avx512::forward::<4, 6>(x, &taps, &registers, wide, ow, out),
            5 => avx512::forward::<5, 4>(x, &taps, &registers, wide, ow, out),
            6 => avx512::forward::<6, 4>(x, &taps, &registers, wide, ow, out),
            7 => avx512::forward::<7, 3>(x, &taps, &registers, wide, ow, out),
            _ => avx512::forward::<8, 3>(x, &taps, &registers, wide, ow, out),
        }
    }
}

/// Whether the planar ∂L/∂W has fewer multiply-adds than the filter-lane kernel, which
/// skips the pixels whose G is zero, for `nonzero` pixels left: LeNet-5's first convolution
/// under its 2×2 max pooling passes G at most 1 pixel in 4, where the filter-lane kernel
/// does 196 pixels' 75 taps in 8-lane registers and the planar one 56 registers' 75 taps
/// for each of 6 filters.
pub(super) fn kernel_grad_wins(w: &Window, filters: usize, nonzero: usize) -> bool {
    let padded = super::conv2d_direct::padded_filters(filters);
    let filter_lanes = if padded.is_multiple_of(LANES) { 16 } else { 8 };
    let planar = w.out_h * w.out_w.div_ceil(LANES) * filters;
    planar < nonzero * padded / filter_lanes
}

/// Adds one image's ∂L/∂W to `partial`, laid out as (depth, lanes); `g` is the image's
/// (pixels, filters). The caller checks [`applies`] first.
pub(super) fn kernel_grad_image(
    w: &Window,
    image: &[f32],
    g: &[f32],
    filters: usize,
    partial: &mut [f32],
) {
    let prepared = Prepared::new(w, image, filters);
    let (taps, registers) = (&prepared.taps, &prepared.registers);
    let (depth, lanes) = (taps.len(), super::conv2d_direct::padded_filters(filters));
    assert!(g.len() == w.out_pixels() * filters && partial.len() == depth * lanes);
    // G as one plane per filter, rows padded to whole registers with zeros.
    let row = w.out_w.div_ceil(LANES) * LANES;
    let mut g_planes = vec![0.0; filters * w.out_h * row];
    let g_len = w.out_h * row;
    split_rows(
        g,
        filters,
        w.out_w * filters,
        w.out_w,
        &mut g_planes,
        row,
        g_len,
    );
    let (x, partial) = (&prepared.planes.data[..], &mut partial[..depth * lanes]);
    // Filters in groups of at most 4, and as many kernel taps at once as make at most 12
    // accumulators, a divisor of the kernel's taps: with 18 (LeNet-5's 6 filters × 3 taps),
    // LLVM kept 3 of them on the stack.
    let groups = filters.div_ceil(4);
    let size = filters.div_ceil(groups);
    for first in (0..filters).step_by(size) {
        let count = size.min(filters - first);
        let g_group = &g_planes[first * g_len..][..count * g_len];
        let tb = (1..=12 / count)
            .rev()
            .find(|b| depth.is_multiple_of(*b))
            .unwrap_or(1);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the processor has AVX-512F (`applies`); the kernel checks its reads
        // against the slices' lengths.
        unsafe {
            macro_rules! by_block {
                ($f:literal: $($tb:literal)*) => {
                    match tb {
                        $($tb => avx512::kernel_grad::<$f, $tb>(x, taps, registers, g_group, partial, first),)*
                        _ => avx512::kernel_grad::<$f, 1>(x, taps, registers, g_group, partial, first),
                    }
                };
            }
            match count {
                1 => by_block!(1: 12 11 10 9 8 7 6 5 4 3 2),
                2 => by_block!(2: 6 5 4 3 2),
                3 => by_block!(3: 4 3 2),
                _ => by_block!(4: 3 2),
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{PixelRegister, LANES};
    use std::arch::x86_64::*;

    /// The most interleaved values per pixel the lane shuffles take.
    pub(super) const MAX_STRIDE: usize = 8;

    /// The first `n` of 16 lanes.
    fn first_lanes(n: usize) -> __mmask16 {
        ((1u32 << n.min(LANES)) - 1) as __mmask16
    }

    /// Lane permutations between 16 pixels of `stride` interleaved values (`stride`
    /// registers) and their `stride` planes (one register each): output register `o` takes
    /// lane `l` from lane `index[o][l]` of source register `k` where `from[o][k]` has bit `l`.
    struct Shuffles {
        stride: usize,
        index: [[i32; LANES]; MAX_STRIDE],
        from: [[__mmask16; MAX_STRIDE]; MAX_STRIDE],
    }

    impl Shuffles {
        /// Interleaved → planes: plane j's lane l is value l·stride + j of the block.
        fn split(stride: usize) -> Shuffles {
            Shuffles::by(stride, |j, l| (0, l * stride + j))
        }

        /// Planes → interleaved: interleaved register k's lane e is value i = 16k + e of the
        /// block, lane i / stride of plane i % stride.
        fn join(stride: usize) -> Shuffles {
            Shuffles::by(stride, |k, e| {
                let i = LANES * k + e;
                (i % stride, i / stride)
            })
        }

        /// `stride` outputs whose lane `l` of output `o` is lane `at % 16` of source register
        /// `k + at / 16`, where `(k, at) = place(o, l)`.
        fn by(stride: usize, place: impl Fn(usize, usize) -> (usize, usize)) -> Shuffles {
            let mut shuffles = Shuffles {
                stride,
                index: [[0; LANES]; MAX_STRIDE],
                from: [[0; MAX_STRIDE]; MAX_STRIDE],
            };
            for o in 0..stride {
                for l in 0..LANES {
                    let (k, at) = place(o, l);
                    shuffles.index[o][l] = (at % LANES) as i32;
                    shuffles.from[o][k + at / LANES] |= 1 << l;
                }
            }
            shuffles
        }

        /// Output register `o` from the source registers.
        #[inline(always)]
        unsafe fn apply(&self, o: usize, sources: &[__m512]) -> __m512 {
            let index = _mm512_loadu_si512(self.index[o].as_ptr().cast());
            let mut out = _mm512_setzero_ps();
            for (k, &source) in sources.iter().enumerate().take(self.stride) {
                out = _mm512_mask_permutexvar_ps(out, self.from[o][k], index, source);
            }
            out
        }
    }

    /// `super::split_rows`, 16 pixels at a time; the caller checks the lengths.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn split_rows(
        src: &[f32],
        stride: usize,
        src_row: usize,
        pixels: usize,
        dst: &mut [f32],
        dst_row: usize,
        plane_len: usize,
    ) {
        let shuffles = Shuffles::split(stride);
        for (r, row) in src.chunks_exact(src_row).enumerate() {
            let mut p = 0;
            while p < pixels {
                let n = (pixels - p).min(LANES);
                let mut sources = [_mm512_setzero_ps(); MAX_STRIDE];
                for (k, source) in sources.iter_mut().enumerate().take(stride) {
                    let valid = (n * stride).saturating_sub(LANES * k);
                    if valid > 0 {
                        let at = row.as_ptr().add(p * stride + LANES * k);
                        *source = _mm512_maskz_loadu_ps(first_lanes(valid), at);
                    }
                }
                for j in 0..stride {
                    let plane = shuffles.apply(j, &sources);
                    let at = dst.as_mut_ptr().add(j * plane_len + r * dst_row + p);
                    _mm512_mask_storeu_ps(at, first_lanes(n), plane);
                }
                p += n;
            }
        }
    }

    /// `P` registers of pixels at a time, each with `F` accumulators, summed over the taps.
    /// `taps` are the planes' offsets of the kernel taps in `wide`'s row order, every one
    /// with 16 floats readable from each register's offset; `out` is (pixels, F).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn forward<const F: usize, const P: usize>(
        planes: &[f32],
        taps: &[usize],
        registers: &[PixelRegister],
        wide: &[f32],
        out_w: usize,
        out: &mut [f32],
    ) {
        let lanes = wide.len() / taps.len();
        assert!(lanes >= F);
        let most = taps.iter().max().copied().unwrap_or(0);
        let furthest = registers.iter().map(|r| r.x).max().unwrap_or(0);
        assert!(most + furthest + LANES <= planes.len());
        let join = Shuffles::join(F);
        let mut groups = registers.chunks_exact(P);
        for group in &mut groups {
            let group: &[PixelRegister; P] = group.try_into().expect("P registers");
            let acc = sum_taps::<F, P>(planes, taps, group, wide, lanes);
            store::<F, P>(&acc, group, &join, out_w, out);
        }
        for register in groups.remainder() {
            let acc = sum_taps::<F, 1>(planes, taps, &[*register], wide, lanes);
            store::<F, 1>(&acc, &[*register], &join, out_w, out);
        }
    }

    #[inline(always)]
    unsafe fn sum_taps<const F: usize, const P: usize>(
        planes: &[f32],
        taps: &[usize],
        group: &[PixelRegister; P],
        wide: &[f32],
        lanes: usize,
    ) -> [[__m512; P]; F] {
        let (xp, wp) = (planes.as_ptr(), wide.as_ptr());
        let mut acc = [[_mm512_setzero_ps(); P]; F];
        for (t, &tap) in taps.iter().enumerate() {
            let weights = wp.add(t * lanes);
            for (p, register) in group.iter().enumerate() {
                let x = _mm512_maskz_loadu_ps(register.mask, xp.add(tap + register.x));
                for (f, acc) in acc.iter_mut().enumerate() {
                    acc[p] = _mm512_fmadd_ps(x, _mm512_set1_ps(*weights.add(f)), acc[p]);
                }
            }
        }
        acc
    }

    /// The accumulators into their pixels' (pixel, filter) places.
    #[inline(always)]
    unsafe fn store<const F: usize, const P: usize>(
        acc: &[[__m512; P]; F],
        group: &[PixelRegister; P],
        join: &Shuffles,
        out_w: usize,
        out: &mut [f32],
    ) {
        let row = out_w.div_ceil(LANES) * LANES;
        for (p, register) in group.iter().enumerate() {
            let planes: [__m512; F] = std::array::from_fn(|f| acc[f][p]);
            let (oy, ox) = (register.g / row, register.g % row);
            let values = register.mask.count_ones() as usize * F;
            let dst = &mut out[(oy * out_w + ox) * F..][..values];
            for k in 0..F {
                let valid = values.saturating_sub(LANES * k);
                if valid > 0 {
                    let at = dst.as_mut_ptr().add(LANES * k);
                    _mm512_mask_storeu_ps(at, first_lanes(valid), join.apply(k, &planes));
                }
            }
        }
    }

    /// For each block of `TB` consecutive taps, the sum over all pixels of x[window, tap] ·
    /// G[pixel], in `TB`·`F` registers of 16 pixels' partial sums, added across the lanes at
    /// the end. `g_planes` holds the planes of filters `first..first + F`, `g_len` floats
    /// each; `partial` is (taps, lanes).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn kernel_grad<const F: usize, const TB: usize>(
        planes: &[f32],
        taps: &[usize],
        registers: &[PixelRegister],
        g_planes: &[f32],
        partial: &mut [f32],
        first: usize,
    ) {
        let lanes = partial.len() / taps.len();
        let g_len = g_planes.len() / F;
        assert!(lanes >= first + F && taps.len().is_multiple_of(TB));
        let most = taps.iter().max().copied().unwrap_or(0);
        let furthest = registers.iter().map(|r| r.x).max().unwrap_or(0);
        assert!(most + furthest + LANES <= planes.len());
        assert!(registers.iter().all(|r| r.g + LANES <= g_len));
        let (xp, gp) = (planes.as_ptr(), g_planes.as_ptr());
        for (block, taps) in taps.chunks_exact(TB).enumerate() {
            let acc = sum_pixels::<F, TB>(xp, taps, registers, gp, g_len);
            for b in 0..TB {
                let dst = &mut partial[(block * TB + b) * lanes + first..][..F];
                for f in 0..F {
                    dst[f] += _mm512_reduce_add_ps(acc[f][b]);
                }
            }
        }
    }

    /// One block's sums over all registers of pixels, as (filter, tap): the forward's
    /// loop with G in the place of the weights.
    #[inline(always)]
    unsafe fn sum_pixels<const F: usize, const TB: usize>(
        xp: *const f32,
        taps: &[usize],
        registers: &[PixelRegister],
        gp: *const f32,
        g_len: usize,
    ) -> [[__m512; TB]; F] {
        let mut acc = [[_mm512_setzero_ps(); TB]; F];
        for register in registers {
            let g = gp.add(register.g);
            for (b, &tap) in taps.iter().take(TB).enumerate() {
                let x = _mm512_maskz_loadu_ps(register.mask, xp.add(tap + register.x));
                for (f, acc) in acc.iter_mut().enumerate() {
                    acc[b] = _mm512_fmadd_ps(x, _mm512_loadu_ps(g.add(f * g_len)), acc[b]);
                }
            }
        }
        acc
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::ops::conv2d_direct::{self, padded_filters};
    use crate::ops::conv2d_direct_fma::{self as fma, Isa};
    use crate::ops::window::Padding;

    /// Stride-1 shapes the rule takes: LeNet-5's first convolution on CIFAR-10 and on MNIST,
    /// rows of one, two and three registers with a partial last one, 1x1 and wide kernels, more
    /// channels than the lane shuffles take.
    fn shapes() -> Vec<([usize; 4], [usize; 2], Padding, usize)> {
        vec![
            ([1, 32, 32, 3], [5, 5], Padding::Valid, 6),
            ([1, 28, 28, 1], [5, 5], Padding::Same, 6),
            ([1, 9, 10, 2], [3, 3], Padding::Same, 1),
            ([1, 12, 40, 3], [3, 4], Padding::Same, 8),
            ([1, 7, 33, 2], [2, 3], Padding::Valid, 5),
            ([1, 6, 20, 4], [1, 1], Padding::Valid, 3),
            ([1, 5, 17, 1], [5, 7], Padding::Same, 2),
            ([1, 6, 18, 9], [3, 3], Padding::Same, 2),
        ]
    }

    fn wave(len: usize, step: f32) -> Vec<f32> {
        (0..len).map(|i| (i as f32 * step).sin()).collect()
    }

    #[test]
    fn the_rule_takes_lenets_first_convolution_only_where_it_has_fewer_instructions() {
        let lenet = Window::new("t", &[1, 32, 32, 3], [5, 5], [1, 1], Padding::Valid).unwrap();
        assert_eq!(applies(&lenet, 6), avx512_available());
        // LeNet-5's second (6 → 16 on 10-pixel rows) and the MNIST CNN's first (1 → 32) fill
        // 16-lane registers with filters already; stride 2 reads no consecutive pixels.
        let second = Window::new("t", &[1, 14, 14, 6], [5, 5], [1, 1], Padding::Valid).unwrap();
        assert!(!applies(&second, 16));
        let mnist = Window::new("t", &[1, 28, 28, 1], [3, 3], [1, 1], Padding::Valid).unwrap();
        assert!(!applies(&mnist, 32));
        let strided = Window::new("t", &[1, 32, 32, 3], [5, 5], [2, 2], Padding::Valid).unwrap();
        assert!(!applies(&strided, 6));
    }

    #[test]
    fn forward_gives_the_filter_lane_kernels_bits() {
        for (dims, kernel, padding, filters) in shapes() {
            let w = Window::new("test", &dims, kernel, [1, 1], padding).unwrap();
            if !applies(&w, filters) || !Isa::Avx2.runs(8) {
                continue;
            }
            let lanes = padded_filters(filters);
            let depth = w.k_h * w.k_w * w.channels;
            let image = wave(w.in_len(), 0.37);
            let wide: Vec<f32> = wave(depth * lanes, 0.11)
                .into_iter()
                .enumerate()
                .map(|(i, v)| if i % lanes < filters { v } else { 0.0 })
                .collect();
            let mut planar = vec![f32::NAN; w.out_pixels() * filters];
            forward_image(&w, &image, &wide, filters, &mut planar);
            let mut by_filters = vec![f32::NAN; w.out_pixels() * filters];
            fma::forward_image_on(Isa::Avx2, &w, &image, &wide, filters, &mut by_filters);
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&planar),
                bits(&by_filters),
                "{dims:?} {kernel:?} {padding:?}"
            );
        }
    }

    #[test]
    fn kernel_grad_equals_the_f64_kernel_to_1e_6() {
        for (dims, kernel, padding, filters) in shapes() {
            let w = Window::new("test", &dims, kernel, [1, 1], padding).unwrap();
            if !applies(&w, filters) {
                continue;
            }
            let lanes = padded_filters(filters);
            let depth = w.k_h * w.k_w * w.channels;
            let image = wave(w.in_len(), 0.37);
            let g = wave(w.out_pixels() * filters, 0.23);
            let start: Vec<f32> = (0..depth * lanes).map(|i| i as f32 * 0.01).collect();
            let mut planar = start.clone();
            kernel_grad_image(&w, &image, &g, filters, &mut planar);
            let wide = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
            let mut reference = wide(&start);
            let mut padded_g = vec![0.0; w.out_pixels() * lanes];
            conv2d_direct::kernel_grad_image(
                &w,
                &wide(&image),
                &wide(&g),
                filters,
                &mut padded_g,
                &mut reference,
            );
            let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for (i, (&a, &b)) in planar.iter().zip(&reference).enumerate() {
                if i % lanes >= filters {
                    assert_eq!(a, start[i], "a padding lane written");
                    continue;
                }
                let e = (f64::from(a) - b).abs() / scale;
                assert!(
                    e < 1e-6,
                    "{dims:?} {kernel:?} {padding:?}: ∂W[{i}] off by {e:e}"
                );
            }
        }
    }

    /// Largest difference from `reference` relative to its largest value.
    fn error(a: &[f32], reference: &[f64]) -> f64 {
        let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let worst = a
            .iter()
            .zip(reference)
            .fold(0.0f64, |m, (&a, &b)| m.max((f64::from(a) - b).abs()));
        worst / scale
    }

    #[test]
    fn gradients_from_a_mostly_zero_g_equal_the_f64_kernels_to_1e_5() {
        // G zero at 3 pixels in 4, as under a 2×2 max pooling: the rule gives ∂L/∂W to the
        // filter-lane kernel, which like ∂L/∂x skips those pixels.
        for (dims, kernel, padding, filters) in shapes() {
            let w = Window::new("test", &dims, kernel, [1, 1], padding).unwrap();
            if !applies(&w, filters) {
                continue;
            }
            let lanes = padded_filters(filters);
            let depth = w.k_h * w.k_w * w.channels;
            let image = wave(w.in_len(), 0.37);
            let mut g = wave(w.out_pixels() * filters, 0.23);
            for (p, pixel) in g.chunks_exact_mut(filters).enumerate() {
                if p % 4 != 1 {
                    pixel.fill(0.0);
                }
            }
            if (dims, filters) == ([1, 32, 32, 3], 6) {
                assert!(!kernel_grad_wins(&w, filters, w.out_pixels() / 4));
                assert!(kernel_grad_wins(&w, filters, w.out_pixels()));
            }
            let wide = |v: &[f32]| v.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>();
            let (image64, g64) = (wide(&image), wide(&g));
            let mut reference = vec![0.0; depth * lanes];
            let mut padded_g = vec![0.0; w.out_pixels() * lanes];
            let mut padded_g32 = vec![0.0; w.out_pixels() * lanes];
            conv2d_direct::kernel_grad_image(
                &w,
                &image64,
                &g64,
                filters,
                &mut padded_g,
                &mut reference,
            );
            let mut chosen = vec![0.0f32; depth * lanes];
            conv2d_direct::kernel_grad_image(&w, &image, &g, filters, &mut padded_g32, &mut chosen);
            let mut planar = vec![0.0f32; depth * lanes];
            kernel_grad_image(&w, &image, &g, filters, &mut planar);
            for (what, dw) in [("chosen", &chosen), ("planar", &planar)] {
                let e = error(dw, &reference);
                assert!(e < 1e-5, "{dims:?} {kernel:?}: {what} ∂W off by {e:e}");
            }
            // ∂L/∂x from Wᵀ.
            let kernel_values = wave(depth * filters, 0.11);
            let transposed = conv2d_direct::transposed_kernel(&kernel_values, filters);
            let mut dx64 = vec![0.0; w.in_len()];
            let mut scratch64 = vec![0.0; depth];
            conv2d_direct::input_grad_image(
                &w,
                &g64,
                &wide(&transposed),
                filters,
                &mut scratch64,
                &mut dx64,
            );
            let mut dx = vec![0.0f32; w.in_len()];
            let mut scratch = vec![0.0f32; depth];
            conv2d_direct::input_grad_image(&w, &g, &transposed, filters, &mut scratch, &mut dx);
            let e = error(&dx, &dx64);
            assert!(e < 1e-5, "{dims:?} {kernel:?}: ∂x off by {e:e}");
        }
    }
}
