"""torch's type promotion, in one place: ``Function.apply`` calls ``promote`` for every op.

The rules (torch.result_type), which differ from NumPy's:

- int with float gives the float's dtype (int64 + float32 → float32, where NumPy says float64);
- operands fall in three groups, strongest first: tensors with dimensions, 0-d tensors, Python
  numbers. A weaker group changes the result only when its kind (bool < int < float) is higher,
  so ``float32 * 0-d float64`` and ``float32 * 2.5`` stay float32, and ``int64 * 1.5`` is
  float32 (a Python float counts as the default dtype, float32);
- true division and float functions of integers give float32.

Each op says how its inputs combine (its ``promotion`` attribute):

``"elementwise"``  inputs are cast to their result type (add, mul, where, cat, mse_loss…)
``"float"``        as elementwise, and an integer result becomes float32 (div, exp, log…)
``"floating"``     inputs must be floating (mean, var: torch refuses integers)
``"same"``         the default: floating inputs must share one dtype (matmul, linear, conv,
                   normalisation: torch raises "expected m1 and m2 to have the same dtype")
``"identical"``    every Tensor input has one dtype, integer or floating (einsum, scatter:
                   torch refuses an integer operand beside a float one)
``"own"``          the op checks its inputs' dtypes itself, naming the argument (nll_loss)

Independently, ``float_inputs`` lists the inputs that must be floating Tensors ("all": every
Tensor input): matmul, linear, conv, normalisation, recurrent layers and most losses refuse an
integer tensor, as torch does ("not implemented for 'Long'"), instead of computing with it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DEFAULT_FLOAT = np.dtype(np.float32)
_PYTHON_NUMBER = {bool: np.dtype(np.bool_), int: np.dtype(np.int64), float: DEFAULT_FLOAT}


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """torch.promote_types: the smallest dtype holding both, except that a float beats any int."""
    if a == b:
        return a
    if a.kind == "f" and b.kind != "f":
        return a
    if b.kind == "f" and a.kind != "f":
        return b
    return np.promote_types(a, b)


def _combine(higher: np.dtype | None, lower: np.dtype | None) -> np.dtype | None:
    """torch's combine_categories: a weaker group counts only when its kind is higher."""
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return promote_types(higher, lower)
    return higher


def result_type(*operands: Any) -> np.dtype:
    """torch.result_type over Tensors, ndarrays and Python numbers."""
    dims: np.dtype | None = None
    zero: np.dtype | None = None
    numbers: np.dtype | None = None
    for x in operands:
        if type(x) in _PYTHON_NUMBER:
            dt = _PYTHON_NUMBER[type(x)]
            numbers = dt if numbers is None else promote_types(numbers, dt)
            continue
        dt = x.dtype
        if np.ndim(x) == 0:
            zero = dt if zero is None else promote_types(zero, dt)
        else:
            dims = dt if dims is None else promote_types(dims, dt)
    result = _combine(dims, _combine(zero, numbers))
    if result is None:
        raise TypeError("result_type needs at least one operand")
    return result


def scalar_operand(value: Any, tensor_dtype: np.dtype) -> np.ndarray:
    """A Python number meeting a tensor of ``tensor_dtype``, as a 0-d array of the dtype torch
    gives their result (``float32 * 2.5`` stays float32, ``int64 * 1.5`` is float32)."""
    if isinstance(value, np.generic):  # NumPy scalars act as the Python numbers they hold
        value = value.item()
    kind = _PYTHON_NUMBER.get(type(value))
    if kind is None:
        return np.asarray(value)
    return np.array(value, dtype=_combine(tensor_dtype, kind))


def promote(op: type, inputs: tuple, arrays: list) -> list:
    """The arrays an op's forward gets (``arrays``: its ``inputs`` with Tensors unwrapped), after
    its promotion rule (see the module docstring)."""
    first = arrays[0] if arrays else None
    if type(first) is np.ndarray and first.dtype.kind == "f":
        dtype = first.dtype
        for a in arrays:
            if type(a) is not np.ndarray or a.dtype != dtype:
                break
        else:  # the common case: arrays of one floating dtype satisfy every rule as they are
            return arrays
    if op.float_inputs:
        _check_floating(op, inputs, arrays)
    rule = op.promotion
    if rule == "own" or (rule == "same" and len(arrays) == 1):
        return arrays  # most ops: nothing to compare
    floats = [a for a in arrays if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    if rule == "same":  # among Tensors: NumPy buffers (running statistics) keep their own dtype
        if len(floats) > 1 and any(a.dtype != floats[0].dtype for a in floats):
            _check_same(op, [a for a, x in zip(arrays, inputs) if a is not x and a.dtype.kind == "f"])
        return arrays
    if rule == "floating":
        for a in arrays:
            if isinstance(a, np.ndarray) and a.dtype.kind != "f":
                name = op.__name__.lower()
                raise RuntimeError(f"{name}: needs a floating tensor, got {a.dtype} (cast it with .float())")
        return arrays
    operands = [a for a in arrays[op.promotes_from :] if isinstance(a, np.ndarray)]
    if rule == "identical":
        _check_identical(op, [a for a, x in zip(arrays, inputs) if a is not x and isinstance(a, np.ndarray)])
        return arrays
    if not op.takes_bool and any(a.dtype == np.bool_ for a in operands):
        raise RuntimeError(f"{op.__name__.lower()}: not supported for bool tensors (as in torch)")
    if len(floats) == len(operands) and all(a.dtype == operands[0].dtype for a in operands):
        return arrays  # the common case: nothing to cast
    target = result_type(*operands)
    if rule == "float" and target.kind != "f":
        target = DEFAULT_FLOAT
    return arrays[: op.promotes_from] + [
        a.astype(target) if isinstance(a, np.ndarray) and a.dtype != target else a for a in arrays[op.promotes_from :]
    ]


def _check_floating(op: type, inputs: tuple, arrays: list) -> None:
    """Refuse an integer or bool Tensor where ``op.float_inputs`` asks for a floating one."""
    positions = range(len(arrays)) if op.float_inputs == "all" else op.float_inputs
    for i in positions:
        if i >= len(arrays) or arrays[i] is inputs[i]:  # absent, None, a number or a NumPy buffer
            continue
        if arrays[i].dtype.kind != "f":
            raise RuntimeError(
                f"{op.__name__.lower()}: input {i} must be a floating tensor, got {arrays[i].dtype} "
                "(cast it with .float(); torch refuses integer tensors here too)"
            )


def _check_identical(op: type, tensors: list[np.ndarray]) -> None:
    other = next((a.dtype for a in tensors if a.dtype != tensors[0].dtype), None)
    if other is not None:
        raise RuntimeError(
            f"{op.__name__.lower()}: expected its inputs to have one dtype, got {tensors[0].dtype} and {other} "
            "(cast one with .to(), .float() or .long(); torch refuses mixed dtypes here too)"
        )


def _check_same(op: type, floats: list[np.ndarray]) -> None:
    first = floats[0].dtype if floats else None
    other = next((a.dtype for a in floats if a.dtype != first), None)
    if other is None:
        return
    raise RuntimeError(
        f"{op.__name__.lower()}: expected its inputs to have the same dtype, got {first} and {other} "
        "(cast one with .to(), .float() or .double(); torch refuses mixed dtypes here too)"
    )
