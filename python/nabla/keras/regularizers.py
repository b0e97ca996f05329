"""Weight penalties. Keras's L2 adds λ·Σw² to the loss (no ½), as nabla does."""

from .. import _missing


class L2:
    def __init__(self, l2=0.01):
        self.l2 = float(l2)

    def config(self):
        return {"l2": self.l2}

    def __repr__(self):
        return f"L2(l2={self.l2})"


def l2(l2=0.01):
    return L2(l2)


def as_config(regularizer, where):
    if regularizer is None:
        return None
    if isinstance(regularizer, L2):
        return regularizer.config()
    if regularizer == "l2":
        return L2().config()
    raise NotImplementedError(f"{where}: nabla has only the L2 regularizer, not {regularizer!r}")


__getattr__ = _missing.names("keras.regularizers")
