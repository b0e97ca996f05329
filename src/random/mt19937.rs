//! The Mersenne Twister MT19937 (Matsumoto & Nishimura, 1998), seeded as numpy seeds it.

use crate::tensor::simd::wide_simd_fn;

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

#[derive(Clone)]
pub struct Mt19937 {
    state: [u32; N],
    index: usize,
}

impl std::fmt::Debug for Mt19937 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mt19937 {{ index: {} }}", self.index)
    }
}

impl Mt19937 {
    /// `init_genrand`, which numpy uses for an integer seed.
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Mt19937 { state, index: N }
    }

    fn twist(&mut self) {
        twist_key(&mut self.state);
        self.index = 0;
    }

    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let y = self.state[self.index];
        self.index += 1;
        tempered(y)
    }

    /// `out.len()` outputs, the same as as many calls of [`next_u32`](Self::next_u32): the
    /// key's words tempered a run at a time, vector-wide (dropout masks draw 98,304 words a
    /// step in the CIFAR MLP).
    pub fn fill_u32(&mut self, mut out: &mut [u32]) {
        while !out.is_empty() {
            if self.index >= N {
                self.twist();
            }
            let take = out.len().min(N - self.index);
            let (head, rest) = out.split_at_mut(take);
            temper_into(&self.state[self.index..self.index + take], head);
            self.index += take;
            out = rest;
        }
    }
}

wide_simd_fn! {
    /// The next key, in three loops whose indices need no `% N`, so that each runs vector-wide:
    /// every word reads words that are either all still old (ahead of it) or all new (at least
    /// N − M = 227 behind it), whatever the vector width.
    fn twist_key<>(s: &mut [u32; N]) {
        for i in 0..N - M {
            s[i] = twisted(s[i], s[i + 1], s[i + M]);
        }
        for i in N - M..N - 1 {
            s[i] = twisted(s[i], s[i + 1], s[i + M - N]);
        }
        s[N - 1] = twisted(s[N - 1], s[0], s[M - 1]);
    }
}

wide_simd_fn! {
    fn temper_into<>(words: &[u32], out: &mut [u32]) {
        for (o, &y) in out.iter_mut().zip(words) {
            *o = tempered(y);
        }
    }
}

/// Word `i` of the next key from words `i`, `i + 1` and `i + M` (mod N) of the key.
#[inline(always)]
fn twisted(word: u32, next: u32, far: u32) -> u32 {
    let y = (word & UPPER_MASK) | (next & LOWER_MASK);
    far ^ (y >> 1) ^ ((y & 1).wrapping_neg() & MATRIX_A)
}

/// MT19937's output function, which spreads a key word's bits.
#[inline(always)]
fn tempered(mut y: u32) -> u32 {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c_5680;
    y ^= (y << 15) & 0xefc6_0000;
    y ^ (y >> 18)
}

impl Mt19937 {
    /// The 624-word key and the position in it, as numpy's `get_state()` reports them.
    pub fn state(&self) -> (&[u32; N], usize) {
        (&self.state, self.index)
    }

    /// A generator continuing from a saved key and position (numpy's `set_state`).
    /// `None` if the key is not 624 words or the position is past its end.
    pub fn from_state(key: &[u32], pos: usize) -> Option<Self> {
        let state: [u32; N] = key.try_into().ok()?;
        (pos <= N).then_some(Mt19937 { state, index: pos })
    }
}
