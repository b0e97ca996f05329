"""The same script on tensorflow.keras and on nabla.keras, same data: equal parameter counts
and test accuracy within one percentage point, averaged over three seeds (784-128-10 MLP,
Adam, categorical cross-entropy, batch 32, on nabla's 5,000-digit MNIST sample)."""

import numpy as np
import pytest

import nabla

tf = pytest.importorskip("tensorflow", reason="tensorflow (Keras from PyPI) is not installed")

SEEDS = (0, 1, 2)
EPOCHS = 5


def script(keras, set_seed, seed, data):
    """What a notebook does, written once for either library."""
    (x_train, y_train), (x_test, y_test) = data
    set_seed(seed)
    model = keras.models.Sequential([
        keras.layers.Input(shape=(28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, keras.utils.to_categorical(y_train, 10), epochs=EPOCHS, batch_size=32,
              verbose=0)
    _, accuracy = model.evaluate(x_test, keras.utils.to_categorical(y_test, 10), verbose=0)
    return model.count_params(), accuracy


def test_mlp_matches_keras_within_one_point():
    (x_train, y_train), (x_test, y_test) = nabla._nabla.mnist_sample()
    data = ((x_train.reshape(-1, 28, 28).astype("float32") / 255, y_train),
            (x_test.reshape(-1, 28, 28).astype("float32") / 255, y_test))
    ours = [script(nabla.keras, nabla.random.set_seed, s, data) for s in SEEDS]
    theirs = [script(tf.keras, tf.keras.utils.set_random_seed, s, data) for s in SEEDS]
    assert {p for p, _ in ours} == {p for p, _ in theirs} == {101_770}
    ours_acc = np.mean([a for _, a in ours])
    theirs_acc = np.mean([a for _, a in theirs])
    print(f"test accuracy over seeds {SEEDS}: nabla {ours_acc:.4f}, keras {theirs_acc:.4f}")
    assert ours_acc > 0.85
    assert abs(ours_acc - theirs_acc) < 0.01
