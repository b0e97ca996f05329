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
