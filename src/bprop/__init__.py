"""bprop: deep learning on NumPy where every backward pass is derived by hand and checked."""

from bprop import allocator, nn, optim
from bprop.autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from bprop.creation import arange, eye, full, ones, ones_like, rand, randn, zeros, zeros_like
from bprop.gradcheck import GradcheckError, gradcheck
from bprop.gradcheck_graph import gradcheck_graph
from bprop.nn.summary import summary
from bprop.profiler import profile
from bprop.random import get_rng_state, manual_seed, set_rng_state
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

allocator.keep_freed_memory()  # freed arrays stay in the heap for the next step: see allocator.py

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
    "save",
    "set_grad_enabled",
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
