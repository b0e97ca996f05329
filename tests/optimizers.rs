//! Optimizer steps against values worked out from the published update rules.
//! The expected numbers come from `tests/fixtures/make_optimizer_golden.py` (plain float64 Python).

use nabla::autograd::{Gradients, ParamId, ParamStore};
use nabla::nn::OptimizerConfig;
use nabla::Tensor;
use serde_json::Value;

fn golden() -> Value {
    serde_json::from_str(include_str!("fixtures/optimizer_golden.json")).unwrap()
}

fn vector(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn run(config: OptimizerConfig, key: &str) {
    let golden = golden();
    let mut params = ParamStore::<f64>::default();
    let w = params.add(
        "w",
        Tensor::from_vec(vector(&golden["w0"]), [3]).unwrap(),
        true,
    );
    let mut optimizer = config.build::<f64>();
    for (step, (g, expected)) in golden["grads"]
        .as_array()
        .unwrap()
        .iter()
        .zip(golden[key].as_array().unwrap())
        .enumerate()
    {
        let grads = gradient(&mut params, w, vector(g));
        optimizer.step(&mut params, &grads);
        let got = params.value(w).data();
        for (i, (a, b)) in got.iter().zip(vector(expected)).enumerate() {
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "{key}, step {}, element {i}: {a} vs {b}",
                step + 1
            );
        }
    }
    assert_eq!(optimizer.iterations(), 3);
}

/// A gradient store that holds `g` as the gradient of `w`.
fn gradient<T: nabla::Float>(params: &mut ParamStore<T>, w: ParamId, g: Vec<T>) -> Gradients<T> {
    let mut tape = nabla::autograd::Tape::new(params);
    let wv = tape.param(w);
    let len = g.len();
    let c = tape.input(Tensor::from_vec(g, [len]).unwrap());
    let prod = nabla::ops::mul(&mut tape, wv, c).unwrap();
    let loss = nabla::ops::sum(&mut tape, prod); // ∂(Σ w·g)/∂w = g
    tape.backward(loss).unwrap();
    let mut grads = Gradients::for_params(tape.params());
    tape.take_param_grads(&mut grads);
    grads
}

/// One gradient and then none for 800 steps, in f32 as in training: the running sums of
/// gradients decay geometrically past the smallest normal (1.2e-38) and are flushed to zero
/// there (unflushed, Adam's m would be 2.5e-41, SGD's momentum 2.5e-42 and RMSprop's average
/// gradient 2.5e-41), while the averages of g² that divide the step keep their values
/// (RMSprop's s is 2.4e-44, subnormal).
#[test]
fn running_sums_that_decay_below_the_smallest_normal_become_zero() {
    let configs = [
        OptimizerConfig::adam(0.001),
        OptimizerConfig::sgd(0.01, 0.9),
        centered_rmsprop_with_momentum(0.001),
    ];
    for config in configs {
        let mut params = ParamStore::<f32>::default();
        let w = params.add("w", Tensor::from_vec(vec![0.5f32; 4], [4]).unwrap(), true);
        let mut optimizer = config.build::<f32>();
        let first = gradient(&mut params, w, vec![1e-3, -1e-3, 1e-2, 0.0]);
        optimizer.step(&mut params, &first);
        let no_gradient = gradient(&mut params, w, vec![0.0; 4]);
        for _ in 0..800 {
            optimizer.step(&mut params, &no_gradient);
        }
        let name = config.name();
        let state = optimizer.state();
        let slot = |prefix: &str| -> Vec<f32> {
            let (_, t) = state
                .slots
                .iter()
                .find(|(n, _)| n == &format!("{prefix}/0"))
                .unwrap();
            t.data().to_vec()
        };
        let flushed = match name {
            "adam" => vec!["m"],
            "sgd" => vec!["momentum"],
            _ => vec!["average_grad", "momentum"],
        };
        for prefix in flushed {
            for x in slot(prefix) {
                assert!(
                    x == 0.0 || x.abs() >= f32::MIN_POSITIVE,
                    "{name} {prefix}: {x:e}"
                );
            }
        }
        if name == "rmsprop" {
            let s = slot("velocity")[0];
            assert!(s > 0.0 && s < f32::MIN_POSITIVE, "rmsprop's s: {s:e}");
        }
    }
}

#[test]
fn sgd() {
    run(OptimizerConfig::sgd(0.1, 0.0), "sgd");
}

#[test]
fn sgd_with_momentum() {
    run(OptimizerConfig::sgd(0.1, 0.9), "sgd_momentum");
}

#[test]
fn sgd_with_nesterov_momentum() {
    let config = OptimizerConfig::Sgd {
        learning_rate: 0.1,
        momentum: 0.9,
        nesterov: true,
    };
    run(config, "sgd_nesterov");
}

#[test]
fn adam() {
    run(OptimizerConfig::adam(0.01), "adam");
}

#[test]
fn rmsprop() {
    run(OptimizerConfig::rmsprop(0.01), "rmsprop");
}

/// RMSprop with every option on: centered, with momentum 0.5.
fn centered_rmsprop_with_momentum(learning_rate: f64) -> OptimizerConfig {
    OptimizerConfig::Rmsprop {
        learning_rate,
        rho: 0.9,
        momentum: 0.5,
        epsilon: 1e-7,
        centered: true,
    }
}

#[test]
fn rmsprop_centered_with_momentum() {
    run(
        centered_rmsprop_with_momentum(0.01),
        "rmsprop_centered_momentum",
    );
}

#[test]
fn keras_defaults() {
    let adam = OptimizerConfig::parse("adam", None, 0.0).unwrap();
    assert_eq!(adam, OptimizerConfig::adam(0.001));
    if let OptimizerConfig::Adam {
        beta_1,
        beta_2,
        epsilon,
        ..
    } = adam
    {
        assert_eq!((beta_1, beta_2, epsilon), (0.9, 0.999, 1e-7));
    }
    assert_eq!(
        OptimizerConfig::parse("sgd", None, 0.0)
            .unwrap()
            .learning_rate(),
        0.01
    );
    assert!(OptimizerConfig::parse("adagrad", None, 0.0).is_err());
    assert!(OptimizerConfig::parse("sgd", Some(-1.0), 0.0).is_err());
}

/// A 40,000-element weight is updated in chunks shared by the threads: every optimizer's
/// weights and slots after 3 steps are the same bit for bit on 1, 2 and 3 threads.
#[test]
fn updates_are_the_same_on_any_thread_count() {
    let configs = [
        OptimizerConfig::adam(0.01),
        OptimizerConfig::sgd(0.01, 0.9),
        OptimizerConfig::rmsprop(0.01),
        centered_rmsprop_with_momentum(0.01),
    ];
    let n = 40_000;
    let run = |config: &OptimizerConfig| -> Vec<Vec<u32>> {
        let mut params = ParamStore::<f32>::default();
        let w0: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
        let w = params.add("w", Tensor::from_vec(w0, [n]).unwrap(), true);
        let mut optimizer = config.build::<f32>();
        for step in 0..3 {
            let g = (0..n)
                .map(|i| (i as f32 * 0.73 + step as f32).cos())
                .collect();
            let grads = gradient(&mut params, w, g);
            optimizer.step(&mut params, &grads);
        }
        let bits = |t: &Tensor<f32>| t.data().iter().map(|x| x.to_bits()).collect();
        let mut all = vec![bits(params.value(w))];
        all.extend(optimizer.state().slots.iter().map(|(_, t)| bits(t)));
        all
    };
    for config in &configs {
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| run(config))
        };
        let one = on(1);
        assert_eq!(one, on(2), "{config:?} on 2 threads");
        assert_eq!(one, on(3), "{config:?} on 3 threads");
    }
}
