"""Training: the fit loop, evaluation, callbacks, metrics and checkpoints."""

from bprop.train import metrics
from bprop.train.callbacks import Callback, CSVLogger, EarlyStopping, JSONLogger, ModelCheckpoint
from bprop.train.checkpoint import load_checkpoint, save_checkpoint
from bprop.train.fit import Trainer, evaluate, fit, predict
from bprop.train.history import History

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "History",
    "JSONLogger",
    "ModelCheckpoint",
    "Trainer",
    "evaluate",
    "fit",
    "load_checkpoint",
    "metrics",
    "predict",
    "save_checkpoint",
]
