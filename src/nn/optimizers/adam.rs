//! Adam (Kingma & Ba, 2015) in Keras's form, with the bias correction folded into the rate:
//!   α_t = η·√(1 − β₂ᵗ) / (1 − β₁ᵗ)
//!   m ← m + (1 − β₁)(g − m);   v ← v + (1 − β₂)(g² − v);   w ← w − α_t·m / (√v + ε)

use super::{
    flush_subnormal, for_each_gradient, par_zip4, Optimizer, OptimizerConfig, OptimizerState, Slots,
};
use crate::autograd::{Gradients, ParamStore};
use crate::error::Result;
use crate::tensor::simd::wide_simd_fn;
use crate::tensor::Float;

pub struct Adam<T> {
    learning_rate: f64,
    beta_1: f64,
    beta_2: f64,
    epsilon: f64,
    m: Slots<T>,
    v: Slots<T>,
    iterations: u64,
}

impl<T: Float> Adam<T> {
    pub fn new(learning_rate: f64, beta_1: f64, beta_2: f64, epsilon: f64) -> Self {
        Adam {
            learning_rate,
            beta_1,
            beta_2,
            epsilon,
            m: Slots::default(),
            v: Slots::default(),
            iterations: 0,
        }
    }
}

impl<T: Float> Optimizer<T> for Adam<T> {
    fn config(&self) -> OptimizerConfig {
        OptimizerConfig::Adam {
            learning_rate: self.learning_rate,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            epsilon: self.epsilon,
        }
    }

    fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    fn set_learning_rate(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    fn step(&mut self, params: &mut ParamStore<T>, grads: &Gradients<T>) {
        let t = (self.iterations + 1) as i32;
        let alpha =
            self.learning_rate * (1.0 - self.beta_2.powi(t)).sqrt() / (1.0 - self.beta_1.powi(t));
        let (alpha, eps) = (T::of(alpha), T::of(self.epsilon));
        let (one_minus_b1, one_minus_b2) = (T::of(1.0 - self.beta_1), T::of(1.0 - self.beta_2));
        let constants = [alpha, eps, one_minus_b1, one_minus_b2];
        let (ms, vs) = (&mut self.m, &mut self.v);
        for_each_gradient(params, grads, |id, w, g| {
            let m = ms.get(id, w).data_mut();
            let v = vs.get(id, w).data_mut();
            par_zip4(w.data_mut(), m, v, g.data(), |w, m, v, g| {
                adam_update(w, m, v, g, constants)
            });
        });
        self.iterations += 1;
    }

    fn iterations(&self) -> u64 {
        self.iterations
    }

    fn state(&self) -> OptimizerState<T> {
        let mut slots = Vec::new();
        self.m.export("m", &mut slots);
        self.v.export("v", &mut slots);
        OptimizerState {
            iterations: self.iterations,
            slots,
        }
    }

    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        self.iterations = state.iterations;
        self.m.import("m", &state.slots)?;
        self.v.import("v", &state.slots)
    }
}

wide_simd_fn! {
    /// One Adam step over a chunk, as its own function so that the whole loop runs 16 wide
    /// where the processor has AVX-512: the square root and division bound it (a fifth of an
    /// mlp_a epoch at 8 wide).
    fn adam_update<T: Float>(w: &mut [T], m: &mut [T], v: &mut [T], g: &[T], constants: [T; 4]) {
        let [alpha, eps, one_minus_b1, one_minus_b2] = constants;
        let n = w.len();
        let (m, v, g) = (&mut m[..n], &mut v[..n], &g[..n]);
        for i in 0..n {
            m[i] = flush_subnormal(m[i] + (g[i] - m[i]) * one_minus_b1);
            v[i] += (g[i] * g[i] - v[i]) * one_minus_b2;
            w[i] -= alpha * m[i] / (v[i].sqrt() + eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{bits, wave};
    use super::*;

    #[test]
    fn vector_update_equals_the_scalar_formula_bit_for_bit() {
        // 1,037 elements: full 16- and 8-wide vectors and a remainder, in f32 as in training.
        let n = 1037;
        let (mut w, mut m, g) = (wave(n, 0.37), wave(n, 0.11), wave(n, 0.73));
        let mut v: Vec<f32> = wave(n, 0.19).iter().map(|x| x * x).collect();
        let constants = [1e-3, 1e-7, 0.1, 0.001];
        let [alpha, eps, one_minus_b1, one_minus_b2] = constants;
        let (mut w_ref, mut m_ref, mut v_ref) = (w.clone(), m.clone(), v.clone());
        for i in 0..n {
            m_ref[i] = flush_subnormal(m_ref[i] + (g[i] - m_ref[i]) * one_minus_b1);
            v_ref[i] += (g[i] * g[i] - v_ref[i]) * one_minus_b2;
            w_ref[i] -= alpha * m_ref[i] / (v_ref[i].sqrt() + eps);
        }
        adam_update(&mut w, &mut m, &mut v, &g, constants);
        assert_eq!(bits(&m), bits(&m_ref));
        assert_eq!(bits(&v), bits(&v_ref));
        assert_eq!(bits(&w), bits(&w_ref));
    }
}
