"""Activation names nabla computes (fused with the layer's bias where it can)."""

from .. import _missing

SUPPORTED = ("linear", "relu", "sigmoid", "tanh", "softmax")


def name_of(activation, where):
    """The nabla name of a Keras activation given as None, a string or a function."""
    if activation is None:
        return "linear"
    name = activation if isinstance(activation, str) else getattr(activation, "__name__", None)
    if name not in SUPPORTED:
        raise NotImplementedError(
            f"{where}: activation {activation!r} is not in nabla (it has {', '.join(SUPPORTED)})")
    return name


def _named(name):
    def f(x):
        raise NotImplementedError(
            f"nabla.keras.activations.{name} names an activation for a layer; "
            "it is not applied to arrays directly")
    f.__name__ = name
    return f


linear = _named("linear")
relu = _named("relu")
sigmoid = _named("sigmoid")
tanh = _named("tanh")
softmax = _named("softmax")


__getattr__ = _missing.names("keras.activations")
