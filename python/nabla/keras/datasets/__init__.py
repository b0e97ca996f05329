"""``keras.datasets``: ``load_data()`` with Keras's shapes and dtypes (uint8 images and
labels), read by nabla from nabla's cache or Keras's (``~/.keras/datasets`` or
``$KERAS_HOME/datasets``), downloaded and checked only when neither has them."""

from . import cifar10, fashion_mnist, mnist

__all__ = ["mnist", "fashion_mnist", "cifar10"]
