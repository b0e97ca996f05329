"""Keras's callbacks as settings; nabla's own callbacks run them inside ``fit``."""

from .. import _missing


class Callback:
    def config(self):
        raise NotImplementedError(
            f"custom Keras callbacks ({type(self).__name__}) are not in nabla.keras: nabla runs "
            "EarlyStopping, ModelCheckpoint, ReduceLROnPlateau, CSVLogger and TensorBoard natively")


class EarlyStopping(Callback):
    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        if baseline is not None or start_from_epoch:
            raise NotImplementedError("EarlyStopping: baseline and start_from_epoch are not in nabla")
        self.settings = dict(type="EarlyStopping", monitor=monitor, min_delta=float(min_delta),
                             patience=int(patience), mode=mode,
                             restore_best_weights=bool(restore_best_weights))

    def config(self):
        return self.settings


class ReduceLROnPlateau(Callback):
    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        self.settings = dict(type="ReduceLROnPlateau", monitor=monitor, factor=float(factor),
                             patience=int(patience), mode=mode, min_delta=float(min_delta),
                             cooldown=int(cooldown), min_lr=float(min_lr))

    def config(self):
        return self.settings


class ModelCheckpoint(Callback):
    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch"):
        if save_weights_only or save_freq != "epoch":
            raise NotImplementedError("ModelCheckpoint: save_weights_only and save_freq are not in nabla")
        from .models import check_model_path
        check_model_path(str(filepath))
        self.settings = dict(type="ModelCheckpoint", filepath=str(filepath), monitor=monitor,
                             save_best_only=bool(save_best_only), mode=mode)

    def config(self):
        return self.settings


class CSVLogger(Callback):
    def __init__(self, filename, separator=",", append=False):
        if separator != "," or append:
            raise NotImplementedError("CSVLogger: only separator=',' and append=False are in nabla")
        self.settings = dict(type="CSVLogger", filename=str(filename))

    def config(self):
        return self.settings


class TensorBoard(Callback):
    """Keras's per-epoch scalars (``epoch_loss``, ``epoch_accuracy``, ``epoch_learning_rate``)
    as TensorBoard event files under ``log_dir/train`` and ``log_dir/validation``, written by
    nabla's own callback (``nabla::io::tensorboard::TensorBoard``). No graph is written (nabla
    has no TensorFlow graph); histograms, images, profiling, embeddings and per-batch updates
    are refused."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        for name, value, default in (("histogram_freq", histogram_freq, 0),
                                     ("write_images", write_images, False),
                                     ("write_steps_per_second", write_steps_per_second, False),
                                     ("update_freq", update_freq, "epoch"),
                                     ("profile_batch", profile_batch, 0),
                                     ("embeddings_freq", embeddings_freq, 0),
                                     ("embeddings_metadata", embeddings_metadata, None)):
            if value != default:
                raise NotImplementedError(
                    f"callbacks.TensorBoard: {name}={value!r} is not in nabla "
                    "(it writes the per-epoch scalars)")
        self.log_dir = str(log_dir)
        self.settings = dict(type="TensorBoard", log_dir=self.log_dir)

    def config(self):
        return self.settings


class History(Callback):
    """What ``fit`` returns: ``history.history`` is the dict of per-epoch lists Keras gives."""

    def __init__(self, history, epochs, model=None):
        self.history = history
        self.epoch = list(epochs)
        self.model = model
        self.params = {}


__getattr__ = _missing.names("keras.callbacks")
