//! Tensor shapes: up to six dimensions, stored inline so a shape never allocates.

use std::fmt;

const MAX_RANK: usize = 6;

/// The dimensions of a row-major tensor. `Copy`, so ops pass shapes around for free.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Shape {
    dims: [usize; MAX_RANK],
    rank: u8,
}

impl Shape {
    /// A shape from its dimensions. Panics on more than six: no layer makes such tensors.
    pub fn new(dims: &[usize]) -> Self {
        assert!(
            dims.len() <= MAX_RANK,
            "tensors have at most {MAX_RANK} dimensions"
        );
        let mut inline = [0; MAX_RANK];
        inline[..dims.len()].copy_from_slice(dims);
        Shape {
            dims: inline,
            rank: dims.len() as u8,
        }
    }

    pub fn scalar() -> Self {
        Shape::new(&[])
    }

    pub fn dims(&self) -> &[usize] {
        &self.dims[..self.rank as usize]
    }

    pub fn rank(&self) -> usize {
        self.rank as usize
    }

    /// Number of elements (1 for a scalar).
    pub fn numel(&self) -> usize {
        self.dims().iter().product()
    }

    /// Size of dimension `axis`; negative counts from the end like numpy.
    pub fn dim(&self, axis: isize) -> usize {
        let rank = self.rank() as isize;
        let index = if axis < 0 { rank + axis } else { axis };
        self.dims()[index as usize]
    }

    /// The first dimension (the batch), 1 for a scalar.
    pub fn batch(&self) -> usize {
        self.dims().first().copied().unwrap_or(1)
    }

    /// Elements per batch row: everything but the first dimension.
    pub fn row_len(&self) -> usize {
        self.dims().iter().skip(1).product()
    }

    /// The same shape with a different first dimension.
    pub fn with_batch(&self, batch: usize) -> Self {
        let mut out = *self;
        if out.rank > 0 {
            out.dims[0] = batch;
        }
        out
    }

    /// Prepends a batch dimension to a per-sample shape.
    pub fn batched(batch: usize, sample: &[usize]) -> Self {
        let mut dims = Vec::with_capacity(sample.len() + 1);
        dims.push(batch);
        dims.extend_from_slice(sample);
        Shape::new(&dims)
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.dims())
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(")?;
        for (i, d) in self.dims().iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        if self.rank() == 1 {
            write!(f, ",")?;
        }
        write!(f, ")")
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Self {
        Shape::new(dims)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Self {
        Shape::new(&dims)
    }
}
