"""nabla from Python: the Rust engine behind Keras's names.

``import nabla as tf`` gives the ``tf.`` names the seed notebooks use: ``tf.keras`` (a mirror
of ``tensorflow.keras``), ``tf.GradientTape`` and ``tf.random.set_seed``. Training,
evaluation, prediction and gradients run in nabla's Rust library with the GIL released.
"""

from . import _nabla
from . import random
from ._tape import GradientTape
from . import keras
from ._report import report

__version__ = _nabla.__version__

__all__ = ["keras", "GradientTape", "random", "report", "set_num_threads", "__version__"]


def set_num_threads(threads):
    """Sets how many threads nabla computes with; call before the first fit."""
    _nabla.set_num_threads(int(threads))
