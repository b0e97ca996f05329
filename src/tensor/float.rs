//! The element types a tensor can hold: f32 for models, f64 for exact checks.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// A floating-point element type. Implemented for `f32` and `f64` only.
pub trait Float:
    num_traits::Float
    + num_traits::FromPrimitive
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
{
    /// `"f32"` or `"f64"`, as in safetensors and numpy.
    const DTYPE: &'static str;

    fn of(value: f64) -> Self;
    fn as_f64(self) -> f64;
}

impl Float for f32 {
    const DTYPE: &'static str = "f32";
    #[inline(always)]
    fn of(value: f64) -> Self {
        value as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    const DTYPE: &'static str = "f64";
    #[inline(always)]
    fn of(value: f64) -> Self {
        value
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
}

/// `values` as f32, when `T` is f32: for kernels written for f32 registers only.
pub fn f32s<T: Float>(values: &[T]) -> Option<&[f32]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>())
        // SAFETY: T is f32, checked just above, so the cast is the identity.
        .then(|| unsafe { std::slice::from_raw_parts(values.as_ptr().cast(), values.len()) })
}

/// [`f32s`] for a mutable slice.
pub fn f32s_mut<T: Float>(values: &mut [T]) -> Option<&mut [f32]> {
    (std::any::TypeId::of::<T>() == std::any::TypeId::of::<f32>())
        // SAFETY: T is f32, checked just above, so the cast is the identity.
        .then(|| unsafe {
            std::slice::from_raw_parts_mut(values.as_mut_ptr().cast(), values.len())
        })
}
