//! The CLI takes Keras files wherever it takes a model file, and `nabla convert` converts
//! between formats by extension.

use std::path::Path;
use std::process::Command;

fn nabla(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nabla"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keras")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

#[test]
fn summary_reads_keras_files_with_kerass_counts() {
    for file in ["cnn.keras", "cnn.h5"] {
        let (ok, text) = nabla(&["summary", "--model-file", &fixture(file)]);
        assert!(ok, "{text}");
        // cnn.json (Keras): 257 parameters, 8 of them the batch-norm moving statistics.
        assert!(text.contains("Total params: 257"), "{text}");
        assert!(text.contains("Non-trainable params: 8"), "{text}");
        assert!(text.contains("conv2d_1"), "{text}");
    }
}

#[test]
fn convert_goes_between_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let steps = [
        (fixture("lenet5.h5"), out("a.safetensors")),
        (out("a.safetensors"), out("b.keras")),
        (out("b.keras"), out("c.h5")),
        (out("c.h5"), out("d.weights.h5")),
        (out("c.h5"), out("e.onnx")),
    ];
    for (from, to) in &steps {
        let (ok, text) = nabla(&["convert", from, to]);
        assert!(ok, "{from} -> {to}: {text}");
        assert!(Path::new(to).exists());
    }
    let (a, _) = nabla(&["summary", "--model-file", &out("a.safetensors")]);
    let (_, sa) = nabla(&["summary", "--model-file", &out("a.safetensors")]);
    let (_, sc) = nabla(&["summary", "--model-file", &out("c.h5")]);
    assert!(a);
    assert_eq!(sa, sc);
    // Bad requests are clear errors.
    let (ok, text) = nabla(&["convert", &out("e.onnx"), &out("f.keras")]);
    assert!(!ok && text.contains("does not read"), "{text}");
    let (ok, text) = nabla(&["convert", &fixture("mlp.keras"), &out("f.txt")]);
    assert!(!ok && text.contains("extension"), "{text}");
    let (ok, text) = nabla(&["convert", &fixture("mlp.weights.h5"), &out("g.keras")]);
    assert!(!ok && text.contains("weights-only"), "{text}");
}
