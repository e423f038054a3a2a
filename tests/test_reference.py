"""The loop-for-loop reference agrees with the fast path and with torch."""

import numpy as np
import pytest

import bprop as bp
from bprop import reference as ref
from bprop.ops.conv import AvgPool2d, Conv2d, MaxPool2d
from tests.helpers import leaf, rand

CONV_CASES = [  # C, H, W, O, R, S, u, v, a, b
    (1, 5, 5, 1, 3, 3, 1, 1, 0, 0),
    (2, 6, 7, 3, 3, 2, 2, 1, 1, 0),
    (3, 7, 5, 2, 2, 3, 3, 2, 2, 1),
    (2, 4, 4, 2, 4, 4, 1, 1, 1, 1),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_forward_and_backward_match_the_fast_path(case):
    c, h, w, o, r, s, u, v, a, b = case
    x, k, bias = rand(c, h, w), rand(o, c, r, s, seed=1), rand(o, seed=2)
    z = ref.cross_correlate(x, k, bias, u, v, a, b)
    xt, kt, bt = leaf(x[None]), leaf(k), leaf(bias)
    fast = Conv2d.apply(xt, kt, bt, stride=(u, v), padding=(a, b))
    np.testing.assert_allclose(fast.data[0], z, atol=1e-12)
    delta = rand(*z.shape, seed=3)
    fast.backward(delta[None])
    dx, dk, db = ref.conv_backward(x, k, delta, u, v, a, b)
    np.testing.assert_allclose(xt.grad[0], dx, atol=1e-12)
    np.testing.assert_allclose(kt.grad, dk, atol=1e-12)
    np.testing.assert_allclose(bt.grad, db, atol=1e-12)


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_reference_matches_torch(case):
    torch = pytest.importorskip("torch")
    c, h, w, o, r, s, u, v, a, b = case
    x, k, bias = rand(c, h, w), rand(o, c, r, s, seed=1), rand(o, seed=2)
    xt, kt, bt = (torch.tensor(t, requires_grad=True) for t in (x[None], k, bias))
    z = torch.nn.functional.conv2d(xt, kt, bt, stride=(u, v), padding=(a, b))
    np.testing.assert_allclose(ref.cross_correlate(x, k, bias, u, v, a, b), z.detach().numpy()[0], atol=1e-12)
    delta = rand(*z.shape[1:], seed=3)
    z.backward(torch.tensor(delta[None]))
    for mine, theirs in zip(ref.conv_backward(x, k, delta, u, v, a, b), (xt.grad[0], kt.grad, bt.grad)):
        np.testing.assert_allclose(mine, theirs.numpy(), atol=1e-12)


@pytest.mark.parametrize("case", [(2, 2, 2, 2, 0, 0), (3, 3, 2, 2, 1, 1), (2, 3, 1, 2, 0, 1)])
def test_pool_reference_matches_torch(case):
    torch = pytest.importorskip("torch")
    r, s, u, v, a, b = case
    x = np.random.default_rng(5).integers(0, 4, (2, 6, 7)).astype(np.float64)  # ties: first maximum wins
    for name, forward, backward in (
        ("max_pool2d", ref.max_pool, ref.max_pool_backward),
        ("avg_pool2d", ref.avg_pool, ref.avg_pool_backward),
    ):
        xt = torch.tensor(x[None], requires_grad=True)
        y = getattr(torch.nn.functional, name)(xt, (r, s), (u, v), (a, b))
        np.testing.assert_allclose(forward(x, r, s, u, v, a, b), y.detach().numpy()[0], atol=1e-12)
        delta = rand(*y.shape[1:], seed=4)
        y.backward(torch.tensor(delta[None]))
        np.testing.assert_allclose(backward(x, delta, r, s, u, v, a, b), xt.grad.numpy()[0], atol=1e-12)


def test_true_convolution_is_cross_correlation_with_the_rotated_kernel():
    x, k = rand(4, 5), rand(2, 3, seed=1)
    full = ref.convolve_full(x, k)
    padded = np.pad(x, ((1, 1), (2, 2)))
    via_correlation = ref.cross_correlate(padded[None], ref.rotate180(k)[None, None])[0]
    np.testing.assert_allclose(full, via_correlation, atol=1e-12)
    np.testing.assert_allclose(ref.rotate180(ref.rotate180(k)), k)


def test_output_size_formula():
    assert ref.output_size(28, 28, 5, 5, 1, 1, 2, 2) == (28, 28)
    assert ref.output_size(7, 9, 3, 3, 2, 2, 0, 1) == (3, 5)


POOL_CASES = [(2, 2, 2, 2, 0, 0), (3, 3, 2, 2, 1, 1), (2, 3, 1, 2, 0, 1)]  # R, S, u, v, a, b


@pytest.mark.parametrize("case", POOL_CASES)
def test_pools_match_the_fast_path(case):
    r, s, u, v, a, b = case
    x = rand(2, 6, 7)
    delta_shape = ref.max_pool(x, r, s, u, v, a, b).shape
    delta = rand(*delta_shape, seed=4)
    for op, forward, backward in (
        (MaxPool2d, ref.max_pool, ref.max_pool_backward),
        (AvgPool2d, ref.avg_pool, ref.avg_pool_backward),
    ):
        xt = leaf(x[None])
        fast = op.apply(xt, kernel_size=(r, s), stride=(u, v), padding=(a, b))
        np.testing.assert_allclose(fast.data[0], forward(x, r, s, u, v, a, b), atol=1e-12)
        fast.backward(delta[None])
        np.testing.assert_allclose(xt.grad[0], backward(x, delta, r, s, u, v, a, b), atol=1e-12)


def test_max_pool_ties_go_to_the_first_maximum():
    x = np.zeros((1, 2, 2))
    grad = ref.max_pool_backward(x, np.ones((1, 1, 1)), 2, 2, 2, 2)
    np.testing.assert_array_equal(grad[0], [[1, 0], [0, 0]])
    xt = bp.tensor(x[None], requires_grad=True)
    MaxPool2d.apply(xt, kernel_size=2).sum().backward()
    np.testing.assert_array_equal(xt.grad[0, 0], [[1, 0], [0, 0]])
