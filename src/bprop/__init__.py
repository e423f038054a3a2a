"""bprop: deep learning on NumPy where every backward pass is derived by hand and checked.

``import bprop`` loads the core only (tensors, ops, autograd, nn, optim); the other
subpackages (train, data, viz, distributed, export, sklearn, cs231n, reference) load on first
use, as attributes (``bp.viz.draw_graph``) or by import (``import bprop.viz``), so a script
that only builds and trains a model does not pay for them. Importing bprop changes no setting of
the process (malloc, the BLAS, the environment): see ``bprop.runtime`` for the opt-in tuning.
"""

import importlib
from typing import Any

from bprop import nn, optim, runtime
from bprop.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from bprop.creation import arange, eye, full, ones, ones_like, rand, randn, zeros, zeros_like
from bprop.gradient_check import GradcheckError, gradcheck
from bprop.graph_check import gradcheck_graph
from bprop.nn.summary import summary
from bprop.profiler import profile
from bprop.random import get_rng_state, manual_seed, set_rng_state
from bprop.runtime import get_num_threads, set_num_threads
from bprop.serialization import load, save
from bprop.tensor import Tensor, float32, float64, int64, tensor
from bprop.tensor_functions import (
    abs,
    cat,
    clamp,
    clip,
    concatenate,
    exp,
    flatten,
    log,
    log_softmax,
    matmul,
    pad,
    relu,
    sigmoid,
    softmax,
    sqrt,
    stack,
    tanh,
    where,
)

__version__ = "0.1.0"

_ON_FIRST_USE = frozenset(
    {"cli", "cs231n", "data", "distributed", "exercise", "export", "reference", "sklearn", "train", "viz"}
)


def __getattr__(name: str) -> Any:
    """PEP 562: ``bp.viz`` and the other non-core subpackages are imported when first asked for."""
    if name in _ON_FIRST_USE:
        return importlib.import_module(f"bprop.{name}")
    raise AttributeError(f"module 'bprop' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _ON_FIRST_USE)


__all__ = [
    "GradcheckError",
    "Tensor",
    "abs",
    "arange",
    "cat",
    "clamp",
    "clip",
    "concatenate",
    "enable_grad",
    "exp",
    "eye",
    "flatten",
    "float32",
    "float64",
    "full",
    "get_num_threads",
    "get_rng_state",
    "gradcheck",
    "gradcheck_graph",
    "int64",
    "is_grad_enabled",
    "load",
    "log",
    "log_softmax",
    "manual_seed",
    "matmul",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "pad",
    "profile",
    "rand",
    "randn",
    "relu",
    "runtime",
    "save",
    "set_grad_enabled",
    "set_num_threads",
    "set_rng_state",
    "sigmoid",
    "softmax",
    "sqrt",
    "stack",
    "summary",
    "tanh",
    "tensor",
    "where",
    "zeros",
    "zeros_like",
]
