//! Matrix products through `matrixmultiply`, with transposes as strides instead of copies.
//!
//! `benches/gemm_choice.rs` measures this crate against `gemm` on the MLP's shapes.

use super::Float;
use std::any::TypeId;

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transpose {
    No,
    Yes,
}

/// `c = a·b` (or `c += a·b` when `accumulate`), with `a` logically m×k and `b` k×n,
/// both row-major as stored and optionally transposed. `c` is m×n row-major.
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
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    // Row and column strides of the logical operands.
    let (rsa, csa) = match a_t {
        Transpose::No => (k as isize, 1),
        Transpose::Yes => (1, m as isize),
    };
    let (rsb, csb) = match b_t {
        Transpose::No => (n as isize, 1),
        Transpose::Yes => (1, k as isize),
    };
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(T::zero());
        }
        return;
    }
    let beta = if accumulate { 1.0 } else { 0.0 };
    // SAFETY: the asserts above bound every index the kernel touches (strides describe
    // contiguous m×k, k×n and m×n blocks), and the TypeId checks make the casts exact.
    unsafe {
        if TypeId::of::<T>() == TypeId::of::<f32>() {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr() as *const f32,
                rsa,
                csa,
                b.as_ptr() as *const f32,
                rsb,
                csb,
                beta as f32,
                c.as_mut_ptr() as *mut f32,
                n as isize,
                1,
            );
        } else if TypeId::of::<T>() == TypeId::of::<f64>() {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr() as *const f64,
                rsa,
                csa,
                b.as_ptr() as *const f64,
                rsb,
                csb,
                beta,
                c.as_mut_ptr() as *mut f64,
                n as isize,
                1,
            );
        } else {
            unreachable!("Float is implemented for f32 and f64 only");
        }
    }
}

/// Below this many multiply-adds a product runs on one thread: splitting costs more.
const PARALLEL_WORK: usize = 1 << 18;

/// The same product as [`gemm`], through the `gemm` crate instead of `matrixmultiply`.
///
/// Convolutions lowered by im2col multiply tall, narrow matrices (e.g. 25088×75 · 75×6 for
/// LeNet-5's first layer at batch 32). There `gemm` packs far less and threads over rayon's
/// pool; `benches/gemm_choice.rs` measures it 1.5-7x faster on those shapes, while
/// `matrixmultiply` stays ahead on some of the MLP's. Threads split the output only, never
/// the sum over k, so the result is the same for any thread count.
#[allow(clippy::too_many_arguments)]
pub fn gemm_im2col<T: Float>(
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
    let parallelism = if m * n * k >= PARALLEL_WORK && rayon::current_num_threads() > 1 {
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

    #[test]
    fn both_backends_agree_for_every_transpose_and_accumulate() {
        let (m, n, k) = (37, 19, 23);
        let (a, b) = (values(m * k, 1), values(k * n, 2));
        for a_t in [Transpose::No, Transpose::Yes] {
            for b_t in [Transpose::No, Transpose::Yes] {
                for accumulate in [false, true] {
                    let mut c1 = values(m * n, 3);
                    let mut c2 = c1.clone();
                    gemm(m, n, k, &a, a_t, &b, b_t, &mut c1, accumulate);
                    gemm_im2col(m, n, k, &a, a_t, &b, b_t, &mut c2, accumulate);
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
    fn im2col_product_does_not_depend_on_the_thread_count() {
        let (m, n, k) = (3000, 16, 150);
        let (a, b) = (values(m * k, 4), values(k * n, 5));
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut c = vec![0.0f32; m * n];
            pool.install(|| {
                gemm_im2col(m, n, k, &a, Transpose::No, &b, Transpose::No, &mut c, false)
            });
            let mut d = vec![0.0f32; k * n];
            pool.install(|| {
                gemm_im2col(
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
