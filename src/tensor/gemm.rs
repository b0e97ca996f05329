//! Matrix products through the `gemm` crate, with transposes as strides instead of copies.
//!
//! `benches/gemm_choice.rs` measures it against `matrixmultiply` on the MLP's and the CNNs'
//! shapes: `gemm` packs less for the tall, narrow products of im2col convolutions (1.5-7x
//! faster there) and is level or ahead on the MLP's.

use super::Float;

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transpose {
    No,
    Yes,
}

/// Below this many multiply-adds a product runs on one thread: splitting costs more.
/// Measured on 2 cores (`benches/gemm_choice.rs`): the MLP's 32×784·784×128 (3.2M) is slower
/// on two threads than on one, LeNet-5's 3200×150·150×16 (7.7M) and anything larger faster.
const PARALLEL_WORK: usize = 1 << 22;

/// `c = a·b` (or `c += a·b` when `accumulate`), with `a` logically m×k and `b` k×n,
/// both row-major as stored and optionally transposed. `c` is m×n row-major.
///
/// Threads split the output only, never the sum over k, so the result is the same for any
/// thread count.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_t: Transpose,
    b: &[T],
    b_t: Transpose,
    c: &mut [T],
    accumulate: bool,
) {
    let threads = rayon::current_num_threads();
    let parallel = m * n * k >= PARALLEL_WORK && threads > 1;
    gemm_on(m, n, k, a, a_t, b, b_t, c, accumulate, parallel);
}

/// [`gemm()`] on the calling thread only: for a product that is one of many tasks already
/// spread over the threads (a group of images), where splitting it again would only add
/// hand-overs. The result is the same as [`gemm()`]'s.
#[allow(clippy::too_many_arguments)]
pub fn gemm_serial<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_t: Transpose,
    b: &[T],
    b_t: Transpose,
    c: &mut [T],
    accumulate: bool,
) {
    gemm_on(m, n, k, a, a_t, b, b_t, c, accumulate, false);
}

/// `c = a·b` on the calling thread, each operand read at its own strides: `a` (m×k) at
/// `[row stride, column stride]` `a_strides`, `b` (k×n) at `b_strides`, and `c` (m×n) with
/// rows `c_row_stride` apart. For products that read and write blocks of larger buffers in
/// place (the 16 products of a Winograd convolution, one per tile position), transposed or
/// not, instead of copying them out first.
#[allow(clippy::too_many_arguments)]
pub fn gemm_serial_strided<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_strides: [usize; 2],
    b: &[T],
    b_strides: [usize; 2],
    c: &mut [T],
    c_row_stride: usize,
) {
    if !strided_product_needed(m, n, k, a, a_strides, b, b_strides, c, c_row_stride) {
        return;
    }
    // SAFETY: `strided_product_needed` bounds every index the strides describe.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            c_row_stride as isize,
            false,
            a.as_ptr(),
            a_strides[1] as isize,
            a_strides[0] as isize,
            b.as_ptr(),
            b_strides[1] as isize,
            b_strides[0] as isize,
            T::zero(),
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// The checks of a strided product `c = a·b` as [`gemm_serial_strided`] takes it, for it and
/// for kernels that read the same operands by pointer: panics unless every element that
/// rows < m, columns < n and k < `k` reach through the strides lies inside its slice, writes
/// `c`'s zeros itself when the sum is empty, and says whether a product is left to compute.
#[allow(clippy::too_many_arguments)]
pub fn strided_product_needed<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_strides: [usize; 2],
    b: &[T],
    b_strides: [usize; 2],
    c: &mut [T],
    c_row_stride: usize,
) -> bool {
    if m == 0 || n == 0 {
        return false;
    }
    // The last element each operand's strides reach.
    let last = |rows: usize, cols: usize, [rs, cs]: [usize; 2]| (rows - 1) * rs + (cols - 1) * cs;
    assert!(c_row_stride >= n && c.len() > last(m, n, [c_row_stride, 1]));
    if k == 0 {
        for row in c.chunks_mut(c_row_stride).take(m) {
            row[..n].fill(T::zero());
        }
        return false;
    }
    assert!(a.len() > last(m, k, a_strides) && b.len() > last(k, n, b_strides));
    true
}

#[allow(clippy::too_many_arguments)]
fn gemm_on<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    a: &[T],
    a_t: Transpose,
    b: &[T],
    b_t: Transpose,
    c: &mut [T],
    accumulate: bool,
    parallel: bool,
) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(T::zero());
        }
        return;
    }
    // (row stride, column stride) of each logical operand.
    let (rsa, csa) = match a_t {
        Transpose::No => (k as isize, 1),
        Transpose::Yes => (1, m as isize),
    };
    let (rsb, csb) = match b_t {
        Transpose::No => (n as isize, 1),
        Transpose::Yes => (1, k as isize),
    };
    let parallelism = if parallel {
        gemm::Parallelism::Rayon(rayon::current_num_threads())
    } else {
        gemm::Parallelism::None
    };
    // gemm computes dst = alpha·dst + beta·a·b, reading dst only when asked.
    let alpha = if accumulate { T::one() } else { T::zero() };
    // SAFETY: the assert above bounds every index the strides describe: contiguous m×k,
    // k×n and m×n blocks.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            csa,
            rsa,
            b.as_ptr(),
            csb,
            rsb,
            alpha,
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919 + seed * 104729) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// c = a·b (+ c) by the definition, with the operands' logical indexing.
    #[allow(clippy::too_many_arguments)]
    fn naive(
        m: usize,
        n: usize,
        k: usize,
        a: &[f32],
        a_t: Transpose,
        b: &[f32],
        b_t: Transpose,
        c: &mut [f32],
        accumulate: bool,
    ) {
        for i in 0..m {
            for j in 0..n {
                let mut sum = 0.0f64;
                for p in 0..k {
                    let x = if a_t == Transpose::No {
                        a[i * k + p]
                    } else {
                        a[p * m + i]
                    };
                    let y = if b_t == Transpose::No {
                        b[p * n + j]
                    } else {
                        b[j * k + p]
                    };
                    sum += x as f64 * y as f64;
                }
                let base = if accumulate { c[i * n + j] as f64 } else { 0.0 };
                c[i * n + j] = (base + sum) as f32;
            }
        }
    }

    #[test]
    fn matches_the_definition_for_every_transpose_and_accumulate() {
        let (m, n, k) = (37, 19, 23);
        let (a, b) = (values(m * k, 1), values(k * n, 2));
        for a_t in [Transpose::No, Transpose::Yes] {
            for b_t in [Transpose::No, Transpose::Yes] {
                for accumulate in [false, true] {
                    let mut c1 = values(m * n, 3);
                    let mut c2 = c1.clone();
                    gemm(m, n, k, &a, a_t, &b, b_t, &mut c1, accumulate);
                    naive(m, n, k, &a, a_t, &b, b_t, &mut c2, accumulate);
                    for (x, y) in c1.iter().zip(&c2) {
                        assert!(
                            (x - y).abs() < 1e-4,
                            "{a_t:?} {b_t:?} {accumulate}: {x} vs {y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn strided_rows_read_and_write_only_their_blocks() {
        // a's rows 11 apart (k = 5), c's rows 9 apart (n = 4): the gaps must stay untouched.
        let (m, n, k) = (13, 4, 5);
        let a = values((m - 1) * 11 + k, 6);
        let b = values(k * n, 7);
        let mut c = vec![7.0f32; (m - 1) * 9 + n];
        gemm_serial_strided(m, n, k, &a, [11, 1], &b, [n, 1], &mut c, 9);
        let dense_a: Vec<f32> = (0..m).flat_map(|i| a[i * 11..][..k].to_vec()).collect();
        let mut expected = vec![0.0f32; m * n];
        naive(
            m,
            n,
            k,
            &dense_a,
            Transpose::No,
            &b,
            Transpose::No,
            &mut expected,
            false,
        );
        for i in 0..m {
            for j in 0..9.min(c.len() - i * 9) {
                let got = c[i * 9 + j];
                if j < n {
                    assert!((got - expected[i * n + j]).abs() < 1e-4, "{i},{j}");
                } else {
                    assert_eq!(got, 7.0, "gap at {i},{j} was written");
                }
            }
        }
        // aᵀ read in place: the same product from the columns of a k×m matrix whose rows lie
        // 15 apart.
        let a_t: Vec<f32> = (0..k)
            .flat_map(|p| {
                let dense_a = &dense_a;
                (0..15).map(move |i| if i < m { dense_a[i * k + p] } else { 9.0 })
            })
            .collect();
        let mut c_t = vec![0.0f32; m * n];
        gemm_serial_strided(m, n, k, &a_t, [1, 15], &b, [n, 1], &mut c_t, n);
        for (x, y) in c_t.iter().zip(&expected) {
            assert!((x - y).abs() < 1e-4, "{x} vs {y}");
        }
    }

    #[test]
    fn product_does_not_depend_on_the_thread_count() {
        // Large enough (7.2M multiply-adds) to be split across threads.
        let (m, n, k) = (3000, 16, 150);
        let (a, b) = (values(m * k, 4), values(k * n, 5));
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut c = vec![0.0f32; m * n];
            pool.install(|| gemm(m, n, k, &a, Transpose::No, &b, Transpose::No, &mut c, false));
            let mut d = vec![0.0f32; k * n];
            pool.install(|| {
                gemm(
                    k,
                    n,
                    m,
                    &a,
                    Transpose::Yes,
                    &c,
                    Transpose::No,
                    &mut d,
                    false,
                )
            });
            (c, d)
        };
        assert_eq!(run(1), run(2));
        assert_eq!(run(1), run(3));
    }
}
