"""``Sequential`` and ``load_model``: the Keras model API over a nabla model.

The Python object keeps what Keras keeps before a model is built (its layers, the compile
settings); once the input shape is known (``input_shape=``, ``layers.Input``, or the first
``fit``/``predict``) the Rust model is built from the layers' settings and does the work.
"""

import json
import os
import time

import numpy as np

from .. import _missing, _nabla, _tape
from .. import random as _random
from . import _progress, layers as _layers, losses as _losses, optimizers as _optimizers
from .callbacks import Callback, History

_NATIVE = (".safetensors",)
_KERAS = (".keras", ".h5", ".hdf5")


def check_model_path(path):
    """Model files by extension: nabla's ``.safetensors`` and Keras's ``.keras``/``.h5``
    (the library reads and writes them; ``KERAS_FORMATS`` says whether this build does)."""
    name = os.path.basename(str(path)).lower()
    ext = os.path.splitext(name)[1]
    if ext in _NATIVE:
        return
    if ext in _KERAS:
        if not _nabla.KERAS_FORMATS:
            raise NotImplementedError(
                f"saving and loading Keras {ext} files is not in this build of nabla yet; "
                "use a .safetensors path")
        return
    raise ValueError(f"Invalid filepath extension for saving: {path!r} "
                     "(nabla writes .safetensors, .keras and .h5)")


class Variable:
    """A model weight as ``model.trainable_variables`` lists it (read-only view)."""

    def __init__(self, model, index, path, trainable):
        self._model = model
        self._index = index
        self.path = path
        self.name = path
        self.layer = path.split("/")[0]
        self.trainable = trainable

    def numpy(self):
        return self._model.get_weights()[self._index]

    @property
    def shape(self):
        return self.numpy().shape

    @property
    def dtype(self):
        return "float32"

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def assign(self, value):
        weights = self._model.get_weights()
        weights[self._index] = np.asarray(value, np.float32).reshape(weights[self._index].shape)
        self._model.set_weights(weights)

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype=float32>"


def _features(x):
    """x as nabla borrows it: C-contiguous uint8, float32 or float64 (others cast to float32)."""
    x = np.asarray(x)
    if x.dtype not in (np.uint8, np.float32, np.float64):
        x = x.astype(np.float32)
    return np.ascontiguousarray(x)


def _verbose(verbose):
    return 1 if verbose == "auto" else int(verbose)


def _check_metrics(metrics):
    if metrics is None:
        return []
    if isinstance(metrics, (str, dict)):
        metrics = [metrics]
    out = []
    for m in metrics:
        name = m if isinstance(m, str) else getattr(m, "__name__", repr(m))
        if name in ("accuracy", "acc", "categorical_accuracy", "sparse_categorical_accuracy"):
            out.append("accuracy")
        else:
            raise NotImplementedError(f"metric {m!r}: nabla reports loss and accuracy only")
    return out


class Sequential:
    def __init__(self, layers=None, name=None, trainable=True):
        self.name = name or "sequential"
        self.layers = []
        self._input_shape = None
        self._core = None
        self._compiled = None  # (optimizer, loss name or None, metrics)
        self._seed = _random.next_model_seed()
        self.history = None
        self.stop_training = False
        for layer in layers or []:
            self.add(layer)

    # --- building -------------------------------------------------------------------------

    def add(self, layer):
        if isinstance(layer, _layers.InputSpec):
            if self.layers or self._input_shape is not None:
                raise ValueError("layers.Input must come first in a Sequential model")
            self._input_shape = layer.shape
            return
        if not isinstance(layer, _layers.Layer):
            raise TypeError(f"Sequential.add takes a nabla.keras layer, got {layer!r}")
        if not self.layers and self._input_shape is None and layer._input_shape is not None:
            self._input_shape = layer._input_shape
        layer._model = self
        self.layers.append(layer)
        if self._input_shape is not None:
            self._build(self._input_shape)

    def pop(self):
        self.layers.pop()
        if self._input_shape is not None:
            self._build(self._input_shape)

    def build(self, input_shape=None):
        shape = tuple(input_shape)[1:] if input_shape is not None else self._input_shape
        self._input_shape = tuple(shape)
        self._build(self._input_shape)

    def _build(self, shape):
        configs = [l.config() for l in self.layers]
        core = _nabla.Model([int(d) for d in shape], json.dumps(configs), self._seed)
        self._attach(core)
        if self._compiled and self._compiled[1] is not None:
            opt, loss, _ = self._compiled
            core.compile(json.dumps(opt.config()), loss)

    def _attach(self, core):
        self._core = core
        self._input_shape = tuple(core.input_shape())
        for layer, name in zip(self.layers, core.layer_names()):
            layer.name = name

    def _ensure_built(self, x):
        if self._core is None:
            if not self.layers:
                raise ValueError("the model has no layers")
            self._build(np.shape(x)[1:])
        return self._core

    @property
    def built(self):
        return self._core is not None

    def _need_core(self):
        if self._core is None:
            raise ValueError(
                "This model has not yet been built. Build the model first by calling build() "
                "or by calling the model on a batch of data.")
        return self._core

    # --- compile / fit / evaluate / predict -----------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", **unsupported):
        for key in unsupported:
            raise NotImplementedError(f"compile: nabla does not support {key!r}")
        if loss_weights is not None or weighted_metrics is not None:
            raise NotImplementedError("compile: loss_weights and weighted_metrics are not in nabla")
        opt = _optimizers.get(optimizer)
        loss_name = None if loss is None else _losses.name_of(loss)
        self._compiled = (opt, loss_name, _check_metrics(metrics))
        self.optimizer = opt
        self.loss = loss
        if self._core is not None and loss_name is not None:
            self._core.compile(json.dumps(opt.config()), loss_name)

    def _need_loss(self):
        if not self._compiled or self._compiled[1] is None:
            raise RuntimeError("You must call compile() with a loss before training or evaluating.")
        return self._compiled[1]

    def _targets(self, y):
        width = int(np.prod(self._core.output_shapes()[-1]))
        return _losses.dense_targets(self._need_loss(), y, width)

    def _shown(self, logs):
        """The logs Keras 3 would show, in its order: accuracy (when compiled with it), loss,
        then the same for validation, then anything else (``learning_rate``)."""
        keep = self._compiled[2]
        order = ["accuracy", "loss", "val_accuracy", "val_loss"]
        keys = [k for k in order if k in logs] + [k for k in logs if k not in order]
        return {k: logs[k] for k in keys
                if not (k.endswith("accuracy") and "accuracy" not in keep)}

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, **unsupported):
        for key in unsupported:
            raise NotImplementedError(f"fit: nabla does not support {key!r}")
        if class_weight is not None or sample_weight is not None:
            raise NotImplementedError("fit: class_weight and sample_weight are not in nabla")
        if steps_per_epoch is not None or validation_steps is not None or validation_freq != 1:
            raise NotImplementedError("fit: steps_per_epoch, validation_steps and validation_freq are not in nabla")
        if y is None:
            raise NotImplementedError("fit: nabla takes arrays x and y (not datasets or generators)")
        self._need_loss()
        x = _features(x)
        core = self._ensure_built(x)
        y = self._targets(y)
        validation = None
        if validation_data is not None:
            if len(validation_data) != 2:
                raise NotImplementedError("fit: validation_data with sample weights is not in nabla")
            vx, vy = validation_data
            validation = (_features(vx), self._targets(vy))
        specs = []
        for cb in callbacks or []:
            if not isinstance(cb, Callback):
                raise TypeError(f"fit: {cb!r} is not a Keras callback")
            specs.append(cb.config())
        verbose = _verbose(verbose)
        progress = _progress.FitProgress(verbose, epochs, self._shown)
        started = time.time()
        try:
            raw = core.fit(x, y, int(epochs), 32 if batch_size is None else int(batch_size),
                           validation, float(validation_split), bool(shuffle), int(initial_epoch),
                           json.dumps(specs), progress)
        finally:
            if progress.bar is not None and verbose == 1:
                _progress.write("\n")  # an interrupted epoch's bar ends its line
        done = len(raw["loss"])
        history = {k: raw[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in raw}
        if any(s["type"] == "ReduceLROnPlateau" for s in specs):
            history["learning_rate"] = raw["learning_rate"]
        history = self._shown(history)
        self.history = History(history, range(initial_epoch, initial_epoch + done), self)
        rows = len(x) if validation is not None else len(x) - int(len(x) * float(validation_split))
        batch = 32 if batch_size is None else int(batch_size)
        self.history.params = {"verbose": verbose, "epochs": int(epochs), "steps": -(-rows // batch)}
        self.history.epoch_seconds = raw["epoch_seconds"]
        self.history._raw = raw
        # For the run report's run.json.
        self.history._fit = dict(epochs=int(epochs), started=started, ended=time.time(),
                                 batch_size=32 if batch_size is None else int(batch_size))
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **unsupported):
        for key in unsupported:
            raise NotImplementedError(f"evaluate: nabla does not support {key!r}")
        if sample_weight is not None or steps is not None or callbacks:
            raise NotImplementedError("evaluate: sample_weight, steps and callbacks are not in nabla")
        self._need_loss()
        x = _features(x)
        core = self._ensure_built(x)
        start = time.perf_counter()
        loss, accuracy = core.evaluate(x, self._targets(y))
        logs = self._shown({"loss": loss, "accuracy": accuracy})
        steps = -(-len(x) // (32 if batch_size is None else int(batch_size)))
        _progress.summary_line(_verbose(verbose), steps, time.perf_counter() - start, logs)
        if return_dict:
            return logs
        # Keras 3: the loss first, then the metrics; a bare loss when there are none.
        return [loss, accuracy] if len(logs) > 1 else loss

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        if steps is not None or callbacks:
            raise NotImplementedError("predict: steps and callbacks are not in nabla")
        x = _features(x)
        core = self._ensure_built(x)
        start = time.perf_counter()
        out = core.predict(x)
        steps = -(-len(x) // (32 if batch_size is None else int(batch_size)))
        _progress.summary_line(_verbose(verbose), steps, time.perf_counter() - start, {})
        return out

    def __call__(self, x, training=False, mask=None):
        x = _features(x)
        core = self._ensure_built(x)
        if _tape.recording():
            return _tape.mark_output(core.predict(x), self, x, bool(training))
        if training:
            raise NotImplementedError("model(x, training=True) outside a GradientTape is not in nabla")
        return _tape.tensor(core.predict(x))

    def _gradients(self, x, y, loss_name, training):
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float32)
        return self._need_core().gradients(x, y, loss_name, training)

    # --- inspection -----------------------------------------------------------------------

    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs):
        text = self._need_core().summary()
        if self.name != "sequential":
            text = text.replace('Model: "sequential"', f'Model: "{self.name}"', 1)
        (print_fn or print)(text.rstrip("\n"))

    def count_params(self):
        return sum(self._need_core().count_params())

    def _variables(self):
        core = self._need_core()
        return [Variable(self, i, name, trainable)
                for i, (name, _, trainable) in enumerate(core.weights())]

    @property
    def weights(self):
        return self._variables()

    @property
    def variables(self):
        return self._variables()

    @property
    def trainable_variables(self):
        return [v for v in self._variables() if v.trainable]

    trainable_weights = trainable_variables

    @property
    def non_trainable_variables(self):
        return [v for v in self._variables() if not v.trainable]

    non_trainable_weights = non_trainable_variables

    def get_weights(self):
        return [w for _, w, _ in self._need_core().weights()]

    def set_weights(self, weights):
        self._need_core().set_weights([np.ascontiguousarray(w, dtype=np.float32) for w in weights])

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}")

    @property
    def input_shape(self):
        return (None, *self._need_core().input_shape())

    @property
    def output_shape(self):
        return (None, *self._need_core().output_shapes()[-1])

    # --- files and reports ----------------------------------------------------------------

    def save(self, filepath, overwrite=True, **kwargs):
        check_model_path(filepath)
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(filepath)
        if str(filepath).lower().endswith((".h5", ".hdf5")):
            # As Keras 3: any .h5 name, "x.weights.h5" included, gets a whole legacy model.
            self._need_core().save_legacy_h5(os.fspath(filepath))
        else:
            self._need_core().save(os.fspath(filepath))

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """The weights alone in Keras 3's ``.weights.h5`` layout (Keras loads them)."""
        if max_shard_size is not None:
            raise NotImplementedError("save_weights(max_shard_size=...): sharded weights are not in nabla")
        if not str(filepath).endswith(".weights.h5"):
            raise ValueError(f"The filename must end in `.weights.h5`. Received: filepath={filepath}")
        if not overwrite and os.path.exists(filepath):
            raise FileExistsError(filepath)
        self._need_core().save_weights(os.fspath(filepath))

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Weights from a Keras ``.weights.h5``, a legacy ``.h5`` or a ``.keras`` file, into
        this architecture (shapes are checked weight by weight)."""
        if skip_mismatch or kwargs:
            raise NotImplementedError(
                f"load_weights({', '.join(['skip_mismatch'] * bool(skip_mismatch) + list(kwargs))}=...) "
                "is not in nabla")
        path = os.fspath(filepath)
        if path.endswith(".keras"):
            self.set_weights(load_model(path, compile=False).get_weights())
        elif path.endswith((".weights.h5", ".h5", ".hdf5")):
            self._need_core().load_weights(path)
        else:
            raise ValueError(
                f"File format not supported: filepath={filepath}. Keras 3 only supports V3 "
                "`.keras` files, `.weights.h5` files, legacy H5 format files (`.h5` extension), "
                "or Orbax checkpoints.")

    def report(self, x=None, y=None, history=None, class_names=None):
        """A run report (curves, confusion matrix, ...) that Jupyter displays inline."""
        from .._report import report
        return report(history or self.history, model=self, x=x, y=y, class_names=class_names)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model saved by ``Model.save``, compiled as it was, weights and optimizer state restored."""
    if custom_objects:
        raise NotImplementedError("load_model: custom_objects are not in nabla")
    check_model_path(filepath)
    core = _nabla.Model.load(os.fspath(filepath))
    model = Sequential.__new__(Sequential)
    model.name = "sequential"
    model._seed = 0
    model.history = None
    model.stop_training = False
    model.layers = [_layers.from_config(c) for c in json.loads(core.layers_json())]
    for layer in model.layers:
        layer._model = model
    model._input_shape = None
    model._compiled = None
    model._attach(core)
    compiled = core.compiled()
    if compile and compiled is not None:
        loss, opt = compiled
        opt = json.loads(opt)
        kind = opt.pop("type")
        model.optimizer = _optimizers._BY_NAME[kind](**opt)
        model.loss = loss
        model._compiled = (model.optimizer, loss, ["accuracy"])
    return model


def Model(*args, **kwargs):
    raise NotImplementedError(
        "keras.Model (the functional API and subclassing) is not in nabla.keras: use Sequential")


__getattr__ = _missing.names("keras.models")
