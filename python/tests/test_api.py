"""nabla.keras's model API: the Keras behaviour the notebooks rely on, and clear errors
for what nabla does not do."""

import csv
import json
import signal
import threading

import numpy as np
import pytest

import nabla
from nabla import keras
from nabla.keras import callbacks, layers, losses, models, optimizers


@pytest.fixture(scope="module")
def digits():
    (x_train, y_train), (x_test, y_test) = nabla._nabla.mnist_sample()
    return (x_train[:1000].reshape(-1, 28, 28), y_train[:1000]), (x_test[:300].reshape(-1, 28, 28), y_test[:300])


def mlp(seed=0, metrics=("accuracy",), loss="categorical_crossentropy"):
    nabla.random.set_seed(seed)
    model = models.Sequential([layers.Flatten(input_shape=(28, 28)),
                               layers.Dense(32, activation="relu"),
                               layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss=loss, metrics=list(metrics) or None)
    return model


def scaled(x):
    return x.astype("float32") / 255


def test_same_seed_same_numbers(digits):
    (x, y), _ = digits
    a, b = mlp(), mlp()
    ha = a.fit(scaled(x), keras.utils.to_categorical(y), epochs=2, verbose=0).history
    hb = b.fit(scaled(x), keras.utils.to_categorical(y), epochs=2, verbose=0).history
    assert ha == hb
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_uint8_float32_and_float64_inputs_agree(digits):
    (x, y), _ = digits
    model = mlp()
    p32 = model.predict(scaled(x), verbose=0)
    p64 = model.predict(scaled(x).astype("float64"), verbose=0)
    np.testing.assert_allclose(p32, p64, rtol=1e-6)
    raw = model.predict(x, verbose=0)  # uint8 in: used as given (0..255), like Keras
    assert raw.dtype == np.float32 and raw.shape == (1000, 10)
    assert not np.allclose(raw, p32)
    np.testing.assert_allclose(model(scaled(x[:5])), p32[:5], rtol=1e-6)


def test_sparse_labels_and_evaluate_returns(digits):
    (x, y), (xt, yt) = digits
    model = mlp(loss=losses.SparseCategoricalCrossentropy())
    model.fit(scaled(x), y, epochs=3, batch_size=64, verbose=0)
    loss, acc = model.evaluate(scaled(xt), yt, verbose=0)
    assert 0 < loss < 2.3 and acc > 0.6
    dense = mlp(loss="categorical_crossentropy")
    dense.set_weights(model.get_weights())
    assert dense.evaluate(scaled(xt), keras.utils.to_categorical(yt), verbose=0) == pytest.approx([loss, acc])
    bare = mlp(metrics=())
    assert isinstance(bare.evaluate(scaled(xt), keras.utils.to_categorical(yt), verbose=0), float)
    h = bare.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, verbose=0, validation_split=0.2)
    assert set(h.history) == {"loss", "val_loss"}


def test_verbose_output_as_keras_prints(digits, capsys):
    (x, y), _ = digits
    model = mlp()
    model.fit(scaled(x), keras.utils.to_categorical(y), epochs=2, batch_size=100, verbose=2)
    out = capsys.readouterr().out
    assert out.startswith("Epoch 1/2\n10/10 - ")
    assert "s/epoch - " in out and out.count("Epoch ") == 2
    model.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, batch_size=100, verbose=1)
    out = capsys.readouterr().out
    assert "\r10/10 [==============================] - " in out and " - loss: " in out
    model.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_summary_and_weights(capsys):
    model = models.Sequential([layers.Input(shape=(28, 28, 1)),
                               layers.Conv2D(8, 3, activation="relu"),
                               layers.BatchNormalization(),
                               layers.MaxPool2D(),
                               layers.AveragePooling2D(),
                               layers.Flatten(),
                               layers.Dropout(0.2),
                               layers.Dense(10),
                               layers.Activation("softmax")])
    model.summary()
    out = capsys.readouterr().out
    assert "conv2d (Conv2D)" in out and "(None, 26, 26, 8)" in out
    # 80 (conv) + 32 (batch norm, 16 of them moving statistics) + 6*6*8*10 + 10 (dense)
    assert "Total params: 3002 " in out and "Non-trainable params: 16 " in out
    # BatchNormalization's moving mean and variance are weights, but not trainable ones.
    assert len(model.weights) == 8 and len(model.trainable_variables) == 6
    assert model.count_params() == 3002
    assert [l.name for l in model.layers][:3] == ["conv2d", "batch_normalization", "max_pooling2d"]
    assert model.output_shape == (None, 10)


def test_unbuilt_model_builds_on_first_fit(digits):
    (x, y), _ = digits
    model = models.Sequential()
    model.add(layers.Flatten())
    model.add(layers.Dense(10, activation="softmax"))
    with pytest.raises(ValueError, match="not yet been built"):
        model.summary()
    model.compile(optimizer=optimizers.SGD(learning_rate=0.1), loss=losses.categorical_crossentropy,
                  metrics=["accuracy"])
    model.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, verbose=0)
    assert model.count_params() == 7850


def test_save_and_load_safetensors(digits, tmp_path):
    (x, y), (xt, yt) = digits
    model = mlp()
    model.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, verbose=0)
    path = tmp_path / "model.safetensors"
    model.save(path)
    loaded = models.load_model(path)
    assert loaded.evaluate(scaled(xt), keras.utils.to_categorical(yt), verbose=0) == \
        model.evaluate(scaled(xt), keras.utils.to_categorical(yt), verbose=0)
    assert [l.name for l in loaded.layers] == [l.name for l in model.layers]
    assert isinstance(loaded.optimizer, optimizers.Adam)
    # Training goes on from the saved optimizer state.
    loaded.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="extension"):
        model.save(tmp_path / "model.pkl")
    with pytest.raises(OSError):
        models.load_model(tmp_path / "missing.safetensors")


def test_keras_file_formats_are_clear_about_support(digits, tmp_path):
    (x, y), (xt, yt) = digits
    model = mlp()
    model.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, verbose=0)
    for ext in (".keras", ".h5"):
        if nabla._nabla.KERAS_FORMATS:
            model.save(tmp_path / f"m{ext}")
            loaded = models.load_model(tmp_path / f"m{ext}")
            assert loaded.count_params() == model.count_params()
            assert np.array_equal(loaded.predict(scaled(xt), verbose=0),
                                  model.predict(scaled(xt), verbose=0))
        else:
            with pytest.raises(NotImplementedError, match=ext):
                model.save(tmp_path / f"m{ext}")
    with pytest.raises(NotImplementedError, match="weights"):
        model.save(tmp_path / "m.weights.h5")


def test_keras_reads_what_nabla_keras_saves(digits, tmp_path):
    if not nabla._nabla.KERAS_FORMATS:
        pytest.skip("this build has no Keras file formats")
    tf = pytest.importorskip("tensorflow", reason="tensorflow (Keras from PyPI) is not installed")
    (x, y), (xt, yt) = digits
    model = mlp()
    model.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, verbose=0)
    ours = model.predict(scaled(xt), verbose=0)
    for ext in (".keras", ".h5"):
        model.save(tmp_path / f"m{ext}")
        theirs = tf.keras.models.load_model(tmp_path / f"m{ext}")
        assert theirs.count_params() == model.count_params()
        assert np.allclose(theirs.predict(scaled(xt), verbose=0), ours, atol=1e-5)


def test_callbacks(digits, tmp_path):
    (x, y), (xt, yt) = digits
    model = mlp()
    log = tmp_path / "log.csv"
    best = tmp_path / "best.safetensors"
    h = model.fit(scaled(x), keras.utils.to_categorical(y), epochs=30, verbose=0,
                  validation_data=(scaled(xt), keras.utils.to_categorical(yt)),
                  callbacks=[callbacks.EarlyStopping(monitor="val_loss", patience=1),
                             callbacks.ModelCheckpoint(best, save_best_only=True),
                             callbacks.CSVLogger(log),
                             callbacks.ReduceLROnPlateau(patience=1, factor=0.5)])
    epochs = len(h.history["loss"])
    assert epochs < 30 and h.epoch == list(range(epochs))
    assert len(h.history["learning_rate"]) == epochs
    with open(log) as f:
        assert len(list(csv.DictReader(f))) == epochs
    assert models.load_model(best).count_params() == model.count_params()


def test_tensorboard_logs_read_by_tbparse(digits, tmp_path):
    tbparse = pytest.importorskip("tbparse", reason="tbparse is not installed")
    (x, y), (xt, yt) = digits
    model = mlp()
    h = model.fit(scaled(x), keras.utils.to_categorical(y), epochs=3, verbose=0,
                  validation_data=(scaled(xt), keras.utils.to_categorical(yt)),
                  callbacks=[callbacks.TensorBoard(log_dir=tmp_path / "logs")])
    scalars = tbparse.SummaryReader(str(tmp_path / "logs"), extra_columns={"dir_name"}).scalars
    for run, keys in (("train", ("loss", "accuracy")), ("validation", ("val_loss", "val_accuracy"))):
        for key in keys:
            tag = "epoch_" + key.removeprefix("val_")
            rows = scalars[(scalars.dir_name == run) & (scalars.tag == tag)].sort_values("step")
            assert list(rows.step) == [0, 1, 2]
            assert np.allclose(rows.value, h.history[key], rtol=1e-6)
    with pytest.raises(NotImplementedError, match="histogram_freq"):
        callbacks.TensorBoard(log_dir=str(tmp_path), histogram_freq=1)


def test_unsupported_keras_features_raise_not_implemented():
    with pytest.raises(NotImplementedError, match="activation 'gelu'"):
        layers.Dense(3, activation="gelu")
    with pytest.raises(NotImplementedError, match="bias_regularizer"):
        layers.Dense(3, bias_regularizer=keras.regularizers.l2(0.1))
    with pytest.raises(NotImplementedError, match="from_logits"):
        losses.CategoricalCrossentropy(from_logits=True)
    with pytest.raises(NotImplementedError, match="metric"):
        mlp().compile(optimizer="adam", loss="mse", metrics=["AUC"])
    with pytest.raises(NotImplementedError, match="optimizer"):
        optimizers.get("adagrad")


def test_bad_input_is_a_clear_error(digits):
    (x, y), _ = digits
    model = mlp()
    with pytest.raises(ValueError, match="shape"):
        model.fit(scaled(x).reshape(1000, 784)[:, :700], keras.utils.to_categorical(y), verbose=0)
    with pytest.raises(ValueError, match="rows"):
        model.fit(scaled(x), keras.utils.to_categorical(y)[:10], verbose=0)
    with pytest.raises(ValueError, match="batch size"):
        model.fit(scaled(x), keras.utils.to_categorical(y), batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(scaled(x), keras.utils.to_categorical(y), validation_split=1.5, verbose=0)
    # validation_data wins over validation_split, as in Keras: every row trains.
    h = model.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, verbose=0,
                  validation_split=0.5, validation_data=(scaled(x[:10]), keras.utils.to_categorical(y[:10], 10)))
    assert len(h.history["val_loss"]) == 1
    with pytest.raises(ValueError, match="labels must be in"):
        keras.utils.to_categorical([0, 12], 10)


def test_ctrl_c_ends_fit_after_the_batch_with_the_model_intact(digits, monkeypatch):
    (x, y), (xt, yt) = digits
    model = mlp()
    before = model.get_weights()
    calls = []
    seen = threading.Event()

    def on_sigint(signum, frame):  # Python's own handler, run by fit's waiting thread
        seen.set()
        raise KeyboardInterrupt

    def press_ctrl_c(self, epoch, step, steps, loss):
        calls.append((epoch, step))
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)
            assert seen.wait(60), "the SIGINT handler never ran"

    monkeypatch.setattr(keras._progress.FitProgress, "on_batch_end", press_ctrl_c)
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(scaled(x), keras.utils.to_categorical(y), epochs=5, verbose=1)
    finally:
        signal.signal(signal.SIGINT, previous)
    # Stopped in the first epoch: after the batch that saw Ctrl-C, or the one after it.
    assert calls[0] == (0, 1) and len(calls) <= 2 and all(e == 0 for e, _ in calls)
    after = model.get_weights()
    assert all(np.all(np.isfinite(w)) for w in after)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))  # steps were taken
    monkeypatch.undo()
    loss, acc = model.evaluate(scaled(xt), keras.utils.to_categorical(yt), verbose=0)
    assert np.isfinite(loss)
    model.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, verbose=0)


def test_report_renders_inline(digits, tmp_path):
    (x, y), (xt, yt) = digits
    model = mlp()
    history = model.fit(scaled(x), keras.utils.to_categorical(y), epochs=2, verbose=0,
                        validation_split=0.1)
    report = nabla.report(history, scaled(xt), yt, dir=tmp_path / "run")
    html = report._repr_html_()
    assert html.startswith("<iframe") and "data:image/png;base64" in html
    assert (tmp_path / "run" / "metrics.json").is_file()
    assert (tmp_path / "run" / "history.csv").read_text().count("\n") == 3
    # The library's run-directory schema: run.json as every nabla run writes it.
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["kind"] == "python" and info["status"] == "complete"
    assert info["epochs_done"] == 2 and info["trainable_params"] == model.count_params()
    assert info["data"]["train_samples"] == 900 and info["data"]["validation_samples"] == 100
    assert info["data"]["test_samples"] == 300
    assert ["training.epochs", "2"] in info["settings"]
    assert (tmp_path / "run" / "classification_report.txt").is_file()
    assert not (tmp_path / "run" / "experiment.toml").exists()
