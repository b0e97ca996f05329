//! Seeded randomness: numpy's legacy `RandomState` on MT19937, bit for bit.
//!
//! One generator serves the whole library (initializers, shuffling, dropout masks, splits),
//! so a seed fixes a run, and a student's `np.random.seed(0)` work can be reproduced exactly.
//!
//! ```
//! use nabla::random::NumpyRandomState;
//! let mut rng = NumpyRandomState::new(0);
//! assert_eq!(rng.randn(), 1.764052345967664); // np.random.seed(0); np.random.randn()
//! ```

mod mt19937;

pub use mt19937::Mt19937;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Everything a `NumpyRandomState` will draw next, as numpy's `get_state()` returns it:
/// saved in checkpoints so a resumed run shuffles and drops out exactly as an unbroken one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RngState {
    /// The 624 words of the MT19937 key.
    pub key: Vec<u32>,
    /// How many words of the key have been used (624: the next draw regenerates the key).
    pub pos: usize,
    /// The second Gaussian of the last polar-method pair, kept for the next `randn`.
    pub cached_gaussian: Option<f64>,
}

/// numpy's `np.random.RandomState`: the legacy distributions on MT19937.
#[derive(Clone, Debug)]
pub struct NumpyRandomState {
    mt: Mt19937,
    /// The polar method makes Gaussians in pairs; numpy keeps the second for the next call.
    cached_gauss: Option<f64>,
}

/// The generator the library uses everywhere.
pub type Rng = NumpyRandomState;

impl NumpyRandomState {
    /// Same state as `np.random.RandomState(seed)` / `np.random.seed(seed)`.
    pub fn new(seed: u32) -> Self {
        NumpyRandomState {
            mt: Mt19937::new(seed),
            cached_gauss: None,
        }
    }

    /// The generator's full state, to continue later from exactly here.
    pub fn get_state(&self) -> RngState {
        let (key, pos) = self.mt.state();
        RngState {
            key: key.to_vec(),
            pos,
            cached_gaussian: self.cached_gauss,
        }
    }

    /// A generator continuing from `state`; a key of the wrong length or a position past its
    /// end is refused (a damaged file), as numpy's `set_state` refuses it.
    pub fn from_state(state: &RngState) -> Result<Self> {
        let mt = Mt19937::from_state(&state.key, state.pos).ok_or_else(|| {
            Error::invalid(format!(
                "random state needs a 624-word key and a position ≤ 624; got {} words, position {}",
                state.key.len(),
                state.pos
            ))
        })?;
        Ok(NumpyRandomState {
            mt,
            cached_gauss: state.cached_gaussian,
        })
    }

    /// The next raw 32-bit output of MT19937.
    pub fn next_u32(&mut self) -> u32 {
        self.mt.next_u32()
    }

    /// A uniform double in [0, 1) with 53 random bits (`random_sample`, `rand`).
    pub fn random_sample(&mut self) -> f64 {
        let a = self.next_u32();
        sample_of(a, self.next_u32())
    }

    /// `out[i] = f(random_sample())` for each element in order: the same draws as as many
    /// calls, with the generator's words made a block at a time (dropout masks).
    pub fn map_random_samples<X>(&mut self, out: &mut [X], f: impl Fn(f64) -> X) {
        const SAMPLES: usize = 256;
        let mut words = [0u32; 2 * SAMPLES];
        for block in out.chunks_mut(SAMPLES) {
            let words = &mut words[..2 * block.len()];
            self.mt.fill_u32(words);
            for (o, pair) in block.iter_mut().zip(words.chunks_exact(2)) {
                *o = f(sample_of(pair[0], pair[1]));
            }
        }
    }

    /// A uniform double in [low, high).
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.random_sample()
    }

    /// A standard normal draw by numpy's legacy polar (Marsaglia) method.
    pub fn randn(&mut self) -> f64 {
        if let Some(g) = self.cached_gauss.take() {
            return g;
        }
        let (x1, x2, r2) = loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                break (x1, x2, r2);
            }
        };
        let f = (-2.0 * r2.ln() / r2).sqrt();
        self.cached_gauss = Some(f * x1);
        f * x2
    }

    /// A normal draw with mean `loc` and standard deviation `scale`.
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.randn()
    }

    /// An integer in [low, high) by numpy's legacy masked rejection (`randint`).
    /// Panics if `high <= low`, as numpy raises.
    pub fn randint(&mut self, low: i64, high: i64) -> i64 {
        assert!(high > low, "randint needs low < high");
        let range = (high - low - 1) as u64;
        low + self.bounded(range) as i64
    }

    /// A uniform integer in [0, max] by masked rejection, as numpy's `random_interval` and
    /// legacy bounded draws do.
    fn bounded(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        if max <= u32::MAX as u64 {
            loop {
                let value = (self.next_u32() as u64) & mask;
                if value <= max {
                    return value;
                }
            }
        }
        loop {
            let value = ((self.next_u32() as u64) << 32 | self.next_u32() as u64) & mask;
            if value <= max {
                return value;
            }
        }
    }

    /// Shuffles in place exactly as numpy's legacy `shuffle` does (Fisher-Yates from the end).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.bounded(i as u64) as usize;
            items.swap(i, j);
        }
    }

    /// `np.random.permutation(n)`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut items: Vec<usize> = (0..n).collect();
        self.shuffle(&mut items);
        items
    }
}

/// numpy's double from two words: the top 27 bits of the first and 26 of the second.
#[inline(always)]
fn sample_of(a: u32, b: u32) -> f64 {
    let (a, b) = ((a >> 5) as f64, (b >> 6) as f64);
    (a * 67108864.0 + b) / 9007199254740992.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A generator rebuilt from a saved state draws what the original draws next, including
    /// the cached Gaussian and across a key regeneration (624 words).
    #[test]
    fn state_round_trip_continues_the_same_stream() {
        let mut rng = NumpyRandomState::new(7);
        for _ in 0..1000 {
            rng.next_u32();
        }
        rng.randn(); // leaves the pair's second value cached
        let state = rng.get_state();
        assert!(state.cached_gaussian.is_some());
        let json = serde_json::to_string(&state).unwrap();
        let mut copy = NumpyRandomState::from_state(&serde_json::from_str(&json).unwrap()).unwrap();
        assert_eq!(copy.randn().to_bits(), rng.randn().to_bits());
        for _ in 0..2000 {
            assert_eq!(copy.next_u32(), rng.next_u32());
        }
    }

    /// The block draws leave the generator where one-at-a-time draws would: from any position
    /// in the key, across key regenerations, for blocks shorter and longer than the key.
    #[test]
    fn block_draws_equal_single_draws() {
        for skip in [0, 1, 300, 623, 624, 625] {
            for len in [0, 1, 17, 255, 256, 257, 624, 1500] {
                let mut one = NumpyRandomState::new(11);
                for _ in 0..skip {
                    one.next_u32();
                }
                let mut block = one.clone();
                let mut words = vec![0u32; len];
                block.mt.fill_u32(&mut words);
                let singles: Vec<u32> = (0..len).map(|_| one.next_u32()).collect();
                assert_eq!(words, singles, "{len} words after {skip}");
                assert_eq!(block.next_u32(), one.next_u32(), "{len} words after {skip}");

                let mut samples = vec![0u64; len];
                block.map_random_samples(&mut samples, f64::to_bits);
                let singles: Vec<u64> = (0..len).map(|_| one.random_sample().to_bits()).collect();
                assert_eq!(samples, singles, "{len} samples after {skip} words");
                assert_eq!(
                    block.next_u32(),
                    one.next_u32(),
                    "{len} samples after {skip}"
                );
            }
        }
    }

    #[test]
    fn damaged_state_is_an_error() {
        let mut state = NumpyRandomState::new(0).get_state();
        state.pos = 625;
        assert!(NumpyRandomState::from_state(&state).is_err());
        state.pos = 0;
        state.key.pop();
        let err = NumpyRandomState::from_state(&state).unwrap_err();
        assert!(err.to_string().contains("623 words"), "{err}");
    }
}
