//! A product shape as the GEMM benches take it, and the gemm crate called on it directly,
//! for the benches that compare nabla's products with the crate's own.

/// out (m×n) = a·b, with a m×k (stored k×m when `a_t`) and b k×n, all row-major.
pub struct Case {
    pub name: &'static str,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a_t: bool,
}

/// `out = a·b` for `c`'s shape on the gemm crate with `parallelism`.
pub fn crate_gemm(c: &Case, a: &[f32], b: &[f32], out: &mut [f32], parallelism: gemm::Parallelism) {
    let (rsa, csa) = if c.a_t { (1, c.m) } else { (c.k, 1) };
    assert!(a.len() >= c.m * c.k && b.len() >= c.k * c.n && out.len() >= c.m * c.n);
    // SAFETY: the assert bounds the contiguous m×k, k×n and m×n blocks the strides describe.
    unsafe {
        gemm::gemm(
            c.m,
            c.n,
            c.k,
            out.as_mut_ptr(),
            1,
            c.n as isize,
            false,
            a.as_ptr(),
            csa as isize,
            rsa as isize,
            b.as_ptr(),
            1,
            c.n as isize,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        );
    }
}
