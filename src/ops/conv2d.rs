//! 2-D convolution (cross-correlation, as every framework computes it), NHWC, by im2col + GEMM.
//!
//! Forward. Unfold every window of the input into one row of a matrix
//!   cols[(n, oy, ox), (i, j, c)] = x[n, oy·s_h + i − p_t, ox·s_w + j − p_l, c]   (0 outside)
//! so that with the kernel W of shape (k_h, k_w, C, F) read as a (k_h·k_w·C) × F matrix,
//!   y = cols · W,   y of shape (N·OH·OW) × F, which is already NHWC.
//! The whole batch is one GEMM: the products are as large as the batch allows.
//!
//! Backward, with G = ∂L/∂y as an (N·OH·OW) × F matrix:
//!   ∂L/∂W    = colsᵀ · G          (one GEMM over the whole batch)
//!   ∂L/∂cols = G · Wᵀ
//!   ∂L/∂x    = col2im(∂L/∂cols): each row's entries added back where im2col read them.
//!
//! The unfolding is an op of its own (`im2col`, backward `col2im`), so `cols` lives on the tape
//! and returns to the buffer pool after the step instead of being allocated afresh each time.
//!
//! For few filters a direct kernel (`conv2d_direct.rs`) skips the unfolding; 3×3 kernels at
//! stride 1 on many channels take Winograd's algorithm (`conv2d_winograd.rs`, in 4×4 tiles
//! `conv2d_winograd_f4.rs`); otherwise the
//! grouped path (`conv2d_grouped` below) does the same im2col + GEMM a few images per task,
//! so each group's rows are multiplied while still in cache. [`conv2d`] picks by the
//! measured rule in [`ConvKernel::choose`]; the whole-batch path is the reference for all.

use super::bias_activation::{bias_activation, Activation};
use super::conv2d_direct::{conv2d_direct, Epilogue, MAX_FILTERS};
use super::conv2d_winograd::{self as winograd, conv2d_winograd, Tiling};
use super::window::{Padding, Window};
use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::{gemm, gemm_serial, Float, Shape, Transpose};
use rayon::prelude::*;
use Transpose::{No, Yes};

/// y = conv2d(x, kernel) with `x` (N, H, W, C) and `kernel` (k_h, k_w, C, F); no bias (a
/// layer adds it with its activation by [`conv2d_bias_activation`]).
pub fn conv2d<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    kernel: Var,
    strides: [usize; 2],
    padding: Padding,
) -> Result<Var> {
    conv2d_with(tape, x, kernel, strides, padding, ConvKernel::Auto)
}

/// Which kernel computes a convolution. Both give the same numbers up to rounding (the tests
/// hold them to each other); only the speed differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvKernel {
    /// The faster one for the shape, by [`ConvKernel::choose`].
    Auto,
    /// Unfold the input (im2col) and multiply by the kernel with one GEMM.
    Im2col,
    /// Sum each window in place; up to 64 filters (more falls back to im2col).
    Direct,
    /// im2col + GEMM a few images at a time, one group per task: each group's unfolded rows
    /// are multiplied while they are still in cache, and threads split the batch instead
    /// of each product (`conv2d_grouped` in this file).
    Grouped,
    /// Winograd's F(2×2, 3×3) (`conv2d_winograd.rs`): 3×3 kernels at stride 1 only (others
    /// take the grouped path), with 2.25× fewer multiply-adds than im2col.
    Winograd,
    /// Winograd's F(4×4, 3×3) (`conv2d_winograd_f4.rs`): as `Winograd`, with 4× fewer
    /// multiply-adds than im2col where the output's tiles fill, and larger rounding errors
    /// (still under 1e-5 of the outputs' scale in f32 on the labs' shapes).
    Winograd4x4,
}

impl ConvKernel {
    /// The kernel to use for a convolution of `window` with `filters` filters, in a training
    /// step (`training`: the backward pass will run too) or for inference.
    ///
    /// Measured with `RAYON_NUM_THREADS=2 cargo bench --bench cnn_ops` (CPU ms of forward +
    /// backward, direct / best im2col path, on a shared 2-core machine, so ±30%), since the
    /// direct kernel's f32 forward and ∂L/∂W run on FMA intrinsics: it wins on the layers
    /// with few channels and few filters (LeNet-5 32x32x3→6: 1.46 / 2.51; 6→16: 1.31 / 1.42,
    /// forward 0.25 / 0.46; MNIST CNN 28x28x1→32: 7.3, level) and loses where im2col's GEMM
    /// has work enough (CIFAR CNN 32x32x3→32: 3.7 / 3.0; 32→64: 13.7 / 8.7; 64→64: 3.2 /
    /// 2.0). Forward alone it also wins on the CIFAR CNN's first layer (1.28 / 1.38), hence
    /// the wider rule at inference.
    ///
    /// Everywhere else the grouped im2col path replaces the whole-batch one (same bench, CPU
    /// ms of forward + backward, whole-batch / grouped): MNIST CNN 32→64 38.6 / 35.3 (forward
    /// 11.9 / 10.7), CIFAR CNN 32→64 9.7 / 8.7, 64→64 2.0 / 2.3.
    ///
    /// Except for 3×3 kernels at stride 1 on 32 channels or more, where Winograd's algorithm
    /// wins in training and at inference (same bench, CPU ms, grouped / Winograd; forward +
    /// backward, then forward alone): MNIST CNN 32→64 27.3 / 17.9 and 9.4 / 4.8, CIFAR CNN
    /// 32→64 8.3 / 6.1 and 2.5 / 1.6, 64→64 1.7 / 1.6 (level) and 0.54 / 0.40. Fewer
    /// channels were not measured: the products over them would be short.
    ///
    /// There F(4×4, 3×3) replaces F(2×2, 3×3) where the output is at least 6×6 (same bench,
    /// CPU ms, F(2×2) / F(4×4), forward + backward, then forward alone): MNIST CNN 32→64
    /// (11×11 out) 14.1 / 11.1 and 3.6 / 2.3, CIFAR CNN 32→64 (13×13) 4.5 / 3.7 and 1.3 / 1.0,
    /// and on the bench's shapes for the rule (batch 32), 64→64 to 8×8 3.3 / 3.0 and to 6×6
    /// 3.3 / 2.3; at 4×4 (CIFAR CNN 64→64) one tile covers each image's output and F(2×2)
    /// keeps it, 1.4 / 1.8 (forward level, 0.3).
    pub fn choose(self, window: &Window, filters: usize, training: bool) -> ConvKernel {
        let c = window.channels;
        let direct_wins = (c <= 8 && filters <= 16)
            || (c == 1 && filters <= 32)
            || (!training && c <= 3 && filters <= 32);
        let winograd_wins = winograd::applies(window) && c >= 32;
        match self {
            ConvKernel::Auto if direct_wins => ConvKernel::Direct,
            ConvKernel::Auto if winograd_wins && window.out_h.min(window.out_w) >= 6 => {
                ConvKernel::Winograd4x4
            }
            ConvKernel::Auto if winograd_wins => ConvKernel::Winograd,
            ConvKernel::Auto => ConvKernel::Grouped,
            ConvKernel::Direct if filters > MAX_FILTERS => ConvKernel::Im2col,
            ConvKernel::Winograd | ConvKernel::Winograd4x4 if !winograd::applies(window) => {
                ConvKernel::Grouped
            }
            other => other,
        }
    }

    /// Whether this is one of Winograd's kernels.
    pub fn is_winograd(self) -> bool {
        self.tiling().is_some()
    }

    /// The tiling of a Winograd kernel; `None` for the others.
    pub(super) fn tiling(self) -> Option<Tiling> {
        match self {
            ConvKernel::Winograd => Some(Tiling::F2),
            ConvKernel::Winograd4x4 => Some(Tiling::F4),
            _ => None,
        }
    }
}

/// [`conv2d`] with the kernel chosen by the caller: for benchmarks and for the tests that hold
/// the kernels to each other.
pub fn conv2d_with<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    kernel: Var,
    strides: [usize; 2],
    padding: Padding,
    algorithm: ConvKernel,
) -> Result<Var> {
    conv2d_then(tape, x, kernel, strides, padding, algorithm, Epilogue::NONE)
}

/// y = activation(conv2d(x, kernel) + bias), the whole of a Conv2D layer: the same values as
/// [`conv2d`] followed by [`bias_activation`](super::bias_activation), which the direct kernel
/// computes while each image is in cache instead of as one more pass over the feature map.
/// `activation` must be elementwise.
pub fn conv2d_bias_activation<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    kernel: Var,
    bias: Option<Var>,
    activation: Activation,
    strides: [usize; 2],
    padding: Padding,
) -> Result<Var> {
    refuse_softmax(activation)?;
    let epilogue = Epilogue { bias, activation };
    conv2d_then(
        tape,
        x,
        kernel,
        strides,
        padding,
        ConvKernel::Auto,
        epilogue,
    )
}

/// Softmax normalizes across channels, so no convolution kernel can apply it pixel by pixel.
pub(super) fn refuse_softmax(activation: Activation) -> Result<()> {
    if activation == Activation::Softmax {
        return Err(Error::invalid(
            "softmax cannot be fused with a convolution; use ops::softmax",
        ));
    }
    Ok(())
}

/// The convolution by `algorithm`, then `epilogue`: fused into the direct kernel, else an op
/// of its own.
fn conv2d_then<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    kernel: Var,
    strides: [usize; 2],
    padding: Padding,
    algorithm: ConvKernel,
    epilogue: Epilogue,
) -> Result<Var> {
    let (window, filters) = conv_window(tape, x, kernel, strides, padding, epilogue.bias)?;
    let y = match algorithm.choose(&window, filters, tape.is_recording()) {
        ConvKernel::Direct => return conv2d_direct(tape, x, kernel, window, filters, epilogue),
        algorithm @ (ConvKernel::Winograd | ConvKernel::Winograd4x4) => {
            let tiling = algorithm.tiling().expect("a Winograd kernel");
            return conv2d_winograd(tape, x, kernel, window, filters, epilogue, tiling);
        }
        ConvKernel::Grouped => conv2d_grouped(tape, x, kernel, window, filters)?,
        _ => conv2d_im2col(tape, x, kernel, window, filters)?,
    };
    if epilogue.bias.is_some() || epilogue.activation != Activation::Linear {
        bias_activation(tape, y, epilogue.bias, epilogue.activation)
    } else {
        Ok(y)
    }
}

/// The convolution's window and filter count, with the kernel's and the bias's shapes
/// checked against the input.
pub(super) fn conv_window<T: Float>(
    tape: &Tape<T>,
    x: Var,
    kernel: Var,
    strides: [usize; 2],
    padding: Padding,
    bias: Option<Var>,
) -> Result<(Window, usize)> {
    let (xs, ks) = (tape.shape(x), tape.shape(kernel));
    let &[k_h, k_w, k_c, filters] = ks.dims() else {
        return Err(Error::shape(format!(
            "conv2d kernel must be (height, width, in, out), got {ks}"
        )));
    };
    if filters == 0 {
        return Err(Error::shape(format!("conv2d kernel {ks} has no filters")));
    }
    let window = Window::new("conv2d", xs.dims(), [k_h, k_w], strides, padding)?;
    if k_c != window.channels {
        return Err(Error::shape(format!(
            "conv2d kernel {ks} expects {k_c} input channels, the input {xs} has {}",
            window.channels
        )));
    }
    if let Some(b) = bias {
        if tape.shape(b).dims() != [filters] {
            return Err(Error::shape(format!(
                "conv2d bias of shape {} for {filters} filters",
                tape.shape(b)
            )));
        }
    }
    Ok((window, filters))
}

/// The whole-batch im2col + GEMM path, the reference for the others.
fn conv2d_im2col<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    kernel: Var,
    window: Window,
    filters: usize,
) -> Result<Var> {
    let cols = im2col(tape, x, window)?;
    let rows = window.batch * window.out_pixels();
    let depth = window.k_h * window.k_w * window.channels;
    let mut out = tape.alloc(Shape::new(&[
        window.batch,
        window.out_h,
        window.out_w,
        filters,
    ]));
    gemm(
        rows,
        filters,
        depth,
        tape.value(cols).data(),
        Transpose::No,
        tape.value(kernel).data(),
        Transpose::No,
        out.data_mut(),
        false,
    );
    Ok(tape.push_op(
        "conv2d",
        out,
        &[cols, kernel],
        ConvGemmBackward {
            rows,
            depth,
            filters,
        },
    ))
}

/// cols · W as a matrix product; the rule is matmul's.
struct ConvGemmBackward {
    rows: usize,
    depth: usize,
    filters: usize,
}

impl<T: Float> Backward<T> for ConvGemmBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (m, k, n) = (self.rows, self.depth, self.filters);
        let (cols, w, g) = (io.input(0).data(), io.input(1).data(), io.grad_out().data());
        if let Some(dw) = grads.slot(1) {
            gemm(
                k,
                n,
                m,
                cols,
                Transpose::Yes,
                g,
                Transpose::No,
                dw.data,
                dw.accumulate,
            );
        }
        if let Some(dcols) = grads.slot(0) {
            gemm(
                m,
                k,
                n,
                g,
                Transpose::No,
                w,
                Transpose::Yes,
                dcols.data,
                dcols.accumulate,
            );
        }
    }
}

/// Bytes of unfolded rows one task of the grouped path works on: about half a core's L2, so
/// the rows, the kernel and the task's output stay in cache between unfolding and product.
/// Test builds use a tiny budget, so that the tests' small shapes run in several groups.
const GROUP_BYTES: usize = if cfg!(test) { 2048 } else { 512 * 1024 };

/// Images per task of the grouped path: fixed by the shapes alone, so the partial sums of
/// ∂L/∂W, added in group order, do not depend on the thread count.
fn images_per_group<T: Float>(window: &Window) -> usize {
    let depth = window.k_h * window.k_w * window.channels;
    let per_image = window.out_pixels() * depth * std::mem::size_of::<T>();
    (GROUP_BYTES / per_image.max(1)).clamp(1, window.batch.max(1))
}

/// The im2col path with the batch split into groups of images, one task each: a task
/// unfolds its images into its rows of `cols` and multiplies them by the kernel at once.
/// `cols` is kept for the backward, as in `conv2d_im2col`, and the maths is the same; only
/// the order of the sums of ∂L/∂W differs (per group, then the groups in order).
fn conv2d_grouped<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    kernel: Var,
    window: Window,
    filters: usize,
) -> Result<Var> {
    let depth = window.k_h * window.k_w * window.channels;
    let pixels = window.out_pixels();
    let rows = window.batch * pixels;
    let group = images_per_group::<T>(&window);
    let mut cols = tape.alloc(Shape::new(&[rows, depth]));
    let mut out = tape.alloc(Shape::new(&[
        window.batch,
        window.out_h,
        window.out_w,
        filters,
    ]));
    if rows > 0 && depth > 0 && filters > 0 {
        let (xs, ws) = (tape.value(x).data(), tape.value(kernel).data());
        cols.data_mut()
            .par_chunks_mut(group * pixels * depth)
            .zip(out.data_mut().par_chunks_mut(group * pixels * filters))
            .zip(xs.par_chunks(group * window.in_len()))
            .for_each(|((cols, out), images)| {
                let unfolded = cols.chunks_mut(pixels * depth);
                for (image_cols, image) in unfolded.zip(images.chunks(window.in_len())) {
                    unfold(&window, image, image_cols);
                }
                let m = cols.len() / depth;
                gemm_serial(m, filters, depth, cols, No, ws, No, out, false);
            });
    } else {
        out.data_mut().fill(T::zero());
    }
    let cols = tape.push_op("im2col", cols, &[x], Col2Im(window));
    Ok(tape.push_op(
        "conv2d",
        out,
        &[cols, kernel],
        GroupedBackward {
            depth,
            filters,
            group_rows: group * pixels,
        },
    ))
}

/// The grouped path's cols · W, with each group's products on one thread:
///   ∂L/∂W = Σ_groups colsᵍᵀ · Gᵍ (the groups' partial sums added in order),
///   ∂L/∂colsᵍ = Gᵍ · Wᵀ.
struct GroupedBackward {
    depth: usize,
    filters: usize,
    group_rows: usize,
}

impl<T: Float> Backward<T> for GroupedBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let (k, n, rows) = (self.depth, self.filters, self.group_rows);
        let (cols, w, g) = (io.input(0).data(), io.input(1).data(), io.grad_out().data());
        if k == 0 || n == 0 || cols.is_empty() {
            if let Some(dw) = grads.slot(1) {
                dw.put(std::iter::repeat_n(T::zero(), k * n));
            }
            if let Some(dcols) = grads.slot(0) {
                let len = dcols.data.len();
                dcols.put(std::iter::repeat_n(T::zero(), len));
            }
            return;
        }
        if let Some(dw) = grads.slot(1) {
            let groups = cols.len().div_ceil(rows * k);
            let mut partials = vec![T::zero(); groups * k * n];
            partials
                .par_chunks_mut(k * n)
                .zip(cols.par_chunks(rows * k))
                .zip(g.par_chunks(rows * n))
                .for_each(|((partial, cols), g)| {
                    let m = g.len() / n;
                    gemm_serial(k, n, m, cols, Yes, g, No, partial, false);
                });
            dw.put(add_in_order(&partials, k * n).into_iter());
        }
        if let Some(dcols) = grads.slot(0) {
            let accumulate = dcols.accumulate;
            dcols
                .data
                .par_chunks_mut(rows * k)
                .zip(g.par_chunks(rows * n))
                .for_each(|(dcols, g)| {
                    let m = g.len() / n;
                    gemm_serial(m, k, n, g, No, w, Yes, dcols, accumulate);
                });
        }
    }
}

/// The sum of the `len`-long partial sums in `partials` (at least one), added in their
/// order: one per group of images, so the total does not depend on the thread count.
pub(super) fn add_in_order<T: Float>(partials: &[T], len: usize) -> Vec<T> {
    let mut sums = partials.chunks_exact(len);
    let mut total = sums.next().expect("at least one group").to_vec();
    for partial in sums {
        for (t, &p) in total.iter_mut().zip(partial) {
            *t += p;
        }
    }
    total
}

/// Every window of `x` as a row: (N·OH·OW) × (k_h·k_w·C).
fn im2col<T: Float>(tape: &mut Tape<T>, x: Var, window: Window) -> Result<Var> {
    let depth = window.k_h * window.k_w * window.channels;
    let mut cols = tape.alloc(Shape::new(&[window.batch * window.out_pixels(), depth]));
    let per_image = window.out_pixels() * depth;
    cols.data_mut()
        .par_chunks_mut(per_image)
        .zip(tape.value(x).data().par_chunks(window.in_len()))
        .for_each(|(cols, image)| unfold(&window, image, cols));
    Ok(tape.push_op("im2col", cols, &[x], Col2Im(window)))
}

/// im2col for one image.
fn unfold<T: Float>(w: &Window, image: &[T], cols: &mut [T]) {
    let c = w.channels;
    let depth = w.k_h * w.k_w * c;
    for oy in 0..w.out_h {
        let (ki, iy, nh) = w.rows(oy);
        for ox in 0..w.out_w {
            let (kj, ix, nw) = w.cols(ox);
            let row = &mut cols[(oy * w.out_w + ox) * depth..][..depth];
            if nh < w.k_h || nw < w.k_w {
                row.fill(T::zero());
            }
            // Consecutive kernel columns read consecutive input pixels: one copy per kernel row.
            for r in 0..nh {
                let src = &image[((iy + r) * w.in_w + ix) * c..][..nw * c];
                row[((ki + r) * w.k_w + kj) * c..][..nw * c].copy_from_slice(src);
            }
        }
    }
}

/// col2im for one image: adds every row of `dcols` back onto the pixels it was read from.
fn fold_add<T: Float>(w: &Window, dcols: &[T], dimage: &mut [T]) {
    let c = w.channels;
    let depth = w.k_h * w.k_w * c;
    for oy in 0..w.out_h {
        let (ki, iy, nh) = w.rows(oy);
        for ox in 0..w.out_w {
            let (kj, ix, nw) = w.cols(ox);
            let row = &dcols[(oy * w.out_w + ox) * depth..][..depth];
            for r in 0..nh {
                let dst = &mut dimage[((iy + r) * w.in_w + ix) * c..][..nw * c];
                let src = &row[((ki + r) * w.k_w + kj) * c..][..nw * c];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            }
        }
    }
}

struct Col2Im(Window);

impl<T: Float> Backward<T> for Col2Im {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        let w = &self.0;
        let Some(dx) = grads.slot(0) else {
            return;
        };
        let per_image = w.out_pixels() * w.k_h * w.k_w * w.channels;
        let accumulate = dx.accumulate;
        dx.data
            .par_chunks_mut(w.in_len())
            .zip(io.grad_out().data().par_chunks(per_image))
            .for_each(|(dimage, dcols)| {
                if !accumulate {
                    dimage.fill(T::zero());
                }
                fold_add(w, dcols, dimage);
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};
    use crate::autograd::ParamStore;
    use crate::tensor::Tensor;

    /// The definition, summed term by term, to check the im2col path against.
    fn direct(x: &Tensor<f64>, k: &Tensor<f64>, s: [usize; 2], padding: Padding) -> Vec<f64> {
        let (xd, kd) = (x.dims(), k.dims());
        let w = Window::new("test", xd, [kd[0], kd[1]], s, padding).unwrap();
        let f = kd[3];
        let mut out = vec![0.0; w.batch * w.out_pixels() * f];
        for n in 0..w.batch {
            for oy in 0..w.out_h {
                for ox in 0..w.out_w {
                    for o in 0..f {
                        let mut acc = 0.0;
                        for i in 0..w.k_h {
                            for j in 0..w.k_w {
                                let y = (oy * s[0] + i) as isize - w.pad_top as isize;
                                let xx = (ox * s[1] + j) as isize - w.pad_left as isize;
                                if y < 0 || xx < 0 || y >= w.in_h as isize || xx >= w.in_w as isize
                                {
                                    continue;
                                }
                                for c in 0..w.channels {
                                    let xi = ((n * w.in_h + y as usize) * w.in_w + xx as usize)
                                        * w.channels
                                        + c;
                                    let ki = ((i * w.k_w + j) * w.channels + c) * f + o;
                                    acc += x.data()[xi] * k.data()[ki];
                                }
                            }
                        }
                        out[((n * w.out_h + oy) * w.out_w + ox) * f + o] = acc;
                    }
                }
            }
        }
        out
    }

    /// (input dims, kernel dims, strides, padding).
    type Case = ([usize; 4], [usize; 4], [usize; 2], Padding);

    const CASES: [Case; 8] = [
        ([2, 5, 5, 1], [3, 3, 1, 2], [1, 1], Padding::Valid),
        ([3, 3, 3, 2], [3, 3, 2, 4], [1, 1], Padding::Valid), // kernel = input
        ([2, 5, 5, 3], [3, 3, 3, 4], [1, 1], Padding::Same),
        ([1, 6, 7, 2], [3, 3, 2, 3], [2, 2], Padding::Valid),
        ([1, 6, 7, 2], [3, 3, 2, 3], [2, 2], Padding::Same),
        ([2, 5, 4, 3], [2, 2, 3, 2], [1, 2], Padding::Same),
        ([1, 7, 7, 4], [5, 5, 4, 1], [2, 1], Padding::Same),
        ([1, 4, 4, 2], [1, 1, 2, 5], [1, 1], Padding::Valid),
    ];

    #[test]
    fn im2col_gemm_equals_the_definition() {
        for (seed, (xd, kd, s, p)) in CASES.into_iter().enumerate() {
            let x = random_tensor(&xd, 10 + seed as u32);
            let k = random_tensor(&kd, 20 + seed as u32);
            let mut params = ParamStore::default();
            let mut tape = Tape::new(&mut params);
            let (xv, kv) = (tape.input(x.clone()), tape.input(k.clone()));
            for algorithm in [ConvKernel::Im2col, ConvKernel::Grouped] {
                let y = conv2d_with(&mut tape, xv, kv, s, p, algorithm).unwrap();
                let expected = direct(&x, &k, s, p);
                for (a, b) in tape.value(y).data().iter().zip(&expected) {
                    assert!(
                        (a - b).abs() < 1e-12,
                        "case {seed} {algorithm:?}: {a} vs {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn conv2d_gradients_valid_and_same_strides_1_and_2() {
        for (seed, (xd, kd, s, p)) in CASES.into_iter().enumerate() {
            let inputs = [
                random_tensor(&xd, 30 + seed as u32),
                random_tensor(&kd, 40 + seed as u32),
            ];
            for algorithm in [ConvKernel::Im2col, ConvKernel::Direct, ConvKernel::Grouped] {
                assert_gradients(&inputs, |t, v| conv2d_with(t, v[0], v[1], s, p, algorithm));
            }
        }
    }

    #[test]
    fn gradient_accumulates_into_a_reused_input() {
        // x feeds two convolutions: both col2im passes must add up.
        let inputs = [
            random_tensor(&[1, 4, 4, 2], 50),
            random_tensor(&[3, 3, 2, 2], 51),
        ];
        for algorithm in [ConvKernel::Im2col, ConvKernel::Direct, ConvKernel::Grouped] {
            assert_gradients(&inputs, |t, v| {
                let a = conv2d_with(t, v[0], v[1], [1, 1], Padding::Same, algorithm)?;
                let b = conv2d_with(t, v[0], v[1], [2, 2], Padding::Same, algorithm)?;
                let a = crate::ops::sum(t, a);
                let b = crate::ops::sum_squares(t, b);
                crate::ops::add(t, a, b)
            });
        }
    }

    #[test]
    fn auto_picks_each_kernel_where_it_was_measured_to_win() {
        let window = |channels| {
            Window::new("t", &[1, 28, 28, channels], [3, 3], [1, 1], Padding::Valid).unwrap()
        };
        let auto = |channels, filters, training| {
            ConvKernel::Auto.choose(&window(channels), filters, training)
        };
        assert_eq!(auto(1, 32, true), ConvKernel::Direct);
        assert_eq!(auto(3, 6, true), ConvKernel::Direct);
        assert_eq!(auto(3, 32, true), ConvKernel::Grouped);
        assert_eq!(auto(3, 32, false), ConvKernel::Direct);
        assert_eq!(auto(6, 16, true), ConvKernel::Direct);
        assert_eq!(auto(16, 16, true), ConvKernel::Grouped);
        assert_eq!(auto(32, 64, false), ConvKernel::Winograd4x4);
        assert_eq!(auto(32, 64, true), ConvKernel::Winograd4x4);
        // Outputs under 6×6 keep F(2×2).
        let small = Window::new("t", &[1, 7, 8, 32], [3, 3], [1, 1], Padding::Valid).unwrap();
        assert_eq!(
            ConvKernel::Auto.choose(&small, 64, true),
            ConvKernel::Winograd
        );
        let six = Window::new("t", &[1, 8, 8, 32], [3, 3], [1, 1], Padding::Valid).unwrap();
        assert_eq!(
            ConvKernel::Auto.choose(&six, 64, true),
            ConvKernel::Winograd4x4
        );
        assert_eq!(auto(16, 64, true), ConvKernel::Grouped);
        let strided = Window::new("t", &[1, 28, 28, 32], [3, 3], [2, 2], Padding::Valid).unwrap();
        assert_eq!(
            ConvKernel::Auto.choose(&strided, 64, true),
            ConvKernel::Grouped
        );
        assert_eq!(
            ConvKernel::Winograd.choose(&strided, 64, true),
            ConvKernel::Grouped
        );
        assert_eq!(
            ConvKernel::Winograd4x4.choose(&strided, 64, true),
            ConvKernel::Grouped
        );
        let five = Window::new("t", &[1, 28, 28, 32], [5, 5], [1, 1], Padding::Valid).unwrap();
        assert_eq!(
            ConvKernel::Winograd.choose(&five, 64, true),
            ConvKernel::Grouped
        );
        assert_eq!(auto(1, 64, true), ConvKernel::Grouped);
        let direct = ConvKernel::Direct;
        assert_eq!(direct.choose(&window(8), 65, true), ConvKernel::Im2col);
        assert_eq!(direct.choose(&window(8), 64, true), ConvKernel::Direct);
    }

    #[test]
    fn mismatched_channels_are_a_shape_error() {
        let mut params = ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let x = tape.input(random_tensor(&[1, 4, 4, 2], 1));
        let k = tape.input(random_tensor(&[3, 3, 3, 1], 2));
        assert!(matches!(
            conv2d(&mut tape, x, k, [1, 1], Padding::Valid),
            Err(Error::Shape(_))
        ));
        let k = tape.input(random_tensor(&[5, 5, 2, 1], 2));
        assert!(conv2d(&mut tape, x, k, [1, 1], Padding::Valid).is_err());
    }

    #[test]
    fn a_kernel_without_filters_is_a_shape_error_for_every_kernel() {
        // Each path would otherwise split its work into chunks of zero filters and panic.
        let mut params = ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let x = tape.input(random_tensor(&[2, 6, 6, 1], 1));
        let k = tape.input(Tensor::zeros([3, 3, 1, 0]));
        for algorithm in [
            ConvKernel::Auto,
            ConvKernel::Im2col,
            ConvKernel::Direct,
            ConvKernel::Grouped,
            ConvKernel::Winograd,
        ] {
            let y = conv2d_with(&mut tape, x, k, [1, 1], Padding::Valid, algorithm);
            assert!(matches!(y, Err(Error::Shape(_))), "{algorithm:?}");
        }
        let pool = crate::ops::MaxPool {
            size: [2, 2],
            strides: [2, 2],
            padding: Padding::Valid,
        };
        let relu = Activation::Relu;
        let fused = crate::ops::conv2d_bias_activation_max_pool(
            &mut tape,
            x,
            k,
            None,
            relu,
            [1, 1],
            Padding::Valid,
            pool,
        );
        assert!(matches!(fused, Err(Error::Shape(_))));
    }
}
