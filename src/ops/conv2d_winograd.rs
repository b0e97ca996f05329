//! 3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast
//! Algorithms for Convolutional Neural Networks", 2016): each 2×2 block of outputs comes from
//! a 4×4 tile of input with 16 multiplications per (channel, filter) pair instead of 36, so
//! 16 products (tiles × C)·(C × F) replace im2col's (pixels × 9C)·(9C × F), with 2.25× fewer
//! multiply-adds (fewer where an odd output leaves the last tiles half used):
//!
//!   U[p] = (G g Gᵀ)[p]   the kernel, per channel and filter, once per call
//!   V[p] = (Bᵀ d B)[p]   each 4×4 input tile d, per channel
//!   M[p] = V[p] · U[p]   one GEMM over the channels for each of the 16 tile positions p
//!   Y    = Aᵀ M A        the tile's 2×2 outputs
//!
//! with Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1] and
//! Aᵀ = [1 1 1 0; 0 1 −1 −1]. The transforms only add and subtract (G halves), one NHWC pixel's
//! channels at a time, so they vectorize along the channels as stored; in f32 on whole AVX
//! registers of channels they run on intrinsics (`conv2d_winograd_avx.rs`), bit-identical.
//!
//! Backward, with G = ∂L/∂y:
//!   ∂L/∂x is again a 3×3 stride-1 convolution: of ∂L/∂y padded by 2 − p, with the kernel
//!         turned by 180° and its channels and filters swapped, so it runs on the same code;
//!   ∂L/∂W is the forward's adjoint: ∂L/∂U[p] = Σ_tiles V[p]ᵀ · (A G Aᵀ)[p], 16 GEMMs over
//!         the tiles again, then ∂L/∂W = Gᵀ (∂L/∂U) G.
//!
//! The same steps run on 6×6 tiles of 4×4 outputs, F(4×4, 3×3), where [`Tiling::F4`] is
//! chosen (`conv2d_winograd_f4.rs`: its matrices and transforms).
//!
//! Threads split the batch into tasks of whole images, which add nothing across one another;
//! ∂L/∂W's partial sums are per group of images fixed by the shapes, added in group order, so
//! every result is the same for any thread count.

use super::bias_activation::{bias_activation, bias_activation_in_place, bias_period};
use super::conv2d::add_in_order;
use super::conv2d_direct::Epilogue;
#[cfg(target_arch = "x86_64")]
use super::conv2d_winograd_avx as avx;
use super::conv2d_winograd_f4 as f4;
use super::conv2d_winograd_gemm::product;
use super::window::Window;
use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::Result;
use crate::tensor::simd::wide_simd_fn;
use crate::tensor::{f32s, f32s_mut, Float, Shape, Tensor};
use rayon::prelude::*;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Positions of a 4×4 input tile: one product per position.
const POSITIONS: usize = 16;

/// Which of Winograd's algorithms tiles a convolution's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tiling {
    /// F(2×2, 3×3): 2×2 outputs from each 4×4 input tile, 16 products.
    F2,
    /// F(4×4, 3×3) (`conv2d_winograd_f4.rs`): 4×4 outputs from each 6×6 tile, 36 products.
    F4,
}

impl Tiling {
    /// Positions of a tile: one product per position.
    pub(super) fn positions(self) -> usize {
        match self {
            Tiling::F2 => POSITIONS,
            Tiling::F4 => f4::POSITIONS,
        }
    }

    /// (tiles down, tiles across) of the output.
    fn grid(self, w: &Window) -> (usize, usize) {
        match self {
            Tiling::F2 => tile_grid(w),
            Tiling::F4 => f4::tile_grid(w),
        }
    }

    pub(super) fn tiles_per_image(self, w: &Window) -> usize {
        let (down, across) = self.grid(w);
        down * across
    }

    /// Tiles one task transforms and multiplies at once: enough rows for the GEMM's
    /// blocking, few enough that the task's transformed tiles stay in a core's L2 between the
    /// three steps. F(4×4)'s 72 tiles of 36 positions are 1.3 times F(2×2)'s 128 of 16: at
    /// the same size (56 tiles), the MNIST CNN's ∂L/∂W summed 4 images a group, so each
    /// product ran over 36 tiles alone and the groups' partial sums were twice as many; at
    /// 72 the forward's and ∂L/∂W's groups take the same buffers (the MNIST CNN's peak
    /// memory 1.2 MB lower, its epoch level). Test builds use a tiny count, so that the
    /// tests' small shapes run in several tasks.
    fn tiles_per_task(self) -> usize {
        match self {
            _ if cfg!(test) => 3,
            Tiling::F2 => 128,
            Tiling::F4 => 72,
        }
    }

    /// The length of [`Tiling::transform_kernel`]'s buffer for `rest` = channels × filters:
    /// U, then room for G g.
    pub(super) fn kernel_buffer_len(self, rest: usize) -> usize {
        match self {
            Tiling::F2 => (POSITIONS + 12) * rest,
            Tiling::F4 => (f4::POSITIONS + 18) * rest,
        }
    }

    /// U = G g Gᵀ for a kernel stored (3, 3, rest), one block of `rest` per tile position,
    /// at the start of `buffer` ([`Tiling::kernel_buffer_len`] long, its contents
    /// overwritten). A pooled buffer: inference transforms the kernel again for every block
    /// of a few images, and fresh allocations of it (zeroed, then freed) took 10% of the
    /// CIFAR CNN's predict samples in `memset`.
    pub(super) fn transform_kernel<T: Float>(self, kernel: &[T], rest: usize, buffer: &mut [T]) {
        let (u, columns) = buffer.split_at_mut(self.positions() * rest);
        match self {
            Tiling::F2 => transform_kernel(kernel, rest, u, columns, g_apply),
            Tiling::F4 => transform_kernel(kernel, rest, u, columns, f4::g_apply),
        }
    }
}

/// Whether Winograd's F(2×2, 3×3) computes this window: 3×3 kernels at stride 1.
pub(super) fn applies(window: &Window) -> bool {
    window.k_h == 3 && window.k_w == 3 && window.stride_h == 1 && window.stride_w == 1
}

/// y = f(conv2d(x, kernel) + b) by Winograd's algorithm; `window` is already checked against
/// the input and kernel (and [`applies`]), the bias against the filters. At inference the
/// bias and activation run on each group of images while it is in cache; in training they
/// are an op of their own, as after the im2col paths.
pub(super) fn conv2d_winograd<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    kernel: Var,
    window: Window,
    filters: usize,
    epilogue: Epilogue,
    tiling: Tiling,
) -> Result<Var> {
    let rest = window.channels * filters;
    let mut u = tape.alloc(Shape::new(&[tiling.kernel_buffer_len(rest)]));
    tiling.transform_kernel(tape.value(kernel).data(), rest, u.data_mut());
    let mut out = tape.alloc(Shape::new(&[
        window.batch,
        window.out_h,
        window.out_w,
        filters,
    ]));
    let fused = !tape.is_recording();
    let bias = match epilogue.bias {
        Some(b) if fused => Some(bias_period(tape.value(b).data())),
        _ => None,
    };
    let apply = |out: &mut [T]| {
        if fused && !epilogue.is_none() {
            bias_activation_in_place(out, bias.as_deref(), epilogue.activation);
        }
    };
    let group = images_per_task(window.batch, tiling, &window);
    let scratch = Scratch::per_thread(&window, tiling, filters, group, |s| tape.alloc(s));
    let images = tape.value(x).data();
    convolve(
        &window,
        tiling,
        images,
        u.data(),
        filters,
        out.data_mut(),
        false,
        apply,
        &scratch,
    );
    tape.recycle(u);
    for buffer in Scratch::buffers(scratch) {
        tape.recycle(buffer);
    }
    let y = tape.push_op(
        "conv2d",
        out,
        &[x, kernel],
        WinogradBackward {
            window,
            filters,
            tiling,
        },
    );
    if fused || epilogue.is_none() {
        Ok(y)
    } else {
        bias_activation(tape, y, epilogue.bias, epilogue.activation)
    }
}

/// The convolution of every image of `images` by the transformed kernel `u`, into `out`
/// (added when `accumulate`), the batch split into tasks of whole images; `then` runs on each
/// task's outputs once they are written, on the task's thread alone. `scratch` is
/// [`Scratch::per_thread`]'s for `w` and `filters`.
#[allow(clippy::too_many_arguments)]
fn convolve<T: Float>(
    w: &Window,
    tiling: Tiling,
    images: &[T],
    u: &[T],
    filters: usize,
    out: &mut [T],
    accumulate: bool,
    then: impl Fn(&mut [T]) + Sync,
    scratch: &[Mutex<Scratch<T>>],
) {
    let out_len = w.out_pixels() * filters;
    if out_len == 0 {
        return;
    }
    if w.in_len() == 0 {
        // No input channels: every sum is empty.
        if !accumulate {
            out.fill(T::zero());
        }
        out.par_chunks_mut(out_len).for_each(&then);
        return;
    }
    let group = images_per_task(w.batch, tiling, w);
    out.par_chunks_mut(group * out_len)
        .zip(images.par_chunks(group * w.in_len()))
        .for_each(|(out, images)| {
            // `then` starts no parallel work either (see `Scratch::this_thread`).
            let mut scratch = Scratch::this_thread(scratch);
            convolve_task(w, tiling, images, u, filters, out, accumulate, &mut scratch);
            then(out);
        });
}

/// One task's share of [`convolve`]: the convolution of the whole images of `images` into
/// `out`, on the calling thread, through its `scratch`. `w.in_len()` must not be 0.
#[allow(clippy::too_many_arguments)]
pub(super) fn convolve_task<T: Float>(
    w: &Window,
    tiling: Tiling,
    images: &[T],
    u: &[T],
    filters: usize,
    out: &mut [T],
    accumulate: bool,
    scratch: &mut Scratch<T>,
) {
    let Scratch { v, m } = scratch;
    let positions = tiling.positions();
    let tiles = images.len() / w.in_len() * tiling.tiles_per_image(w);
    // Both written in full below, as far as this task's tiles reach.
    let v = &mut v.data_mut()[..positions * plane(tiles, w.channels)];
    let m = &mut m.data_mut()[..positions * plane(tiles, filters)];
    match tiling {
        Tiling::F2 => input_tiles(w, images, v),
        Tiling::F4 => f4::input_tiles(w, images, v),
    }
    for p in 0..positions {
        product(
            tiles,
            filters,
            w.channels,
            &v[p * plane(tiles, w.channels)..],
            [w.channels, 1],
            &u[p * w.channels * filters..],
            filters,
            &mut m[p * plane(tiles, filters)..],
            filters,
        );
    }
    match tiling {
        Tiling::F2 => output_tiles(w, m, filters, out, accumulate),
        Tiling::F4 => f4::output_tiles(w, m, filters, out, accumulate),
    }
}

/// Images per task: at most about [`Tiling::tiles_per_task`] tiles (one image at least), in a number
/// of tasks that the threads share evenly (inference runs a few images at a time: 12 of the
/// MNIST CNN split 4 + 4 + 4 leave one of two threads idle for a third of the call). No task
/// sums another's outputs, so the split changes no result.
pub(super) fn images_per_task(batch: usize, tiling: Tiling, w: &Window) -> usize {
    let most = tiling
        .tiles_per_task()
        .div_ceil(tiling.tiles_per_image(w).max(1));
    even_group(batch, most, rayon::current_num_threads().max(1))
}

/// The largest group of at most `most` images that splits `batch` into a multiple of `parts`
/// groups, or 1: 32 images in groups of 3 make 11 tasks, and the last keeps one of two threads
/// waiting; in groups of 2 they make 16.
fn even_group(batch: usize, most: usize, parts: usize) -> usize {
    (1..=most.clamp(1, batch.max(1)))
        .rev()
        .find(|&group| batch.div_ceil(group).is_multiple_of(parts))
        .unwrap_or(1)
}

/// One worker thread's buffers for its tasks' transformed tiles V and products M, each as 16
/// planes (one per tile position) of the task's tiles: a position's product then reads and
/// writes rows that follow one another. Stored tile after tile, one position's rows lay 2 or
/// 4 kB apart and fell in the same few L1 sets. Drawn from the buffer pool once per call:
/// allocating and zeroing them per task took 5% of the MNIST CNN's predict.
pub(super) struct Scratch<T> {
    v: Tensor<T>,
    m: Tensor<T>,
}

impl<T: Float> Scratch<T> {
    /// One scratch per thread of the pool, for tasks of `images` images of `w` each.
    pub(super) fn per_thread(
        w: &Window,
        tiling: Tiling,
        filters: usize,
        images: usize,
        mut take: impl FnMut(Shape) -> Tensor<T>,
    ) -> Vec<Mutex<Scratch<T>>> {
        let (tiles, positions) = (images * tiling.tiles_per_image(w), tiling.positions());
        (0..rayon::current_num_threads())
            .map(|_| {
                Mutex::new(Scratch {
                    v: take(Shape::new(&[positions * plane(tiles, w.channels)])),
                    m: take(Shape::new(&[positions * plane(tiles, filters)])),
                })
            })
            .collect()
    }

    /// The calling worker thread's scratch. A task holds it for as long as it runs and
    /// starts no parallel work meanwhile, so the lock is never contended and no other task
    /// can run on the thread before it lets go.
    pub(super) fn this_thread(scratch: &[Mutex<Scratch<T>>]) -> MutexGuard<'_, Scratch<T>> {
        this_thread(scratch)
    }

    /// The buffers, to give back to the pool.
    pub(super) fn buffers(scratch: Vec<Mutex<Scratch<T>>>) -> impl Iterator<Item = Tensor<T>> {
        scratch.into_iter().flat_map(|s| {
            let s = s.into_inner().unwrap_or_else(PoisonError::into_inner);
            [s.v, s.m]
        })
    }
}

/// The calling worker thread's entry of `per_thread` (one per thread of the pool), under the
/// terms of [`Scratch::this_thread`].
pub(super) fn this_thread<B>(per_thread: &[Mutex<B>]) -> MutexGuard<'_, B> {
    let worker = rayon::current_thread_index().unwrap_or(0) % per_thread.len();
    per_thread[worker]
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Elements from one tile position's plane of `tiles` rows of `width` to the next: one cache
/// line more than the rows, so that the 16 planes a transform reads or writes at once do not
/// all start in the same L1 set (4 kB apart or a multiple of it, they did: the MNIST CNN's
/// ∂L/∂M transform took 3.2× as long as with the planes a line apart, in perf samples).
pub(super) fn plane(tiles: usize, width: usize) -> usize {
    tiles * width + 16
}

/// (tiles down, tiles across) of the output, 2×2 outputs each.
fn tile_grid(w: &Window) -> (usize, usize) {
    (w.out_h.div_ceil(2), w.out_w.div_ceil(2))
}

/// G (N rows) applied to three blocks of `len` taps, (a, b, c), each row written at its offset
/// of `at` in `out`.
type GApply<T, const N: usize> = fn(&[T], &[T], &[T], &mut [T], [usize; N], usize);

/// U = G g Gᵀ for a kernel stored (3, 3, rest), `rest` = channels × filters, where G has `N`
/// rows (4 for F(2×2), 6 for F(4×4)) and `g_apply` applies it to three blocks of `rest`:
/// N² blocks, one per tile position, into `u`; `columns` (3N × `rest`) holds G g.
fn transform_kernel<T: Float, const N: usize>(
    kernel: &[T],
    rest: usize,
    u: &mut [T],
    columns: &mut [T],
    g_apply: GApply<T, N>,
) {
    let taps: [&[T]; 9] = std::array::from_fn(|t| &kernel[t * rest..][..rest]);
    // G g: each kernel column (3 taps) becomes N rows, stored [row][column][rest]; then each
    // row N positions. Whole blocks of `rest` at a time, so that the loops vectorize (element
    // by element, F(4×4)'s took 2% of an MNIST CNN epoch).
    for j in 0..3 {
        let (a, b, c) = (taps[j], taps[3 + j], taps[6 + j]);
        let rows: [usize; N] = std::array::from_fn(|r| (r * 3 + j) * rest);
        g_apply(a, b, c, columns, rows, rest);
    }
    for r in 0..N {
        let row = &columns[r * 3 * rest..][..3 * rest];
        let (a, b, c) = (&row[..rest], &row[rest..2 * rest], &row[2 * rest..]);
        let positions: [usize; N] = std::array::from_fn(|s| (r * N + s) * rest);
        g_apply(a, b, c, u, positions, rest);
    }
}

/// G applied to three vectors: (a, (a + b + c)/2, (a − b + c)/2, c), written at the four
/// offsets `at` of `out`.
fn g_apply<T: Float>(a: &[T], b: &[T], c: &[T], out: &mut [T], at: [usize; 4], len: usize) {
    let half = T::of(0.5);
    let (a, b, c) = (&a[..len], &b[..len], &c[..len]);
    out[at[0]..][..len].copy_from_slice(a);
    for (e, o) in out[at[1]..][..len].iter_mut().enumerate() {
        *o = (a[e] + b[e] + c[e]) * half;
    }
    for (e, o) in out[at[2]..][..len].iter_mut().enumerate() {
        *o = (a[e] - b[e] + c[e]) * half;
    }
    out[at[3]..][..len].copy_from_slice(c);
}

/// The kernel of ∂L/∂x: turned by 180° and with channels and filters swapped,
/// W'[i, j, f, c] = W[2 − i, 2 − j, c, f].
fn turned_kernel<T: Float>(kernel: &[T], channels: usize, filters: usize) -> Vec<T> {
    let mut turned = vec![T::zero(); kernel.len()];
    for i in 0..3 {
        for j in 0..3 {
            let src = &kernel[((2 - i) * 3 + (2 - j)) * channels * filters..][..channels * filters];
            let dst = &mut turned[(i * 3 + j) * channels * filters..][..channels * filters];
            for c in 0..channels {
                for f in 0..filters {
                    dst[f * channels + c] = src[c * filters + f];
                }
            }
        }
    }
    turned
}

/// Channels the generic transforms take at once: one AVX register of f32.
pub(super) const LANES: usize = 8;

/// 16 tile positions (row-major) of `LANES` channels each.
type Block<T> = [[T; LANES]; POSITIONS];

/// Bᵀ d B for one block of channels of a 4×4 tile `d` (row-major positions).
#[inline(always)]
fn input_transform<T: Float>(d: &Block<T>) -> Block<T> {
    // Bᵀ applied to four vectors: (a − c, b + c, c − b, b − d).
    let b_t = |a: [T; LANES], b: [T; LANES], c: [T; LANES], d: [T; LANES]| {
        let mut out = [[T::zero(); LANES]; 4];
        for l in 0..LANES {
            out[0][l] = a[l] - c[l];
            out[1][l] = b[l] + c[l];
            out[2][l] = c[l] - b[l];
            out[3][l] = b[l] - d[l];
        }
        out
    };
    let mut columns = [[T::zero(); LANES]; POSITIONS];
    for s in 0..4 {
        let rows = b_t(d[s], d[4 + s], d[8 + s], d[12 + s]);
        for (r, row) in rows.into_iter().enumerate() {
            columns[r * 4 + s] = row;
        }
    }
    let mut v = [[T::zero(); LANES]; POSITIONS];
    for r in 0..4 {
        let c = &columns[r * 4..];
        let row = b_t(c[0], c[1], c[2], c[3]);
        v[r * 4..r * 4 + 4].copy_from_slice(&row);
    }
    v
}

/// Aᵀ m A for one block of channels of a tile's products `m`: the 2×2 outputs, row-major.
#[inline(always)]
fn output_transform<T: Float>(m: &Block<T>) -> [[T; LANES]; 4] {
    // Aᵀ applied to four vectors: (a + b + c, b − c − d).
    let a_t = |a: [T; LANES], b: [T; LANES], c: [T; LANES], d: [T; LANES]| {
        let mut out = [[T::zero(); LANES]; 2];
        for l in 0..LANES {
            out[0][l] = a[l] + b[l] + c[l];
            out[1][l] = b[l] - c[l] - d[l];
        }
        out
    };
    let mut rows = [[T::zero(); LANES]; 8];
    for s in 0..4 {
        let [top, bottom] = a_t(m[s], m[4 + s], m[8 + s], m[12 + s]);
        (rows[s], rows[4 + s]) = (top, bottom);
    }
    let [y00, y01] = a_t(rows[0], rows[1], rows[2], rows[3]);
    let [y10, y11] = a_t(rows[4], rows[5], rows[6], rows[7]);
    [y00, y01, y10, y11]
}

/// `LANES` values of `xs` from `at`, zeros past its end.
#[inline(always)]
pub(super) fn load<T: Float>(xs: &[T], at: usize) -> [T; LANES] {
    match xs.get(at..at + LANES) {
        Some(whole) => whole.try_into().expect("LANES values"),
        None => std::array::from_fn(|l| xs.get(at + l).copied().unwrap_or(T::zero())),
    }
}

/// Stores `values` into `xs` from `at`, as many as fit.
#[inline(always)]
fn store<T: Float>(xs: &mut [T], at: usize, values: [T; LANES]) {
    match xs.get_mut(at..at + LANES) {
        Some(whole) => whole.copy_from_slice(&values),
        None => {
            let rest = &mut xs[at..];
            let n = rest.len();
            rest.copy_from_slice(&values[..n]);
        }
    }
}

/// V = Bᵀ d B for every 4×4 input tile of `images`: 16 planes, one per tile position, of the
/// tiles' C channels, tile after tile; pixels outside the image (the padding) read as zeros.
fn input_tiles<T: Float>(w: &Window, images: &[T], v: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(images), Some(v)) = (f32s(images), f32s_mut(v)) {
        if avx::available(w.channels) {
            return avx::input_tiles(w, images, v);
        }
    }
    input_tiles_generic(w, images, v)
}

wide_simd_fn! {
    /// [`input_tiles`] for any element type and channel count.
    fn input_tiles_generic<T: Float>(w: &Window, images: &[T], v: &mut [T]) {
        let c = w.channels;
        let (tiles_down, tiles_across) = tile_grid(w);
        let zeros = vec![T::zero(); c];
        let tiles = images.len() / w.in_len() * tiles_down * tiles_across;
        let plane = plane(tiles, c);
        let mut tile = 0;
        for image in images.chunks_exact(w.in_len()) {
            for ty in 0..tiles_down {
                for tx in 0..tiles_across {
                    // The 16 pixels of the tile, row-major, each its C channels (or zeros).
                    let mut pixels = [zeros.as_slice(); POSITIONS];
                    for (p, pixel) in pixels.iter_mut().enumerate() {
                        let y = (2 * ty + p / 4).wrapping_sub(w.pad_top);
                        let x = (2 * tx + p % 4).wrapping_sub(w.pad_left);
                        if y < w.in_h && x < w.in_w {
                            *pixel = &image[(y * w.in_w + x) * c..][..c];
                        }
                    }
                    for e in (0..c).step_by(LANES) {
                        let d = std::array::from_fn(|p| load(pixels[p], e));
                        let transformed = input_transform(&d);
                        for (p, values) in transformed.into_iter().enumerate() {
                            store(&mut v[p * plane + tile * c..][..c], e, values);
                        }
                    }
                    tile += 1;
                }
            }
        }
    }
}

/// Y = Aᵀ M A for every tile, into the images' outputs (added when `accumulate`); the
/// outputs of tiles that overhang an odd edge are dropped.
fn output_tiles<T: Float>(w: &Window, m: &[T], filters: usize, out: &mut [T], accumulate: bool) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(m), Some(out)) = (f32s(m), f32s_mut(out)) {
        if avx::available(filters) {
            return avx::output_tiles(w, m, filters, out, accumulate);
        }
    }
    output_tiles_generic(w, m, filters, out, accumulate)
}

wide_simd_fn! {
    /// [`output_tiles`] for any element type and filter count.
    fn output_tiles_generic<T: Float>(w: &Window, m: &[T], filters: usize, out: &mut [T], accumulate: bool) {
        let f = filters;
        let (tiles_down, tiles_across) = tile_grid(w);
        // One tile's 2×2 outputs, row-major, before they go to their pixels.
        let mut outputs = vec![T::zero(); 4 * f];
        let tiles = out.len() / (w.out_pixels() * f) * tiles_down * tiles_across;
        let plane = plane(tiles, f);
        let mut tile = 0;
        for image in out.chunks_exact_mut(w.out_pixels() * f) {
            for ty in 0..tiles_down {
                for tx in 0..tiles_across {
                    for e in (0..f).step_by(LANES) {
                        let products =
                            std::array::from_fn(|p| load(&m[p * plane + tile * f..][..f], e));
                        let y = output_transform(&products);
                        for (q, values) in y.into_iter().enumerate() {
                            store(&mut outputs[q * f..(q + 1) * f], e, values);
                        }
                    }
                    for (q, values) in outputs.chunks_exact(f).enumerate() {
                        let (oy, ox) = (2 * ty + q / 2, 2 * tx + q % 2);
                        if oy >= w.out_h || ox >= w.out_w {
                            continue;
                        }
                        let pixel = &mut image[(oy * w.out_w + ox) * f..][..f];
                        if accumulate {
                            for (o, &v) in pixel.iter_mut().zip(values) {
                                *o += v;
                            }
                        } else {
                            pixel.copy_from_slice(values);
                        }
                    }
                    tile += 1;
                }
            }
        }
    }
}

/// Images whose ∂L/∂W is summed into one partial sum: at most about
/// [`Tiling::tiles_per_task`] tiles, in a multiple of 4 groups where the batch allows (even
/// work for 1, 2 or 4 threads), fixed by the shapes alone so that the order of the sum does
/// not depend on the thread count.
fn images_per_sum(batch: usize, tiling: Tiling, w: &Window) -> usize {
    let most = tiling
        .tiles_per_task()
        .div_ceil(tiling.tiles_per_image(w).max(1));
    even_group(batch, most, 4)
}

/// ∂L/∂W (3, 3, C, F), the adjoint of the forward: per group of `group` images,
///   ∂L/∂U[p] += V[p]ᵀ · ∂L/∂M[p]   with ∂L/∂M = A (∂L/∂y) Aᵀ for each tile,
/// the groups' sums added in order, then ∂L/∂W = Gᵀ (∂L/∂U) G.
#[allow(clippy::too_many_arguments)]
fn kernel_gradient<T: Float>(
    w: &Window,
    tiling: Tiling,
    x: &[T],
    g: &[T],
    filters: usize,
    group: usize,
    scratch: &[Mutex<Scratch<T>>],
    partials: &mut [T],
) -> Vec<T> {
    let (c, f) = (w.channels, filters);
    let (in_len, out_len) = (w.in_len(), w.out_pixels() * f);
    if w.batch == 0 || in_len == 0 || out_len == 0 || c * f == 0 {
        return vec![T::zero(); 9 * c * f];
    }
    let positions = tiling.positions();
    // Every group's partial sum is written in full.
    partials
        .par_chunks_mut(positions * c * f)
        .zip(x.par_chunks(group * in_len))
        .zip(g.par_chunks(group * out_len))
        .for_each(|((partial, images), g)| {
            let mut scratch = Scratch::this_thread(scratch);
            let Scratch { v, m } = &mut *scratch;
            let tiles = images.len() / in_len * tiling.tiles_per_image(w);
            let v = &mut v.data_mut()[..positions * plane(tiles, c)];
            let dm = &mut m.data_mut()[..positions * plane(tiles, f)];
            match tiling {
                Tiling::F2 => {
                    input_tiles(w, images, v);
                    output_gradient_tiles(w, g, f, dm);
                }
                Tiling::F4 => {
                    f4::input_tiles(w, images, v);
                    f4::output_gradient_tiles(w, g, f, dm);
                }
            }
            for p in 0..positions {
                product(
                    c,
                    f,
                    tiles,
                    &v[p * plane(tiles, c)..],
                    [1, c],
                    &dm[p * plane(tiles, f)..],
                    f,
                    &mut partial[p * c * f..][..c * f],
                    f,
                );
            }
        });
    let du = add_in_order(partials, positions * c * f);
    match tiling {
        Tiling::F2 => kernel_gradient_from(&du, c * f),
        Tiling::F4 => f4::kernel_gradient_from(&du, c * f),
    }
}

/// ∂L/∂g = Gᵀ (∂L/∂U) G: 16 blocks of `rest` back to the kernel's 9.
fn kernel_gradient_from<T: Float>(du: &[T], rest: usize) -> Vec<T> {
    // Gᵀ applied to four vectors: (a + (b + c)/2, (b − c)/2, (b + c)/2 + d).
    let half = T::of(0.5);
    let g_t = |a: T, b: T, c: T, d: T| [a + (b + c) * half, (b - c) * half, (b + c) * half + d];
    let mut dw = vec![T::zero(); 9 * rest];
    for e in 0..rest {
        let at = |r: usize, s: usize| du[(r * 4 + s) * rest + e];
        // Along each row first (4 rows of 3), then down each of the 3 columns.
        let rows: [[T; 3]; 4] =
            std::array::from_fn(|r| g_t(at(r, 0), at(r, 1), at(r, 2), at(r, 3)));
        for j in 0..3 {
            let column = g_t(rows[0][j], rows[1][j], rows[2][j], rows[3][j]);
            for (i, value) in column.into_iter().enumerate() {
                dw[(i * 3 + j) * rest + e] = value;
            }
        }
    }
    dw
}

/// ∂L/∂M = A (∂L/∂y) Aᵀ for every tile of the outputs' gradient `g`: 16 planes, one per tile
/// position, of the tiles' F filters; outputs past an odd edge count as zeros.
fn output_gradient_tiles<T: Float>(w: &Window, g: &[T], filters: usize, dm: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(g), Some(dm)) = (f32s(g), f32s_mut(dm)) {
        if avx::available(filters) {
            return avx::output_gradient_tiles(w, g, filters, dm);
        }
    }
    output_gradient_tiles_generic(w, g, filters, dm)
}

/// A (∂L/∂y) Aᵀ for one block of filters of a tile's 2×2 output gradients (row-major).
#[inline(always)]
fn output_gradient_transform<T: Float>(dy: &[[T; LANES]; 4]) -> Block<T> {
    // A applied to two vectors: (a, a + b, a − b, −b).
    let a = |a: [T; LANES], b: [T; LANES]| {
        let mut out = [[T::zero(); LANES]; 4];
        for l in 0..LANES {
            out[0][l] = a[l];
            out[1][l] = a[l] + b[l];
            out[2][l] = a[l] - b[l];
            out[3][l] = -b[l];
        }
        out
    };
    // Down each of the two columns, then along each of the four rows.
    let left = a(dy[0], dy[2]);
    let right = a(dy[1], dy[3]);
    let mut dm = [[T::zero(); LANES]; POSITIONS];
    for r in 0..4 {
        dm[r * 4..r * 4 + 4].copy_from_slice(&a(left[r], right[r]));
    }
    dm
}

wide_simd_fn! {
    /// [`output_gradient_tiles`] for any element type and filter count.
    fn output_gradient_tiles_generic<T: Float>(w: &Window, g: &[T], filters: usize, dm: &mut [T]) {
        let f = filters;
        let (tiles_down, tiles_across) = tile_grid(w);
        let zeros = vec![T::zero(); f];
        let tiles = g.len() / (w.out_pixels() * f) * tiles_down * tiles_across;
        let plane = plane(tiles, f);
        let mut tile = 0;
        for image in g.chunks_exact(w.out_pixels() * f) {
            for ty in 0..tiles_down {
                for tx in 0..tiles_across {
                    let dy: [&[T]; 4] = std::array::from_fn(|q| {
                        let (oy, ox) = (2 * ty + q / 2, 2 * tx + q % 2);
                        if oy < w.out_h && ox < w.out_w {
                            &image[(oy * w.out_w + ox) * f..][..f]
                        } else {
                            &zeros[..]
                        }
                    });
                    for e in (0..f).step_by(LANES) {
                        let block = std::array::from_fn(|q| load(dy[q], e));
                        let transformed = output_gradient_transform(&block);
                        for (p, values) in transformed.into_iter().enumerate() {
                            store(&mut dm[p * plane + tile * f..][..f], e, values);
                        }
                    }
                    tile += 1;
                }
            }
        }
    }
}

/// ∂L/∂x by the same algorithm on ∂L/∂y, ∂L/∂W by its adjoint.
struct WinogradBackward {
    window: Window,
    filters: usize,
    tiling: Tiling,
}

impl<T: Float> Backward<T> for WinogradBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (x, kernel, g) = (io.input(0).data(), io.input(1).data(), io.grad_out().data());
        backward_from(&self.window, self.filters, self.tiling, x, kernel, g, grads);
    }
}

/// ∂L/∂x into `grads`' slot 0 and ∂L/∂W into its slot 1, where wanted, from the convolution's
/// input `x`, `kernel` and ∂L/∂y `g` (its output's shape), both by `tiling`.
pub(super) fn backward_from<T: Float>(
    w: &Window,
    filters: usize,
    tiling: Tiling,
    x: &[T],
    kernel: &[T],
    g: &[T],
    grads: &mut GradSink<'_, T>,
) {
    if grads.wants(1) {
        let group = images_per_sum(w.batch, tiling, w);
        let scratch = Scratch::per_thread(w, tiling, filters, group, |s| grads.scratch(s));
        let groups = w.batch.div_ceil(group).max(1);
        let sums = tiling.positions() * w.channels * filters;
        let mut partials = grads.scratch(Shape::new(&[groups * sums]));
        let dw = kernel_gradient(
            w,
            tiling,
            x,
            g,
            filters,
            group,
            &scratch,
            partials.data_mut(),
        );
        grads.recycle(partials);
        if let Some(slot) = grads.slot(1) {
            slot.put(dw.into_iter());
        }
        for buffer in Scratch::buffers(scratch) {
            grads.recycle(buffer);
        }
    }
    if grads.wants(0) {
        // ∂L/∂y read as images of `filters` channels, padded so that every input pixel's
        // window covers the outputs it fed.
        let transposed = Window {
            batch: w.batch,
            in_h: w.out_h,
            in_w: w.out_w,
            channels: filters,
            k_h: 3,
            k_w: 3,
            stride_h: 1,
            stride_w: 1,
            pad_top: 2 - w.pad_top,
            pad_left: 2 - w.pad_left,
            out_h: w.in_h,
            out_w: w.in_w,
        };
        let turned = turned_kernel(kernel, w.channels, filters);
        let rest = filters * w.channels;
        let mut u = grads.scratch(Shape::new(&[tiling.kernel_buffer_len(rest)]));
        tiling.transform_kernel(&turned, rest, u.data_mut());
        let group = images_per_task(w.batch, tiling, &transposed);
        let scratch =
            Scratch::per_thread(&transposed, tiling, w.channels, group, |s| grads.scratch(s));
        if let Some(dx) = grads.slot(0) {
            let (dx, accumulate) = (dx.data, dx.accumulate);
            convolve(
                &transposed,
                tiling,
                g,
                u.data(),
                w.channels,
                dx,
                accumulate,
                |_| {},
                &scratch,
            );
        }
        grads.recycle(u);
        for buffer in Scratch::buffers(scratch) {
            grads.recycle(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::conv2d::{conv2d_with, ConvKernel};
    use super::super::window::Padding;
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};
    use crate::autograd::ParamStore;

    /// (input dims, filters, padding): every 3×3 stride-1 shape the labs use, and odd ones.
    const CASES: [([usize; 4], usize, Padding); 9] = [
        ([3, 5, 5, 2], 3, Padding::Valid),
        ([2, 6, 7, 3], 4, Padding::Same),
        ([1, 3, 3, 2], 3, Padding::Valid), // kernel = input: one output
        ([2, 3, 3, 2], 2, Padding::Same),
        ([1, 1, 5, 2], 2, Padding::Same), // one row: the tiles overhang both edges
        ([4, 4, 4, 1], 5, Padding::Valid),
        ([1, 7, 4, 3], 1, Padding::Same),
        ([2, 13, 13, 32], 64, Padding::Valid), // the MNIST CNN's second layer
        ([2, 16, 16, 32], 64, Padding::Same),  // the CIFAR CNN's second layer
    ];

    fn conv(tape: &mut Tape<f64>, x: Var, k: Var, padding: Padding, kernel: ConvKernel) -> Var {
        conv2d_with(tape, x, k, [1, 1], padding, kernel).unwrap()
    }

    /// Both tilings.
    const WINOGRAD: [ConvKernel; 2] = [ConvKernel::Winograd, ConvKernel::Winograd4x4];

    #[test]
    fn winograd_equals_im2col_on_every_case() {
        for (seed, (xd, filters, padding)) in CASES.into_iter().enumerate() {
            for winograd in WINOGRAD {
                let x = random_tensor(&xd, 60 + seed as u32);
                let k = random_tensor(&[3, 3, xd[3], filters], 70 + seed as u32);
                let mut params = ParamStore::default();
                let mut tape = Tape::new(&mut params);
                let (xv, kv) = (tape.input(x), tape.input(k));
                let a = conv(&mut tape, xv, kv, padding, ConvKernel::Im2col);
                let b = conv(&mut tape, xv, kv, padding, winograd);
                let (a, b) = (tape.value(a).data(), tape.value(b).data());
                assert_eq!(a.len(), b.len());
                for (i, (a, b)) in a.iter().zip(b).enumerate() {
                    assert!(
                        (a - b).abs() < 1e-12,
                        "{winograd:?} case {seed} at {i}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn winograd_equals_im2col_in_f32_to_1e_5_on_every_3x3_stride_1_lab_shape() {
        use super::super::conv2d_direct::tests::{normwise_error, run, CASES};
        let cases = CASES
            .iter()
            .filter(|(_, k, s, _)| k[..2] == [3, 3] && *s == [1, 1]);
        let mut count = 0;
        for (i, &case) in cases.enumerate() {
            let reference = run::<f32>(case, 300 + i as u32, ConvKernel::Im2col);
            for kernel in WINOGRAD {
                let winograd = run::<f32>(case, 300 + i as u32, kernel);
                for (what, (a, b)) in ["y", "dx", "dW"]
                    .iter()
                    .zip(winograd.iter().zip(&reference))
                {
                    let e = normwise_error(a, b);
                    assert!(
                        e < 1e-5,
                        "{kernel:?} case {case:?}: {what} differs by {e:e}"
                    );
                }
            }
            count += 1;
        }
        // The MNIST CNN's two, the CIFAR CNN's three and two odd ones.
        assert_eq!(count, 7);
    }

    #[test]
    fn winograd_gradients_match_finite_differences() {
        // The small cases: finite differences over every input of the large ones take long.
        for (seed, (xd, filters, padding)) in CASES[..7].iter().copied().enumerate() {
            let inputs = [
                random_tensor(&xd, 80 + seed as u32),
                random_tensor(&[3, 3, xd[3], filters], 90 + seed as u32),
            ];
            for kernel in WINOGRAD {
                assert_gradients(&inputs, |t, v| {
                    conv2d_with(t, v[0], v[1], [1, 1], padding, kernel)
                });
            }
        }
    }

    #[test]
    fn winograd_gradients_equal_im2col_on_the_lab_shapes() {
        for (xd, filters, padding) in [CASES[7], CASES[8]] {
            let x = random_tensor(&xd, 5);
            let k = random_tensor(&[3, 3, xd[3], filters], 6);
            let grads = |kernel: ConvKernel| {
                let mut params = ParamStore::default();
                let mut tape = Tape::new(&mut params);
                let (xv, kv) = (
                    tape.input_with_grad(x.clone()),
                    tape.input_with_grad(k.clone()),
                );
                let y = conv(&mut tape, xv, kv, padding, kernel);
                let loss = crate::ops::sum_squares(&mut tape, y);
                tape.backward(loss).unwrap();
                let dx = tape.grad(xv).unwrap().data().to_vec();
                let dk = tape.grad(kv).unwrap().data().to_vec();
                (dx, dk)
            };
            let a = grads(ConvKernel::Im2col);
            for kernel in WINOGRAD {
                let b = grads(kernel);
                for (a, b) in a.0.iter().zip(&b.0).chain(a.1.iter().zip(&b.1)) {
                    assert!(
                        (a - b).abs() < 1e-9 * a.abs().max(1.0),
                        "{kernel:?}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn avx_transforms_equal_the_generic_ones_to_the_bit() {
        if !avx::available(16) {
            return;
        }
        let to_f32 = |t: crate::tensor::Tensor<f64>| -> Vec<f32> {
            t.data().iter().map(|&v| v as f32).collect()
        };
        // Odd sizes, `same` padding: tiles overhang the right and bottom edges.
        let dims = [2, 7, 5, 16];
        let w = Window::new("t", &dims, [3, 3], [1, 1], Padding::Same).unwrap();
        let images = to_f32(random_tensor(&dims, 11));
        let (down, across) = tile_grid(&w);
        let tiles = 2 * down * across;
        let (mut generic, mut fast) = (
            vec![0.0f32; 16 * plane(tiles, 16)],
            vec![0.0f32; 16 * plane(tiles, 16)],
        );
        input_tiles_generic(&w, &images, &mut generic);
        avx::input_tiles(&w, &images, &mut fast);
        assert_eq!(generic, fast);
        // M for 16 filters, written and then added onto an output.
        let m = to_f32(random_tensor(&[16 * plane(tiles, 16)], 12));
        for accumulate in [false, true] {
            let start = to_f32(random_tensor(&[2 * 7 * 5 * 16], 13));
            let (mut generic, mut fast) = (start.clone(), start);
            output_tiles_generic(&w, &m, 16, &mut generic, accumulate);
            avx::output_tiles(&w, &m, 16, &mut fast, accumulate);
            assert_eq!(generic, fast);
        }
        // ∂L/∂M from an output gradient of 16 filters.
        let g = to_f32(random_tensor(&[2 * 7 * 5 * 16], 14));
        let (mut generic, mut fast) = (
            vec![0.0f32; 16 * plane(tiles, 16)],
            vec![0.0f32; 16 * plane(tiles, 16)],
        );
        output_gradient_tiles_generic(&w, &g, 16, &mut generic);
        avx::output_gradient_tiles(&w, &g, 16, &mut fast);
        assert_eq!(generic, fast);
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn f4_simd_transforms_equal_the_generic_ones_to_the_bit() {
        use super::super::conv2d_winograd_f4_simd as simd;
        let to_f32 = |t: crate::tensor::Tensor<f64>| -> Vec<f32> {
            t.data().iter().map(|&v| v as f32).collect()
        };
        // 8 channels run on AVX, 16 on AVX-512 where the processor has it; odd sizes and
        // `same` padding, so that tiles overhang the right and bottom edges.
        for c in [8, 16] {
            if !simd::available(c) {
                continue;
            }
            let dims = [2, 9, 7, c];
            let w = Window::new("t", &dims, [3, 3], [1, 1], Padding::Same).unwrap();
            let images = to_f32(random_tensor(&dims, 21));
            let len = f4::POSITIONS * plane(Tiling::F4.tiles_per_image(&w) * 2, c);
            let (mut generic, mut fast) = (vec![0.0f32; len], vec![0.0f32; len]);
            f4::input_tiles_generic(&w, &images, &mut generic);
            simd::input_tiles(&w, &images, &mut fast);
            assert_eq!(generic, fast, "V on {c} channels");
            let m = to_f32(random_tensor(&[len], 22));
            for accumulate in [false, true] {
                let start = to_f32(random_tensor(&[2 * 9 * 7 * c], 23));
                let (mut generic, mut fast) = (start.clone(), start);
                f4::output_tiles_generic(&w, &m, c, &mut generic, accumulate);
                simd::output_tiles(&w, &m, c, &mut fast, accumulate);
                assert_eq!(generic, fast, "Y on {c} filters");
            }
            let g = to_f32(random_tensor(&[2 * 9 * 7 * c], 24));
            let (mut generic, mut fast) = (vec![0.0f32; len], vec![0.0f32; len]);
            f4::output_gradient_tiles_generic(&w, &g, c, &mut generic);
            simd::output_gradient_tiles(&w, &g, c, &mut fast);
            assert_eq!(generic, fast, "∂L/∂M on {c} filters");
        }
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let (xd, filters, padding) = CASES[8];
        let x = random_tensor(&xd, 7);
        let k = random_tensor(&[3, 3, xd[3], filters], 8);
        let run = |threads: usize, kernel: ConvKernel| {
            crate::on_threads(threads, || {
                let mut params = ParamStore::default();
                let mut tape = Tape::new(&mut params);
                let (xv, kv) = (
                    tape.input_with_grad(x.clone()),
                    tape.input_with_grad(k.clone()),
                );
                let y = conv(&mut tape, xv, kv, padding, kernel);
                let loss = crate::ops::sum_squares(&mut tape, y);
                tape.backward(loss).unwrap();
                let mut all = tape.value(y).data().to_vec();
                all.extend_from_slice(tape.grad(xv).unwrap().data());
                all.extend_from_slice(tape.grad(kv).unwrap().data());
                all
            })
        };
        for kernel in WINOGRAD {
            assert_eq!(run(1, kernel), run(2, kernel));
            assert_eq!(run(1, kernel), run(3, kernel));
        }
    }
}
