//! RMSprop in Keras's form (ε inside the square root):
//!   s ← ρ·s + (1 − ρ)·g²;   centered: ḡ ← ρ·ḡ + (1 − ρ)·g, d = s − ḡ² + ε, else d = s + ε
//!   Δ = η·g / √d;   with momentum μ: m ← μ·m + Δ, w ← w − m;   else w ← w − Δ

use super::{
    flush_subnormal, for_each_gradient, Optimizer, OptimizerConfig, OptimizerState, Slots,
};
use crate::autograd::{Gradients, ParamStore};
use crate::error::Result;
use crate::tensor::Float;

pub struct RmsProp<T> {
    learning_rate: f64,
    rho: f64,
    momentum: f64,
    epsilon: f64,
    centered: bool,
    velocity: Slots<T>,
    average_grad: Slots<T>,
    momentums: Slots<T>,
    iterations: u64,
}

impl<T: Float> RmsProp<T> {
    pub fn new(learning_rate: f64, rho: f64, momentum: f64, epsilon: f64, centered: bool) -> Self {
        RmsProp {
            learning_rate,
            rho,
            momentum,
            epsilon,
            centered,
            velocity: Slots::default(),
            average_grad: Slots::default(),
            momentums: Slots::default(),
            iterations: 0,
        }
    }
}

impl<T: Float> Optimizer<T> for RmsProp<T> {
    fn config(&self) -> OptimizerConfig {
        OptimizerConfig::Rmsprop {
            learning_rate: self.learning_rate,
            rho: self.rho,
            momentum: self.momentum,
            epsilon: self.epsilon,
            centered: self.centered,
        }
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    fn step(&mut self, params: &mut ParamStore<T>, grads: &Gradients<T>) {
        let (lr, rho, eps, mu) = (
            T::of(self.learning_rate),
            T::of(self.rho),
            T::of(self.epsilon),
            T::of(self.momentum),
        );
        let one_minus_rho = T::one() - rho;
        let (centered, use_momentum) = (self.centered, self.momentum > 0.0);
        let (velocity, average_grad, momentums) = (
            &mut self.velocity,
            &mut self.average_grad,
            &mut self.momentums,
        );
        for_each_gradient(params, grads, |id, w, g| {
            let s = velocity.get(id, w).data_mut();
            let mut gbar = centered.then(|| average_grad.get(id, w).data_mut());
            let mut m = use_momentum.then(|| momentums.get(id, w).data_mut());
            for (i, (w, &g)) in w.data_mut().iter_mut().zip(g.data()).enumerate() {
                s[i] = rho * s[i] + one_minus_rho * g * g;
                let denominator = match gbar.as_deref_mut() {
                    Some(a) => {
                        a[i] = flush_subnormal(rho * a[i] + one_minus_rho * g);
                        s[i] - a[i] * a[i] + eps
                    }
                    None => s[i] + eps,
                };
                let increment = lr * g / denominator.sqrt();
                match m.as_deref_mut() {
                    Some(m) => {
                        m[i] = flush_subnormal(mu * m[i] + increment);
                        *w -= m[i];
                    }
                    None => *w -= increment,
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
        self.velocity.export("velocity", &mut slots);
        self.average_grad.export("average_grad", &mut slots);
        self.momentums.export("momentum", &mut slots);
        OptimizerState {
            iterations: self.iterations,
            slots,
        }
    }

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        self.iterations = state.iterations;
        self.velocity.import("velocity", &state.slots)?;
        self.average_grad.import("average_grad", &state.slots)?;
        self.momentums.import("momentum", &state.slots)
    }
}
