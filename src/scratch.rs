//! The labs' first exercise, exactly: a 2-3-1 sigmoid network with MSE, data and weights drawn
//! from numpy's `RandomState(0)`, its loss and gradients computed twice — by hand, as the
//! derivation reads, and by nabla's autodiff — in f64.
//!
//! numpy: `np.random.seed(0)`; `W1 = randn(3, 2)`, `b1 = zeros(3)`, `W2 = randn(3)`, `b2 = 0`,
//! `X = rand(1000, 2)`, `Y = randint(0, 2, size=1000)`;
//! H = σ(X·W1ᵀ + b1),  Ŷ = σ(H·W2 + b2),  L = 1/(2N)·Σ(Ŷ − Y)².
//!
//! ```
//! let exercise = nabla::scratch::Exercise::numpy_seeded(0);
//! let by_hand = nabla::scratch::by_hand(&exercise);
//! assert!((by_hand.loss - 0.1332476222330792).abs() < 1e-15);
//! ```

use crate::autograd::{ParamStore, Tape};
use crate::error::Result;
use crate::ops;
use crate::random::NumpyRandomState;
use crate::tensor::{Shape, Tensor};
use serde::Serialize;

/// Data and initial weights of the exercise.
#[derive(Clone, Debug)]
pub struct Exercise {
    pub w1: [[f64; 2]; 3],
    pub b1: [f64; 3],
    pub w2: [f64; 3],
    pub b2: f64,
    pub x: Vec<[f64; 2]>,
    pub y: Vec<f64>,
}

/// The loss and its gradient with respect to each weight.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Solution {
    #[serde(rename = "L")]
    pub loss: f64,
    #[serde(rename = "grad_W1")]
    pub grad_w1: [[f64; 2]; 3],
    pub grad_b1: [f64; 3],
    #[serde(rename = "grad_W2")]
    pub grad_w2: [f64; 3],
    pub grad_b2: f64,
}

impl Exercise {
    /// The draws numpy makes after `np.random.seed(seed)`, in the exercise's order.
    pub fn numpy_seeded(seed: u32) -> Self {
        const N: usize = 1000;
        let mut rng = NumpyRandomState::new(seed);
        let mut w1 = [[0.0; 2]; 3];
        for row in w1.iter_mut() {
            for w in row.iter_mut() {
                *w = rng.randn();
            }
        }
        let w2 = [rng.randn(), rng.randn(), rng.randn()];
        let x = (0..N)
            .map(|_| [rng.random_sample(), rng.random_sample()])
            .collect();
        let y = (0..N).map(|_| rng.randint(0, 2) as f64).collect();
        Exercise {
            w1,
            b1: [0.0; 3],
            w2,
            b2: 0.0,
            x,
            y,
        }
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Forward and backward written out as the derivation goes, sample by sample.
/// (Indices j, k read as in the maths, hence the explicit loops.)
#[allow(clippy::needless_range_loop)]
pub fn by_hand(e: &Exercise) -> Solution {
    let n = e.x.len() as f64;
    let mut s = Solution {
        loss: 0.0,
        grad_w1: [[0.0; 2]; 3],
        grad_b1: [0.0; 3],
        grad_w2: [0.0; 3],
        grad_b2: 0.0,
    };
    for (x, &t) in e.x.iter().zip(&e.y) {
        // Forward: z1 = W1·x + b1, h = σ(z1), z2 = W2·h + b2, ŷ = σ(z2).
        let mut h = [0.0; 3];
        for j in 0..3 {
            h[j] = sigmoid(e.w1[j][0] * x[0] + e.w1[j][1] * x[1] + e.b1[j]);
        }
        let y_hat = sigmoid(e.w2[0] * h[0] + e.w2[1] * h[1] + e.w2[2] * h[2] + e.b2);
        s.loss += (y_hat - t).powi(2) / (2.0 * n);

        // Backward: dL/dŷ = (ŷ − t)/N, dL/dz2 = dL/dŷ · ŷ(1 − ŷ).
        let d_y_hat = (y_hat - t) / n;
        let d_z2 = d_y_hat * y_hat * (1.0 - y_hat);
        s.grad_b2 += d_z2;
        for j in 0..3 {
            // dL/dW2ⱼ = dL/dz2 · hⱼ;  dL/dhⱼ = dL/dz2 · W2ⱼ;  dL/dz1ⱼ = dL/dhⱼ · hⱼ(1 − hⱼ).
            s.grad_w2[j] += d_z2 * h[j];
            let d_z1 = d_z2 * e.w2[j] * h[j] * (1.0 - h[j]);
            // dL/dW1ⱼₖ = dL/dz1ⱼ · xₖ;  dL/db1ⱼ = dL/dz1ⱼ.
            s.grad_w1[j][0] += d_z1 * x[0];
            s.grad_w1[j][1] += d_z1 * x[1];
            s.grad_b1[j] += d_z1;
        }
    }
    s
}

/// The notebook's own vectorized code, in numpy's order of operations: per-sample values as
/// `by_hand` computes them, and `np.sum` as numpy adds (pairwise, [`numpy_sum`]), so `L` and
/// `b2` round to the very digits notebook 001 prints (`0.1332476222330792`,
/// `0.029249230265318685`; a plain running sum ends in `...793` and `...867`).
#[allow(clippy::needless_range_loop)]
pub fn by_hand_numpy_order(e: &Exercise) -> Solution {
    let n = e.x.len() as f64;
    let mut squares = Vec::with_capacity(e.x.len());
    let mut d_z2s = Vec::with_capacity(e.x.len());
    let mut s = by_hand(e);
    for (x, &t) in e.x.iter().zip(&e.y) {
        let mut h = [0.0; 3];
        for j in 0..3 {
            h[j] = sigmoid(e.w1[j][0] * x[0] + e.w1[j][1] * x[1] + e.b1[j]);
        }
        let z2 = e.w2[0] * h[0] + e.w2[1] * h[1] + e.w2[2] * h[2] + e.b2;
        let y_hat = sigmoid(z2);
        squares.push((y_hat - t).powi(2));
        // dLdY = 1/N_points * (Y - Y_T);  dLdZ2 = dLdY * (sigmoid(Z2) * (1 - sigmoid(Z2)))
        d_z2s.push((1.0 / n * (y_hat - t)) * (y_hat * (1.0 - y_hat)));
    }
    // L = (1/(2*N_points)) * np.sum(np.square(Y - Y_T));  dLdb2 = np.sum(dLdZ2, axis=0)
    s.loss = (1.0 / (2.0 * n)) * numpy_sum(&squares);
    s.grad_b2 = numpy_sum(&d_z2s);
    s
}

/// `np.sum` of a contiguous float64 array: numpy's pairwise summation. Blocks of up to 128
/// values are added in eight interleaved running sums, combined as ((r0+r1)+(r2+r3)) +
/// ((r4+r5)+(r6+r7)), then the leftover values in turn; longer arrays split in two at
/// half the length rounded down to a multiple of 8, and the halves' sums are added.
pub fn numpy_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        return values.iter().fold(0.0, |acc, v| acc + v);
    }
    if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&values[..8]);
        let whole = n - n % 8;
        for block in values[8..whole].chunks_exact(8) {
            for (acc, v) in r.iter_mut().zip(block) {
                *acc += v;
            }
        }
        let mut total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &values[whole..] {
            total += v;
        }
        return total;
    }
    let half = n / 2;
    let half = half - half % 8;
    numpy_sum(&values[..half]) + numpy_sum(&values[half..])
}

/// The same network built from nabla's ops, differentiated by the tape.
pub fn by_autodiff(e: &Exercise) -> Result<Solution> {
    let n = e.x.len();
    let flat = |rows: &[[f64; 2]]| rows.iter().flatten().copied().collect::<Vec<_>>();
    let mut params = ParamStore::<f64>::default();
    let mut tape = Tape::new(&mut params);
    let x = tape.input(Tensor::from_vec(flat(&e.x), [n, 2])?);
    let y = tape.input(Tensor::from_vec(e.y.clone(), [n, 1])?);
    let w1 = tape.input_with_grad(Tensor::from_vec(flat(&e.w1), [3, 2])?);
    let b1 = tape.input_with_grad(Tensor::from_vec(e.b1.to_vec(), [3])?);
    let w2 = tape.input_with_grad(Tensor::from_vec(e.w2.to_vec(), [3])?);
    let b2 = tape.input_with_grad(Tensor::from_vec(vec![e.b2], [1])?);

    let w1t = ops::transpose(&mut tape, w1)?;
    let z1 = ops::matmul(&mut tape, x, w1t)?;
    let z1 = ops::add(&mut tape, z1, b1)?;
    let h = ops::sigmoid(&mut tape, z1)?;
    let w2_column = ops::reshape(&mut tape, w2, Shape::new(&[3, 1]))?;
    let z2 = ops::matmul(&mut tape, h, w2_column)?;
    let z2 = ops::add(&mut tape, z2, b2)?;
    let y_hat = ops::sigmoid(&mut tape, z2)?;
    let diff = ops::sub(&mut tape, y_hat, y)?;
    let squares = ops::mul(&mut tape, diff, diff)?;
    let total = ops::sum(&mut tape, squares);
    let loss = ops::scale(&mut tape, total, 1.0 / (2.0 * n as f64));
    tape.backward(loss)?;

    let grad = |v| {
        tape.grad(v)
            .expect("every weight is on the path to the loss")
            .data()
    };
    let g1 = grad(w1);
    Ok(Solution {
        loss: tape.value(loss).item(),
        grad_w1: [[g1[0], g1[1]], [g1[2], g1[3]], [g1[4], g1[5]]],
        grad_b1: grad(b1).try_into().expect("three biases"),
        grad_w2: grad(w2).try_into().expect("three weights"),
        grad_b2: grad(b2)[0],
    })
}

impl Solution {
    /// Largest relative difference between two solutions, over the loss and every gradient.
    pub fn max_relative_difference(&self, other: &Solution) -> f64 {
        self.values()
            .iter()
            .zip(other.values())
            .map(|(a, b)| (a - b).abs() / a.abs().max(b.abs()).max(f64::MIN_POSITIVE))
            .fold(0.0, f64::max)
    }

    fn values(&self) -> Vec<f64> {
        let mut v = vec![self.loss, self.grad_b2];
        v.extend(self.grad_w1.iter().flatten());
        v.extend(self.grad_b1);
        v.extend(self.grad_w2);
        v
    }

    /// The solution as Python's `pprint` shows a dict of numpy arrays.
    pub fn pprint(&self) -> String {
        let rows: Vec<Vec<f64>> = self.grad_w1.iter().map(|r| r.to_vec()).collect();
        format!(
            "{{'L': {},\n 'grad_W1': {},\n 'grad_W2': {},\n 'grad_b1': {},\n 'grad_b2': {}}}",
            python_float(self.loss),
            numpy_repr_2d(&rows),
            numpy_repr_1d(&self.grad_w2),
            numpy_repr_1d(&self.grad_b1),
            python_float(self.grad_b2)
        )
    }
}

impl Solution {
    /// What notebooks 001 and 003 print: `print(L)`, then `pp.pprint(gradients)` with
    /// `pp = pprint.PrettyPrinter(indent=4)` and the keys `'W1'`, `'b1'`, `'W2'`, `'b2'`
    /// (pprint sorts them), each array in numpy's repr (numpy 1.x's, which the notebooks ran).
    ///
    /// pprint puts the first key after `{` and `indent - 1` spaces and each further key on its
    /// own line after `indent` spaces; an array's own continuation lines keep numpy's
    /// indentation, as pprint inserts `repr(array)` unchanged.
    pub fn notebook_printout(&self) -> String {
        let rows: Vec<Vec<f64>> = self.grad_w1.iter().map(|r| r.to_vec()).collect();
        let items = [
            ("W1", numpy_repr_2d(&rows)),
            ("W2", numpy_repr_1d(&self.grad_w2)),
            ("b1", numpy_repr_1d(&self.grad_b1)),
            ("b2", python_float(self.grad_b2)),
        ];
        let body: Vec<String> = items
            .iter()
            .map(|(key, value)| format!("'{key}': {value}"))
            .collect();
        format!(
            "{}\n{{   {}}}",
            python_float(self.loss),
            body.join(",\n    ")
        )
    }
}

/// Python's `repr(float)`: shortest round-trip digits, scientific below 1e-4 or from 1e16.
pub fn python_float(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{v:e}");
        let (mantissa, exponent) = s.split_once('e').expect("scientific format");
        let exponent: i32 = exponent.parse().expect("integer exponent");
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// numpy's default array repr (precision 8, `maxprec`), for the small arrays here.
fn numpy_repr_1d(values: &[f64]) -> String {
    format!("array([{}])", numpy_elements(values, values).join(", "))
}

fn numpy_repr_2d(rows: &[Vec<f64>]) -> String {
    let all: Vec<f64> = rows.iter().flatten().copied().collect();
    let lines: Vec<String> = rows
        .iter()
        .map(|r| format!("[{}]", numpy_elements(r, &all).join(", ")))
        .collect();
    format!("array([{}])", lines.join(",\n       "))
}

/// Each element formatted as numpy would within an array whose values are `all`.
fn numpy_elements(values: &[f64], all: &[f64]) -> Vec<String> {
    let nonzero: Vec<f64> = all.iter().map(|v| v.abs()).filter(|&v| v > 0.0).collect();
    let max = nonzero.iter().copied().fold(0.0, f64::max);
    let min = nonzero.iter().copied().fold(f64::INFINITY, f64::min);
    let scientific = max >= 1e8 || (!nonzero.is_empty() && (min < 1e-4 || max / min > 1e3));
    let text = |v: f64| -> (String, String) {
        if scientific {
            let s = format!("{:.8e}", v);
            let (m, e) = s.split_once('e').expect("scientific format");
            let m = m.trim_end_matches('0');
            let e: i32 = e.parse().expect("integer exponent");
            let exp = format!("e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
            let (int, frac) = m.split_once('.').unwrap_or((m, ""));
            (int.to_string(), format!(".{frac}{exp}"))
        } else {
            let s = format!("{:.8}", v);
            let s = s.trim_end_matches('0');
            let (int, frac) = s.split_once('.').unwrap_or((s, ""));
            (int.to_string(), format!(".{frac}"))
        }
    };
    let parts: Vec<(String, String)> = all.iter().map(|&v| text(v)).collect();
    let int_width = parts.iter().map(|p| p.0.len()).max().unwrap_or(0);
    let frac_width = parts.iter().map(|p| p.1.len()).max().unwrap_or(0);
    // In scientific form numpy pads every mantissa with zeros to the longest one.
    let digits = |f: &str| f.find('e').unwrap_or(f.len());
    let mantissa_width = parts.iter().map(|p| digits(&p.1)).max().unwrap_or(0);
    values
        .iter()
        .map(|&v| {
            let (int, mut frac) = text(v);
            if scientific {
                let at = digits(&frac);
                frac.insert_str(at, &"0".repeat(mantissa_width - at));
            }
            format!("{int:>int_width$}{frac:<frac_width$}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_sum_is_pairwise() {
        // 0.1 added 1000 times: a running sum drifts to 99.9999999999986; numpy's pairwise
        // sum gives 100.00000000000001 (np.sum(np.full(1000, 0.1)), numpy 2.4.6).
        let tenths = vec![0.1; 1000];
        assert_eq!(numpy_sum(&tenths), 100.00000000000001);
        assert_eq!(tenths.iter().sum::<f64>(), 99.9999999999986);
        assert_eq!(numpy_sum(&[1.0, 2.0, 3.0]), 6.0);
    }

    #[test]
    fn numpy_repr_layout() {
        assert_eq!(
            numpy_repr_1d(&[
                0.004925766627982226,
                -0.0005802286843354632,
                -0.0006597650949647065
            ]),
            "array([ 0.00492577, -0.00058023, -0.00065977])"
        );
        let rows = vec![
            vec![0.0024459584849412094, 0.0026201934201430274],
            vec![-0.0003076456661379759, -0.00024187502299769856],
            vec![-0.00034768167796295056, -0.0003719963913779411],
        ];
        assert_eq!(
            numpy_repr_2d(&rows),
            "array([[ 0.00244596,  0.00262019],\n       [-0.00030765, -0.00024188],\n       [-0.00034768, -0.000372  ]])"
        );
        assert_eq!(numpy_repr_1d(&[1.5, 2e-6]), "array([1.5e+00, 2.0e-06])");
        assert_eq!(python_float(0.029249230265318685), "0.029249230265318685");
        assert_eq!(python_float(1e-5), "1e-05");
        assert_eq!(python_float(2.0), "2.0");
    }
}
