"""``tf.GradientTape`` on nabla: the gradients the notebook pattern returns equal
TensorFlow's on the same weights and batch, and misuse fails clearly."""

import numpy as np
import pytest

import nabla
import nabla as tf_nabla
from nabla.keras import layers, losses, models


def mlp(dropout=False):
    tf_nabla.random.set_seed(7)
    stack = [layers.Input(shape=(8,)), layers.Dense(16, activation="relu")]
    if dropout:
        stack.append(layers.Dropout(0.5))
    stack.append(layers.Dense(4, activation="softmax"))
    return models.Sequential(stack)


def batch(n=12):
    rng = np.random.RandomState(3)
    x = rng.randn(n, 8).astype("float32")
    y = np.eye(4, dtype="float32")[rng.randint(0, 4, n)]
    return x, y


def tape_grads(model, x, y, loss):
    with tf_nabla.GradientTape() as tape:
        pred = model(x)
        value = loss(y, pred)
    return value, tape.gradient(value, model.trainable_variables)


def test_gradients_equal_tensorflows():
    tf = pytest.importorskip("tensorflow", reason="tensorflow is not installed")
    model = mlp(dropout=True)  # model(x) is inference mode: dropout is off in both
    x, y = batch()
    for ours_loss, their_loss in ((losses.CategoricalCrossentropy(), tf.keras.losses.CategoricalCrossentropy()),
                                  (losses.MeanSquaredError(), tf.keras.losses.MeanSquaredError())):
        value, grads = tape_grads(model, x, y, ours_loss)
        keras_model = tf.keras.Sequential([tf.keras.Input((8,)), tf.keras.layers.Dense(16, activation="relu"),
                                           tf.keras.layers.Dropout(0.5),
                                           tf.keras.layers.Dense(4, activation="softmax")])
        keras_model.set_weights(model.get_weights())
        with tf.GradientTape() as tape:
            their_value = their_loss(y, keras_model(x))
        theirs = tape.gradient(their_value, keras_model.trainable_variables)
        assert float(value) == pytest.approx(float(their_value), rel=1e-5)
        for g, t in zip(grads, theirs):
            assert isinstance(g, np.ndarray)
            np.testing.assert_allclose(g, t.numpy(), rtol=1e-4, atol=1e-6)


def numpy_loss(weights, x, y):
    """The MLP's categorical cross-entropy in float64 numpy: relu(x W1 + b1) W2 + b2, softmax."""
    w1, b1, w2, b2 = weights
    h = np.maximum(x @ w1 + b1, 0)
    z = h @ w2 + b2
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return -np.mean(np.sum(y * np.log(p), axis=1))


def test_gradients_match_finite_differences():
    model = mlp()
    x, y = batch()
    _, grads = tape_grads(model, x, y, losses.CategoricalCrossentropy())
    weights = [w.astype("float64") for w in model.get_weights()]
    x64, y64 = x.astype("float64"), y.astype("float64")
    eps = 1e-6
    rng = np.random.RandomState(0)
    for k in range(4):
        for _ in range(5):
            idx = tuple(rng.randint(0, d) for d in weights[k].shape)
            plus = [w.copy() for w in weights]
            minus = [w.copy() for w in weights]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            numeric = (numpy_loss(plus, x64, y64) - numpy_loss(minus, x64, y64)) / (2 * eps)
            assert grads[k][idx] == pytest.approx(numeric, rel=1e-3, abs=1e-6)


def test_loss_outside_the_tape_has_no_gradient():
    model = mlp()
    x, y = batch()
    value = losses.CategoricalCrossentropy()(y, model(x))
    with tf_nabla.GradientTape() as tape:
        pass
    with pytest.raises(NotImplementedError, match="loss object called on model"):
        tape.gradient(value, model.trainable_variables)


def test_a_tape_gives_its_gradients_once():
    model = mlp()
    x, y = batch()
    with tf_nabla.GradientTape() as tape:
        value = losses.CategoricalCrossentropy()(y, model(x))
    tape.gradient(value, model.trainable_variables)
    with pytest.raises(RuntimeError, match="only be used to compute one set"):
        tape.gradient(value, model.trainable_variables)
