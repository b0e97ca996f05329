//! Winograd's F(4×4, 3×3) (Lavin & Gray 2016, the matrices of their section 4.2): each 4×4
//! block of outputs from a 6×6 tile of input, 36 multiplications per (channel, filter) pair
//! where F(2×2, 3×3) takes 64 for the same outputs and im2col 144. On the MNIST CNN's 11×11
//! second layer it makes 3×3 tiles (324 products per pair) where F(2×2) makes 6×6 (576).
//! Same steps as `conv2d_winograd.rs`, on 36 tile positions:
//!
//!   U = G g Gᵀ,   V = Bᵀ d B,   M[p] = V[p] · U[p],   Y = Aᵀ M A
//!
//!   Bᵀ = [4  0 −5  0 1 0]    G = [ 1/4     0     0 ]    Aᵀ = [1 1  1 1  1 0]
//!        [0 −4 −4  1 1 0]        [−1/6  −1/6  −1/6 ]         [0 1 −1 2 −2 0]
//!        [0  4 −4 −1 1 0]        [−1/6   1/6  −1/6 ]         [0 1  1 4  4 0]
//!        [0 −2 −1  2 1 0]        [1/24  1/12   1/6 ]         [0 1 −1 8 −8 1]
//!        [0  2 −1 −2 1 0]        [1/24 −1/12   1/6 ]
//!        [0  4  0 −5 0 1]        [ 0     0     1   ]
//!
//! ∂L/∂x runs on the same code, and ∂L/∂W on the adjoint, as with F(2×2):
//! ∂L/∂U[p] = Σ_tiles V[p]ᵀ · (A (∂L/∂y) Aᵀ)[p], then ∂L/∂W = Gᵀ (∂L/∂U) G.
//!
//! The larger constants cost accuracy. In f32, against im2col's f32 result, the largest
//! error over the outputs divided by their largest magnitude (`normwise_error`, on the
//! f32 test's shapes and data) is 0.4e-6 to 5.2e-6 for y, ∂L/∂x and ∂L/∂W, where F(2×2) has
//! 0.7e-7 to 0.9e-6; the tests hold both under 1e-5.

use super::conv2d_winograd::{load, plane, LANES};
#[cfg(target_arch = "x86_64")]
use super::conv2d_winograd_f4_simd as simd;
use super::window::Window;
use crate::tensor::simd::wide_simd_fn;
use crate::tensor::{f32s, f32s_mut, Float};

/// Positions of a 6×6 input tile: one product per position.
pub(super) const POSITIONS: usize = 36;

/// Outputs along each side of a tile.
pub(super) const OUTPUTS: usize = 4;

/// G applied to three vectors, its six rows written at the offsets `at` of `out`.
pub(super) fn g_apply<T: Float>(
    a: &[T],
    b: &[T],
    c: &[T],
    out: &mut [T],
    at: [usize; 6],
    len: usize,
) {
    let (a, b, c) = (&a[..len], &b[..len], &c[..len]);
    let (two, four) = (T::of(2.0), T::of(4.0));
    let (six, twenty_four) = (T::of(6.0), T::of(24.0));
    fn fill<T>(out: &mut [T], value: impl Fn(usize) -> T) {
        for (e, o) in out.iter_mut().enumerate() {
            *o = value(e);
        }
    }
    fill(&mut out[at[0]..][..len], |e| a[e] * T::of(0.25));
    fill(&mut out[at[1]..][..len], |e| -((a[e] + b[e] + c[e]) / six));
    fill(&mut out[at[2]..][..len], |e| -((a[e] - b[e] + c[e]) / six));
    fill(&mut out[at[3]..][..len], |e| {
        (a[e] + b[e] * two + c[e] * four) / twenty_four
    });
    fill(&mut out[at[4]..][..len], |e| {
        (a[e] - b[e] * two + c[e] * four) / twenty_four
    });
    fill(&mut out[at[5]..][..len], |e| c[e]);
}

/// Bᵀ applied to six vectors of `LANES` channels, in the order of operations the AVX code
/// repeats (so that both give the same bits).
#[inline(always)]
fn b_t<T: Float>(d: [[T; LANES]; 6]) -> [[T; LANES]; 6] {
    let (two, four, five) = (T::of(2.0), T::of(4.0), T::of(5.0));
    let mut out = [[T::zero(); LANES]; 6];
    for l in 0..LANES {
        let [d0, d1, d2, d3, d4, d5] = d.map(|v| v[l]);
        out[0][l] = (d0 * four - d2 * five) + d4;
        out[1][l] = (d3 + d4) - (d1 + d2) * four;
        out[2][l] = (d4 - d3) + (d1 - d2) * four;
        out[3][l] = (d4 - d2) + (d3 - d1) * two;
        out[4][l] = (d4 - d2) - (d3 - d1) * two;
        out[5][l] = (d1 * four - d3 * five) + d5;
    }
    out
}

/// Aᵀ applied to six vectors of `LANES` filters, in the AVX code's order of operations.
#[inline(always)]
fn a_t<T: Float>(m: [[T; LANES]; 6]) -> [[T; LANES]; OUTPUTS] {
    let (two, four, eight) = (T::of(2.0), T::of(4.0), T::of(8.0));
    let mut out = [[T::zero(); LANES]; OUTPUTS];
    for l in 0..LANES {
        let [m0, m1, m2, m3, m4, m5] = m.map(|v| v[l]);
        let (sum12, diff12) = (m1 + m2, m1 - m2);
        let (sum34, diff34) = (m3 + m4, m3 - m4);
        out[0][l] = (m0 + sum12) + sum34;
        out[1][l] = diff12 + diff34 * two;
        out[2][l] = sum12 + sum34 * four;
        out[3][l] = (diff12 + diff34 * eight) + m5;
    }
    out
}

/// (tiles down, tiles across) of the output, 4×4 outputs each.
pub(super) fn tile_grid(w: &Window) -> (usize, usize) {
    (w.out_h.div_ceil(OUTPUTS), w.out_w.div_ceil(OUTPUTS))
}

/// V = Bᵀ d B for every 6×6 input tile of `images`: 36 planes, one per tile position, of the
/// tiles' C channels, tile after tile; pixels outside the image (the padding) read as zeros.
pub(super) fn input_tiles<T: Float>(w: &Window, images: &[T], v: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(images), Some(v)) = (f32s(images), f32s_mut(v)) {
        if simd::available(w.channels) {
            return simd::input_tiles(w, images, v);
        }
    }
    input_tiles_generic(w, images, v)
}

wide_simd_fn! {
    /// [`input_tiles`] for any element type and channel count.
    pub(super) fn input_tiles_generic<T: Float>(w: &Window, images: &[T], v: &mut [T]) {
        let c = w.channels;
        let (tiles_down, tiles_across) = tile_grid(w);
        let zeros = vec![T::zero(); c];
        let tiles = images.len() / w.in_len() * tiles_down * tiles_across;
        let plane = plane(tiles, c);
        let mut tile = 0;
        for image in images.chunks_exact(w.in_len()) {
            for ty in 0..tiles_down {
                for tx in 0..tiles_across {
                    let pixels = tile_pixels(w, image, &zeros, ty, tx);
                    for e in (0..c).step_by(LANES) {
                        // Bᵀ d down each column, then (Bᵀ d) B along each row.
                        let mut columns = [[[T::zero(); LANES]; 6]; 6];
                        for s in 0..6 {
                            let column = b_t(std::array::from_fn(|r| load(pixels[r * 6 + s], e)));
                            for (r, values) in column.into_iter().enumerate() {
                                columns[r][s] = values;
                            }
                        }
                        for (r, row) in columns.into_iter().enumerate() {
                            for (s, values) in b_t(row).into_iter().enumerate() {
                                let at = (r * 6 + s) * plane + tile * c + e;
                                let n = LANES.min(c - e);
                                v[at..at + n].copy_from_slice(&values[..n]);
                            }
                        }
                    }
                    tile += 1;
                }
            }
        }
    }
}

/// The 36 pixels of tile (`ty`, `tx`) of `image`, row-major, each its C channels, or `zeros`
/// where the tile reaches into the padding.
pub(super) fn tile_pixels<'a, T>(
    w: &Window,
    image: &'a [T],
    zeros: &'a [T],
    ty: usize,
    tx: usize,
) -> [&'a [T]; POSITIONS] {
    let c = w.channels;
    std::array::from_fn(|p| {
        let y = (OUTPUTS * ty + p / 6).wrapping_sub(w.pad_top);
        let x = (OUTPUTS * tx + p % 6).wrapping_sub(w.pad_left);
        if y < w.in_h && x < w.in_w {
            &image[(y * w.in_w + x) * c..][..c]
        } else {
            zeros
        }
    })
}

/// Offsets in an image's output of tile (`ty`, `tx`)'s 4×4 pixels, row-major; none past an
/// edge that the tile overhangs.
pub(super) fn tile_targets(
    w: &Window,
    filters: usize,
    ty: usize,
    tx: usize,
) -> [Option<usize>; 16] {
    std::array::from_fn(|q| {
        let (oy, ox) = (OUTPUTS * ty + q / OUTPUTS, OUTPUTS * tx + q % OUTPUTS);
        (oy < w.out_h && ox < w.out_w).then(|| (oy * w.out_w + ox) * filters)
    })
}

/// Y = Aᵀ M A for every tile, into the images' outputs (added when `accumulate`); the
/// outputs of tiles that overhang an edge are dropped.
pub(super) fn output_tiles<T: Float>(
    w: &Window,
    m: &[T],
    filters: usize,
    out: &mut [T],
    accumulate: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(m), Some(out)) = (f32s(m), f32s_mut(out)) {
        if simd::available(filters) {
            return simd::output_tiles(w, m, filters, out, accumulate);
        }
    }
    output_tiles_generic(w, m, filters, out, accumulate)
}

wide_simd_fn! {
    /// [`output_tiles`] for any element type and filter count.
    pub(super) fn output_tiles_generic<T: Float>(w: &Window, m: &[T], filters: usize, out: &mut [T], accumulate: bool) {
        let f = filters;
        let (tiles_down, tiles_across) = tile_grid(w);
        let tiles = out.len() / (w.out_pixels() * f) * tiles_down * tiles_across;
        let plane = plane(tiles, f);
        let mut tile = 0;
        for image in out.chunks_exact_mut(w.out_pixels() * f) {
            for ty in 0..tiles_down {
                for tx in 0..tiles_across {
                    let targets = tile_targets(w, f, ty, tx);
                    for e in (0..f).step_by(LANES) {
                        // Aᵀ M down each column, then (Aᵀ M) A along each of the 4 rows.
                        let mut rows = [[[T::zero(); LANES]; 6]; OUTPUTS];
                        for s in 0..6 {
                            let column = std::array::from_fn(|r| {
                                load(&m[(r * 6 + s) * plane + tile * f..][..f], e)
                            });
                            for (r, values) in a_t(column).into_iter().enumerate() {
                                rows[r][s] = values;
                            }
                        }
                        for (r, row) in rows.into_iter().enumerate() {
                            for (s, values) in a_t(row).into_iter().enumerate() {
                                let Some(at) = targets[r * OUTPUTS + s] else {
                                    continue;
                                };
                                let n = LANES.min(f - e);
                                let pixel = &mut image[at + e..][..n];
                                if accumulate {
                                    for (o, &v) in pixel.iter_mut().zip(&values) {
                                        *o += v;
                                    }
                                } else {
                                    pixel.copy_from_slice(&values[..n]);
                                }
                            }
                        }
                    }
                    tile += 1;
                }
            }
        }
    }
}

/// ∂L/∂g = Gᵀ (∂L/∂U) G: 36 blocks of `rest` back to the kernel's 9.
pub(super) fn kernel_gradient_from<T: Float>(du: &[T], rest: usize) -> Vec<T> {
    // Gᵀ applied to six values: the three columns of G, each a sum over the six rows.
    let g_t = |d: [T; 6]| {
        let (six, twelve, twenty_four) = (T::of(6.0), T::of(12.0), T::of(24.0));
        let (sum12, diff12) = (d[1] + d[2], d[1] - d[2]);
        let (sum34, diff34) = (d[3] + d[4], d[3] - d[4]);
        [
            d[0] * T::of(0.25) - sum12 / six + sum34 / twenty_four,
            diff34 / twelve - diff12 / six,
            (sum34 - sum12) / six + d[5],
        ]
    };
    let mut dw = vec![T::zero(); 9 * rest];
    for e in 0..rest {
        let at = |r: usize, s: usize| du[(r * 6 + s) * rest + e];
        // Along each row first (6 rows of 3), then down each of the 3 columns.
        let rows: [[T; 3]; 6] = std::array::from_fn(|r| g_t(std::array::from_fn(|s| at(r, s))));
        for j in 0..3 {
            let column = g_t(std::array::from_fn(|r| rows[r][j]));
            for (i, value) in column.into_iter().enumerate() {
                dw[(i * 3 + j) * rest + e] = value;
            }
        }
    }
    dw
}

/// A applied to four vectors of `LANES` filters (the adjoint of [`a_t`]), in the AVX code's
/// order of operations.
#[inline(always)]
fn a<T: Float>(g: [[T; LANES]; OUTPUTS]) -> [[T; LANES]; 6] {
    let (two, four) = (T::of(2.0), T::of(4.0));
    let mut out = [[T::zero(); LANES]; 6];
    for l in 0..LANES {
        let [g0, g1, g2, g3] = g.map(|v| v[l]);
        let (even, odd) = (g0 + g2, g1 + g3);
        let (even4, odd4) = (g0 + g2 * four, (g1 + g3 * four) * two);
        out[0][l] = g0;
        out[1][l] = even + odd;
        out[2][l] = even - odd;
        out[3][l] = even4 + odd4;
        out[4][l] = even4 - odd4;
        out[5][l] = g3;
    }
    out
}

/// ∂L/∂M = A (∂L/∂y) Aᵀ for every tile of the outputs' gradient `g`: 36 planes, one per tile
/// position, of the tiles' F filters; outputs past an edge count as zeros.
pub(super) fn output_gradient_tiles<T: Float>(w: &Window, g: &[T], filters: usize, dm: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(g), Some(dm)) = (f32s(g), f32s_mut(dm)) {
        if simd::available(filters) {
            return simd::output_gradient_tiles(w, g, filters, dm);
        }
    }
    output_gradient_tiles_generic(w, g, filters, dm)
}

wide_simd_fn! {
    /// [`output_gradient_tiles`] for any element type and filter count.
    pub(super) fn output_gradient_tiles_generic<T: Float>(w: &Window, g: &[T], filters: usize, dm: &mut [T]) {
        let f = filters;
        let (tiles_down, tiles_across) = tile_grid(w);
        let zeros = vec![T::zero(); f];
        let tiles = g.len() / (w.out_pixels() * f) * tiles_down * tiles_across;
        let plane = plane(tiles, f);
        let mut tile = 0;
        for image in g.chunks_exact(w.out_pixels() * f) {
            for ty in 0..tiles_down {
                for tx in 0..tiles_across {
                    let dy = tile_gradients(w, f, image, &zeros, ty, tx);
                    for e in (0..f).step_by(LANES) {
                        // A down each of the 4 columns, then along each of the 6 rows.
                        let mut rows = [[[T::zero(); LANES]; OUTPUTS]; 6];
                        for s in 0..OUTPUTS {
                            let column = a(std::array::from_fn(|r| load(dy[r * OUTPUTS + s], e)));
                            for (r, values) in column.into_iter().enumerate() {
                                rows[r][s] = values;
                            }
                        }
                        for (r, row) in rows.into_iter().enumerate() {
                            for (s, values) in a(row).into_iter().enumerate() {
                                let at = (r * 6 + s) * plane + tile * f + e;
                                let n = LANES.min(f - e);
                                dm[at..at + n].copy_from_slice(&values[..n]);
                            }
                        }
                    }
                    tile += 1;
                }
            }
        }
    }
}

/// The 4×4 output gradients of tile (`ty`, `tx`) of `image`, row-major, each F long, or
/// `zeros` past an edge.
pub(super) fn tile_gradients<'a, T>(
    w: &Window,
    filters: usize,
    image: &'a [T],
    zeros: &'a [T],
    ty: usize,
    tx: usize,
) -> [&'a [T]; 16] {
    let targets = tile_targets(w, filters, ty, tx);
    std::array::from_fn(|q| match targets[q] {
        Some(at) => &image[at..][..filters],
        None => zeros,
    })
}
