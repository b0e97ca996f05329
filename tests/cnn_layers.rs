//! Training and inference modes of the CNN layers, seen through `Sequential`.

use nabla::nn::layers::{BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPool2D};
use nabla::nn::{Loss, OptimizerConfig};
use nabla::ops::Activation;
use nabla::tensor::Tensor;
use nabla::train::Sequential;

fn batch(n: usize, dims: &[usize], seed: u32) -> Tensor<f64> {
    let mut rng = nabla::random::Rng::new(seed);
    let len = n * dims.iter().product::<usize>();
    let mut shape = vec![n];
    shape.extend_from_slice(dims);
    Tensor::from_vec(
        (0..len).map(|_| rng.uniform(-1.0, 3.0)).collect(),
        nabla::Shape::new(&shape),
    )
    .unwrap()
}

fn one_hot(n: usize, classes: usize) -> Tensor<f64> {
    let mut y = Tensor::zeros([n, classes]);
    for i in 0..n {
        y.data_mut()[i * classes + i % classes] = 1.0;
    }
    y
}

#[test]
fn batch_norm_trains_on_batch_statistics_and_infers_with_moving_ones() {
    let mut model = Sequential::<f64>::new(&[3]);
    model.add(BatchNormalization::new()).unwrap();
    model
        .compile(OptimizerConfig::sgd(0.0001, 0.0), Loss::MeanSquaredError)
        .unwrap();
    assert_eq!(model.count_params(), (6, 6));

    let x = batch(16, &[3], 1);
    // One step: the moving averages move 1% of the way to the batch's moments.
    model.train_on_batch(x.clone(), batch(16, &[3], 2)).unwrap();
    let params = model.params();
    let get = |name: &str| params.value(params.find(name).unwrap()).data().to_vec();
    let (mm, mv) = (
        get("batch_normalization/moving_mean"),
        get("batch_normalization/moving_variance"),
    );
    for j in 0..3 {
        let col: Vec<f64> = x.data().iter().skip(j).step_by(3).copied().collect();
        let mean = col.iter().sum::<f64>() / 16.0;
        let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 16.0;
        assert!((mm[j] - 0.01 * mean).abs() < 1e-12, "moving mean {j}");
        assert!(
            (mv[j] - (0.99 + 0.01 * var)).abs() < 1e-12,
            "moving variance {j}"
        );
    }

    // Inference normalizes with the moving statistics, not the batch's.
    let (gamma, beta) = (
        get("batch_normalization/gamma"),
        get("batch_normalization/beta"),
    );
    let y = model.predict_tensor(&x).unwrap();
    for (i, (&out, &inp)) in y.data().iter().zip(x.data()).enumerate() {
        let j = i % 3;
        let expected = gamma[j] * (inp - mm[j]) / (mv[j] + 1e-3).sqrt() + beta[j];
        assert!((out - expected).abs() < 1e-12);
    }
}

#[test]
fn dropout_drops_in_training_only() {
    let mut model = Sequential::<f64>::with_seed(&[200], 3);
    model.add(Dropout::new(0.5)).unwrap();
    model
        .compile(OptimizerConfig::sgd(0.01, 0.0), Loss::MeanSquaredError)
        .unwrap();
    let x = batch(4, &[200], 4);
    // Identity at inference.
    assert_eq!(model.predict_tensor(&x).unwrap().data(), x.data());
    // In training, about half the units are zeroed and the rest scaled by 1/(1 - 0.5).
    let mut no_params = nabla::autograd::ParamStore::default();
    let mut tape = nabla::autograd::Tape::new(&mut no_params);
    let xv = tape.input(x.clone());
    let y = model.forward(&mut tape, xv, true).unwrap();
    let out = tape.value(y).data();
    let dropped = out.iter().filter(|&&v| v == 0.0).count();
    assert!((300..500).contains(&dropped), "{dropped} of 800 dropped");
    for (&o, &i) in out.iter().zip(x.data()) {
        assert!(o == 0.0 || (o - 2.0 * i).abs() < 1e-12);
    }
}

#[test]
fn a_small_cnn_with_batch_norm_learns() {
    // Conv → BN → pool → dense on 8x8 images whose class is which half is brighter.
    let mut model = conv_batch_norm_pool(&[8, 8, 1], 2, 7, OptimizerConfig::adam(0.01));
    let n = 64;
    let mut x = batch(n, &[8, 8, 1], 8);
    let y = one_hot(n, 2);
    for i in 0..n {
        let bright = i % 2;
        for p in 0..64 {
            if (p % 8 < 4) == (bright == 0) {
                x.data_mut()[i * 64 + p] += 2.0;
            }
        }
    }
    let first = model.train_on_batch(x.clone(), y.clone()).unwrap().loss;
    let mut last = first;
    for _ in 0..30 {
        last = model.train_on_batch(x.clone(), y.clone()).unwrap().loss;
    }
    assert!(last < first * 0.5, "loss {first} -> {last}");
}

#[test]
fn cnn_layer_gradients_match_finite_differences() {
    use nabla::autograd::check::{relative_error, STEP};
    use nabla::nn::layers::{AveragePooling2D, GlobalAveragePooling2D};
    use nabla::ops::Padding;
    let mut model = Sequential::<f64>::with_seed(&[6, 6, 2], 9);
    model
        .add(
            Conv2D::new(3, 3)
                .padding(Padding::Same)
                .activation(Activation::Tanh),
        )
        .unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(MaxPool2D::new(2)).unwrap();
    model
        .add(Conv2D::new(4, 2).strides(2).padding(Padding::Same).l2(0.01))
        .unwrap();
    model
        .add(AveragePooling2D::new(2).padding(Padding::Same))
        .unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(GlobalAveragePooling2D::new()).unwrap();
    model
        .add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    model
        .compile(
            OptimizerConfig::sgd(0.01, 0.0),
            Loss::CategoricalCrossentropy,
        )
        .unwrap();
    let (x, y) = (batch(5, &[6, 6, 2], 10), one_hot(5, 3));
    let (_, grads) = model.gradients(x.clone(), y.clone()).unwrap();
    let ids: Vec<_> = model
        .params()
        .iter()
        .filter(|(_, p)| p.trainable)
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids.len(), 10);
    for id in ids {
        let analytic = grads.get(id).unwrap().clone();
        for j in 0..analytic.numel() {
            let original = model.params().value(id).data()[j];
            let mut loss_at = |v: f64| {
                model.params_mut().value_mut(id).data_mut()[j] = v;
                model.gradients(x.clone(), y.clone()).unwrap().0
            };
            let numeric = (loss_at(original + STEP) - loss_at(original - STEP)) / (2.0 * STEP);
            loss_at(original);
            let name = &model.params().get(id).name;
            let e = relative_error(analytic.data()[j], numeric);
            assert!(
                e < 1e-6,
                "{name}[{j}]: {} vs {numeric} ({e:e})",
                analytic.data()[j]
            );
        }
    }
}

/// Conv2D (4 filters, 3x3, ReLU) → BatchNormalization → MaxPool2D → Flatten → softmax
/// Dense of `classes`, compiled with `optimizer` and categorical cross-entropy.
fn conv_batch_norm_pool(
    input: &[usize],
    classes: usize,
    seed: u32,
    optimizer: OptimizerConfig,
) -> Sequential<f64> {
    let mut model = Sequential::<f64>::with_seed(input, seed);
    model
        .add(Conv2D::new(4, 3).activation(Activation::Relu))
        .unwrap();
    model.add(BatchNormalization::new()).unwrap();
    model.add(MaxPool2D::new(2)).unwrap();
    model.add(Flatten::new()).unwrap();
    model
        .add(Dense::new(classes).activation(Activation::Softmax))
        .unwrap();
    model
        .compile(optimizer, Loss::CategoricalCrossentropy)
        .unwrap();
    model
}

/// `predict` (fused ops, inference blocks) against `layer_outputs` (one layer at a time):
/// the same values to 1e-14 in f64.
fn assert_predictions_are_the_layers(model: &mut Sequential<f64>, x: &Tensor<f64>) {
    let predicted = model.predict_tensor(x).unwrap();
    let by_layer = model.layer_outputs(x).unwrap();
    let last = &by_layer.last().unwrap().value;
    assert_eq!(predicted.shape(), last.shape());
    for (a, b) in predicted.data().iter().zip(last.data()) {
        assert!((a - b).abs() < 1e-14, "{a} vs {b}");
    }
}

/// The ops on the tape behind `var`, by name, walking back to the inputs.
fn op_names(tape: &nabla::autograd::Tape<f64>, var: nabla::autograd::Var) -> Vec<&'static str> {
    let mut names = vec![tape.op_name(var)];
    for &input in tape.op_inputs(var) {
        names.extend(op_names(tape, input));
    }
    names
}

#[test]
fn conv2d_then_max_pool_runs_as_one_op_with_the_same_outputs_and_gradients() {
    use nabla::ops::Padding;
    use nabla::train::gradcheck::check_model_gradients;
    // Both blocks take the direct kernel, so each Conv2D fuses with the pooling after it.
    let mut model = Sequential::<f64>::with_seed(&[9, 8, 2], 21);
    model
        .add(Conv2D::new(8, 3).activation(Activation::Relu))
        .unwrap();
    model.add(MaxPool2D::new(2)).unwrap();
    model
        .add(
            Conv2D::new(5, 2)
                .padding(Padding::Same)
                .activation(Activation::Tanh),
        )
        .unwrap();
    model.add(MaxPool2D::new(2).padding(Padding::Same)).unwrap();
    model.add(Flatten::new()).unwrap();
    model
        .add(Dense::new(3).activation(Activation::Softmax))
        .unwrap();
    model
        .compile(
            OptimizerConfig::sgd(0.01, 0.0),
            Loss::CategoricalCrossentropy,
        )
        .unwrap();
    let (x, y) = (batch(5, &[9, 8, 2], 22), one_hot(5, 3));

    let mut params = model.params().clone();
    let mut tape = nabla::autograd::Tape::new(&mut params);
    let xv = tape.input(x.clone());
    let out = model.forward(&mut tape, xv, true).unwrap();
    let names = op_names(&tape, out);
    let fused = names.iter().filter(|&&n| n == "conv2d_max_pool").count();
    assert_eq!(fused, 2, "{names:?}");
    assert!(!names.contains(&"max_pool2d"), "{names:?}");
    drop(tape);

    assert_predictions_are_the_layers(&mut model, &x);

    // The fused gradients against central differences of the loss, every element.
    let checks = check_model_gradients(&mut model, &x, &y, None).unwrap();
    assert_eq!(checks.len(), 6);
    for c in checks {
        assert!(c.passed(1e-6) && c.kinks == 0, "{c:?}");
    }
}

#[test]
fn conv2d_batch_norm_max_pool_fuse_at_inference_only_where_every_scale_is_positive() {
    // At inference a batch normalization with positive scales γ/√(v + ε) runs after the
    // pooling, the convolution fused with it; a negative scale turns a max into a min, so
    // then the three layers run one by one. Either way the predictions are the layers'.
    let mut model = conv_batch_norm_pool(&[9, 8, 2], 3, 31, OptimizerConfig::sgd(0.01, 0.0));
    // Keras's order: gamma, beta, moving_mean, moving_variance.
    let ids = model.layers()[1].params().to_vec();
    let values: [[f64; 4]; 4] = [
        [0.5, 1.5, 2.0, 0.8],
        [0.1, -0.2, 0.3, 0.0],
        [0.2, -0.1, 0.4, 0.3],
        [0.5, 2.0, 1.0, 3.0],
    ];
    for (&id, v) in ids.iter().zip(values) {
        model
            .params_mut()
            .value_mut(id)
            .data_mut()
            .copy_from_slice(&v);
    }
    let x = batch(5, &[9, 8, 2], 32);
    for (first_gamma, fused) in [(0.5, true), (-0.5, false)] {
        model.params_mut().value_mut(ids[0]).data_mut()[0] = first_gamma;
        let mut params = model.params().clone();
        let mut tape = nabla::autograd::Tape::new(&mut params);
        let xv = tape.input(x.clone());
        let out = model.forward(&mut tape, xv, false).unwrap();
        let names = op_names(&tape, out);
        let count = |op| names.iter().filter(|&&n| n == op).count();
        assert_eq!(count("conv2d_max_pool"), usize::from(fused), "{names:?}");
        assert_eq!(count("max_pool2d"), usize::from(!fused), "{names:?}");
        assert_eq!(count("batch_norm"), 1, "{names:?}");
        drop(tape);

        assert_predictions_are_the_layers(&mut model, &x);
    }
}
