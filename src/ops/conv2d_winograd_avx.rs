//! The Winograd convolution's f32 tile transforms written with AVX intrinsics: the input's
//! Bᵀ d B and the output's Aᵀ M A of `conv2d_winograd.rs`, same additions in the same order,
//! so the results are bit-identical to the generic code.
//!
//! The generic transforms leave the vectorizing to LLVM, which for the 16 positions of a tile
//! kept the blocks on the stack and copied them through `memcpy` (perf annotate on the MNIST
//! CNN's predict: the transforms took more than the GEMMs they save). Here a tile's 16
//! positions of 8 channels are 16 registers, loaded once and stored once.

#[cfg(target_arch = "x86_64")]
use super::conv2d_winograd::plane;
#[cfg(target_arch = "x86_64")]
use super::window::Window;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Whether the processor runs these transforms on `channels` channels: AVX, and whole
/// registers of channels.
pub(super) fn available(channels: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        channels.is_multiple_of(8) && std::is_x86_feature_detected!("avx")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = channels;
        false
    }
}

/// V = Bᵀ d B for every tile of `images`, as `input_tiles` in `conv2d_winograd.rs`. The
/// caller checks [`available`] for the window's channels first.
#[cfg(target_arch = "x86_64")]
pub(super) fn input_tiles(w: &Window, images: &[f32], v: &mut [f32]) {
    let (c, in_len) = (w.channels, w.in_len());
    let (tiles_down, tiles_across) = (w.out_h.div_ceil(2), w.out_w.div_ceil(2));
    let tiles = images.len() / in_len * tiles_down * tiles_across;
    assert!(c.is_multiple_of(8) && v.len() >= 16 * plane(tiles, c));
    let zeros = vec![0.0f32; c];
    let mut tile = 0;
    for image in images.chunks_exact(in_len) {
        for ty in 0..tiles_down {
            for tx in 0..tiles_across {
                // The 16 pixels of the tile, row-major, each C channels long (or zeros).
                let mut pixels = [zeros.as_slice(); 16];
                for (p, pixel) in pixels.iter_mut().enumerate() {
                    let y = (2 * ty + p / 4).wrapping_sub(w.pad_top);
                    let x = (2 * tx + p % 4).wrapping_sub(w.pad_left);
                    if y < w.in_h && x < w.in_w {
                        *pixel = &image[(y * w.in_w + x) * c..][..c];
                    }
                }
                // SAFETY: `available()` was checked by the caller; every pixel is C long and
                // the tile's 16 positions, one `plane` apart, lie inside `v`, C a
                // multiple of 8, so each 8-wide access at e < C stays inside.
                unsafe { input_tile(&pixels, &mut v[tile * c..], c, plane(tiles, c)) };
                tile += 1;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn input_tile(pixels: &[&[f32]; 16], out: &mut [f32], c: usize, plane: usize) {
    let out = out.as_mut_ptr();
    for e in (0..c).step_by(8) {
        let d: [__m256; 16] = std::array::from_fn(|p| _mm256_loadu_ps(pixels[p].as_ptr().add(e)));
        // Bᵀ d, column by column: (d0 − d2, d1 + d2, d2 − d1, d1 − d3) down each column.
        let mut t = [_mm256_setzero_ps(); 16];
        for s in 0..4 {
            t[s] = _mm256_sub_ps(d[s], d[8 + s]);
            t[4 + s] = _mm256_add_ps(d[4 + s], d[8 + s]);
            t[8 + s] = _mm256_sub_ps(d[8 + s], d[4 + s]);
            t[12 + s] = _mm256_sub_ps(d[4 + s], d[12 + s]);
        }
        // (Bᵀ d) B, row by row, stored at position r·4 + s of the tile.
        for r in 0..4 {
            let row = &t[r * 4..r * 4 + 4];
            let at = |s: usize| out.add((r * 4 + s) * plane + e);
            _mm256_storeu_ps(at(0), _mm256_sub_ps(row[0], row[2]));
            _mm256_storeu_ps(at(1), _mm256_add_ps(row[1], row[2]));
            _mm256_storeu_ps(at(2), _mm256_sub_ps(row[2], row[1]));
            _mm256_storeu_ps(at(3), _mm256_sub_ps(row[1], row[3]));
        }
    }
}

/// Y = Aᵀ M A for every tile into the images' outputs, as `output_tiles` in
/// `conv2d_winograd.rs`. The caller checks [`available`] for the filters first.
#[cfg(target_arch = "x86_64")]
pub(super) fn output_tiles(w: &Window, m: &[f32], filters: usize, out: &mut [f32], add: bool) {
    let f = filters;
    let (tiles_down, tiles_across) = (w.out_h.div_ceil(2), w.out_w.div_ceil(2));
    let image_len = w.out_pixels() * f;
    let tiles = out.len() / image_len * tiles_down * tiles_across;
    assert!(f.is_multiple_of(8) && m.len() >= 16 * plane(tiles, f));
    let mut tile = 0;
    for image in out.chunks_exact_mut(image_len) {
        for ty in 0..tiles_down {
            for tx in 0..tiles_across {
                // Offsets of the tile's 2×2 output pixels, row-major; none past an odd edge.
                let targets: [Option<usize>; 4] = std::array::from_fn(|q| {
                    let (oy, ox) = (2 * ty + q / 2, 2 * tx + q % 2);
                    (oy < w.out_h && ox < w.out_w).then(|| (oy * w.out_w + ox) * f)
                });
                // SAFETY: `available()` was checked by the caller; the tile's 16 positions,
                // one `plane` apart, lie inside `m`, and each target pixel is F
                // long inside `image`, F a multiple of 8.
                unsafe { output_tile(&m[tile * f..], plane(tiles, f), image, targets, f, add) };
                tile += 1;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn output_tile(
    m: &[f32],
    plane: usize,
    image: &mut [f32],
    targets: [Option<usize>; 4],
    f: usize,
    add: bool,
) {
    let (m, image) = (m.as_ptr(), image.as_mut_ptr());
    for e in (0..f).step_by(8) {
        let p: [__m256; 16] = std::array::from_fn(|q| _mm256_loadu_ps(m.add(q * plane + e)));
        // Aᵀ M, column by column: (m0 + m1 + m2, m1 − m2 − m3) down each column.
        let mut rows = [_mm256_setzero_ps(); 8];
        for s in 0..4 {
            rows[s] = _mm256_add_ps(_mm256_add_ps(p[s], p[4 + s]), p[8 + s]);
            rows[4 + s] = _mm256_sub_ps(_mm256_sub_ps(p[4 + s], p[8 + s]), p[12 + s]);
        }
        // (Aᵀ M) A, each of the two rows.
        let mut y = [_mm256_setzero_ps(); 4];
        for a in 0..2 {
            let row = &rows[a * 4..a * 4 + 4];
            y[a * 2] = _mm256_add_ps(_mm256_add_ps(row[0], row[1]), row[2]);
            y[a * 2 + 1] = _mm256_sub_ps(_mm256_sub_ps(row[1], row[2]), row[3]);
        }
        for (q, target) in targets.iter().enumerate() {
            if let Some(at) = target {
                let at = image.add(at + e);
                let value = if add {
                    _mm256_add_ps(_mm256_loadu_ps(at), y[q])
                } else {
                    y[q]
                };
                _mm256_storeu_ps(at, value);
            }
        }
    }
}

/// ∂L/∂M = A (∂L/∂y) Aᵀ for every tile of `g`, as `output_gradient_tiles` in
/// `conv2d_winograd.rs`. The caller checks [`available`] for the filters first.
#[cfg(target_arch = "x86_64")]
pub(super) fn output_gradient_tiles(w: &Window, g: &[f32], filters: usize, dm: &mut [f32]) {
    let f = filters;
    let (tiles_down, tiles_across) = (w.out_h.div_ceil(2), w.out_w.div_ceil(2));
    let image_len = w.out_pixels() * f;
    let tiles = g.len() / image_len * tiles_down * tiles_across;
    assert!(f.is_multiple_of(8) && dm.len() >= 16 * plane(tiles, f));
    let zeros = vec![0.0f32; f];
    let mut tile = 0;
    for image in g.chunks_exact(image_len) {
        for ty in 0..tiles_down {
            for tx in 0..tiles_across {
                // The tile's 2×2 output gradients, row-major; zeros past an odd edge.
                let dy: [&[f32]; 4] = std::array::from_fn(|q| {
                    let (oy, ox) = (2 * ty + q / 2, 2 * tx + q % 2);
                    if oy < w.out_h && ox < w.out_w {
                        &image[(oy * w.out_w + ox) * f..][..f]
                    } else {
                        &zeros[..]
                    }
                });
                // SAFETY: `available()` was checked by the caller; every gradient pixel is F
                // long and the tile's 16 positions, one `plane` apart, lie inside
                // `dm`, F a multiple of 8.
                unsafe { output_gradient_tile(&dy, &mut dm[tile * f..], f, plane(tiles, f)) };
                tile += 1;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn output_gradient_tile(dy: &[&[f32]; 4], out: &mut [f32], f: usize, plane: usize) {
    let out = out.as_mut_ptr();
    let sign = _mm256_set1_ps(-0.0);
    // A applied to two vectors: (a, a + b, a − b, −b).
    let a = |a: __m256, b: __m256| {
        [
            a,
            _mm256_add_ps(a, b),
            _mm256_sub_ps(a, b),
            _mm256_xor_ps(b, sign),
        ]
    };
    for e in (0..f).step_by(8) {
        let d: [__m256; 4] = std::array::from_fn(|q| _mm256_loadu_ps(dy[q].as_ptr().add(e)));
        // Down each of the two columns, then along each of the four rows.
        let (left, right) = (a(d[0], d[2]), a(d[1], d[3]));
        for r in 0..4 {
            for (s, value) in a(left[r], right[r]).into_iter().enumerate() {
                _mm256_storeu_ps(out.add((r * 4 + s) * plane + e), value);
            }
        }
    }
}
