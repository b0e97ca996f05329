//! Stochastic gradient descent, with optional (Nesterov) momentum, as Keras writes it:
//!   m ← μ·m − η·g;   w ← w + m            (plain momentum)
//!                    w ← w + μ·m − η·g    (Nesterov)
//! With μ = 0: w ← w − η·g.

use super::{for_each_gradient, Optimizer, OptimizerConfig, OptimizerState, Slots};
use crate::autograd::{Gradients, ParamStore};
use crate::error::Result;
use crate::tensor::simd::with_wide_simd;
use crate::tensor::Float;

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
                with_wide_simd(|| {
                    for (w, &g) in w.data_mut().iter_mut().zip(g.data()) {
                        *w -= lr * g;
                    }
                });
                return;
            }
            let m = velocity.get(id, w);
            for ((w, m), &g) in w.data_mut().iter_mut().zip(m.data_mut()).zip(g.data()) {
                *m = mu * *m - lr * g;
                if nesterov {
                    *w += mu * *m - lr * g;
                } else {
                    *w += *m;
                }
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
