"""Tensor factories (torch's names): zeros, ones, full, randn, rand, arange, eye and *_like."""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.random import generator
from bprop.tensor import Tensor

DTypeLike = Any


def _shape(size: tuple) -> tuple[int, ...]:
    return tuple(size[0]) if len(size) == 1 and not isinstance(size[0], (int, np.integer)) else tuple(size)


def _make(array: np.ndarray, requires_grad: bool) -> Tensor:
    return Tensor(array, dtype=array.dtype, requires_grad=requires_grad)


def zeros(*size: Any, dtype: DTypeLike = np.float32, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(_shape(size), dtype=dtype), requires_grad)


def ones(*size: Any, dtype: DTypeLike = np.float32, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_shape(size), dtype=dtype), requires_grad)


def full(size: Any, fill_value: float, dtype: DTypeLike = np.float32, requires_grad: bool = False) -> Tensor:
    return _make(np.full(_shape((size,)), fill_value, dtype=dtype), requires_grad)


def zeros_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros_like(t._data), requires_grad)


def ones_like(t: Tensor, requires_grad: bool = False) -> Tensor:
    return _make(np.ones_like(t._data), requires_grad)


def randn(*size: Any, dtype: DTypeLike = np.float32, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the global generator (seed it with bp.manual_seed)."""
    return _make(generator().standard_normal(_shape(size)).astype(dtype), requires_grad)


def rand(*size: Any, dtype: DTypeLike = np.float32, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from the global generator."""
    return _make(generator().random(_shape(size)).astype(dtype), requires_grad)


def arange(
    start: float, end: float | None = None, step: float = 1, dtype: DTypeLike = None, requires_grad: bool = False
) -> Tensor:
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    if dtype is None:
        dtype = np.int64 if values.dtype.kind in "iu" else np.float32
    return _make(values.astype(dtype), requires_grad)


def eye(n: int, m: int | None = None, dtype: DTypeLike = np.float32, requires_grad: bool = False) -> Tensor:
    return _make(np.eye(n, m, dtype=dtype), requires_grad)
