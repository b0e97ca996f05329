"""Shared test set-up: a private HOME with Keras's dataset cache filled from small data.

- ``mnist.npz`` in Keras's format (uint8 x of (n, 28, 28), uint8 y of (n,)) made from nabla's
  built-in 5,000-digit MNIST sample (real digits; 4,000 train / 1,000 test at most).
- CIFAR-10 in the official ``cifar-10-batches-py`` layout (Python pickles of dicts with
  ``b'data'`` (n, 3072) uint8 in channel-major order and ``b'labels'``), written here from
  random images whose class shows in the colour, so a model can learn it.

``HOME``, ``KERAS_HOME`` and ``NABLA_DATA`` point into the test's temporary folder, so no
real cache is read or written and nothing is downloaded.
"""

import os
import pickle

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import nabla  # noqa: E402


def write_mnist_npz(path, n_train=4000, n_test=1000):
    (x_train, y_train), (x_test, y_test) = nabla._nabla.mnist_sample()
    np.savez_compressed(
        path,
        x_train=x_train[:n_train].reshape(-1, 28, 28), y_train=y_train[:n_train],
        x_test=x_test[:n_test].reshape(-1, 28, 28), y_test=y_test[:n_test])


def cifar_like(n, seed):
    """Random 32x32x3 images whose mean colour depends on the class."""
    base = np.random.RandomState(1234).randint(0, 256, size=(10, 3))  # one colour per class
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, 10, size=n)
    noise = rng.randint(-60, 61, size=(n, 32, 32, 3))
    images = np.clip(base[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8)
    return images, labels


def write_cifar10(folder, per_batch=50, n_test=100):
    """The official python layout: data_batch_1..5 and test_batch."""
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for i, name in enumerate(names):
        images, labels = cifar_like(n_test if name == "test_batch" else per_batch, seed=i)
        batch = {
            b"batch_label": name.encode(),
            b"labels": [int(l) for l in labels],
            b"data": images.transpose(0, 3, 1, 2).reshape(len(images), 3072),
            b"filenames": [f"{name}_{j}.png".encode() for j in range(len(images))],
        }
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer",
                                      b"dog", b"frog", b"horse", b"ship", b"truck"]}, f, protocol=2)


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """A private HOME whose Keras dataset cache holds mnist.npz and CIFAR-10."""
    home = tmp_path / "home"
    datasets = home / ".keras" / "datasets"
    datasets.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KERAS_HOME", str(home / ".keras"))
    monkeypatch.setenv("NABLA_DATA", str(tmp_path / "nabla-cache"))
    monkeypatch.chdir(tmp_path)
    write_mnist_npz(datasets / "mnist.npz")
    write_cifar10(datasets / "cifar-10-batches-py")
    return datasets


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")
