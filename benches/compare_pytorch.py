#!/usr/bin/env python3
"""nabla against PyTorch and (optionally) Keras on the issue's seven models, interleaved.

Each framework trains in its own process (so its peak memory is its own), on the same data,
with the same model, initializers, optimizer and batch size; the runs of one model alternate
nabla, PyTorch, Keras, round after round, so the machine's load falls on all of them alike.

Seconds per epoch, as Keras reports them: one pass over the training data plus an evaluation
of the 10,000 held-out samples. nabla times that itself (`history.epoch_seconds`); for the
peers it is their train-only epoch plus their warm predict of the 10,000 samples at batch
1000. `predict` is a warm in-process predict of the 10,000 held-out samples at batch 1000 for
every framework: the peers time a second `predict` after a first one; nabla's is the
`predict_seconds` that `nabla evaluate --batch-size 1000 --json` measures inside itself, a
predict pass after its evaluation pass has warmed the buffers (process start, data loading
and reading the model file are not counted, as for the peers). The best epoch of each run
and the best run are kept; quote the ratios, not the seconds: the machines here are shared
and noisy.

    python3 benches/compare_pytorch.py [--epochs 1] [--threads 2] [--rounds 1]
                                       [--models mlp_a,lenet5,...] [--no-keras]

Builds nabla first with `cargo build --release` (`scripts/test.sh` leaves a binary there
built with the tests' `poison-buffers` feature, which fills every recycled buffer with NaN:
5% of an MLP epoch's samples in perf), then needs numpy, and `pip install torch` (and
`tensorflow-cpu keras` for the Keras column, skipped with a message when missing). Data:
Debian's Fashion-MNIST (`apt-get install dataset-fashion-mnist`) for the 28x28x1 models;
random bytes in CIFAR-10's binary layout for the 32x32x3 ones (speed only), written once
under /tmp/nabla-bench-random-cifar10. LeNet-5 trains on all 50,000; the CIFAR MLP and the
batch-norm CNN on 40,000 with 10,000 held out (`--validation-split 0.2`).
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

FASHION = "/usr/share/datasets/fashion-mnist"
RANDOM_CIFAR = "/tmp/nabla-bench-random-cifar10/cifar-10-batches-bin"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NABLA = os.path.join(ROOT, "target", "release", "nabla")

# The CIFAR MLP has Dropout, which `nabla train --model mlp` does not take: it runs from an
# experiment file, as the lab does (labs/cifar10_mlp.toml).
MLP_CIFAR_TOML = """
name = "bench mlp_cifar"
[data]
source = "cifar10"
validation_split = 0.2
[model]
layers = [
  { type = "Flatten" },
  { type = "Dense", units = 512, activation = "relu" },
  { type = "Dropout", rate = 0.2 },
  { type = "Dense", units = 256, activation = "relu" },
  { type = "Dropout", rate = 0.2 },
  { type = "Dense", units = 10, activation = "softmax" },
]
[training]
optimizer = { type = "adam", learning_rate = 1e-3 }
loss = "categorical_crossentropy"
epochs = EPOCHS
batch_size = 64
[output]
plots = []
save_model = true
"""

# name -> (description, data, batch, nabla `train` flags or None for MLP_CIFAR_TOML)
# data: "fashion" (60k/10k), "cifar50k" (50k random / 10k), "cifar40k" (40k / 10k held out)
MODELS = {
    "mlp_a": ("mlp_a 784-128-10, Adam (F-MNIST, 32)", "fashion", 32,
              ["--data", "fashion-mnist", "--model", "mlp", "--hidden", "128"]),
    "mlp_b": ("mlp_b 784-128-64-10, Adam (128)", "fashion", 128,
              ["--data", "fashion-mnist", "--model", "mlp", "--hidden", "128,64"]),
    "mlp_c": ("mlp_c 784-500-300-10, L2 1e-4, SGD 0.1 (128)", "fashion", 128,
              ["--data", "fashion-mnist", "--model", "mlp", "--hidden", "500,300", "--l2", "1e-4",
               "--optimizer", "sgd", "--lr", "0.1"]),
    "cnn_mnist": ("cnn_mnist conv32-pool-conv64-pool-d128-drop-10, Adam (128)", "fashion", 128,
                  ["--data", "fashion-mnist", "--model", "cnn"]),
    "lenet5": ("lenet5 32x32x3, Adam (32)", "cifar50k", 32,
               ["--data", "random-cifar10", "--model", "lenet5"]),
    "mlp_cifar": ("mlp_cifar 3072-512-drop-256-drop-10, Adam (64, 40k)", "cifar40k", 64, None),
    "cnn_bn_cifar": ("cnn_bn_cifar 3x(conv3x3+ReLU+BN)+pools, d64+BN, Adam (32, 40k)", "cifar40k",
                     32, ["--data", "cifar10", "--data-dir", RANDOM_CIFAR, "--model", "cnn",
                          "--batch-norm", "--validation-split", "0.2"]),
}


def load_idx(path):
    import numpy as np

    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_random_cifar():
    """Random bytes in CIFAR-10's binary layout: five training batches and a test batch."""
    import numpy as np

    os.makedirs(RANDOM_CIFAR, exist_ok=True)
    rng = np.random.RandomState(0)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        path = os.path.join(RANDOM_CIFAR, name)
        if os.path.exists(path):
            continue
        records = rng.randint(0, 256, size=(10_000, 3073)).astype(np.uint8)
        records[:, 0] %= 10
        records.tofile(path + ".tmp")
        os.replace(path + ".tmp", path)


def peer_data(kind):
    """(x_train, y_train, x_test, y_test) as float32 NHWC in [0, 1] and int64 labels."""
    import numpy as np

    if kind == "fashion":
        x_train = load_idx(f"{FASHION}/train-images-idx3-ubyte.gz")[..., None]
        y_train = load_idx(f"{FASHION}/train-labels-idx1-ubyte.gz")
        x_test = load_idx(f"{FASHION}/t10k-images-idx3-ubyte.gz")[..., None]
        y_test = load_idx(f"{FASHION}/t10k-labels-idx1-ubyte.gz")
    else:
        rng = np.random.RandomState(1)
        n_train = 50_000 if kind == "cifar50k" else 40_000
        x_train = rng.randint(0, 256, size=(n_train, 32, 32, 3)).astype(np.uint8)
        y_train = rng.randint(0, 10, size=n_train)
        x_test = rng.randint(0, 256, size=(10_000, 32, 32, 3)).astype(np.uint8)
        y_test = rng.randint(0, 10, size=10_000)
    scale = lambda x: x.astype("float32") / 255
    return scale(x_train), y_train.astype("int64"), scale(x_test), y_test.astype("int64")


def torch_model(name):
    import torch.nn as nn

    relu = nn.ReLU
    if name == "mlp_a":
        layers = [nn.Flatten(), nn.Linear(784, 128), relu(), nn.Linear(128, 10)]
    elif name == "mlp_b":
        layers = [nn.Flatten(), nn.Linear(784, 128), relu(), nn.Linear(128, 64), relu(),
                  nn.Linear(64, 10)]
    elif name == "mlp_c":
        layers = [nn.Flatten(), nn.Linear(784, 500), relu(), nn.Linear(500, 300), relu(),
                  nn.Linear(300, 10)]
    elif name == "cnn_mnist":
        layers = [nn.Conv2d(1, 32, 3), relu(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), relu(),
                  nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), relu(), nn.Dropout(0.5),
                  nn.Linear(128, 10)]
    elif name == "lenet5":
        layers = [nn.Conv2d(3, 6, 5), relu(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), relu(),
                  nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), relu(), nn.Linear(120, 84),
                  relu(), nn.Linear(84, 10)]
    elif name == "mlp_cifar":
        layers = [nn.Flatten(), nn.Linear(3072, 512), relu(), nn.Dropout(0.2), nn.Linear(512, 256),
                  relu(), nn.Dropout(0.2), nn.Linear(256, 10)]
    elif name == "cnn_bn_cifar":
        # Keras's BatchNormalization: momentum 0.99 (PyTorch counts 1 - 0.99), epsilon 1e-3.
        bn2 = lambda c: nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)
        layers = [nn.Conv2d(3, 32, 3), relu(), bn2(32), nn.MaxPool2d(2),
                  nn.Conv2d(32, 64, 3), relu(), bn2(64), nn.MaxPool2d(2),
                  nn.Conv2d(64, 64, 3), relu(), bn2(64), nn.Flatten(),
                  nn.Linear(1024, 64), relu(), nn.BatchNorm1d(64, eps=1e-3, momentum=0.01),
                  nn.Linear(64, 10)]
    else:
        raise ValueError(name)
    model = nn.Sequential(*layers)
    # Keras's defaults: glorot-uniform kernels, zero biases.
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def run_torch(name, epochs, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    _, kind, batch, _ = MODELS[name]
    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in peer_data(kind))
    # NHWC -> NCHW for PyTorch's convolutions (the MLPs flatten either way).
    x_train, x_test = x_train.permute(0, 3, 1, 2).contiguous(), x_test.permute(0, 3, 1, 2).contiguous()
    model = torch_model(name)
    if name == "mlp_c":
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    kernels = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    loss_fn = torch.nn.CrossEntropyLoss()
    train_seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(x_train), batch):
            idx = perm[i : i + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            if name == "mlp_c":  # Keras's L2: 1e-4 * sum of squared kernel weights
                loss = loss + 1e-4 * sum((w * w).sum() for w in kernels)
            loss.backward()
            optimizer.step()
        train_seconds.append(time.perf_counter() - start)

    def predict():
        model.eval()
        with torch.no_grad():
            return torch.cat([model(x_test[i : i + 1000]).argmax(1) for i in range(0, len(x_test), 1000)])

    predict()
    start = time.perf_counter()
    predicted = predict()
    predict_seconds = time.perf_counter() - start
    accuracy = (predicted == y_test).float().mean().item()
    print(json.dumps({"train_seconds": train_seconds, "predict_seconds": predict_seconds,
                      "test_accuracy": accuracy}))


def keras_model(name):
    import keras
    from keras import layers as L

    if name in ("mlp_a", "mlp_b", "mlp_c"):
        hidden = {"mlp_a": [128], "mlp_b": [128, 64], "mlp_c": [500, 300]}[name]
        reg = keras.regularizers.L2(1e-4) if name == "mlp_c" else None
        layers = [keras.Input((28, 28, 1)), L.Flatten()]
        layers += [L.Dense(h, activation="relu", kernel_regularizer=reg) for h in hidden]
        layers += [L.Dense(10, activation="softmax", kernel_regularizer=reg)]
    elif name == "cnn_mnist":
        layers = [keras.Input((28, 28, 1)), L.Conv2D(32, 3, activation="relu"), L.MaxPooling2D(),
                  L.Conv2D(64, 3, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                  L.Dense(128, activation="relu"), L.Dropout(0.5), L.Dense(10, activation="softmax")]
    elif name == "lenet5":
        layers = [keras.Input((32, 32, 3)), L.Conv2D(6, 5, activation="relu"), L.MaxPooling2D(),
                  L.Conv2D(16, 5, activation="relu"), L.MaxPooling2D(), L.Flatten(),
                  L.Dense(120, activation="relu"), L.Dense(84, activation="relu"),
                  L.Dense(10, activation="softmax")]
    elif name == "mlp_cifar":
        layers = [keras.Input((32, 32, 3)), L.Flatten(), L.Dense(512, activation="relu"),
                  L.Dropout(0.2), L.Dense(256, activation="relu"), L.Dropout(0.2),
                  L.Dense(10, activation="softmax")]
    elif name == "cnn_bn_cifar":
        layers = [keras.Input((32, 32, 3)),
                  L.Conv2D(32, 3, activation="relu"), L.BatchNormalization(), L.MaxPooling2D(),
                  L.Conv2D(64, 3, activation="relu"), L.BatchNormalization(), L.MaxPooling2D(),
                  L.Conv2D(64, 3, activation="relu"), L.BatchNormalization(), L.Flatten(),
                  L.Dense(64, activation="relu"), L.BatchNormalization(),
                  L.Dense(10, activation="softmax")]
    else:
        raise ValueError(name)
    return keras.Sequential(layers)


def run_keras(name, epochs, threads):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    keras.utils.set_random_seed(0)
    _, kind, batch, _ = MODELS[name]
    x_train, y_train, x_test, y_test = peer_data(kind)
    model = keras_model(name)
    optimizer = keras.optimizers.SGD(0.1) if name == "mlp_c" else keras.optimizers.Adam(1e-3)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    train_seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=batch, epochs=1, verbose=0)
        train_seconds.append(time.perf_counter() - start)
    model.predict(x_test, batch_size=1000, verbose=0)
    start = time.perf_counter()
    predicted = model.predict(x_test, batch_size=1000, verbose=0).argmax(1)
    predict_seconds = time.perf_counter() - start
    print(json.dumps({"train_seconds": train_seconds, "predict_seconds": predict_seconds,
                      "test_accuracy": float((predicted == y_test).mean())}))


# Forks `argv[2:]`, waits, and writes the child's own peak RSS (kB) to `argv[1]`. A child
# spawned from this harness directly would report at least the harness's own peak: Linux
# keeps the high-water mark of the address space a process leaves at exec, and a vforked or
# forked child leaves this interpreter's (a 400 MB harness gave /bin/true 413 MB). This
# launcher starts fresh and small, so its child's figure is the child's alone.
LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def measure(cmd, env=None):
    """Runs cmd; returns (its stdout, its own peak RSS in MB, wall seconds)."""
    start = time.perf_counter()
    # Both streams to files: a pipe nobody reads while waiting would block a chatty child.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as errors, \
            tempfile.NamedTemporaryFile("r") as peak:
        launched = [sys.executable, "-c", LAUNCHER, peak.name, *cmd]
        child = subprocess.run(launched, stdout=out, stderr=errors, env=env)
        seconds = time.perf_counter() - start
        errors.seek(0)
        err = errors.read().decode(errors="replace")
        if child.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({child.returncode}):\n{err[-3000:]}")
        out.seek(0)
        return out.read().decode(), int(peak.read()) / 1024, seconds


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def run_nabla(name, epochs, threads, workdir):
    """(best seconds per epoch, predict seconds, peak MB of training)."""
    _, kind, batch, flags = MODELS[name]
    model_file = os.path.join(workdir, f"{name}.safetensors")
    common = ["--threads", str(threads), "--quiet"]
    if flags is None:
        toml = os.path.join(workdir, f"{name}.toml")
        with open(toml, "w") as f:
            f.write(MLP_CIFAR_TOML.replace("EPOCHS", str(epochs)))
        out_dir = os.path.join(workdir, f"{name}-run")
        out, mb, _ = measure([NABLA, "run", toml, "--data-dir", RANDOM_CIFAR, "--out", out_dir,
                              *common, "--json"])
        # `nabla run --json`: {"out": dir, "runs": [{"name", "out", "history", ...}, ...]}
        run = last_json(out)["runs"][0]
        seconds = run["history"]["epoch_seconds"]
        model_file = os.path.join(run["out"], "model.safetensors")
    else:
        cmd = [NABLA, "train", *flags, "--epochs", str(epochs), "--batch-size", str(batch),
               *common, "--json", "--no-out", "--save", model_file]
        out, mb, _ = measure(cmd)
        seconds = last_json(out)["history"]["epoch_seconds"]
    data = (["--data", "fashion-mnist"] if kind == "fashion"
            else ["--data", "cifar10", "--data-dir", RANDOM_CIFAR])
    if kind == "cifar40k":
        data += ["--validation-split", "0.2"]
    out, _, _ = measure([NABLA, "evaluate", "--model-file", model_file, *data,
                         "--threads", str(threads), "--batch-size", "1000", "--json"])
    return min(seconds), last_json(out)["predict_seconds"], mb


def run_peer(framework, name, epochs, threads):
    cmd = [sys.executable, __file__, f"--{framework}-worker", name, "--epochs", str(epochs),
           "--threads", str(threads)]
    out, mb, _ = measure(cmd)
    result = last_json(out)
    return min(result["train_seconds"]) + result["predict_seconds"], result["predict_seconds"], mb


def have(module):
    return subprocess.run([sys.executable, "-c", f"import {module}"],
                          capture_output=True).returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds; the best is kept")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--torch-worker", help=argparse.SUPPRESS)
    parser.add_argument("--keras-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker:
        return run_torch(args.torch_worker, args.epochs, args.threads)
    if args.keras_worker:
        return run_keras(args.keras_worker, args.epochs, args.threads)
    build = subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT)
    if build.returncode != 0 or not os.path.exists(NABLA):
        sys.exit(f"`cargo build --release` failed; {NABLA} is needed")
    if not os.path.isdir(FASHION):
        sys.exit(f"{FASHION} is missing: apt-get install dataset-fashion-mnist")
    names = args.models.split(",")
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        sys.exit(f"unknown models {unknown}; known: {', '.join(MODELS)}")
    peers = ["torch"] if have("torch") else []
    if not peers:
        print("PyTorch is not installed (pip install torch): its column is skipped")
    if not args.no_keras:
        if have("keras") and have("tensorflow"):
            peers.append("keras")
        else:
            print("Keras/TensorFlow are not installed: the Keras column is skipped")
    write_random_cifar()

    print(f"{args.epochs} epoch(s), {args.threads} threads, {args.rounds} interleaved round(s); "
          "seconds per epoch (train + 10k evaluation), best of each")
    header = (f"| model | nabla | " + " | ".join(peers) + " | nabla / best peer | predict 10k: nabla | "
              + " | ".join(peers) + " | peak MB: nabla | " + " | ".join(peers) + " |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    with tempfile.TemporaryDirectory() as workdir:
        for name in names:
            best = {}
            for _ in range(args.rounds):
                runs = {"nabla": run_nabla(name, args.epochs, args.threads, workdir)}
                for peer in peers:
                    runs[peer] = run_peer(peer, name, args.epochs, args.threads)
                for who, (epoch, predict, mb) in runs.items():
                    old = best.get(who)
                    best[who] = (min(epoch, old[0]), min(predict, old[1]), max(mb, old[2])) if old else (epoch, predict, mb)
            n = best["nabla"]
            ratio = n[0] / min(best[p][0] for p in peers) if peers else float("nan")
            row = [MODELS[name][0], f"{n[0]:.2f}"] + [f"{best[p][0]:.2f}" for p in peers]
            row += [f"**{ratio:.2f}**", f"{n[1]:.3f}"] + [f"{best[p][1]:.3f}" for p in peers]
            row += [f"{n[2]:.0f}"] + [f"{best[p][2]:.0f}" for p in peers]
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
