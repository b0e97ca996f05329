//! `nabla._nabla`: the Rust side of the `nabla` Python package.
//!
//! Thin by design: each function turns numpy arrays and plain Python values into one call of
//! the nabla library and the result back into numpy. The Keras-shaped API (`nabla.keras`)
//! is Python code on top of this module.

mod arrays;
mod datasets;
mod errors;
mod hooks;
mod model;
mod report;

use pyo3::prelude::*;

/// Whether `Sequential::save`/`load` in the linked library read and write Keras's `.keras`
/// and `.h5` files (the library dispatches on the extension, `nabla::io::keras`). It does
/// since the io work landed; the flag stays so the Python side and its tests say which
/// builds can.
const KERAS_FORMATS: bool = true;

#[pymodule]
fn _nabla(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<model::Model>()?;
    m.add_function(wrap_pyfunction!(model::loss_value, m)?)?;
    m.add_function(wrap_pyfunction!(datasets::load_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(datasets::sample_arrays, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(report::write_report, m)?)?;
    m.add("KERAS_FORMATS", KERAS_FORMATS)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

/// Sets the size of the thread pool nabla computes with; call before the first fit.
#[pyfunction]
fn set_num_threads(threads: usize) -> PyResult<()> {
    nabla::set_num_threads(threads).map_err(errors::to_py)
}
