"""The little of ``keras.backend`` the notebooks ask about."""

from .. import _missing


def image_data_format():
    """nabla's images are channels-last (NHWC), as Keras's default."""
    return "channels_last"


def floatx():
    return "float32"


__getattr__ = _missing.names("keras.backend")
