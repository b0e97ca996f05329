//! `nabla train`'s run directory and diagnostics: the flags that ask for them, and the glue
//! from a training run (data splits, model, history) to the files `nabla::report::run` writes
//! and renders. Kept out of `train.rs`, which only calls [`Recorder`] at three points.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use nabla::data::{Dataset, Features};
use nabla::report::run::{
    image_layout, to_pixels, GradientsFile, ImageSet, RunDir, RunMetrics, GRID, PREDICTIONS,
    SAMPLES, SAMPLES_PER_CLASS,
};
use nabla::report::{metrics::predicted_classes, run};
use nabla::train::{
    batch_gradients, BatchSource, Callback, Evaluation, GradientMonitor, History, Sequential,
    Stream,
};
use nabla::{Result, Shape, Tensor};
use serde_json::json;

use super::train::TrainArgs;

#[derive(Args, Clone, Debug)]
pub struct RunArgs {
    /// Directory for the run's files: config.json, history.csv, metrics.json, plots (PNG +
    /// SVG) and report.html [default: runs/<model>-<data>-<YYYYmmdd-HHMMSS> (UTC)].
    #[arg(long, conflicts_with = "no_out")]
    pub out: Option<PathBuf>,
    /// Write no run directory (metrics are still printed).
    #[arg(long)]
    pub no_out: bool,
    /// Record per-epoch gradient mean/std/norm and dead ReLUs (gradients.json, plots) and
    /// warn when a layer's gradients vanish or explode.
    #[arg(long)]
    pub diagnostics: bool,
}

/// Samples in the fixed batch on which dead ReLUs are counted after each epoch.
const PROBE_SAMPLES: usize = 256;

/// What a finished run reports: the test metrics and where its files went.
pub struct Finished {
    pub metrics: RunMetrics,
    pub out: Option<PathBuf>,
}

impl Finished {
    /// `nabla train --json`'s `metrics`: the same content as metrics.json.
    pub fn metrics_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.metrics).expect("metrics are plain data")
    }

    /// `nabla train --json`'s `out`: the run directory, or null with `--no-out`.
    pub fn out_json(&self) -> serde_json::Value {
        json!(self.out.as_ref().map(|p| p.display().to_string()))
    }
}

/// Follows one `nabla train` run: creates its directory before training, records gradients
/// during it when asked, and writes the results and report after it.
pub struct Recorder {
    dir: Option<RunDir>,
    monitor: Option<GradientMonitor<f32>>,
    batch_size: usize,
    stream: Stream,
}

impl Recorder {
    /// Creates the run directory (unless `--no-out`) and writes what is known before
    /// training — `config.json`, `summary.txt`, `samples.json` — so even an interrupted run
    /// says what it was.
    pub fn start(
        args: &TrainArgs,
        model: &Sequential<f32>,
        train: &Dataset,
        validation: Option<&Dataset>,
        test: &Dataset,
        stream: Stream,
    ) -> Result<Self> {
        let monitor = args.run.diagnostics.then(|| {
            let (probe, _) = spread_rows(train, PROBE_SAMPLES);
            GradientMonitor::new().probe(probe)
        });
        let dir = if args.run.no_out {
            None
        } else {
            let dir = match &args.run.out {
                Some(path) => RunDir::create(path)?,
                None => RunDir::create_new(
                    Path::new("runs"),
                    &format!(
                        "{}-{}-{}",
                        value_name(&args.model.model),
                        value_name(&args.data.data),
                        utc_stamp(SystemTime::now())
                    ),
                )?,
            };
            dir.write_json(run::CONFIG, &config(model, train, validation, test))?;
            dir.write_text(run::SUMMARY, &model.summary())?;
            if let Some(samples) = sample_images(train) {
                dir.write_json_compact(SAMPLES, &samples)?;
            }
            Some(dir)
        };
        Ok(Recorder {
            dir,
            monitor,
            batch_size: args.batch_size,
            stream,
        })
    }

    /// The callbacks to pass to `fit` (the gradient monitor with `--diagnostics`).
    pub fn callbacks(&mut self) -> Vec<&mut dyn Callback<f32>> {
        let mut callbacks: Vec<&mut dyn Callback<f32>> = Vec::new();
        if let Some(m) = self.monitor.as_mut() {
            callbacks.push(m);
        }
        callbacks
    }

    /// Prints the classification report and confusion matrix, then writes history, metrics,
    /// gradients and predictions, the plots and `report.html`.
    pub fn finish(
        self,
        model: &mut Sequential<f32>,
        history: &History,
        train: &Dataset,
        test: &Dataset,
        evaluation: Evaluation,
    ) -> Result<Finished> {
        let scores = model.predict(test)?;
        let y_true: Vec<usize> = test.labels.iter().map(|&l| l as usize).collect();
        let metrics = RunMetrics::new(
            &y_true,
            scores.data(),
            &test.class_names,
            evaluation.loss,
            evaluation.accuracy,
        )?;
        let say = |text: &str| match self.stream {
            Stream::Stdout => print!("{text}"),
            Stream::Stderr => eprint!("{text}"),
        };
        say(&metrics.text()?);

        let Some(dir) = self.dir else {
            return Ok(Finished { metrics, out: None });
        };
        dir.write_text(run::HISTORY, &history.to_csv())?;
        dir.write_json(run::METRICS, &metrics)?;
        let (x, y) = spread_rows(train, self.batch_size);
        let gradients = GradientsFile {
            batch: Some(batch_gradients(model, x, y)?),
            training: self.monitor.map(GradientMonitor::into_record),
        };
        dir.write_json(run::GRADIENTS, &gradients)?;
        let predicted = predicted_classes(scores.data(), test.num_classes)?;
        if let Some(predictions) = prediction_images(test, &predicted) {
            dir.write_json_compact(PREDICTIONS, &predictions)?;
        }
        let rendered = run::render(dir.path())?;
        say(&format!(
            "\nRun saved to {} (open {})\n",
            dir.path().display(),
            rendered.report.display()
        ));
        Ok(Finished {
            metrics,
            out: Some(dir.path().to_path_buf()),
        })
    }
}

/// `config.json`: every flag as given or defaulted, and what they resolved to.
fn config(
    model: &Sequential<f32>,
    train: &Dataset,
    validation: Option<&Dataset>,
    test: &Dataset,
) -> serde_json::Value {
    let (trainable, frozen) = model.count_params();
    json!({
        "nabla_version": env!("CARGO_PKG_VERSION"),
        "started_utc": utc_stamp(SystemTime::now()),
        "argv": std::env::args().collect::<Vec<_>>(),
        "flags": super::resolved_flags(),
        "model": {
            "input_shape": model.input_shape(),
            "layers": model.configs(),
            "params": trainable + frozen,
            "trainable_params": trainable,
            "non_trainable_params": frozen,
            "optimizer": model.optimizer().map(|o| o.config()),
            "loss": model.loss(),
            "seed": model.seed(),
        },
        "data": {
            "sample_shape": train.sample_shape,
            "num_classes": train.num_classes,
            "class_names": train.class_names,
            "train_samples": train.len(),
            "validation_samples": validation.map(Dataset::len),
            "test_samples": test.len(),
        },
    })
}

/// The name clap shows for an enum value (`mnist-sample`, `mlp`).
fn value_name<E: ValueEnum>(value: &E) -> String {
    value
        .to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

/// `n` rows spread evenly over `data` (all if fewer) as an input batch and one-hot targets.
/// Spread, not the first `n`: a dataset sorted by class (the built-in sample is) would
/// otherwise give a batch of one class.
fn spread_rows(data: &Dataset, n: usize) -> (Tensor<f32>, Tensor<f32>) {
    let n = n.min(data.len());
    let indices: Vec<usize> = (0..n).map(|i| i * data.len() / n).collect();
    let mut x = vec![0.0f32; n * data.sample_len()];
    let mut y = vec![0.0f32; n * data.num_classes];
    BatchSource::<f32>::fill(data, &indices, &mut x, &mut y);
    (
        Tensor::from_vec(x, Shape::batched(n, &data.sample_shape)).expect("sizes match"),
        Tensor::from_vec(y, [n, data.num_classes]).expect("sizes match"),
    )
}

/// Sample `i` as pixels: stored bytes as they are, real values stretched to 0..=255.
fn pixels(data: &Dataset, i: usize) -> Vec<u8> {
    let n = data.sample_len();
    match &data.features {
        Features::U8(v) => v[i * n..(i + 1) * n].to_vec(),
        Features::F32(v) => to_pixels(v[i * n..(i + 1) * n].iter().copied()),
    }
}

/// An image set of `indices`, if the samples can be drawn as images at all.
fn image_set(data: &Dataset, indices: &[usize]) -> Option<ImageSet> {
    let (height, width, channels) = image_layout(&data.sample_shape)?;
    Some(ImageSet {
        height,
        width,
        channels,
        class_names: data.class_names.clone(),
        labels: indices.iter().map(|&i| data.labels[i] as usize).collect(),
        predictions: None,
        pixels: indices.iter().map(|&i| pixels(data, i)).collect(),
    })
}

/// The first `SAMPLES_PER_CLASS` training images of each class.
fn sample_images(train: &Dataset) -> Option<ImageSet> {
    let mut taken = vec![0usize; train.num_classes];
    let mut indices = Vec::new();
    for (i, &label) in train.labels.iter().enumerate() {
        let count = &mut taken[label as usize];
        if *count < SAMPLES_PER_CLASS {
            *count += 1;
            indices.push(i);
        }
    }
    image_set(train, &indices)
}

/// The first test images of the prediction grid, with the model's predictions.
fn prediction_images(test: &Dataset, predicted: &[usize]) -> Option<ImageSet> {
    let n = (GRID.0 * GRID.1).min(test.len());
    let indices: Vec<usize> = (0..n).collect();
    let mut set = image_set(test, &indices)?;
    set.predictions = Some(predicted[..n].to_vec());
    Some(set)
}

/// `YYYYmmdd-HHMMSS` in UTC (no time-zone database needed; the same on every machine).
fn utc_stamp(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
        // 2024-02-29 13:45:07 UTC, a leap day.
        let t = UNIX_EPOCH + Duration::from_secs(1_709_214_307);
        assert_eq!(utc_stamp(t), "20240229-134507");
    }
}
