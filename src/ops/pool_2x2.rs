//! 2×2 max pooling at stride 2 on AVX-512 for f32, forward and backward side by side: the
//! pool of every CNN in the labs.
//!
//! The general kernel (`pool.rs`) walks each window pixel by pixel for blocks of 8 channels;
//! LeNet-5's 6 channels fill 6 of the lanes, and perf on its epoch put 7.5% of the samples in
//! that forward and 4.7% in its backward. Here a 2×2 window is two loads of a row pair:
//! with at most 8 channels one register holds a row's two pixels (`c` lanes each), with a
//! multiple of 16 two registers per block of 16 channels.
//!
//! The maximum is the general kernel's, bit for bit, argmax included: a scan from −∞ that
//! takes a pixel only when it is greater, so the first of equal maxima wins and NaN never
//! does. Here each column's two pixels meet first (the top one wins ties), then the two
//! winners, the right one on a tie only when it comes first in the scan: the top right
//! pixel against the bottom left one. NaN and −∞ count as −∞ throughout, so a window with
//! nothing greater keeps its first pixel, as the scan does.
//!
//! Measured on 2 threads of an AVX-512 processor, median of interleaved pairs of runs
//! (fastest of 2 epochs each) against the general kernel: LeNet-5 on random CIFAR-10 bytes
//! (batch 32) 0.88× the epoch time over 5 pairs, the pools' share of perf samples down from
//! 12% to 3.5%; the MNIST CNN (32 and 64 channels, batch 128) 0.96× over 4 pairs. Per op
//! (`cargo bench --bench cnn_ops`, CPU ms forward + backward, two runs against two with the
//! general kernel): LeNet-5's first pool 0.30, 0.26 against 0.58, 0.43; its second 0.18, 0.18
//! against 0.25, 0.21; the MNIST CNN's first 4.37, 3.75 against 4.50, 4.79 (both sides then
//! with the NaN fills of the bench's old build, `benches/cnn_ops.rs`; without them the MNIST
//! CNN's first pool takes 3.49-3.54).

use super::window::Window;

/// Whether this kernel pools `w`: 2×2 windows at stride 2 that all lie whole inside the
/// image (no padding reaches in), at most 8 channels or a multiple of 16, on a processor
/// with AVX-512F.
pub(super) fn applies(w: &Window) -> bool {
    let shape = w.k_h == 2
        && w.k_w == 2
        && w.stride_h == 2
        && w.stride_w == 2
        && w.pad_top == 0
        && w.pad_left == 0
        && 2 * w.out_h <= w.in_h
        && 2 * w.out_w <= w.in_w;
    let channels = (1..=8).contains(&w.channels) || w.channels.is_multiple_of(16);
    shape && channels && avx512_available()
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

/// One image's pooled values into `out` (and, with `ARG`, each one's pixel index in the
/// image into `argmax`). The caller checks [`applies`] first.
pub(super) fn max_image<const ARG: bool>(
    w: &Window,
    image: &[f32],
    out: &mut [f32],
    argmax: &mut [f32],
) {
    let out_len = w.out_pixels() * w.channels;
    assert!(applies(w) && image.len() >= w.in_len() && out.len() >= out_len);
    assert!(!ARG || argmax.len() >= out_len);
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the processor has AVX-512F (`applies`), and every window lies inside the
    // image and every output inside `out` and `argmax`, checked just above.
    unsafe {
        avx512::max_image::<ARG>(w, image, out, argmax)
    }
}

/// ∂L/∂x of one image: each pixel of a window takes the window's gradient `g` where it is
/// the argmax and zero elsewhere, or keeps its value plus that when `accumulate`. Pixels in
/// no window are left alone. The caller checks [`applies`] first.
pub(super) fn route(w: &Window, g: &[f32], argmax: &[f32], dimage: &mut [f32], accumulate: bool) {
    let out_len = w.out_pixels() * w.channels;
    assert!(applies(w) && g.len() >= out_len && argmax.len() >= out_len);
    assert!(dimage.len() >= w.in_len());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: as in `max_image`.
    unsafe {
        avx512::route(w, g, argmax, dimage, accumulate)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::Window;
    use std::arch::x86_64::*;

    /// The first `n` of 16 lanes.
    fn first_lanes(n: usize) -> __mmask16 {
        ((1u32 << n) - 1) as __mmask16
    }

    /// A lane permutation: lane `l` takes lane `of(l)` (lanes past 15 take lane 15, for
    /// lanes the caller masks off).
    #[target_feature(enable = "avx512f")]
    unsafe fn indices(of: impl Fn(usize) -> usize) -> __m512i {
        let lanes: [i32; 16] = std::array::from_fn(|l| of(l).min(15) as i32);
        _mm512_loadu_si512(lanes.as_ptr().cast())
    }

    /// NaN and −∞ as −∞: only values greater than −∞ can win, as in the scan.
    #[inline(always)]
    unsafe fn cleaned(v: __m512) -> __m512 {
        let low = _mm512_set1_ps(f32::NEG_INFINITY);
        _mm512_mask_mov_ps(low, _mm512_cmp_ps_mask::<_CMP_GT_OQ>(v, low), v)
    }

    /// The winner of a window from its two columns' pairs: (value, the lanes where the right
    /// column won, the lanes where the winner is in the bottom row).
    #[inline(always)]
    unsafe fn winner(
        [top_left, bottom_left]: [__m512; 2],
        [top_right, bottom_right]: [__m512; 2],
    ) -> (__m512, __mmask16, __mmask16) {
        let down_left = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(bottom_left, top_left);
        let down_right = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(bottom_right, top_right);
        let left = _mm512_mask_blend_ps(down_left, top_left, bottom_left);
        let right = _mm512_mask_blend_ps(down_right, top_right, bottom_right);
        // On a tie the right winner comes first in the scan only as the top right pixel
        // against the bottom left one.
        let tie = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(right, left) & down_left & !down_right;
        let go_right = _mm512_cmp_ps_mask::<_CMP_GT_OQ>(right, left) | tie;
        let value = _mm512_mask_blend_ps(go_right, left, right);
        let down = (go_right & down_right) | (!go_right & down_left);
        (value, go_right, down)
    }

    /// The winner's pixel index: the window's first pixel, one column right, one row down.
    #[inline(always)]
    unsafe fn index(first: usize, in_w: f32, go_right: __mmask16, down: __mmask16) -> __m512 {
        let at = _mm512_set1_ps(first as f32);
        let at = _mm512_mask_add_ps(at, go_right, at, _mm512_set1_ps(1.0));
        _mm512_mask_add_ps(at, down, at, _mm512_set1_ps(in_w))
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn max_image<const ARG: bool>(
        w: &Window,
        image: &[f32],
        out: &mut [f32],
        argmax: &mut [f32],
    ) {
        let (c, in_w) = (w.channels, w.in_w);
        let (x, o, a) = (image.as_ptr(), out.as_mut_ptr(), argmax.as_mut_ptr());
        let in_w_f = in_w as f32;
        if c <= 8 {
            let (pair, one) = (first_lanes(2 * c), first_lanes(c));
            let right_down = indices(|l| l + c);
            for oy in 0..w.out_h {
                for ox in 0..w.out_w {
                    let first = 2 * oy * in_w + 2 * ox;
                    let top = cleaned(_mm512_maskz_loadu_ps(pair, x.add(first * c)));
                    let bottom = cleaned(_mm512_maskz_loadu_ps(pair, x.add((first + in_w) * c)));
                    let left = [top, bottom];
                    let right = [
                        _mm512_permutexvar_ps(right_down, top),
                        _mm512_permutexvar_ps(right_down, bottom),
                    ];
                    let (value, go_right, down) = winner(left, right);
                    let at = (oy * w.out_w + ox) * c;
                    _mm512_mask_storeu_ps(o.add(at), one, value);
                    if ARG {
                        let arg = index(first, in_w_f, go_right, down);
                        _mm512_mask_storeu_ps(a.add(at), one, arg);
                    }
                }
            }
            return;
        }
        for oy in 0..w.out_h {
            for ox in 0..w.out_w {
                let first = 2 * oy * in_w + 2 * ox;
                let at = (oy * w.out_w + ox) * c;
                for ch in (0..c).step_by(16) {
                    let load = |pixel: usize| cleaned(_mm512_loadu_ps(x.add(pixel * c + ch)));
                    let left = [load(first), load(first + in_w)];
                    let right = [load(first + 1), load(first + in_w + 1)];
                    let (value, go_right, down) = winner(left, right);
                    _mm512_storeu_ps(o.add(at + ch), value);
                    if ARG {
                        _mm512_storeu_ps(a.add(at + ch), index(first, in_w_f, go_right, down));
                    }
                }
            }
        }
    }

    /// `d` where `hit`, `g` there added to `d` or put in its place.
    #[inline(always)]
    unsafe fn routed(d: *mut f32, lanes: __mmask16, hit: __mmask16, g: __m512, accumulate: bool) {
        let value = if accumulate {
            let old = _mm512_maskz_loadu_ps(lanes, d);
            _mm512_mask_add_ps(old, hit, old, g)
        } else {
            _mm512_maskz_mov_ps(hit, g)
        };
        _mm512_mask_storeu_ps(d, lanes, value);
    }

    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn route(
        w: &Window,
        g: &[f32],
        argmax: &[f32],
        dimage: &mut [f32],
        accumulate: bool,
    ) {
        let (c, in_w) = (w.channels, w.in_w);
        let (gp, ap, d) = (g.as_ptr(), argmax.as_ptr(), dimage.as_mut_ptr());
        if c <= 8 {
            let (pair, one) = (first_lanes(2 * c), first_lanes(c));
            let twice = indices(|l| l % c);
            // 0 for the left pixel's lanes, 1 for the right one's.
            let column = _mm512_mask_mov_ps(_mm512_setzero_ps(), pair & !one, _mm512_set1_ps(1.0));
            for oy in 0..w.out_h {
                for ox in 0..w.out_w {
                    let at = (oy * w.out_w + ox) * c;
                    let grad = _mm512_permutexvar_ps(twice, _mm512_maskz_loadu_ps(one, gp.add(at)));
                    let arg = _mm512_permutexvar_ps(twice, _mm512_maskz_loadu_ps(one, ap.add(at)));
                    let first = 2 * oy * in_w + 2 * ox;
                    for row in [first, first + in_w] {
                        let pixel = _mm512_add_ps(_mm512_set1_ps(row as f32), column);
                        let hit = _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(arg, pixel) & pair;
                        routed(d.add(row * c), pair, hit, grad, accumulate);
                    }
                }
            }
            return;
        }
        for oy in 0..w.out_h {
            for ox in 0..w.out_w {
                let at = (oy * w.out_w + ox) * c;
                let first = 2 * oy * in_w + 2 * ox;
                for ch in (0..c).step_by(16) {
                    let grad = _mm512_loadu_ps(gp.add(at + ch));
                    let arg = _mm512_loadu_ps(ap.add(at + ch));
                    for pixel in [first, first + 1, first + in_w, first + in_w + 1] {
                        let hit =
                            _mm512_cmp_ps_mask::<_CMP_EQ_OQ>(arg, _mm512_set1_ps(pixel as f32));
                        routed(d.add(pixel * c + ch), 0xffff, hit, grad, accumulate);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::pool::{max_image_any, route_tiles_any};
    use super::super::window::Padding;
    use super::*;

    /// Values from a small set, so that windows tie often, with NaN, −∞ and −0 among them.
    fn values(len: usize, seed: usize) -> Vec<f32> {
        const SET: [f32; 8] = [0.5, -1.0, 2.0, f32::NAN, 2.0, f32::NEG_INFINITY, -0.0, 0.0];
        (0..len)
            .map(|i| {
                let k = (i * 7 + seed * 13 + i / 5) % 11;
                if k < SET.len() {
                    SET[k]
                } else {
                    (i as f32 * 0.37 + seed as f32).sin()
                }
            })
            .collect()
    }

    fn bits(xs: &[f32]) -> Vec<u32> {
        xs.iter().map(|x| x.to_bits()).collect()
    }

    /// Every channel count the kernel takes that the labs use (LeNet-5's 6 and 16, the MNIST
    /// CNN's 32 and 64) and odd ones, on even and odd image sizes, `valid` and `same`.
    fn windows() -> Vec<Window> {
        let mut all = Vec::new();
        for channels in [1, 3, 6, 8, 16, 32, 64] {
            for (h, w) in [(2, 2), (28, 28), (10, 10), (7, 9), (26, 26), (11, 11)] {
                for padding in [Padding::Valid, Padding::Same] {
                    let dims = [1, h, w, channels];
                    let window = Window::new("test", &dims, [2, 2], [2, 2], padding).unwrap();
                    if applies(&window) {
                        all.push(window);
                    }
                }
            }
        }
        all
    }

    #[test]
    fn the_rule_takes_whole_2x2_windows_at_stride_2_only() {
        if !avx512_available() {
            return;
        }
        let window = |dims: [usize; 4], size, stride, padding| {
            Window::new("test", &dims, size, stride, padding).unwrap()
        };
        assert!(applies(&window(
            [1, 28, 28, 6],
            [2, 2],
            [2, 2],
            Padding::Valid
        )));
        assert!(applies(&window(
            [1, 11, 11, 64],
            [2, 2],
            [2, 2],
            Padding::Valid
        )));
        // `same` on an odd size clips the last window: the general kernel takes it.
        assert!(!applies(&window(
            [1, 11, 11, 64],
            [2, 2],
            [2, 2],
            Padding::Same
        )));
        assert!(!applies(&window(
            [1, 28, 28, 12],
            [2, 2],
            [2, 2],
            Padding::Valid
        )));
        assert!(!applies(&window(
            [1, 28, 28, 6],
            [3, 3],
            [2, 2],
            Padding::Valid
        )));
        assert!(!applies(&window(
            [1, 28, 28, 6],
            [2, 2],
            [1, 1],
            Padding::Valid
        )));
        // Of the 6 sizes, `same` pads 7x9 and 11x11: 10 windows for each channel count.
        assert_eq!(windows().len(), 7 * 10);
    }

    #[test]
    fn max_and_argmax_equal_the_general_kernels_bit_for_bit() {
        for (seed, w) in windows().iter().enumerate() {
            let image = values(w.in_len(), seed);
            let len = w.out_pixels() * w.channels;
            let (mut out, mut argmax) = (vec![7.0; len], vec![7.0; len]);
            let (mut want, mut want_argmax) = (vec![9.0; len], vec![9.0; len]);
            max_image::<true>(w, &image, &mut out, &mut argmax);
            max_image_any::<f32, true>(w, &image, &mut want, &mut want_argmax);
            assert_eq!(bits(&out), bits(&want), "{w:?}");
            assert_eq!(bits(&argmax), bits(&want_argmax), "{w:?}");
            let mut values_only = vec![5.0; len];
            max_image::<false>(w, &image, &mut values_only, &mut []);
            assert_eq!(bits(&values_only), bits(&want), "{w:?}");
        }
    }

    #[test]
    fn ties_go_to_the_first_pixel_of_the_scan_and_nan_never_wins() {
        if !avx512_available() {
            return;
        }
        let w = Window::new("test", &[1, 2, 2, 1], [2, 2], [2, 2], Padding::Valid).unwrap();
        let nan = f32::NAN;
        for (image, value, pixel) in [
            ([1.0, 5.0, 5.0, 0.0], 5.0, 1.0),
            ([1.0, 0.0, 5.0, 5.0], 5.0, 2.0),
            ([nan, nan, nan, nan], f32::NEG_INFINITY, 0.0),
            ([nan, -3.0, nan, 4.0], 4.0, 3.0),
            ([-0.0, 0.0, 0.0, 0.0], -0.0, 0.0),
        ] {
            let (mut out, mut argmax) = ([0.0], [0.0]);
            max_image::<true>(&w, &image, &mut out, &mut argmax);
            assert_eq!(
                (out[0].to_bits(), argmax[0]),
                (value.to_bits(), pixel),
                "{image:?}"
            );
        }
    }

    #[test]
    fn gradients_route_as_the_general_kernels_do() {
        for (seed, w) in windows().iter().enumerate() {
            let image = values(w.in_len(), seed);
            let len = w.out_pixels() * w.channels;
            let (mut pooled, mut argmax) = (vec![0.0; len], vec![0.0; len]);
            max_image_any::<f32, true>(w, &image, &mut pooled, &mut argmax);
            let g: Vec<f32> = (0..len).map(|i| 1.0 + i as f32 * 0.25).collect();
            for accumulate in [false, true] {
                // Uncovered pixels (odd sizes) keep what they had: both kernels leave them.
                let before = values(w.in_len(), seed + 1);
                let (mut got, mut want) = (before.clone(), before);
                route(w, &g, &argmax, &mut got, accumulate);
                route_tiles_any(w, &g, &argmax, &mut want, accumulate);
                assert_eq!(bits(&got), bits(&want), "{w:?} accumulate {accumulate}");
            }
        }
    }
}
