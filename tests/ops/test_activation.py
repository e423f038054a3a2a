"""Activations and the softmax family, what the op table (op_db.py) does not cover: the entry
points, stability without floating-point warnings, erf, errors and relu_array's memory layouts."""

import numpy as np
import pytest
from tests.helpers import check, rand, torch_parity

import bprop as bp
import bprop.nn.functional as F
from bprop.ops.activation import GELU


def test_entry_points_are_the_ops():
    """bp.tanh/sigmoid/relu and the Tensor methods build the ops the table in op_db.py checks."""
    x = bp.tensor(rand(3, 4), requires_grad=True)
    for fn, method, op in ((bp.tanh, "tanh", "Tanh"), (bp.sigmoid, "sigmoid", "Sigmoid"), (bp.relu, "relu", "ReLU")):
        out = fn(x)
        assert out.grad_fn.name() == f"{op}Backward"
        np.testing.assert_array_equal(np.asarray(out), np.asarray(getattr(x, method)()))
    assert x.softmax(1).grad_fn.name() == "SoftmaxBackward"
    assert x.log_softmax(1).grad_fn.name() == "LogSoftmaxBackward"


def test_softmax_functions_and_default_dim():
    x = rand(2, 3)
    np.testing.assert_allclose(np.asarray(bp.softmax(bp.tensor(x))), np.asarray(bp.tensor(x).softmax(-1)))
    np.testing.assert_allclose(np.asarray(bp.log_softmax(bp.tensor(x), dim=0)), np.asarray(bp.tensor(x).log_softmax(0)))
    np.testing.assert_allclose(np.asarray(np.asarray(bp.tensor(x).softmax(1))).sum(1), 1.0)


def test_softmax_is_stable_for_huge_logits():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        x = bp.tensor([[1000.0, 0.0, -1000.0]])
        np.testing.assert_allclose(np.asarray(x.softmax(1)), [[1, 0, 0]], atol=1e-7)
        np.testing.assert_allclose(np.asarray(x.log_softmax(1)), [[0, -1000, -2000]], atol=1e-3)
        np.testing.assert_allclose(np.asarray(bp.tensor([-1000.0, 1000.0]).sigmoid()), [0, 1])
    check(lambda t: t.log_softmax(1), np.array([[500.0, 0.0, -500.0]]))
    check(lambda t: t.sigmoid(), np.array([-40.0, 40.0]))


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        GELU.apply(bp.ones(2), approximate="erf")


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.random.default_rng(0).standard_normal((6, 5)).astype(np.float32),
        lambda: (
            np.random.default_rng(0).standard_normal((2, 4, 3, 5)).transpose(0, 3, 1, 2)
        ),  # an NCHW view of an NHWC buffer
        lambda: np.random.default_rng(0).standard_normal((10, 12))[
            ::2, ::3
        ],  # a strided slice: no permutation makes it contiguous
        lambda: np.random.default_rng(0).standard_normal((5, 4))[::-1],
        lambda: np.random.default_rng(0).standard_normal((0, 3)),
        lambda: np.array(-2.0),
        lambda: np.array([np.nan, -1.0, -0.0, 0.0, 3.0], dtype=np.float32),
    ],
    ids=["contiguous", "channels-last view", "strided", "reversed", "empty", "0-d", "nan and zeros"],
)
def test_relu_array_equals_maximum_with_zero_and_keeps_the_memory_layout(make):
    from bprop.ops.kernels.relu import relu_array

    x = make()
    out = relu_array(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    assert out.dtype == x.dtype and out.shape == x.shape
    assert not np.signbit(out[out == 0]).any()  # max(−0, 0) is +0 as in torch
    if x.ndim == 4:  # the next conv reads channels-last, so the layout must survive
        assert np.argsort(out.strides).tolist() == np.argsort(x.strides).tolist()
    relu_array(np.full(x.size + 7, -1.0, dtype=x.dtype))  # the shared zeros grow and stay zeros
    np.testing.assert_array_equal(relu_array(x), np.maximum(x, 0))


def test_relu_array_goes_through_large_inputs_in_blocks(monkeypatch):
    from bprop.ops.kernels import relu

    monkeypatch.setattr(relu, "RELU_BLOCK", 1000)
    for x in (
        np.random.default_rng(0).standard_normal((3, 7, 50)),
        np.random.default_rng(0).standard_normal((2, 40, 30, 5)).transpose(0, 3, 1, 2),
    ):
        out = relu.relu_array(x)
        np.testing.assert_array_equal(out, np.maximum(x, 0))
        assert np.argsort(out.strides).tolist() == np.argsort(x.strides).tolist()


NONFINITE_AND_TAILS = np.array([-np.inf, -1e3, -40.0, -10.0, -8.6, -6.0, -0.0, 0.0, 0.5, 6.0, 1e3, np.inf, np.nan, 3.0])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_matches_torch_on_nan_infinities_and_tails(approximate):
    """Issue 11 #1: NaN gave a hang and GELU(x ≤ −8.5) > 0, GELU(−∞) = +∞; torch: NaN, −0, NaN."""
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda t: F.gelu(t, approximate=approximate),
        lambda t: torch.nn.functional.gelu(t, approximate=approximate),
        NONFINITE_AND_TAILS,
        atol=1e-15,
    )


def test_gelu_is_nan_safe_and_never_positive_on_the_left():
    y = np.asarray(F.gelu(bp.tensor([np.nan, 1.0, -np.inf, -9.0, -40.0], dtype=np.float64)))
    assert np.isnan(y[0]) and np.isnan(y[2]) and y[1] == pytest.approx(0.8413447460685429, abs=1e-16)
    assert y[3] <= 0 and y[3] > -1e-17 and y[4] == 0 and np.signbit(y[4])  # −0, as torch


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck_over_the_whole_line_with_a_random_upstream_gradient(approximate):
    x = np.concatenate([np.linspace(-9, 9, 37), [-30.0, -1e-12, 1e-12, 30.0]]).reshape(41, 1) + np.zeros((1, 2))
    check(lambda t: F.gelu(t, approximate=approximate), x)


def test_relu_passes_the_gradient_at_nan_like_torch():
    """torch's threshold backward zeroes δ only where relu(x) ≤ 0, so NaN passes it on."""
    torch_parity(lambda t: t.relu(), lambda t: t.relu(), np.array([np.nan, -np.inf, -1.0, 0.0, 2.0, np.inf]))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_over_a_dim_of_size_zero_is_empty_as_in_torch(name):
    torch = pytest.importorskip("torch")
    x = bp.zeros(2, 0, requires_grad=True)
    out = getattr(F, name)(x, dim=1)
    expected = getattr(torch.nn.functional, name)(torch.zeros(2, 0), dim=1)
    assert out.shape == tuple(expected.shape) == (2, 0)
    out.sum().backward()
    assert x.grad.shape == (2, 0)
