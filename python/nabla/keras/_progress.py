"""Keras 3's progress output (``keras.utils.Progbar`` as ``fit``, ``evaluate`` and ``predict``
use it), printed from Python so it reaches a notebook cell:

    Epoch 1/10
    1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.8796 - loss: 0.4189 - val_accuracy: ...

``verbose=1`` redraws a live bar after each batch: backspaces over the previous line, ``\\r``,
the step count in bold, the bar in green and grey, the ETA (the elapsed time once finished),
the time per step and the running metrics, exactly the bytes Keras writes (Keras writes the
same in a terminal, a pipe and Jupyter, which renders the colours). ``verbose=2`` prints one
line per epoch (``1875/1875 - 3s - 1ms/step - accuracy: ... - loss: ...``), ``verbose=0``
nothing. ``Epoch i/n`` heads each epoch when there is more than one, as in Keras.
"""

import math
import sys
import time

WIDTH = 20  # Keras's Progbar width
INTERVAL = 0.05  # Keras's Progbar interval (seconds)


def write(text):
    sys.stdout.write(text)
    sys.stdout.flush()


def per_step(seconds):
    """Keras's ``_format_time``: ``" 12ms/step"``."""
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/step"
    return f" {seconds * 1e6:.0f}us/step"


def metrics_text(logs, absolute=True):
    out = ""
    for k, v in logs.items():
        small = abs(v) <= 1e-3 if absolute else v <= 1e-3
        out += f" - {k}: {v:.4e}" if small else f" - {k}: {v:.4f}"
    return out


def eta_text(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


def bar_line(step, steps, timing, logs):
    """The live line and its printed width (escape sequences not counted)."""
    digits = int(math.log10(steps)) + 1
    count = f"%{digits}d/%d" % (step, steps)
    done = int(WIDTH * step / steps)
    bar = f"\x1b[1m{count}\x1b[0m "
    special = 8
    if done > 0:
        bar += f"\x1b[32m{'━' * done}\x1b[0m"
        special += 9
    bar += f"\x1b[37m{'━' * (WIDTH - done)}\x1b[0m"
    special += 9
    info = f" \x1b[1m{timing}\x1b[0m"
    special += 8
    return bar, info, special


class Progbar:
    """One epoch's (or one evaluate's) bar, as Keras's ``Progbar`` draws it."""

    def __init__(self, steps, verbose, start=None):
        self.steps = max(int(steps), 1)
        self.verbose = verbose
        self.start = time.time() if start is None else start
        self.after_first = None
        self.last_update = 0.0
        self.prev_width = 0

    def _step_time(self, step, now):
        if step and self.after_first is not None and step > 1:
            t = (now - self.after_first) / (step - 1)
        elif step:
            t = (now - self.start) / step
        else:
            t = 0.0
        if step == 1:
            self.after_first = now
        return t

    def update(self, step, logs, finalize=False):
        now = time.time()
        t = self._step_time(step, now)
        if self.verbose == 1:
            if now - self.last_update < INTERVAL and not finalize:
                return
            message = "\b" * self.prev_width + "\r"
            timing = f"{now - self.start:.0f}s" if finalize else eta_text(t * (self.steps - step))
            bar, info, special = bar_line(step, self.steps, timing, logs)
            info += per_step(t) + metrics_text(logs)
            width = len(bar) + len(info) - special
            message += bar + info
            if self.prev_width > width:
                message += " " * (self.prev_width - width)
            if finalize:
                message += "\n"
            write(message)
            self.prev_width = width
        elif self.verbose == 2 and finalize:
            digits = int(math.log10(self.steps)) + 1
            count = f"%{digits}d/%d" % (step, self.steps)
            write(f"{count} - {now - self.start:.0f}s -{per_step(t)}"
                  f"{metrics_text(logs, absolute=False)}\n")
        self.last_update = now


class FitProgress:
    """The object nabla's ``fit`` calls between batches (``on_batch_end`` with the epoch's
    running loss and accuracy) and after each epoch (``on_epoch_end`` with its logs);
    ``shown`` turns nabla's logs into the ones Keras would show, in Keras's order."""

    def __init__(self, verbose, epochs, shown):
        self.verbose = verbose
        self.epochs = epochs
        self.shown = shown
        self.bar = None
        self.epoch_start = time.time()

    def _begin(self, epoch, steps):
        self.bar = Progbar(steps, self.verbose, start=self.epoch_start)
        if self.verbose and self.epochs > 1:
            write(f"Epoch {epoch + 1}/{self.epochs}\n")

    def on_batch_end(self, epoch, step, steps, loss, accuracy):
        if self.bar is None:
            self._begin(epoch, steps)
        if self.verbose == 1:
            self.bar.update(step, self.shown({"loss": loss, "accuracy": accuracy}))

    def on_epoch_end(self, epoch, logs, seconds):
        if self.bar is not None:
            self.bar.update(self.bar.steps, self.shown(logs), finalize=True)
        self.bar = None
        self.epoch_start = time.time()


def summary_line(verbose, steps, seconds, logs):
    """The line ``evaluate`` and ``predict`` print when done (Keras's finished bar)."""
    bar = Progbar(steps, verbose, start=time.time() - seconds)
    bar.after_first = bar.start  # no separate first step: seconds / steps per step
    bar.update(bar.steps, logs, finalize=True)
