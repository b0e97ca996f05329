"""Keras's losses, by object, function or name; nabla computes them.

Calling a loss object on predictions from ``model(x)`` inside a ``GradientTape`` records
the loss on nabla's tape (see ``nabla._tape``).
"""

import numpy as np

from .. import _missing, _nabla, _tape

_NAMES = {
    "categorical_crossentropy": "categorical_crossentropy",
    "sparse_categorical_crossentropy": "sparse_categorical_crossentropy",
    "mean_squared_error": "mean_squared_error",
    "mse": "mean_squared_error",
    "binary_crossentropy": "binary_crossentropy",
}


def dense_targets(loss_name, y, width):
    """Targets as nabla takes them: float32 rows of ``width`` (sparse labels one-hot)."""
    y = np.asarray(y)
    if loss_name == "sparse_categorical_crossentropy":
        labels = y.reshape(-1).astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= width):
            raise ValueError(f"labels must be in [0, {width}), got {labels.min()}..{labels.max()}")
        out = np.zeros((labels.size, width), np.float32)
        out[np.arange(labels.size), labels] = 1.0
        return out
    return np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=np.float32)


class Loss:
    _name = None

    def __init__(self, from_logits=False, reduction="sum_over_batch_size", name=None, **unsupported):
        for key in unsupported:
            raise NotImplementedError(f"{type(self).__name__}: nabla does not support {key!r}")
        if from_logits:
            raise NotImplementedError(
                f"{type(self).__name__}(from_logits=True): nabla's losses take probabilities "
                "(a softmax output is fused with its cross-entropy automatically)")
        if reduction not in ("sum_over_batch_size", "auto"):
            raise NotImplementedError(f"{type(self).__name__}: reduction {reduction!r}")
        self.name = name or self._name

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise NotImplementedError("losses with sample_weight are not in nabla")
        y_pred_arr = np.asarray(y_pred, dtype=np.float32)
        width = y_pred_arr.reshape(y_pred_arr.shape[0], -1).shape[1]
        y = dense_targets(self._name, y_true, width)
        taped = _tape.taped_loss(self._name, y, y_pred)
        if taped is not None:
            return taped
        pred = np.ascontiguousarray(y_pred_arr.reshape(y.shape[0], -1))
        return _tape.tensor(np.float32(_nabla.loss_value(self._name, y, pred)))


class CategoricalCrossentropy(Loss):
    _name = "categorical_crossentropy"


class SparseCategoricalCrossentropy(Loss):
    _name = "sparse_categorical_crossentropy"


class MeanSquaredError(Loss):
    _name = "mean_squared_error"


class BinaryCrossentropy(Loss):
    _name = "binary_crossentropy"


def categorical_crossentropy(y_true, y_pred):
    return CategoricalCrossentropy()(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred):
    return SparseCategoricalCrossentropy()(y_true, y_pred)


def mean_squared_error(y_true, y_pred):
    return MeanSquaredError()(y_true, y_pred)


def binary_crossentropy(y_true, y_pred):
    return BinaryCrossentropy()(y_true, y_pred)


mse = MSE = mean_squared_error


def name_of(loss):
    """nabla's name for a loss given as a Keras name, object or function."""
    if isinstance(loss, Loss):
        return loss._name
    name = loss if isinstance(loss, str) else getattr(loss, "__name__", None)
    if name in _NAMES:
        return _NAMES[name]
    raise NotImplementedError(
        f"nabla.keras has no loss {loss!r} (it has categorical_crossentropy, "
        "sparse_categorical_crossentropy, mean_squared_error, binary_crossentropy)")


__getattr__ = _missing.names("keras.losses")
