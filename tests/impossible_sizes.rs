//! Impossible model sizes are refused from their shapes, before anything is allocated: a
//! one-line error naming the layer and the size, exit code 1, never Rust's "memory
//! allocation of … bytes failed" abort (exit 134).

use nabla::nn::layers::{Conv2D, Dense, Flatten};
use nabla::nn::LayerConfig;
use nabla::train::Sequential;
use std::process::{Command, Output};

fn nabla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Exit code 1, one line on stderr containing every needle, no panic and no abort.
fn assert_refused(out: &Output, needles: &[&str]) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for needle in needles {
        assert!(err.contains(needle), "expected '{needle}' in: {err}");
    }
}

#[test]
fn summary_refuses_two_four_billion_unit_layers() {
    let out = nabla(&["summary", "--hidden", "4000000000,4000000000"]);
    assert_refused(&out, &["dense: 784 × 4000000000 kernel needs 12.5 TB"]);
}

#[test]
fn train_refuses_a_billion_unit_layer() {
    let out = nabla(&[
        "train",
        "--hidden",
        "1000000000",
        "--epochs",
        "1",
        "--quiet",
        "--no-out",
    ]);
    assert_refused(&out, &["dense: 784 × 1000000000 kernel needs 3.1 TB"]);
}

fn refusal(input: &[usize], layers: Vec<LayerConfig>) -> String {
    match Sequential::<f32>::from_configs(input, &layers, 0) {
        Ok(_) => panic!("a model of {input:?} with {layers:?} was built"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_huge_filter_count_is_refused() {
    let error = refusal(&[28, 28, 1], vec![Conv2D::new(1 << 40, 3).into()]);
    assert!(
        error.starts_with("conv2d: 3 × 3 × 1 × 1099511627776 kernel needs 39.6 TB"),
        "{error}"
    );
}

#[test]
fn overflowing_products_are_refused() {
    // The flattened size itself overflows.
    let error = refusal(&[usize::MAX / 2, 4], vec![Flatten::new().into()]);
    assert!(error.starts_with("flatten: "), "{error}");
    // The kernel's element count fits in 64 bits, its bytes do not.
    let error = refusal(&[4_000_000_000], vec![Dense::new(4_000_000_000).into()]);
    assert!(
        error.starts_with("dense: 4000000000 × 4000000000 kernel"),
        "{error}"
    );
    // A batch of outputs overflows though the layer has no weights.
    let error = refusal(&[1 << 31, 1 << 31, 1], vec![Flatten::new().into()]);
    assert!(
        error.starts_with("flatten: output 4611686018427387904"),
        "{error}"
    );
}
