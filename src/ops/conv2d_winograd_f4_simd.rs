//! F(4×4, 3×3)'s f32 tile transforms (`conv2d_winograd_f4.rs`) on intrinsics: the same
//! additions and multiplications in the same order as the generic code, so bit-identical,
//! on AVX-512's 16 channels at a time where the channels fill its registers, else AVX's 8.
//!
//! A 6×6 tile of one register of channels is 36 registers, more than AVX has (16), so the
//! compiler keeps half the tile on the stack: on 8 channels the MNIST CNN's input transform
//! took 15% of an epoch's perf samples, and spills and pointer loads were half its
//! instructions. AVX-512's 32 registers hold most of a tile, and each pass over a tile's
//! pixels covers twice the channels: the per-tile function took 1385 samples against 2970
//! (`perf record` of one epoch each, `nabla train --data fashion-mnist --model cnn
//! --epochs 1 --threads 2`).

#[cfg(target_arch = "x86_64")]
use super::conv2d_winograd::plane;
#[cfg(target_arch = "x86_64")]
use super::conv2d_winograd_f4::{tile_gradients, tile_grid, tile_pixels, tile_targets, POSITIONS};
#[cfg(target_arch = "x86_64")]
use super::window::Window;

/// The registers a transform runs on.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
enum Width {
    Avx,
    Avx512,
}

/// The widest registers that run the transforms on `channels` channels here: whole
/// registers of channels, and the processor's instructions.
#[cfg(target_arch = "x86_64")]
fn width(channels: usize) -> Option<Width> {
    if channels.is_multiple_of(16) && std::is_x86_feature_detected!("avx512f") {
        Some(Width::Avx512)
    } else if channels.is_multiple_of(8) && std::is_x86_feature_detected!("avx") {
        Some(Width::Avx)
    } else {
        None
    }
}

/// Whether [`input_tiles`], [`output_tiles`] and [`output_gradient_tiles`] run on
/// `channels` channels (or filters).
pub(super) fn available(channels: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        width(channels).is_some()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = channels;
        false
    }
}

/// V = Bᵀ d B for every 6×6 tile of `images`, as `input_tiles` in `conv2d_winograd_f4.rs`.
/// The caller checks [`available`] for the window's channels first.
#[cfg(target_arch = "x86_64")]
pub(super) fn input_tiles(w: &Window, images: &[f32], v: &mut [f32]) {
    let c = w.channels;
    let width = width(c).expect("checked by the caller");
    let (tiles_down, tiles_across) = tile_grid(w);
    let tiles = images.len() / w.in_len() * tiles_down * tiles_across;
    assert!(v.len() >= POSITIONS * plane(tiles, c));
    let zeros = vec![0.0f32; c];
    let mut tile = 0;
    for image in images.chunks_exact(w.in_len()) {
        for ty in 0..tiles_down {
            for tx in 0..tiles_across {
                let pixels = tile_pixels(w, image, &zeros, ty, tx);
                let out = &mut v[tile * c..];
                // SAFETY: `width` has the processor's instructions; every pixel is C long and
                // the tile's 36 positions, one `plane` apart, lie inside `v`, C a multiple of
                // the width's lanes, so each access at e < C stays inside.
                unsafe {
                    match width {
                        Width::Avx => avx::input_tile(&pixels, out, c, plane(tiles, c)),
                        Width::Avx512 => avx512::input_tile(&pixels, out, c, plane(tiles, c)),
                    }
                }
                tile += 1;
            }
        }
    }
}

/// Y = Aᵀ M A for every 6×6 tile into the images' outputs, as `output_tiles` in
/// `conv2d_winograd_f4.rs`. The caller checks [`available`] for the filters first.
#[cfg(target_arch = "x86_64")]
pub(super) fn output_tiles(w: &Window, m: &[f32], filters: usize, out: &mut [f32], add: bool) {
    let f = filters;
    let width = width(f).expect("checked by the caller");
    let (tiles_down, tiles_across) = tile_grid(w);
    let image_len = w.out_pixels() * f;
    let tiles = out.len() / image_len * tiles_down * tiles_across;
    assert!(m.len() >= POSITIONS * plane(tiles, f));
    let mut tile = 0;
    for image in out.chunks_exact_mut(image_len) {
        for ty in 0..tiles_down {
            for tx in 0..tiles_across {
                let targets = tile_targets(w, f, ty, tx);
                let (m, plane) = (&m[tile * f..], plane(tiles, f));
                // SAFETY: `width` has the processor's instructions; the tile's 36 positions,
                // one `plane` apart, lie inside `m`, and each target pixel is F long inside
                // `image`, F a multiple of the width's lanes.
                unsafe {
                    match width {
                        Width::Avx => avx::output_tile(m, plane, image, &targets, f, add),
                        Width::Avx512 => avx512::output_tile(m, plane, image, &targets, f, add),
                    }
                }
                tile += 1;
            }
        }
    }
}

/// ∂L/∂M = A (∂L/∂y) Aᵀ for every 6×6 tile of `g`, as `output_gradient_tiles` in
/// `conv2d_winograd_f4.rs`. The caller checks [`available`] for the filters first.
#[cfg(target_arch = "x86_64")]
pub(super) fn output_gradient_tiles(w: &Window, g: &[f32], filters: usize, dm: &mut [f32]) {
    let f = filters;
    let width = width(f).expect("checked by the caller");
    let (tiles_down, tiles_across) = tile_grid(w);
    let image_len = w.out_pixels() * f;
    let tiles = g.len() / image_len * tiles_down * tiles_across;
    assert!(dm.len() >= POSITIONS * plane(tiles, f));
    let zeros = vec![0.0f32; f];
    let mut tile = 0;
    for image in g.chunks_exact(image_len) {
        for ty in 0..tiles_down {
            for tx in 0..tiles_across {
                let dy = tile_gradients(w, f, image, &zeros, ty, tx);
                let (out, plane) = (&mut dm[tile * f..], plane(tiles, f));
                // SAFETY: `width` has the processor's instructions; every gradient pixel is
                // F long and the tile's 36 positions, one `plane` apart, lie inside `dm`, F a
                // multiple of the width's lanes.
                unsafe {
                    match width {
                        Width::Avx => avx::output_gradient_tile(&dy, out, f, plane),
                        Width::Avx512 => avx512::output_gradient_tile(&dy, out, f, plane),
                    }
                }
                tile += 1;
            }
        }
    }
}

/// The three tile transforms on one width of register, in the generic code's order of
/// operations: Bᵀ (`b_t`), Aᵀ (`a_t`) and A (`a`) on six, six and four registers.
macro_rules! transforms {
    ($name:ident, $features:literal, $register:ty, $lanes:literal,
     $add:ident, $sub:ident, $mul:ident, $splat:ident, $load:ident, $store:ident) => {
        #[cfg(target_arch = "x86_64")]
        mod $name {
            use std::arch::x86_64::*;

            const LANES: usize = $lanes;

            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn b_t(d: [$register; 6]) -> [$register; 6] {
                let (two, four, five) = ($splat(2.0), $splat(4.0), $splat(5.0));
                let [d0, d1, d2, d3, d4, d5] = d;
                let (d42, d31) = ($sub(d4, d2), $sub(d3, d1));
                [
                    $add($sub($mul(d0, four), $mul(d2, five)), d4),
                    $sub($add(d3, d4), $mul($add(d1, d2), four)),
                    $add($sub(d4, d3), $mul($sub(d1, d2), four)),
                    $add(d42, $mul(d31, two)),
                    $sub(d42, $mul(d31, two)),
                    $add($sub($mul(d1, four), $mul(d3, five)), d5),
                ]
            }

            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn a_t(m: [$register; 6]) -> [$register; 4] {
                let (two, four, eight) = ($splat(2.0), $splat(4.0), $splat(8.0));
                let [m0, m1, m2, m3, m4, m5] = m;
                let (sum12, diff12) = ($add(m1, m2), $sub(m1, m2));
                let (sum34, diff34) = ($add(m3, m4), $sub(m3, m4));
                [
                    $add($add(m0, sum12), sum34),
                    $add(diff12, $mul(diff34, two)),
                    $add(sum12, $mul(sum34, four)),
                    $add($add(diff12, $mul(diff34, eight)), m5),
                ]
            }

            #[target_feature(enable = $features)]
            #[inline]
            unsafe fn a(g: [$register; 4]) -> [$register; 6] {
                let (two, four) = ($splat(2.0), $splat(4.0));
                let [g0, g1, g2, g3] = g;
                let (even, odd) = ($add(g0, g2), $add(g1, g3));
                let even4 = $add(g0, $mul(g2, four));
                let odd4 = $mul($add(g1, $mul(g3, four)), two);
                [
                    g0,
                    $add(even, odd),
                    $sub(even, odd),
                    $add(even4, odd4),
                    $sub(even4, odd4),
                    g3,
                ]
            }

            /// Bᵀ d B for one tile's 36 pixels, its positions written one `plane` apart.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn input_tile(
                pixels: &[&[f32]; 36],
                out: &mut [f32],
                c: usize,
                plane: usize,
            ) {
                let out = out.as_mut_ptr();
                let pixels: [*const f32; 36] = std::array::from_fn(|p| pixels[p].as_ptr());
                for e in (0..c).step_by(LANES) {
                    // Bᵀ d down each of the 6 columns, then (Bᵀ d) B along each of the 6
                    // rows, the columns built whole rather than written into a zeroed array.
                    let columns: [[$register; 6]; 6] = std::array::from_fn(|s| {
                        b_t(std::array::from_fn(|r| $load(pixels[r * 6 + s].add(e))))
                    });
                    for r in 0..6 {
                        let row = std::array::from_fn(|s| columns[s][r]);
                        for (s, value) in b_t(row).into_iter().enumerate() {
                            $store(out.add((r * 6 + s) * plane + e), value);
                        }
                    }
                }
            }

            /// Aᵀ M A for one tile's 36 products, into its 4×4 `targets` of `image` (added
            /// when `add`).
            #[target_feature(enable = $features)]
            pub(super) unsafe fn output_tile(
                m: &[f32],
                plane: usize,
                image: &mut [f32],
                targets: &[Option<usize>; 16],
                f: usize,
                add: bool,
            ) {
                let (m, image) = (m.as_ptr(), image.as_mut_ptr());
                for e in (0..f).step_by(LANES) {
                    // Aᵀ M down each of the 6 columns, then (Aᵀ M) A along each of 4 rows.
                    let columns: [[$register; 4]; 6] = std::array::from_fn(|s| {
                        a_t(std::array::from_fn(|r| {
                            $load(m.add((r * 6 + s) * plane + e))
                        }))
                    });
                    for r in 0..4 {
                        let row = std::array::from_fn(|s| columns[s][r]);
                        for (s, y) in a_t(row).into_iter().enumerate() {
                            if let Some(at) = targets[r * 4 + s] {
                                let at = image.add(at + e);
                                let value = if add { $add($load(at), y) } else { y };
                                $store(at, value);
                            }
                        }
                    }
                }
            }

            /// A (∂L/∂y) Aᵀ for one tile's 4×4 output gradients, its 36 positions written
            /// one `plane` apart.
            #[target_feature(enable = $features)]
            pub(super) unsafe fn output_gradient_tile(
                dy: &[&[f32]; 16],
                out: &mut [f32],
                f: usize,
                plane: usize,
            ) {
                let out = out.as_mut_ptr();
                let dy: [*const f32; 16] = std::array::from_fn(|q| dy[q].as_ptr());
                for e in (0..f).step_by(LANES) {
                    // A down each of the 4 columns, then along each of the 6 rows.
                    let columns: [[$register; 6]; 4] = std::array::from_fn(|s| {
                        a(std::array::from_fn(|r| $load(dy[r * 4 + s].add(e))))
                    });
                    for r in 0..6 {
                        let row = std::array::from_fn(|s| columns[s][r]);
                        for (s, value) in a(row).into_iter().enumerate() {
                            $store(out.add((r * 6 + s) * plane + e), value);
                        }
                    }
                }
            }
        }
    };
}

transforms!(
    avx,
    "avx",
    __m256,
    8,
    _mm256_add_ps,
    _mm256_sub_ps,
    _mm256_mul_ps,
    _mm256_set1_ps,
    _mm256_loadu_ps,
    _mm256_storeu_ps
);
transforms!(
    avx512,
    "avx512f",
    __m512,
    16,
    _mm512_add_ps,
    _mm512_sub_ps,
    _mm512_mul_ps,
    _mm512_set1_ps,
    _mm512_loadu_ps,
    _mm512_storeu_ps
);
