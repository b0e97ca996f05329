//! Gradient diagnostics: the first thing to look at when "the loss is not decreasing".
//!
//! - [`batch_gradients`]: per-parameter gradient mean, standard deviation and L2 norm on one
//!   batch, as a Keras user gets them from `tf.GradientTape` and plots them per layer.
//! - [`dead_relus`]: per ReLU layer, the fraction of units whose output is 0 for every sample
//!   of a batch (a unit that never fires gets no gradient and never recovers).
//! - [`GradientMonitor`]: an opt-in `fit` callback recording both per epoch, with a warning
//!   (printed once per layer) when a layer's gradients vanish or explode.
//!
//! ```
//! use nabla::nn::layers::Dense;
//! use nabla::nn::{Loss, OptimizerConfig};
//! use nabla::ops::Activation;
//! use nabla::train::diagnostics::batch_gradients;
//! use nabla::train::Sequential;
//! use nabla::Tensor;
//!
//! let mut model = Sequential::<f32>::new(&[2]);
//! model.add(Dense::new(3).activation(Activation::Relu))?;
//! model.add(Dense::new(1))?;
//! model.compile(OptimizerConfig::sgd(0.1, 0.0), Loss::MeanSquaredError)?;
//! let x = Tensor::from_vec(vec![0.5, -1.0, 1.5, 2.0], [2, 2])?;
//! let y = Tensor::from_vec(vec![1.0, 0.0], [2, 1])?;
//! let grads = batch_gradients(&mut model, x, y)?;
//! assert_eq!(grads.params[0].name, "dense/kernel");
//! assert!(grads.params.iter().all(|p| p.stats.norm.is_finite()));
//! # Ok::<(), nabla::Error>(())
//! ```

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::callbacks::{BatchLogs, Callback, Control};
use super::history::EpochLogs;
use super::Sequential;
use crate::autograd::ParamId;
use crate::error::{Error, Result};
use crate::json::{float_or_null, floats_or_null};
use crate::ops::Activation;
use crate::tensor::{Float, Tensor};

/// Below this L2 norm a layer's gradient counts as vanished: an f32 weight of order 1 moved
/// by a learning rate of 1e-3 times this changes by less than its rounding error.
pub const VANISHING_NORM: f64 = 1e-7;

/// Above this L2 norm (or NaN / infinite) a layer's gradient counts as exploding: well-scaled
/// networks with cross-entropy stay orders of magnitude below it.
pub const EXPLODING_NORM: f64 = 1e3;

/// Mean, standard deviation (population, as `np.std`) and L2 norm of one gradient tensor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GradientStats {
    #[serde(with = "float_or_null")]
    pub mean: f64,
    #[serde(with = "float_or_null")]
    pub std: f64,
    #[serde(with = "float_or_null")]
    pub norm: f64,
}

impl GradientStats {
    /// Two passes in f64 (mean first, then deviations), so the std of gradients whose mean
    /// dwarfs their spread does not cancel to garbage.
    pub fn of<T: Float>(values: &[T]) -> Self {
        if values.is_empty() {
            return GradientStats::default();
        }
        let n = values.len() as f64;
        let (sum, sum_sq) = values.iter().fold((0.0, 0.0), |(s, q), &v| {
            let v = v.as_f64();
            (s + v, q + v * v)
        });
        let mean = sum / n;
        let var = values
            .iter()
            .map(|&v| (v.as_f64() - mean).powi(2))
            .sum::<f64>()
            / n;
        GradientStats {
            mean,
            std: var.sqrt(),
            norm: sum_sq.sqrt(),
        }
    }
}

/// One parameter tensor's gradient statistics, named.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamGradient {
    /// The parameter, e.g. `dense_1/kernel`.
    pub name: String,
    /// The layer that owns it, e.g. `dense_1`.
    pub layer: String,
    #[serde(flatten)]
    pub stats: GradientStats,
}

/// The gradients of one batch, summarized per parameter tensor in the model's weight order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchGradients {
    #[serde(with = "float_or_null")]
    pub loss: f64,
    pub batch_size: usize,
    pub params: Vec<ParamGradient>,
}

/// Per-parameter gradient mean, std and norm of the loss on one batch (training mode, no
/// update), like `tape.gradient(loss, model.trainable_variables)` in Keras. It observes
/// only: dropout uses a copy of the model's random generator and batch normalization keeps
/// its moving statistics (see [`Sequential::probe_gradients`]).
pub fn batch_gradients<T: Float>(
    model: &mut Sequential<T>,
    x: Tensor<T>,
    y: Tensor<T>,
) -> Result<BatchGradients> {
    let batch_size = x.shape().batch();
    let (loss, grads) = model.probe_gradients(x, y)?;
    let params = trainable_params(model)
        .into_iter()
        .filter_map(|(id, name, layer)| {
            grads.get(id).map(|g| ParamGradient {
                name,
                layer,
                stats: GradientStats::of(g.data()),
            })
        })
        .collect();
    Ok(BatchGradients {
        loss,
        batch_size,
        params,
    })
}

/// (id, parameter name, layer name) of every trainable parameter, in weight order.
fn trainable_params<T: Float>(model: &Sequential<T>) -> Vec<(ParamId, String, String)> {
    let mut out = Vec::new();
    for layer in model.layers() {
        for &id in layer.params() {
            let param = model.params().get(id);
            if param.trainable {
                out.push((id, param.name.clone(), layer.name().to_string()));
            }
        }
    }
    out
}

/// How many units of one ReLU layer never fired on a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadRelu {
    pub layer: String,
    /// Units (features of a Dense layer, channels of a convolution).
    pub units: usize,
    pub dead: usize,
}

impl DeadRelu {
    pub fn fraction(&self) -> f64 {
        if self.units == 0 {
            0.0
        } else {
            self.dead as f64 / self.units as f64
        }
    }
}

/// For every layer whose typed output is a ReLU (a ReLU Activation layer, or a Dense or
/// convolution with a fused ReLU), how many units output 0 for every sample of `x` (and, for
/// images, every position).
/// Units are the last axis: features of a Dense layer, channels of an NHWC convolution.
pub fn dead_relus<T: Float>(model: &mut Sequential<T>, x: &Tensor<T>) -> Result<Vec<DeadRelu>> {
    let outputs = model.layer_outputs(x)?;
    Ok(outputs
        .iter()
        .filter(|o| o.activation == Activation::Relu)
        .map(|o| {
            let units = o.value.dims().last().copied().unwrap_or(0);
            let mut alive = vec![false; units];
            if units > 0 {
                for row in o.value.data().chunks_exact(units) {
                    for (a, &v) in alive.iter_mut().zip(row) {
                        *a |= v > T::zero();
                    }
                }
            }
            DeadRelu {
                layer: o.layer.clone(),
                units,
                dead: alive.iter().filter(|&&a| !a).count(),
            }
        })
        .collect())
}

/// Why a warning was raised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WarningKind {
    /// Epoch-mean L2 norm below the vanishing threshold.
    Vanishing,
    /// A sampled batch's L2 norm above the exploding threshold, or not finite.
    Exploding,
}

/// A vanishing or exploding gradient, as printed and as kept in the record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GradientWarning {
    /// 1-based, as the progress line numbers epochs.
    pub epoch: usize,
    pub layer: String,
    pub param: String,
    pub kind: WarningKind,
    #[serde(with = "float_or_null")]
    pub norm: f64,
    pub message: String,
}

/// One parameter tensor's gradient statistics per recorded epoch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ParamSeries {
    pub name: String,
    pub layer: String,
    #[serde(with = "floats_or_null")]
    pub mean: Vec<f64>,
    #[serde(with = "floats_or_null")]
    pub std: Vec<f64>,
    #[serde(with = "floats_or_null")]
    pub norm: Vec<f64>,
}

/// One ReLU layer's dead-unit fraction per recorded epoch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeadReluSeries {
    pub layer: String,
    pub units: usize,
    /// NaN (`null` in JSON) for epochs before the layer was first measured.
    #[serde(with = "floats_or_null")]
    pub fraction: Vec<f64>,
}

/// Everything a [`GradientMonitor`] recorded (what `gradients.json` holds under `training`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GradientRecord {
    /// Statistics are averaged over batches 0, k, 2k, … of each epoch.
    pub sample_every: usize,
    pub vanishing_norm: f64,
    pub exploding_norm: f64,
    /// The recorded epochs, 1-based.
    pub epochs: Vec<usize>,
    pub params: Vec<ParamSeries>,
    /// Measured at the end of each epoch on the monitor's probe batch (empty without one).
    pub dead_relu: Vec<DeadReluSeries>,
    pub warnings: Vec<GradientWarning>,
}

/// A `fit` callback that records gradient statistics and dead ReLUs per epoch and warns once
/// per layer when gradients vanish or explode.
///
/// Cost: nothing unless it is passed to `fit`; then one pass over the gradients every
/// `sample_every`-th batch (default 10, about 1% of a step for an MLP) and one inference
/// pass over the probe batch per epoch.
pub struct GradientMonitor<T: Float> {
    every: usize,
    probe: Option<Tensor<T>>,
    vanishing_norm: f64,
    exploding_norm: f64,
    print: bool,
    ids: Vec<ParamId>,
    /// Per parameter: sums of mean, std and norm over this epoch's sampled batches.
    sums: Vec<[f64; 3]>,
    samples: usize,
    warned: HashSet<(String, WarningKind)>,
    record: GradientRecord,
}

impl<T: Float> Default for GradientMonitor<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> GradientMonitor<T> {
    pub fn new() -> Self {
        GradientMonitor {
            every: 10,
            probe: None,
            vanishing_norm: VANISHING_NORM,
            exploding_norm: EXPLODING_NORM,
            print: true,
            ids: Vec::new(),
            sums: Vec::new(),
            samples: 0,
            warned: HashSet::new(),
            record: GradientRecord::default(),
        }
    }

    /// Samples every `k`-th batch (batch 0 always, so short epochs are covered); 1 = all.
    pub fn sample_every(mut self, k: usize) -> Self {
        self.every = k.max(1);
        self
    }

    /// A fixed batch of inputs (first axis the sample) on which dead ReLUs are counted after
    /// every epoch. Fixed, so epochs are compared on the same samples.
    pub fn probe(mut self, x: Tensor<T>) -> Self {
        self.probe = Some(x);
        self
    }

    pub fn thresholds(mut self, vanishing_norm: f64, exploding_norm: f64) -> Self {
        self.vanishing_norm = vanishing_norm;
        self.exploding_norm = exploding_norm;
        self
    }

    /// Whether warnings are printed to stderr (they are always recorded). Default: yes.
    pub fn print_warnings(mut self, print: bool) -> Self {
        self.print = print;
        self
    }

    pub fn record(&self) -> &GradientRecord {
        &self.record
    }

    pub fn into_record(self) -> GradientRecord {
        self.record
    }

    fn warn(&mut self, epoch: usize, index: usize, kind: WarningKind, norm: f64) {
        let series = &self.record.params[index];
        if !self.warned.insert((series.layer.clone(), kind)) {
            return;
        }
        let message = match kind {
            WarningKind::Vanishing => format!(
                "epoch {epoch}: gradients of layer '{}' are vanishing ({} L2 norm {norm:.3e} < \
                 {:e}); its weights barely move",
                series.layer, series.name, self.vanishing_norm
            ),
            WarningKind::Exploding => format!(
                "epoch {epoch}: gradients of layer '{}' are exploding ({} L2 norm {norm:.3e} > \
                 {:e}); lower the learning rate or clip gradients",
                series.layer, series.name, self.exploding_norm
            ),
        };
        if self.print {
            eprintln!("warning: {message}");
        }
        self.record.warnings.push(GradientWarning {
            epoch,
            layer: series.layer.clone(),
            param: series.name.clone(),
            kind,
            norm,
            message,
        });
    }
}

impl<T: Float> Callback<T> for GradientMonitor<T> {
    fn on_train_begin(&mut self, model: &mut Sequential<T>) -> Result<()> {
        let params = trainable_params(model);
        if self.record.params.is_empty() {
            self.record.sample_every = self.every;
            self.record.vanishing_norm = self.vanishing_norm;
            self.record.exploding_norm = self.exploding_norm;
            self.record.params = params
                .iter()
                .map(|(_, name, layer)| ParamSeries {
                    name: name.clone(),
                    layer: layer.clone(),
                    ..ParamSeries::default()
                })
                .collect();
        } else if self.record.params.len() != params.len() {
            return Err(Error::invalid(
                "a GradientMonitor was reused for a model with other parameters",
            ));
        }
        self.ids = params.into_iter().map(|(id, _, _)| id).collect();
        self.sums = vec![[0.0; 3]; self.ids.len()];
        self.samples = 0;
        Ok(())
    }

    fn on_batch_end(
        &mut self,
        model: &mut Sequential<T>,
        epoch: usize,
        batch: usize,
        _logs: &BatchLogs,
    ) -> Result<Control> {
        if !batch.is_multiple_of(self.every) {
            return Ok(Control::Continue);
        }
        let grads = model.last_gradients();
        let mut exploding = Vec::new();
        for (i, &id) in self.ids.iter().enumerate() {
            let Some(g) = grads.get(id) else { continue };
            let s = GradientStats::of(g.data());
            self.sums[i][0] += s.mean;
            self.sums[i][1] += s.std;
            self.sums[i][2] += s.norm;
            if !s.norm.is_finite() || s.norm > self.exploding_norm {
                exploding.push((i, s.norm));
            }
        }
        self.samples += 1;
        for (i, norm) in exploding {
            self.warn(epoch + 1, i, WarningKind::Exploding, norm);
        }
        Ok(Control::Continue)
    }

    fn on_epoch_end(
        &mut self,
        model: &mut Sequential<T>,
        epoch: usize,
        _logs: &EpochLogs,
    ) -> Result<Control> {
        let n = self.samples.max(1) as f64;
        self.record.epochs.push(epoch + 1);
        for i in 0..self.ids.len() {
            let [mean, std, norm] = self.sums[i].map(|v| v / n);
            let series = &mut self.record.params[i];
            series.mean.push(mean);
            series.std.push(std);
            series.norm.push(norm);
            if norm < self.vanishing_norm {
                self.warn(epoch + 1, i, WarningKind::Vanishing, norm);
            }
        }
        self.sums.iter_mut().for_each(|s| *s = [0.0; 3]);
        self.samples = 0;

        if let Some(probe) = &self.probe {
            let recorded = self.record.epochs.len() - 1;
            for dead in dead_relus(model, probe)? {
                let position = self
                    .record
                    .dead_relu
                    .iter()
                    .position(|s| s.layer == dead.layer);
                let series = match position {
                    Some(p) => &mut self.record.dead_relu[p],
                    None => {
                        self.record.dead_relu.push(DeadReluSeries {
                            layer: dead.layer.clone(),
                            units: dead.units,
                            fraction: vec![f64::NAN; recorded],
                        });
                        self.record.dead_relu.last_mut().expect("just pushed")
                    }
                };
                series.fraction.push(dead.fraction());
            }
        }
        Ok(Control::Continue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::layers::{Dense, Flatten};
    use crate::nn::{Initializer, Loss, OptimizerConfig};
    use crate::ops::Activation;
    use crate::random::Rng;
    use crate::train::{FitOptions, TensorData, Verbosity};

    fn uniform(shape: [usize; 2], lo: f64, hi: f64, seed: u32) -> Tensor<f32> {
        let mut rng = Rng::new(seed);
        let n = shape[0] * shape[1];
        let data = (0..n)
            .map(|_| (lo + (hi - lo) * rng.random_sample()) as f32)
            .collect();
        Tensor::from_vec(data, shape).unwrap()
    }

    fn one_hot(labels: &[usize], classes: usize) -> Tensor<f32> {
        let mut y = Tensor::zeros([labels.len(), classes]);
        for (row, &c) in labels.iter().enumerate() {
            y.data_mut()[row * classes + c] = 1.0;
        }
        y
    }

    /// Trains `model` on `x`, `y` with `monitor` for `epochs`, silently.
    fn fit_with(
        model: &mut Sequential<f32>,
        x: Tensor<f32>,
        y: Tensor<f32>,
        monitor: &mut GradientMonitor<f32>,
        epochs: usize,
    ) {
        let data = TensorData::new(x, y).unwrap();
        let options = FitOptions {
            epochs,
            batch_size: 8,
            verbosity: Verbosity::Silent,
            ..FitOptions::default()
        };
        model
            .fit_with_callbacks(&data, options, &mut [monitor])
            .unwrap();
    }

    /// mean 2.5, np.std([1, 2, 3, 4]) = sqrt(1.25), norm sqrt(1 + 4 + 9 + 16).
    #[test]
    fn stats_match_numpy() {
        let s = GradientStats::of(&[1.0f32, 2.0, 3.0, 4.0]);
        assert_eq!(s.mean, 2.5);
        assert!((s.std - 1.25f64.sqrt()).abs() < 1e-12);
        assert!((s.norm - 30f64.sqrt()).abs() < 1e-12);
        // A large mean does not wash out a small spread.
        let s = GradientStats::of(&[1e8f64 + 1.0, 1e8 - 1.0]);
        assert!((s.std - 1.0).abs() < 1e-9, "{}", s.std);
    }

    /// sigmoid(4 · 1 · 50) = 1 exactly in f32, so σ′ = y(1 − y) = 0: the first layer's
    /// gradient is exactly zero while the output layer's is not.
    #[test]
    fn saturated_sigmoid_layer_is_reported_vanishing() {
        let mut model = Sequential::<f32>::new(&[4]);
        model
            .add(
                Dense::new(8)
                    .activation(Activation::Sigmoid)
                    .kernel_initializer(Initializer::Ones),
            )
            .unwrap();
        model
            .add(Dense::new(2).activation(Activation::Softmax))
            .unwrap();
        model
            .compile(
                OptimizerConfig::sgd(0.01, 0.0),
                Loss::CategoricalCrossentropy,
            )
            .unwrap();
        let x = uniform([32, 4], 50.0, 60.0, 1);
        let labels: Vec<usize> = (0..32).map(|i| i % 2).collect();
        let y = one_hot(&labels, 2);

        let one = batch_gradients(&mut model, x.rows(0, 8), y.rows(0, 8)).unwrap();
        let names: Vec<&str> = one.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "dense/kernel",
                "dense/bias",
                "dense_1/kernel",
                "dense_1/bias"
            ]
        );
        assert_eq!(one.params[0].stats.norm, 0.0);
        assert!(one.params[2].stats.norm > 1e-3);

        let mut monitor = GradientMonitor::new().sample_every(1).print_warnings(false);
        fit_with(&mut model, x, y, &mut monitor, 2);
        let record = monitor.into_record();
        assert_eq!(record.epochs, [1, 2]);
        assert_eq!(record.params[0].norm, [0.0, 0.0]);
        // Once per layer, at the first epoch, naming the layer.
        assert_eq!(record.warnings.len(), 1, "{:?}", record.warnings);
        let w = &record.warnings[0];
        assert_eq!((w.epoch, w.layer.as_str()), (1, "dense"));
        assert_eq!(w.kind, WarningKind::Vanishing);
        assert!(w.message.contains("'dense'") && w.message.contains("epoch 1"));
    }

    /// A bias of −100 puts every pre-activation of the first layer far below 0 for inputs in
    /// [0, 1] (|x·W| ≤ 4 · 0.71 with glorot_uniform), so all its units are dead.
    #[test]
    fn relu_layer_with_large_negative_bias_is_reported_dead() {
        let mut model = Sequential::<f32>::new(&[2, 2]);
        model.add(Flatten::new()).unwrap();
        model
            .add(Dense::new(8).activation(Activation::Relu))
            .unwrap();
        model
            .add(Dense::new(6).activation(Activation::Relu))
            .unwrap();
        model
            .add(Dense::new(3).activation(Activation::Softmax))
            .unwrap();
        model
            .compile(OptimizerConfig::adam(1e-3), Loss::CategoricalCrossentropy)
            .unwrap();
        let bias = model.params().find("dense/bias").unwrap();
        model.params_mut().value_mut(bias).data_mut().fill(-100.0);

        let x = uniform([24, 4], 0.0, 1.0, 2).reshape([24, 2, 2]).unwrap();
        let dead = dead_relus(&mut model, &x).unwrap();
        assert_eq!(dead.len(), 2, "only the two ReLU layers: {dead:?}");
        assert_eq!(
            (dead[0].layer.as_str(), dead[0].units, dead[0].dead),
            ("dense", 8, 8)
        );
        assert_eq!(dead[0].fraction(), 1.0);
        // The next layer sees only zeros, so its output is relu(bias) = relu(0): dead too.
        assert_eq!((dead[1].layer.as_str(), dead[1].units), ("dense_1", 6));

        let labels: Vec<usize> = (0..24).map(|i| i % 3).collect();
        let mut monitor = GradientMonitor::new()
            .probe(x.clone())
            .print_warnings(false);
        fit_with(&mut model, x, one_hot(&labels, 3), &mut monitor, 2);
        let record = monitor.record();
        assert_eq!(record.dead_relu[0].layer, "dense");
        assert_eq!(record.dead_relu[0].fraction, [1.0, 1.0]);
        // A dead layer passes no gradient to its kernel: reported as vanishing.
        assert!(record
            .warnings
            .iter()
            .any(|w| w.layer == "dense" && w.kind == WarningKind::Vanishing));
    }

    /// Inputs of order 1e6 make the first kernel's gradient huge.
    #[test]
    fn huge_inputs_are_reported_exploding_and_the_record_round_trips() {
        let mut model = Sequential::<f32>::new(&[4]);
        model
            .add(Dense::new(4).activation(Activation::Relu))
            .unwrap();
        model.add(Dense::new(1)).unwrap();
        model
            .compile(OptimizerConfig::sgd(1e-12, 0.0), Loss::MeanSquaredError)
            .unwrap();
        let x = uniform([16, 4], 1e6, 2e6, 3);
        let y = uniform([16, 1], 0.0, 1.0, 4);
        let mut monitor = GradientMonitor::new().print_warnings(false);
        fit_with(&mut model, x, y, &mut monitor, 1);
        let mut record = monitor.into_record();
        assert!(
            record
                .warnings
                .iter()
                .any(|w| w.kind == WarningKind::Exploding && w.layer == "dense"),
            "{:?}",
            record.warnings
        );
        assert_eq!(record.sample_every, 10);

        record.params[0].mean[0] = f64::NAN;
        let json = serde_json::to_string(&record).unwrap();
        let back: GradientRecord = serde_json::from_str(&json).unwrap();
        assert!(back.params[0].mean[0].is_nan());
        assert_eq!(back.params[1], record.params[1]);
    }
}
