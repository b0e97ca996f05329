import os

from ... import _nabla


def keras_datasets_dir():
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(home, "datasets")


def load(name, dir=None):
    (x_train, y_train), (x_test, y_test) = _nabla.load_dataset(name, dir)
    return (x_train, y_train), (x_test, y_test)
