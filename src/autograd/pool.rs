//! Buffers kept across training steps, so a step after the first allocates nothing.

use crate::tensor::{Float, Shape, Tensor};
use std::collections::HashMap;

/// Free buffers by length. Every step asks for the same sizes in the same order, so after
/// one step each request is met from here.
#[derive(Default)]
pub struct BufferPool<T> {
    free: HashMap<usize, Vec<Vec<T>>>,
}

impl<T: Float> BufferPool<T> {
    /// A tensor of `shape` whose contents are unspecified (stale values from a past step).
    pub fn take(&mut self, shape: Shape) -> Tensor<T> {
        let len = shape.numel();
        let data = match self.free.get_mut(&len).and_then(Vec::pop) {
            Some(buffer) => buffer,
            None => vec![T::zero(); len],
        };
        Tensor::from_parts(data, shape)
    }

    /// A tensor of `shape` filled with zeros.
    pub fn take_zeroed(&mut self, shape: Shape) -> Tensor<T> {
        let mut t = self.take(shape);
        t.data_mut().fill(T::zero());
        t
    }

    pub fn give(&mut self, tensor: Tensor<T>) {
        let data = tensor.into_vec();
        if data.capacity() > 0 {
            self.free.entry(data.len()).or_default().push(data);
        }
    }
}
