//! Where batches come from: a stored `Dataset`, or plain tensors as Keras's `fit(x, y)` takes.

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::tensor::{Float, Tensor};

/// A source of (input, dense target) rows that the training loop gathers batches from.
pub trait BatchSource<T: Float> {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Shape of one input sample.
    fn input_shape(&self) -> &[usize];

    /// Width of one target row (the number of classes for one-hot targets).
    fn target_width(&self) -> usize;

    /// Writes the samples at `indices` into `x` and their targets into `y`, row by row.
    fn fill(&self, indices: &[usize], x: &mut [T], y: &mut [T]);

    /// Class labels, where the targets are classes (for confusion matrices and reports).
    fn labels(&self) -> Option<&[u32]> {
        None
    }
}

impl<T: Float> BatchSource<T> for Dataset {
    fn len(&self) -> usize {
        Dataset::len(self)
    }

    fn input_shape(&self) -> &[usize] {
        &self.sample_shape
    }

    fn target_width(&self) -> usize {
        self.num_classes
    }

    fn fill(&self, indices: &[usize], x: &mut [T], y: &mut [T]) {
        let k = self.num_classes;
        self.write_samples(indices, x);
        for (row, &i) in indices.iter().enumerate() {
            self.write_one_hot(i, &mut y[row * k..(row + 1) * k]);
        }
    }

    fn labels(&self) -> Option<&[u32]> {
        Some(&self.labels)
    }
}

/// Inputs and dense targets held as tensors, first axis the sample.
pub struct TensorData<T> {
    x: Tensor<T>,
    y: Tensor<T>,
    input_shape: Vec<usize>,
}

impl<T: Float> TensorData<T> {
    /// `x` of shape (n, ...) and `y` of shape (n, width) or (n,) for one output.
    pub fn new(x: Tensor<T>, y: Tensor<T>) -> Result<Self> {
        let (n, m) = (x.shape().batch(), y.shape().batch());
        if x.shape().rank() < 2 || n != m || y.shape().rank() > 2 {
            return Err(Error::shape(format!(
                "fit needs x of shape (n, ...) and y of shape (n, width); got {} and {}",
                x.shape(),
                y.shape()
            )));
        }
        let input_shape = x.dims()[1..].to_vec();
        Ok(TensorData { x, y, input_shape })
    }

    /// `x` with integer class labels, turned into one-hot rows of `num_classes`.
    pub fn classes(x: Tensor<T>, labels: &[u32], num_classes: usize) -> Result<Self> {
        let mut y = Tensor::zeros([labels.len(), num_classes]);
        for (i, &l) in labels.iter().enumerate() {
            if l as usize >= num_classes {
                return Err(Error::invalid(format!(
                    "label {l} of sample {i} is out of range for {num_classes} classes"
                )));
            }
            y.data_mut()[i * num_classes + l as usize] = T::one();
        }
        Self::new(x, y)
    }
}

impl<T: Float> BatchSource<T> for TensorData<T> {
    fn len(&self) -> usize {
        self.x.shape().batch()
    }

    fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    fn target_width(&self) -> usize {
        self.y.shape().row_len().max(1)
    }

    fn fill(&self, indices: &[usize], x: &mut [T], y: &mut [T]) {
        let (n, k) = (
            self.x.shape().row_len(),
            BatchSource::<T>::target_width(self),
        );
        for (row, &i) in indices.iter().enumerate() {
            x[row * n..(row + 1) * n].copy_from_slice(&self.x.data()[i * n..(i + 1) * n]);
            y[row * k..(row + 1) * k].copy_from_slice(&self.y.data()[i * k..(i + 1) * k]);
        }
    }
}
