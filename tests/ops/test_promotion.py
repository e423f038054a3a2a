"""The promotion table: torch's type-promotion rules (bprop.dtypes), checked against torch.

Two tables, generated rather than written out:

- operators: every pair of operand kinds (float32/float64/int64/bool tensors with dims, the same
  as 0-d tensors, Python float/int/bool) through + - * / ** gives torch's result dtype, or an
  error where torch refuses;
- ops: every entry of the op table (op_db) with one input turned float64 or int64 while the
  others stay float32 gives torch's result dtype, or an error where torch raises.

Then the official PyTorch "polynomial" tutorials, as a user would port them, stay in float32.
"""

from __future__ import annotations

import math
import operator
import warnings
import zlib
from typing import Any

import numpy as np
import pytest
from tests.ops.op_db import OPS, OpInfo, Sample, is_float_array

import bprop as bp
from bprop import dtypes, nn
from bprop.tensor import Tensor

# ---------------------------------------------------------------------------------------------
# Torch-free: the rules as the issue states them
# ---------------------------------------------------------------------------------------------


def f32(*values: float) -> Tensor:
    return bp.tensor(np.array(values, np.float32))


def test_python_numbers_and_0d_tensors_keep_a_float_tensors_dtype():
    x = f32(1.0, 2.0)
    assert (x * 2.5).dtype == np.float32
    assert (x * 2).dtype == np.float32
    assert (x * bp.tensor(np.float64(3.0))).dtype == np.float32  # 0-d float64
    assert (x ** bp.tensor(np.array([2, 3]))).dtype == np.float32  # float32 ** int64


def test_int_meets_float():
    ints = bp.tensor(np.array([1, 2]))
    assert (ints + f32(1.0, 2.0)).dtype == np.float32  # NumPy would say float64
    assert (ints * 1.5).dtype == np.float32  # a Python float counts as float32
    assert (ints / 2).dtype == np.float32  # true division of integers
    assert (ints * 2).dtype == np.int64
    assert (f32(1.0) + bp.tensor(np.array([1.0, 2.0]))).dtype == np.float64  # both with dims: wider


def test_mixed_float_dtypes_in_matmul_linear_conv_raise_naming_both():
    x64 = bp.tensor(np.ones((2, 3)))
    with pytest.raises(
        RuntimeError, match="matmul: expected its inputs to have the same dtype, got float64 and float32"
    ):
        x64 @ bp.ones(3, 2)
    with pytest.raises(RuntimeError, match=r"linear: .* got float64 and float32"):
        nn.Linear(3, 2)(x64)
    with pytest.raises(RuntimeError, match=r"conv2d: .* got float64 and float32"):
        nn.Conv2d(1, 1, 1)(bp.tensor(np.ones((1, 1, 2, 2))))


def test_a_promoted_input_gets_its_gradient_in_its_own_dtype():
    a = bp.tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    b = bp.tensor(np.array([3.0, 4.0]), requires_grad=True)
    out = a * b
    assert out.dtype == np.float64
    out.sum().backward()
    assert np.asarray(a.grad).dtype == np.float32 and np.asarray(b.grad).dtype == np.float64
    np.testing.assert_array_equal(np.asarray(a.grad), [3, 4])


def test_result_type_is_torchs_algorithm():
    f32a, i64a = np.ones(2, np.float32), np.ones(2, np.int64)
    assert dtypes.result_type(i64a, np.float64(1.0) * np.ones(())) == np.float64  # 0-d float beats int dims
    assert dtypes.result_type(np.ones(2, np.bool_), 3) == np.int64
    assert dtypes.result_type(f32a, i64a) == np.float32
    assert dtypes.result_type(np.ones((), np.float64), 1.5) == np.float64


# ---------------------------------------------------------------------------------------------
# The operator table against torch
# ---------------------------------------------------------------------------------------------

KINDS = ("f32", "f64", "i64", "bool", "f32-0d", "f64-0d", "i64-0d", "bool-0d", "float", "int", "True")
OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}
# torch's own quirks that bprop does not copy, each a known difference (strict: remove once equal)
BOOL_POWER = "torch gives bool for bool ** True; bprop refuses bool ** bool whatever the operand"
OPERATOR_DIFFERENCES = {("bool", "**", "True"): BOOL_POWER, ("bool-0d", "**", "True"): BOOL_POWER}


def operand(kind: str, lib: Any) -> Any:
    numbers = {"float": 1.5, "int": 2, "True": True}
    if kind in numbers:
        return numbers[kind]
    name, _, zero = kind.partition("-")
    dtype = {"f32": np.float32, "f64": np.float64, "i64": np.int64, "bool": np.bool_}[name]
    values = np.array([1, 0] if name == "bool" else [2, 3], dtype=dtype)
    values = values[0] if zero else values
    return lib.tensor(np.array(values)) if lib is not bp else bp.tensor(np.array(values))


def outcome(fn: Any) -> str:
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return str(fn().dtype).replace("torch.", "")
    except (RuntimeError, TypeError, ValueError, NotImplementedError):
        return "error"


def operator_cases() -> list[Any]:
    cases = []
    for symbol in OPERATORS:
        for left in KINDS:
            for right in KINDS:
                if left in ("float", "int", "True") and right in ("float", "int", "True"):
                    continue
                reason = OPERATOR_DIFFERENCES.get((left, symbol, right))
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                cases.append(pytest.param(left, symbol, right, id=f"{left} {symbol} {right}", marks=marks))
    return cases


@pytest.mark.parametrize(("left", "symbol", "right"), operator_cases())
def test_operator_promotes_as_torch(left: str, symbol: str, right: str) -> None:
    torch = pytest.importorskip("torch")
    fn = OPERATORS[symbol]
    expected = outcome(lambda: fn(operand(left, torch), operand(right, torch)))
    got = outcome(lambda: fn(operand(left, bp), operand(right, bp)))
    assert got == expected, f"{left} {symbol} {right}: bprop {got}, torch {expected}"


# ---------------------------------------------------------------------------------------------
# The op table against torch: one input changed to float64 or int64, the rest float32
# ---------------------------------------------------------------------------------------------

# Known differences, each with its reason (strict xfail: remove the entry once bprop agrees).
# The recurrent layers' torch references are compositions of matmuls and adds, where an integer
# bias or cell state promotes; torch's own rnn_tanh/lstm/gru refuse them, as bprop does.
COMPOSED_REFERENCE = "the torch reference composes the layer from adds (an int operand promotes); torch.lstm refuses"
OP_DIFFERENCES: dict[str, str] = {
    **{
        f"{case}-int64": COMPOSED_REFERENCE
        for case in (
            "RNN-arg4",
            "RNN-arg5",
            "LSTM-arg2",
            "LSTM-arg5",
            "LSTM-arg6",
            "GRU-arg4",
            "GRU-arg5",
            "ProjectedLSTM-arg2",
            "ProjectedLSTM-arg6",
            "ProjectedLSTM-arg7",
        )
    },
    "Dropout-arg0-int64": "torch's dropout of an integer tensor gives float64; bprop keeps int64",
    "Dropout2d-arg0-int64": "torch's dropout of an integer tensor gives float64; bprop keeps int64",
    "BCEWithLogits-arg0-float64": "torch keeps the target's dtype when only the input is float64",
    "Huber-arg1-float64": "torch's huber_loss keeps the input's dtype when only the target is float64",
}


def representative(info: OpInfo) -> Sample | None:
    samples = info.samples(np.random.default_rng(zlib.crc32(info.name.encode())))
    for s in samples:
        if s.raises is None and not s.is_empty() and s.is_finite() and any(is_float_array(a) for a in s.args):
            return s
    return None


def op_cases() -> list[Any]:
    cases = []
    for info in OPS:
        sample = representative(info)
        if sample is None or info.torch is None:
            continue
        positions = [i for i, a in enumerate(sample.args) if is_float_array(a)]
        for position in positions:
            for odd in ("float64", "int64"):
                if odd == "float64" and len(positions) == 1:
                    continue  # one floating input: float64 alone is the contract test's business
                case = f"{info.name}-arg{position}-{odd}"
                reason = OP_DIFFERENCES.get(case)
                marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
                cases.append(pytest.param(info, sample, position, odd, id=case, marks=marks))
    return cases


def with_dtypes(sample: Sample, position: int, odd: str) -> list[Any]:
    args = []
    for i, a in enumerate(sample.args):
        if is_float_array(a):
            a = np.round(a).astype(np.int64) if (i == position and odd == "int64") else a
            a = a.astype(odd if i == position else np.float32) if a.dtype.kind == "f" else a
        args.append(a)
    return args


@pytest.mark.parametrize(("info", "sample", "position", "odd"), op_cases())
def test_op_promotes_as_torch(info: OpInfo, sample: Sample, position: int, odd: str) -> None:
    torch = pytest.importorskip("torch")
    args = with_dtypes(sample, position, odd)

    def ours() -> Any:
        bp.manual_seed(0)
        return info.op.apply(*[Tensor(a) if isinstance(a, np.ndarray) else a for a in args], **sample.kwargs)

    def theirs() -> Any:
        wrap = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in sample.kwargs.items()}
        out = info.torch(torch, *[torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args], **wrap)
        return out[0] if isinstance(out, tuple) else out

    expected, got = outcome(theirs), outcome(ours)
    assert got == expected, f"{info.name} with input {position} {odd}: bprop {got}, torch {expected}"


# ---------------------------------------------------------------------------------------------
# The official "polynomial" tutorials (pytorch/tutorials, beginner/examples_*), ported by name
# ---------------------------------------------------------------------------------------------

X = np.linspace(-math.pi, math.pi, 2000, dtype=np.float32)


def test_polynomial_tensor_tutorial_runs_in_float32():
    """examples_tensor/polynomial_tensor.py: gradients by hand, on Tensors."""
    x, y = bp.tensor(X), bp.tensor(np.sin(X))
    a, b, c, d = (bp.randn(()) for _ in range(4))
    learning_rate, losses = 1e-6, []
    for _ in range(300):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = ((y_pred - y) ** 2).sum()
        losses.append(loss.item())
        grad_y_pred = 2.0 * (y_pred - y)
        grad_a, grad_b = grad_y_pred.sum(), (grad_y_pred * x).sum()
        grad_c, grad_d = (grad_y_pred * x**2).sum(), (grad_y_pred * x**3).sum()
        a -= learning_rate * grad_a
        b -= learning_rate * grad_b
        c -= learning_rate * grad_c
        d -= learning_rate * grad_d
        assert {t.dtype for t in (y_pred, loss, grad_y_pred, a, b, c, d)} == {np.dtype(np.float32)}
    assert losses[-1] < losses[0]


def test_polynomial_autograd_tutorial_runs_in_float32():
    """examples_autograd/polynomial_autograd.py: autograd, update under no_grad."""
    x, y = bp.tensor(X), bp.tensor(np.sin(X))
    params = [bp.randn((), requires_grad=True) for _ in range(4)]
    a, b, c, d = params
    learning_rate, losses = 1e-6, []
    for _ in range(300):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = ((y_pred - y) ** 2).sum()
        assert y_pred.dtype == loss.dtype == np.float32
        losses.append(loss.item())
        loss.backward()
        with bp.no_grad():
            for p in params:
                p -= learning_rate * np.asarray(p.grad)
                p.grad = None
    assert all(p.dtype == np.float32 for p in params) and losses[-1] < losses[0]


def test_polynomial_nn_tutorial_runs_in_float32():
    """examples_nn/polynomial_nn.py: x.unsqueeze(-1).pow(p) with an int64 p feeds nn.Linear,
    which refused (float64 into float32 weights) before bprop promoted as torch."""
    x, y = bp.tensor(X), bp.tensor(np.sin(X))
    p = bp.tensor(np.array([1, 2, 3]))
    xx = x.unsqueeze(-1) ** p
    assert xx.dtype == np.float32
    model = nn.Sequential(nn.Linear(3, 1), nn.Flatten(0, 1))
    loss_fn = nn.MSELoss(reduction="sum")
    learning_rate, losses = 1e-6, []
    for _ in range(200):
        loss = loss_fn(model(xx), y)
        assert loss.dtype == np.float32
        losses.append(loss.item())
        model.zero_grad()
        loss.backward()
        with bp.no_grad():
            for param in model.parameters():
                param -= learning_rate * np.asarray(param.grad)
    assert losses[-1] < losses[0]


def test_recurrent_layers_refuse_integer_parameters_as_torch_itself() -> None:
    """What the composed references above cannot show: torch.rnn_tanh refuses an int bias."""
    torch = pytest.importorskip("torch")
    x, h = torch.randn(3, 2, 3), torch.randn(1, 2, 3)
    weights = [torch.randn(3, 3), torch.randn(3, 3), torch.ones(3, dtype=torch.long), torch.randn(3)]
    with pytest.raises(RuntimeError):
        torch.rnn_tanh(x, h, weights, True, 1, 0.0, False, False, False)
    with pytest.raises(RuntimeError, match="rnn: input 4 must be a floating tensor, got int64"):
        bp.ops.recurrent.RNN.apply(
            bp.tensor(x.numpy()), bp.tensor(h.numpy()[0]), *(bp.tensor(w.numpy()) for w in weights)
        )


def test_integer_tensor_into_a_float_op_is_refused_naming_the_input() -> None:
    ints = bp.tensor(np.array([[1, 2, 3]]))
    with pytest.raises(RuntimeError, match=r"linear: input 0 must be a floating tensor, got int64 .*\.float\(\)"):
        nn.Linear(3, 2)(ints)
    with pytest.raises(RuntimeError, match="matmul: input 1 must be a floating tensor"):
        bp.ones(2, 1) @ ints
    with pytest.raises(RuntimeError, match="einsum: expected its inputs to have one dtype, got float32 and int64"):
        bp.einsum("ij,jk->ik", bp.ones(2, 1), ints)
    assert bp.einsum("ij,jk->ik", ints.T, ints).dtype == np.int64  # integers alone: fine, as torch
    assert bp.clamp(ints, min=1.5).dtype == np.float32  # the float bound promotes, as torch
