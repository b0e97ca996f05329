"""Names of TensorFlow and Keras that nabla does not have: ``tf.data``, ``layers.LSTM``, ...

Each module's ``__getattr__`` raises :class:`NotInNabla`, a ``NotImplementedError`` naming the
TensorFlow/Keras feature (never a silently different answer) that is also an
``AttributeError``, so ``hasattr``, ``from m import name`` and introspection work as usual.
"""


class NotInNabla(NotImplementedError, AttributeError):
    pass


def names(prefix):
    """A module ``__getattr__`` for the module Keras/TensorFlow calls ``prefix``."""

    def __getattr__(name):
        if name.startswith("_"):
            raise AttributeError(f"module {prefix!r} has no attribute {name!r}")
        raise NotInNabla(
            f"{prefix}.{name} is not in nabla: nabla mirrors the tensorflow.keras names the "
            "seed notebooks use (see nabla.keras)")

    return __getattr__
