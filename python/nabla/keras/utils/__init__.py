"""``keras.utils``: ``to_categorical`` (also under ``utils.np_utils`` as in Keras 2)."""

from ... import _missing
from . import np_utils
from .np_utils import to_categorical

__all__ = ["to_categorical", "np_utils"]


__getattr__ = _missing.names("keras.utils")
