"""``tf.random.set_seed``: the seed new models draw their weights, shuffling and dropout from."""

import secrets

from . import _missing

_state = {"seed": None, "count": 0}


def set_seed(seed):
    """Makes every model built afterwards repeat bit for bit: the k-th model built after
    ``set_seed(s)`` gets the same seed every time (as Keras's global seed generator)."""
    _state["seed"] = int(seed)
    _state["count"] = 0


def next_model_seed():
    """The seed for the next model: from ``set_seed`` when given, else fresh randomness
    (Keras without a seed initializes every model differently)."""
    if _state["seed"] is None:
        return secrets.randbits(32)
    seed = (_state["seed"] * 1_000_003 + _state["count"]) % (1 << 32)
    _state["count"] += 1
    return seed


__getattr__ = _missing.names("tensorflow.random")
