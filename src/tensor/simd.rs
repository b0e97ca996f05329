//! Wider vector units for elementwise loops, chosen at run time.
//!
//! The crate is compiled for baseline x86-64 (SSE2) so the binary runs anywhere. Hot
//! elementwise loops are written once, as plain scalar code marked `#[inline(always)]`, and
//! `with_wide_simd` re-instantiates them inside a function compiled for AVX2 + FMA when the
//! processor has it, where LLVM vectorizes them 8 floats wide. Results are bit-identical
//! either way: each element sees the same IEEE operations (Rust never contracts a·b + c
//! into an FMA on its own), only more of them at once.

/// Runs `f` in a context compiled for AVX2 when the processor supports it.
#[inline(always)]
pub fn with_wide_simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor supports AVX2, checked just above.
            return unsafe { avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
