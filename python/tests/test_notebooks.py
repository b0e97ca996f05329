"""The five seed notebooks, run as they are written (see notebooks/README.md for the only
changes), each followed by checks of what the notebook shows."""

import re
import runpy
from pathlib import Path

import numpy as np
import pytest

import nabla
from conftest import write_mnist_npz

NOTEBOOKS = Path(__file__).parent / "notebooks"


def run(name, **init):
    return runpy.run_path(str(NOTEBOOKS / name), init_globals=init or None)


def summary_counts(text):
    """(total, trainable, non-trainable) from a printed summary."""
    grab = lambda label: int(re.search(label + r" params: ([\d,]+)", text).group(1).replace(",", ""))
    return grab("Total"), grab("Trainable"), grab("Non-trainable")


def epoch_lines(text):
    return re.findall(r"^Epoch (\d+)/(\d+)$", text, flags=re.M)


def test_seed_000_mlp_and_gradient_tape(keras_home, capsys):
    g = run("seed_000.py")
    out = capsys.readouterr().out
    h = g["history"].history
    assert set(h) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 10 for v in h.values())
    assert h["loss"][-1] < h["loss"][0]
    assert h["val_accuracy"][-1] > 0.85  # 10 classes: chance is 0.1
    assert "Final training loss: " in out and "Final validation loss: " in out
    assert len(epoch_lines(out)) == 10
    # Keras 3's finished bar: bold count, a full green bar, elapsed time, time per step, logs.
    assert re.search(r"\x1b\[1m125/125\x1b\[0m \x1b\[32m━{20}\x1b\[0m\x1b\[37m\x1b\[0m "
                     r"\x1b\[1m\d+s\x1b\[0m \d+(us|ms)/step - accuracy: [\d.]+ - loss: [\d.]+ "
                     r"- val_accuracy: [\d.]+ - val_loss: [\d.]+", out)
    assert g["model"].count_params() == 101_770
    # The gradient cell: one gradient per trainable variable, shaped like it, not all zero.
    names = g["layer_names"]
    assert names == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
    for var, grad in zip(g["model"].trainable_variables, g["grads"]):
        assert grad.shape == var.shape and np.all(np.isfinite(grad))
    assert all(s > 0 for s in g["grad_stds"])
    assert np.isclose(float(g["loss_value"]),
                      nabla.keras.losses.CategoricalCrossentropy()(g["y_train"][:32], g["model"].predict(g["x_train"][:32], verbose=0)),
                      rtol=1e-5)


def test_seed_001_scratch_and_mnist_mlp(keras_home, capsys):
    g = run("seed_001.py")
    out = capsys.readouterr().out
    assert g["L"] == pytest.approx(0.1332476222330792, rel=1e-12)
    assert np.allclose(g["gradients"]["b1"], [0.00492577, -0.00058023, -0.00065977], atol=1e-8)
    assert "X_dev shape: (4000, 28, 28) X_test shape: (1000, 28, 28)" in out
    assert "Y_dev shape: (4000,) Y_test shape: (1000,)" in out
    assert summary_counts(out) == (109_386, 109_386, 0)
    for layer, params in (("dense", 100_480), ("dense_1", 8_256), ("dense_2", 650)):
        assert re.search(rf"{layer} \(Dense\)\s+\(None, \d+\)\s+{params:,}", out) or \
            re.search(rf"{layer} \(Dense\)\s+\(None, \d+\)\s+{params}\b", out)
    hist = g["hist"]
    assert list(hist.columns) == ["accuracy", "loss", "val_accuracy", "val_loss"] and len(hist) == 10  # Keras 3
    assert g["test_acc"] > 0.8
    assert g["y_prob"].shape == (1000, 10) and g["y_prob"].dtype == np.float32
    assert np.allclose(g["y_prob"].sum(axis=1), 1, atol=1e-5)
    assert "Test accuracy: " in out


def test_seed_002_cifar_mlp_and_h5_reload(keras_home, capsys):
    g = run("seed_002.py")
    out = capsys.readouterr().out
    assert g["X_train"].shape == (200, 32, 32, 3) and g["X_val"].shape == (50, 32, 32, 3)
    assert summary_counts(out) == (1_707_274, 1_707_274, 0)
    # verbose=2: one line per epoch in Keras's form.
    assert re.search(r"^4/4 - \d+s - \d+(us|ms|s)/step - accuracy: [\d.]+ - loss: [\d.]+ - "
                     r"val_accuracy: [\d.]+ - val_loss: [\d.]+$", out, flags=re.M)
    assert len(g["history_mse"].history["loss"]) == 10
    assert g["history_mse"].history["loss"][0] < 0.2  # MSE on one-hot rows, not cross-entropy
    assert len(g["history"].history["val_accuracy"]) == 50
    assert g["test_acc"] > 0.3  # the classes differ in colour; chance is 0.1
    assert g["conf_matrix"].sum() == 100
    assert "airplane" in out and "macro avg" in out
    # Cell [11]: save as .h5, load, evaluate again.
    if not nabla._nabla.KERAS_FORMATS:
        with pytest.raises(NotImplementedError, match=r"\.h5"):
            run("seed_002_save.py", **g)
        return
    after = run("seed_002_save.py", **g)
    before = g["model"].evaluate(g["X_test"], g["y_test"], verbose=0)
    assert after["test_acc"] == pytest.approx(before[1])
    assert after["test_loss"] == pytest.approx(before[0], rel=1e-6)


def test_seed_003_scratch_cells_fail_as_in_the_notebook():
    with pytest.raises(ValueError, match="not aligned"):
        run("seed_003_scratch.py")


def test_seed_003_cifar_mlp_and_cnns(keras_home, capsys):
    g = run("seed_003.py")
    out = capsys.readouterr().out
    assert "x_dev shape: (250, 32, 32, 3)" in out and "y_dev shape: (250, 1)" in out
    assert "x_dev shape (flattened): (250, 3072)" in out
    assert "Output: 1.00" in out
    counts = [summary_counts(part) for part in out.split('Model: "')[1:]]
    assert counts == [(402_250, 402_250, 0), (62_006, 62_006, 0), (122_570, 122_570, 0),
                      (123_466, 123_018, 448)]
    for name in ("history", "dropout_history", "bn_history"):
        h = g[name].history
        assert len(h["loss"]) == 20 and len(h["val_accuracy"]) == 20
    assert len(epoch_lines(out)) == 80
    # The classes differ in colour (chance is 0.1).
    assert g["history"].history["val_accuracy"][-1] > 0.5
    assert g["dropout_history"].history["val_accuracy"][-1] > 0.5
    # The batch-norm CNN learns too, but with 140 steps its moving statistics (momentum
    # 0.99, as in Keras) are still far from the data's, so inference-mode accuracy is not
    # checked; its training loss is.
    bn = g["bn_history"].history["loss"]
    assert bn[-1] < bn[0] / 2 and np.isfinite(g["test_loss"])


def test_seed_004_sgd_l2_sweep_and_cnn(keras_home, capsys):
    # The L2 sweep trains 15 models for 40 epochs: a smaller mnist.npz keeps it quick.
    write_mnist_npz(keras_home / "mnist.npz", n_train=512, n_test=256)
    g = run("seed_004.py")
    out = capsys.readouterr().out
    assert g["x_train"].shape == (512, 28, 28, 1)
    accs = np.array(g["validation_accuracies"])
    assert accs.shape == (5, 3) and np.all(accs > 0.5)
    # Replicates start from different weights, as in Keras without a seed.
    assert np.any(accs.std(axis=1) > 0)
    assert re.search(r"Test loss: [\d.]+, Test accuracy 0\.[89]\d*", out)
    assert g["fit_info"].history["val_accuracy"][-1] > 0.7
    assert g["model"].count_params() == 225_034
