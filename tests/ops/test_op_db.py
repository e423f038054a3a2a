"""Generic tests over the op table (tests/ops/op_db.py): every sample of every op.

Ops are called the way the engine calls them, ``forward(ctx, …)`` then ``backward(ctx, grad_out)``
on a fresh Context, so these tests see exactly what an op returns (the engine's own repairs and
checks cannot hide a mistake), and each call runs under a time limit (a hang fails, it does not
freeze the suite). Test ids name the op and the case: ``test_gradcheck[ReLU-kinks]``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import signal
import threading
import zlib
from typing import Any, Callable

import numpy as np
import pytest
from tests.ops.op_db import OPS, SEED, TESTS, OpInfo, Sample, is_float_array

import bprop.ops
from bprop.autograd import ArrayFunction, Context
from bprop.random import manual_seed

TIME_LIMIT = 2.0  # seconds for one forward + backward of a tiny sample: far beyond any real op
FD_ATOL, FD_RTOL = 1e-6, 1e-4


def cases(test: str, with_raises: bool = False) -> list[Any]:
    """pytest params (info, sample) for every sample of every op, id "Op-case", with the
    sample's known failures of this test marked xfail(strict=True)."""
    params = []
    for info in OPS:
        for sample in samples_of(info):
            if (sample.raises is not None) != with_raises:
                continue
            marks = [pytest.mark.xfail(strict=True, reason=r) for k, r in sample.xfail.items() if k in (test, "all")]
            params.append(pytest.param(info, sample, id=f"{info.name}-{sample.name}", marks=marks))
    return params


def samples_of(info: OpInfo) -> list[Sample]:
    return info.samples(np.random.default_rng(zlib.crc32(info.name.encode())))  # stable per op


# ---------------------------------------------------------------------------------------------
# Running one op
# ---------------------------------------------------------------------------------------------


def run_with_time_limit(fn: Callable[[], Any], seconds: float = TIME_LIMIT) -> Any:
    """fn() or TimeoutError after ``seconds``: SIGALRM in the main thread (it interrupts a Python
    loop), else a daemon thread that is abandoned when it overruns."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):

        def on_alarm(signum: int, frame: Any) -> None:
            raise TimeoutError(f"no result after {seconds} s: the op hangs")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    result: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            result.append(fn())
        except BaseException as err:  # handed to the caller below
            errors.append(err)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"no result after {seconds} s: the op hangs")
    if errors:
        raise errors[0]
    return result[0]


def inputs(sample: Sample, dtype: Any = np.float64) -> tuple[list[Any], dict[str, Any]]:
    """Fresh copies of the sample's arguments, floating arrays in ``dtype``."""

    def cast(value: Any) -> Any:
        if is_float_array(value):
            return value.astype(dtype)
        return value.copy() if isinstance(value, np.ndarray) else value

    return [cast(a) for a in sample.args], {k: cast(v) for k, v in sample.kwargs.items()}


def forward(info: OpInfo, args: list[Any], kwargs: dict[str, Any], diff: tuple[int, ...]) -> tuple[Context, Any]:
    ctx = Context(info.op)
    ctx.needs_input_grad = tuple(i in diff for i in range(len(args)))
    if info.random:
        manual_seed(SEED)
    return ctx, info.op.forward(ctx, *args, **kwargs)


def run(info: OpInfo, args: list[Any], kwargs: dict[str, Any], diff: tuple[int, ...], grad_out: Any) -> tuple:
    """(output, gradients as the op's backward returned them), under the time limit."""

    def both() -> tuple:
        ctx, out = forward(info, args, kwargs, diff)
        g = grad_out(out) if callable(grad_out) else grad_out
        grads = info.op.backward(ctx, g)
        return out, grads if isinstance(grads, tuple) else (grads,), g

    return run_with_time_limit(both)


def upstream(shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
    """A random ∂C/∂y: a sum would hide errors that a random projection exposes."""
    return np.asarray(np.random.default_rng(7).standard_normal(shape), dtype=dtype)


def assert_close(actual: Any, expected: Any, tol: tuple[float, float], what: str) -> None:
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    np.testing.assert_allclose(actual, expected, atol=tol[0], rtol=tol[1], equal_nan=True, err_msg=what)


# ---------------------------------------------------------------------------------------------
# The generic tests
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("info", "sample"), cases("gradcheck"))
def test_gradcheck(info: OpInfo, sample: Sample) -> None:
    """Centred differences in float64 against backward, for a random upstream gradient v:
    ∂(Σ v ⊙ y)/∂x_k ≈ (L(x + h e_k) − L(x − h e_k))/2h, h relative to |x_k|."""
    if not sample.fd:
        pytest.skip("finite differences are meaningless here (kink, tie or non-finite value)")
    args, kwargs = inputs(sample)
    diff = sample.differentiable()
    out, grads, v = run(info, args, kwargs, diff, lambda out: upstream(np.shape(out)))
    scale = float(np.sum(np.abs(v * out)))  # rounding noise of L is about ε·Σ|v ⊙ y|

    def loss() -> float:
        return float(np.sum(v * forward(info, args, kwargs, diff)[1]))

    for i in diff:
        x = args[i]
        numeric, noise = np.zeros(x.shape), np.zeros(x.shape)
        for k in np.ndindex(x.shape):
            original, h = x[k], 1e-6 * max(1.0, abs(float(x[k])))
            x[k] = original + h
            plus = loss()
            x[k] = original - h
            minus = loss()
            x[k] = original
            numeric[k] = (plus - minus) / (2 * h)
            noise[k] = 16 * np.finfo(np.float64).eps * scale / h
        assert grads[i] is not None, f"{info.name}[{sample.name}]: no gradient for input {i}"
        analytic = np.asarray(grads[i], dtype=np.float64)
        error = np.abs(analytic - numeric)
        bad = error > FD_ATOL + FD_RTOL * np.abs(numeric) + noise
        if bad.any():
            k = tuple(int(j) for j in np.argwhere(bad)[0])
            pytest.fail(
                f"{info.name}[{sample.name}] input {i}: backward {analytic[k]!r} vs finite differences "
                f"{numeric[k]!r} at index {k} ({int(bad.sum())} of {bad.size} elements differ)"
            )


@pytest.mark.parametrize(("info", "sample"), cases("torch"))
def test_torch_parity(info: OpInfo, sample: Sample) -> None:
    """Forward and backward (same random upstream gradient) equal torch's in float64."""
    torch = pytest.importorskip("torch")
    if info.torch is None:
        pytest.skip("no torch reference")
    args, kwargs = inputs(sample)
    diff = sample.differentiable()
    out, grads, v = run(info, args, kwargs, diff, lambda out: upstream(np.shape(out)))

    def to_torch(value: Any, grad: bool = False) -> Any:
        if isinstance(value, np.ndarray):
            return torch.tensor(value, requires_grad=grad and value.dtype.kind == "f")
        return value

    t_args = [to_torch(a, i in diff) for i, a in enumerate(args)]
    t_kwargs = {k: to_torch(v) for k, v in kwargs.items()}
    t_out = info.torch(torch, *t_args, **t_kwargs)
    tol = info.tol[np.float64]
    assert_close(out, t_out.detach().numpy(), tol, f"{info.name}[{sample.name}] forward")
    if not t_out.requires_grad:
        return
    t_out.backward(torch.tensor(v))
    for i in diff:
        expected = t_args[i].grad.numpy() if t_args[i].grad is not None else np.zeros(args[i].shape)
        assert grads[i] is not None, f"{info.name}[{sample.name}]: no gradient for input {i}"
        assert_close(*at_defined(sample, args[i], grads[i], expected), tol, f"{info.name}[{sample.name}] grad {i}")


def at_defined(sample: Sample, x: np.ndarray, *grads: Any) -> list[np.ndarray]:
    """The gradients where they are defined: all of them, or (grad_at_nan=False) where x is not NaN."""
    grads_ = [np.asarray(g, dtype=np.float64) for g in grads]
    return grads_ if sample.grad_at_nan else [g[~np.isnan(x)] for g in grads_]


@pytest.mark.parametrize(("info", "sample"), cases("reference"))
def test_reference(info: OpInfo, sample: Sample) -> None:
    """Forward and backward equal the torch-free reference (reference.py or plain NumPy)."""
    if info.ref is None:
        pytest.skip("no torch-free reference")
    args, kwargs = inputs(sample)
    diff = sample.differentiable()
    out, grads, v = run(info, args, kwargs, diff, lambda out: upstream(np.shape(out)))
    tol = info.tol[np.float64]
    ref_args, ref_kwargs = inputs(sample)
    assert_close(out, info.ref(*ref_args, **ref_kwargs), tol, f"{info.name}[{sample.name}] forward")
    if info.ref_grad is None:
        return
    expected = info.ref_grad(v, *ref_args, **ref_kwargs)
    if expected is None:
        return  # the reference backward does not cover this sample (affine_vjp with ±∞)
    for i in diff:
        assert grads[i] is not None, f"{info.name}[{sample.name}]: no gradient for input {i}"
        assert_close(*at_defined(sample, args[i], grads[i], expected[i]), tol, f"{info.name}[{sample.name}] grad {i}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(("info", "sample"), cases("contract"))
def test_contract(info: OpInfo, sample: Sample, dtype: Any) -> None:
    """In float32 and float64: the output keeps the dtype, each needed gradient exists with its
    input's exact shape and dtype, the inputs and grad_out are left untouched, and float32 results
    agree with float64 ones to float32 accuracy."""
    args, kwargs = inputs(sample, dtype)
    before = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    diff = sample.differentiable()
    given: list[np.ndarray] = []

    def grad_out(out: np.ndarray) -> np.ndarray:
        given.append(upstream(np.shape(out), dtype))
        return given[0].copy()

    out, grads, v = run(info, args, kwargs, diff, grad_out)
    what = f"{info.name}[{sample.name}] in {np.dtype(dtype)}"
    assert isinstance(out, (np.ndarray, np.generic)), f"{what}: forward returned {type(out).__name__}"
    if info.keeps_dtype:
        assert out.dtype == dtype, f"{what}: output is {out.dtype}"
    assert len(grads) > max(diff), f"{what}: backward returned {len(grads)} gradients, input {max(diff)} needs one"
    for i in diff:
        g = grads[i]
        assert g is not None, f"{what}: no gradient for input {i}, which requires one"
        assert np.shape(g) == args[i].shape, f"{what}: gradient {i} has shape {np.shape(g)}, input {args[i].shape}"
        assert g.dtype == args[i].dtype, f"{what}: gradient {i} is {g.dtype}, its input {args[i].dtype}"
    for i, (a, b) in enumerate(zip(args, before)):
        if isinstance(a, np.ndarray) and i not in info.mutates:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), f"{what}: forward or backward changed input {i}"
    assert np.array_equal(v, given[0], equal_nan=True), f"{what}: backward changed grad_out in place"
    if dtype == np.float32:
        args64, kwargs64 = inputs(sample)
        out64, grads64, _ = run(info, args64, kwargs64, diff, given[0].astype(np.float64))
        tol = info.tol[np.float32]
        with np.errstate(invalid="ignore", over="ignore"):
            assert_close(out, out64, tol, f"{what}: output vs float64")
            for i in diff:
                assert_close(grads[i], grads64[i], tol, f"{what}: gradient {i} vs float64")


@pytest.mark.parametrize(("info", "sample"), [c for c in cases("contract") if len(c.values[1].differentiable()) > 1])
def test_each_input_alone(info: OpInfo, sample: Sample) -> None:
    """With only input i needing a gradient (ctx.needs_input_grad), backward gives input i the
    same gradient as when every input needs one: the shortcuts for unneeded inputs skip work only."""
    diff = sample.differentiable()
    args, kwargs = inputs(sample)
    _, full, v = run(info, args, kwargs, diff, lambda out: upstream(np.shape(out)))
    for i in diff:
        args, kwargs = inputs(sample)
        _, alone, _ = run(info, args, kwargs, (i,), v)
        assert alone[i] is not None, f"{info.name}[{sample.name}]: no gradient for input {i} needed alone"
        assert_close(alone[i], full[i], (0.0, 1e-12), f"{info.name}[{sample.name}] input {i} alone")


def nan_case(info: OpInfo) -> Sample:
    """The op's first non-empty sample with its first differentiable input all NaN."""
    sample = next(s for s in samples_of(info) if s.raises is None and not s.is_empty())
    args = list(sample.args)
    i = sample.differentiable()[0]
    args[i] = np.full(args[i].shape, np.nan)
    return Sample(f"nan-{sample.name}", tuple(args), sample.kwargs, grad=sample.grad, xfail=sample.xfail)


@pytest.mark.parametrize(
    "info",
    [
        pytest.param(
            info,
            id=info.name,
            marks=[pytest.mark.xfail(strict=True, reason=r) for k, r in nan_case(info).xfail.items() if k == "nan"],
        )
        for info in OPS
    ],
)
def test_nan_in_nan_out(info: OpInfo) -> None:
    """A NaN input gives a NaN output, and forward and backward return promptly."""
    sample = nan_case(info)
    args, kwargs = inputs(sample)
    out, _, _ = run(info, args, kwargs, sample.differentiable(), lambda out: upstream(np.shape(out)))
    if info.nan_propagates:
        assert np.isnan(out).any(), f"{info.name}: NaN input, output {out}"


@pytest.mark.parametrize(("info", "sample"), cases("raises", with_raises=True))
def test_refuses_bad_input(info: OpInfo, sample: Sample) -> None:
    args, kwargs = inputs(sample)
    with pytest.raises(sample.raises):
        forward(info, args, kwargs, sample.differentiable())


# ---------------------------------------------------------------------------------------------
# The table itself
# ---------------------------------------------------------------------------------------------


def functions_in_ops() -> set[type[ArrayFunction]]:
    """Every ArrayFunction subclass defined in a module of bprop.ops (abstract bases left out)."""
    found: set[type[ArrayFunction]] = set()
    for module_info in pkgutil.walk_packages(bprop.ops.__path__, "bprop.ops."):
        module = importlib.import_module(module_info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, ArrayFunction) and obj is not ArrayFunction and obj.__module__ == module.__name__:
                found.add(obj)
    return {f for f in found if not any(other is not f and issubclass(other, f) for other in found)}


def test_every_op_has_an_entry() -> None:
    covered = {info.op for info in OPS}
    missing = sorted(f"{f.__module__}.{f.__name__}" for f in functions_in_ops() - covered)
    assert not missing, (
        f"ops without an entry in tests/ops/op_db.py: {missing}; add an OpInfo to OPS "
        "(the module docstring there says how)"
    )


def test_every_op_has_an_empty_sample_and_oracles() -> None:
    for info in OPS:
        samples = samples_of(info)
        assert any(s.is_empty() for s in samples), f"{info.name}: no sample with an empty dim"
        assert info.torch is not None and info.ref is not None, f"{info.name}: needs both oracles"
        names = [s.name for s in samples]
        assert len(set(names)) == len(names), f"{info.name}: duplicate case names {names}"
        for s in samples:
            assert set(s.xfail) <= {*TESTS, "all"}, f"{info.name}[{s.name}]: unknown test in xfail {s.xfail}"


def test_time_limit_stops_a_hang() -> None:
    def hang() -> None:
        while True:
            pass

    with pytest.raises(TimeoutError, match="hangs"):
        run_with_time_limit(hang, 0.2)
