//! Weight initializers with Keras's names and formulas.
//!
//! fan_in/fan_out follow Keras: for a kernel of shape (..receptive.., in, out),
//! fan_in = in·receptive and fan_out = out·receptive.

use crate::error::{Error, Result};
use crate::random::Rng;
use crate::tensor::{Float, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Initializer {
    #[default]
    GlorotUniform,
    GlorotNormal,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Zeros,
    Ones,
    /// Keras's RandomNormal default: mean 0, stddev 0.05.
    RandomNormal,
    /// Keras's RandomUniform default: [−0.05, 0.05).
    RandomUniform,
}

/// Keras draws "normal" variance-scaling weights from a normal truncated at two standard
/// deviations; this undoes the variance the truncation removes.
const TRUNCATION_CORRECTION: f64 = 0.879_625_661_034_239_8;

impl Initializer {
    pub fn parse(name: &str) -> Result<Self> {
        serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
            Error::invalid(format!(
                "unknown initializer '{name}' (expected glorot_uniform, glorot_normal, he_normal, \
                 he_uniform, lecun_normal, lecun_uniform, zeros, ones, random_normal or random_uniform)"
            ))
        })
    }

    /// A tensor of `dims` drawn from this initializer.
    pub fn init<T: Float>(self, dims: &[usize], rng: &mut Rng) -> Tensor<T> {
        let (fan_in, fan_out) = fans(dims);
        let n: usize = dims.iter().product();
        let uniform = |rng: &mut Rng, limit: f64| rng.uniform(-limit, limit);
        let truncated = |rng: &mut Rng, std: f64| loop {
            let v = rng.randn();
            if v.abs() <= 2.0 {
                break v * std / TRUNCATION_CORRECTION;
            }
        };
        let draw: Box<dyn FnMut(&mut Rng) -> f64> = match self {
            Initializer::Zeros => Box::new(|_| 0.0),
            Initializer::Ones => Box::new(|_| 1.0),
            Initializer::RandomNormal => Box::new(|r| 0.05 * r.randn()),
            Initializer::RandomUniform => Box::new(move |r| uniform(r, 0.05)),
            Initializer::GlorotUniform => {
                let limit = (6.0 / (fan_in + fan_out)).sqrt();
                Box::new(move |r| uniform(r, limit))
            }
            Initializer::GlorotNormal => {
                let std = (2.0 / (fan_in + fan_out)).sqrt();
                Box::new(move |r| truncated(r, std))
            }
            Initializer::HeNormal => {
                let std = (2.0 / fan_in).sqrt();
                Box::new(move |r| truncated(r, std))
            }
            Initializer::HeUniform => {
                let limit = (6.0 / fan_in).sqrt();
                Box::new(move |r| uniform(r, limit))
            }
            Initializer::LecunNormal => {
                let std = (1.0 / fan_in).sqrt();
                Box::new(move |r| truncated(r, std))
            }
            Initializer::LecunUniform => {
                let limit = (3.0 / fan_in).sqrt();
                Box::new(move |r| uniform(r, limit))
            }
        };
        let mut draw = draw;
        let values = (0..n).map(|_| T::of(draw(rng))).collect();
        Tensor::from_vec(values, dims).expect("count matches dims")
    }
}

fn fans(dims: &[usize]) -> (f64, f64) {
    match dims {
        [] => (1.0, 1.0),
        [n] => (*n as f64, *n as f64),
        [a, b] => (*a as f64, *b as f64),
        _ => {
            let receptive: usize = dims[..dims.len() - 2].iter().product();
            let fan_in = dims[dims.len() - 2] * receptive;
            let fan_out = dims[dims.len() - 1] * receptive;
            (fan_in as f64, fan_out as f64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glorot_uniform_stays_within_its_limit_and_fills_it() {
        let mut rng = Rng::new(0);
        let w: Tensor<f64> = Initializer::GlorotUniform.init(&[784, 128], &mut rng);
        let limit = (6.0f64 / (784.0 + 128.0)).sqrt();
        let max = w.data().iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(max <= limit && max > 0.99 * limit);
    }

    #[test]
    fn he_normal_has_the_keras_standard_deviation() {
        let mut rng = Rng::new(1);
        let w: Tensor<f64> = Initializer::HeNormal.init(&[3, 3, 64, 64], &mut rng);
        let n = w.numel() as f64;
        let var = w.data().iter().map(|v| v * v).sum::<f64>() / n;
        let expected = 2.0 / (3.0 * 3.0 * 64.0);
        assert!((var / expected - 1.0).abs() < 0.05, "{var} vs {expected}");
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            Initializer::parse("he_normal").unwrap(),
            Initializer::HeNormal
        );
        assert!(Initializer::parse("xavier").is_err());
    }
}
