//! Shared by the Keras, ONNX and TensorBoard tests: fixture loading and the Python check
//! scripts run through `NABLA_PYTHON` (default `python3`), skipped with a message when the
//! needed packages cannot be imported.
#![allow(dead_code)]

use nabla::Tensor;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

pub fn dims(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// A batch from a fixture's flat `x` and per-sample `input_shape`.
pub fn batch(values: &[f64], sample: &[usize]) -> Tensor<f32> {
    let per: usize = sample.iter().product();
    let mut shape = vec![values.len() / per];
    shape.extend_from_slice(sample);
    Tensor::<f32>::from_f64(values, shape.as_slice()).unwrap()
}

pub fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "different lengths");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

pub fn as_f64(t: &Tensor<f32>) -> Vec<f64> {
    t.data().iter().map(|&x| x as f64).collect()
}

/// The Python to run, if it imports every module in `modules`; else prints why the test is
/// skipped and returns None.
pub fn python_with(modules: &[&str]) -> Option<String> {
    let python = std::env::var("NABLA_PYTHON").unwrap_or_else(|_| "python3".into());
    let import = format!("import {}", modules.join(", "));
    let ok = Command::new(&python)
        .args(["-c", &import])
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Some(python)
    } else {
        eprintln!(
            "SKIPPED: `{python}` cannot `{import}`; set NABLA_PYTHON to a Python with them \
             (pip install keras tensorflow-cpu onnx onnxruntime tbparse)"
        );
        None
    }
}

/// Runs `script` with `args`; panics with its output if it fails; returns its stdout as JSON.
pub fn run_python(python: &str, script: &Path, args: &[&Path]) -> Value {
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .env("KERAS_BACKEND", "tensorflow")
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{} failed:\n{stdout}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("bad JSON from {}: {e}\n{stdout}", script.display()))
}
