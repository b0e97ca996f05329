//! nabla's errors as Python exceptions: file problems are `OSError`, everything else
//! (shapes, settings, bad files' contents) `ValueError`, with nabla's message.

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::PyErr;

pub fn to_py(e: nabla::Error) -> PyErr {
    match e {
        nabla::Error::Io { .. } => PyOSError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}
