//! The labs reproduce the five seed notebooks (shared/seeds/), one folder per notebook, named
//! after it. Each lab's settings are compared with a table typed from the notebooks
//! (`fixtures/notebooks.toml`, every row citing its cell), and every lab is parsed and run
//! on tiny data (a few hundred samples, one epoch per stage), so none of them rots.
//! MNIST-shaped labs run on the built-in sample; CIFAR-10 labs on random images written in
//! CIFAR-10's official binary layout (CIFAR-10 itself is not on these machines).

use nabla::data::StandardizeFit;
use nabla::experiment::{
    lab_files, run_file, run_lab, run_sweep, ExperimentFile, FileRunOptions, LabFile, SweepOptions,
};
use nabla::nn::{LayerConfig, Loss, OptimizerConfig};
use nabla::run::{RunRecord, RunSpec};
use nabla::train::{Sequential, Stream, Verbosity};
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use toml::Value;

fn labs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("labs")
}

/// Every lab file: `labs/<notebook>/<lab>.toml`.
fn labs() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for folder in std::fs::read_dir(labs_dir()).unwrap() {
        let folder = folder.unwrap().path();
        if !folder.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&folder).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn table() -> Vec<toml::Table> {
    let text = include_str!("fixtures/notebooks.toml");
    let table: toml::Table = toml::from_str(text).unwrap();
    table["run"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_table().unwrap().clone())
        .collect()
}

/// A layer as the table writes it: `Dense(128, relu)`, `Conv2D(6, 5x5, valid, relu)`, ...
fn describe(layer: &LayerConfig) -> String {
    let j = serde_json::to_value(layer).unwrap();
    let size = |v: &Json| {
        let a = v.as_array().unwrap();
        format!("{}x{}", a[0], a[1])
    };
    let activation = |args: &mut Vec<String>| {
        let a = j["activation"].as_str().unwrap_or("linear");
        if a != "linear" {
            args.push(a.to_string());
        }
    };
    let mut args = Vec::new();
    match layer.kind() {
        "Dense" => {
            args.push(j["units"].to_string());
            activation(&mut args);
        }
        "Conv2D" => {
            args.push(j["filters"].to_string());
            args.push(size(&j["kernel_size"]));
            if size(&j["strides"]) != "1x1" {
                args.push(format!("strides {}", size(&j["strides"])));
            }
            args.push(j["padding"].as_str().unwrap().to_string());
            activation(&mut args);
        }
        "MaxPooling2D" => args.push(size(&j["pool_size"])),
        "Dropout" => args.push(j["rate"].to_string()),
        _ => {}
    }
    if let Some(l2) = j.get("kernel_regularizer").and_then(|r| r.get("l2")) {
        args.push(format!("l2={l2}"));
    }
    if args.is_empty() {
        layer.kind().to_string()
    } else {
        format!("{}({})", layer.kind(), args.join(", "))
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn optimizer(v: &Value) -> OptimizerConfig {
    v.clone().try_into().unwrap()
}

fn loss(v: &Value) -> Loss {
    Loss::parse(v.as_str().unwrap()).unwrap()
}

/// The lab's run a table row describes: its base, or the named variant.
fn lab_run(row: &toml::Table) -> (ExperimentFile, RunSpec) {
    let path = labs_dir().join(row["lab"].as_str().unwrap());
    let file = ExperimentFile::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let experiment = match row.get("variant") {
        None => file.base().unwrap(),
        Some(name) => {
            let name = name.as_str().unwrap();
            let v = file.variants.iter().find(|v| v.name == name);
            let v = v.unwrap_or_else(|| panic!("{}: no variant '{name}'", path.display()));
            file.variant(v).unwrap()
        }
    };
    (file, experiment)
}

/// Compares one lab run with its row of the table; returns what differs.
fn differences(row: &toml::Table) -> Vec<String> {
    let (file, e) = lab_run(row);
    let mut diffs = Vec::new();
    let mut check = |what: &str, ours: String, notebook: String| {
        if ours != notebook {
            diffs.push(format!("{what}: lab has {ours}, notebook has {notebook}"));
        }
    };
    check(
        "dataset",
        e.data.source.name().into(),
        row["dataset"].as_str().unwrap().into(),
    );

    // Layers as the notebook writes them. A swept L2 is compared with the sweep below.
    let swept = row.contains_key("sweep");
    let mut layers = if swept {
        e.model.layers.clone()
    } else {
        e.model.layer_configs().unwrap()
    };
    let shape = e.input_shape().unwrap();
    let model = Sequential::<f32>::from_configs(&shape, &layers, 0).unwrap();
    let mut names: Vec<String> = model
        .layers()
        .iter()
        .map(|l| l.name().to_string())
        .collect();
    let (trainable, frozen) = model.count_params();
    if row["flatten"].as_str() == Some("data") {
        // The notebook reshaped the arrays itself; the lab's first layer does it instead.
        check("first layer", layers[0].kind().into(), "Flatten".into());
        layers.remove(0);
        names.remove(0);
    }
    let described: Vec<String> = layers.iter().map(describe).collect();
    check(
        "layers",
        format!("{described:?}"),
        format!("{:?}", strings(&row["layers"])),
    );
    if let Some(expected) = row.get("names") {
        check(
            "names",
            format!("{names:?}"),
            format!("{:?}", strings(expected)),
        );
    }
    check(
        "params",
        (trainable + frozen).to_string(),
        row["params"].as_integer().unwrap().to_string(),
    );

    let t = &e.training;
    match row.get("stages") {
        None => {
            check("stages", t.stages.len().to_string(), "0".into());
            check(
                "optimizer",
                format!("{:?}", t.optimizer),
                format!("{:?}", optimizer(&row["optimizer"])),
            );
            check(
                "loss",
                format!("{:?}", t.loss),
                format!("{:?}", loss(&row["loss"])),
            );
            check(
                "epochs",
                t.epochs.to_string(),
                row["epochs"].as_integer().unwrap().to_string(),
            );
        }
        Some(stages) => {
            let ours = t.resolved_stages().expect("the lab trains in stages");
            let theirs = stages.as_array().unwrap();
            check(
                "stage count",
                ours.len().to_string(),
                theirs.len().to_string(),
            );
            for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
                let b = b.as_table().unwrap();
                check(
                    &format!("stage {} epochs", i + 1),
                    a.epochs.to_string(),
                    b["epochs"].as_integer().unwrap().to_string(),
                );
                let expected = match b["compile"].as_bool().unwrap() {
                    false => "no compile".to_string(),
                    true => format!("{:?}", (optimizer(&b["optimizer"]), loss(&b["loss"]))),
                };
                let got = match &a.compile {
                    None => "no compile".to_string(),
                    Some(c) => format!("{c:?}"),
                };
                check(&format!("stage {} compile", i + 1), got, expected);
            }
        }
    }
    check(
        "batch_size",
        t.batch_size.to_string(),
        row["batch_size"].as_integer().unwrap().to_string(),
    );

    let d = &e.data;
    let (split, seed) = match &row["validation"] {
        Value::String(s) if s == "test" => ("none".to_string(), "-".to_string()),
        Value::Table(t) => (
            t["test_size"].as_float().unwrap().to_string(),
            t["random_state"].as_integer().unwrap().to_string(),
        ),
        other => panic!("validation = {other}"),
    };
    check(
        "validation split",
        d.validation_split.map_or("none".into(), |f| f.to_string()),
        split.clone(),
    );
    if split != "none" {
        check("split seed", d.split_seed.to_string(), seed);
    }
    let standardize = match (d.standardize, d.standardize_fit) {
        (false, _) => "none",
        (true, StandardizeFit::Dev) => "dev",
        (true, StandardizeFit::Train) => "train",
    };
    check(
        "standardize",
        standardize.into(),
        row["standardize"].as_str().unwrap().into(),
    );

    let plots: Vec<&str> = e.output.plots.iter().map(|p| p.name()).collect();
    check(
        "plots",
        format!("{plots:?}"),
        format!("{:?}", strings(&row["plots"])),
    );
    check(
        "save_as",
        format!("{:?}", e.output.save_as),
        format!("{:?}", row.get("save_as").and_then(|v| v.as_str())),
    );
    check(
        "gradients on the first samples",
        format!("{:?}", e.output.gradients_first),
        format!(
            "{:?}",
            row.get("gradient_probe")
                .map(|v| v.as_integer().unwrap() as usize)
        ),
    );

    match (row.get("sweep"), &file.sweep) {
        (None, None) => {}
        (Some(s), Some(sweep)) => {
            let s = s.as_table().unwrap();
            let axes: Vec<(String, Vec<f64>)> = sweep
                .axes
                .iter()
                .map(|(k, v)| (k.clone(), v.iter().map(|x| x.as_float().unwrap()).collect()))
                .collect();
            let values: Vec<f64> = s["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_float().unwrap())
                .collect();
            let key = s["key"].as_str().unwrap().to_string();
            check(
                "sweep",
                format!("{axes:?}"),
                format!("{:?}", [(key, values)]),
            );
            check(
                "replicates",
                sweep.replicates.to_string(),
                s["replicates"].as_integer().unwrap().to_string(),
            );
            check(
                "sweep metric",
                sweep.metric.clone(),
                s["metric"].as_str().unwrap().into(),
            );
            check(
                "l2 layers",
                format!("{:?}", e.model.l2_layers),
                format!("{:?}", Some(strings(&s["layers"]))),
            );
        }
        (a, b) => check(
            "sweep",
            format!("{}", b.is_some()),
            format!("{}", a.is_some()),
        ),
    }
    diffs
}

#[test]
fn every_lab_has_the_notebooks_settings() {
    let rows = table();
    let mut failures = Vec::new();
    for row in &rows {
        let id = format!(
            "{} {}{}",
            row["notebook"].as_str().unwrap(),
            row["lab"].as_str().unwrap(),
            row.get("variant")
                .map_or(String::new(), |v| format!(" [{}]", v.as_str().unwrap()))
        );
        for d in differences(row) {
            failures.push(format!("{id}: {d}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Every notebook has a lab folder named after it, and every lab folder is a notebook.
    let seeds = [
        "000_24ee696f1f21c368",
        "001_2e55c0b31b1bd102",
        "002_d50056cc170183d7",
        "003_dc6e6c7d6897a759",
        "004_586704af337f9bfc",
    ];
    for seed in seeds {
        assert!(
            labs_dir().join(seed).is_dir(),
            "no lab folder for notebook {seed}"
        );
        assert!(rows.iter().any(|r| r["notebook"].as_str() == Some(seed)));
    }
    for lab in labs() {
        let folder = lab.parent().unwrap().file_name().unwrap().to_str().unwrap();
        assert!(
            seeds.contains(&folder),
            "{} is not in a notebook's folder",
            lab.display()
        );
    }
}

#[test]
fn the_table_catches_a_lab_that_drifts() {
    // The comparison itself can fail: change one setting of a row and it must be reported.
    let mut rows = table();
    let row = rows
        .iter_mut()
        .find(|r| r["lab"].as_str().unwrap().ends_with("cnn_99.toml"));
    let row = row.unwrap();
    assert!(differences(row).is_empty());
    row.insert("batch_size".into(), Value::Integer(32));
    row.insert(
        "layers".into(),
        Value::Array(vec![Value::String("Conv2D(32, 3x3, same, relu)".into())]),
    );
    let diffs = differences(row);
    assert_eq!(diffs.len(), 2, "{diffs:?}");
    assert!(
        diffs[0].starts_with("layers:") && diffs[1].starts_with("batch_size:"),
        "{diffs:?}"
    );
}

/// Random images in CIFAR-10's official binary layout (`cifar-10-batches-bin/`: five
/// training batches and a test batch, 60 images each, labels cycling 0..9): the labs read it
/// with their own `source = "cifar10"`, only `data.dir` changes.
fn cifar_stand_in(dir: &Path) {
    let folder = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&folder).unwrap();
    let mut rng = nabla::random::Rng::new(7);
    let names = (1..=5)
        .map(|i| format!("data_batch_{i}.bin"))
        .chain(["test_batch.bin".to_string()]);
    for name in names {
        let pixels: Vec<u8> = (0..60 * 32 * 32 * 3)
            .map(|_| (rng.next_u32() % 256) as u8)
            .collect();
        let labels: Vec<u8> = (0..60).map(|i| (i % 10) as u8).collect();
        let bytes = nabla::data::encode_cifar_binary(&pixels, &labels);
        std::fs::write(folder.join(name), bytes).unwrap();
    }
}

/// Points a lab file at tiny data (the built-in digits, or CIFAR-10's layout of random
/// images), 300
/// samples, one epoch per run and per stage.
fn make_tiny(file: &mut ExperimentFile, cifar: &Path) {
    let base = file.base().unwrap();
    if base.data.source.name() == "cifar10" {
        let dir = cifar.to_string_lossy().into_owned();
        file.override_setting("data.dir", Value::String(dir), "test");
    } else {
        file.override_setting("data.source", Value::String("mnist-sample".into()), "test");
    }
    file.override_setting("data.limit", Value::Integer(300), "test");
    file.override_setting("training.epochs", Value::Integer(1), "test");
    for i in 0..base.training.stages.len() {
        let key = format!("training.stages.{i}.epochs");
        file.override_setting(&key, Value::Integer(1), "test");
    }
}

/// Notebook 002's lab as one: the staged run and the fair sweep, with a page that answers
/// "which optimizer, which loss" both ways and says whether the answers agree.
#[test]
fn the_staged_and_fair_runs_of_002_are_compared_on_one_page() {
    let scratch = std::env::temp_dir().join(format!("nabla-lab-002-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let cifar = scratch.join("cifar10");
    cifar_stand_in(&cifar);
    let folder = labs_dir().join("002_d50056cc170183d7");
    let files: Vec<LabFile> = lab_files(&folder)
        .unwrap()
        .into_iter()
        .map(|path| {
            let mut file = ExperimentFile::read(&path).unwrap();
            make_tiny(&mut file, &cifar);
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            LabFile { stem, file }
        })
        .collect();
    let stems: Vec<&str> = files.iter().map(|f| f.stem.as_str()).collect();
    assert_eq!(stems, ["fair", "mlp_dropout"]);
    let quiet = FileRunOptions {
        verbosity: Verbosity::Silent,
        stream: Stream::Stderr,
        interrupt: None,
    };
    let sweep = SweepOptions {
        jobs: 2,
        threads_per_job: 1,
        stream: Stream::Stderr,
    };
    let out = scratch.join("out");
    let outcome = run_lab("002", &files, &out, quiet, sweep).unwrap();
    assert_eq!(
        outcome.sweeps[0].1.len(),
        2 * 3 * 3,
        "2 losses x 3 optimizers x 3"
    );
    let texts: Vec<&str> = outcome.findings.iter().map(|f| f.text.as_str()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].starts_with(
            "With categorical_crossentropy, the optimizers: One model trained in sequence ranks"
        ),
        "{}",
        texts[0]
    );
    for optimizer in ["adam", "sgd", "rmsprop"] {
        assert!(texts[0].contains(optimizer), "{}", texts[0]);
    }
    assert!(
        texts[1].starts_with("With adam, the losses"),
        "{}",
        texts[1]
    );
    assert!(texts[1].contains("mean_squared_error") && texts[1].contains("±"));
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(page.contains("Findings") && page.contains("mlp_dropout/"));
    assert!(out.join("mlp_dropout/report.html").is_file());
    assert!(out.join("fair/report.html").is_file());
}

#[test]
fn every_lab_parses_and_runs_on_tiny_data() {
    let scratch = std::env::temp_dir().join(format!("nabla-labs-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let cifar = scratch.join("cifar10");
    cifar_stand_in(&cifar);
    let quiet = FileRunOptions {
        verbosity: Verbosity::Silent,
        stream: Stream::Stderr,
        interrupt: None,
    };
    let mut ran = Vec::new();
    let labs = labs();
    assert!(labs.len() >= 10, "{labs:?}");
    for lab in &labs {
        let name = lab
            .strip_prefix(labs_dir())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut file = match ExperimentFile::read(lab) {
            Ok(f) => f,
            Err(e) => panic!("{name}: {e}"),
        };
        let base = file.base().unwrap_or_else(|e| panic!("{name}: {e}"));
        make_tiny(&mut file, &cifar);
        if let Err(e) = file.runs() {
            panic!("{name}: {e}");
        }
        let out = scratch.join(name.replace(['/', '.'], "_"));
        if let Some(sweep) = file.sweep.as_mut() {
            // Two grid points and two replicates are enough to keep a sweep file honest.
            sweep.replicates = 2;
            for (_, values) in sweep.axes.iter_mut() {
                values.truncate(2);
            }
            let cells: usize = 2 * sweep.axes.iter().map(|(_, v)| v.len()).product::<usize>();
            let options = SweepOptions {
                jobs: 2,
                threads_per_job: 1,
                stream: Stream::Stderr,
            };
            let sweep_dir = out.join("sweep");
            let outcome =
                run_sweep(&file, &sweep_dir, options).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(outcome.records.len(), cells, "{name}");
            // The report answers the sweep's question from its cells.
            let report = std::fs::read_to_string(sweep_dir.join("report.html")).unwrap();
            assert!(
                report.contains("Findings") && report.contains("Best by val_accuracy"),
                "{name}"
            );
            if file.sweep.as_ref().unwrap().axes.len() == 1 {
                assert!(
                    report.contains("model.l2 = 1e-6") || report.contains("model.l2 = 1e-5"),
                    "{name}"
                );
            }
        }
        let results = run_file(&file, &out, quiet).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (variant, r) in &results {
            assert!(r.test_loss().is_finite(), "{name} {variant}");
            let dir = match results.len() {
                1 => out.clone(),
                _ => out.join(variant),
            };
            every_output_is_there(&dir, r, &format!("{name} {variant}"));
            let stages = base.training.stages.len();
            if stages > 0 {
                // One epoch per stage, concatenated, each stage marked where it starts.
                assert_eq!(r.history.loss.len(), stages, "{name}");
                let starts: Vec<usize> = r.info.stages.iter().map(|s| s.start).collect();
                assert_eq!(starts, (0..stages).collect::<Vec<_>>(), "{name}");
                let report = std::fs::read_to_string(out.join("report.html")).unwrap();
                assert!(report.contains(&format!("One model trained in {stages} stages")));
                let svg = std::fs::read_to_string(out.join("curves.svg")).unwrap();
                for stage in &r.info.stages[1..] {
                    assert!(
                        svg.contains(&format!("| {}", stage.label)),
                        "{name}: {}",
                        stage.label
                    );
                }
            } else {
                let report = std::fs::read_to_string(out.join(if results.len() > 1 {
                    format!("{variant}/report.html")
                } else {
                    "report.html".to_string()
                }))
                .unwrap();
                assert!(
                    report.contains("Validation minus training loss"),
                    "{name} {variant}"
                );
                if results.len() > 1 {
                    let comparison = std::fs::read_to_string(out.join("report.html")).unwrap();
                    assert!(comparison.contains("Best by val_accuracy"), "{name}");
                    assert!(comparison.contains("no spread to judge"), "{name}");
                }
            }
        }
        ran.push(name);
    }
    eprintln!("labs run: {ran:?}");
    assert_eq!(ran.len(), labs.len(), "every lab runs");
}

/// The plot files, report sections and printed lines a lab asks for are in its run
/// directory, by file and section name.
fn every_output_is_there(dir: &Path, r: &RunRecord, what: &str) {
    let spec = &r.spec;
    let report = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for plot in &spec.output.plots {
        let (stem, caption) = match plot.name() {
            "curves" => ("curves", "Loss and accuracy per epoch"),
            "confusion" => ("confusion_matrix", "Confusion matrix"),
            "predictions" => ("predictions", "ground truth and prediction"),
            "samples" => ("samples", "training images of each class"),
            "gradients" => ("gradients_batch", "Per-layer gradient mean"),
            "loss" => ("loss", "Training and validation loss"),
            "accuracy" => ("accuracy", "Training and validation accuracy"),
            "first_images" => ("first_images", "The first 9 training images"),
            "pixel_activations" => ("pixel_activations", "ReLU and sigmoid applied to"),
            other => panic!("{what}: no check for plot {other}"),
        };
        assert!(
            dir.join(format!("{stem}.png")).is_file(),
            "{what}: {stem}.png"
        );
        assert!(
            report.contains(caption),
            "{what}: '{caption}' in the report"
        );
    }
    // The notebooks' printed lines: shapes, the softmax output sum, the final losses.
    for text in [
        "<h2>Data</h2>",
        "x_train shape: (",
        "y_test shape: (",
        "Output: 1.00",
        "Final training loss: ",
        "Final validation loss: ",
    ] {
        assert!(report.contains(text), "{what}: {text}");
    }
    let gradients: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("gradients.json")).unwrap())
            .unwrap();
    let batch = gradients["batch"]["batch_size"].as_u64().unwrap() as usize;
    match spec.output.gradients_first {
        Some(n) => assert_eq!(batch, n, "{what}: gradients on the first {n} samples"),
        None => assert_eq!(
            batch,
            r.info.data.train_samples.min(256),
            "{what}: the spread probe batch"
        ),
    }
    if let Some(name) = &spec.output.save_as {
        assert!(dir.join(name).is_file(), "{what}: {name}");
        let metrics: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap())
                .unwrap();
        assert_eq!(metrics["reloaded"]["file"], name.as_str(), "{what}");
        assert_eq!(metrics["reloaded"]["identical"], true, "{what}");
    }
}

#[test]
fn a_lab_without_its_dataset_says_so_and_how_to_run_anyway() {
    let lab = labs_dir().join("004_586704af337f9bfc/mlp_64_64_sgd.toml");
    let mut file = ExperimentFile::read(&lab).unwrap();
    let missing = std::env::temp_dir().join("nabla-no-such-mnist-dir");
    let dir = missing.to_string_lossy().into_owned();
    file.override_setting("data.dir", Value::String(dir), "--data-dir");
    file.override_setting("data.offline", Value::Boolean(true), "--offline");
    let out = std::env::temp_dir().join(format!("nabla-labs-missing-{}", std::process::id()));
    let quiet = FileRunOptions {
        verbosity: Verbosity::Silent,
        stream: Stream::Stderr,
        interrupt: None,
    };
    let err = run_file(&file, &out, quiet).unwrap_err().to_string();
    assert!(err.contains("mnist is not available here"), "{err}");
    assert!(err.contains("--data mnist-sample"), "{err}");
    assert!(!out.join("report.html").exists());
}
