//! Buffers kept across training steps, so a step after the first allocates nothing.
//!
//! In this crate's test builds (`cfg(test)`, and the `poison-buffers` feature that
//! `scripts/test.sh` turns on for the integration tests) every buffer `take` hands out is
//! filled with NaN, so an op that reads a buffer before writing every element fails its tests
//! loudly instead of corrupting only a real training run. Benchmarks build without it: the
//! fills would be timed with the ops.

use crate::tensor::{Float, Shape, Tensor};
use std::collections::HashMap;

/// Whether `take` fills buffers with NaN (test builds only; see the module docs).
pub const POISONED: bool = cfg!(any(test, feature = "poison-buffers"));

/// Free buffers by length. Every step asks for the same sizes in the same order, so after
/// one step each request is met from here.
#[derive(Default)]
pub struct BufferPool<T> {
    free: HashMap<usize, Vec<Vec<T>>>,
    /// The batch size of the steps that gave back the free buffers.
    batch: Option<usize>,
}

impl<T: Float> BufferPool<T> {
    /// Readies the pool for steps on `batch` samples: where the batch size changes, the free
    /// buffers (shaped for the old one) are dropped. Kept, every size a run meets (a short
    /// last batch, evaluation blocks, the 256-sample gradient probe) would hold a full set
    /// of buffers to the end, and the sets add up: dropping them took the MNIST CNN's
    /// 3-epoch run from a peak of 170-174 MB to 127-132 (`/usr/bin/time -f %M nabla train
    /// --data fashion-mnist --model cnn --epochs 3 --batch-size 128 --threads 2`).
    pub fn serve_batch(&mut self, batch: usize) {
        if self.batch != Some(batch) {
            self.free.clear();
            self.batch = Some(batch);
        }
    }

    /// A tensor of `shape` whose contents are unspecified (stale values from a past step).
    pub fn take(&mut self, shape: Shape) -> Tensor<T> {
        let len = shape.numel();
        let data = match self.free.get_mut(&len).and_then(Vec::pop) {
            Some(mut buffer) => {
                if POISONED {
                    buffer.fill(T::nan());
                }
                buffer
            }
            None if POISONED => vec![T::nan(); len],
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

    /// Keeps `tensor`'s buffer for a later `take` of the same length.
    pub fn give(&mut self, tensor: Tensor<T>) {
        let data = tensor.into_vec();
        if data.capacity() > 0 {
            self.free.entry(data.len()).or_default().push(data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_builds_hand_out_nan_buffers_fresh_and_recycled() {
        let mut pool = BufferPool::<f32>::default();
        let mut t = pool.take(Shape::new(&[2, 3]));
        assert!(t.data().iter().all(|v| v.is_nan()));
        t.data_mut().fill(1.0);
        pool.give(t);
        let again = pool.take(Shape::new(&[3, 2]));
        assert!(again.data().iter().all(|v| v.is_nan()));
        assert!(pool
            .take_zeroed(Shape::new(&[4]))
            .data()
            .iter()
            .all(|&v| v == 0.0));
    }

    #[test]
    fn a_new_batch_size_drops_the_free_buffers_and_the_same_one_keeps_them() {
        let mut pool = BufferPool::<f32>::default();
        pool.serve_batch(4);
        let t = pool.take(Shape::new(&[4, 3]));
        let address = t.data().as_ptr();
        pool.give(t);
        pool.serve_batch(4);
        let t = pool.take(Shape::new(&[4, 3]));
        assert_eq!(
            t.data().as_ptr(),
            address,
            "the same batch size reuses the buffer"
        );
        pool.give(t);
        pool.serve_batch(2);
        assert!(pool.free.values().all(Vec::is_empty));
    }
}
