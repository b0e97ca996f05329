//! One test for every layer, after Keras's `run_layer_test`: each layer file calls
//! [`run_layer_test`] with Keras's output shape and parameter counts written in the call.
//!
//! For one layer on one input shape it checks:
//! - the numbers in the call against real Keras (`tests/fixtures/keras_layer_counts.json`,
//!   made by `tests/fixtures/make_keras_layer_counts.py`), then nabla's output shape and
//!   (trainable, non-trainable) counts against them, and the declared weights against the
//!   created parameters and the summary;
//! - the config's serde form: JSON (model files) and TOML (experiment files) round trips;
//! - the model-file round trip: a trained step, save, load, then equal weights, predictions
//!   and next step;
//! - the typed output: the activation the config asks for, logits for softmax and sigmoid;
//! - the penalty: λ·Σw² over each regularized weight;
//! - in training and inference mode, f64 central-difference gradients of L = Σ r·out with
//!   respect to the input and every trainable weight (relative error < 1e-6);
//! - a step on a warm buffer pool equals, bit for bit, one on a fresh pool. Test builds fill
//!   pooled buffers with NaN (see `autograd::pool`), so a stale-buffer bug fails here.

use crate::autograd::check::{random_tensor, relative_error, STEP};
use crate::autograd::{BufferPool, ParamStore, Tape};
use crate::nn::{Context, Layer, LayerConfig, Loss, OptimizerConfig};
use crate::ops::{self, Activation};
use crate::random::Rng;
use crate::tensor::{Shape, Tensor};
use crate::train::Sequential;
use serde::{Deserialize, Serialize};

/// Samples per test batch: more than one, so batch statistics and row loops are exercised.
const BATCH: usize = 3;

/// Keras's numbers for every case, from real Keras.
const KERAS: &str = include_str!("../../../tests/fixtures/keras_layer_counts.json");

/// Runs every check above for `config` on per-sample `input_shape`. `case` names the entry
/// of the Keras fixture that `output_shape` and `counts` (trainable, non-trainable) copy.
#[track_caller]
pub(crate) fn run_layer_test(
    case: &str,
    config: impl Into<LayerConfig>,
    input_shape: &[usize],
    output_shape: &[usize],
    counts: (usize, usize),
) {
    let config = config.into();
    check_against_keras(case, input_shape, output_shape, counts);

    let mut model = Sequential::<f64>::from_configs(input_shape, std::slice::from_ref(&config), 11)
        .unwrap_or_else(|e| panic!("{case}: building failed: {e}"));
    assert_eq!(model.output_shape(), output_shape, "{case}: output shape");
    assert_eq!(model.count_params(), counts, "{case}: parameter counts");
    check_declared_weights(case, &model);

    check_config_round_trip(case, &config);
    check_model_file_round_trip(case, input_shape, &config);
    check_penalty(case, &mut model);
    for training in [true, false] {
        check_typed_output(case, &config, &mut model, input_shape, training);
        check_gradients(case, &mut model, input_shape, training);
        check_warm_pool(case, &mut model, input_shape, training);
    }
}

fn check_against_keras(case: &str, input: &[usize], output: &[usize], counts: (usize, usize)) {
    let all: serde_json::Value = serde_json::from_str(KERAS).expect("the fixture is JSON");
    let keras = &all[case];
    assert!(
        !keras.is_null(),
        "no Keras numbers for '{case}': add it to tests/fixtures/make_keras_layer_counts.py"
    );
    assert_eq!(keras["input_shape"], serde_json::json!(input), "{case}");
    assert_eq!(keras["output_shape"], serde_json::json!(output), "{case}");
    assert_eq!(keras["trainable"], serde_json::json!(counts.0), "{case}");
    assert_eq!(
        keras["non_trainable"],
        serde_json::json!(counts.1),
        "{case}"
    );
}

fn check_declared_weights(case: &str, model: &Sequential<f64>) {
    let layer = &model.layers()[0];
    let mut listed = 0;
    for (spec, id) in layer.weights() {
        let param = model.params().get(id);
        assert_eq!(
            param.name,
            format!("{}/{}", layer.name(), spec.name),
            "{case}"
        );
        assert_eq!(param.value.dims(), &spec.shape[..], "{case}: {}", spec.name);
        assert_eq!(param.trainable, spec.trainable, "{case}: {}", spec.name);
        listed += 1;
    }
    assert_eq!(
        listed,
        model.params().len(),
        "{case}: every parameter is declared"
    );
    let (trainable, frozen) = model.count_params();
    let summary = model.summary();
    assert!(
        summary.contains(&format!("Total params: {} (", trainable + frozen))
            && summary.contains(&format!("Non-trainable params: {frozen} (")),
        "{case}: {summary}"
    );
}

#[derive(Serialize, Deserialize)]
struct ExperimentLayers {
    layers: Vec<LayerConfig>,
}

fn check_config_round_trip(case: &str, config: &LayerConfig) {
    let json = serde_json::to_string(config).unwrap();
    let back: LayerConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, config, "{case}: JSON round trip of {json}");
    let file = ExperimentLayers {
        layers: vec![config.clone()],
    };
    let text = toml::to_string(&file).unwrap();
    let back: ExperimentLayers = toml::from_str(&text).unwrap();
    assert_eq!(
        back.layers, file.layers,
        "{case}: TOML round trip of {text}"
    );
}

fn check_model_file_round_trip(case: &str, input_shape: &[usize], config: &LayerConfig) {
    let mut model =
        Sequential::<f32>::from_configs(input_shape, std::slice::from_ref(config), 5).unwrap();
    model
        .compile(OptimizerConfig::adam(1e-2), Loss::MeanSquaredError)
        .unwrap();
    let x: Tensor<f32> = batch_input(input_shape, 31).cast();
    let y: Tensor<f32> = batch_input(model.output_shape(), 32).cast();
    model.train_on_batch(x.clone(), y.clone()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    model.save(&path).unwrap();
    let mut loaded = Sequential::<f32>::load(&path).unwrap();
    assert_eq!(loaded.configs(), model.configs(), "{case}");
    for ((_, a), (_, b)) in model.params().iter().zip(loaded.params().iter()) {
        assert_eq!(a.name, b.name, "{case}");
        assert_eq!(a.trainable, b.trainable, "{case}");
        assert_eq!(a.value.data(), b.value.data(), "{case}: {}", a.name);
    }
    assert_eq!(
        model.predict_tensor(&x).unwrap().data(),
        loaded.predict_tensor(&x).unwrap().data(),
        "{case}: predictions after loading"
    );
    let before = model.train_on_batch(x.clone(), y.clone()).unwrap();
    let after = loaded.train_on_batch(x, y).unwrap();
    assert_eq!(before, after, "{case}: the next step after loading");
}

fn check_penalty(case: &str, model: &mut Sequential<f64>) {
    let mut expected = 0.0;
    let mut any = false;
    for (spec, id) in model.layers()[0].weights() {
        if let Some(crate::nn::Regularizer::L2(lambda)) = spec.regularizer {
            let w = model.params().value(id).data();
            expected += lambda * w.iter().map(|v| v * v).sum::<f64>();
            any = true;
        }
    }
    let Sequential { layers, params, .. } = model;
    let mut tape = Tape::new(params);
    let penalty = layers[0].penalty(&mut tape).unwrap();
    match penalty {
        Some(p) => {
            assert!(any, "{case}: a penalty without a regularized weight");
            let got = tape.value(p).item();
            assert!(
                relative_error(got, expected) < 1e-12,
                "{case}: {got} vs {expected}"
            );
        }
        None => assert!(!any, "{case}: a regularized weight without a penalty"),
    }
}

/// What one forward (and backward) pass of a layer gave.
struct Step {
    out: Tensor<f64>,
    activation: Activation,
    has_logits: bool,
    loss: f64,
    /// ∂L/∂x, then ∂L/∂w for every trainable weight in declaration order.
    grads: Vec<Tensor<f64>>,
    pool: BufferPool<f64>,
}

/// The layer on `x` reduced to L = Σ r·out (r fixed random weights), with gradients when
/// `backward`. Dropout draws the same mask every time; batch norm's statistics stay put.
fn step(
    layer: &mut Layer<f64>,
    params: &mut ParamStore<f64>,
    pool: BufferPool<f64>,
    x: &Tensor<f64>,
    training: bool,
    backward: bool,
) -> Step {
    let mut tape = Tape::with_pool(params, pool, true);
    let xv = tape.input_with_grad(x.clone());
    let mut rng = Rng::new(5);
    let mut ctx = Context {
        training,
        update_statistics: false,
        rng: &mut rng,
    };
    let out = layer.forward(&mut tape, xv, &mut ctx).unwrap();
    let value = tape.value(out.var).clone();
    let r = tape.input(random_tensor(value.dims(), 99));
    let product = ops::mul(&mut tape, out.var, r).unwrap();
    let loss = ops::sum(&mut tape, product);
    let loss_value = tape.value(loss).item();
    let mut grads = Vec::new();
    if backward {
        tape.backward(loss).unwrap();
        let zeros = |t: &Tensor<f64>| Tensor::zeros(t.shape());
        grads.push(tape.grad(xv).cloned().unwrap_or_else(|| zeros(x)));
        let trainable: Vec<_> = layer
            .weights()
            .filter(|(spec, _)| spec.trainable)
            .map(|(_, id)| id)
            .collect();
        for id in trainable {
            let var = tape.param(id);
            let grad = match tape.grad(var) {
                Some(g) => g.clone(),
                None => zeros(tape.value(var)),
            };
            grads.push(grad);
        }
    }
    Step {
        out: value,
        activation: out.activation,
        has_logits: out.logits.is_some(),
        loss: loss_value,
        grads,
        pool: tape.finish(),
    }
}

fn batch_input(input_shape: &[usize], seed: u32) -> Tensor<f64> {
    random_tensor(Shape::batched(BATCH, input_shape).dims(), seed)
}

fn check_typed_output(
    case: &str,
    config: &LayerConfig,
    model: &mut Sequential<f64>,
    input_shape: &[usize],
    training: bool,
) {
    let Sequential { layers, params, .. } = model;
    let x = batch_input(input_shape, 41);
    let s = step(
        &mut layers[0],
        params,
        BufferPool::default(),
        &x,
        training,
        false,
    );
    let mut dims = vec![BATCH];
    dims.extend_from_slice(layers[0].output_shape());
    assert_eq!(s.out.dims(), &dims[..], "{case}: batch output shape");
    let asked = serde_json::to_value(config).unwrap()["activation"].clone();
    let asked: Activation = serde_json::from_value(asked).unwrap_or_default();
    assert_eq!(s.activation, asked, "{case}: the output's activation");
    let needs_logits = matches!(asked, Activation::Softmax | Activation::Sigmoid);
    assert_eq!(s.has_logits, needs_logits, "{case}: logits on the output");
}

fn check_gradients(case: &str, model: &mut Sequential<f64>, input_shape: &[usize], training: bool) {
    let Sequential { layers, params, .. } = model;
    let layer = &mut layers[0];
    let mut x = batch_input(input_shape, 42);
    let analytic = step(layer, params, BufferPool::default(), &x, training, true).grads;
    let loss_at = |layer: &mut Layer<f64>, params: &mut ParamStore<f64>, x: &Tensor<f64>| {
        step(layer, params, BufferPool::default(), x, training, false).loss
    };

    let mut worst: f64 = 0.0;
    for j in 0..x.numel() {
        let original = x.data()[j];
        x.data_mut()[j] = original + STEP;
        let plus = loss_at(layer, params, &x);
        x.data_mut()[j] = original - STEP;
        let minus = loss_at(layer, params, &x);
        x.data_mut()[j] = original;
        let numeric = (plus - minus) / (2.0 * STEP);
        worst = worst.max(relative_error(analytic[0].data()[j], numeric));
    }
    assert!(
        worst < 1e-6,
        "{case} (training {training}): input gradient error {worst:e}"
    );

    let trainable: Vec<_> = layer
        .weights()
        .filter(|(spec, _)| spec.trainable)
        .map(|(spec, id)| (spec.name, id))
        .collect();
    for ((name, id), grad) in trainable.into_iter().zip(&analytic[1..]) {
        let mut worst: f64 = 0.0;
        for j in 0..grad.numel() {
            let original = params.value(id).data()[j];
            params.value_mut(id).data_mut()[j] = original + STEP;
            let plus = loss_at(layer, params, &x);
            params.value_mut(id).data_mut()[j] = original - STEP;
            let minus = loss_at(layer, params, &x);
            params.value_mut(id).data_mut()[j] = original;
            let numeric = (plus - minus) / (2.0 * STEP);
            worst = worst.max(relative_error(grad.data()[j], numeric));
        }
        assert!(
            worst < 1e-6,
            "{case} (training {training}): {name} gradient error {worst:e}"
        );
    }
}

fn check_warm_pool(case: &str, model: &mut Sequential<f64>, input_shape: &[usize], training: bool) {
    let Sequential { layers, params, .. } = model;
    let layer = &mut layers[0];
    let first = step(
        layer,
        params,
        BufferPool::default(),
        &batch_input(input_shape, 51),
        training,
        true,
    );
    let x = batch_input(input_shape, 52);
    let warm = step(layer, params, first.pool, &x, training, true);
    let fresh = step(layer, params, BufferPool::default(), &x, training, true);
    let same = |a: &Tensor<f64>, b: &Tensor<f64>| {
        a.dims() == b.dims()
            && a.data()
                .iter()
                .zip(b.data())
                .all(|(p, q)| p.to_bits() == q.to_bits())
    };
    assert!(
        warm.out.data().iter().all(|v| v.is_finite()),
        "{case} (training {training}): non-finite output on a warm pool"
    );
    assert!(
        same(&warm.out, &fresh.out),
        "{case} (training {training}): outputs differ on a warm pool"
    );
    assert_eq!(warm.grads.len(), fresh.grads.len());
    for (i, (a, b)) in warm.grads.iter().zip(&fresh.grads).enumerate() {
        assert!(
            a.data().iter().all(|v| v.is_finite()) && same(a, b),
            "{case} (training {training}): gradient {i} differs on a warm pool"
        );
    }
}
