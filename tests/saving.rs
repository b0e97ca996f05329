//! Model files: a save/load round trip for every layer type (bit-identical predictions,
//! evaluation and further training), and every kind of bad file with its expected error.

use nabla::nn::{LayerConfig, Loss, OptimizerConfig};
use nabla::random::NumpyRandomState;
use nabla::train::{FitOptions, Sequential, TensorData, Verbosity};
use nabla::{Error, Float, Tensor};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Every layer type, each in a small model ending in 3 outputs (checked against the registry
/// by `every_registered_layer_type_has_a_case`). The configs are the JSON of the model file.
const CASES: &[(&str, &[usize], &str)] = &[
    (
        "dense",
        &[5],
        r#"[{"type": "Dense", "units": 4, "activation": "relu"},
            {"type": "Dense", "units": 3, "activation": "softmax"}]"#,
    ),
    (
        "dense without bias, L2, other initializer, named",
        &[5],
        r#"[{"type": "Dense", "units": 4, "activation": "tanh", "use_bias": false,
             "kernel_initializer": "he_normal", "kernel_regularizer": {"l2": 0.01},
             "name": "hidden"},
            {"type": "Dense", "units": 3, "activation": "softmax", "name": "out"}]"#,
    ),
    (
        "flatten",
        &[2, 3, 1],
        r#"[{"type": "Flatten"}, {"type": "Dense", "units": 3, "activation": "softmax"}]"#,
    ),
    (
        "activation",
        &[5],
        r#"[{"type": "Dense", "units": 4}, {"type": "Activation", "activation": "sigmoid"},
            {"type": "Dense", "units": 3}, {"type": "Activation", "activation": "softmax"}]"#,
    ),
    (
        "convolution and pooling",
        &[6, 6, 2],
        r#"[{"type": "Conv2D", "filters": 3, "kernel_size": 3, "padding": "same",
             "activation": "relu", "kernel_regularizer": {"l2": 0.001}},
            {"type": "MaxPooling2D", "pool_size": 2},
            {"type": "Conv2D", "filters": 4, "kernel_size": [2, 1], "strides": 1},
            {"type": "AveragePooling2D", "pool_size": 2, "strides": 1, "padding": "same"},
            {"type": "GlobalAveragePooling2D"},
            {"type": "Dense", "units": 3, "activation": "softmax"}]"#,
    ),
    (
        "batch normalization and dropout",
        &[5],
        r#"[{"type": "Dense", "units": 4}, {"type": "BatchNormalization", "momentum": 0.9},
            {"type": "Activation", "activation": "relu"}, {"type": "Dropout", "rate": 0.25},
            {"type": "Dense", "units": 3, "activation": "softmax"}]"#,
    ),
];

#[test]
fn every_registered_layer_type_has_a_case() {
    for kind in LayerConfig::KINDS {
        let covered = CASES.iter().any(|(_, _, json)| {
            let layers: Vec<LayerConfig> = serde_json::from_str(json).unwrap();
            layers.iter().any(|l| l.kind() == *kind)
        });
        assert!(covered, "no model-file case uses {kind}");
    }
}

fn optimizers() -> Vec<OptimizerConfig> {
    vec![
        OptimizerConfig::sgd(0.05, 0.9),
        OptimizerConfig::adam(0.01),
        OptimizerConfig::Rmsprop {
            learning_rate: 0.01,
            rho: 0.9,
            momentum: 0.5,
            epsilon: 1e-7,
            centered: true,
        },
    ]
}

/// 24 random samples of `shape` with random one-hot targets over 3 classes.
fn random_data<T: Float>(shape: &[usize], seed: u32) -> TensorData<T> {
    let mut rng = NumpyRandomState::new(seed);
    let n = 24;
    let len: usize = shape.iter().product();
    let x: Vec<f64> = (0..n * len).map(|_| rng.normal(0.0, 1.0)).collect();
    let mut dims = vec![n];
    dims.extend_from_slice(shape);
    let labels: Vec<u32> = (0..n).map(|_| rng.randint(0, 3) as u32).collect();
    TensorData::classes(Tensor::from_f64(&x, dims.as_slice()).unwrap(), &labels, 3).unwrap()
}

fn fit<T: Float>(model: &mut Sequential<T>, data: &TensorData<T>, epochs: usize) {
    model
        .fit(
            data,
            FitOptions {
                epochs,
                batch_size: 8,
                verbosity: Verbosity::Silent,
                ..FitOptions::default()
            },
        )
        .unwrap();
}

fn bits<T: Float>(t: &Tensor<T>) -> Vec<u64> {
    t.data().iter().map(|x| x.as_f64().to_bits()).collect()
}

/// Same names, trainability and bit-identical values, parameters and optimizer slots alike.
fn assert_same_state<T: Float>(a: &Sequential<T>, b: &Sequential<T>, what: &str) {
    assert_eq!(a.configs(), b.configs(), "{what}: configs");
    assert_eq!(a.input_shape(), b.input_shape(), "{what}: input shape");
    let pa: Vec<_> = a.params().iter().map(|(_, p)| p).collect();
    let pb: Vec<_> = b.params().iter().map(|(_, p)| p).collect();
    assert_eq!(pa.len(), pb.len(), "{what}: parameter count");
    for (x, y) in pa.iter().zip(&pb) {
        assert_eq!((&x.name, x.trainable), (&y.name, y.trainable), "{what}");
        assert_eq!(x.value.dims(), y.value.dims(), "{what}: {}", x.name);
        assert_eq!(bits(&x.value), bits(&y.value), "{what}: {}", x.name);
    }
    assert_eq!(a.loss(), b.loss(), "{what}: loss");
    match (a.optimizer(), b.optimizer()) {
        (Some(oa), Some(ob)) => {
            assert_eq!(oa.config(), ob.config(), "{what}: optimizer config");
            let (sa, sb) = (oa.state(), ob.state());
            assert_eq!(sa.iterations, sb.iterations, "{what}: iterations");
            assert_eq!(sa.slots.len(), sb.slots.len(), "{what}: slot count");
            for ((na, ta), (nb, tb)) in sa.slots.iter().zip(&sb.slots) {
                assert_eq!(na, nb, "{what}: slot names");
                assert_eq!(bits(ta), bits(tb), "{what}: slot {na}");
            }
        }
        (None, None) => {}
        _ => panic!("{what}: only one model is compiled"),
    }
}

fn round_trip<T: Float>(tag: &str, dir: &Path) {
    for (name, shape, json) in CASES {
        let configs: Vec<LayerConfig> = serde_json::from_str(json).expect(name);
        for optimizer in optimizers() {
            let what = format!("{tag} {name} with {}", optimizer.name());
            let data = random_data::<T>(shape, 1);
            let mut model = Sequential::<T>::from_configs(shape, &configs, 42).unwrap();
            model
                .compile(optimizer.clone(), Loss::CategoricalCrossentropy)
                .unwrap();
            fit(&mut model, &data, 2);

            let path = dir.join(format!("{tag}-{}.safetensors", name.replace(' ', "_")));
            model.save(&path).unwrap();
            let mut loaded = Sequential::<T>::load(&path).unwrap();
            assert_same_state(&model, &loaded, &what);
            assert_eq!(loaded.seed(), 42);

            let (pa, pb) = (
                model.predict(&data).unwrap(),
                loaded.predict(&data).unwrap(),
            );
            assert_eq!(bits(&pa), bits(&pb), "{what}: predict");
            let (ea, eb) = (
                model.evaluate(&data).unwrap(),
                loaded.evaluate(&data).unwrap(),
            );
            assert_eq!(
                ea.loss.to_bits(),
                eb.loss.to_bits(),
                "{what}: evaluate loss"
            );
            assert_eq!(ea.accuracy, eb.accuracy, "{what}: evaluate accuracy");

            // Training on goes on identically: same optimizer state and same RNG (the
            // shuffle of the next epoch draws from it).
            fit(&mut model, &data, 2);
            fit(&mut loaded, &data, 2);
            assert_same_state(&model, &loaded, &format!("{what}, trained on"));
        }
    }
}

#[test]
fn round_trip_of_every_layer_type_is_bit_identical_in_f32() {
    let dir = tempfile::tempdir().unwrap();
    round_trip::<f32>("f32", dir.path());
}

#[test]
fn round_trip_in_f64_keeps_f64_weights() {
    let dir = tempfile::tempdir().unwrap();
    round_trip::<f64>("f64", dir.path());
}

#[test]
fn an_uncompiled_model_round_trips_and_has_no_optimizer() {
    let dir = tempfile::tempdir().unwrap();
    let (_, shape, json) = CASES[0];
    let configs: Vec<LayerConfig> = serde_json::from_str(json).unwrap();
    let model = Sequential::<f32>::from_configs(shape, &configs, 5).unwrap();
    let path = dir.path().join("plain.safetensors");
    model.save(&path).unwrap();
    let loaded = Sequential::<f32>::load(&path).unwrap();
    assert!(loaded.optimizer().is_none());
    assert_same_state(&model, &loaded, "uncompiled");
}

// ---------------------------------------------------------------------------------------
// Bad files. Each is a small valid model file, damaged one way; each must give an error
// that names the file and the problem, never a panic.

/// A trained 5 → 4 → 3 model's file bytes.
fn good_file() -> Vec<u8> {
    let configs: Vec<LayerConfig> = serde_json::from_str(CASES[0].2).unwrap();
    let mut model = Sequential::<f32>::from_configs(&[5], &configs, 0).unwrap();
    model
        .compile(OptimizerConfig::adam(0.01), Loss::CategoricalCrossentropy)
        .unwrap();
    fit(&mut model, &random_data(&[5], 2), 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("good.safetensors");
    model.save(&path).unwrap();
    std::fs::read(path).unwrap()
}

struct Parts {
    header: serde_json::Value,
    tensors: BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)>,
}

/// Rewrites a model file through `edit`, keeping it valid safetensors with a correct
/// checksum (recomputed as the format documents), so only the intended damage remains.
fn rewrite(bytes: &[u8], edit: impl FnOnce(&mut Parts)) -> Vec<u8> {
    let file = SafeTensors::deserialize(bytes).unwrap();
    let (_, meta) = SafeTensors::read_metadata(bytes).unwrap();
    let header = serde_json::from_str(&meta.metadata().as_ref().unwrap()["nabla"]).unwrap();
    let tensors = file
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, (v.dtype(), v.shape().to_vec(), v.data().to_vec())))
        .collect();
    let mut parts = Parts { header, tensors };
    edit(&mut parts);
    let mut hasher = Sha256::new();
    for (name, (_, _, data)) in &parts.tensors {
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(data);
    }
    let sum: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    parts.header["tensors_sha256"] = sum.into();
    let views: Vec<(String, TensorView)> = parts
        .tensors
        .iter()
        .map(|(n, (d, s, data))| (n.clone(), TensorView::new(*d, s.clone(), data).unwrap()))
        .collect();
    let meta = HashMap::from([("nabla".to_string(), parts.header.to_string())]);
    safetensors::serialize(views, Some(meta)).unwrap()
}

/// Loads `bytes` from a file named after `case`; the error must name the file and contain
/// every phrase in `expected`.
fn expect_error(case: &str, bytes: &[u8], expected: &[&str]) -> Error {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join(format!("{case}.safetensors"));
    std::fs::write(&path, bytes).unwrap();
    let err = match Sequential::<f32>::load(&path) {
        Ok(_) => panic!("{case}: loaded without error"),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(
        text.contains(&format!("{case}.safetensors")),
        "{case}: {text}"
    );
    for phrase in expected {
        assert!(
            text.contains(phrase),
            "{case}: expected '{phrase}' in: {text}"
        );
    }
    err
}

#[test]
fn a_truncated_file_is_an_error_at_every_cut() {
    let good = good_file();
    let cuts = [0, 3, 8, 40, good.len() / 2, good.len() - 1];
    for cut in cuts {
        let err = expect_error(
            &format!("truncated-{cut}"),
            &good[..cut],
            &["truncated or corrupted"],
        );
        assert!(matches!(err, Error::Format { .. }), "{err:?}");
    }
}

#[test]
fn flipped_bits_in_the_weights_fail_the_checksum() {
    let mut bad = good_file();
    let last = bad.len() - 5;
    bad[last] ^= 0x10;
    expect_error("bitflip", &bad, &["checksum", "corrupted"]);
}

#[test]
fn a_corrupted_header_is_an_error() {
    let good = good_file();
    // The safetensors header itself (byte 8 opens its JSON).
    let mut bad = good.clone();
    bad[8] = b'x';
    expect_error("badframe", &bad, &["truncated or corrupted"]);
    // nabla's JSON inside __metadata__, same length so the framing stays valid.
    let key = br#"format_version\":"#;
    let at = good.windows(key.len()).position(|w| w == key).unwrap() + key.len();
    assert_eq!(good[at], b'1');
    let mut bad = good.clone();
    bad[at] = b'}';
    expect_error("badjson", &bad, &["header is not valid JSON"]);
    // Not safetensors at all.
    expect_error(
        "garbage",
        b"this is not a model file, just some text",
        &["corrupted"],
    );
}

#[test]
fn a_newer_format_version_asks_for_a_newer_nabla() {
    let bad = rewrite(&good_file(), |p| p.header["format_version"] = 2.into());
    expect_error("newer", &bad, &["format version 2", "upgrade nabla"]);
}

#[test]
fn another_format_name_is_not_a_nabla_model() {
    let bad = rewrite(&good_file(), |p| p.header["format"] = "keras".into());
    expect_error("otherformat", &bad, &["not a nabla model file", "'keras'"]);
    let plain = safetensors::serialize(
        [(
            "w",
            TensorView::new(Dtype::F32, vec![1], &[0, 0, 0, 0]).unwrap(),
        )],
        None,
    )
    .unwrap();
    expect_error("plain", &plain, &["not a nabla model"]);
}

#[test]
fn an_unknown_layer_type_is_named() {
    let bad = rewrite(&good_file(), |p| {
        p.header["layers"][1]["type"] = "Conv3D".into();
    });
    expect_error("unknown", &bad, &["layer 2", "Conv3D", "unknown"]);
}

#[test]
fn weights_not_matching_the_architecture_are_named_with_both_shapes() {
    let bad = rewrite(&good_file(), |p| p.header["layers"][0]["units"] = 6.into());
    expect_error(
        "mismatch",
        &bad,
        &[
            "tensor 'dense/kernel'",
            "[5, 4]",
            "architecture needs [5, 6]",
        ],
    );
}

#[test]
fn an_impossible_input_shape_is_refused() {
    let bad = rewrite(&good_file(), |p| {
        p.header["input_shape"] = serde_json::json!([1, 1, 1, 1, 1, 1, 1, 1, 5])
    });
    expect_error("rank", &bad, &["invalid input shape"]);
    let bad = rewrite(&good_file(), |p| {
        p.header["input_shape"] = serde_json::json!([6])
    });
    expect_error(
        "inputwidth",
        &bad,
        &["'dense/kernel' has shape [5, 4]", "[6, 4]"],
    );
}

#[test]
fn a_missing_tensor_is_named() {
    let bad = rewrite(&good_file(), |p| {
        p.tensors.remove("dense_1/kernel");
    });
    expect_error("missing", &bad, &["missing tensor 'dense_1/kernel'"]);
}

#[test]
fn a_stray_tensor_is_named() {
    let bad = rewrite(&good_file(), |p| {
        p.tensors
            .insert("extra/kernel".into(), (Dtype::F32, vec![1], vec![0; 4]));
    });
    expect_error("stray", &bad, &["'extra/kernel'", "no weight"]);
}

#[test]
fn a_bad_optimizer_slot_is_named() {
    let bad = rewrite(&good_file(), |p| {
        let slot = p.tensors.remove("optimizer/m/1").unwrap();
        p.tensors.insert("optimizer/m/9".into(), slot);
    });
    expect_error("slot", &bad, &["optimizer slot 'optimizer/m/9'"]);
    let bad = rewrite(&good_file(), |p| {
        p.tensors
            .insert("optimizer/v/1".into(), (Dtype::F32, vec![2], vec![0; 8]));
    });
    expect_error("slotshape", &bad, &["'optimizer/v/1'", "shape [2]"]);
}

#[test]
fn a_damaged_rng_state_is_an_error() {
    let bad = rewrite(&good_file(), |p| p.header["rng"]["pos"] = 9999.into());
    expect_error("rng", &bad, &["random state"]);
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let Err(err) = Sequential::<f32>::load("/nonexistent-dir/model.safetensors") else {
        panic!("loaded a missing file");
    };
    assert!(matches!(err, Error::Io { .. }));
    assert!(err
        .to_string()
        .contains("/nonexistent-dir/model.safetensors"));
}
