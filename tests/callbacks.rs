//! Keras's callbacks (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger) and the
//! NaN guard, on real `fit` runs and on scripted epoch logs.

use nabla::nn::{LayerConfig, Loss, OptimizerConfig};
use nabla::random::NumpyRandomState;
use nabla::train::{
    BatchLogs, Callback, Control, CsvLogger, EarlyStopping, EpochLogs, FitOptions, Mode,
    ModelCheckpoint, ReduceLROnPlateau, Sequential, TensorData, Validation, Verbosity,
};
use nabla::{Error, Tensor};

/// A 6 → 8 → 3 softmax classifier on 60 random samples.
fn setup(seed: u32, optimizer: OptimizerConfig) -> (Sequential<f32>, TensorData<f32>) {
    let configs: Vec<LayerConfig> = serde_json::from_str(
        r#"[{"type": "Dense", "units": 8, "activation": "relu"},
            {"type": "Dense", "units": 3, "activation": "softmax"}]"#,
    )
    .unwrap();
    let mut model = Sequential::<f32>::from_configs(&[6], &configs, seed).unwrap();
    model
        .compile(optimizer, Loss::CategoricalCrossentropy)
        .unwrap();
    let mut rng = NumpyRandomState::new(99);
    let x: Vec<f64> = (0..60 * 6).map(|_| rng.normal(0.0, 1.0)).collect();
    let labels: Vec<u32> = (0..60).map(|i| (i % 3) as u32).collect();
    let data = TensorData::classes(Tensor::from_f64(&x, [60, 6]).unwrap(), &labels, 3).unwrap();
    (model, data)
}

fn options<'a>(epochs: usize) -> FitOptions<'a, f32> {
    FitOptions {
        epochs,
        batch_size: 16,
        verbosity: Verbosity::Silent,
        ..FitOptions::default()
    }
}

fn weights(model: &Sequential<f32>) -> Vec<Vec<u32>> {
    model
        .params()
        .iter()
        .map(|(_, p)| p.value.data().iter().map(|x| x.to_bits()).collect())
        .collect()
}

fn logs(value: f64) -> EpochLogs {
    EpochLogs {
        loss: value,
        val_loss: Some(value),
        accuracy: 0.5,
        val_accuracy: Some(0.5),
        ..EpochLogs::default()
    }
}

/// Monitoring `loss` in max mode makes the (falling) training loss look worse each epoch, so
/// the first epoch stays the best: training stops after patience runs out and the weights go
/// back to those after epoch 1, exactly those of a run of one epoch.
#[test]
fn early_stopping_restores_the_best_weights_of_a_real_run() {
    let (mut one_epoch, data) = setup(3, OptimizerConfig::adam(0.01));
    one_epoch.fit(&data, options(1)).unwrap();

    let (mut model, data) = setup(3, OptimizerConfig::adam(0.01));
    let mut stop = EarlyStopping::new("loss")
        .mode(Mode::Max)
        .patience(2)
        .restore_best_weights(true);
    let history = model
        .fit_with_callbacks(&data, options(10), &mut [&mut stop])
        .unwrap();
    assert_eq!(
        history.epochs(),
        3,
        "best epoch 0, then 2 epochs of patience"
    );
    assert!(history.loss[2] < history.loss[0]);
    assert_eq!(stop.stopped_epoch(), Some(2));
    assert_eq!(stop.best_epoch(), Some(0));
    assert_eq!(weights(&model), weights(&one_epoch));
}

/// Scripted val_loss: 1.0, 0.5 (best), 0.6, 0.55, 0.7 with patience 3 and min_delta 0.02:
/// 0.55 is not better than 0.5 by more than 0.02, so the wait reaches 3 at epoch 4.
#[test]
fn early_stopping_counts_patience_with_min_delta_and_restores_the_best_epoch() {
    let (mut model, _) = setup(0, OptimizerConfig::adam(0.01));
    let mut stop = EarlyStopping::new("val_loss")
        .patience(3)
        .min_delta(0.02)
        .restore_best_weights(true);
    stop.on_train_begin(&mut model).unwrap();
    let kernel = model.params().find("dense/kernel").unwrap();
    for (epoch, value) in [1.0, 0.5, 0.6, 0.55, 0.7].into_iter().enumerate() {
        // Mark the weights with the epoch number to see which epoch's come back.
        model
            .params_mut()
            .value_mut(kernel)
            .data_mut()
            .fill(epoch as f32);
        let control = stop.on_epoch_end(&mut model, epoch, &logs(value)).unwrap();
        assert_eq!(control == Control::Stop, epoch == 4, "epoch {epoch}");
    }
    assert_eq!(stop.best_epoch(), Some(1));
    assert!(model
        .params()
        .value(kernel)
        .data()
        .iter()
        .all(|&w| w == 1.0));
}

#[test]
fn early_stopping_without_its_metric_is_an_error_naming_it() {
    let (mut model, data) = setup(0, OptimizerConfig::adam(0.01));
    let mut stop = EarlyStopping::new("val_loss");
    let err = model
        .fit_with_callbacks(&data, options(2), &mut [&mut stop])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'val_loss'") && err.contains("available: loss, accuracy"),
        "{err}"
    );
}

#[test]
fn model_checkpoint_saves_every_epoch_or_only_the_best() {
    let dir = tempfile::tempdir().unwrap();
    let (mut one_epoch, data) = setup(4, OptimizerConfig::sgd(0.1, 0.0));
    one_epoch.fit(&data, options(1)).unwrap();

    let (mut model, data) = setup(4, OptimizerConfig::sgd(0.1, 0.0));
    let mut every = ModelCheckpoint::new(dir.path().join("e{epoch:02d}.safetensors"));
    let mut best = ModelCheckpoint::new(dir.path().join("best.safetensors"))
        .monitor("loss")
        .mode(Mode::Max)
        .save_best_only(true);
    model
        .fit_with_callbacks(&data, options(3), &mut [&mut every, &mut best])
        .unwrap();
    let names: Vec<_> = every
        .saved()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["e01.safetensors", "e02.safetensors", "e03.safetensors"]
    );
    // Loss falls, so in max mode only epoch 1 was "best".
    assert_eq!(best.saved().len(), 1);
    let first = Sequential::<f32>::load(dir.path().join("best.safetensors")).unwrap();
    assert_eq!(weights(&first), weights(&one_epoch));
    let last = Sequential::<f32>::load(dir.path().join("e03.safetensors")).unwrap();
    assert_eq!(weights(&last), weights(&model));
}

/// Scripted losses that never improve: patience 2, cooldown 1, factor 0.5, floor 0.3.
#[test]
fn reduce_lr_on_plateau_waits_cools_down_and_stops_at_min_lr() {
    let (mut model, _) = setup(0, OptimizerConfig::sgd(1.0, 0.0));
    let mut plateau = ReduceLROnPlateau::new("val_loss")
        .factor(0.5)
        .patience(2)
        .cooldown(1)
        .min_lr(0.3);
    Callback::<f32>::on_train_begin(&mut plateau, &mut model).unwrap();
    let mut rates = Vec::new();
    for epoch in 0..9 {
        plateau.on_epoch_end(&mut model, epoch, &logs(1.0)).unwrap();
        rates.push(model.optimizer().unwrap().learning_rate());
    }
    // epoch 0 sets the best; 1, 2 wait → reduce at 2; 3 cools down; 4, 5 wait → reduce at 5
    // (0.25 floored to 0.3); later epochs stay at the floor.
    assert_eq!(rates, [1.0, 1.0, 0.5, 0.5, 0.5, 0.3, 0.3, 0.3, 0.3]);

    let mut bad = ReduceLROnPlateau::new("loss").factor(1.5);
    assert!(Callback::<f32>::on_train_begin(&mut bad, &mut model).is_err());
}

#[test]
fn reduce_lr_on_plateau_shows_in_the_history_of_a_real_run() {
    let (mut model, data) = setup(5, OptimizerConfig::adam(0.01));
    let mut plateau = ReduceLROnPlateau::new("loss")
        .mode(Mode::Max)
        .patience(1)
        .factor(0.5);
    let history = model
        .fit_with_callbacks(&data, options(3), &mut [&mut plateau])
        .unwrap();
    // The history records the rate each epoch trained with.
    assert_eq!(history.learning_rate, [0.01, 0.01, 0.005]);
}

#[test]
fn csv_logger_writes_one_row_per_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let (mut model, data) = setup(6, OptimizerConfig::adam(0.01));
    let mut logger = CsvLogger::new(&path);
    let history = model
        .fit_with_callbacks(
            &data,
            FitOptions {
                validation: Validation::Split(0.25),
                ..options(2)
            },
            &mut [&mut logger],
        )
        .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,loss,accuracy,val_loss,val_accuracy,epoch_seconds,learning_rate"
    );
    assert_eq!(lines.len(), 3);
    let row: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(row[0], "1");
    assert_eq!(row[1].parse::<f64>().unwrap(), history.loss[1]);
    assert_eq!(row[3].parse::<f64>().unwrap(), history.val_loss[1]);
}

/// A huge learning rate blows the weights up within a few batches; `fit` must stop with
/// `NonFinite` naming the epoch and batch, not carry on with NaN weights.
#[test]
fn nan_guard_stops_training_naming_epoch_and_batch() {
    let (mut model, data) = setup(7, OptimizerConfig::sgd(1e30, 0.0));
    let err = model.fit(&data, options(3)).unwrap_err();
    let text = err.to_string();
    let Error::NonFinite {
        epoch,
        batch,
        value,
    } = err
    else {
        panic!("expected NonFinite, got {text}");
    };
    assert_eq!(epoch, 1);
    assert!(batch >= 2, "the first batch's loss is finite");
    assert!(!value.is_finite());
    assert!(
        text.contains(&format!("at epoch 1, batch {batch}")),
        "{text}"
    );
}

/// Records what `fit` tells a callback after each batch.
#[derive(Default)]
struct BatchRecorder {
    batches: Vec<(usize, BatchLogs)>,
    epochs: Vec<EpochLogs>,
}

impl Callback<f32> for BatchRecorder {
    fn on_batch_end(
        &mut self,
        _model: &mut Sequential<f32>,
        epoch: usize,
        _batch: usize,
        logs: &BatchLogs,
    ) -> nabla::Result<Control> {
        self.batches.push((epoch, *logs));
        Ok(Control::Continue)
    }

    fn on_epoch_end(
        &mut self,
        _model: &mut Sequential<f32>,
        _epoch: usize,
        logs: &EpochLogs,
    ) -> nabla::Result<Control> {
        self.epochs.push(*logs);
        Ok(Control::Continue)
    }
}

/// Each batch's logs carry the epoch's running means (60 samples in batches of 16, 16, 16,
/// 12: the mean loss weights each batch by its size), and the last batch's running loss and
/// accuracy are the epoch's, as Keras's progress bar ends on the numbers the history keeps.
#[test]
fn batch_logs_carry_the_running_loss_and_accuracy() {
    let (mut model, data) = setup(3, OptimizerConfig::adam(0.01));
    let mut recorder = BatchRecorder::default();
    model
        .fit_with_callbacks(&data, options(2), &mut [&mut recorder])
        .unwrap();
    assert_eq!(recorder.batches.len(), 8);
    for (epoch, logs) in recorder.epochs.iter().enumerate() {
        let batches: Vec<&BatchLogs> = recorder
            .batches
            .iter()
            .filter(|(e, _)| *e == epoch)
            .map(|(_, l)| l)
            .collect();
        let sizes = [16.0, 16.0, 16.0, 12.0];
        let mut sum = 0.0;
        for (i, b) in batches.iter().enumerate() {
            sum += b.batch_loss * sizes[i];
            let seen: f64 = sizes[..=i].iter().sum();
            assert_eq!(b.seen, seen as usize);
            assert!((b.loss - sum / seen).abs() < 1e-12, "{b:?}");
            assert!((0.0..=1.0).contains(&b.accuracy));
        }
        let last = batches.last().unwrap();
        assert!((last.loss - logs.loss).abs() < 1e-12);
        assert!((last.accuracy - logs.accuracy).abs() < 1e-12);
    }
}
