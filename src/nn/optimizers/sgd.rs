//! Stochastic gradient descent, with optional (Nesterov) momentum, as Keras writes it:
//!   m ← μ·m − η·g;   w ← w + m            (plain momentum)
//!                    w ← w + μ·m − η·g    (Nesterov)
//! With μ = 0: w ← w − η·g.

use super::{
    flush_subnormal, for_each_gradient, update_chunk, Optimizer, OptimizerConfig, OptimizerState,
    Slots,
};
use crate::autograd::{Gradients, ParamStore};
use crate::error::Result;
use crate::tensor::simd::wide_simd_fn;
use crate::tensor::Float;
use rayon::prelude::*;

pub struct Sgd<T> {
    learning_rate: f64,
    momentum: f64,
    nesterov: bool,
    velocity: Slots<T>,
    iterations: u64,
}

impl<T: Float> Sgd<T> {
    pub fn new(learning_rate: f64, momentum: f64, nesterov: bool) -> Self {
        Sgd {
            learning_rate,
            momentum,
            nesterov,
            velocity: Slots::default(),
            iterations: 0,
        }
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
    fn config(&self) -> OptimizerConfig {
        OptimizerConfig::Sgd {
            learning_rate: self.learning_rate,
            momentum: self.momentum,
            nesterov: self.nesterov,
        }
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    fn step(&mut self, params: &mut ParamStore<T>, grads: &Gradients<T>) {
        let lr = T::of(self.learning_rate);
        let mu = T::of(self.momentum);
        let (momentum, nesterov) = (self.momentum, self.nesterov);
        let velocity = &mut self.velocity;
        for_each_gradient(params, grads, |id, w, g| {
            if momentum == 0.0 {
                let update = |w: &mut [T], g: &[T]| descend(w, g, lr);
                match update_chunk::<T>(w.numel()) {
                    Some(chunk) => w
                        .data_mut()
                        .par_chunks_mut(chunk)
                        .zip(g.data().par_chunks(chunk))
                        .for_each(|(w, g)| update(w, g)),
                    None => update(w.data_mut(), g.data()),
                }
                return;
            }
            let m = velocity.get(id, w).data_mut();
            let update = |w: &mut [T], m: &mut [T], g: &[T]| {
                descend_with_momentum(w, m, g, [lr, mu], nesterov)
            };
            match update_chunk::<T>(w.numel()) {
                Some(chunk) => w
                    .data_mut()
                    .par_chunks_mut(chunk)
                    .zip(m.par_chunks_mut(chunk))
                    .zip(g.data().par_chunks(chunk))
                    .for_each(|((w, m), g)| update(w, m, g)),
                None => update(w.data_mut(), m, g.data()),
            }
        });
        self.iterations += 1;
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn state(&self) -> OptimizerState<T> {
        let mut slots = Vec::new();
        self.velocity.export("momentum", &mut slots);
        OptimizerState {
            iterations: self.iterations,
            slots,
        }
    }

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        self.iterations = state.iterations;
        self.velocity.import("momentum", &state.slots)
    }
}

wide_simd_fn! {
    /// w ← w − η·g over a chunk.
    fn descend<T: Float>(w: &mut [T], g: &[T], lr: T) {
        for (w, &g) in w.iter_mut().zip(g) {
            *w -= lr * g;
        }
    }
}

wide_simd_fn! {
    /// The momentum step over a chunk; `rates` is [η, μ].
    fn descend_with_momentum<T: Float>(
        w: &mut [T],
        m: &mut [T],
        g: &[T],
        rates: [T; 2],
        nesterov: bool,
    ) {
        let [lr, mu] = rates;
        for ((w, m), &g) in w.iter_mut().zip(m.iter_mut()).zip(g) {
            *m = flush_subnormal(mu * *m - lr * g);
            if nesterov {
                *w += mu * *m - lr * g;
            } else {
                *w += *m;
            }
        }
    }
}
