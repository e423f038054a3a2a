"""Tensor factories (torch's names and arguments): zeros, ones, full, empty, randn, rand,
randint, randperm, normal, multinomial, arange, linspace, logspace, eye, from_numpy, as_tensor
and the *_like forms. Every factory takes ``device=`` ("cpu", the only device; see devices.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop.devices import check_device
from bprop.random import generator
from bprop.tensor import Tensor

DTypeLike = Any


def _shape(size: tuple) -> tuple[int, ...]:
    return tuple(size[0]) if len(size) == 1 and not isinstance(size[0], (int, np.integer)) else tuple(size)


def _make(array: np.ndarray, requires_grad: bool, device: Any = None) -> Tensor:
    check_device(device)
    return Tensor(array, dtype=array.dtype, requires_grad=requires_grad)


def _float(dtype: DTypeLike) -> np.dtype:
    return np.dtype(np.float32 if dtype is None else dtype)


def zeros(*size: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(_shape(size), dtype=_float(dtype)), requires_grad, device)


def ones(*size: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_shape(size), dtype=_float(dtype)), requires_grad, device)


def empty(*size: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uninitialised in torch; zeros here (a value to overwrite, never to read)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def full(
    size: Any, fill_value: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """As torch: the dtype follows fill_value when none is given (bool, int64, else float32)."""
    if dtype is None:
        dtype = np.bool_ if isinstance(fill_value, bool) else np.int64 if isinstance(fill_value, int) else np.float32
    return _make(np.full(_shape((size,)), fill_value, dtype=dtype), requires_grad, device)


def _like(t: Any, dtype: DTypeLike) -> tuple[tuple[int, ...], np.dtype]:
    return np.shape(t), np.dtype(np.asarray(t).dtype if dtype is None else dtype)


def zeros_like(t: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    size, dtype = _like(t, dtype)
    return _make(np.zeros(size, dtype=dtype), requires_grad, device)


def ones_like(t: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    size, dtype = _like(t, dtype)
    return _make(np.ones(size, dtype=dtype), requires_grad, device)


empty_like = zeros_like


def full_like(
    t: Any, fill_value: float, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    size, dtype = _like(t, dtype)
    return _make(np.full(size, fill_value, dtype=dtype), requires_grad, device)


def rand_like(t: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    size, dtype = _like(t, dtype)
    return rand(size, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(t: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    size, dtype = _like(t, dtype)
    return randn(size, dtype=dtype, device=device, requires_grad=requires_grad)


def randn(*size: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples from the global generator (seed it with bp.manual_seed)."""
    return _make(generator().standard_normal(_shape(size)).astype(_float(dtype)), requires_grad, device)


def rand(*size: Any, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from the global generator."""
    return _make(generator().random(_shape(size)).astype(_float(dtype)), requires_grad, device)


def randint(*args: Any, size: Any = None, dtype: DTypeLike = None, device: Any = None) -> Tensor:
    """torch's randint(high, size) or randint(low, high, size): integers in [low, high)."""
    if size is None:
        *args, size = args
    low, high = (0, args[0]) if len(args) == 1 else args
    values = generator().integers(int(low), int(high), size=_shape((size,)))
    return _make(values.astype(np.int64 if dtype is None else dtype), False, device)


def randperm(n: int, dtype: DTypeLike = None, device: Any = None) -> Tensor:
    return _make(generator().permutation(int(n)).astype(np.int64 if dtype is None else dtype), False, device)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Any = None, dtype: DTypeLike = None, device: Any = None) -> Tensor:
    """Samples of N(mean, std²): mean and std numbers with ``size``, or tensors broadcast together."""
    mean_a, std_a = np.asarray(mean), np.asarray(std)
    shape = _shape((size,)) if size is not None else np.broadcast_shapes(mean_a.shape, std_a.shape)
    dtype = dtype or (mean_a.dtype if mean_a.dtype.kind == "f" else std_a.dtype if std_a.dtype.kind == "f" else None)
    return _make((mean_a + std_a * generator().standard_normal(shape)).astype(_float(dtype)), False, device)


def multinomial(input: Any, num_samples: int, replacement: bool = False) -> Tensor:
    """Indices drawn with probability proportional to each row of ``input`` (weights ≥ 0)."""
    weights = np.asarray(input, dtype=np.float64)
    rows = np.atleast_2d(weights)
    if (rows < 0).any() or not np.isfinite(rows).all() or (rows.sum(axis=1) <= 0).any():
        raise ValueError("multinomial: weights must be finite, non-negative, with a positive sum per row")
    if not replacement and num_samples > rows.shape[1]:
        raise ValueError(f"multinomial: {num_samples} samples without replacement from {rows.shape[1]} categories")
    picks = [generator().choice(rows.shape[1], num_samples, replace=replacement, p=r / r.sum()) for r in rows]
    out = np.array(picks, dtype=np.int64).reshape(rows.shape[0], num_samples)
    return _make(out if weights.ndim == 2 else out[0], False)


def arange(
    start: float,
    end: float | None = None,
    step: float = 1,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    if end is None:
        start, end = 0, start
    values = np.arange(start, end, step)
    if dtype is None:
        dtype = np.int64 if values.dtype.kind in "iu" else np.float32
    return _make(values.astype(dtype), requires_grad, device)


def linspace(
    start: float, end: float, steps: int, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    values = np.linspace(float(start), float(end), int(steps), dtype=np.float64)
    return _make(values.astype(_float(dtype)), requires_grad, device)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype: DTypeLike = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    values = np.logspace(float(start), float(end), int(steps), base=base, dtype=np.float64)
    return _make(values.astype(_float(dtype)), requires_grad, device)


def eye(
    n: int, m: int | None = None, dtype: DTypeLike = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    return _make(np.eye(n, m, dtype=_float(dtype)), requires_grad, device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing the array's memory and dtype (float64 stays float64), as torch."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a NumPy array, got {type(array).__name__}")
    return Tensor._from_op(array, None)


def as_tensor(data: Any, dtype: DTypeLike = None, device: Any = None) -> Tensor:
    """The data as a tensor, without a copy when it already is one (or an array) of that dtype."""
    check_device(device)
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype):
        return Tensor._from_op(data, None)
    return Tensor(data, dtype=dtype)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Any) -> int:
    return int(np.size(t))
