//! The from-scratch exercise against numpy's golden answer, and gradient checking that can fail.

use nabla::autograd::check::gradient_errors;
use nabla::autograd::{Backward, GradSink, OpIo, Tape, Var};
use nabla::scratch::{by_autodiff, by_hand, Exercise, Solution};
use nabla::Tensor;
use serde_json::Value;
use std::process::Command;

fn golden() -> Value {
    serde_json::from_str(include_str!("fixtures/from_scratch_seed0.json")).unwrap()
}

fn assert_close(got: f64, expected: &Value, what: &str) {
    let expected = expected.as_f64().unwrap();
    let rel = (got - expected).abs() / expected.abs();
    assert!(
        rel <= 1e-12,
        "{what}: {got} vs {expected} (relative {rel:e})"
    );
}

fn assert_matches_golden(s: &Solution, how: &str) {
    let g = golden();
    assert_close(s.loss, &g["L"], &format!("{how} L"));
    assert_close(s.grad_b2, &g["grad_b2"], &format!("{how} grad_b2"));
    for j in 0..3 {
        assert_close(
            s.grad_b1[j],
            &g["grad_b1"][j],
            &format!("{how} grad_b1[{j}]"),
        );
        assert_close(
            s.grad_w2[j],
            &g["grad_W2"][j],
            &format!("{how} grad_W2[{j}]"),
        );
        for k in 0..2 {
            assert_close(
                s.grad_w1[j][k],
                &g["grad_W1"][j][k],
                &format!("{how} grad_W1[{j}][{k}]"),
            );
        }
    }
}

#[test]
fn the_data_and_weights_are_numpys() {
    let g = golden();
    let e = Exercise::numpy_seeded(0);
    for j in 0..3 {
        assert_eq!(e.w2[j], g["W2"][j].as_f64().unwrap());
        for k in 0..2 {
            assert_eq!(e.w1[j][k], g["W1"][j][k].as_f64().unwrap());
        }
    }
    assert_eq!(
        e.x[999].to_vec(),
        vec![
            g["X_last"][0].as_f64().unwrap(),
            g["X_last"][1].as_f64().unwrap()
        ]
    );
    let x_sum: f64 = e.x.iter().flatten().sum();
    assert!((x_sum - g["X_sum"].as_f64().unwrap()).abs() < 1e-9);
    assert_eq!(e.y.iter().sum::<f64>(), g["Y_sum"].as_f64().unwrap());
    let first: Vec<i64> = e.y[..20].iter().map(|&v| v as i64).collect();
    let expected: Vec<i64> = g["Y_first20"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(first, expected);
}

#[test]
fn by_hand_matches_numpy() {
    assert_matches_golden(&by_hand(&Exercise::numpy_seeded(0)), "by hand");
}

#[test]
fn autodiff_matches_numpy() {
    assert_matches_golden(
        &by_autodiff(&Exercise::numpy_seeded(0)).unwrap(),
        "autodiff",
    );
}

#[test]
fn scratch_command_prints_the_golden_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(["scratch", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let g = golden();
    assert_close(json["L"].as_f64().unwrap(), &g["L"], "L");
    assert_close(
        json["grad_W1"][2][1].as_f64().unwrap(),
        &g["grad_W1"][2][1],
        "grad_W1",
    );
    let text = Command::new(env!("CARGO_BIN_EXE_nabla"))
        .arg("scratch")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(" 'grad_W1': array([[ 0.00244596,  0.00262019],"),
        "{text}"
    );
    assert!(text.contains("(a) and (b) agree"), "{text}");
}

/// sin(x) whose backward wrongly uses sin instead of cos.
struct BrokenSin;

impl Backward<f64> for BrokenSin {
    fn backward(&self, io: &OpIo<'_, f64>, grads: &mut GradSink<'_, f64>) {
        let x = io.input(0).data();
        if let Some(dx) = grads.slot(0) {
            dx.put(io.grad_out().data().iter().zip(x).map(|(g, x)| g * x.sin()));
        }
    }
}

fn broken_sin(tape: &mut Tape<f64>, x: Var) -> Var {
    let values: Vec<f64> = tape.value(x).data().iter().map(|v| v.sin()).collect();
    let out = Tensor::from_vec(values, tape.shape(x)).unwrap();
    tape.push_op("broken_sin", out, &[x], BrokenSin)
}

#[test]
fn a_wrong_backward_fails_the_check() {
    let x = nabla::autograd::check::random_tensor(&[3, 4], 5);
    let errors = gradient_errors(&[x], |t, v| Ok(broken_sin(t, v[0]))).unwrap();
    assert!(
        errors[0] > 1e-2,
        "a broken gradient went unnoticed: {errors:?}"
    );
}

#[test]
fn gradcheck_command_passes_the_seed_mlps() {
    for hidden in ["128", "128,64", "64,64"] {
        for activation in ["relu", "sigmoid", "tanh"] {
            let out = Command::new(env!("CARGO_BIN_EXE_nabla"))
                .args([
                    "gradcheck",
                    "--hidden",
                    hidden,
                    "--activation",
                    activation,
                    "--l2",
                    "1e-4",
                ])
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{hidden} {activation}: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                stdout.contains("PASS") && !stdout.contains("FAIL"),
                "{stdout}"
            );
        }
    }
}

#[test]
fn gradcheck_command_passes_the_convolutional_models() {
    // Pooling on odd sizes too: LeNet-5's 10x10 and the CNN's 11x11 and 13x13 maps.
    for args in [
        &["--model", "lenet5", "--data", "cifar10"][..],
        &["--model", "lenet5", "--batch-norm", "--dropout", "0.3"][..],
        &["--model", "cnn"][..],
        &["--model", "cnn", "--batch-norm"][..],
        &["--model", "cnn", "--data", "cifar10"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_nabla"))
            .arg("gradcheck")
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("conv2d/kernel") && !stdout.contains("FAIL"),
            "{stdout}"
        );
    }
}

/// What notebook 001 (`shared/seeds/001_2e55c0b31b1bd102.txt`, cells In [7] and In [8])
/// shows, line for line, where its text conversion kept numpy's layout. (The conversion
/// re-indented W1's continuation rows and dropped a space after `{`; those lines are compared
/// with real numpy's output instead, `fixtures/scratch_printout_001.txt`.)
const NOTEBOOK_001_LINES: [&str; 4] = [
    "0.1332476222330792",
    "    'W2': array([0.02216011, 0.02433097, 0.01797174]),",
    "    'b1': array([ 0.00492577, -0.00058023, -0.00065977]),",
    "    'b2': 0.029249230265318685}",
];

fn notebook_printout() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(["scratch", "--notebook"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn scratch_prints_what_notebook_001_prints() {
    let ours = notebook_printout();
    // Real numpy + pprint running the notebook's code (make_scratch_printout.py).
    let numpy = include_str!("fixtures/scratch_printout_001.txt");
    assert_eq!(ours, numpy);
    for line in NOTEBOOK_001_LINES {
        assert!(
            ours.lines().any(|l| l == line),
            "missing {line:?} in\n{ours}"
        );
    }
    let first = ours.lines().nth(1).unwrap();
    assert_eq!(first, "{   'W1': array([[ 0.00244596,  0.00262019],");
}

#[test]
fn scratch_prints_what_notebook_003_prints_but_its_summation_order() {
    // 003 sums b2 as ones·dL/dZ2 (a dot product), which rounds differently in the last
    // digit: 0.029249230265318688 against np.sum's ...685. Every other line is identical.
    let ours = notebook_printout();
    let numpy = include_str!("fixtures/scratch_printout_003.txt");
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), numpy.lines().collect());
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        if y.contains("'b2'") {
            assert_eq!(*y, "    'b2': 0.029249230265318688}");
            let value = |s: &str| -> f64 {
                s.trim_start_matches("    'b2': ")
                    .trim_end_matches('}')
                    .parse()
                    .unwrap()
            };
            assert!((value(x) - value(y)).abs() < 1e-17, "{x} vs {y}");
            assert_ne!(x, y, "nabla sums like np.sum, not like 003's dot product");
        } else {
            assert_eq!(x, y);
        }
    }
}
