from ._load import load


def load_data(path="mnist.npz"):
    """((x_train, y_train), (x_test, y_test)): uint8 arrays of shape (n, 28, 28) and (n,)."""
    if path != "mnist.npz":
        raise NotImplementedError("mnist.load_data(path=...): nabla reads Keras's cache or its own")
    (x_train, y_train), (x_test, y_test) = load("mnist")
    return (x_train.reshape(-1, 28, 28), y_train), (x_test.reshape(-1, 28, 28), y_test)
