#!/usr/bin/env python3
"""nabla against PyTorch on the same models and data, in one run.

Each framework trains in its own process (so peak memory is its own), on the same data, with
the same model, optimizer and batch size, and is timed per epoch the way Keras times one:
a pass over the training set plus an evaluation on the test set.

    python3 benches/compare_pytorch.py [--epochs 2] [--threads 2] [--models mlp,cnn,lenet5]

Needs `pip install torch numpy` and a release build (`cargo build --release`). Uses Debian's
Fashion-MNIST (`apt-get install dataset-fashion-mnist`); LeNet-5 trains on 50,000 random
32x32x3 images (nabla's benchmark-only `--data random-cifar10`, the same shape for PyTorch),
since only the speed is measured. Machines here are shared and noisy: quote the ratio, not
the seconds.
"""
import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import time

FASHION = "/usr/share/datasets/fashion-mnist"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NABLA = os.path.join(ROOT, "target", "release", "nabla")

# name -> (nabla flags, batch size, description)
MODELS = {
    "mlp": (["--data", "fashion-mnist", "--model", "mlp", "--hidden", "128"], 32,
            "784-128-10 MLP, Adam, batch 32"),
    "cnn": (["--data", "fashion-mnist", "--model", "cnn"], 128, "MNIST CNN, Adam, batch 128"),
    "lenet5": (["--data", "random-cifar10", "--model", "lenet5"], 32,
               "LeNet-5 random 32x32x3, batch 32"),
}


def load_idx(path):
    import numpy as np

    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def torch_model(name):
    import torch.nn as nn

    if name == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    if name == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    if name == "lenet5":
        return nn.Sequential(
            nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10))
    raise ValueError(name)


def run_torch(name, epochs, threads):
    """Trains in this process and prints {"epoch_seconds": [...]} as JSON."""
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if "random-cifar10" in MODELS[name][0]:
        # Random pixels in CIFAR-10's shape, as nabla's --data random-cifar10 (NCHW here).
        x_train, x_test = torch.rand(50_000, 3, 32, 32), torch.rand(10_000, 3, 32, 32)
        y_train, y_test = torch.randint(0, 10, (50_000,)), torch.randint(0, 10, (10_000,))
    else:
        x_train = torch.from_numpy(load_idx(f"{FASHION}/train-images-idx3-ubyte.gz").copy()).float() / 255
        y_train = torch.from_numpy(load_idx(f"{FASHION}/train-labels-idx1-ubyte.gz").astype("int64"))
        x_test = torch.from_numpy(load_idx(f"{FASHION}/t10k-images-idx3-ubyte.gz").copy()).float() / 255
        y_test = torch.from_numpy(load_idx(f"{FASHION}/t10k-labels-idx1-ubyte.gz").astype("int64"))
        x_train, x_test = x_train.unsqueeze(1), x_test.unsqueeze(1)  # NCHW for the CNNs
    model = torch_model(name)
    batch = MODELS[name][1]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(x_train), batch):
            idx = perm[i : i + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            correct = 0
            for i in range(0, len(x_test), 256):
                correct += (model(x_test[i : i + 256]).argmax(1) == y_test[i : i + 256]).sum().item()
        seconds.append(time.perf_counter() - start)
    print(json.dumps({"epoch_seconds": seconds, "test_accuracy": correct / len(x_test)}))


def child_peak_mb():
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def measure(cmd):
    """Runs cmd, returns (its JSON output, its peak RSS in MB)."""
    before = child_peak_mb()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    peak = child_peak_mb()
    # ru_maxrss of children is a running maximum: report it only when this child raised it.
    return json.loads(out.strip().splitlines()[-1]), (peak if peak > before else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--torch-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker:
        return run_torch(args.torch_worker, args.epochs, args.threads)
    if not os.path.exists(NABLA):
        sys.exit(f"{NABLA} is missing: run `cargo build --release` first")
    if not os.path.isdir(FASHION):
        sys.exit(f"{FASHION} is missing: apt-get install dataset-fashion-mnist")

    print(f"{args.epochs} epochs, {args.threads} threads; best epoch of each run")
    print(f"{'model':<34} {'nabla s/epoch':>13} {'torch s/epoch':>13} {'torch/nabla':>11} {'nabla MB':>9} {'torch MB':>9}")
    for name in args.models.split(","):
        flags, batch, description = MODELS[name]
        nabla_cmd = [NABLA, "train", *flags, "--epochs", str(args.epochs),
                     "--batch-size", str(batch), "--threads", str(args.threads), "--json", "--quiet", "--no-out"]
        torch_cmd = [sys.executable, __file__, "--torch-worker", name, "--epochs", str(args.epochs),
                     "--threads", str(args.threads)]
        nabla_out, nabla_mb = measure(nabla_cmd)
        torch_out, torch_mb = measure(torch_cmd)
        n = min(nabla_out["history"]["epoch_seconds"])
        t = min(torch_out["epoch_seconds"])
        fmt = lambda mb: f"{mb:9.0f}" if mb else f"{'n/a':>9}"
        print(f"{description:<34} {n:13.3f} {t:13.3f} {t / n:11.2f} {fmt(nabla_mb)} {fmt(torch_mb)}")


if __name__ == "__main__":
    main()
