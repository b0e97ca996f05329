"""How much the Python layer costs: the same training from Python (nabla.keras), from the
`nabla` binary, and on Keras/TensorFlow (and PyTorch when installed), same data, one run
each (the best of --repeats, binary and nabla.keras interleaved; tf.keras and PyTorch the
best of --other-repeats), on nabla's built-in 4,000/1,000-digit MNIST sample.

    python python/benchmarks/bench_fit.py --nabla-bin target/release/nabla [--repeats 5]

Timed: the training loop with validation on the test set after each epoch. For the binary
that is the sum of its per-epoch seconds (`--json`'s history), for Python the wall time of
`model.fit` (everything the Python layer adds: array hand-over, progress calls, history).
"""

import argparse
import json
import subprocess
import sys
import time

import numpy as np

import nabla

MODELS = {
    # name: (CLI flags, epochs)
    "mlp": (["--model", "mlp", "--hidden", "128"], 5),
    "cnn": (["--model", "cnn"], 1),
}


def data():
    (x, y), (xt, yt) = nabla._nabla.mnist_sample()
    return (x.astype("float32") / 255, y), (xt.astype("float32") / 255, yt)


def keras_model(keras, name):
    L = keras.layers
    if name == "mlp":
        stack = [L.Input(shape=(28, 28, 1)), L.Flatten(), L.Dense(128, activation="relu")]
    else:
        stack = [L.Input(shape=(28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(2),
                 L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(2), L.Flatten(),
                 L.Dense(128, activation="relu"), L.Dropout(0.5)]
    model = keras.models.Sequential(stack + [L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def time_keras(keras, name, epochs, d):
    (x, y), (xt, yt) = d
    model = keras_model(keras, name)
    y1, yt1 = keras.utils.to_categorical(y, 10), keras.utils.to_categorical(yt, 10)
    start = time.perf_counter()
    model.fit(x, y1, epochs=epochs, batch_size=32, validation_data=(xt, yt1), verbose=0)
    return time.perf_counter() - start


def time_binary(binary, name, epochs):
    flags, _ = MODELS[name]
    out = subprocess.run([binary, "train", "--data", "mnist-sample", *flags, "--epochs", str(epochs),
                          "--batch-size", "32", "--no-out", "--quiet", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return sum(json.loads(out)["history"]["epoch_seconds"])


def time_torch(name, epochs, d):
    import torch
    from torch import nn
    (x, y), (xt, yt) = d
    if name == "mlp":
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    else:
        net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128),
                            nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
    X, Y = torch.tensor(x.transpose(0, 3, 1, 2)), torch.tensor(y.astype("int64"))
    XT, YT = torch.tensor(xt.transpose(0, 3, 1, 2)), torch.tensor(yt.astype("int64"))
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for _ in range(epochs):
        net.train()
        for idx in torch.randperm(len(X)).split(32):
            opt.zero_grad()
            loss_fn(net(X[idx]), Y[idx]).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            loss_fn(net(XT), YT).item()
    return time.perf_counter() - start


def other(framework, name, epochs, repeats):
    """Keras/TensorFlow or PyTorch timings in a child process (the two do not load into
    one process: their LLVM copies collide)."""
    out = subprocess.run([sys.executable, __file__, "--framework", framework, "--model", name,
                          "--epochs", str(epochs), "--repeats", str(repeats)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None
    return float(out.stdout.strip().splitlines()[-1])


def child(args):
    d = data()
    if args.framework == "keras":
        import tensorflow as tf
        run = lambda: time_keras(tf.keras, args.model, args.epochs, d)
    else:
        run = lambda: time_torch(args.model, args.epochs, d)
    print(min(run() for _ in range(args.repeats)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nabla-bin")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--other-repeats", type=int, default=1, help="runs of tf.keras and PyTorch")
    ap.add_argument("--framework", choices=["keras", "torch"])
    ap.add_argument("--model")
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--nabla-only", action="store_true", help="only the binary and nabla.keras")
    args = ap.parse_args()
    if args.framework:
        return child(args)
    d = data()
    for name, (_, epochs) in MODELS.items():
        # Interleaved (binary, nabla.keras, binary, ...) so a busy spell on a shared machine
        # falls on both; the best of each is compared.
        times = {"binary": [], "nabla.keras": []}
        for _ in range(args.repeats):
            times["binary"].append(time_binary(args.nabla_bin, name, epochs))
            times["nabla.keras"].append(time_keras(nabla.keras, name, epochs, d))
        row = {k: min(v) for k, v in times.items()}
        if not args.nabla_only:
            row["tf.keras"] = other("keras", name, epochs, args.other_repeats)
            row["pytorch"] = other("torch", name, epochs, args.other_repeats)
        print(f"{name} all runs: " + "; ".join(
            f"{k} " + " ".join(f"{t:.2f}" for t in v) for k, v in times.items()), flush=True)
        base = row["binary"]
        print(f"{name} ({epochs} epochs): " + ", ".join(
            f"{k} {v:.2f}s ({v / base:.3f}x)" if v is not None else f"{k} not available"
            for k, v in row.items()), flush=True)


if __name__ == "__main__":
    main()
