from ._load import load


def load_data():
    """((x_train, y_train), (x_test, y_test)): uint8 arrays of shape (n, 28, 28) and (n,)."""
    (x_train, y_train), (x_test, y_test) = load("fashion-mnist")
    return (x_train.reshape(-1, 28, 28), y_train), (x_test.reshape(-1, 28, 28), y_test)
