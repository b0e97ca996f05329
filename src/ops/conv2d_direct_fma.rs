//! The direct convolution's f32 kernels written with AVX2 + FMA intrinsics: the forward,
//! ∂L/∂W and ∂L/∂x of `conv2d_direct.rs`, same loops, same order of summation within each
//! lane. The gradients skip the output pixels whose G is zero (3 in 4 or more under a 2×2
//! max pooling).
//!
//! The generic kernels leave the vectorizing to LLVM, which for 6 or 8 filters split the
//! accumulators into 128-bit halves with inserts and blends (perf annotate on LeNet-5: 28% of
//! an epoch in the forward, 14% in ∂L/∂W). Here each accumulator is one whole 256-bit
//! register, `R` of them per output pixel (filters padded to 8·R), and one FMA adds each
//! product: a·b + c rounded once, so results differ from the generic path in the last bits,
//! but not between runs or thread counts. Where the processor has AVX-512 and the padded
//! filters fill 16-lane registers, both run the same code on those (one macro, both
//! instruction sets): half the instructions per product, twice the pixels or kernel
//! positions per pass, and the same bits as on AVX2.

#[cfg(target_arch = "x86_64")]
use super::window::Window;

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

/// Whether every value is ±0, by one OR over their bits without the sign, which LLVM
/// vectorizes: a compare and a branch per float took more of ∂L/∂W's time than the
/// multiply-adds once G was mostly zero.
pub(super) fn all_zero(values: &[f32]) -> bool {
    values.iter().fold(0u32, |bits, v| bits | v.to_bits()) << 1 == 0
}

/// Appends to `out` the indices of the pixels of `g` (`channels` values each) whose values
/// are not all ±0. One [`all_zero`] per pixel took 5% of a LeNet-5 epoch for its first
/// layer's 6 filters; here 64 values at a time become a bit mask by 8 AVX2 compares, and
/// each pixel is one test of its bits.
pub(super) fn nonzero_pixels(g: &[f32], channels: usize, out: &mut Vec<usize>) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if channels <= 64 && std::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2, checked just above.
        done = unsafe { nonzero_pixels_avx2(g, channels, out) };
    }
    let pixels = g.chunks_exact(channels).enumerate().skip(done);
    out.extend(pixels.filter(|(_, pixel)| !all_zero(pixel)).map(|(p, _)| p));
}

/// [`nonzero_pixels`] over the whole blocks of `64 / channels` pixels that 64 values from
/// their start stay inside `g`; returns how many pixels it looked at.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn nonzero_pixels_avx2(g: &[f32], channels: usize, out: &mut Vec<usize>) -> usize {
    use std::arch::x86_64::*;
    let per_block = 64 / channels;
    let pixel_bits = u64::MAX >> (64 - channels);
    let magnitude = _mm256_set1_epi32(0x7fff_ffff);
    let mut p = 0;
    while p * channels + 64 <= g.len() {
        let block = g[p * channels..][..64].as_ptr();
        let mut nonzero = 0u64;
        for i in 0..8 {
            // SAFETY: the 64 values from `block` lie inside `g` (the loop's condition).
            let v = unsafe { _mm256_loadu_si256(block.add(8 * i) as *const __m256i) };
            let zero = _mm256_cmpeq_epi32(_mm256_and_si256(v, magnitude), _mm256_setzero_si256());
            let zero_bits = _mm256_movemask_ps(_mm256_castsi256_ps(zero)) as u64;
            nonzero |= (!zero_bits & 0xff) << (8 * i);
        }
        for j in 0..per_block {
            if (nonzero >> (j * channels)) & pixel_bits != 0 {
                out.push(p + j);
            }
        }
        p += per_block;
    }
    p
}

/// The instruction sets the forward and ∂L/∂W kernels run on.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Isa {
    Avx2,
    Avx512,
}

#[cfg(target_arch = "x86_64")]
impl Isa {
    /// Whether the kernels run here on this instruction set for `lanes` padded filters:
    /// AVX-512 needs whole 16-lane registers (16, 32 or 64 filters after padding).
    pub(super) fn runs(self, lanes: usize) -> bool {
        match self {
            Isa::Avx2 => available(),
            Isa::Avx512 => lanes.is_multiple_of(16) && std::is_x86_feature_detected!("avx512f"),
        }
    }

    /// AVX-512 where it runs for `lanes`, else AVX2.
    fn widest(lanes: usize) -> Isa {
        if Isa::Avx512.runs(lanes) {
            Isa::Avx512
        } else {
            Isa::Avx2
        }
    }
}

/// The forward for one image; `wide` is the kernel as (depth, lanes), filters zero-padded
/// to 8, 16, 32 or 64 lanes. On AVX-512 where the lanes fill 16-wide registers: LeNet-5's
/// second convolution and the MNIST CNN's first. The caller checks [`available`] first.
#[cfg(target_arch = "x86_64")]
pub(super) fn forward_image(
    w: &Window,
    image: &[f32],
    wide: &[f32],
    filters: usize,
    out: &mut [f32],
) {
    let lanes = wide.len() / (w.k_h * w.k_w * w.channels);
    let isa = Isa::widest(lanes);
    forward_image_on(isa, w, image, wide, filters, out);
}

/// [`forward_image`] on `isa`, which must run here. Each lane sums the same products in the
/// same order on either, so the two give the same bits.
#[cfg(target_arch = "x86_64")]
pub(super) fn forward_image_on(
    isa: Isa,
    w: &Window,
    image: &[f32],
    wide: &[f32],
    filters: usize,
    out: &mut [f32],
) {
    let lanes = wide.len() / (w.k_h * w.k_w * w.channels);
    assert!(isa.runs(lanes));
    // SAFETY (all arms): the processor has the instructions (asserted above); the kernels
    // index only within the slices, whose lengths the window describes.
    unsafe {
        match (isa, lanes) {
            (Isa::Avx2, 8) => avx2::forward::<1, 8>(w, image, wide, filters, out),
            (Isa::Avx2, 16) => {
                avx2::forward::<2, { avx2::per_pass(2) }>(w, image, wide, filters, out)
            }
            (Isa::Avx2, 32) => {
                avx2::forward::<4, { avx2::per_pass(4) }>(w, image, wide, filters, out)
            }
            (Isa::Avx2, _) => avx2::forward::<8, 1>(w, image, wide, filters, out),
            (Isa::Avx512, 16) => {
                avx512::forward::<1, { avx512::per_pass(1) }>(w, image, wide, filters, out)
            }
            (Isa::Avx512, 32) => {
                avx512::forward::<2, { avx512::per_pass(2) }>(w, image, wide, filters, out)
            }
            (Isa::Avx512, _) => {
                avx512::forward::<4, { avx512::per_pass(4) }>(w, image, wide, filters, out)
            }
        }
    }
}

/// The forward and ∂L/∂W per instruction set, the same code on its registers: `R` registers
/// of filters per output pixel or kernel position, as many at once as the accumulators allow.
#[cfg(target_arch = "x86_64")]
macro_rules! direct_forward {
    ($name:ident, $features:literal, $register:ty, $lanes:literal, $accumulators:literal,
     $registers:literal, $zero:ident, $load:ident, $splat:ident, $fma:ident, $add:ident,
     $store:ident, $load_first:ident, $store_first:ident) => {
        mod $name {
            use super::Window;
            use std::arch::x86_64::*;

            const LANES: usize = $lanes;

            /// Output pixels (forward) or kernel positions (∂L/∂W) one pass holds for `r`
            /// registers of filters: as many as fit in the accumulators and in the registers
            /// that the `r` read and the broadcast leave (32 filters in 3 × 4 of AVX2's
            /// accumulators, with 4 + 1 more, spilled two of them to the stack on every FMA:
            /// perf annotate on the MNIST CNN's first convolution).
            pub(super) const fn per_pass(r: usize) -> usize {
                let free = $registers - 1 - r;
                let most = if $accumulators < free {
                    $accumulators
                } else {
                    free
                };
                if most / r == 0 {
                    1
                } else {
                    most / r
                }
            }

            /// `PX` output pixels of one row at a time where their windows lie inside the
            /// image (then 8, 4, 2 and 1 for the rest of the row), each with `R` accumulator
            /// registers; border windows one at a time.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn forward<const R: usize, const PX: usize>(
                w: &Window,
                image: &[f32],
                wide: &[f32],
                filters: usize,
                out: &mut [f32],
            ) {
                let whole = |ox: usize, count: usize| {
                    ox + count <= w.out_w
                        && w.cols(ox).2 == w.k_w
                        && w.cols(ox + count - 1).2 == w.k_w
                };
                for oy in 0..w.out_h {
                    let mut ox = 0;
                    while ox < w.out_w {
                        ox += if whole(ox, PX) {
                            whole_windows::<R, PX>(w, image, wide, filters, out, oy, ox)
                        } else if PX > 8 && whole(ox, 8) {
                            whole_windows::<R, 8>(w, image, wide, filters, out, oy, ox)
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

            /// Output pixels `ox..ox + P` of row `oy`, whose windows lie inside the image
            /// along x: `P` windows side by side, `stride · channels` apart in the input.
            /// Returns `P`.
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
                let (fp, c) = (LANES * R, w.channels);
                let (span, step) = (w.k_w * c, w.stride_w * c);
                let (ki, iy, nh) = w.rows(oy);
                let ix = w.cols(ox).1;
                let mut acc = [[$zero(); R]; P];
                for r in 0..nh {
                    let src = ((iy + r) * w.in_w + ix) * c;
                    let block = (ki + r) * span * fp;
                    assert!(src + (P - 1) * step + span <= image.len());
                    assert!(block + span * fp <= wide.len());
                    let (xp, wp) = (image.as_ptr().add(src), wide.as_ptr().add(block));
                    for t in 0..span {
                        let mut wv = [$zero(); R];
                        for (k, v) in wv.iter_mut().enumerate() {
                            *v = $load(wp.add(t * fp + LANES * k));
                        }
                        for (p, acc) in acc.iter_mut().enumerate() {
                            let xv = $splat(*xp.add(p * step + t));
                            for (a, &v) in acc.iter_mut().zip(&wv) {
                                *a = $fma(xv, v, *a);
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
                let (fp, c) = (LANES * R, w.channels);
                let (ki, iy, nh) = w.rows(oy);
                let (kj, ix, nw) = w.cols(ox);
                let mut acc = [$zero(); R];
                for r in 0..nh {
                    let src = &image[((iy + r) * w.in_w + ix) * c..][..nw * c];
                    let block = &wide[((ki + r) * w.k_w + kj) * c * fp..][..nw * c * fp];
                    for (x, row) in src.iter().zip(block.chunks_exact(fp)) {
                        let xv = $splat(*x);
                        for (k, a) in acc.iter_mut().enumerate() {
                            *a = $fma(xv, $load(row.as_ptr().add(LANES * k)), *a);
                        }
                    }
                }
                store(&acc, &mut out[(oy * w.out_w + ox) * filters..][..filters]);
                1
            }

            /// For each kernel row and each `TB` consecutive (column, channel) positions of
            /// it, the sum over `pixels` of x[window, t] · G[pixel], in `TB`·`R` registers.
            /// Each pixel is (its window's first input float, its first G float), with
            /// every read inside the slices (checked by the caller).
            #[target_feature(enable = $features)]
            pub(super) unsafe fn kernel_grad<const R: usize, const TB: usize>(
                w: &Window,
                image: &[f32],
                padded_g: &[f32],
                pixels: &[(usize, usize)],
                partial: &mut [f32],
            ) {
                let fp = LANES * R;
                let span = w.k_w * w.channels;
                let row = w.in_w * w.channels;
                let (xp, gp) = (image.as_ptr(), padded_g.as_ptr());
                for i in 0..w.k_h {
                    for t0 in (0..span).step_by(TB) {
                        let mut acc = [[$zero(); R]; TB];
                        for &(x, g) in pixels {
                            let xs = x + i * row + t0;
                            let mut gv = [$zero(); R];
                            for (k, v) in gv.iter_mut().enumerate() {
                                *v = $load(gp.add(g + LANES * k));
                            }
                            for (b, acc) in acc.iter_mut().enumerate() {
                                let xv = $splat(*xp.add(xs + b));
                                for (a, &v) in acc.iter_mut().zip(&gv) {
                                    *a = $fma(xv, v, *a);
                                }
                            }
                        }
                        let block = &mut partial[(i * span + t0) * fp..][..TB * fp];
                        for (row, acc) in block.chunks_exact_mut(fp).zip(&acc) {
                            for (k, a) in acc.iter().enumerate() {
                                let dst = row[LANES * k..][..LANES].as_mut_ptr();
                                $store(dst, $add($load(dst), *a));
                            }
                        }
                    }
                }
            }

            /// ∂L/∂x for one image: each output pixel's G·Wᵀ, its `depth` sums over the
            /// filters held in up to `REGS` ≤ 16 registers at a time, then added onto the
            /// window's pixels. `transposed` is Wᵀ as (filters, depth).
            #[target_feature(enable = $features)]
            pub(super) unsafe fn input_grad<const REGS: usize>(
                w: &Window,
                g: &[f32],
                transposed: &[f32],
                filters: usize,
                scratch: &mut [f32],
                dimage: &mut [f32],
            ) {
                let (c, depth) = (w.channels, scratch.len());
                assert!(transposed.len() == filters * depth);
                assert!(g.len() == w.out_pixels() * filters && dimage.len() == w.in_len());
                let tp = transposed.as_ptr();
                for oy in 0..w.out_h {
                    let (ki, iy, nh) = w.rows(oy);
                    for ox in 0..w.out_w {
                        let (kj, ix, nw) = w.cols(ox);
                        let g = &g[(oy * w.out_w + ox) * filters..][..filters];
                        // Nothing to add where G is zero: 3 pixels in 4 under a 2×2 max
                        // pooling, and wherever the ReLU was off.
                        if super::all_zero(g) {
                            continue;
                        }
                        for from in (0..depth).step_by(REGS * LANES) {
                            let count = (depth - from).min(REGS * LANES);
                            let out = &mut scratch[from..][..count];
                            let row = tp.add(from);
                            match count.div_ceil(LANES) {
                                1 => weighted_rows::<1>(g, row, depth, out),
                                2 => weighted_rows::<2>(g, row, depth, out),
                                3 => weighted_rows::<3>(g, row, depth, out),
                                4 => weighted_rows::<4>(g, row, depth, out),
                                5 => weighted_rows::<5>(g, row, depth, out),
                                6 => weighted_rows::<6>(g, row, depth, out),
                                7 => weighted_rows::<7>(g, row, depth, out),
                                8 => weighted_rows::<8>(g, row, depth, out),
                                9 => weighted_rows::<9>(g, row, depth, out),
                                10 => weighted_rows::<10>(g, row, depth, out),
                                11 => weighted_rows::<11>(g, row, depth, out),
                                12 => weighted_rows::<12>(g, row, depth, out),
                                13 => weighted_rows::<13>(g, row, depth, out),
                                14 => weighted_rows::<14>(g, row, depth, out),
                                15 => weighted_rows::<15>(g, row, depth, out),
                                _ => weighted_rows::<16>(g, row, depth, out),
                            }
                        }
                        for r in 0..nh {
                            let dst = &mut dimage[((iy + r) * w.in_w + ix) * c..][..nw * c];
                            let src = &scratch[((ki + r) * w.k_w + kj) * c..][..nw * c];
                            let (dp, sp) = (dst.as_mut_ptr(), src.as_ptr());
                            for at in (0..dst.len()).step_by(LANES) {
                                let n = (dst.len() - at).min(LANES);
                                let (d, s) = (dp.add(at), sp.add(at));
                                if n == LANES {
                                    $store(d, $add($load(d), $load(s)));
                                } else {
                                    let sum =
                                        $add(super::$load_first(d, n), super::$load_first(s, n));
                                    super::$store_first(d, n, sum);
                                }
                            }
                        }
                    }
                }
            }

            /// out[i] = Σ_f g[f] · row[f · depth + i] in `R` registers, the last one partly
            /// filled (`out` holds more than `R` − 1 registers' worth, at most `R`).
            #[inline(always)]
            unsafe fn weighted_rows<const R: usize>(
                g: &[f32],
                row: *const f32,
                depth: usize,
                out: &mut [f32],
            ) {
                let last = out.len() - (R - 1) * LANES;
                assert!((1..=LANES).contains(&last));
                let mut acc = [$zero(); R];
                for (f, &gf) in g.iter().enumerate() {
                    let (gv, row) = ($splat(gf), row.add(f * depth));
                    for (k, a) in acc.iter_mut().enumerate().take(R - 1) {
                        *a = $fma(gv, $load(row.add(LANES * k)), *a);
                    }
                    let tail = super::$load_first(row.add(LANES * (R - 1)), last);
                    acc[R - 1] = $fma(gv, tail, acc[R - 1]);
                }
                let out = out.as_mut_ptr();
                for (k, &a) in acc.iter().enumerate().take(R - 1) {
                    $store(out.add(LANES * k), a);
                }
                super::$store_first(out.add(LANES * (R - 1)), last, acc[R - 1]);
            }

            /// One pixel's accumulators into its `filters` outputs, dropping the padding
            /// lanes.
            #[inline(always)]
            unsafe fn store<const R: usize>(acc: &[$register; R], dst: &mut [f32]) {
                if dst.len() == LANES * R {
                    for (k, a) in acc.iter().enumerate() {
                        $store(dst.as_mut_ptr().add(LANES * k), *a);
                    }
                } else {
                    let mut spill = [0.0f32; 64];
                    for (k, a) in acc.iter().enumerate() {
                        $store(spill.as_mut_ptr().add(LANES * k), *a);
                    }
                    dst.copy_from_slice(&spill[..dst.len()]);
                }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
direct_forward!(
    avx2,
    "avx2,fma",
    __m256,
    8,
    12,
    16,
    _mm256_setzero_ps,
    _mm256_loadu_ps,
    _mm256_set1_ps,
    _mm256_fmadd_ps,
    _mm256_add_ps,
    _mm256_storeu_ps,
    load_first_avx2,
    store_first_avx2
);
#[cfg(target_arch = "x86_64")]
direct_forward!(
    avx512,
    "avx512f",
    __m512,
    16,
    24,
    32,
    _mm512_setzero_ps,
    _mm512_loadu_ps,
    _mm512_set1_ps,
    _mm512_fmadd_ps,
    _mm512_add_ps,
    _mm512_storeu_ps,
    load_first_avx512,
    store_first_avx512
);

/// The first `n` ≤ 8 floats at `at`, the other lanes zero.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn load_first_avx2(at: *const f32, n: usize) -> std::arch::x86_64::__m256 {
    use std::arch::x86_64::*;
    _mm256_maskload_ps(at, first_lanes_avx2(n))
}

/// Stores the first `n` ≤ 8 lanes of `v` at `at`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn store_first_avx2(at: *mut f32, n: usize, v: std::arch::x86_64::__m256) {
    use std::arch::x86_64::*;
    _mm256_maskstore_ps(at, first_lanes_avx2(n), v)
}

/// A mask of the first `n` of 8 lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn first_lanes_avx2(n: usize) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_cmpgt_epi32(_mm256_set1_epi32(n as i32), lanes)
}

/// The first `n` ≤ 16 floats at `at`, the other lanes zero.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn load_first_avx512(at: *const f32, n: usize) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    _mm512_maskz_loadu_ps(((1u32 << n) - 1) as __mmask16, at)
}

/// Stores the first `n` ≤ 16 lanes of `v` at `at`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn store_first_avx512(at: *mut f32, n: usize, v: std::arch::x86_64::__m512) {
    use std::arch::x86_64::*;
    _mm512_mask_storeu_ps(at, ((1u32 << n) - 1) as __mmask16, v)
}

/// ∂L/∂x for one image (see `conv2d_direct::input_grad_image`): on AVX-512 where the
/// processor has it, else AVX2; the same bits on either. The caller checks [`available`].
#[cfg(target_arch = "x86_64")]
pub(super) fn input_grad_image(
    w: &Window,
    g: &[f32],
    transposed: &[f32],
    filters: usize,
    scratch: &mut [f32],
    dimage: &mut [f32],
) {
    let isa = Isa::widest(16);
    input_grad_image_on(isa, w, g, transposed, filters, scratch, dimage)
}

/// [`input_grad_image`] on `isa`, which must run here.
#[cfg(target_arch = "x86_64")]
pub(super) fn input_grad_image_on(
    isa: Isa,
    w: &Window,
    g: &[f32],
    transposed: &[f32],
    filters: usize,
    scratch: &mut [f32],
    dimage: &mut [f32],
) {
    assert!(isa.runs(16));
    // SAFETY: the processor has the instructions (asserted above); the kernels check the
    // slices' lengths against the window.
    unsafe {
        match isa {
            // 8 of AVX2's 16 registers (64 sums), 16 of AVX-512's 32 (256).
            Isa::Avx2 => avx2::input_grad::<8>(w, g, transposed, filters, scratch, dimage),
            Isa::Avx512 => avx512::input_grad::<16>(w, g, transposed, filters, scratch, dimage),
        }
    }
}

/// Adds one image's ∂L/∂W to `partial`, laid out as (depth, lanes), over output pixels
/// `whole` (indices whose windows lie inside the image, and whose G the caller found not
/// zero); `padded_g` holds those pixels' G with the filters padded to the same lanes. The
/// caller adds the windows the border clips, and checks [`available`] first.
#[cfg(target_arch = "x86_64")]
pub(super) fn kernel_grad_inside(
    w: &Window,
    image: &[f32],
    padded_g: &[f32],
    whole: &[usize],
    partial: &mut [f32],
) {
    let lanes = padded_g.len() / w.out_pixels();
    let isa = Isa::widest(lanes);
    kernel_grad_inside_on(isa, w, image, padded_g, whole, partial);
}

/// [`kernel_grad_inside`] on `isa`, which must run here; the same bits on either.
#[cfg(target_arch = "x86_64")]
pub(super) fn kernel_grad_inside_on(
    isa: Isa,
    w: &Window,
    image: &[f32],
    padded_g: &[f32],
    whole: &[usize],
    partial: &mut [f32],
) {
    let lanes = padded_g.len() / w.out_pixels();
    assert!(isa.runs(lanes));
    let span = w.k_w * w.channels;
    // Each pixel as its window's first input float and its first G float.
    let pixels: Vec<(usize, usize)> = whole
        .iter()
        .map(|&p| {
            let (oy, ox) = (p / w.out_w, p % w.out_w);
            let (ky, iy, nh) = w.rows(oy);
            let (kx, ix, nw) = w.cols(ox);
            assert!(
                ky == 0 && kx == 0 && nh == w.k_h && nw == w.k_w,
                "a clipped window"
            );
            ((iy * w.in_w + ix) * w.channels, p * lanes)
        })
        .collect();
    let last_row = (w.k_h - 1) * w.in_w * w.channels;
    assert!(pixels
        .iter()
        .all(|&(x, g)| x + last_row + span <= image.len() && g + lanes <= padded_g.len()));
    assert!(partial.len() >= w.k_h * span * lanes);
    let pixels = &pixels[..];
    // As many kernel positions at once as there are accumulators for; a divisor of the
    // kernel row, so that every block is whole.
    let most = match isa {
        Isa::Avx2 => avx2::per_pass(lanes / 8),
        Isa::Avx512 => avx512::per_pass(lanes / 16),
    };
    let tb = (1..=most)
        .rev()
        .find(|b| span.is_multiple_of(*b))
        .unwrap_or(1);
    // SAFETY (all arms): the processor has the instructions (asserted above); indices stay
    // within the slices, whose lengths the window describes.
    unsafe {
        macro_rules! by_block {
            ($isa:ident $r:literal: $($tb:literal)*) => {
                match tb {
                    $($tb => $isa::kernel_grad::<$r, $tb>(w, image, padded_g, pixels, partial),)*
                    _ => $isa::kernel_grad::<$r, 1>(w, image, padded_g, pixels, partial),
                }
            };
        }
        match (isa, lanes) {
            (Isa::Avx2, 8) => by_block!(avx2 1: 12 11 10 9 8 7 6 5 4 3 2),
            (Isa::Avx2, 16) => by_block!(avx2 2: 6 5 4 3 2),
            (Isa::Avx2, 32) => by_block!(avx2 4: 2),
            (Isa::Avx2, _) => by_block!(avx2 8: 1),
            (Isa::Avx512, 16) => by_block!(avx512 1:
                24 23 22 21 20 19 18 17 16 15 14 13 12 11 10 9 8 7 6 5 4 3 2),
            (Isa::Avx512, 32) => by_block!(avx512 2: 12 11 10 9 8 7 6 5 4 3 2),
            (Isa::Avx512, _) => by_block!(avx512 4: 6 5 4 3 2),
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::ops::window::Padding;

    #[test]
    fn avx512_kernels_give_the_avx2_bits() {
        if !available() {
            return;
        }
        // 16, 32 and 64 padded lanes (13, 32 and 40 filters), inside and clipped windows,
        // rows wider and narrower than a pass of pixels.
        for (dims, kernel, strides, padding, filters) in [
            ([1, 14, 14, 6], [5, 5], [1, 1], Padding::Valid, 16),
            ([1, 28, 28, 1], [3, 3], [1, 1], Padding::Valid, 32),
            ([1, 30, 31, 2], [3, 3], [1, 1], Padding::Same, 13),
            ([1, 9, 11, 3], [4, 2], [2, 1], Padding::Same, 40),
        ] {
            let w = Window::new("test", &dims, kernel, strides, padding).unwrap();
            let lanes = crate::ops::conv2d_direct::padded_filters(filters);
            let depth = w.k_h * w.k_w * w.channels;
            let image: Vec<f32> = (0..w.in_len()).map(|i| (i as f32 * 0.37).sin()).collect();
            let wide: Vec<f32> = (0..depth * lanes)
                .map(|i| {
                    if i % lanes < filters {
                        (i as f32 * 0.11).cos()
                    } else {
                        0.0
                    }
                })
                .collect();
            // The same kernel as (depth, filters), unpadded.
            let wide_kernel: Vec<f32> = wide
                .chunks_exact(lanes)
                .flat_map(|row| row[..filters].iter().copied())
                .collect();
            let mut outs = Vec::new();
            for isa in [Isa::Avx2, Isa::Avx512] {
                if !isa.runs(lanes) {
                    continue;
                }
                let mut out = vec![f32::NAN; w.out_pixels() * filters];
                forward_image_on(isa, &w, &image, &wide, filters, &mut out);
                assert!(
                    out.iter().all(|v| v.is_finite()),
                    "{isa:?}: a pixel not written"
                );
                outs.push(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
            }
            if let [avx2, avx512] = &outs[..] {
                assert_eq!(avx2, avx512, "{dims:?} {kernel:?} with {filters} filters");
            }
            // ∂L/∂W over the windows inside the image, added to a partial sum.
            let g: Vec<f32> = (0..w.out_pixels() * lanes)
                .map(|i| (i as f32 * 0.23).sin())
                .collect();
            let whole: Vec<usize> = (0..w.out_pixels())
                .filter(|&p| w.rows(p / w.out_w).2 == w.k_h && w.cols(p % w.out_w).2 == w.k_w)
                .collect();
            let mut grads = Vec::new();
            for isa in [Isa::Avx2, Isa::Avx512] {
                if !isa.runs(lanes) {
                    continue;
                }
                let mut partial: Vec<f32> = (0..depth * lanes).map(|i| i as f32 * 0.5).collect();
                kernel_grad_inside_on(isa, &w, &image, &g, &whole, &mut partial);
                grads.push(partial.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
            }
            if let [avx2, avx512] = &grads[..] {
                assert_eq!(
                    avx2, avx512,
                    "∂W: {dims:?} {kernel:?} with {filters} filters"
                );
            }
            // ∂L/∂x, added onto a gradient already there.
            let g = &g[..w.out_pixels() * filters];
            let transposed = crate::ops::conv2d_direct::transposed_kernel(&wide_kernel, filters);
            let mut dxs = Vec::new();
            for isa in [Isa::Avx2, Isa::Avx512] {
                if !isa.runs(16) {
                    continue;
                }
                let mut dx: Vec<f32> = (0..w.in_len()).map(|i| i as f32 * 0.25).collect();
                let mut scratch = vec![f32::NAN; depth];
                input_grad_image_on(isa, &w, g, &transposed, filters, &mut scratch, &mut dx);
                assert!(dx.iter().all(|v| v.is_finite()), "{isa:?}: ∂x not finite");
                dxs.push(dx.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
            }
            if let [avx2, avx512] = &dxs[..] {
                assert_eq!(
                    avx2, avx512,
                    "∂x: {dims:?} {kernel:?} with {filters} filters"
                );
            }
        }
    }

    #[test]
    fn nonzero_pixels_are_the_pixels_not_all_signed_zero() {
        // Every channel count to past one block, lengths with partial blocks and tails; the
        // values: ±0 (zero), the smallest subnormal, NaN and ordinary numbers (not zero).
        let specials = [0.0, -0.0, f32::from_bits(1), f32::NAN, 1.5, -2.0];
        for channels in 1..=70 {
            for pixels in [0, 1, 7, 64, 131] {
                let g: Vec<f32> = (0..channels * pixels)
                    .map(|i| {
                        let k = i * 7919 % 97;
                        if k < 80 {
                            [0.0, -0.0][k % 2]
                        } else {
                            specials[k % specials.len()]
                        }
                    })
                    .collect();
                let expected: Vec<usize> = g
                    .chunks_exact(channels)
                    .enumerate()
                    .filter(|(_, pixel)| pixel.iter().any(|v| v.to_bits() << 1 != 0))
                    .map(|(p, _)| p)
                    .collect();
                let mut got = vec![];
                nonzero_pixels(&g, channels, &mut got);
                assert_eq!(got, expected, "{channels} channels, {pixels} pixels");
            }
        }
    }
}
