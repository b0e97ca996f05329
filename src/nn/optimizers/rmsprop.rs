//! RMSprop in Keras's form (ε inside the square root):
//!   s ← ρ·s + (1 − ρ)·g²;   centered: ḡ ← ρ·ḡ + (1 − ρ)·g, d = s − ḡ² + ε, else d = s + ε
//!   Δ = η·g / √d;   with momentum μ: m ← μ·m + Δ, w ← w − m;   else w ← w − Δ

use super::{
    flush_subnormal, for_each_gradient, update_chunk, Optimizer, OptimizerConfig, OptimizerState,
    Slots,
};
use crate::autograd::{Gradients, ParamStore};
use crate::error::Result;
use crate::tensor::simd::wide_simd_fn;
use crate::tensor::Float;
use rayon::prelude::*;

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
        let rates = [
            T::of(self.learning_rate),
            T::of(self.rho),
            T::of(self.epsilon),
            T::of(self.momentum),
        ];
        let (centered, use_momentum) = (self.centered, self.momentum > 0.0);
        let (velocity, average_grad, momentums) = (
            &mut self.velocity,
            &mut self.average_grad,
            &mut self.momentums,
        );
        for_each_gradient(params, grads, |id, w, g| {
            let len = w.numel();
            let chunk = update_chunk::<T>(len).unwrap_or(len).max(1);
            let s = velocity.get(id, w).data_mut().chunks_mut(chunk);
            let mut gbar = centered.then(|| average_grad.get(id, w).data_mut().chunks_mut(chunk));
            let mut m = use_momentum.then(|| momentums.get(id, w).data_mut().chunks_mut(chunk));
            // Matching chunks of the weight, its slots and its gradient, one task each.
            let pieces: Vec<_> = w
                .data_mut()
                .chunks_mut(chunk)
                .zip(s)
                .zip(g.data().chunks(chunk))
                .map(|((w, s), g)| {
                    let gbar = gbar.as_mut().and_then(Iterator::next);
                    (w, s, gbar, m.as_mut().and_then(Iterator::next), g)
                })
                .collect();
            pieces
                .into_par_iter()
                .for_each(|(w, s, gbar, m, g)| rmsprop_update(w, s, gbar, m, g, rates));
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

wide_simd_fn! {
    /// One RMSprop step over a chunk, `rates` = [η, ρ, ε, μ]; `gbar` is there where the rule
    /// is centered, `m` where it has momentum. One loop per case, so that each runs 16 wide
    /// where the processor has AVX-512.
    fn rmsprop_update<T: Float>(
        w: &mut [T],
        s: &mut [T],
        gbar: Option<&mut [T]>,
        m: Option<&mut [T]>,
        g: &[T],
        rates: [T; 4],
    ) {
        let [lr, rho, eps, mu] = rates;
        let one_minus_rho = T::one() - rho;
        let n = w.len();
        let (s, g) = (&mut s[..n], &g[..n]);
        match (gbar, m) {
            (None, None) => {
                for i in 0..n {
                    s[i] = rho * s[i] + one_minus_rho * g[i] * g[i];
                    w[i] -= lr * g[i] / (s[i] + eps).sqrt();
                }
            }
            (Some(a), None) => {
                let a = &mut a[..n];
                for i in 0..n {
                    s[i] = rho * s[i] + one_minus_rho * g[i] * g[i];
                    a[i] = flush_subnormal(rho * a[i] + one_minus_rho * g[i]);
                    w[i] -= lr * g[i] / (s[i] - a[i] * a[i] + eps).sqrt();
                }
            }
            (None, Some(m)) => {
                let m = &mut m[..n];
                for i in 0..n {
                    s[i] = rho * s[i] + one_minus_rho * g[i] * g[i];
                    m[i] = flush_subnormal(mu * m[i] + lr * g[i] / (s[i] + eps).sqrt());
                    w[i] -= m[i];
                }
            }
            (Some(a), Some(m)) => {
                let (a, m) = (&mut a[..n], &mut m[..n]);
                for i in 0..n {
                    s[i] = rho * s[i] + one_minus_rho * g[i] * g[i];
                    a[i] = flush_subnormal(rho * a[i] + one_minus_rho * g[i]);
                    let increment = lr * g[i] / (s[i] - a[i] * a[i] + eps).sqrt();
                    m[i] = flush_subnormal(mu * m[i] + increment);
                    w[i] -= m[i];
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{bits, wave};
    use super::*;

    /// Each of the four loops against the rule as the module's doc writes it, bit for bit:
    /// 1,037 elements in f32, full 16- and 8-wide vectors and a remainder.
    #[test]
    fn vector_update_equals_the_scalar_formula_bit_for_bit() {
        let n = 1037;
        let rates = [1e-3f32, 0.9, 1e-7, 0.5];
        let [lr, rho, eps, mu] = rates;
        for (centered, momentum) in [(false, false), (true, false), (false, true), (true, true)] {
            let (mut w, g) = (wave(n, 0.37), wave(n, 0.73));
            let mut s: Vec<f32> = wave(n, 0.19).iter().map(|x| x * x + 0.5).collect();
            let (mut a, mut m) = (wave(n, 0.11), wave(n, 0.23));
            let (mut w_ref, mut s_ref, mut a_ref, mut m_ref) =
                (w.clone(), s.clone(), a.clone(), m.clone());
            for i in 0..n {
                s_ref[i] = rho * s_ref[i] + (1.0 - rho) * g[i] * g[i];
                let d = if centered {
                    a_ref[i] = flush_subnormal(rho * a_ref[i] + (1.0 - rho) * g[i]);
                    s_ref[i] - a_ref[i] * a_ref[i] + eps
                } else {
                    s_ref[i] + eps
                };
                let increment = lr * g[i] / d.sqrt();
                if momentum {
                    m_ref[i] = flush_subnormal(mu * m_ref[i] + increment);
                    w_ref[i] -= m_ref[i];
                } else {
                    w_ref[i] -= increment;
                }
            }
            let gbar = centered.then_some(a.as_mut_slice());
            let slot_m = momentum.then_some(m.as_mut_slice());
            rmsprop_update(&mut w, &mut s, gbar, slot_m, &g, rates);
            let case = format!("centered {centered}, momentum {momentum}");
            assert_eq!(bits(&w), bits(&w_ref), "{case}");
            assert_eq!(bits(&s), bits(&s_ref), "{case}");
            assert_eq!(bits(&a), bits(&a_ref), "{case}");
            assert_eq!(bits(&m), bits(&m_ref), "{case}");
        }
    }
}
