"""Keras's progress output, printed from Python so it reaches a notebook cell:

    Epoch 1/10
    375/375 [==============================] - 4s 8ms/step - loss: 0.3666 - accuracy: 0.8961 - ...

``verbose=1`` redraws a live bar with ``\\r`` (as Keras does, in a terminal and in Jupyter),
``verbose=2`` prints one line per epoch, ``verbose=0`` nothing.
"""

import sys
import time

BAR = 30


def per_step(seconds, steps):
    t = seconds / max(steps, 1)
    if t >= 1:
        return f"{t:.0f}s/step"
    if t >= 1e-3:
        return f"{t * 1e3:.0f}ms/step"
    return f"{t * 1e6:.0f}us/step"


def metrics_text(logs):
    return "".join(f" - {k}: {v:.4f}" for k, v in logs.items())


def bar(step, steps):
    done = int(BAR * step / max(steps, 1))
    if step >= steps:
        return "[" + "=" * BAR + "]"
    return "[" + "=" * max(done - 1, 0) + (">" if done else "") + "." * (BAR - done) + "]"


def write(text):
    sys.stdout.write(text)
    sys.stdout.flush()


class FitProgress:
    """The object nabla's fit calls between batches (``on_batch_end``, ``on_epoch_end``)."""

    def __init__(self, verbose, epochs):
        self.verbose = verbose
        self.epochs = epochs
        self.start = None
        self.width = 0

    def on_batch_end(self, epoch, step, steps, loss):
        if step == 1 or self.start is None:
            self.start = time.perf_counter()
            if self.verbose:
                write(f"Epoch {epoch + 1}/{self.epochs}\n")
        if self.verbose == 1:
            elapsed = time.perf_counter() - self.start
            eta = elapsed / step * (steps - step)
            line = f"{step:>{len(str(steps))}}/{steps} {bar(step, steps)} - ETA: {eta:.0f}s - loss: {loss:.4f}"
            write("\r" + line.ljust(self.width))
            self.width = len(line)
        self.steps = steps

    def on_epoch_end(self, epoch, logs, seconds):
        if not self.verbose:
            return
        steps = getattr(self, "steps", 0)
        if self.verbose == 1:
            line = (f"{steps}/{steps} {bar(steps, steps)} - {seconds:.0f}s "
                    f"{per_step(seconds, steps)}{metrics_text(logs)}")
            write("\r" + line.ljust(self.width) + "\n")
        else:
            write(f"{steps}/{steps} - {seconds:.0f}s{metrics_text(logs)} - "
                  f"{seconds:.0f}s/epoch - {per_step(seconds, steps)}\n")
        self.start = None
        self.width = 0


def summary_line(verbose, steps, seconds, logs):
    """The line ``evaluate`` and ``predict`` print."""
    if verbose == 1:
        write(f"{steps}/{steps} {bar(steps, steps)} - {seconds:.0f}s {per_step(seconds, steps)}"
              f"{metrics_text(logs)}\n")
    elif verbose == 2:
        write(f"{steps}/{steps} - {seconds:.0f}s - {per_step(seconds, steps)}{metrics_text(logs)}\n")
