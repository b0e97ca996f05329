"""A real notebook run by a Jupyter kernel (nbclient + ipykernel): it trains with the
live progress bar, plots, and shows a run report inline, with no errors in its outputs."""

import sys

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is not installed")
nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed")
pytest.importorskip("ipykernel", reason="ipykernel is not installed")

CELLS = [
    "%matplotlib inline\n"
    "import nabla as tf\n"
    "from nabla.keras.datasets import mnist\n"
    "from nabla.keras.utils import to_categorical\n"
    "(x_train, y_train), (x_test, y_test) = mnist.load_data()\n"
    "x_train, x_test = x_train / 255.0, x_test / 255.0",

    "tf.random.set_seed(0)\n"
    "model = tf.keras.Sequential([tf.keras.layers.Input(shape=(28, 28)),\n"
    "                             tf.keras.layers.Flatten(),\n"
    "                             tf.keras.layers.Dense(64, activation='relu'),\n"
    "                             tf.keras.layers.Dense(10, activation='softmax')])\n"
    "model.compile(optimizer='adam', loss='categorical_crossentropy', metrics=['accuracy'])\n"
    "history = model.fit(x_train, to_categorical(y_train), epochs=2, validation_split=0.1)",

    "import matplotlib.pyplot as plt\n"
    "plt.plot(history.history['loss'], label='loss')\n"
    "plt.plot(history.history['val_loss'], label='val_loss')\n"
    "plt.legend(); plt.show()",

    "model.report(x_test, y_test)",
]


def test_notebook_runs_in_a_kernel(keras_home):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(keras_home)}})
    client.execute()
    outputs = [o for cell in nb.cells for o in cell.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors
    stream = "".join(o.get("text", "") for o in nb.cells[1].outputs if o.output_type == "stream")
    assert "Epoch 1/2" in stream and "Epoch 2/2" in stream
    # Keras 3's bar, as Keras writes it into a notebook: ANSI bold and colours, "━" bars.
    assert "\x1b[1m113/113\x1b[0m \x1b[32m" + "━" * 20 in stream and "val_accuracy" in stream
    assert any("image/png" in o.get("data", {}) for o in nb.cells[2].outputs)
    html = [o["data"]["text/html"] for o in nb.cells[3].outputs if "text/html" in o.get("data", {})]
    assert html and "<iframe" in html[0] and "Confusion matrix" in html[0]
