//! Wider vector units for elementwise loops, chosen at run time.
//!
//! The crate is compiled for baseline x86-64 (SSE2) so the binary runs anywhere. Hot
//! elementwise loops are written once, as plain scalar code marked `#[inline(always)]`, and
//! `with_wide_simd` re-instantiates them inside a function compiled for AVX2 when the
//! processor has it, where LLVM vectorizes them 8 floats wide. Results are bit-identical
//! either way: each element sees the same IEEE operations (Rust never contracts a·b + c
//! into an FMA on its own), only more of them at once.
//!
//! A closure passed to `with_wide_simd` is a function of its own, which LLVM may leave
//! un-inlined and so compiled for SSE2 (perf showed it for the bias+activation loops). For
//! hot loops, `wide_simd_fn!` instead puts the body itself in the wide function, one copy
//! for AVX-512 (16 floats wide) and one for AVX2. `with_wide_simd` stays AVX2 only: with a
//! third copy LLVM stopped inlining the Adam closure, which then ran as SSE2 code.

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

/// Defines a function whose body runs in a copy compiled for AVX2 when the processor has it,
/// and as plain code otherwise. The body is pasted into both, so nothing depends on inlining.
///
/// ```ignore
/// wide_simd_fn! {
///     /// Doc comment.
///     fn scale<T: Float>(xs: &mut [T], by: T) {
///         for x in xs { *x *= by; }
///     }
/// }
/// ```
macro_rules! wide_simd_fn {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident<$($g:ident: $bound:path),*>($($arg:ident: $ty:ty),* $(,)?)
            $(-> $ret:ty)? $body:block
    ) => {
        $(#[$meta])*
        $vis fn $name<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            unsafe fn avx512<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            unsafe fn avx2<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the processor supports AVX-512F, checked just above.
                return unsafe { avx512::<$($g),*>($($arg),*) };
            }
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor supports AVX2, checked just above.
                return unsafe { avx2::<$($g),*>($($arg),*) };
            }
            $body
        }
    };
}
pub(crate) use wide_simd_fn;
