"""Optimizers as settings for nabla's (Keras's update rules and defaults)."""

from .. import _missing


class Optimizer:
    _type = None

    def __init__(self, learning_rate, **unsupported):
        for key in unsupported:
            raise NotImplementedError(
                f"{type(self).__name__}: nabla does not support the argument {key!r}")
        if not isinstance(learning_rate, (int, float)):
            raise NotImplementedError(
                f"{type(self).__name__}: learning-rate schedules are not in nabla "
                "(use callbacks.ReduceLROnPlateau)")
        self.learning_rate = float(learning_rate)

    def config(self):
        return {"type": self._type, "learning_rate": self.learning_rate, **self._settings()}

    def __repr__(self):
        return f"{type(self).__name__}({self.config()})"


class SGD(Optimizer):
    _type = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _settings(self):
        return {"momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    _type = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if amsgrad:
            raise NotImplementedError("Adam: amsgrad is not in nabla")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)

    def _settings(self):
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}


class RMSprop(Optimizer):
    _type = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon = float(rho), float(momentum), float(epsilon)
        self.centered = bool(centered)

    def _settings(self):
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "centered": self.centered}


_BY_NAME = {"sgd": SGD, "adam": Adam, "rmsprop": RMSprop}


def get(identifier):
    """An optimizer from a Keras name ('adam', 'sgd', 'rmsprop') or an optimizer object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise NotImplementedError(f"nabla.keras has no optimizer {identifier!r} (it has SGD, Adam, RMSprop)")


__getattr__ = _missing.names("keras.optimizers")
