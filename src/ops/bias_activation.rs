//! The activations by name, and the fused `activation(x + b)` that ends every Dense and Conv2D.
//!
//! Fusing saves a pass over the batch each way: z = x + b, y = f(z);
//!   ∂L/∂x = G ⊙ f′(z) (written through y, see `Activation::derivative`),
//!   ∂L/∂b = Σ_rows ∂L/∂x.

use crate::autograd::{Backward, GradSink, OpIo, Tape, Var};
use crate::error::{Error, Result};
use crate::tensor::simd::wide_simd_fn;
use crate::tensor::Float;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// An activation function, by its Keras name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    #[default]
    Linear,
    Relu,
    Sigmoid,
    Tanh,
    /// Over the last axis; not elementwise, so never fused (see `ops::softmax`).
    Softmax,
}

impl Activation {
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
        }
    }

    /// The tape's name for the fused `f(x + b)` op, naming `f`, so a reader of the tape (the
    /// dead-ReLU diagnostic) can tell which activation produced a value.
    pub fn fused_op_name(self) -> &'static str {
        match self {
            Activation::Linear => "bias_add",
            Activation::Relu => "bias_relu",
            Activation::Sigmoid => "bias_sigmoid",
            Activation::Tanh => "bias_tanh",
            Activation::Softmax => "bias_softmax",
        }
    }

    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "linear" | "none" => Activation::Linear,
            "relu" => Activation::Relu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            other => {
                return Err(Error::invalid(format!(
                    "unknown activation '{other}' (expected linear, relu, sigmoid, tanh or softmax)"
                )))
            }
        })
    }

    /// f(x) for the elementwise activations.
    #[inline(always)]
    pub fn apply<T: Float>(self, x: T) -> T {
        match self {
            Activation::Linear | Activation::Softmax => x,
            Activation::Relu => x.max(T::zero()),
            // Written so that e^(−x) never overflows into inf/inf.
            Activation::Sigmoid => {
                if x >= T::zero() {
                    T::one() / (T::one() + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (T::one() + e)
                }
            }
            Activation::Tanh => x.tanh(),
        }
    }

    /// f′ expressed through the output y = f(x), so the backward pass needs only y.
    #[inline(always)]
    pub fn derivative<T: Float>(self, y: T) -> T {
        match self {
            Activation::Linear | Activation::Softmax => T::one(),
            Activation::Relu => {
                if y > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
            Activation::Sigmoid => y * (T::one() - y),
            Activation::Tanh => T::one() - y * y,
        }
    }
}

/// f(x + b) with `b` broadcast over the last axis of `x`. `f` must be elementwise.
pub fn bias_activation<T: Float>(
    tape: &mut Tape<T>,
    x: Var,
    bias: Option<Var>,
    act: Activation,
) -> Result<Var> {
    if act == Activation::Softmax {
        return Err(Error::invalid(
            "softmax cannot be fused with a bias; use ops::softmax",
        ));
    }
    let shape = tape.shape(x);
    let width = shape.dim(-1);
    if let Some(b) = bias {
        if tape.shape(b).dims() != [width] {
            return Err(Error::shape(format!(
                "bias of shape {} for input {shape}",
                tape.shape(b)
            )));
        }
    }
    let mut out = tape.alloc(shape);
    {
        let xs = tape.value(x).data();
        let bs = bias.map(|b| tape.value(b).data());
        let o = out.data_mut();
        match act {
            Activation::Relu => forward::<Relu, T>(xs, bs, o, width),
            Activation::Sigmoid => forward::<Sigmoid, T>(xs, bs, o, width),
            Activation::Tanh => forward::<Tanh, T>(xs, bs, o, width),
            Activation::Linear | Activation::Softmax => forward::<Linear, T>(xs, bs, o, width),
        }
    }
    let inputs: &[Var] = match bias {
        Some(b) => &[x, b],
        None => &[x],
    };
    Ok(tape.push_op(
        act.fused_op_name(),
        out,
        inputs,
        BiasActivationBackward { act, width },
    ))
}

/// One activation as a type, so each loop below compiles to branch-free (vectorized) code
/// for that activation instead of a `match` per element.
trait Elementwise: Send + Sync {
    const ACT: Activation;
}

struct Linear;
struct Relu;
struct Sigmoid;
struct Tanh;

impl Elementwise for Linear {
    const ACT: Activation = Activation::Linear;
}
impl Elementwise for Relu {
    const ACT: Activation = Activation::Relu;
}
impl Elementwise for Sigmoid {
    const ACT: Activation = Activation::Sigmoid;
}
impl Elementwise for Tanh {
    const ACT: Activation = Activation::Tanh;
}

/// Elements per parallel task.
const CHUNK_ROWS_ELEMENTS: usize = 32 * 1024;

/// Rows per parallel task for rows of `width`: whole rows, about `CHUNK_ROWS_ELEMENTS` values.
fn chunk_len(width: usize) -> usize {
    (CHUNK_ROWS_ELEMENTS / width.max(1)).max(1) * width.max(1)
}

/// Values the inner loops run over at least: whole rows, as many as make this many.
const PERIOD_ELEMENTS: usize = 64;

/// The bias repeated over as many rows as make at least `PERIOD_ELEMENTS` values. A
/// convolution's rows are its channels (6 for LeNet-5's first layer), too short a loop to
/// vectorize; over the repeated bias the loop is long and the values the same.
pub(super) fn bias_period<T: Float>(bias: &[T]) -> Vec<T> {
    bias.repeat(period_len(bias.len()) / bias.len().max(1))
}

/// Whole rows of `width` making at least `PERIOD_ELEMENTS` values.
pub(super) fn period_len(width: usize) -> usize {
    let width = width.max(1);
    width * PERIOD_ELEMENTS.div_ceil(width)
}

fn forward<A: Elementwise, T: Float>(xs: &[T], bias: Option<&[T]>, out: &mut [T], width: usize) {
    let period = bias.map(bias_period);
    let chunk = chunk_len(period.as_ref().map_or(width, Vec::len));
    out.par_chunks_mut(chunk)
        .zip(xs.par_chunks(chunk))
        .for_each(|(out, xs)| match &period {
            Some(period) => add_bias_apply::<A, T>(out, xs, period),
            None => apply::<A, T>(out, xs),
        });
}

wide_simd_fn! {
    /// out = f(x + b) over whole periods of the bias (the last one may be cut short).
    fn add_bias_apply<A: Elementwise, T: Float>(out: &mut [T], xs: &[T], period: &[T]) {
        for (orow, xrow) in out.chunks_mut(period.len()).zip(xs.chunks(period.len())) {
            for ((o, &xv), &bv) in orow.iter_mut().zip(xrow).zip(period) {
                *o = A::ACT.apply(xv + bv);
            }
        }
    }
}

wide_simd_fn! {
    /// out = f(x).
    fn apply<A: Elementwise, T: Float>(out: &mut [T], xs: &[T]) {
        for (o, &xv) in out.iter_mut().zip(xs) {
            *o = A::ACT.apply(xv);
        }
    }
}

wide_simd_fn! {
    /// dz = G ⊙ f′ (through y).
    fn activation_grad<A: Elementwise, T: Float>(dz: &mut [T], g: &[T], y: &[T]) {
        for ((d, &gv), &yv) in dz.iter_mut().zip(g).zip(y) {
            *d = gv * A::ACT.derivative(yv);
        }
    }
}

wide_simd_fn! {
    /// dz = G ⊙ f′ (through y), and `sum` += dz's rows of `sum.len()` values, in row order.
    fn activation_grad_summed<A: Elementwise, T: Float>(dz: &mut [T], g: &[T], y: &[T], sum: &mut [T]) {
        let width = sum.len();
        for ((d, g), y) in dz.chunks_mut(width).zip(g.chunks(width)).zip(y.chunks(width)) {
            for (((d, &gv), &yv), s) in d.iter_mut().zip(g).zip(y).zip(sum.iter_mut()) {
                *d = gv * A::ACT.derivative(yv);
                *s += *d;
            }
        }
    }
}

wide_simd_fn! {
    /// values = f(values + b) in place, over whole periods of the bias.
    fn add_bias_apply_in_place<A: Elementwise, T: Float>(values: &mut [T], period: &[T]) {
        for row in values.chunks_mut(period.len()) {
            for (v, &bv) in row.iter_mut().zip(period) {
                *v = A::ACT.apply(*v + bv);
            }
        }
    }
}

wide_simd_fn! {
    /// values = f(values) in place.
    fn apply_in_place<A: Elementwise, T: Float>(values: &mut [T]) {
        for v in values.iter_mut() {
            *v = A::ACT.apply(*v);
        }
    }
}

/// `values = f(values + b)` in place, for an op that has just written `values` and applies
/// the layer's bias and activation while they are in cache (the direct convolution).
/// `period` is the bias from [`bias_period`]; `values` is whole rows.
pub(super) fn bias_activation_in_place<T: Float>(
    values: &mut [T],
    period: Option<&[T]>,
    act: Activation,
) {
    fn run<A: Elementwise, T: Float>(values: &mut [T], period: Option<&[T]>) {
        match period {
            Some(period) => add_bias_apply_in_place::<A, T>(values, period),
            None if A::ACT == Activation::Linear => {}
            None => apply_in_place::<A, T>(values),
        }
    }
    match act {
        Activation::Relu => run::<Relu, T>(values, period),
        Activation::Sigmoid => run::<Sigmoid, T>(values, period),
        Activation::Tanh => run::<Tanh, T>(values, period),
        Activation::Linear | Activation::Softmax => run::<Linear, T>(values, period),
    }
}

/// The backward of [`bias_activation_in_place`] over whole rows: dz = G ⊙ f′ (through y),
/// and, when given, dz's rows summed into `period_sum` ([`period_len`] values, rows in
/// order; [`fold_periods`] turns such sums into the bias gradient).
pub(super) fn bias_activation_grad<T: Float>(
    act: Activation,
    dz: &mut [T],
    g: &[T],
    y: &[T],
    period_sum: Option<&mut [T]>,
) {
    fn run<A: Elementwise, T: Float>(dz: &mut [T], g: &[T], y: &[T], sum: Option<&mut [T]>) {
        match sum {
            Some(sum) => activation_grad_summed::<A, T>(dz, g, y, sum),
            None => activation_grad::<A, T>(dz, g, y),
        }
    }
    match act {
        Activation::Relu => run::<Relu, T>(dz, g, y, period_sum),
        Activation::Sigmoid => run::<Sigmoid, T>(dz, g, y, period_sum),
        Activation::Tanh => run::<Tanh, T>(dz, g, y, period_sum),
        Activation::Linear | Activation::Softmax => run::<Linear, T>(dz, g, y, period_sum),
    }
}

/// `sum` += every row of `width = sum.len()` in `partials`, in order.
pub(super) fn fold_periods<T: Float>(sum: &mut [T], partials: &[T]) {
    for row in partials.chunks(sum.len()) {
        for (s, &d) in sum.iter_mut().zip(row) {
            *s += d;
        }
    }
}

struct BiasActivationBackward {
    act: Activation,
    width: usize,
}

impl<T: Float> Backward<T> for BiasActivationBackward {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>) {
        match self.act {
            Activation::Relu => backward::<Relu, T>(io, grads, self.width),
            Activation::Sigmoid => backward::<Sigmoid, T>(io, grads, self.width),
            Activation::Tanh => backward::<Tanh, T>(io, grads, self.width),
            Activation::Linear | Activation::Softmax => {
                backward::<Linear, T>(io, grads, self.width)
            }
        }
    }
}

/// dz = G ⊙ f′ (through y); ∂L/∂x = dz; ∂L/∂b = column sums of dz, in row order.
fn backward<A: Elementwise, T: Float>(io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>, width: usize) {
    let (y, g) = (io.output().data(), io.grad_out().data());
    let period = period_len(width);
    let chunk = chunk_len(period);
    let mut db_sum = grads.wants(1).then(|| vec![T::zero(); width]);
    match grads.slot(0) {
        Some(dx) => {
            let accumulate = dx.accumulate;
            if accumulate {
                // Rare (x reused elsewhere): keep it simple.
                for ((d, &gv), &yv) in dx.data.iter_mut().zip(g).zip(y) {
                    *d += gv * A::ACT.derivative(yv);
                }
                if let Some(sum) = db_sum.as_mut() {
                    for (row_g, row_y) in g.chunks(width).zip(y.chunks(width)) {
                        for ((s, &gv), &yv) in sum.iter_mut().zip(row_g).zip(row_y) {
                            *s += gv * A::ACT.derivative(yv);
                        }
                    }
                }
            } else {
                // One pass: each task writes its rows of dz and sums them into its own
                // partial bias gradient while they are in cache, `period` values wide (whole
                // rows, so the loop is long for a convolution's few channels). The partials
                // are then added in task order and folded to `width`. Tasks are fixed runs of
                // rows, so the sums do not depend on the thread count.
                let tasks = dx.data.len().div_ceil(chunk);
                let rows = dx.data.par_chunks_mut(chunk).zip(g.par_chunks(chunk));
                let rows = rows.zip(y.par_chunks(chunk));
                match db_sum.as_mut() {
                    Some(sum) => {
                        let mut partials = vec![T::zero(); tasks * period];
                        rows.zip(partials.par_chunks_mut(period)).for_each(
                            |(((d, g), y), partial)| {
                                activation_grad_summed::<A, T>(d, g, y, partial)
                            },
                        );
                        fold_periods(sum, &partials);
                    }
                    None => rows.for_each(|((d, g), y)| activation_grad::<A, T>(d, g, y)),
                }
            }
        }
        None => {
            if let Some(sum) = db_sum.as_mut() {
                for (row_g, row_y) in g.chunks(width).zip(y.chunks(width)) {
                    for ((s, &gv), &yv) in sum.iter_mut().zip(row_g).zip(row_y) {
                        *s += gv * A::ACT.derivative(yv);
                    }
                }
            }
        }
    }
    if let (Some(sum), Some(db)) = (db_sum, grads.slot(1)) {
        db.put(sum.into_iter());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::autograd::check::{assert_gradients, random_tensor};

    #[test]
    fn fused_gradients_for_every_elementwise_activation() {
        for act in [
            Activation::Linear,
            Activation::Relu,
            Activation::Sigmoid,
            Activation::Tanh,
        ] {
            let inputs = [random_tensor(&[5, 4], 21), random_tensor(&[4], 22)];
            assert_gradients(&inputs, |t, v| bias_activation(t, v[0], Some(v[1]), act));
            assert_gradients(&inputs[..1], |t, v| bias_activation(t, v[0], None, act));
        }
    }

    #[test]
    fn narrow_rows_over_several_tasks_equal_the_plain_sums() {
        // 6 channels (LeNet-5's first layer): the bias repeats over 66-value periods and the
        // 7,001 rows span two tasks, the last period cut short.
        let (rows, width) = (7001, 6);
        let x = random_tensor(&[rows, width], 31);
        let b = random_tensor(&[width], 32);
        let weights = random_tensor(&[rows, width], 33);
        let mut params = crate::autograd::ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let (xv, bv) = (
            tape.input_with_grad(x.clone()),
            tape.input_with_grad(b.clone()),
        );
        let y = bias_activation(&mut tape, xv, Some(bv), Activation::Relu).unwrap();
        let r = tape.input(weights.clone());
        let weighted = crate::ops::mul(&mut tape, y, r).unwrap();
        let loss = crate::ops::sum(&mut tape, weighted);
        tape.backward(loss).unwrap();
        let mut db = [0.0; 6];
        for i in 0..rows * width {
            let z = x.data()[i] + b.data()[i % width];
            assert_eq!(tape.value(y).data()[i], z.max(0.0));
            let dz = if z > 0.0 { weights.data()[i] } else { 0.0 };
            assert_eq!(tape.grad(xv).unwrap().data()[i], dz);
            db[i % width] += dz;
        }
        for (got, want) in tape.grad(bv).unwrap().data().iter().zip(db) {
            assert!(
                (got - want).abs() < 1e-12 * want.abs().max(1.0),
                "{got} vs {want}"
            );
        }
    }

    #[test]
    fn wrong_bias_width_is_an_error() {
        let mut params = crate::autograd::ParamStore::<f64>::default();
        let mut tape = Tape::new(&mut params);
        let x = tape.input(random_tensor(&[2, 3], 1));
        let b = tape.input(random_tensor(&[4], 1));
        assert!(bias_activation(&mut tape, x, Some(b), Activation::Relu).is_err());
    }

    #[test]
    fn names_round_trip() {
        for act in [Activation::Linear, Activation::Relu, Activation::Softmax] {
            assert_eq!(Activation::parse(act.name()).unwrap(), act);
        }
        assert!(Activation::parse("swish").is_err());
    }
}
