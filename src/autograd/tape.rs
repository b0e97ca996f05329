//! The tape: nodes in evaluation order, each with its value and its backward rule.

use super::{BufferPool, Gradients, ParamId, ParamStore};
use crate::error::{Error, Result};
use crate::tensor::{Float, Shape, Tensor};

/// A value on the tape: an input, a parameter or an op's output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Var(u32);

impl Var {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// The local rule of one op: given its inputs, its output and the gradient of the loss
/// with respect to that output, add the gradient with respect to each input.
pub trait Backward<T: Float>: Send {
    fn backward(&self, io: &OpIo<'_, T>, grads: &mut GradSink<'_, T>);
}

/// Inputs an op may have: four for the direct convolution with its bias fused in (input,
/// kernel, padded kernel, bias).
const MAX_INPUTS: usize = 4;

struct Node<T: Float> {
    /// Empty for parameters: their value stays in the `ParamStore`.
    value: Tensor<T>,
    param: Option<ParamId>,
    op: &'static str,
    inputs: [Var; MAX_INPUTS],
    arity: u8,
    backward: Option<Box<dyn Backward<T>>>,
    requires_grad: bool,
}

/// Records ops on values and differentiates them in reverse.
///
/// A tape borrows the model's parameters for one step. Made with [`Tape::inference`] it
/// keeps values only and records no backward rules.
pub struct Tape<'p, T: Float> {
    params: &'p mut ParamStore<T>,
    nodes: Vec<Node<T>>,
    grads: Vec<Option<Tensor<T>>>,
    param_vars: Vec<Option<Var>>,
    pool: BufferPool<T>,
    recording: bool,
}

impl<'p, T: Float> Tape<'p, T> {
    /// A recording tape over `params`, for one training step.
    pub fn new(params: &'p mut ParamStore<T>) -> Self {
        Self::with_pool(params, BufferPool::default(), true)
    }

    /// A tape that records no backward rules: for predict and evaluate.
    pub fn inference(params: &'p mut ParamStore<T>) -> Self {
        Self::with_pool(params, BufferPool::default(), false)
    }

    /// A tape that draws its buffers from `pool`; [`Tape::finish`] gives them back.
    pub fn with_pool(params: &'p mut ParamStore<T>, pool: BufferPool<T>, recording: bool) -> Self {
        let count = params.len();
        Tape {
            params,
            nodes: Vec::with_capacity(64),
            grads: Vec::new(),
            param_vars: vec![None; count],
            pool,
            recording,
        }
    }

    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// A constant: no gradient flows into it.
    pub fn input(&mut self, value: Tensor<T>) -> Var {
        self.leaf(value, None, false)
    }

    /// An input whose gradient is wanted (gradient checks, from-scratch exercises).
    pub fn input_with_grad(&mut self, value: Tensor<T>) -> Var {
        self.leaf(value, None, self.recording)
    }

    /// The variable for parameter `id`; asking twice gives the same variable.
    pub fn param(&mut self, id: ParamId) -> Var {
        if let Some(var) = self.param_vars[id.0] {
            return var;
        }
        let trainable = self.params.get(id).trainable && self.recording;
        let var = self.leaf(Tensor::default(), Some(id), trainable);
        self.param_vars[id.0] = Some(var);
        var
    }

    fn leaf(&mut self, value: Tensor<T>, param: Option<ParamId>, requires_grad: bool) -> Var {
        self.nodes.push(Node {
            value,
            param,
            op: if param.is_some() { "param" } else { "input" },
            inputs: [Var(0); MAX_INPUTS],
            arity: 0,
            backward: None,
            requires_grad,
        });
        Var(self.nodes.len() as u32 - 1)
    }

    /// Records an op's output. `backward` is kept only if the tape records and some input
    /// needs a gradient.
    pub fn push_op<B: Backward<T> + 'static>(
        &mut self,
        op: &'static str,
        value: Tensor<T>,
        inputs: &[Var],
        backward: B,
    ) -> Var {
        assert!(inputs.len() <= MAX_INPUTS);
        let requires_grad =
            self.recording && inputs.iter().any(|v| self.nodes[v.index()].requires_grad);
        let mut stored = [Var(0); MAX_INPUTS];
        stored[..inputs.len()].copy_from_slice(inputs);
        self.nodes.push(Node {
            value,
            param: None,
            op,
            inputs: stored,
            arity: inputs.len() as u8,
            backward: if requires_grad {
                Some(Box::new(backward))
            } else {
                None
            },
            requires_grad,
        });
        Var(self.nodes.len() as u32 - 1)
    }

    pub fn value(&self, var: Var) -> &Tensor<T> {
        let node = &self.nodes[var.index()];
        match node.param {
            Some(id) => self.params.value(id),
            None => &node.value,
        }
    }

    pub fn shape(&self, var: Var) -> Shape {
        self.value(var).shape()
    }

    /// The name of the op that produced `var` ("input", "param", "softmax", ...).
    pub fn op_name(&self, var: Var) -> &'static str {
        self.nodes[var.index()].op
    }

    /// The inputs of the op that produced `var`.
    pub fn op_inputs(&self, var: Var) -> &[Var] {
        let node = &self.nodes[var.index()];
        &node.inputs[..node.arity as usize]
    }

    pub fn requires_grad(&self, var: Var) -> bool {
        self.nodes[var.index()].requires_grad
    }

    /// A buffer for an op's output; contents unspecified, so the op must write every element.
    pub fn alloc(&mut self, shape: Shape) -> Tensor<T> {
        self.pool.take(shape)
    }

    pub fn alloc_zeroed(&mut self, shape: Shape) -> Tensor<T> {
        self.pool.take_zeroed(shape)
    }

    /// Gives back a buffer that an op used only while it ran (scratch from [`Tape::alloc`]),
    /// so the next op or step reuses it instead of allocating and zeroing afresh.
    pub fn recycle(&mut self, buffer: Tensor<T>) {
        self.pool.give(buffer);
    }

    /// The parameters, for layers that update state during the forward pass
    /// (batch normalization's moving averages).
    pub fn params_mut(&mut self) -> &mut ParamStore<T> {
        self.params
    }

    pub fn params(&self) -> &ParamStore<T> {
        self.params
    }

    /// Gradient of the scalar `loss` with respect to every node that needs one.
    pub fn backward(&mut self, loss: Var) -> Result<()> {
        if !self.recording {
            return Err(Error::invalid("backward on a tape that does not record"));
        }
        if self.value(loss).numel() != 1 {
            return Err(Error::shape(format!(
                "backward needs a scalar loss, got shape {}",
                self.shape(loss)
            )));
        }
        let mut grads: Vec<Option<Tensor<T>>> = Vec::with_capacity(self.nodes.len());
        grads.resize_with(self.nodes.len(), || None);
        let mut seed = self.pool.take(self.shape(loss));
        seed.data_mut()[0] = T::one();
        grads[loss.index()] = Some(seed);

        for index in (0..=loss.index()).rev() {
            let node = &self.nodes[index];
            let Some(backward) = &node.backward else {
                continue;
            };
            let Some(grad_out) = grads[index].take() else {
                continue;
            };
            let io = OpIo {
                nodes: &self.nodes,
                params: self.params,
                inputs: &node.inputs[..node.arity as usize],
                output: &node.value,
                grad_out: &grad_out,
            };
            let mut sink = GradSink {
                nodes: &self.nodes,
                params: self.params,
                inputs: &node.inputs[..node.arity as usize],
                grads: &mut grads,
                pool: &mut self.pool,
            };
            backward.backward(&io, &mut sink);
            grads[index] = Some(grad_out);
        }
        self.grads = grads;
        Ok(())
    }

    /// The gradient of the last `backward`'s loss with respect to `var`.
    pub fn grad(&self, var: Var) -> Option<&Tensor<T>> {
        self.grads.get(var.index()).and_then(Option::as_ref)
    }

    /// Moves each trainable parameter's gradient into `out`, recycling `out`'s old buffers.
    pub fn take_param_grads(&mut self, out: &mut Gradients<T>) {
        for (param, var) in self.param_vars.iter().enumerate() {
            let slot = out.slot_mut(ParamId(param));
            let grad = var.and_then(|v| self.grads.get_mut(v.index()).and_then(Option::take));
            if let Some(old) = std::mem::replace(slot, grad) {
                self.pool.give(old);
            }
        }
    }

    /// Ends the step and returns every buffer to the pool for the next one.
    pub fn finish(mut self) -> BufferPool<T> {
        for node in self.nodes.drain(..) {
            self.pool.give(node.value);
        }
        for grad in self.grads.drain(..).flatten() {
            self.pool.give(grad);
        }
        self.pool
    }
}

/// What a backward rule reads: its inputs, its output and the output's gradient.
pub struct OpIo<'a, T: Float> {
    nodes: &'a [Node<T>],
    params: &'a ParamStore<T>,
    inputs: &'a [Var],
    output: &'a Tensor<T>,
    grad_out: &'a Tensor<T>,
}

impl<'a, T: Float> OpIo<'a, T> {
    pub fn input(&self, i: usize) -> &'a Tensor<T> {
        let node = &self.nodes[self.inputs[i].index()];
        match node.param {
            Some(id) => self.params.value(id),
            None => &node.value,
        }
    }

    pub fn output(&self) -> &'a Tensor<T> {
        self.output
    }

    pub fn grad_out(&self) -> &'a Tensor<T> {
        self.grad_out
    }
}

/// Where a backward rule writes the gradients of its inputs.
pub struct GradSink<'a, T: Float> {
    nodes: &'a [Node<T>],
    params: &'a ParamStore<T>,
    inputs: &'a [Var],
    grads: &'a mut [Option<Tensor<T>>],
    pool: &'a mut BufferPool<T>,
}

/// An input's gradient buffer. When `accumulate` is false the buffer holds stale values and
/// must be overwritten; when true, add to it.
pub struct GradSlot<'a, T> {
    pub data: &'a mut [T],
    pub accumulate: bool,
}

impl<T: Float> GradSlot<'_, T> {
    /// Writes `values` (one per element) into the gradient, adding when accumulating.
    pub fn put(self, values: impl Iterator<Item = T>) {
        if self.accumulate {
            for (g, v) in self.data.iter_mut().zip(values) {
                *g += v;
            }
        } else {
            for (g, v) in self.data.iter_mut().zip(values) {
                *g = v;
            }
        }
    }
}

impl<T: Float> GradSink<'_, T> {
    /// Whether input `i` needs a gradient at all.
    pub fn wants(&self, i: usize) -> bool {
        i < self.inputs.len() && self.nodes[self.inputs[i].index()].requires_grad
    }

    /// A scratch buffer for the backward rule, contents unspecified; give it back with
    /// [`GradSink::recycle`].
    pub fn scratch(&mut self, shape: Shape) -> Tensor<T> {
        self.pool.take(shape)
    }

    /// Gives back a buffer from [`GradSink::scratch`] for later ops and steps.
    pub fn recycle(&mut self, buffer: Tensor<T>) {
        self.pool.give(buffer);
    }

    /// The gradient buffer of input `i`, or `None` when it needs none.
    pub fn slot(&mut self, i: usize) -> Option<GradSlot<'_, T>> {
        if !self.wants(i) {
            return None;
        }
        let var = self.inputs[i];
        let node = &self.nodes[var.index()];
        let shape = match node.param {
            Some(id) => self.params.value(id).shape(),
            None => node.value.shape(),
        };
        let grad = &mut self.grads[var.index()];
        let accumulate = grad.is_some();
        let tensor = grad.get_or_insert_with(|| self.pool.take(shape));
        Some(GradSlot {
            data: tensor.data_mut(),
            accumulate,
        })
    }
}
