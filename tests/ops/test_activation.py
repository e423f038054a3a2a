"""Activations and the softmax family: gradcheck, torch parity, float32, stability."""

import numpy as np
import pytest
from tests.helpers import assert_float32_throughout, check, leaf, rand, torch_parity

import bprop as bp
import bprop.nn.functional as F
from bprop.ops.activation import GELU, LeakyReLU


def _torch_f(name, **kw):
    return lambda x: getattr(__import__("torch").nn.functional, name)(x, **kw)


ACTIVATIONS = {
    "tanh": (lambda x: x.tanh(), lambda x: x.tanh()),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: x.sigmoid()),
    "relu": (lambda x: x.relu(), lambda x: x.relu()),
    "bp.tanh": (bp.tanh, lambda x: x.tanh()),
    "bp.sigmoid": (bp.sigmoid, lambda x: x.sigmoid()),
    "bp.relu": (bp.relu, lambda x: x.relu()),
    "leaky_relu": (lambda x: LeakyReLU.apply(x), _torch_f("leaky_relu")),
    "leaky_relu_0.2": (lambda x: LeakyReLU.apply(x, negative_slope=0.2), _torch_f("leaky_relu", negative_slope=0.2)),
    "gelu": (lambda x: GELU.apply(x), _torch_f("gelu")),
    "gelu_tanh": (lambda x: GELU.apply(x, approximate="tanh"), _torch_f("gelu", approximate="tanh")),
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 1, 3), ()])
def test_activation_gradcheck(name, shape):
    check(ACTIVATIONS[name][0], rand(*shape) * 3)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_torch_parity(name):
    torch_parity(*ACTIVATIONS[name], rand(4, 6) * 4)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_keeps_float32(name):
    assert_float32_throughout(ACTIVATIONS[name][0], rand(4, 6) * 4)


SOFTMAX_CASES = [((3, 4, 2), 0), ((3, 4, 2), 1), ((3, 4, 2), -1), ((3, 4, 2), 2), ((5,), 0), ((2, 1), 1), ((1, 3), 0)]


@pytest.mark.parametrize("shape,dim", SOFTMAX_CASES)
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_family(shape, dim, op):
    fn = lambda x: getattr(x, op)(dim)  # noqa: E731
    check(fn, rand(*shape))
    torch_parity(fn, fn, rand(*shape))
    assert_float32_throughout(fn, rand(*shape))


def test_softmax_functions_and_default_dim():
    x = rand(2, 3)
    np.testing.assert_allclose(bp.softmax(bp.tensor(x)).data, bp.tensor(x).softmax(-1).data)
    np.testing.assert_allclose(bp.log_softmax(bp.tensor(x), dim=0).data, bp.tensor(x).log_softmax(0).data)
    np.testing.assert_allclose(bp.tensor(x).softmax(1).data.sum(1), 1.0)


def test_softmax_is_stable_for_huge_logits():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        x = bp.tensor([[1000.0, 0.0, -1000.0]])
        np.testing.assert_allclose(x.softmax(1).data, [[1, 0, 0]], atol=1e-7)
        np.testing.assert_allclose(x.log_softmax(1).data, [[0, -1000, -2000]], atol=1e-3)
        np.testing.assert_allclose(bp.tensor([-1000.0, 1000.0]).sigmoid().data, [0, 1])
    check(lambda t: t.log_softmax(1), np.array([[500.0, 0.0, -500.0]]))
    check(lambda t: t.sigmoid(), np.array([-40.0, 40.0]))


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        GELU.apply(bp.ones(2), approximate="erf")


def test_relu_and_leaky_relu_gradients_at_zero_follow_torch():
    x = leaf(np.array([-1.0, 0.0, 2.0]))
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 0, 1])
    y = leaf(np.array([-1.0, 0.0, 2.0]))
    LeakyReLU.apply(y, negative_slope=0.1).sum().backward()
    np.testing.assert_allclose(y.grad, [0.1, 0.1, 1])


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
    from bprop.ops.activation import relu_array

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
    import bprop.ops.activation as activation

    monkeypatch.setattr(activation, "RELU_BLOCK", 1000)
    for x in (
        np.random.default_rng(0).standard_normal((3, 7, 50)),
        np.random.default_rng(0).standard_normal((2, 40, 30, 5)).transpose(0, 3, 1, 2),
    ):
        out = activation.relu_array(x)
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
    y = F.gelu(bp.tensor([np.nan, 1.0, -np.inf, -9.0, -40.0], dtype=np.float64)).data
    assert np.isnan(y[0]) and np.isnan(y[2]) and y[1] == pytest.approx(0.8413447460685429, abs=1e-16)
    assert y[3] <= 0 and y[3] > -1e-17 and y[4] == 0 and np.signbit(y[4])  # −0, as torch


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck_over_the_whole_line_with_a_random_upstream_gradient(approximate):
    x = np.concatenate([np.linspace(-9, 9, 37), [-30.0, -1e-12, 1e-12, 30.0]]).reshape(41, 1) + np.zeros((1, 2))
    check(lambda t: F.gelu(t, approximate=approximate), x)
