"""Keras layers as settings: each class validates Keras's arguments and turns them into the
JSON form of ``nabla::nn::LayerConfig``; the Rust library builds and runs the layer."""

from .. import _missing
from . import activations
from .regularizers import as_config as _regularizer

_INITIALIZERS = {
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
    "lecun_uniform", "zeros", "ones", "random_normal", "random_uniform",
}


def _initializer(value, where):
    name = value if isinstance(value, str) else None
    if name is not None:
        name = {"GlorotUniform": "glorot_uniform", "HeNormal": "he_normal"}.get(name, name)
    if name not in _INITIALIZERS:
        raise NotImplementedError(f"{where}: nabla has no initializer {value!r}")
    return name


def _pair(value, where, what):
    if isinstance(value, int):
        return [value, value]
    value = list(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{where}: {what} must be an int or a pair of ints, got {value!r}")
    return value


def _padding(value, where):
    if str(value).lower() not in ("valid", "same"):
        raise NotImplementedError(f"{where}: padding {value!r} (nabla has 'valid' and 'same')")
    return str(value).lower()


class Layer:
    """What every layer keeps: its Keras name (given, or assigned by the model) and the
    input shape given to a first layer."""

    _kind = None

    def __init__(self, name=None, input_shape=None, input_dim=None, trainable=True,
                 dtype=None, **unsupported):
        for key in unsupported:
            raise NotImplementedError(f"{self._kind}: nabla does not support the argument {key!r}")
        if trainable is not True:
            raise NotImplementedError(f"{self._kind}: frozen layers (trainable=False) are not in nabla")
        if dtype not in (None, "float32"):
            raise NotImplementedError(f"{self._kind}: nabla computes in float32 (dtype={dtype!r})")
        self._given_name = name
        self.name = name
        if input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape = tuple(input_shape) if input_shape is not None else None
        self._model = None

    def _settings(self):
        raise NotImplementedError

    def config(self):
        """The layer's settings for nabla (``LayerConfig``'s serde form)."""
        c = {"type": self._kind, **self._settings()}
        if self._given_name is not None:
            c["name"] = self._given_name
        return c

    @property
    def weights(self):
        return [v for v in self._model._variables() if v.layer == self.name] if self._model else []

    @property
    def trainable_variables(self):
        return [v for v in self.weights if v.trainable]

    def get_weights(self):
        return [v.numpy() for v in self.weights]

    def count_params(self):
        return sum(v.numpy().size for v in self.weights)

    @property
    def output_shape(self):
        if self._model is None or self._model._core is None:
            raise AttributeError(f"the layer {self.name!r} has not been built yet")
        index = self._model.layers.index(self)
        return (None, *self._model._core.output_shapes()[index])

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(
            f"calling a {self._kind} layer on data (the functional API) is not in nabla.keras: "
            "put layers in a Sequential model")

    def __repr__(self):
        return f"<{self._kind} name={self.name}>"


class InputSpec:
    """``layers.Input(shape)``: fixes a Sequential model's input shape."""

    def __init__(self, shape, name=None):
        self.shape = tuple(shape)
        self.name = name


def Input(shape=None, batch_size=None, name=None, dtype=None, **unsupported):
    if shape is None:
        raise ValueError("Input needs a shape")
    for key in unsupported:
        raise NotImplementedError(f"Input: nabla does not support the argument {key!r}")
    if batch_size is not None:
        raise NotImplementedError("Input: a fixed batch_size is not in nabla")
    return InputSpec(shape, name)


class InputLayer(Layer):
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("InputLayer: use layers.Input(shape) or input_shape=")


class Dense(Layer):
    _kind = "Dense"

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.activation = activations.name_of(activation, "Dense")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializer(kernel_initializer, "Dense")
        self.bias_initializer = _initializer(bias_initializer, "Dense")
        self.kernel_regularizer = _regularizer(kernel_regularizer, "Dense")

    def _settings(self):
        s = {"units": self.units, "activation": self.activation, "use_bias": self.use_bias,
             "kernel_initializer": self.kernel_initializer,
             "bias_initializer": self.bias_initializer}
        if self.kernel_regularizer:
            s["kernel_regularizer"] = self.kernel_regularizer
        return s


class Flatten(Layer):
    _kind = "Flatten"

    def __init__(self, data_format=None, **kwargs):
        if data_format not in (None, "channels_last"):
            raise NotImplementedError("Flatten: nabla is channels-last only")
        super().__init__(**kwargs)

    def _settings(self):
        return {}


class Activation(Layer):
    _kind = "Activation"

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.name_of(activation, "Activation")

    def _settings(self):
        return {"activation": self.activation}


class Conv2D(Layer):
    _kind = "Conv2D"

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise NotImplementedError("Conv2D: nabla is channels-last only")
        if _pair(dilation_rate, "Conv2D", "dilation_rate") != [1, 1]:
            raise NotImplementedError("Conv2D: dilated convolutions are not in nabla")
        self.filters = int(filters)
        self.kernel_size = _pair(kernel_size, "Conv2D", "kernel_size")
        self.strides = _pair(strides, "Conv2D", "strides")
        self.padding = _padding(padding, "Conv2D")
        self.activation = activations.name_of(activation, "Conv2D")
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializer(kernel_initializer, "Conv2D")
        self.bias_initializer = _initializer(bias_initializer, "Conv2D")
        self.kernel_regularizer = _regularizer(kernel_regularizer, "Conv2D")

    def _settings(self):
        s = {"filters": self.filters, "kernel_size": self.kernel_size, "strides": self.strides,
             "padding": self.padding, "activation": self.activation, "use_bias": self.use_bias,
             "kernel_initializer": self.kernel_initializer,
             "bias_initializer": self.bias_initializer}
        if self.kernel_regularizer:
            s["kernel_regularizer"] = self.kernel_regularizer
        return s


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        if data_format not in (None, "channels_last"):
            raise NotImplementedError(f"{self._kind}: nabla is channels-last only")
        self.pool_size = _pair(pool_size, self._kind, "pool_size")
        self.strides = None if strides is None else _pair(strides, self._kind, "strides")
        self.padding = _padding(padding, self._kind)

    def _settings(self):
        s = {"pool_size": self.pool_size, "padding": self.padding}
        if self.strides is not None:
            s["strides"] = self.strides
        return s


class MaxPooling2D(_Pooling2D):
    _kind = "MaxPooling2D"


MaxPool2D = MaxPooling2D


class AveragePooling2D(_Pooling2D):
    _kind = "AveragePooling2D"


AvgPool2D = AveragePooling2D


class Dropout(Layer):
    _kind = "Dropout"

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if noise_shape is not None:
            raise NotImplementedError("Dropout: noise_shape is not in nabla")
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate = float(rate)

    def _settings(self):
        return {"rate": self.rate}


class BatchNormalization(Layer):
    _kind = "BatchNormalization"

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        if axis != -1:
            raise NotImplementedError("BatchNormalization: nabla normalizes the last axis only")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)

    def _settings(self):
        return {"momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}


_KINDS = {c._kind: c for c in (Dense, Flatten, Activation, Conv2D, MaxPooling2D,
                               AveragePooling2D, Dropout, BatchNormalization)}


def from_config(config):
    """A layer object from nabla's settings (for loaded models)."""
    config = dict(config)
    kind = config.pop("type")
    if kind == "MaxPool2D":
        kind = "MaxPooling2D"
    cls = _KINDS.get(kind)
    if cls is None:
        raise NotImplementedError(f"nabla.keras has no Python class for the layer type {kind!r}")
    layer = cls.__new__(cls)
    Layer.__init__(layer, name=config.pop("name", None))
    layer.kernel_regularizer = None
    layer.strides = None
    for key, value in config.items():
        setattr(layer, key, value)
    return layer


__getattr__ = _missing.names("keras.layers")
