"""Layers: thin stateful Modules over the ops; no gradient math lives here."""

from bprop.nn.layers.activation import GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from bprop.nn.layers.conv import Conv2d
from bprop.nn.layers.dropout import Dropout
from bprop.nn.layers.flatten import Flatten, Identity
from bprop.nn.layers.linear import Linear
from bprop.nn.layers.loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from bprop.nn.layers.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from bprop.nn.layers.pooling import AvgPool2d, MaxPool2d

__all__ = [
    "GELU",
    "AvgPool2d",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "GroupNorm",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "MaxPool2d",
    "NLLLoss",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
]
