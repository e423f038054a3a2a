"""Training: the fit loop, evaluation, callbacks, metrics and checkpoints, and ``run``, one
training run as a validated ``RunConfig`` describes it (what ``bprop train`` does)."""

from bprop.train import metrics
from bprop.train.callbacks import Callback, CSVLogger, EarlyStopping, JSONLogger, ModelCheckpoint
from bprop.train.checkpoint import load_checkpoint, save_checkpoint
from bprop.train.evaluate import evaluate, predict
from bprop.train.fit import DivergenceError, Interrupted, Trainer, fit
from bprop.train.history import History
from bprop.train.run import RunError, RunResult, run
from bprop.train.run_config import ConfigError, RunConfig

__all__ = [
    "CSVLogger",
    "Callback",
    "ConfigError",
    "DivergenceError",
    "EarlyStopping",
    "History",
    "Interrupted",
    "JSONLogger",
    "ModelCheckpoint",
    "RunConfig",
    "RunError",
    "RunResult",
    "Trainer",
    "evaluate",
    "fit",
    "load_checkpoint",
    "metrics",
    "predict",
    "run",
    "save_checkpoint",
]
