"""``tf.GradientTape`` for the pattern the notebooks use::

    with tf.GradientTape() as tape:
        predictions = model(x)
        loss = CategoricalCrossentropy()(y, predictions)
    grads = tape.gradient(loss, model.trainable_variables)

While a tape is open, ``model(x)`` returns its predictions marked with where they came from,
and calling a loss object on such predictions runs the forward pass, the loss and the
backward pass on nabla's own tape (``Model.gradients`` in the extension). The loss value it
returns carries the gradients; ``tape.gradient`` hands them out in the order asked for.
"""

import numpy as np

_open_tapes = []


def recording():
    return bool(_open_tapes)


class Tensor(np.ndarray):
    """What ``model(x)`` and a loss object return: a numpy array that also answers
    ``.numpy()``, as TensorFlow's eager tensors do (``model(x).numpy()``, ``loss.numpy()``)."""

    def numpy(self):
        return np.asarray(self)


def tensor(values):
    return np.asarray(values).view(Tensor)


class TapedOutput(Tensor):
    """Predictions of ``model(x)`` made under an open tape: an ordinary numpy array that
    remembers the model and the input."""

    _nabla_source = None


class TapedLoss(Tensor):
    """A loss value computed under an open tape, with the gradients of its model's
    trainable weights by weight name."""

    _nabla_grads = None


def mark_output(values, model, x, training):
    out = np.asarray(values).view(TapedOutput)
    out._nabla_source = (model, x, training)
    return out


def taped_loss(loss_name, y_true, y_pred):
    """The loss and gradients for predictions marked by ``mark_output``, or None when
    ``y_pred`` is not such an output."""
    source = getattr(y_pred, "_nabla_source", None)
    if source is None or not recording():
        return None
    model, x, training = source
    value, grads = model._gradients(x, y_true, loss_name, training)
    out = np.asarray(np.float32(value)).view(TapedLoss)
    out._nabla_grads = dict(grads)
    return out


class GradientTape:
    def __init__(self, persistent=False, watch_accessed_variables=True):
        if not watch_accessed_variables:
            raise NotImplementedError(
                "nabla's GradientTape records every trainable weight "
                "(watch_accessed_variables=False is not supported)")
        self._persistent = persistent
        self._used = False

    def __enter__(self):
        _open_tapes.append(self)
        return self

    def __exit__(self, *exc):
        _open_tapes.remove(self)
        return False

    def watch(self, tensor):
        raise NotImplementedError("GradientTape.watch: nabla records the model's weights only")

    def gradient(self, target, sources):
        """Gradients of ``target`` (a loss computed under this tape) with respect to
        ``sources`` (``model.trainable_variables``), as numpy arrays."""
        if self._used and not self._persistent:
            raise RuntimeError("A non-persistent GradientTape can only be used to compute one set of gradients")
        self._used = True
        grads = getattr(target, "_nabla_grads", None)
        if grads is None:
            raise NotImplementedError(
                "nabla's GradientTape differentiates a Keras loss object called on model(x) "
                "inside the tape; other computations are not recorded")
        single = not isinstance(sources, (list, tuple))
        wanted = [sources] if single else list(sources)
        out = []
        for var in wanted:
            name = getattr(var, "path", None)
            if name not in grads:
                raise ValueError(f"{var!r} is not a trainable weight of the model the loss came from")
            out.append(grads[name])
        return out[0] if single else out
