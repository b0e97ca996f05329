//! numpy arrays as a batch source, borrowed rather than copied: `fit`, `evaluate` and
//! `predict` gather each batch straight from the caller's memory (uint8, float32 or float64,
//! C-contiguous), so a 60,000-image uint8 array costs nothing extra.

use nabla::train::BatchSource;
use numpy::{
    PyArrayDyn, PyArrayMethods, PyReadonlyArray2, PyReadonlyArrayDyn, PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// A borrowed numpy array of one of the element types nabla takes.
pub enum Held<'py> {
    U8(PyReadonlyArrayDyn<'py, u8>),
    F32(PyReadonlyArrayDyn<'py, f32>),
    F64(PyReadonlyArrayDyn<'py, f64>),
}

impl<'py> Held<'py> {
    pub fn extract(x: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = x.downcast::<PyArrayDyn<f32>>() {
            return Ok(Held::F32(a.try_readonly()?));
        }
        if let Ok(a) = x.downcast::<PyArrayDyn<u8>>() {
            return Ok(Held::U8(a.try_readonly()?));
        }
        if let Ok(a) = x.downcast::<PyArrayDyn<f64>>() {
            return Ok(Held::F64(a.try_readonly()?));
        }
        Err(PyTypeError::new_err(
            "nabla takes numpy arrays of uint8, float32 or float64",
        ))
    }

    pub fn shape(&self) -> Vec<usize> {
        match self {
            Held::U8(a) => a.shape().to_vec(),
            Held::F32(a) => a.shape().to_vec(),
            Held::F64(a) => a.shape().to_vec(),
        }
    }

    /// The values in memory order; the Python side passes C-contiguous arrays.
    pub fn values(&self) -> PyResult<Values<'_>> {
        let err = |_| PyValueError::new_err("nabla needs C-contiguous arrays");
        Ok(match self {
            Held::U8(a) => Values::U8(a.as_slice().map_err(err)?),
            Held::F32(a) => Values::F32(a.as_slice().map_err(err)?),
            Held::F64(a) => Values::F64(a.as_slice().map_err(err)?),
        })
    }
}

/// Plain slices, free of the GIL: what the training loop reads while Python runs on.
#[derive(Clone, Copy)]
pub enum Values<'a> {
    U8(&'a [u8]),
    F32(&'a [f32]),
    F64(&'a [f64]),
}

/// Samples (first axis) with optional dense targets; without targets (predict) the target
/// rows are zeros of `width`.
pub struct ArraySource<'a> {
    x: Values<'a>,
    y: Option<&'a [f32]>,
    input_shape: Vec<usize>,
    n: usize,
    row: usize,
    width: usize,
}

impl<'a> ArraySource<'a> {
    pub fn new(
        x: Values<'a>,
        shape: &[usize],
        y: Option<(&'a [f32], usize)>,
        width: usize,
    ) -> PyResult<Self> {
        let Some((&n, sample)) = shape.split_first() else {
            return Err(PyValueError::new_err("x must have a batch axis"));
        };
        if sample.is_empty() {
            return Err(PyValueError::new_err(format!(
                "x has shape {shape:?}: nabla needs (samples, features...)"
            )));
        }
        let row = sample.iter().product();
        let (y, width) = match y {
            Some((values, width)) => {
                if values.len() != n * width {
                    return Err(PyValueError::new_err(format!(
                        "x has {n} samples but y has {} rows of {width}",
                        values.len() / width.max(1)
                    )));
                }
                (Some(values), width)
            }
            None => (None, width),
        };
        Ok(ArraySource {
            x,
            y,
            input_shape: sample.to_vec(),
            n,
            row,
            width,
        })
    }
}

impl BatchSource<f32> for ArraySource<'_> {
    fn len(&self) -> usize {
        self.n
    }

    fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    fn target_width(&self) -> usize {
        self.width
    }

    fn fill(&self, indices: &[usize], x: &mut [f32], y: &mut [f32]) {
        let (r, k) = (self.row, self.width);
        for (out, &i) in indices.iter().enumerate() {
            let dst = &mut x[out * r..(out + 1) * r];
            match self.x {
                Values::F32(v) => dst.copy_from_slice(&v[i * r..(i + 1) * r]),
                Values::U8(v) => dst
                    .iter_mut()
                    .zip(&v[i * r..(i + 1) * r])
                    .for_each(|(d, &s)| *d = s as f32),
                Values::F64(v) => dst
                    .iter_mut()
                    .zip(&v[i * r..(i + 1) * r])
                    .for_each(|(d, &s)| *d = s as f32),
            }
            let target = &mut y[out * k..(out + 1) * k];
            match self.y {
                Some(values) => target.copy_from_slice(&values[i * k..(i + 1) * k]),
                None => target.fill(0.0),
            }
        }
    }
}

/// Dense float32 targets (n, width), as the Python side prepares them.
pub fn targets<'a>(y: &'a PyReadonlyArray2<'_, f32>) -> PyResult<(&'a [f32], usize)> {
    let width = y.shape()[1];
    let values = y
        .as_slice()
        .map_err(|_| PyValueError::new_err("y must be C-contiguous"))?;
    Ok((values, width))
}
