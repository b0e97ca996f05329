import os

from ._load import keras_datasets_dir, load


def load_data():
    """((x_train, y_train), (x_test, y_test)): uint8 arrays of shape (n, 32, 32, 3) and (n, 1)."""
    # Keras 3 extracts the archive one folder deeper than Keras 2 did.
    newer = os.path.join(keras_datasets_dir(), "cifar-10-batches-py-target")
    dir = newer if os.path.isdir(newer) else None
    (x_train, y_train), (x_test, y_test) = load("cifar10", dir)
    return (x_train, y_train.reshape(-1, 1)), (x_test, y_test.reshape(-1, 1))
