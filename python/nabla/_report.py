"""Run reports in the notebook: ``nabla.report(history, x_test, y_test)`` or
``model.report(x_test, y_test)`` writes a run directory (settings, summary, history, test
metrics) and renders it with nabla's report renderer; Jupyter shows ``report.html`` inline.
"""

import html
import json
import os
import tempfile
import time

import numpy as np

from . import _nabla


class Report:
    def __init__(self, path):
        self.path = path
        self.dir = os.path.dirname(path)

    def html(self):
        with open(self.path, encoding="utf-8") as f:
            return f.read()

    def _repr_html_(self):
        # In an iframe, so the report's own styles stay out of the notebook's.
        return ('<iframe style="width:100%;height:720px;border:1px solid #ddd" srcdoc="'
                + html.escape(self.html(), quote=True) + '"></iframe>')

    def __repr__(self):
        return f"<nabla report {self.path}>"


def report(history, x=None, y=None, model=None, class_names=None, dir=None):
    """The report of a training run: ``history`` from ``fit`` and the test data (x, y with
    labels or one-hot rows). ``dir`` keeps the run files (a temporary folder otherwise)."""
    model = model or getattr(history, "model", None)
    if model is None or x is None or y is None:
        raise ValueError("a report needs the model and test data: nabla.report(history, x_test, y_test)")
    h = getattr(history, "_raw", None) or (history.history if history is not None else {})
    scores = np.ascontiguousarray(model.predict(x, verbose=0), dtype=np.float32)
    scores = scores.reshape(len(scores), -1)
    y = np.asarray(y)
    y_true = (y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)).astype(int)
    k = scores.shape[1]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    sparse = bool(model._compiled) and model._compiled[1] == "sparse_categorical_crossentropy"
    targets = y_true if sparse else np.eye(k, dtype=np.float32)[y_true]
    result = model.evaluate(x, targets, verbose=0, return_dict=True)
    accuracy = float((scores.argmax(axis=1) == y_true).mean())
    lines = []
    model.summary(print_fn=lines.append)
    raw = dict(h)
    done = len(raw.get("loss", []))
    fit = getattr(history, "_fit", None) or {}
    now = time.time()
    floats = lambda key, default: [float(v) for v in raw.get(key, default)]
    dir = dir or tempfile.mkdtemp(prefix="nabla-report-")
    path = _nabla.write_report(
        os.fspath(dir), model._need_core(), model.name, "\n".join(lines) + "\n",
        (floats("loss", []), floats("accuracy", []), floats("val_loss", []),
         floats("val_accuracy", []), floats("epoch_seconds", [0.0] * done),
         floats("learning_rate", [0.0] * done)),
        (int(fit.get("epochs", done)), int(fit.get("batch_size", 32)), int(model._seed),
         float(fit.get("started", now)), float(fit.get("ended", now)),
         int(raw.get("train_samples", 0)), int(raw.get("validation_samples", 0))),
        [int(v) for v in y_true], scores, names, (float(result["loss"]), accuracy))
    return Report(path)
