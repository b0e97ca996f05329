//! `Model`: a nabla `Sequential<f32>` owned by Python. `fit`, `evaluate` and `predict`
//! release the GIL and run on nabla's thread pool; arrays come in borrowed and go out as
//! numpy arrays that take over nabla's buffers.

use crate::arrays::{targets, ArraySource, Held};
use crate::errors::to_py;
use crate::hooks::{build_callbacks, PythonHook};
use nabla::autograd::{Gradients, Tape};
use nabla::nn::{LayerConfig, Loss, OptimizerConfig};
use nabla::tensor::{Shape, Tensor};
use nabla::train::{Callback, FitOptions, Sequential, Validation, Verbosity};
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArray2, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// A float32 numpy array handed to Python.
type Array<'py> = Bound<'py, PyArrayDyn<f32>>;

#[pyclass(module = "nabla._nabla")]
pub struct Model {
    /// Python may share the object between threads, so it must be `Sync`; the lock is only
    /// taken by `&self` methods (`&mut self` ones have exclusive access already).
    inner: Mutex<Sequential<f32>>,
}

impl Model {
    fn wrap(model: Sequential<f32>) -> Self {
        Model {
            inner: Mutex::new(model),
        }
    }

    /// The model, for the report writer.
    pub(crate) fn model(&self) -> MutexGuard<'_, Sequential<f32>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn model_mut(&mut self) -> &mut Sequential<f32> {
        self.inner.get_mut().unwrap_or_else(|e| e.into_inner())
    }
}

/// One pool for every call, sized by rayon (all cores, or `RAYON_NUM_THREADS`): nabla's
/// parallel loops are cheapest when started from inside it (see `Sequential::fit`).
pub(crate) fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .build()
            .expect("a thread pool with default settings")
    })
}

fn numpy_out<'py>(py: Python<'py>, t: Tensor<f32>) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
    let dims = t.dims().to_vec();
    let array = ArrayD::from_shape_vec(IxDyn(&dims), t.into_vec())
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(array.into_pyarray(py))
}

fn tensor_in(x: &PyReadonlyArrayDyn<'_, f32>) -> PyResult<Tensor<f32>> {
    let values = x.as_array().iter().copied().collect();
    Tensor::from_vec(values, Shape::new(x.shape())).map_err(to_py)
}

fn parse_loss(name: &str) -> PyResult<Loss> {
    Loss::parse(name).map_err(to_py)
}

#[pymethods]
impl Model {
    /// A model for samples of `input_shape` from layer settings (the JSON form of
    /// `nabla::nn::LayerConfig`, the same as in model and experiment files).
    #[new]
    fn new(input_shape: Vec<usize>, layers: &str, seed: u32) -> PyResult<Self> {
        let configs: Vec<LayerConfig> = serde_json::from_str(layers)
            .map_err(|e| PyValueError::new_err(format!("layer settings: {e}")))?;
        let inner = Sequential::from_configs(&input_shape, &configs, seed).map_err(to_py)?;
        Ok(Model::wrap(inner))
    }

    /// Reads a model file (optimizer state and compile settings included).
    #[staticmethod]
    fn load(path: &str) -> PyResult<Self> {
        Ok(Model::wrap(Sequential::load(path).map_err(to_py)?))
    }

    fn save(&self, path: &str) -> PyResult<()> {
        self.model().save(path).map_err(to_py)
    }

    /// A whole model in Keras's legacy HDF5 layout whatever the name (Keras's `model.save`
    /// writes one to any `.h5` path, `x.weights.h5` included).
    fn save_legacy_h5(&self, path: &str) -> PyResult<()> {
        nabla::io::keras::write_h5(&self.model(), std::path::Path::new(path)).map_err(to_py)
    }

    /// The weights alone, as Keras 3's `model.save_weights("x.weights.h5")` writes them.
    fn save_weights(&self, path: &str) -> PyResult<()> {
        nabla::io::keras::write_weights_h5(&self.model(), std::path::Path::new(path)).map_err(to_py)
    }

    /// Weights from a Keras `.weights.h5` or legacy `.h5` file into this architecture.
    fn load_weights(&mut self, path: &str) -> PyResult<()> {
        self.model_mut().load_weights(path).map_err(to_py)
    }

    /// The layer settings as JSON, to rebuild the Python layer objects of a loaded model.
    fn layers_json(&self) -> PyResult<String> {
        serde_json::to_string(self.model().configs())
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    fn layer_names(&self) -> Vec<String> {
        self.model()
            .layers()
            .iter()
            .map(|l| l.name().to_string())
            .collect()
    }

    /// Per-sample output shape of every layer.
    fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.model()
            .layers()
            .iter()
            .map(|l| l.output_shape().to_vec())
            .collect()
    }

    fn input_shape(&self) -> Vec<usize> {
        self.model().input_shape().to_vec()
    }

    /// The compiled loss and optimizer (as JSON), if compiled.
    fn compiled(&self) -> PyResult<Option<(String, String)>> {
        let model = self.model();
        match (model.loss(), model.optimizer()) {
            (Some(loss), Some(opt)) => Ok(Some((
                loss.name().to_string(),
                serde_json::to_string(&opt.config())
                    .map_err(|e| PyValueError::new_err(e.to_string()))?,
            ))),
            _ => Ok(None),
        }
    }

    fn compile(&mut self, optimizer: &str, loss: &str) -> PyResult<()> {
        let optimizer: OptimizerConfig = serde_json::from_str(optimizer)
            .map_err(|e| PyValueError::new_err(format!("optimizer settings: {e}")))?;
        self.model_mut()
            .compile(optimizer, parse_loss(loss)?)
            .map_err(to_py)
    }

    fn learning_rate(&self) -> Option<f64> {
        self.model().optimizer().map(|o| o.learning_rate())
    }

    fn summary(&self) -> String {
        self.model().summary()
    }

    /// (trainable, non-trainable) parameter counts.
    fn count_params(&self) -> (usize, usize) {
        self.model().count_params()
    }

    /// Every weight in Keras's order: (name, array, trainable).
    fn weights<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Array<'py>, bool)>> {
        self.model()
            .params()
            .iter()
            .map(|(_, p)| Ok((p.name.clone(), numpy_out(py, p.value.clone())?, p.trainable)))
            .collect()
    }

    fn set_weights(&mut self, values: Vec<PyReadonlyArrayDyn<'_, f32>>) -> PyResult<()> {
        let ids: Vec<_> = self.model_mut().params().iter().map(|(id, _)| id).collect();
        if values.len() != ids.len() {
            return Err(PyValueError::new_err(format!(
                "the model has {} weights but {} arrays were given",
                ids.len(),
                values.len()
            )));
        }
        let mut new = Vec::with_capacity(ids.len());
        for (&id, v) in ids.iter().zip(&values) {
            let current = self.model_mut().params().get(id);
            if current.value.dims() != v.shape() {
                return Err(PyValueError::new_err(format!(
                    "weight {} has shape {:?} but the array has shape {:?}",
                    current.name,
                    current.value.dims(),
                    v.shape()
                )));
            }
            new.push(tensor_in(v)?);
        }
        for (id, value) in ids.into_iter().zip(new) {
            *self.model_mut().params_mut().value_mut(id) = value;
        }
        Ok(())
    }

    /// Trains on `x` with dense float32 targets `y`; returns Keras's `history.history`.
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (x, y, epochs, batch_size, validation=None, validation_split=0.0,
                        shuffle=true, initial_epoch=0, callbacks="[]", progress=None))]
    fn fit<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: PyReadonlyArray2<'py, f32>,
        epochs: usize,
        batch_size: usize,
        validation: Option<(Bound<'py, PyAny>, PyReadonlyArray2<'py, f32>)>,
        validation_split: f64,
        shuffle: bool,
        initial_epoch: usize,
        callbacks: &str,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let held = Held::extract(x)?;
        let shape = held.shape();
        let data = ArraySource::new(held.values()?, &shape, Some(targets(&y)?), 0)?;
        let val_held = validation
            .as_ref()
            .map(|(vx, _)| Held::extract(vx))
            .transpose()?;
        let val_shape = val_held.as_ref().map(|h| h.shape());
        let val_data = match (&val_held, &validation, &val_shape) {
            (Some(h), Some((_, vy)), Some(s)) => {
                Some(ArraySource::new(h.values()?, s, Some(targets(vy)?), 0)?)
            }
            _ => None,
        };
        // The rows fit trains on (validation_data, when given, wins over validation_split).
        if !(0.0..1.0).contains(&validation_split) {
            return Err(PyValueError::new_err(format!(
                "validation_split must be in [0, 1), got {validation_split}"
            )));
        }
        let split = if val_data.is_some() {
            0.0
        } else {
            validation_split
        };
        let rows = shape[0] - (shape[0] as f64 * split).floor() as usize;
        let val_rows = val_shape.as_ref().map_or(shape[0] - rows, |s| s[0]);
        let stop = Arc::new(AtomicBool::new(false));
        let mut hook = PythonHook::new(progress, rows, batch_size.max(1), stop.clone());
        let mut user = build_callbacks(callbacks)?;
        let model = self.model_mut();
        let hook_ref = &mut hook;
        let user_ref = &mut user;
        let val_ref = &val_data;
        let data_ref = &data;
        let mut interrupt = None;
        // Training runs on a worker thread inside nabla's pool; this (Python's) thread waits
        // and runs Python's signal handlers every 20 ms, so Ctrl-C (KeyboardInterrupt, also
        // Jupyter's stop button) sets `stop` and fit ends after the current batch.
        let result = py.allow_threads(|| {
            std::thread::scope(|scope| {
                let (done, finished) = channel();
                scope.spawn(move || {
                    let result = pool().install(move || {
                        // Made here: the options and callback list hold trait objects that
                        // are not Send.
                        let options = FitOptions {
                            epochs,
                            batch_size,
                            validation: match val_ref {
                                Some(v) => Validation::Data(v),
                                None if split > 0.0 => Validation::Split(split),
                                None => Validation::None,
                            },
                            shuffle,
                            verbosity: Verbosity::Silent,
                            initial_epoch,
                            ..FitOptions::default()
                        };
                        let mut all: Vec<&mut dyn Callback<f32>> = vec![hook_ref];
                        all.extend(
                            user_ref
                                .iter_mut()
                                .map(|c| c.as_mut() as &mut dyn Callback<f32>),
                        );
                        model.fit_with_callbacks(data_ref, options, &mut all)
                    });
                    let _ = done.send(result);
                });
                loop {
                    match finished.recv_timeout(Duration::from_millis(20)) {
                        Ok(result) => return result,
                        Err(RecvTimeoutError::Timeout) => {
                            if interrupt.is_none() {
                                // `stop` is set before the GIL is released: Python code the
                                // worker runs after the handler (a progress call) sees it.
                                interrupt = Python::with_gil(|py| {
                                    let e = py.check_signals().err();
                                    if e.is_some() {
                                        stop.store(true, Ordering::SeqCst);
                                    }
                                    e
                                });
                            }
                        }
                        // The worker panicked; leaving the scope re-raises its panic.
                        Err(RecvTimeoutError::Disconnected) => {
                            return Err(nabla::Error::invalid("training stopped unexpectedly"))
                        }
                    }
                }
            })
        });
        if let Some(e) = interrupt {
            return Err(e);
        }
        if let Some(e) = hook.error.take() {
            return Err(e);
        }
        let history = result.map_err(to_py)?;
        let d = PyDict::new(py);
        d.set_item("loss", PyList::new(py, &history.loss)?)?;
        d.set_item("accuracy", PyList::new(py, &history.accuracy)?)?;
        if !history.val_loss.is_empty() {
            d.set_item("val_loss", PyList::new(py, &history.val_loss)?)?;
            d.set_item("val_accuracy", PyList::new(py, &history.val_accuracy)?)?;
        }
        d.set_item("learning_rate", PyList::new(py, &history.learning_rate)?)?;
        d.set_item("epoch_seconds", PyList::new(py, &history.epoch_seconds)?)?;
        // What the run report's `run.json` says about the data.
        d.set_item("train_samples", rows)?;
        d.set_item("validation_samples", val_rows)?;
        Ok(d)
    }

    /// (loss, accuracy) over `x` with dense targets `y`, in inference mode.
    fn evaluate(
        &mut self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        y: PyReadonlyArray2<'_, f32>,
    ) -> PyResult<(f64, f64)> {
        let held = Held::extract(x)?;
        let shape = held.shape();
        let data = ArraySource::new(held.values()?, &shape, Some(targets(&y)?), 0)?;
        let model = self.model_mut();
        let e = py
            .allow_threads(|| pool().install(|| model.evaluate(&data)))
            .map_err(to_py)?;
        Ok((e.loss, e.accuracy))
    }

    /// The model's outputs for `x` (probabilities for a softmax model).
    fn predict<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let held = Held::extract(x)?;
        let shape = held.shape();
        let width = self.model_mut().output_shape().iter().product();
        let data = ArraySource::new(held.values()?, &shape, None, width)?;
        let model = self.model_mut();
        let out = py
            .allow_threads(|| pool().install(|| model.predict(&data)))
            .map_err(to_py)?;
        numpy_out(py, out)
    }

    /// What `tf.GradientTape` records for `loss(y, model(x))`: the loss (no weight
    /// penalties, as a Keras loss object computes it) and the gradient of every trainable
    /// weight, on a tape of nabla's own ops. `training` picks dropout and batch-norm mode
    /// (Keras's `model(x)` is inference mode). Nothing in the model changes.
    fn gradients<'py>(
        &mut self,
        py: Python<'py>,
        x: PyReadonlyArrayDyn<'py, f32>,
        y: PyReadonlyArrayDyn<'py, f32>,
        loss: &str,
        training: bool,
    ) -> PyResult<(f64, Vec<(String, Array<'py>)>)> {
        let loss_fn = parse_loss(loss)?;
        let (x, y) = (tensor_in(&x)?, tensor_in(&y)?);
        self.model_mut()
            .check_input_shape(&x.dims()[1..])
            .map_err(to_py)?;
        let mut params = self.model_mut().params().clone();
        let (value, grads) = {
            let mut tape = Tape::new(&mut params);
            let xv = tape.input(x);
            let yv = tape.input(y);
            let out = self
                .model_mut()
                .forward(&mut tape, xv, training)
                .map_err(to_py)?;
            let l = loss_fn.compute(&mut tape, out, yv).map_err(to_py)?;
            let value = tape.value(l).item() as f64;
            tape.backward(l).map_err(to_py)?;
            let mut grads = Gradients::for_params(self.model_mut().params());
            tape.take_param_grads(&mut grads);
            (value, grads)
        };
        let mut out = Vec::new();
        for (id, p) in self
            .model_mut()
            .params()
            .iter()
            .filter(|(_, p)| p.trainable)
        {
            let g = grads
                .get(id)
                .cloned()
                .unwrap_or_else(|| Tensor::zeros(p.value.shape()));
            out.push((p.name.clone(), numpy_out(py, g)?));
        }
        Ok((value, out))
    }
}

/// A loss by Keras's name on (targets, predictions), as a Keras loss object returns it:
/// the batch mean, computed by nabla's own loss ops.
#[pyfunction]
pub fn loss_value(
    loss: &str,
    y_true: PyReadonlyArrayDyn<'_, f32>,
    y_pred: PyReadonlyArrayDyn<'_, f32>,
) -> PyResult<f64> {
    let loss_fn = parse_loss(loss)?;
    let mut params = nabla::autograd::ParamStore::<f32>::default();
    let mut tape = Tape::inference(&mut params);
    let t = tape.input(tensor_in(&y_true)?);
    let p = tape.input(tensor_in(&y_pred)?);
    let l = loss_fn.compute(&mut tape, p, t).map_err(to_py)?;
    Ok(tape.value(l).item() as f64)
}
