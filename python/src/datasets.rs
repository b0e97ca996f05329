//! Datasets as Keras's `load_data()` returns them: uint8 images and labels, from Keras's own
//! cache first (what `tensorflow.keras` would read), then nabla's resolver (nabla's cache,
//! then a checked download).

use crate::errors::to_py;
use nabla::data::{
    from_keras_cache, keras_datasets_dir, mnist_sample, resolve, Dataset, DatasetName, Features,
    ResolveOptions,
};
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use std::path::PathBuf;

type Arrays<'py> = (Bound<'py, PyArrayDyn<u8>>, Bound<'py, PyArrayDyn<u8>>);

fn to_numpy<'py>(py: Python<'py>, d: Dataset) -> PyResult<Arrays<'py>> {
    let Features::U8(pixels) = d.features else {
        return Err(PyValueError::new_err("expected a dataset of uint8 images"));
    };
    let mut dims = vec![d.labels.len()];
    dims.extend(&d.sample_shape);
    let x = ArrayD::from_shape_vec(IxDyn(&dims), pixels)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let labels: Vec<u8> = d.labels.iter().map(|&l| l as u8).collect();
    let y = ArrayD::from_shape_vec(IxDyn(&[labels.len()]), labels)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((x.into_pyarray(py), y.into_pyarray(py)))
}

/// ((x_train, y_train), (x_test, y_test)) of `name` (`mnist`, `fashion_mnist`, `cifar10`),
/// images with a trailing channel axis, from Keras's cache (`$KERAS_HOME/datasets` or
/// `~/.keras/datasets`, in Keras's layout), else nabla's cache, else downloaded into nabla's
/// cache; `dir` names a folder to read instead of searching.
#[pyfunction]
#[pyo3(signature = (name, dir=None))]
pub fn load_dataset<'py>(
    py: Python<'py>,
    name: &str,
    dir: Option<PathBuf>,
) -> PyResult<(Arrays<'py>, Arrays<'py>)> {
    let name: DatasetName = name.parse().map_err(to_py)?;
    let options = ResolveOptions {
        dir,
        progress: true,
        ..ResolveOptions::default()
    };
    let (train, test) = py
        .allow_threads(|| {
            let keras = options.dir.is_none().then(keras_datasets_dir).flatten();
            match keras.and_then(|k| from_keras_cache(name, &k)) {
                Some(found) => found,
                None => resolve(name, &options),
            }
        })
        .map_err(to_py)?;
    Ok((to_numpy(py, train)?, to_numpy(py, test)?))
}

/// nabla's built-in 5,000-digit MNIST sample (4,000 train / 1,000 test, 28x28x1 uint8):
/// data for examples and tests that must run without a download.
#[pyfunction]
#[pyo3(name = "mnist_sample")]
pub fn sample_arrays<'py>(py: Python<'py>) -> PyResult<(Arrays<'py>, Arrays<'py>)> {
    let (train, test) = mnist_sample().map_err(to_py)?;
    Ok((to_numpy(py, train)?, to_numpy(py, test)?))
}
