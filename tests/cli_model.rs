//! `nabla train --save`, `evaluate`, `predict` and `summary --model-file` through the real
//! binary, and the NaN guard's exit code.

use nabla::data::{mnist_sample, write_idx, Features};
use nabla::train::Sequential;
use nabla::Tensor;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const NABLA: &str = env!("CARGO_BIN_EXE_nabla");

fn nabla(args: &[&str]) -> Output {
    Command::new(NABLA).args(args).output().unwrap()
}

fn ok_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "nabla failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn failed_with(out: &Output, phrase: &str) {
    assert!(!out.status.success(), "expected failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(phrase), "expected '{phrase}' in: {err}");
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn write_png(path: &Path, size: u32, color: png::ColorType, data: &[u8]) {
    let file = std::fs::File::create(path).unwrap();
    let mut enc = png::Encoder::new(file, size, size);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header().unwrap().write_image_data(data).unwrap();
}

#[test]
fn saved_model_evaluates_and_predicts_like_the_trained_one() {
    let dir = tempfile::tempdir().unwrap();
    let model_file = dir.path().join("m.safetensors");
    let trained = ok_json(&nabla(&[
        "train",
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--threads",
        "1",
        "--json",
        "--no-out",
        "--save",
        s(&model_file),
    ]));

    // evaluate: bit-identical to the numbers train reported for the same model.
    let eval = ok_json(&nabla(&[
        "evaluate",
        "--model-file",
        s(&model_file),
        "--json",
    ]));
    assert_eq!(eval["test_loss"], trained["test_loss"]);
    assert_eq!(eval["test_accuracy"], trained["test_accuracy"]);
    assert_eq!(eval["samples"], 1000);
    // The same report and matrix as training printed and wrote.
    assert_eq!(eval["metrics"], trained["metrics"]);
    let text = nabla(&["evaluate", "--model-file", s(&model_file)]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Classification report:") && text.contains("weighted avg"),
        "{text}"
    );
    assert!(
        text.contains("Confusion matrix (rows: true, columns: predicted):"),
        "{text}"
    );

    // The first 4 test digits as IDX, CSV (with the label column), gray PNG and RGB PNG.
    let (_, test) = mnist_sample().unwrap();
    let Features::U8(pixels) = &test.features else {
        panic!("the sample is stored as u8");
    };
    let n = 4;
    let first = &pixels[..n * 784];
    let idx = dir.path().join("digits-idx3-ubyte");
    write_idx(&idx, &[n, 28, 28], first).unwrap();
    let csv = dir.path().join("digits.csv");
    let rows: Vec<String> = (0..n)
        .map(|i| {
            let mut row: Vec<String> = first[i * 784..(i + 1) * 784]
                .iter()
                .map(|p| p.to_string())
                .collect();
            row.push(test.labels[i].to_string());
            row.join(",")
        })
        .collect();
    std::fs::write(&csv, rows.join("\n")).unwrap();
    let gray = dir.path().join("gray.png");
    write_png(&gray, 28, png::ColorType::Grayscale, &first[..784]);
    let rgb = dir.path().join("rgb.png");
    let rgb_pixels: Vec<u8> = first[..784].iter().flat_map(|&g| [g, g, g]).collect();
    write_png(&rgb, 28, png::ColorType::Rgb, &rgb_pixels);

    let out = ok_json(&nabla(&[
        "predict",
        "--model-file",
        s(&model_file),
        "--json",
        s(&idx),
        s(&csv),
        s(&gray),
        s(&rgb),
    ]));
    let preds = out["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), n + n + 1 + 1);

    // What the loaded model predicts in-process for the same pixels, scaled as in training.
    let mut model = Sequential::<f32>::load(&model_file).unwrap();
    let scale = 1.0f32 / 255.0;
    let x: Vec<f32> = first.iter().map(|&p| p as f32 * scale).collect();
    let probs = model
        .predict_tensor(&Tensor::from_vec(x, [n, 28, 28, 1]).unwrap())
        .unwrap();
    let expected: Vec<Vec<f32>> = probs.data().chunks(10).map(|r| r.to_vec()).collect();
    let got = |p: &Value| -> Vec<f32> {
        p["probabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect()
    };
    // A PNG is one image, predicted as a batch of one; the products' rounding depends on the
    // batch's shape, so its reference is the same image predicted alone.
    let alone: Vec<f32> = first[..784].iter().map(|&p| p as f32 * scale).collect();
    let alone = model
        .predict_tensor(&Tensor::from_vec(alone, [1, 28, 28, 1]).unwrap())
        .unwrap()
        .into_vec();
    for (k, p) in preds.iter().enumerate() {
        let i = p["index"].as_u64().unwrap() as usize;
        let is_png = p["input"].as_str().unwrap().ends_with(".png");
        let reference = if is_png { &alone } else { &expected[i] };
        assert_eq!(&got(p), reference, "prediction {k}: {p}");
        let argmax = (0..10)
            .max_by(|&a, &b| reference[a].total_cmp(&reference[b]))
            .unwrap();
        assert_eq!(p["class"], argmax, "prediction {k}");
    }

    // The plain-text form names the input and the class.
    let text = nabla(&["predict", "--model-file", s(&model_file), s(&gray)]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("gray.png[0]: class "), "{text}");

    // A PNG of the wrong size is refused, not resized.
    let big = dir.path().join("big.png");
    write_png(&big, 32, png::ColorType::Grayscale, &[0; 32 * 32]);
    failed_with(
        &nabla(&["predict", "--model-file", s(&model_file), s(&big)]),
        "is 32x32 (width x height) but the model takes 28x28",
    );
    // A CSV row of the wrong width names its line.
    let short = dir.path().join("short.csv");
    std::fs::write(&short, "1,2,3\n").unwrap();
    failed_with(
        &nabla(&["predict", "--model-file", s(&model_file), s(&short)]),
        "line 1: 3 values",
    );

    // summary from the file matches summary from the same flags.
    let from_file = nabla(&["summary", "--model-file", s(&model_file)]);
    let from_flags = nabla(&["summary", "--hidden", "8"]);
    assert!(from_file.status.success());
    assert_eq!(from_file.stdout, from_flags.stdout);
}

#[test]
fn a_bad_model_file_is_a_clear_error_and_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.safetensors");
    std::fs::write(&bad, b"not a model").unwrap();
    for cmd in ["evaluate", "summary"] {
        failed_with(
            &nabla(&[cmd, "--model-file", s(&bad)]),
            "bad.safetensors: not a readable model file",
        );
    }
    failed_with(
        &nabla(&["predict", "--model-file", s(&bad), s(&bad)]),
        "bad.safetensors: not a readable model file",
    );
}

#[test]
fn nan_loss_stops_the_cli_with_epoch_and_batch_and_a_non_zero_exit() {
    let out = nabla(&[
        "train",
        "--optimizer",
        "sgd",
        "--lr",
        "1e30",
        "--epochs",
        "2",
        "--hidden",
        "8",
        "--threads",
        "1",
        "--quiet",
    ]);
    failed_with(&out, "at epoch 1, batch ");
    failed_with(&out, "training stopped");
}
