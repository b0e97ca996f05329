# The README's "From Python" example (tests/test_quickstart.py runs it).
import nabla as tf

(x_train, y_train), (x_test, y_test) = tf.mnist_sample()  # nabla's built-in digits; or
# tf.keras.datasets.mnist.load_data() (Keras's cache, nabla's cache, then a download)
x_train, x_test = x_train / 255.0, x_test / 255.0
model = tf.keras.Sequential([
    tf.keras.layers.Input(shape=(28, 28)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation="relu"),
    tf.keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=5, validation_data=(x_test, y_test))
model.summary()
report = model.report(x_test, y_test)  # in Jupyter, the last line of a cell shows it inline
