//! The Winograd convolution's 16 products per tile position, out = a · b, on a register-tiled
//! kernel: AVX-512's (f32, whole 16-wide registers of columns) where the processor has it,
//! else AVX2's (whole 8-wide registers), else the gemm crate.
//!
//! Their depth is the layer's channels (32 to 64 in the labs' CNNs) or one task's tiles: so
//! short a sum leaves the gemm crate's blocking and packing, sized for long ones, as a large
//! share of each call (perf on an MNIST CNN epoch: its driver loop, packing and edge kernels
//! took 10% beside its 6×16 microkernel's 49%). Here one register tile reads both operands
//! where they lie, the left one a broadcast at a time along its strides, the right one's rows
//! whole. On AVX2 alone (6 rows × 16 columns), the MNIST CNN's second convolution, forward and
//! backward, went from 18.8 to 16.0 ms (`cargo bench --bench cnn_ops`, best of 4). On a
//! processor with AVX-512 (2-core AMD EPYC, family 26) the AVX2 kernel lost to the gemm
//! crate's 16-wide kernels (the same bench, two runs each: 11.7 and 10.1 ms against 8.9 and
//! 7.2), and the 16-wide tile here (12 rows × 32 columns) beat the crate: an MNIST CNN epoch
//! took 0.91× as long (median of 5 alternating pairs of
//! `nabla train --data fashion-mnist --model cnn --epochs 1 --threads 2`).

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
        if let Some(kernel) = x86::Kernel::chosen(cols) {
            return x86::product(
                kernel, rows, cols, depth, a, a_strides, b, b_row, out, out_row,
            );
        }
    }
    gemm_serial_strided(rows, cols, depth, a, a_strides, b, [b_row, 1], out, out_row);
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use crate::tensor::strided_product_needed;

    /// The register-tiled kernels, by the registers they run on.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Kernel {
        Avx2,
        Avx512,
    }

    impl Kernel {
        /// Whether this kernel runs here on `cols` columns: its instructions, and whole
        /// registers of columns.
        pub(super) fn runs(self, cols: usize) -> bool {
            match self {
                Kernel::Avx2 => {
                    cols.is_multiple_of(8)
                        && std::is_x86_feature_detected!("avx2")
                        && std::is_x86_feature_detected!("fma")
                }
                Kernel::Avx512 => {
                    cols.is_multiple_of(16) && std::is_x86_feature_detected!("avx512f")
                }
            }
        }

        /// The kernel [`super::product`] takes for `cols` columns, if any: AVX-512's where it
        /// runs, AVX2's where the processor has no AVX-512 (where it has, the gemm crate's
        /// 16-wide kernels beat the 8-wide one: see the module's doc), else none.
        pub(super) fn chosen(cols: usize) -> Option<Kernel> {
            if Kernel::Avx512.runs(cols) {
                Some(Kernel::Avx512)
            } else if Kernel::Avx2.runs(cols) && !std::is_x86_feature_detected!("avx512f") {
                Some(Kernel::Avx2)
            } else {
                None
            }
        }
    }

    /// [`super::product`] in f32 on `kernel`; the caller checks that it [`Kernel::runs`].
    #[allow(clippy::too_many_arguments)]
    pub(super) fn product(
        kernel: Kernel,
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
        assert!(kernel.runs(cols));
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
        // SAFETY: the processor has the kernel's instructions (asserted above);
        // `strided_product_needed` bounds every element that rows < `rows`, columns < `cols`
        // (in whole registers) and k < `depth` reach through the strides.
        unsafe {
            match kernel {
                Kernel::Avx2 => avx2::product(&operands, rows, cols),
                Kernel::Avx512 => avx512::product(&operands, rows, cols),
            }
        }
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

    /// One kernel per instruction set, the same code on its registers: `$rows` rows of 2
    /// registers of columns make one tile of accumulators, which leaves registers for the
    /// right operand's row and the broadcast (6 × 2 of AVX2's 16, 12 × 2 of AVX-512's 32).
    macro_rules! register_tiled {
        ($name:ident, $features:literal, $register:ty, $lanes:literal, $rows:literal,
         $zero:ident, $load:ident, $splat:ident, $fma:ident, $store:ident) => {
            mod $name {
                use super::Operands;
                use std::arch::x86_64::*;

                const ROWS: usize = $rows;
                const LANES: usize = $lanes;

                #[target_feature(enable = $features)]
                pub(super) unsafe fn product(o: &Operands, rows: usize, cols: usize) {
                    // Rows in tiles of ROWS, then one of the rest; along each, columns in
                    // blocks of two registers, then one, so that a tile's rows of the left
                    // operand stay in L1 across its columns.
                    let mut i = 0;
                    while i + ROWS <= rows {
                        row_tile::<ROWS>(o, i, cols);
                        i += ROWS;
                    }
                    match rows - i {
                        0 => {}
                        1 => row_tile::<1>(o, i, cols),
                        2 => row_tile::<2>(o, i, cols),
                        3 => row_tile::<3>(o, i, cols),
                        4 => row_tile::<4>(o, i, cols),
                        5 => row_tile::<5>(o, i, cols),
                        6 => row_tile::<6>(o, i, cols),
                        7 => row_tile::<7>(o, i, cols),
                        8 => row_tile::<8>(o, i, cols),
                        9 => row_tile::<9>(o, i, cols),
                        10 => row_tile::<10>(o, i, cols),
                        11 => row_tile::<11>(o, i, cols),
                        _ => unreachable!("a tile has at most 12 rows"),
                    }
                }

                #[inline]
                #[target_feature(enable = $features)]
                unsafe fn row_tile<const R: usize>(o: &Operands, i: usize, cols: usize) {
                    let mut j = 0;
                    while j + 2 * LANES <= cols {
                        tile::<R, 2>(o, i, j);
                        j += 2 * LANES;
                    }
                    if j < cols {
                        tile::<R, 1>(o, i, j);
                    }
                }

                /// Rows i..i + R and registers j..j + LANES·V of `out`, summed over the whole
                /// depth in registers and stored once.
                #[inline]
                #[target_feature(enable = $features)]
                unsafe fn tile<const R: usize, const V: usize>(o: &Operands, i: usize, j: usize) {
                    let [row_stride, depth_stride] = o.a_strides;
                    let a = o.a.add(i * row_stride);
                    let mut sums: [[$register; V]; R] = [[$zero(); V]; R];
                    for k in 0..o.depth {
                        let b = o.b.add(k * o.b_row + j);
                        let b: [$register; V] = std::array::from_fn(|v| $load(b.add(LANES * v)));
                        let a = a.add(k * depth_stride);
                        for (r, sums) in sums.iter_mut().enumerate() {
                            let x = $splat(*a.add(r * row_stride));
                            for (sum, &b) in sums.iter_mut().zip(&b) {
                                *sum = $fma(x, b, *sum);
                            }
                        }
                    }
                    for (r, sums) in sums.iter().enumerate() {
                        let out = o.out.add((i + r) * o.out_row + j);
                        for (v, &sum) in sums.iter().enumerate() {
                            $store(out.add(LANES * v), sum);
                        }
                    }
                }
            }
        };
    }

    register_tiled!(
        avx2,
        "avx2,fma",
        __m256,
        8,
        6,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_storeu_ps
    );
    register_tiled!(
        avx512,
        "avx512f",
        __m512,
        16,
        12,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        _mm512_storeu_ps
    );
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
        products_equal_the_definition("product", 1, product::<f32>);
        #[cfg(target_arch = "x86_64")]
        {
            use x86::Kernel;
            if Kernel::Avx2.runs(8) {
                products_equal_the_definition("avx2", 8, |r, c, d, a, s, b, br, o, or| {
                    x86::product(Kernel::Avx2, r, c, d, a, s, b, br, o, or)
                });
            }
            if Kernel::Avx512.runs(16) {
                products_equal_the_definition("avx512", 16, |r, c, d, a, s, b, br, o, or| {
                    x86::product(Kernel::Avx512, r, c, d, a, s, b, br, o, or)
                });
            }
        }
    }

    /// `product` on every shape of the test whose columns fill whole registers of `lanes`.
    fn products_equal_the_definition(name: &str, lanes: usize, product: Product) {
        let value = |i: usize| ((i * 7919) % 61) as f32 / 30.0 - 1.0;
        // Rows across whole register tiles and every remainder; columns of one and two
        // registers and their mixes; depths from none to more than a tile's rows; the left
        // operand read along rows (the forward) and down columns (∂L/∂W).
        for rows in [1, 5, 6, 7, 11, 12, 13, 25] {
            for cols in [8, 16, 24, 32, 40, 48, 80]
                .into_iter()
                .filter(|c| c % lanes == 0)
            {
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
