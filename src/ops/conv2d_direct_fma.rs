//! The direct convolution's f32 kernels written with AVX2 + FMA intrinsics: the forward and
//! ∂L/∂W of `conv2d_direct.rs`, same loops, same order of summation within each lane.
//!
//! The generic kernels leave the vectorizing to LLVM, which for 6 or 8 filters split the
//! accumulators into 128-bit halves with inserts and blends (perf annotate on LeNet-5: 28% of
//! an epoch in the forward, 14% in ∂L/∂W). Here each accumulator is one whole 256-bit
//! register, `R` of them per output pixel (filters padded to 8·R), and one FMA adds each
//! product: a·b + c rounded once, so results differ from the generic path in the last bits,
//! but not between runs or thread counts.

#[cfg(target_arch = "x86_64")]
use super::window::Window;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Whether the processor runs these kernels.
pub(super) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Accumulator registers the kernels keep live, of AVX2's 16: the rest hold the weights or
/// gradients being read and the broadcast input value.
#[cfg(target_arch = "x86_64")]
const ACCUMULATORS: usize = 12;

/// Output pixels (forward) or kernel positions (∂L/∂W) one pass holds for `R` registers of
/// filters: as many as fit in [`ACCUMULATORS`] and in the 15 − R registers that the R read
/// and the broadcast leave. 32 filters in 3 × 4 accumulators, with 4 + 1 more, spilled two
/// of them to the stack on every FMA (perf annotate on the MNIST CNN's first convolution).
#[cfg(target_arch = "x86_64")]
const fn per_pass(r: usize) -> usize {
    let most = if ACCUMULATORS < 15 - r {
        ACCUMULATORS
    } else {
        15 - r
    };
    if most / r == 0 {
        1
    } else {
        most / r
    }
}

/// The forward for one image; `wide` is the kernel as (depth, 8·R), filters zero-padded.
/// The caller checks [`available`] first.
#[cfg(target_arch = "x86_64")]
pub(super) fn forward_image(
    w: &Window,
    image: &[f32],
    wide: &[f32],
    filters: usize,
    out: &mut [f32],
) {
    let lanes = wide.len() / (w.k_h * w.k_w * w.channels);
    // SAFETY (all arms): `available()` was checked by the caller; the kernels index only
    // within the slices, whose lengths the window describes.
    unsafe {
        match lanes {
            8 => forward::<1, 8>(w, image, wide, filters, out),
            16 => forward::<2, { per_pass(2) }>(w, image, wide, filters, out),
            32 => forward::<4, { per_pass(4) }>(w, image, wide, filters, out),
            _ => forward::<8, 1>(w, image, wide, filters, out),
        }
    }
}

/// `PX` output pixels of one row at a time where their windows lie inside the image (then 4,
/// 2 and 1 for the rest of the row), each with `R` accumulator registers; border windows one
/// at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn forward<const R: usize, const PX: usize>(
    w: &Window,
    image: &[f32],
    wide: &[f32],
    filters: usize,
    out: &mut [f32],
) {
    let whole = |ox: usize, count: usize| {
        ox + count <= w.out_w && w.cols(ox).2 == w.k_w && w.cols(ox + count - 1).2 == w.k_w
    };
    for oy in 0..w.out_h {
        let mut ox = 0;
        while ox < w.out_w {
            ox += if whole(ox, PX) {
                whole_windows::<R, PX>(w, image, wide, filters, out, oy, ox)
            } else if PX > 4 && whole(ox, 4) {
                whole_windows::<R, 4>(w, image, wide, filters, out, oy, ox)
            } else if PX > 2 && whole(ox, 2) {
                whole_windows::<R, 2>(w, image, wide, filters, out, oy, ox)
            } else {
                clipped_window::<R>(w, image, wide, filters, out, oy, ox)
            };
        }
    }
}

/// Output pixels `ox..ox + P` of row `oy`, whose windows lie inside the image along x: `P`
/// windows side by side, `stride · channels` apart in the input. Returns `P`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn whole_windows<const R: usize, const P: usize>(
    w: &Window,
    image: &[f32],
    wide: &[f32],
    filters: usize,
    out: &mut [f32],
    oy: usize,
    ox: usize,
) -> usize {
    let (fp, c) = (8 * R, w.channels);
    let (span, step) = (w.k_w * c, w.stride_w * c);
    let (ki, iy, nh) = w.rows(oy);
    let ix = w.cols(ox).1;
    let mut acc = [[_mm256_setzero_ps(); R]; P];
    for r in 0..nh {
        let src = ((iy + r) * w.in_w + ix) * c;
        let block = (ki + r) * span * fp;
        assert!(src + (P - 1) * step + span <= image.len());
        assert!(block + span * fp <= wide.len());
        let (xp, wp) = (image.as_ptr().add(src), wide.as_ptr().add(block));
        for t in 0..span {
            let mut wv = [_mm256_setzero_ps(); R];
            for (k, v) in wv.iter_mut().enumerate() {
                *v = _mm256_loadu_ps(wp.add(t * fp + 8 * k));
            }
            for (p, acc) in acc.iter_mut().enumerate() {
                let xv = _mm256_broadcast_ss(&*xp.add(p * step + t));
                for (a, &v) in acc.iter_mut().zip(&wv) {
                    *a = _mm256_fmadd_ps(xv, v, *a);
                }
            }
        }
    }
    for (p, acc) in acc.iter().enumerate() {
        store(
            acc,
            &mut out[(oy * w.out_w + ox + p) * filters..][..filters],
        );
    }
    P
}

/// Output pixel `ox` of row `oy`, whose window the border clips. Returns 1.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn clipped_window<const R: usize>(
    w: &Window,
    image: &[f32],
    wide: &[f32],
    filters: usize,
    out: &mut [f32],
    oy: usize,
    ox: usize,
) -> usize {
    let (fp, c) = (8 * R, w.channels);
    let (ki, iy, nh) = w.rows(oy);
    let (kj, ix, nw) = w.cols(ox);
    let mut acc = [_mm256_setzero_ps(); R];
    for r in 0..nh {
        let src = &image[((iy + r) * w.in_w + ix) * c..][..nw * c];
        let block = &wide[((ki + r) * w.k_w + kj) * c * fp..][..nw * c * fp];
        for (x, row) in src.iter().zip(block.chunks_exact(fp)) {
            let xv = _mm256_broadcast_ss(x);
            for (k, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fmadd_ps(xv, _mm256_loadu_ps(row.as_ptr().add(8 * k)), *a);
            }
        }
    }
    store(&acc, &mut out[(oy * w.out_w + ox) * filters..][..filters]);
    1
}

/// One pixel's accumulators into its `filters` outputs, dropping the padding lanes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn store<const R: usize>(acc: &[__m256; R], dst: &mut [f32]) {
    if dst.len() == 8 * R {
        for (k, a) in acc.iter().enumerate() {
            _mm256_storeu_ps(dst.as_mut_ptr().add(8 * k), *a);
        }
    } else {
        let mut spill = [0.0f32; 64];
        for (k, a) in acc.iter().enumerate() {
            _mm256_storeu_ps(spill.as_mut_ptr().add(8 * k), *a);
        }
        dst.copy_from_slice(&spill[..dst.len()]);
    }
}

/// Adds one image's ∂L/∂W to `partial`, laid out as (depth, 8·R); `padded_g` is the image's
/// G with its filters padded to 8·R lanes. Windows inside the image only: the caller adds
/// the ones the border clips. The caller checks [`available`] first.
#[cfg(target_arch = "x86_64")]
pub(super) fn kernel_grad_inside(
    w: &Window,
    image: &[f32],
    padded_g: &[f32],
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    partial: &mut [f32],
) {
    let lanes = padded_g.len() / w.out_pixels();
    let span = w.k_w * w.channels;
    // As many kernel positions at once as there are accumulators for; a divisor of the
    // kernel row, so that every block is whole.
    let most = per_pass(lanes / 8);
    let tb = (1..=most)
        .rev()
        .find(|b| span.is_multiple_of(*b))
        .unwrap_or(1);
    // SAFETY (all arms): `available()` was checked by the caller; indices stay within the
    // slices, whose lengths the window describes.
    unsafe {
        macro_rules! by_block {
            ($r:literal: $($tb:literal)*) => {
                match tb {
                    $($tb => kernel_grad::<$r, $tb>(w, image, padded_g, rows, cols, partial),)*
                    _ => kernel_grad::<$r, 1>(w, image, padded_g, rows, cols, partial),
                }
            };
        }
        match lanes {
            8 => by_block!(1: 12 11 10 9 8 7 6 5 4 3 2),
            16 => by_block!(2: 6 5 4 3 2),
            32 => by_block!(4: 2),
            _ => by_block!(8: 1),
        }
    }
}

/// For each kernel row and each `TB` consecutive (column, channel) positions of it, the sum
/// over all inside pixels of x[window, t] · G[pixel], in `TB`·`R` registers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_grad<const R: usize, const TB: usize>(
    w: &Window,
    image: &[f32],
    padded_g: &[f32],
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
    partial: &mut [f32],
) {
    let fp = 8 * R;
    let c = w.channels;
    let span = w.k_w * c;
    let (xp, gp) = (image.as_ptr(), padded_g.as_ptr());
    if rows.is_empty() || cols.is_empty() {
        return;
    }
    // The last pixel read, bounds-checked once for the whole loop below.
    let last_x = ((w.rows(rows.end - 1).1 + w.k_h - 1) * w.in_w + (cols.end - 1) * w.stride_w
        - w.pad_left)
        * c
        + span;
    assert!(last_x <= image.len());
    assert!(((rows.end - 1) * w.out_w + cols.end) * fp <= padded_g.len());
    for i in 0..w.k_h {
        for t0 in (0..span).step_by(TB) {
            let mut acc = [[_mm256_setzero_ps(); R]; TB];
            for oy in rows.clone() {
                let iy = w.rows(oy).1 + i;
                for ox in cols.clone() {
                    let ix = ox * w.stride_w - w.pad_left;
                    let xs = (iy * w.in_w + ix) * c + t0;
                    let gs = (oy * w.out_w + ox) * fp;
                    let mut gv = [_mm256_setzero_ps(); R];
                    for (k, v) in gv.iter_mut().enumerate() {
                        *v = _mm256_loadu_ps(gp.add(gs + 8 * k));
                    }
                    for (b, acc) in acc.iter_mut().enumerate() {
                        let xv = _mm256_broadcast_ss(&*xp.add(xs + b));
                        for (a, &v) in acc.iter_mut().zip(&gv) {
                            *a = _mm256_fmadd_ps(xv, v, *a);
                        }
                    }
                }
            }
            let block = &mut partial[(i * span + t0) * fp..][..TB * fp];
            for (row, acc) in block.chunks_exact_mut(fp).zip(&acc) {
                for (k, a) in acc.iter().enumerate() {
                    let dst = row[8 * k..][..8].as_mut_ptr();
                    _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_loadu_ps(dst), *a));
                }
            }
        }
    }
}
