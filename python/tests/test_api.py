"""nabla.keras's model API: the Keras behaviour the notebooks rely on, and clear errors
for what nabla does not do."""

import csv
import json
import re
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
    # model(x) and a loss object's value answer .numpy(), as TensorFlow's tensors do.
    probs = model(scaled(x[:5])).numpy()
    assert type(probs) is np.ndarray and probs.shape == (5, 10)
    loss = losses.CategoricalCrossentropy()(keras.utils.to_categorical(y[:5], 10), probs)
    assert float(loss.numpy()) == pytest.approx(float(loss)) and float(loss) > 0


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
    assert h.params == {"verbose": 0, "epochs": 1, "steps": 25}  # 800 rows in batches of 32


def keras_shape(text):
    """Printed output with its numbers and time units blanked, to compare with Keras's (and
    without the spaces that pad a line over a longer earlier one, which depend on timing)."""
    text = re.sub(r" +(\n|$)", r"\1", text)
    text = re.sub(r"\d+(ms|us|s)/step", "T/step", text)
    text = re.sub(r"\d+(\.\d+)?(e[-+]\d+)?", "N", text)
    return text


def fit_outputs(module, capsys, x, y, vx, vy):
    """What fit(verbose=2), fit(verbose=1) (the finished lines) and evaluate print."""
    model = module.models.Sequential([module.layers.Input(shape=(28, 28)),
                                      module.layers.Flatten(),
                                      module.layers.Dense(32, activation="relu"),
                                      module.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    capsys.readouterr()
    out = {}
    model.fit(x, y, epochs=2, batch_size=100, verbose=2, validation_data=(vx, vy))
    out["fit2"] = capsys.readouterr().out
    model.fit(x, y, epochs=2, batch_size=100, verbose=1, validation_data=(vx, vy))
    live = capsys.readouterr().out
    out["fit1"] = [line.split("\r")[-1] for line in live.split("\n")]
    out["first"] = live.split("\r")[1] if "\r" in live else ""
    model.evaluate(vx, vy, verbose=2)
    model.evaluate(vx, vy, verbose=1)
    out["evaluate"] = capsys.readouterr().out.split("\r")[-1]
    model.predict(vx, verbose=2)
    out["predict"] = capsys.readouterr().out
    model.fit(x, y, epochs=1, batch_size=100, verbose=2)
    out["one_epoch"] = capsys.readouterr().out
    out["history"] = list(model.fit(x, y, epochs=1, verbose=0, validation_split=0.1).history)
    out["evaluate_dict"] = list(model.evaluate(vx, vy, verbose=0, return_dict=True))
    return out


def test_verbose_output_as_keras_prints(digits, capsys):
    """nabla.keras prints what tensorflow.keras (Keras 3) prints, numbers and times aside:
    verbose=2 lines, the live bar's bytes (bold count, green/grey bar, running accuracy and
    loss on every redraw), evaluate's and predict's lines, and the order of the logs."""
    (x, y), (xt, yt) = digits
    args = (scaled(x), keras.utils.to_categorical(y), scaled(xt), keras.utils.to_categorical(yt))
    ours = fit_outputs(keras, capsys, *args)
    assert ours["fit2"].startswith("Epoch 1/2\n10/10 - ")
    assert " - accuracy: " in ours["fit2"] and " - val_loss: " in ours["fit2"]
    # The running metrics on the live bar from the first batch on, not only the loss.
    assert ours["first"].startswith("\x1b[1m 1/10\x1b[0m \x1b[32m━━\x1b[0m\x1b[37m━━━")
    assert " - accuracy: " in ours["first"] and " - loss: " in ours["first"]
    assert "\x1b[1m10/10\x1b[0m \x1b[32m" + "━" * 20 + "\x1b[0m\x1b[37m\x1b[0m \x1b[1m" in ours["fit1"][1]
    assert ours["one_epoch"].startswith("10/10 - ")  # no "Epoch 1/1", as Keras
    model = mlp()
    model.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, verbose=0)
    assert capsys.readouterr().out == ""
    tf = pytest.importorskip("tensorflow", reason="tensorflow (Keras from PyPI) is not installed")
    theirs = fit_outputs(tf.keras, capsys, *args)
    for key in ("fit2", "evaluate", "predict", "one_epoch"):
        assert keras_shape(ours[key]) == keras_shape(theirs[key]), key
    assert [keras_shape(l) for l in ours["fit1"]] == [keras_shape(l) for l in theirs["fit1"]]
    # The first redraw after the ETA and time per step (then backspaces, as many as printed).
    first = [keras_shape(o["first"]).split(" - ", 1)[1].rstrip("\b") for o in (ours, theirs)]
    assert first[0] == first[1]
    assert ours["history"] == theirs["history"]
    assert ours["evaluate_dict"] == theirs["evaluate_dict"]


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


def test_datasets_read_keras_cache_first(tmp_path, monkeypatch):
    """load_data() reads Keras's cache (in Keras's own layout, under $KERAS_HOME) before
    nabla's, and returns Keras's shapes and dtypes."""
    import gzip
    import struct

    def idx(path, array):
        path.parent.mkdir(parents=True, exist_ok=True)
        head = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
        with gzip.open(path, "wb") as f:
            f.write(head + array.astype(np.uint8).tobytes())

    def idx_set(folder, n, value):
        for split, count in (("train", n), ("t10k", n // 2)):
            idx(folder / f"{split}-images-idx3-ubyte.gz", np.full((count, 28, 28), value, np.uint8))
            idx(folder / f"{split}-labels-idx1-ubyte.gz", np.full(count, value % 10, np.uint8))

    keras_home = tmp_path / "keras"
    datasets = keras_home / "datasets"
    datasets.mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NABLA_DATA", str(tmp_path / "nabla-cache"))
    # nabla's cache holds other data (value 9) for both: Keras's must win.
    idx_set(tmp_path / "nabla-cache" / "mnist", 8, 9)
    idx_set(tmp_path / "nabla-cache" / "fashion-mnist", 8, 9)

    # Keras's mnist.npz: uint8 x (n, 28, 28), uint8 y (n,)
    np.savez(datasets / "mnist.npz", x_train=np.full((6, 28, 28), 3, np.uint8),
             y_train=np.arange(6, dtype=np.uint8), x_test=np.full((2, 28, 28), 4, np.uint8),
             y_test=np.array([7, 1], np.uint8))
    (x, y), (xt, yt) = keras.datasets.mnist.load_data()
    assert x.shape == (6, 28, 28) and xt.shape == (2, 28, 28) and y.shape == (6,)
    assert x.dtype == y.dtype == xt.dtype == yt.dtype == np.uint8
    assert (x == 3).all() and list(y) == list(range(6)) and list(yt) == [7, 1]

    # Keras's fashion-mnist/ folder of gz files.
    idx_set(datasets / "fashion-mnist", 4, 5)
    (x, y), (xt, yt) = keras.datasets.fashion_mnist.load_data()
    assert x.shape == (4, 28, 28) and xt.shape == (2, 28, 28) and (x == 5).all()
    assert x.dtype == y.dtype == np.uint8 and (y == 5).all()

    # CIFAR-10 where Keras 3 extracts it: cifar-10-batches-py-target/cifar-10-batches-py/.
    from conftest import write_cifar10
    write_cifar10(datasets / "cifar-10-batches-py-target" / "cifar-10-batches-py", per_batch=4, n_test=3)
    (x, y), (xt, yt) = keras.datasets.cifar10.load_data()
    assert x.shape == (20, 32, 32, 3) and y.shape == (20, 1) and yt.shape == (3, 1)
    assert x.dtype == y.dtype == np.uint8

    # Without Keras's files, nabla's own cache is read.
    (datasets / "mnist.npz").unlink()
    (x, y), _ = keras.datasets.mnist.load_data()
    assert x.shape == (8, 28, 28) and (x == 9).all()


def test_save_weights_and_load_weights_with_keras(digits, tmp_path):
    """save_weights writes Keras 3's .weights.h5, which Keras loads into the same
    architecture (equal predictions), and load_weights reads Keras's; save("x.weights.h5")
    writes a whole legacy .h5 model there, as Keras 3 does."""
    tf = pytest.importorskip("tensorflow", reason="tensorflow (Keras from PyPI) is not installed")
    (x, y), (xt, yt) = digits
    model = mlp()
    model.fit(scaled(x), keras.utils.to_categorical(y), epochs=1, verbose=0)
    ours = model.predict(scaled(xt), verbose=0)
    model.save_weights(tmp_path / "ours.weights.h5")

    def keras_mlp():
        return tf.keras.Sequential([tf.keras.layers.Input(shape=(28, 28)), tf.keras.layers.Flatten(),
                                    tf.keras.layers.Dense(32, activation="relu"),
                                    tf.keras.layers.Dense(10, activation="softmax")])

    theirs = keras_mlp()
    theirs.load_weights(tmp_path / "ours.weights.h5")
    np.testing.assert_allclose(theirs.predict(scaled(xt), verbose=0), ours, atol=1e-6)

    # The reverse: Keras's weights into a nabla model of the same architecture.
    other = keras_mlp()
    other.save_weights(tmp_path / "theirs.weights.h5")
    fresh = mlp(seed=5)
    fresh.load_weights(tmp_path / "theirs.weights.h5")
    np.testing.assert_allclose(fresh.predict(scaled(xt), verbose=0),
                               other.predict(scaled(xt), verbose=0), atol=1e-6)
    for a, b in zip(fresh.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    # ... and from a .keras file's weights.
    model.save(tmp_path / "ours.keras")
    fresh.load_weights(tmp_path / "ours.keras")
    np.testing.assert_array_equal(fresh.predict(scaled(xt), verbose=0), ours)

    # model.save("x.weights.h5"): a whole model, read back by both.
    model.save(tmp_path / "whole.weights.h5")
    assert np.array_equal(models.load_model(tmp_path / "whole.weights.h5").predict(scaled(xt), verbose=0), ours)
    whole = tf.keras.models.load_model(tmp_path / "whole.weights.h5")
    np.testing.assert_allclose(whole.predict(scaled(xt), verbose=0), ours, atol=1e-6)

    with pytest.raises(ValueError, match="must end in `.weights.h5`"):
        model.save_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match="File format not supported"):
        model.load_weights(tmp_path / "w.bin")
    small = models.Sequential([layers.Flatten(input_shape=(28, 28)), layers.Dense(10)])
    with pytest.raises(ValueError):
        small.load_weights(tmp_path / "ours.weights.h5")


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
    with pytest.raises(NotImplementedError, match="functional API"):
        keras.Model()
    # Names nabla lacks: a NotImplementedError naming them, still an AttributeError to hasattr.
    with pytest.raises(NotImplementedError, match=r"tensorflow\.data is not in nabla"):
        nabla.data.Dataset
    with pytest.raises(NotImplementedError, match=r"keras\.layers\.LSTM is not in nabla"):
        layers.LSTM(4)
    assert not hasattr(keras.callbacks, "LambdaCallback") and not hasattr(nabla, "__wrapped__")
    with pytest.raises(ImportError):
        from nabla.keras.layers import GRU  # noqa: F401


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

    def press_ctrl_c(self, epoch, step, steps, loss, accuracy):
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
