//! The Winograd convolution's 16 products per tile position, out = a · b, on a register-tiled
//! AVX2 kernel where the gemm crate would run its own AVX2 kernels (f32, whole registers of
//! columns, a processor without AVX-512), else on the gemm crate.
//!
//! Their depth is the layer's channels (32 to 64 in the labs' CNNs) or one task's tiles: so
//! short a sum leaves the gemm crate's blocking and packing, sized for long ones, as a large
//! share of each call (perf on an MNIST CNN epoch: its driver loop, packing and edge kernels
//! took 10% beside its 6×16 microkernel's 49%). Here the same 6×16 register tile reads both
//! operands where they lie, the left one a broadcast at a time along its strides, the right
//! one's rows whole; the MNIST CNN's second convolution, forward and backward, went from
//! 18.8 to 16.0 ms (`cargo bench --bench cnn_ops`, best of 4). Where the processor has
//! AVX-512 the gemm crate runs 16-wide microkernels instead; that was not measured against
//! this kernel, so it keeps them.

use crate::tensor::{f32s, f32s_mut, gemm_serial_strided, Float};

/// out[i·out_row + j] = Σ_k a[i·a_strides[0] + k·a_strides[1]] · b[k·b_row + j] for
/// i < rows, j < cols and k < depth, every `out` element in that range written.
#[allow(clippy::too_many_arguments)]
pub(super) fn product<T: Float>(
    rows: usize,
    cols: usize,
    depth: usize,
    a: &[T],
    a_strides: [usize; 2],
    b: &[T],
    b_row: usize,
    out: &mut [T],
    out_row: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(a), Some(b), Some(out)) = (f32s(a), f32s(b), f32s_mut(out)) {
        if avx2::chosen(cols) {
            return avx2::product(rows, cols, depth, a, a_strides, b, b_row, out, out_row);
        }
    }
    gemm_serial_strided(rows, cols, depth, a, a_strides, b, [b_row, 1], out, out_row);
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use crate::tensor::strided_product_needed;
    use std::arch::x86_64::*;

    /// Rows of `out` one register tile holds: 6 rows of 2 registers are 12 accumulators,
    /// which leave 4 of AVX2's 16 registers for the right operand's row and the broadcast.
    const ROWS: usize = 6;

    /// Whether this kernel runs here on `cols` columns: AVX2 with FMA, whole registers of
    /// columns.
    pub(super) fn runs(cols: usize) -> bool {
        cols.is_multiple_of(8)
            && std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("fma")
    }

    /// Whether [`super::product`] takes this kernel: where it [`runs`] and the gemm crate
    /// has no AVX-512 kernels to run instead (see the module's doc).
    pub(super) fn chosen(cols: usize) -> bool {
        runs(cols) && !std::is_x86_feature_detected!("avx512f")
    }

    /// [`super::product`] in f32; the caller checks [`runs`] first.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn product(
        rows: usize,
        cols: usize,
        depth: usize,
        a: &[f32],
        a_strides: [usize; 2],
        b: &[f32],
        b_row: usize,
        out: &mut [f32],
        out_row: usize,
    ) {
        assert!(cols.is_multiple_of(8));
        let b_strides = [b_row, 1];
        if !strided_product_needed(rows, cols, depth, a, a_strides, b, b_strides, out, out_row) {
            return;
        }
        let operands = Operands {
            a: a.as_ptr(),
            a_strides,
            b: b.as_ptr(),
            b_row,
            out: out.as_mut_ptr(),
            out_row,
            depth,
        };
        // SAFETY: `runs()` was checked by the caller; `strided_product_needed` bounds every
        // element that rows < `rows`, columns < `cols` (in whole registers) and k < `depth`
        // reach through the strides.
        unsafe { product_avx2(&operands, rows, cols) }
    }

    /// The operands of one product, as pointers and strides.
    struct Operands {
        a: *const f32,
        a_strides: [usize; 2],
        b: *const f32,
        b_row: usize,
        out: *mut f32,
        out_row: usize,
        depth: usize,
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn product_avx2(o: &Operands, rows: usize, cols: usize) {
        // Rows in tiles of 6, then one of the rest; along each, columns in blocks of 16, then
        // one of 8, so that a tile's rows of the left operand stay in L1 across its columns.
        let mut i = 0;
        while i + ROWS <= rows {
            row_tile::<ROWS>(o, i, cols);
            i += ROWS;
        }
        match rows - i {
            1 => row_tile::<1>(o, i, cols),
            2 => row_tile::<2>(o, i, cols),
            3 => row_tile::<3>(o, i, cols),
            4 => row_tile::<4>(o, i, cols),
            5 => row_tile::<5>(o, i, cols),
            _ => {}
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn row_tile<const R: usize>(o: &Operands, i: usize, cols: usize) {
        let mut j = 0;
        while j + 16 <= cols {
            tile::<R, 2>(o, i, j);
            j += 16;
        }
        if j < cols {
            tile::<R, 1>(o, i, j);
        }
    }

    /// Rows i..i + R and registers j..j + 8V of `out`, summed over the whole depth in
    /// registers and stored once.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile<const R: usize, const V: usize>(o: &Operands, i: usize, j: usize) {
        let [row_stride, depth_stride] = o.a_strides;
        let a = o.a.add(i * row_stride);
        let mut sums = [[_mm256_setzero_ps(); V]; R];
        for k in 0..o.depth {
            let b = o.b.add(k * o.b_row + j);
            let b: [__m256; V] = std::array::from_fn(|v| _mm256_loadu_ps(b.add(8 * v)));
            let a = a.add(k * depth_stride);
            for (r, sums) in sums.iter_mut().enumerate() {
                let x = _mm256_broadcast_ss(&*a.add(r * row_stride));
                for (sum, &b) in sums.iter_mut().zip(&b) {
                    *sum = _mm256_fmadd_ps(x, b, *sum);
                }
            }
        }
        for (r, sums) in sums.iter().enumerate() {
            let out = o.out.add((i + r) * o.out_row + j);
            for (v, &sum) in sums.iter().enumerate() {
                _mm256_storeu_ps(out.add(8 * v), sum);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// out = a · b by the definition, in f64.
    fn reference(
        [rows, cols, depth]: [usize; 3],
        a: &[f32],
        [rs, ds]: [usize; 2],
        b: &[f32],
        b_row: usize,
    ) -> Vec<f64> {
        let mut out = vec![0.0; rows * cols];
        for i in 0..rows {
            for j in 0..cols {
                out[i * cols + j] = (0..depth)
                    .map(|k| a[i * rs + k * ds] as f64 * b[k * b_row + j] as f64)
                    .sum();
            }
        }
        out
    }

    type Product = fn(usize, usize, usize, &[f32], [usize; 2], &[f32], usize, &mut [f32], usize);

    #[test]
    fn products_equal_the_definition_on_every_tile_edge() {
        // The choice `product` makes here, and the AVX2 kernel itself wherever it runs, so
        // that it is tested on processors where the choice is the gemm crate too.
        let mut kernels: Vec<(&str, Product)> = vec![("product", product::<f32>)];
        #[cfg(target_arch = "x86_64")]
        if avx2::runs(8) {
            kernels.push(("avx2", avx2::product));
        }
        for (name, kernel) in kernels {
            products_equal_the_definition(name, kernel);
        }
    }

    fn products_equal_the_definition(name: &str, product: Product) {
        let value = |i: usize| ((i * 7919) % 61) as f32 / 30.0 - 1.0;
        // Rows across whole register tiles and every remainder; columns of one and two
        // registers and their mixes; depths from none to more than a tile's rows; the left
        // operand read along rows (the forward) and down columns (∂L/∂W).
        for rows in [1, 5, 6, 7, 12, 13] {
            for cols in [8, 16, 24, 40] {
                for depth in [0, 1, 3, 32] {
                    for transposed in [false, true] {
                        let a_strides = if transposed {
                            [1, rows + 2]
                        } else {
                            [depth + 3, 1]
                        };
                        let a: Vec<f32> = (0..(rows + 2) * (depth + 3)).map(value).collect();
                        let b_row = cols + 8;
                        let b: Vec<f32> = (0..depth.max(1) * b_row).map(|i| value(i + 5)).collect();
                        let out_row = cols + 4;
                        let mut out = vec![f32::NAN; rows * out_row];
                        product(
                            rows, cols, depth, &a, a_strides, &b, b_row, &mut out, out_row,
                        );
                        let expected = reference([rows, cols, depth], &a, a_strides, &b, b_row);
                        for i in 0..rows {
                            for j in 0..out_row {
                                let got = out[i * out_row + j];
                                if j < cols {
                                    let want = expected[i * cols + j];
                                    assert!(
                                        (got as f64 - want).abs() < 1e-5,
                                        "{name} {rows}x{cols}x{depth} at ({i}, {j}): {got} vs {want}"
                                    );
                                } else {
                                    assert!(got.is_nan(), "{name} wrote past column {cols}");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
