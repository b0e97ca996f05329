//! Contiguous row-major tensors and the GEMM they multiply with.

mod float;
mod gemm;
mod shape;
pub mod simd;

pub use float::{f32s, f32s_mut, Float};
pub use gemm::{gemm, gemm_serial, gemm_serial_strided, strided_product_needed, Transpose};
pub use shape::Shape;

use crate::error::{Error, Result};

/// A dense row-major tensor that owns its elements.
#[derive(Clone, PartialEq, Default)]
pub struct Tensor<T> {
    shape: Shape,
    data: Vec<T>,
}

impl<T: Float> Tensor<T> {
    /// A tensor from elements and a shape; the element count must match.
    pub fn from_vec(data: Vec<T>, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        if shape.numel() != data.len() {
            return Err(Error::shape(format!(
                "{} elements cannot fill shape {shape}",
                data.len()
            )));
        }
        Ok(Tensor { shape, data })
    }

    pub fn zeros(shape: impl Into<Shape>) -> Self {
        Self::full(shape, T::zero())
    }

    pub fn full(shape: impl Into<Shape>, value: T) -> Self {
        let shape = shape.into();
        Tensor {
            data: vec![value; shape.numel()],
            shape,
        }
    }

    pub fn scalar(value: T) -> Self {
        Tensor {
            shape: Shape::scalar(),
            data: vec![value],
        }
    }

    /// A tensor from f64 values, converted to `T`.
    pub fn from_f64(values: &[f64], shape: impl Into<Shape>) -> Result<Self> {
        Self::from_vec(values.iter().map(|&v| T::of(v)).collect(), shape)
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    pub fn numel(&self) -> usize {
        self.data.len()
    }

    pub fn data(&self) -> &[T] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// The single element of a one-element tensor.
    pub fn item(&self) -> T {
        debug_assert_eq!(self.data.len(), 1);
        self.data[0]
    }

    /// The same elements under another shape with as many elements.
    pub fn reshape(mut self, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        if shape.numel() != self.data.len() {
            return Err(Error::shape(format!(
                "cannot reshape {} into {shape}",
                self.shape
            )));
        }
        self.shape = shape;
        Ok(self)
    }

    /// Element type conversion (f32 <-> f64), e.g. to gradient-check a trained model.
    pub fn cast<U: Float>(&self) -> Tensor<U> {
        Tensor {
            shape: self.shape,
            data: self.data.iter().map(|&v| U::of(v.as_f64())).collect(),
        }
    }

    /// Rows `start..start + len` along the first axis, copied.
    pub fn rows(&self, start: usize, len: usize) -> Tensor<T> {
        let row = self.shape.row_len();
        Tensor {
            shape: self.shape.with_batch(len),
            data: self.data[start * row..(start + len) * row].to_vec(),
        }
    }

    /// Index of the largest element of each row (ties go to the first, like numpy).
    pub fn argmax_rows(&self) -> Vec<usize> {
        let row = self.shape.row_len().max(1);
        self.data
            .chunks(row)
            .map(|r| {
                let mut best = 0;
                for (i, &v) in r.iter().enumerate() {
                    if v > r[best] {
                        best = i;
                    }
                }
                best
            })
            .collect()
    }

    pub(crate) fn from_parts(data: Vec<T>, shape: Shape) -> Self {
        debug_assert_eq!(data.len(), shape.numel());
        Tensor { shape, data }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 8;
        write!(
            f,
            "Tensor<{}>{:?} [",
            std::any::type_name::<T>(),
            self.shape
        )?;
        for (i, v) in self.data.iter().take(SHOWN).enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{v:?}")?;
        }
        if self.data.len() > SHOWN {
            write!(f, ", …")?;
        }
        write!(f, "]")
    }
}
