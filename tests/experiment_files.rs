//! Experiment files: errors name the key and line; every layer type can be written in a file
//! and builds the same model as the library API; variants and sweeps run end to end; a sweep
//! resumes after losing cells.

use nabla::experiment::{run_file, run_sweep, ExperimentFile, FileRunOptions, SweepOptions};
use nabla::nn::layers::{ActivationLayer, Dense, Flatten};
use nabla::nn::LayerConfig;
use nabla::ops::Activation;
use nabla::train::{Sequential, Stream, Verbosity};
use std::path::{Path, PathBuf};

fn parse(text: &str) -> nabla::Result<ExperimentFile> {
    ExperimentFile::parse(Path::new("lab.toml"), text)
}

/// The error of resolving `text`'s base config (or of parsing it).
fn error_of(text: &str) -> String {
    match parse(text) {
        Err(e) => e.to_string(),
        Ok(file) => match file.runs() {
            Err(e) => e.to_string(),
            Ok(_) => panic!("no error for:\n{text}"),
        },
    }
}

fn quiet() -> FileRunOptions<'static> {
    FileRunOptions {
        verbosity: Verbosity::Silent,
        stream: Stream::Stderr,
        interrupt: None,
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nabla-exp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

const MLP: &str = r#"
[data]
source = "mnist-sample"
limit = 200

[model]
layers = [
  { type = "Flatten" },
  { type = "Dense", units = 16, activation = "relu" },
  { type = "Dense", units = 10, activation = "softmax" },
]

[training]
epochs = 1
batch_size = 32
"#;

#[test]
fn errors_name_the_key_and_the_line() {
    let cases: &[(&str, &str)] = &[
        // An unknown top-level key.
        ("name = \"x\"\ntrainig = { epochs = 1 }\n[model]\nlayers = []\n", "lab.toml:2: trainig: unknown field `trainig`"),
        // An unknown key in a section.
        ("[model]\nlayers = [{ type = \"Flatten\" }]\n[training]\nepochs = 1\nepochz = 2\n", "lab.toml:5: training.epochz: unknown field `epochz`"),
        // A bad value type.
        ("[model]\nlayers = [{ type = \"Flatten\" }]\n[training]\nepochs = \"ten\"\n", "lab.toml:4: training.epochs: invalid type: string \"ten\""),
        // A value out of range.
        ("[model]\nlayers = [{ type = \"Flatten\" }]\n[training]\nepochs = 0\n", "lab.toml:4: training.epochs: must be at least 1"),
        // An unknown layer type.
        ("[model]\nlayers = [\n  { type = \"Flatten\" },\n  { type = \"Conv3D\", filters = 2 },\n]\n", "lab.toml:4: model.layers[1].type: unknown variant `Conv3D`"),
        // An unknown option of a layer.
        ("[model]\nlayers = [\n  { type = \"Flatten\" },\n  { type = \"Dense\", unitz = 2 },\n]\n", "lab.toml:4: model.layers[1].unitz: unknown field `unitz`"),
        // A layer that cannot follow the one before (Dense on images needs Flatten first).
        ("[model]\nlayers = [\n  { type = \"Dense\", units = 2 },\n]\n", "lab.toml:3: model.layers[0]:"),
        // An unknown optimizer and loss.
        ("[model]\nlayers = [{ type = \"Flatten\" }]\n[training]\noptimizer = { type = \"adamw\" }\n", "lab.toml:4: training.optimizer.type: unknown variant `adamw`"),
        ("[model]\nlayers = [{ type = \"Flatten\" }]\n[training]\nloss = \"hinge\"\n", "lab.toml:4: training.loss: unknown variant `hinge`"),
        ("[model]\nlayers = [{ type = \"Flatten\" }]\n[training]\noptimizer = { type = \"sgd\", learning_rate = -1 }\n", "lab.toml:4: training.optimizer: sgd: learning_rate = -1 is out of range"),
        // Data settings.
        ("[data]\nsource = \"mnist-smaple\"\n[model]\nlayers = [{ type = \"Flatten\" }]\n", "lab.toml:2: data.source: unknown variant `mnist-smaple`"),
        ("[data]\nvalidation_split = 1.5\n[model]\nlayers = [{ type = \"Flatten\" }]\n", "lab.toml:2: data.validation_split:"),
        // Output.
        ("[model]\nlayers = [{ type = \"Flatten\" }]\n[output]\nplots = [\"curves\", \"histogram\"]\n", "lab.toml:4: output.plots[1]: unknown variant `histogram`"),
        // TOML syntax.
        ("[model]\nlayers = [\n", "lab.toml:"),
    ];
    for (text, expected) in cases {
        let err = error_of(text);
        assert!(
            err.starts_with(expected),
            "expected `{expected}...`, got `{err}`"
        );
    }
}

#[test]
fn variant_and_sweep_errors_point_at_their_own_lines() {
    let text = format!("{MLP}\n[[variants]]\nname = \"a\"\n\n[[variants]]\nname = \"b\"\ntraining.optimizer = {{ type = \"sgd\", beta_1 = 0.9 }}\n");
    let line = text.lines().position(|l| l.contains("beta_1")).unwrap() + 1;
    let err = error_of(&text);
    assert!(
        err.starts_with(&format!(
            "lab.toml:{line}: training.optimizer.beta_1: unknown field"
        )),
        "{err}"
    );
    assert!(err.contains("in variant 'b'"), "{err}");

    let text =
        format!("{MLP}\n[sweep]\nreplicates = 2\ngrid = {{ \"training.batch_size\" = [8, 0] }}\n");
    let line = text.lines().position(|l| l.contains("grid")).unwrap() + 1;
    let err = parse(&text)
        .unwrap()
        .cells()
        .iter()
        .map(|c| parse(&text).unwrap().cell(c))
        .find_map(|r| r.err())
        .unwrap()
        .to_string();
    assert!(
        err.starts_with(&format!("lab.toml:{line}: training.batch_size:")),
        "{err}"
    );
    let err = error_of(&format!(
        "{MLP}\n[sweep]\nreplicatez = 2\ngrid = {{ \"model.l2\" = [1e-3] }}\n"
    ));
    assert!(err.contains("sweep.replicatez: unknown field"), "{err}");
    let err = error_of(&format!(
        "{MLP}\n[sweep]\ngrid = {{ \"model.l2\" = 1e-3 }}\n"
    ));
    assert!(
        err.contains("sweep.grid.model.l2: must be a non-empty list"),
        "{err}"
    );
}

/// An example of every layer type in a file, by Keras class name. A new layer type fails
/// `every_layer_type_is_expressible_in_a_file` until it has an example here.
fn layer_example(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Dense" => r#"{ type = "Dense", units = 7, activation = "tanh", use_bias = false }"#,
        "Flatten" => r#"{ type = "Flatten" }"#,
        "Activation" => r#"{ type = "Activation", activation = "sigmoid" }"#,
        "Conv2D" => {
            r#"{ type = "Conv2D", filters = 4, kernel_size = 3, padding = "same", activation = "relu" }"#
        }
        "MaxPooling2D" => r#"{ type = "MaxPooling2D", pool_size = 2 }"#,
        "MaxPool2D" => r#"{ type = "MaxPool2D", pool_size = [2, 2], strides = 1 }"#,
        "AveragePooling2D" => r#"{ type = "AveragePooling2D", pool_size = 2 }"#,
        "AvgPool2D" => r#"{ type = "AvgPool2D", pool_size = 3, padding = "same" }"#,
        "GlobalAveragePooling2D" => r#"{ type = "GlobalAveragePooling2D" }"#,
        "BatchNormalization" => r#"{ type = "BatchNormalization", momentum = 0.9 }"#,
        "Dropout" => r#"{ type = "Dropout", rate = 0.25 }"#,
        _ => return None,
    })
}

/// The layer types nabla has, as serde lists them when given an unknown one.
fn layer_kinds() -> Vec<String> {
    let err = serde_json::from_str::<LayerConfig>(r#"{"type": "NoSuchLayer"}"#)
        .unwrap_err()
        .to_string();
    let expected = err
        .split("expected one of")
        .nth(1)
        .expect("serde lists the variants");
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn same_model(a: &Sequential<f32>, b: &Sequential<f32>) -> bool {
    a.summary() == b.summary()
        && a.params()
            .iter()
            .zip(b.params().iter())
            .all(|((_, p), (_, q))| p.name == q.name && p.value.data() == q.value.data())
}

#[test]
fn every_layer_type_is_expressible_in_a_file() {
    let kinds = layer_kinds();
    assert!(kinds.contains(&"Dense".to_string()), "{kinds:?}");
    for kind in &kinds {
        let example = layer_example(kind)
            .unwrap_or_else(|| panic!("no experiment-file example for layer type {kind}"));
        // Images in, so convolutions and pooling fit; flattened before the classifier.
        // Dense takes flat inputs: flatten first.
        let example = if kind == "Dense" {
            format!("{{ type = \"Flatten\" }},\n  {example}")
        } else {
            example.to_string()
        };
        let text = format!(
            "[model]\ninput_shape = [8, 8, 2]\nlayers = [\n  {example},\n  {{ type = \"Flatten\" }},\n  {{ type = \"Dense\", units = 3, activation = \"softmax\" }},\n]\n[training]\nseed = 5\n"
        );
        let experiment = parse(&text)
            .unwrap()
            .base()
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        // Keras's short aliases name the same layer types.
        let canonical = match kind.as_str() {
            "MaxPool2D" => "MaxPooling2D",
            "AvgPool2D" => "AveragePooling2D",
            other => other,
        };
        assert!(experiment
            .model
            .layers
            .iter()
            .any(|l| l.kind() == canonical));
        // The file's model is the library's model from the same layer configs.
        let layers = experiment.model.layer_configs().unwrap();
        let from_file = Sequential::<f32>::from_configs(&[8, 8, 2], &layers, 5).unwrap();
        let mut by_api = Sequential::<f32>::with_seed(&[8, 8, 2], 5);
        for layer in &experiment.model.layers {
            by_api.add(layer.clone()).unwrap();
        }
        assert!(same_model(&from_file, &by_api), "{kind}");
        // The resolved config written to a run directory reads back as the same experiment.
        let written = toml::to_string(&experiment).unwrap();
        let again = parse(&written).unwrap().base().unwrap();
        assert_eq!(again, experiment, "{kind}:\n{written}");
    }
}

#[test]
fn a_file_builds_the_model_the_builder_api_builds() {
    let text = r#"
[model]
l2 = 1e-4
layers = [
  { type = "Flatten" },
  { type = "Dense", units = 32, activation = "relu" },
  { type = "Activation", activation = "tanh" },
  { type = "Dense", units = 10, activation = "softmax" },
]
[training]
seed = 3
"#;
    let experiment = parse(text).unwrap().base().unwrap();
    let layers = experiment.model.layer_configs().unwrap();
    let from_file = Sequential::<f32>::from_configs(&[28, 28, 1], &layers, 3).unwrap();
    let mut api = Sequential::<f32>::with_seed(&[28, 28, 1], 3);
    api.add(Flatten::new()).unwrap();
    api.add(Dense::new(32).activation(Activation::Relu).l2(1e-4))
        .unwrap();
    api.add(ActivationLayer::new(Activation::Tanh)).unwrap();
    api.add(Dense::new(10).activation(Activation::Softmax).l2(1e-4))
        .unwrap();
    assert!(same_model(&from_file, &api));
    assert_eq!(layers, api.configs());
}

#[test]
fn variants_run_end_to_end_with_a_comparison() {
    let out = scratch("variants");
    let text = format!(
        "{MLP}\n[output]\nplots = [\"curves\"]\n\n[[variants]]\nname = \"adam\"\n\n[[variants]]\nname = \"sgd\"\ntraining.optimizer = {{ type = \"sgd\", learning_rate = 0.1 }}\n\n[[variants]]\nname = \"mse\"\ntraining.loss = \"mse\"\n"
    );
    let file = parse(&text).unwrap();
    let results = run_file(&file, &out, quiet()).unwrap();
    let names: Vec<&str> = results.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["adam", "sgd", "mse"]);
    for (name, result) in &results {
        assert_eq!(result.history.epochs(), 1);
        assert!(
            result.test_loss().is_finite(),
            "{name}: {}",
            result.test_loss()
        );
        for f in [
            "experiment.toml",
            "history.csv",
            "metrics.json",
            "curves.png",
            "report.html",
        ] {
            assert!(out.join(name).join(f).is_file(), "{name}/{f}");
        }
    }
    let sgd = std::fs::read_to_string(out.join("sgd/experiment.toml")).unwrap();
    assert!(
        sgd.contains("type = \"sgd\"") && !sgd.contains("beta_1"),
        "{sgd}"
    );
    let mse = std::fs::read_to_string(out.join("mse/experiment.toml")).unwrap();
    assert!(mse.contains("loss = \"mean_squared_error\""), "{mse}");
    let csv = std::fs::read_to_string(out.join("comparison.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    for f in ["val_accuracy.png", "val_loss.png", "report.html"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Comparison") && html.contains("Variant sgd"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn a_sweep_runs_resumes_and_summarises() {
    let out = scratch("sweep");
    let text = format!(
        "{MLP}\n[sweep]\nreplicates = 2\ngrid = {{ \"training.optimizer.learning_rate\" = [1e-4, 1e-2] }}\n"
    );
    let file = parse(&text).unwrap();
    let options = SweepOptions {
        jobs: 2,
        threads_per_job: 1,
        stream: Stream::Stderr,
    };
    let first = run_sweep(&file, &out, options).unwrap();
    assert_eq!(first.computed.len(), 4);
    assert!(first.reused.is_empty());
    assert_eq!(first.summary.len(), 2);
    assert!(first.summary.iter().all(|s| s.n == 2));
    let seeds: Vec<u32> = first.records.iter().map(|r| r.seed).collect();
    assert_eq!(seeds, [0, 1, 0, 1]);
    for f in [
        "summary.csv",
        "summary.json",
        "sweep.png",
        "sweep.svg",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(
        csv.starts_with("training.optimizer.learning_rate,n,val_accuracy_mean"),
        "{csv}"
    );

    // Everything done: nothing runs again.
    let again = run_sweep(&file, &out, options).unwrap();
    assert!(again.computed.is_empty());
    assert_eq!(again.reused.len(), 4);

    // A lost cell and a cell cut off mid-write (as a kill without atomic writes would leave)
    // are recomputed, and only they; the same seed gives the same numbers.
    std::fs::remove_file(out.join("cells/p001-r0.json")).unwrap();
    std::fs::write(out.join("cells/p000-r1.json"), "{\"id\": \"p0").unwrap();
    let resumed = run_sweep(&file, &out, options).unwrap();
    assert_eq!(resumed.computed, ["p000-r1", "p001-r0"]);
    assert_eq!(resumed.reused.len(), 2);
    for (a, b) in first.records.iter().zip(&resumed.records) {
        assert_eq!(
            a.result.history,
            b.result.history.clone().with_seconds_of(&a.result.history)
        );
    }

    // A changed setting makes old results stale: they are recomputed, not reused.
    let changed = parse(&text.replace("epochs = 1", "epochs = 2")).unwrap();
    let rerun = run_sweep(&changed, &out, SweepOptions { jobs: 1, ..options }).unwrap();
    assert_eq!(rerun.computed.len(), 4);
    std::fs::remove_dir_all(&out).unwrap();
}

/// Same numbers, except wall-clock seconds.
trait WithSeconds {
    fn with_seconds_of(self, other: &nabla::train::History) -> nabla::train::History;
}

impl WithSeconds for nabla::train::History {
    fn with_seconds_of(mut self, other: &nabla::train::History) -> nabla::train::History {
        self.epoch_seconds = other.epoch_seconds.clone();
        self
    }
}

#[test]
fn nabla_run_and_sweep_from_the_command_line() {
    let dir = scratch("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let nabla = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_nabla"))
            .args(args)
            .output()
            .unwrap()
    };
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("labs/004_586704af337f9bfc/l2_sweep.toml");
    let lab = lab.to_str().unwrap();
    let out = dir.join("run");
    let run = nabla(&[
        "run",
        lab,
        "--data",
        "mnist-sample",
        "--limit",
        "200",
        "--epochs",
        "1",
        "--seed",
        "3",
        "--threads",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let resolved = std::fs::read_to_string(out.join("experiment.toml")).unwrap();
    assert!(resolved.contains("seed = 3") && resolved.contains("source = \"mnist-sample\""));
    assert!(out.join("report.html").is_file());

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[model]\nlayers = [{ type = \"Flatten\" }]\n[training]\nepochs = -1\n",
    )
    .unwrap();
    let failed = nabla(&["run", bad.to_str().unwrap()]);
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(stderr.contains("bad.toml:4: training.epochs:"), "{stderr}");
    let no_sweep = nabla(&["sweep", bad.to_str().unwrap()]);
    assert!(!no_sweep.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn l2_layers_and_stages_are_checked_where_they_are_written() {
    let text = "\
[model]
l2 = 1e-4
l2_layers = [\"dense\", \"dense_9\"]
layers = [{ type = \"Flatten\" }, { type = \"Dense\", units = 8 }, { type = \"Dense\", units = 10 }]
";
    let file = nabla::experiment::ExperimentFile::parse("lab.toml".as_ref(), text).unwrap();
    let err = file.base().unwrap_err().to_string();
    assert!(
        err.starts_with("lab.toml:3: model.l2_layers: no layer is named 'dense_9'"),
        "{err}"
    );

    let staged = "\
[model]
layers = [{ type = \"Flatten\" }, { type = \"Dense\", units = 10, activation = \"softmax\" }]
[[training.stages]]
optimizer = \"sgd\"
loss = \"mse\"
epochs = 2
[[training.stages]]
compile = false
epochs = 3
[[training.stages]]
compile = false
optimizer = \"adam\"
epochs = 1
";
    let file = nabla::experiment::ExperimentFile::parse("lab.toml".as_ref(), staged).unwrap();
    let err = file.base().unwrap_err().to_string();
    assert!(
        err.starts_with("lab.toml:11: training.stages[2].compile:"),
        "{err}"
    );
    let fixed = staged.replace("optimizer = \"adam\"\n", "");
    let file = nabla::experiment::ExperimentFile::parse("lab.toml".as_ref(), &fixed).unwrap();
    let stages = file.base().unwrap().training.resolved_stages().unwrap();
    assert_eq!(stages.len(), 3);
    let (optimizer, loss) = stages[0].compile.clone().unwrap();
    assert_eq!(optimizer, nabla::nn::OptimizerConfig::sgd(0.01, 0.0));
    assert_eq!(loss, nabla::nn::Loss::MeanSquaredError);
    assert!(stages[1].compile.is_none() && stages[2].compile.is_none());
}
