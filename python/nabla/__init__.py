"""nabla from Python: the Rust engine behind Keras's names.

``import nabla as tf`` gives the ``tf.`` names the seed notebooks use: ``tf.keras`` (a mirror
of ``tensorflow.keras``), ``tf.GradientTape`` and ``tf.random.set_seed``. Training,
evaluation, prediction and gradients run in nabla's Rust library with the GIL released.
"""

from . import _missing
from . import _nabla
from . import random
from ._tape import GradientTape
from . import keras
from ._report import report

__version__ = _nabla.__version__

__all__ = ["keras", "GradientTape", "random", "report", "mnist_sample", "set_num_threads",
           "__version__"]


def mnist_sample():
    """nabla's built-in 5,000 real MNIST digits, shaped as ``mnist.load_data()`` returns
    them: ((x_train (4000, 28, 28), y_train (4000,)), (x_test (1000, 28, 28), y_test (1000,))),
    uint8. For examples and tests that must run without a download."""
    (x_train, y_train), (x_test, y_test) = _nabla.mnist_sample()
    return (x_train.reshape(-1, 28, 28), y_train), (x_test.reshape(-1, 28, 28), y_test)


def set_num_threads(threads):
    """Sets how many threads nabla computes with; call before the first fit."""
    _nabla.set_num_threads(int(threads))


__getattr__ = _missing.names("tensorflow")
