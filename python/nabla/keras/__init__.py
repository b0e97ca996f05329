"""``nabla.keras``: tensorflow.keras's names for what the seed notebooks use, on nabla.

Anything else a notebook reaches for raises ``NotImplementedError`` naming the Keras
feature, never a silently different answer.
"""

from .. import _missing
from . import activations, backend, callbacks, datasets, layers, losses, models
from . import optimizers, regularizers, utils
from .models import Model, Sequential, load_model
from .layers import Input

__all__ = [
    "activations", "backend", "callbacks", "datasets", "layers", "losses", "models",
    "optimizers", "regularizers", "utils", "Model", "Sequential", "load_model", "Input",
]


__getattr__ = _missing.names("keras")
