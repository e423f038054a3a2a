"""Optimizers (one per file, update rule in the docstring) and learning-rate schedules."""

from bprop.optim import lr_scheduler
from bprop.optim.adadelta import Adadelta
from bprop.optim.adagrad import Adagrad
from bprop.optim.adam import Adam
from bprop.optim.adamw import AdamW
from bprop.optim.lbfgs import LBFGS
from bprop.optim.optimizer import Optimizer
from bprop.optim.rmsprop import RMSprop
from bprop.optim.sgd import SGD

__all__ = ["LBFGS", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
