//! `Sequential`: a stack of layers with Keras's compile / fit / evaluate / predict / summary.

use super::batches::BatchSource;
use super::summary::{format_summary, SummaryRow};
use super::warm_workers::WarmWorkers;
use crate::autograd::{BufferPool, Gradients, ParamStore, Tape, Var};
use crate::error::{Error, Result};
use crate::nn::budget::Budget;
use crate::nn::{metrics, Context, Layer, LayerConfig, Loss, Optimizer, OptimizerConfig, Output};
use crate::ops::{self, Activation};
use crate::random::Rng;
use crate::tensor::{Float, Shape, Tensor};

/// A linear stack of layers.
///
/// ```
/// use nabla::nn::layers::{Dense, Flatten};
/// use nabla::nn::{Loss, OptimizerConfig};
/// use nabla::ops::Activation;
/// use nabla::train::Sequential;
///
/// let mut model = Sequential::<f32>::new(&[28, 28, 1]);
/// model.add(Flatten::new())?;
/// model.add(Dense::new(128).activation(Activation::Relu))?;
/// model.add(Dense::new(10).activation(Activation::Softmax))?;
/// model.compile(OptimizerConfig::adam(1e-3), Loss::CategoricalCrossentropy)?;
/// assert_eq!(model.count_params(), (101_770, 0));
/// # Ok::<(), nabla::Error>(())
/// ```
pub struct Sequential<T: Float = f32> {
    pub(crate) name: String,
    input_shape: Vec<usize>,
    configs: Vec<LayerConfig>,
    pub(crate) layers: Vec<Layer<T>>,
    pub(crate) params: ParamStore<T>,
    /// Memory the layers will need, checked before each is allocated.
    budget: Budget,
    seed: u32,
    pub(crate) rng: Rng,
    pub(crate) compiled: Option<Compiled<T>>,
    pool: BufferPool<T>,
    grads: Gradients<T>,
}

pub(crate) struct Compiled<T: Float> {
    pub(crate) optimizer: Box<dyn Optimizer<T>>,
    pub(crate) loss: Loss,
}

/// Loss and accuracy over a dataset, as `evaluate` reports them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
}

/// One batch's mean loss (regularization included) and how many rows were right.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchResult {
    pub loss: f64,
    pub correct: usize,
}

/// One layer's output on a batch, as [`Sequential::layer_outputs`] returns it.
#[derive(Clone, Debug)]
pub struct LayerOutput<T: Float> {
    /// The layer's name, e.g. `dense_1`.
    pub layer: String,
    /// The activation that produced the output (`Relu` for a Dense or Conv2D with a fused
    /// ReLU and for a ReLU Activation layer); `Linear` when there was none.
    pub activation: Activation,
    /// Shape (batch, ...per-sample output shape).
    pub value: Tensor<T>,
}

/// Batch size for evaluate and predict: their results do not depend on it.
pub const INFERENCE_BATCH: usize = 256;

/// Activation memory one inference step may use, about half of a core's L2 cache: batches
/// larger than that run in blocks of fewer samples (see [`Sequential::inference_block`]).
const INFERENCE_BLOCK_BYTES: usize = 1 << 20;

/// Values a sample above which a layer output counts as a feature map for
/// [`Sequential::inference_block`]: more than a CIFAR image (3072), less than LeNet-5's first
/// convolution output (28x28x6 = 4704).
const FEATURE_MAP_VALUES: usize = 4096;

impl<T: Float> Sequential<T> {
    /// An empty model for samples of `input_shape` (no batch dimension), seeded with 0.
    pub fn new(input_shape: &[usize]) -> Self {
        Self::with_seed(input_shape, 0)
    }

    /// An empty model whose initial weights, shuffling and dropout all follow `seed`.
    pub fn with_seed(input_shape: &[usize], seed: u32) -> Self {
        Sequential {
            name: "sequential".into(),
            input_shape: input_shape.to_vec(),
            configs: Vec::new(),
            layers: Vec::new(),
            params: ParamStore::default(),
            budget: Budget::of_this_machine(),
            seed,
            rng: Rng::new(seed),
            compiled: None,
            pool: BufferPool::default(),
            grads: Gradients::default(),
        }
    }

    /// A model built from layer configs, as stored in model and experiment files.
    pub fn from_configs(input_shape: &[usize], configs: &[LayerConfig], seed: u32) -> Result<Self> {
        let mut model = Self::with_seed(input_shape, seed);
        for config in configs {
            model.add(config.clone())?;
        }
        Ok(model)
    }

    /// Appends a layer, creating its weights for the current output shape. The layer's
    /// memory (see [`crate::nn::budget`]) is checked against the machine's before anything
    /// is allocated, so an impossible size is an error naming the layer.
    pub fn add(&mut self, layer: impl Into<LayerConfig>) -> Result<&mut Self> {
        let config = layer.into();
        let name = match config.name() {
            Some(name) => {
                if self.layers.iter().any(|l| l.name() == name) {
                    return Err(Error::invalid(format!("two layers are named '{name}'")));
                }
                name
            }
            None => self.next_name(config.default_prefix()),
        };
        let input = self.output_shape().to_vec();
        let plan = config.plan(&name, &input)?;
        let mut budget = self.budget.clone();
        budget.admit(&name, &plan, std::mem::size_of::<T>())?;
        let layer = config.build(name, plan, &mut self.params, &mut self.rng);
        self.budget = budget;
        self.layers.push(layer);
        self.configs.push(config);
        self.grads = Gradients::for_params(&self.params);
        Ok(self)
    }

    /// Keras's naming: `dense`, `dense_1`, `dense_2`, …
    fn next_name(&self, prefix: &str) -> String {
        let taken = |n: &str| self.layers.iter().any(|l| l.name() == n);
        if !taken(prefix) {
            return prefix.to_string();
        }
        (1..)
            .map(|i| format!("{prefix}_{i}"))
            .find(|n| !taken(n))
            .expect("some suffix is free")
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn seed(&self) -> u32 {
        self.seed
    }

    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Per-sample output shape of the last layer (the input shape if there are no layers).
    pub fn output_shape(&self) -> &[usize] {
        self.layers
            .last()
            .map(|l| l.output_shape())
            .unwrap_or(&self.input_shape)
    }

    pub fn configs(&self) -> &[LayerConfig] {
        &self.configs
    }

    pub fn layers(&self) -> &[Layer<T>] {
        &self.layers
    }

    pub fn params(&self) -> &ParamStore<T> {
        &self.params
    }

    pub fn params_mut(&mut self) -> &mut ParamStore<T> {
        &mut self.params
    }

    /// (trainable, non-trainable) parameter counts, as Keras's summary reports them.
    pub fn count_params(&self) -> (usize, usize) {
        self.params.count()
    }

    /// Chooses the optimizer and loss; accuracy is always reported.
    pub fn compile(&mut self, optimizer: OptimizerConfig, loss: Loss) -> Result<()> {
        optimizer.validate()?;
        self.compiled = Some(Compiled {
            optimizer: optimizer.build(),
            loss,
        });
        Ok(())
    }

    pub fn loss(&self) -> Option<Loss> {
        self.compiled.as_ref().map(|c| c.loss)
    }

    pub fn optimizer(&self) -> Option<&dyn Optimizer<T>> {
        self.compiled.as_ref().map(|c| c.optimizer.as_ref())
    }

    pub fn optimizer_mut(&mut self) -> Option<&mut (dyn Optimizer<T> + 'static)> {
        self.compiled.as_mut().map(|c| c.optimizer.as_mut())
    }

    fn compiled_loss(&self) -> Result<Loss> {
        self.loss()
            .ok_or_else(|| Error::invalid("the model must be compiled (optimizer and loss) first"))
    }

    /// The summary table, as `model.summary()` prints it in tf.keras.
    pub fn summary(&self) -> String {
        let rows: Vec<SummaryRow> = self
            .layers
            .iter()
            .map(|layer| SummaryRow {
                name: layer.name().to_string(),
                kind: layer.kind().to_string(),
                output_shape: layer.output_shape().to_vec(),
                params: layer
                    .params()
                    .iter()
                    .map(|&id| self.params.value(id).numel())
                    .sum(),
            })
            .collect();
        let (trainable, frozen) = self.count_params();
        format_summary(&self.name, &rows, trainable, frozen)
    }

    /// Runs every layer on the tape: the building block of training, evaluation and the
    /// gradient API. `training` switches dropout and batch normalization.
    pub fn forward(&mut self, tape: &mut Tape<T>, x: Var, training: bool) -> Result<Var> {
        Ok(forward_layers(&mut self.layers, &mut self.rng, tape, x, training)?.var)
    }

    /// Checks that samples of `shape` can feed this model (trailing 1s aside).
    pub fn check_input_shape(&self, shape: &[usize]) -> Result<()> {
        let squeeze = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
        if squeeze(shape) != squeeze(&self.input_shape) {
            return Err(Error::shape(format!(
                "the data's samples have shape {shape:?} but the model expects {:?}",
                self.input_shape
            )));
        }
        Ok(())
    }

    fn check_targets(&self, width: usize) -> Result<()> {
        let out: usize = self.output_shape().iter().product();
        if out != width {
            return Err(Error::shape(format!(
                "the targets have {width} columns but the model outputs {out}"
            )));
        }
        Ok(())
    }

    /// One optimizer step on a batch (`x` of shape (batch, ...input), dense `y`).
    pub fn train_on_batch(&mut self, x: Tensor<T>, y: Tensor<T>) -> Result<BatchResult> {
        self.run_batch(x, y, Mode::Train)
    }

    /// Loss and the gradient of every trainable parameter on a batch, without updating
    /// anything — what `tf.GradientTape` gives a Keras user.
    pub fn gradients(&mut self, x: Tensor<T>, y: Tensor<T>) -> Result<(f64, Gradients<T>)> {
        let result = self.run_batch(x, y, Mode::Gradients)?;
        Ok((result.loss, self.grads.clone()))
    }

    /// Like [`gradients`](Self::gradients), but observing only: dropout draws from a copy of
    /// the random generator and batch normalization leaves its moving statistics alone, so
    /// probing a model between training steps (diagnostics, gradient plots) never changes
    /// how training goes on.
    pub fn probe_gradients(&mut self, x: Tensor<T>, y: Tensor<T>) -> Result<(f64, Gradients<T>)> {
        let result = self.run_batch(x, y, Mode::Probe)?;
        Ok((result.loss, self.grads.clone()))
    }

    /// The loss on a batch in training mode (dropout active), without recording or updating.
    pub fn loss_on_batch(&mut self, x: Tensor<T>, y: Tensor<T>) -> Result<f64> {
        Ok(self.run_batch(x, y, Mode::Loss)?.loss)
    }

    /// The gradients of the last `train_on_batch` or `gradients` call.
    pub fn last_gradients(&self) -> &Gradients<T> {
        &self.grads
    }

    fn run_batch(&mut self, x: Tensor<T>, y: Tensor<T>, mode: Mode) -> Result<BatchResult> {
        let loss_fn = self.compiled_loss()?;
        let width = y.shape().row_len().max(1);
        self.check_targets(width)?;
        let training = mode != Mode::Evaluate;
        let recording = matches!(mode, Mode::Train | Mode::Gradients | Mode::Probe);
        self.pool.serve_batch(x.shape().batch());
        let Sequential {
            layers,
            params,
            rng,
            pool,
            grads,
            compiled,
            ..
        } = self;
        let mut tape = Tape::with_pool(params, std::mem::take(pool), recording);
        let xv = tape.input(x);
        let yv = tape.input(y);
        let out = if mode == Mode::Probe {
            let mut ctx = Context {
                training: true,
                update_statistics: false,
                rng: &mut rng.clone(),
            };
            forward_with(layers, &mut ctx, &mut tape, xv)?
        } else {
            forward_layers(layers, rng, &mut tape, xv, training)?
        };
        let mut loss = loss_fn.compute(&mut tape, out, yv)?;
        for layer in layers.iter() {
            if let Some(penalty) = layer.penalty(&mut tape)? {
                loss = ops::add(&mut tape, loss, penalty)?;
            }
        }
        let value = tape.value(loss).item().as_f64();
        let correct =
            metrics::count_correct(tape.value(out.var).data(), tape.value(yv).data(), width);
        if recording {
            tape.backward(loss)?;
            tape.take_param_grads(grads);
        }
        *pool = tape.finish();
        if mode == Mode::Train && value.is_finite() {
            let compiled = compiled.as_mut().expect("checked above");
            compiled.optimizer.step(params, grads);
        }
        Ok(BatchResult {
            loss: value,
            correct,
        })
    }

    /// Samples per inference step for a requested `batch_size`: at most as many as keep the
    /// widest stored layer output within [`INFERENCE_BLOCK_BYTES`], so each layer's output is
    /// still in cache when the next layer reads it. A layer fused with the max pooling after
    /// it stores no output, so its own does not count. Measured on 2 cores (`nabla evaluate
    /// --batch-size`, predict seconds): before that fusion, the MNIST CNN predicted 10,000
    /// images in blocks of 8 in 0.9 s against 1.5-2.0 s in blocks of 1000 (a 26x26x32 output
    /// is 86 kB a sample). With it, its widest stored output is its second convolution's (31
    /// kB a sample, blocks of 33): 0.68 s (median of 8 interleaved runs 0.76 s) against 0.84
    /// s (0.92 s) in blocks of 12, on a loaded machine; and LeNet-5's are all below
    /// [`FEATURE_MAP_VALUES`], so it predicts in the requested batch: 0.19 s (median of 6,
    /// 0.20 s) in one of 1000 against 0.22 s (0.25 s) in blocks of 55. Models without feature
    /// maps (no stored output wider than [`FEATURE_MAP_VALUES`] a sample: the MLPs) keep the
    /// requested batch: their activations are small, and each block re-reads every weight (6
    /// MB for the CIFAR MLP's first layer): its predict took 0.69-0.82 s in blocks of 85
    /// against 0.46-0.61 s in one of 1000 (loaded machine, interleaved). A Conv2D, a batch
    /// normalization with positive scales and a max pooling store only the pooled map (see
    /// `inference_step`): the CIFAR CNN's widest stored output went from 30x30x32 (blocks of
    /// 9) to 15x15x32 (blocks of 36), and its predict of 10,000 from 0.57-0.67 s to
    /// 0.38-0.45 s (3 interleaved pairs).
    fn inference_block(&self, batch_size: usize) -> usize {
        // The outputs inference stores: each step's last (see `inference_step`).
        let mut widest = self.input_shape.iter().product::<usize>().max(1);
        let mut input = &self.input_shape[..];
        let mut i = 0;
        while i < self.layers.len() {
            i += inference_step(&self.layers[i..], &self.params, input);
            input = self.layers[i - 1].output_shape();
            widest = widest.max(input.iter().product());
        }
        if widest <= FEATURE_MAP_VALUES {
            return batch_size;
        }
        let fits = INFERENCE_BLOCK_BYTES / (widest * std::mem::size_of::<T>());
        batch_size.min(fits.max(8))
    }

    /// Gathers rows `indices` of `source` into pooled batch tensors.
    pub(crate) fn gather(
        &mut self,
        source: &dyn BatchSource<T>,
        indices: &[usize],
    ) -> (Tensor<T>, Tensor<T>) {
        let width = source.target_width();
        // Under a leading Flatten the batch comes flat, which the Flatten passes on as it is:
        // its copy of the batch was 3% of the 784-128-10 MLP's predict.
        let shape = match self.layers.first() {
            Some(layer) if layer.kind() == "Flatten" => {
                Shape::new(&[indices.len(), self.input_shape.iter().product()])
            }
            _ => Shape::batched(indices.len(), &self.input_shape),
        };
        self.pool.serve_batch(indices.len());
        let mut x = self.pool.take(shape);
        let mut y = self.pool.take(Shape::new(&[indices.len(), width]));
        source.fill(indices, x.data_mut(), y.data_mut());
        (x, y)
    }

    /// Mean loss and accuracy over `indices` of `source`, in inference mode.
    pub(crate) fn evaluate_indices(
        &mut self,
        source: &dyn BatchSource<T>,
        indices: &[usize],
    ) -> Result<Evaluation> {
        self.evaluate_indices_in_batches(source, indices, INFERENCE_BATCH)
    }

    fn evaluate_indices_in_batches(
        &mut self,
        source: &dyn BatchSource<T>,
        indices: &[usize],
        batch_size: usize,
    ) -> Result<Evaluation> {
        self.check_input_shape(source.input_shape())?;
        check_inference_batch(batch_size)?;
        if indices.is_empty() {
            return Err(Error::invalid("cannot evaluate on zero samples"));
        }
        let (mut loss_sum, mut correct) = (0.0, 0);
        let warm = WarmWorkers::new();
        for chunk in indices.chunks(self.inference_block(batch_size)) {
            warm.keep_warm();
            let (x, y) = self.gather(source, chunk);
            let r = self.run_batch(x, y, Mode::Evaluate)?;
            loss_sum += r.loss * chunk.len() as f64;
            correct += r.correct;
        }
        let n = indices.len() as f64;
        Ok(Evaluation {
            loss: loss_sum / n,
            accuracy: correct as f64 / n,
        })
    }

    /// Loss and accuracy on a whole dataset, in inference mode (Keras's `evaluate`).
    pub fn evaluate(&mut self, data: &dyn BatchSource<T>) -> Result<Evaluation> {
        self.evaluate_in_batches(data, INFERENCE_BATCH)
    }

    /// [`evaluate`](Self::evaluate) in batches of `batch_size` (Keras's `batch_size`): the
    /// result is the same for any size; larger batches trade memory for fewer steps.
    pub fn evaluate_in_batches(
        &mut self,
        data: &dyn BatchSource<T>,
        batch_size: usize,
    ) -> Result<Evaluation> {
        let indices: Vec<usize> = (0..data.len()).collect();
        self.evaluate_indices_in_batches(data, &indices, batch_size)
    }

    /// Model outputs (probabilities for a softmax model) for every sample of `data`.
    pub fn predict(&mut self, data: &dyn BatchSource<T>) -> Result<Tensor<T>> {
        self.predict_in_batches(data, INFERENCE_BATCH)
    }

    /// [`predict`](Self::predict) in batches of `batch_size`; the outputs do not depend on it.
    pub fn predict_in_batches(
        &mut self,
        data: &dyn BatchSource<T>,
        batch_size: usize,
    ) -> Result<Tensor<T>> {
        self.check_input_shape(data.input_shape())?;
        check_inference_batch(batch_size)?;
        let n = data.len();
        let out_width: usize = self.output_shape().iter().product();
        let mut result = Vec::with_capacity(n * out_width);
        let indices: Vec<usize> = (0..n).collect();
        let warm = WarmWorkers::new();
        for chunk in indices.chunks(self.inference_block(batch_size)) {
            warm.keep_warm();
            let (x, y) = self.gather(data, chunk);
            self.pool.give(y);
            let Sequential {
                layers,
                params,
                rng,
                pool,
                ..
            } = self;
            let mut tape = Tape::with_pool(params, std::mem::take(pool), false);
            let xv = tape.input(x);
            let out = forward_layers(layers, rng, &mut tape, xv, false)?;
            result.extend_from_slice(tape.value(out.var).data());
            *pool = tape.finish();
        }
        Tensor::from_vec(result, Shape::batched(n, self.output_shape()))
    }

    /// Model outputs for a tensor of samples (first axis the batch).
    pub fn predict_tensor(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let n = x.shape().batch();
        let width: usize = self.output_shape().iter().product();
        let data = super::TensorData::new(x.clone(), Tensor::zeros([n, width]))?;
        self.predict(&data)
    }

    /// Every layer's output for the batch `x`, in inference mode: a look inside the network
    /// (dead ReLUs, activation ranges). It runs on its own inference tape with a copy of the
    /// random generator, so calling it between training steps changes nothing about training;
    /// `fit`, `evaluate` and `predict` never call it (the outputs are copied out).
    pub fn layer_outputs(&mut self, x: &Tensor<T>) -> Result<Vec<LayerOutput<T>>> {
        self.check_input_shape(x.dims().get(1..).unwrap_or_default())?;
        self.pool.serve_batch(x.shape().batch());
        let Sequential {
            layers,
            params,
            rng,
            pool,
            ..
        } = self;
        let mut rng = rng.clone();
        let mut tape = Tape::with_pool(params, std::mem::take(pool), false);
        let mut h = tape.input(x.clone());
        let mut outputs = Vec::with_capacity(layers.len());
        let mut ctx = Context {
            training: false,
            update_statistics: false,
            rng: &mut rng,
        };
        for layer in layers.iter_mut() {
            let out = layer.forward(&mut tape, h, &mut ctx)?;
            outputs.push(LayerOutput {
                layer: layer.name().to_string(),
                activation: out.activation,
                value: tape.value(out.var).clone(),
            });
            h = out.var;
        }
        *pool = tape.finish();
        Ok(outputs)
    }

    /// The same model in another element type, weights converted (e.g. f32 → f64 to check
    /// a trained model's gradients).
    pub fn cast<U: Float>(&self) -> Result<Sequential<U>> {
        let mut model = Sequential::<U>::from_configs(&self.input_shape, &self.configs, self.seed)?;
        model.params = self.params.cast();
        model.grads = Gradients::for_params(&model.params);
        if let Some(c) = &self.compiled {
            model.compile(c.optimizer.config(), c.loss)?;
        }
        Ok(model)
    }
}

fn check_inference_batch(batch_size: usize) -> Result<()> {
    if batch_size == 0 || batch_size > super::fit::MAX_BATCH_SIZE {
        return Err(Error::invalid(format!(
            "batch size {batch_size} is out of range (1..={})",
            super::fit::MAX_BATCH_SIZE
        )));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Train,
    Gradients,
    /// Gradients in training mode that change nothing (see `probe_gradients`).
    Probe,
    /// Training-mode forward pass, nothing recorded (finite differences).
    Loss,
    Evaluate,
}

fn forward_layers<T: Float>(
    layers: &mut [Layer<T>],
    rng: &mut Rng,
    tape: &mut Tape<T>,
    x: Var,
    training: bool,
) -> Result<Output> {
    let mut ctx = Context {
        training,
        update_statistics: training,
        rng,
    };
    forward_with(layers, &mut ctx, tape, x)
}

/// How many layers from the first of `layers` inference runs as one step, storing only the
/// last one's output, on per-sample inputs of `input_shape`:
/// - 2 for a Conv2D and the max pooling after it, one fused op;
/// - 3 for a Conv2D, a layer that commutes with max pooling (a batch normalization with
///   positive scales) and a max pooling: the fused op, then that layer on the pooled map
///   (a quarter of the values, and blocks of 4 times the images);
/// - 1 otherwise.
fn inference_step<T: Float>(
    layers: &[Layer<T>],
    params: &ParamStore<T>,
    input_shape: &[usize],
) -> usize {
    match layers {
        [conv, pool, ..] if conv.fuses_at_inference(pool, input_shape) => 2,
        [conv, norm, pool, ..]
            if conv.fuses_at_inference(pool, input_shape)
                && norm.commutes_with_max_pool(params) =>
        {
            3
        }
        _ => 1,
    }
}

fn forward_with<T: Float>(
    layers: &mut [Layer<T>],
    ctx: &mut Context,
    tape: &mut Tape<T>,
    x: Var,
) -> Result<Output> {
    let mut out = Output::plain(x);
    let mut i = 0;
    while i < layers.len() {
        // At inference, Conv2D → BatchNormalization → MaxPooling2D runs as the fused
        // Conv2D + pooling, then the normalization (see `inference_step`).
        if let [conv, norm, pool, ..] = &mut layers[i..] {
            if !ctx.training && norm.commutes_with_max_pool(tape.params()) {
                if let Some(pooled) = conv.forward_fused(pool, tape, out.var, ctx) {
                    out = norm.forward(tape, pooled?.var, ctx)?;
                    i += 3;
                    continue;
                }
            }
        }
        // A pair that fuses (Conv2D, then max pooling) runs as one op.
        if let [layer, next, ..] = &mut layers[i..] {
            if let Some(fused) = layer.forward_fused(next, tape, out.var, ctx) {
                out = fused?;
                i += 2;
                continue;
            }
        }
        out = layers[i].forward(tape, out.var, ctx)?;
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::cifar_cnn;

    #[test]
    fn the_cifar_cnn_infers_in_blocks_sized_by_its_pooled_maps() {
        // With the batch norms' scales positive (as initialized), each convolution fuses
        // with the pooling after its normalization: the widest stored output is the first
        // block's pooled 15x15x32, 28.8 kB in f32, and 1 MB holds 36 images. A negative scale
        // in the first normalization keeps its 30x30x32 map (115.2 kB): blocks of 9.
        let layers = cifar_cnn(10, 0.0, true);
        let mut model = Sequential::<f32>::from_configs(&[32, 32, 3], &layers, 0).unwrap();
        assert_eq!(model.layers[1].kind(), "BatchNormalization");
        assert_eq!(model.inference_block(1000), 36);
        let gamma = model.layers[1].params()[0];
        model.params.value_mut(gamma).data_mut()[5] = -1.0;
        assert_eq!(model.inference_block(1000), 9);
        assert_eq!(model.inference_block(4), 4);
    }
}
