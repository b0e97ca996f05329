"""``keras.datasets``: ``load_data()`` with Keras's shapes and dtypes (uint8 images and
labels), read by nabla from Keras's cache first (``$KERAS_HOME/datasets`` or
``~/.keras/datasets``, in Keras's layout), then nabla's cache, downloaded and checked only when
neither has them."""

from ... import _missing
from . import cifar10, fashion_mnist, mnist

__all__ = ["mnist", "fashion_mnist", "cifar10"]


__getattr__ = _missing.names("keras.datasets")
