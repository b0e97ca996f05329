//! Optimizers: each implements one update step with Keras's rule and defaults; the slots
//! (momentum, moments) live beside the parameters they belong to.

mod adam;
mod rmsprop;
mod sgd;

pub use adam::Adam;
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use crate::autograd::{Gradients, ParamId, ParamStore};
use crate::error::{Error, Result};
use crate::tensor::{Float, Tensor};
use serde::{Deserialize, Serialize};

/// Updates parameters from their gradients.
pub trait Optimizer<T: Float>: Send {
    fn config(&self) -> OptimizerConfig;

    fn learning_rate(&self) -> f64;

    /// For schedules and ReduceLROnPlateau.
    fn set_learning_rate(&mut self, learning_rate: f64);

    /// One update of every trainable parameter that has a gradient.
    fn step(&mut self, params: &mut ParamStore<T>, grads: &Gradients<T>);

    /// Steps taken so far (Keras's `iterations`).
    fn iterations(&self) -> u64;

    /// Everything needed to resume: the step count and every slot, by name.
    fn state(&self) -> OptimizerState<T>;

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()>;
}

/// An optimizer's saved state: its step count and named slot tensors (e.g. `m/3`).
#[derive(Clone, Debug, Default)]
pub struct OptimizerState<T> {
    pub iterations: u64,
    pub slots: Vec<(String, Tensor<T>)>,
}

/// An optimizer's options, with Keras's defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimizerConfig {
    Sgd {
        #[serde(default = "sgd_lr")]
        learning_rate: f64,
        #[serde(default)]
        momentum: f64,
        #[serde(default)]
        nesterov: bool,
    },
    Adam {
        #[serde(default = "adaptive_lr")]
        learning_rate: f64,
        #[serde(default = "beta_1")]
        beta_1: f64,
        #[serde(default = "beta_2")]
        beta_2: f64,
        #[serde(default = "epsilon")]
        epsilon: f64,
    },
    Rmsprop {
        #[serde(default = "adaptive_lr")]
        learning_rate: f64,
        #[serde(default = "rho")]
        rho: f64,
        #[serde(default)]
        momentum: f64,
        #[serde(default = "epsilon")]
        epsilon: f64,
        #[serde(default)]
        centered: bool,
    },
}

fn sgd_lr() -> f64 {
    0.01
}
fn adaptive_lr() -> f64 {
    0.001
}
fn beta_1() -> f64 {
    0.9
}
fn beta_2() -> f64 {
    0.999
}
fn epsilon() -> f64 {
    1e-7
}
fn rho() -> f64 {
    0.9
}

impl OptimizerConfig {
    pub fn sgd(learning_rate: f64, momentum: f64) -> Self {
        OptimizerConfig::Sgd {
            learning_rate,
            momentum,
            nesterov: false,
        }
    }

    pub fn adam(learning_rate: f64) -> Self {
        OptimizerConfig::Adam {
            learning_rate,
            beta_1: beta_1(),
            beta_2: beta_2(),
            epsilon: epsilon(),
        }
    }

    pub fn rmsprop(learning_rate: f64) -> Self {
        OptimizerConfig::Rmsprop {
            learning_rate,
            rho: rho(),
            momentum: 0.0,
            epsilon: epsilon(),
            centered: false,
        }
    }

    /// An optimizer by name with Keras's default learning rate unless one is given.
    pub fn parse(name: &str, learning_rate: Option<f64>, momentum: f64) -> Result<Self> {
        let config = match name.to_ascii_lowercase().as_str() {
            "sgd" => OptimizerConfig::sgd(learning_rate.unwrap_or_else(sgd_lr), momentum),
            "adam" => OptimizerConfig::adam(learning_rate.unwrap_or_else(adaptive_lr)),
            "rmsprop" => {
                let mut c = OptimizerConfig::rmsprop(learning_rate.unwrap_or_else(adaptive_lr));
                if let OptimizerConfig::Rmsprop { momentum: m, .. } = &mut c {
                    *m = momentum;
                }
                c
            }
            other => {
                return Err(Error::invalid(format!(
                    "unknown optimizer '{other}' (expected sgd, adam or rmsprop)"
                )))
            }
        };
        config.validate()?;
        Ok(config)
    }

    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adam { .. } => "adam",
            OptimizerConfig::Rmsprop { .. } => "rmsprop",
        }
    }

    /// Rejects values no update rule can use (a negative rate, momentum ≥ 1, …).
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, v: f64| {
            Err(Error::invalid(format!(
                "{}: {what} = {v} is out of range",
                self.name()
            )))
        };
        match *self {
            OptimizerConfig::Sgd {
                learning_rate,
                momentum,
                ..
            } => {
                if !(learning_rate > 0.0 && learning_rate.is_finite()) {
                    return bad("learning_rate", learning_rate);
                }
                if !(0.0..1.0).contains(&momentum) {
                    return bad("momentum", momentum);
                }
            }
            OptimizerConfig::Adam {
                learning_rate,
                beta_1,
                beta_2,
                epsilon,
            } => {
                if !(learning_rate > 0.0 && learning_rate.is_finite()) {
                    return bad("learning_rate", learning_rate);
                }
                if !(0.0..1.0).contains(&beta_1) {
                    return bad("beta_1", beta_1);
                }
                if !(0.0..1.0).contains(&beta_2) {
                    return bad("beta_2", beta_2);
                }
                if epsilon < 0.0 {
                    return bad("epsilon", epsilon);
                }
            }
            OptimizerConfig::Rmsprop {
                learning_rate,
                rho,
                momentum,
                epsilon,
                ..
            } => {
                if !(learning_rate > 0.0 && learning_rate.is_finite()) {
                    return bad("learning_rate", learning_rate);
                }
                if !(0.0..1.0).contains(&rho) {
                    return bad("rho", rho);
                }
                if !(0.0..1.0).contains(&momentum) {
                    return bad("momentum", momentum);
                }
                if epsilon < 0.0 {
                    return bad("epsilon", epsilon);
                }
            }
        }
        Ok(())
    }

    pub fn learning_rate(&self) -> f64 {
        match *self {
            OptimizerConfig::Sgd { learning_rate, .. }
            | OptimizerConfig::Adam { learning_rate, .. }
            | OptimizerConfig::Rmsprop { learning_rate, .. } => learning_rate,
        }
    }

    pub fn build<T: Float>(&self) -> Box<dyn Optimizer<T>> {
        match *self {
            OptimizerConfig::Sgd {
                learning_rate,
                momentum,
                nesterov,
            } => Box::new(Sgd::new(learning_rate, momentum, nesterov)),
            OptimizerConfig::Adam {
                learning_rate,
                beta_1,
                beta_2,
                epsilon,
            } => Box::new(Adam::new(learning_rate, beta_1, beta_2, epsilon)),
            OptimizerConfig::Rmsprop {
                learning_rate,
                rho,
                momentum,
                epsilon,
                centered,
            } => Box::new(RmsProp::new(
                learning_rate,
                rho,
                momentum,
                epsilon,
                centered,
            )),
        }
    }
}

/// Per-parameter slot tensors, created at a parameter's first update.
#[derive(Clone, Debug, Default)]
pub(crate) struct Slots<T> {
    tensors: Vec<Option<Tensor<T>>>,
}

impl<T: Float> Slots<T> {
    pub(crate) fn get(&mut self, id: ParamId, like: &Tensor<T>) -> &mut Tensor<T> {
        if self.tensors.len() <= id.0 {
            self.tensors.resize(id.0 + 1, None);
        }
        self.tensors[id.0].get_or_insert_with(|| Tensor::zeros(like.shape()))
    }

    /// `(prefix/param-index, tensor)` for every slot in use.
    pub(crate) fn export(&self, prefix: &str, out: &mut Vec<(String, Tensor<T>)>) {
        for (i, t) in self.tensors.iter().enumerate() {
            if let Some(t) = t {
                out.push((format!("{prefix}/{i}"), t.clone()));
            }
        }
    }

    /// Takes back the slots that `export` wrote under `prefix`.
    pub(crate) fn import(&mut self, prefix: &str, state: &[(String, Tensor<T>)]) -> Result<()> {
        self.tensors.clear();
        for (name, tensor) in state {
            let Some(index) = name.strip_prefix(prefix).and_then(|s| s.strip_prefix('/')) else {
                continue;
            };
            let index: usize = index
                .parse()
                .map_err(|_| Error::invalid(format!("bad optimizer slot name '{name}'")))?;
            if self.tensors.len() <= index {
                self.tensors.resize(index + 1, None);
            }
            self.tensors[index] = Some(tensor.clone());
        }
        Ok(())
    }
}

/// Applies `update(param, grad, slot_index...)` to each (parameter, gradient) pair.
pub(crate) fn for_each_gradient<T: Float>(
    params: &mut ParamStore<T>,
    grads: &Gradients<T>,
    mut update: impl FnMut(ParamId, &mut Tensor<T>, &Tensor<T>),
) {
    for (id, _, grad) in grads.iter() {
        let param = params.get_mut(id);
        if param.trainable {
            update(id, &mut param.value, grad);
        }
    }
}

/// The fewest elements worth a parallel task of their own: below two of these a parameter's
/// update runs whole on the calling thread.
const MIN_CHUNK: usize = 16 * 1024;

/// The most elements in one parallel task, so that a large parameter is cut into enough
/// pieces for a thread that finishes early to take another.
const MAX_CHUNK: usize = 64 * 1024;

/// The length of the chunks a parameter's update is cut into for the pool's threads, or
/// `None` where it should run whole on the calling thread. The chunks are of equal size, as
/// many as a multiple of the thread count, each a whole number of 64-byte lines: with
/// 64K-element chunks and a short last one, the 784-128-10 MLP's 100,352 weights went 2 to 1
/// between two threads, and one waited for the other every step. Each element's update is
/// independent, so the result does not depend on the thread count.
pub(crate) fn update_chunk<T>(len: usize) -> Option<usize> {
    let threads = rayon::current_num_threads();
    if threads == 1 || len < 2 * MIN_CHUNK {
        return None;
    }
    let pieces = len.div_ceil(MAX_CHUNK).next_multiple_of(threads);
    let line = 64 / std::mem::size_of::<T>();
    Some(len.div_ceil(pieces).max(MIN_CHUNK).next_multiple_of(line))
}

/// Runs `f` over matching chunks of a parameter, a slot pair and a gradient, in parallel
/// (chunks of [`update_chunk`]). `f` chooses its own vector width (a `wide_simd_fn!`).
pub(crate) fn par_zip4<T: Float>(
    w: &mut [T],
    a: &mut [T],
    b: &mut [T],
    g: &[T],
    f: impl Fn(&mut [T], &mut [T], &mut [T], &[T]) + Sync,
) {
    use rayon::prelude::*;
    assert!(a.len() == w.len() && b.len() == w.len() && g.len() == w.len());
    let Some(chunk) = update_chunk::<T>(w.len()) else {
        return f(w, a, b, g);
    };
    w.par_chunks_mut(chunk)
        .zip(a.par_chunks_mut(chunk))
        .zip(b.par_chunks_mut(chunk))
        .zip(g.par_chunks(chunk))
        .for_each(|(((w, a), b), g)| f(w, a, b, g));
}

/// `x`, or zero where it is subnormal (nonzero and below the smallest normal in magnitude).
///
/// The running sums of gradients (Adam's m, the momentum, RMSprop's average gradient) decay
/// geometrically while a weight gets no gradient (a pixel that is almost always zero) and fall
/// into the subnormal range after some hundreds of steps (Adam's m after about 700 from 1e-6,
/// at β₁ = 0.9), where every step on them takes the processor's slow path: flushing them made
/// the 784-128-10 MLP's epoch 0.89-0.95× as long on a Zen 4 EPYC (batch 32, 3 epochs, the same
/// loss to the last digit). TensorFlow computes with subnormals flushed to zero everywhere
/// (its kernels run with the processor's FTZ and DAZ flags set); nabla flushes only these
/// slots, in the update's own arithmetic, and leaves every other result and Rust's
/// floating-point environment as they are. The averages of g² that divide the step (Adam's v,
/// RMSprop's s) are not flushed: with ε = 0, a zero there would turn a tiny finite step into
/// an infinite one.
#[inline(always)]
pub(crate) fn flush_subnormal<T: Float>(x: T) -> T {
    if x.abs() < T::min_positive_value() {
        T::zero()
    } else {
        x
    }
}

/// Test data for the update kernels: sin(i·k) for i < n, in f32 as in training.
#[cfg(test)]
pub(crate) fn wave(n: usize, k: f32) -> Vec<f32> {
    (0..n).map(|i| (i as f32 * k).sin()).collect()
}

/// The bits of each element, to compare results exactly.
#[cfg(test)]
pub(crate) fn bits(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|x| x.to_bits()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn par_zip4_visits_every_element_once_in_step_on_any_thread_count() {
        let sizes = [
            0,
            100,
            2 * MIN_CHUNK - 1,
            2 * MIN_CHUNK,
            100_352,
            3 * MAX_CHUNK + 17,
        ];
        for threads in [1, 2, 3] {
            for n in sizes {
                let g: Vec<f32> = (0..n).map(|i| i as f32).collect();
                let (mut w, mut a, mut b) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
                crate::on_threads(threads, || {
                    par_zip4(&mut w, &mut a, &mut b, &g, |w, a, b, g| {
                        assert!(w.len() == a.len() && b.len() == g.len() && a.len() == g.len());
                        for i in 0..w.len() {
                            w[i] += g[i];
                            a[i] += 1.0;
                            b[i] = g[i] * 2.0;
                        }
                    })
                });
                assert_eq!(w, g, "{n} elements on {threads} threads");
                assert!(a.iter().all(|&x| x == 1.0), "{n} elements on {threads}");
                assert!(b.iter().zip(&g).all(|(&b, &g)| b == 2.0 * g));
            }
        }
    }

    #[test]
    fn update_chunks_share_a_parameter_evenly_between_the_threads() {
        let chunk = |threads, len| crate::on_threads(threads, || update_chunk::<f32>(len));
        // The 784-128-10 MLP's first kernel: two equal halves, not 65,536 and 34,816.
        assert_eq!(chunk(2, 100_352), Some(50_176));
        // The CIFAR MLP's: 24 chunks of 64K, 12 for each of two threads.
        assert_eq!(chunk(2, 3072 * 512), Some(MAX_CHUNK));
        // Three threads: 3 chunks of whole 64-byte lines, the last one shorter by under a line.
        assert_eq!(chunk(3, 100_352), Some(33_456));
        assert_eq!(chunk(1, 100_352), None);
        assert_eq!(chunk(2, 2 * MIN_CHUNK - 1), None);
    }
}
