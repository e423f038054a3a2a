"""The loop-for-loop reference agrees with the fast path and with torch."""

import numpy as np
import pytest

import bprop as bp
from bprop import reference as ref
from bprop.ops.conv import Conv2d
from bprop.ops.pooling import AvgPool2d, MaxPool2d
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


ACTIVATIONS = [
    (ref.sigmoid, ref.sigmoid_prime, {}),
    (ref.tanh, ref.tanh_prime, {}),
    (ref.relu, ref.relu_prime, {}),
    (ref.leaky_relu, ref.leaky_relu_prime, {"negative_slope": 0.2}),
    (ref.gelu, ref.gelu_prime, {}),
    (ref.gelu, ref.gelu_prime, {"approximate": "tanh"}),
    (ref.identity, ref.identity_prime, {}),
]


@pytest.mark.parametrize(("sigma", "sigma_prime", "kw"), ACTIVATIONS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_each_activation_derivative_is_its_slope(sigma, sigma_prime, kw):
    z = np.array([-7.0, -2.5, -0.3, 0.4, 1.7, 6.0])  # away from the kinks of relu and leaky relu
    eps = 1e-6
    slope = (sigma(z + eps, **kw) - sigma(z - eps, **kw)) / (2 * eps)
    np.testing.assert_allclose(sigma_prime(z, **kw), slope, rtol=1e-7, atol=1e-9)


def test_activations_match_torch():
    torch = pytest.importorskip("torch")
    z = np.array([-np.inf, -1e4, -50.0, -8.6, -1.0, 0.0, 0.5, 50.0, 1e4, np.inf])
    zt = torch.tensor(z)
    F = torch.nn.functional
    for mine, theirs in (
        (ref.sigmoid(z), torch.sigmoid(zt)),
        (ref.tanh(z), torch.tanh(zt)),
        (ref.relu(z), torch.relu(zt)),
        (ref.leaky_relu(z, 0.1), F.leaky_relu(zt, 0.1)),
        (ref.gelu(z[1:]), F.gelu(zt[1:])),
        (ref.gelu(z[1:-1], "tanh"), F.gelu(zt[1:-1], approximate="tanh")),
    ):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-12, atol=1e-300)


def test_softmax_jacobians_agree_with_finite_differences():
    z, eps = np.array([0.3, -1.2, 2.0, 0.0]), 1e-6
    for fn, jacobian in ((ref.softmax, ref.softmax_jacobian), (ref.log_softmax, ref.log_softmax_jacobian)):
        numeric = np.stack([(fn(z + eps * e) - fn(z - eps * e)) / (2 * eps) for e in np.eye(4)], axis=1)
        np.testing.assert_allclose(jacobian(z), numeric, atol=1e-8)
    np.testing.assert_allclose(ref.softmax(z).sum(), 1.0)
    np.testing.assert_allclose(ref.softmax(np.array([1000.0, 0.0])), [1.0, 0.0])  # no overflow


def test_cross_entropy_delta_is_p_minus_y():
    z, label = np.array([[1.0, 2.0, 0.5]]), np.array([1])
    dx, d_target = ref.cross_entropy_backward(np.asarray(1.0), z, label)
    np.testing.assert_allclose(dx[0], ref.softmax(z[0]) - [0.0, 1.0, 0.0])
    assert d_target is None
    np.testing.assert_allclose(ref.cross_entropy(z, label), -ref.log_softmax(z[0])[1])


def test_affine_backward_is_delta_a_transpose_and_w_transpose_delta():
    w, a, b, delta = rand(3, 4), rand(4, seed=1), rand(3, seed=2), rand(3, seed=3)
    np.testing.assert_allclose(ref.affine(w, a, b), w @ a + b)
    d_w, d_a, d_b = ref.affine_backward(w, a, delta)
    np.testing.assert_allclose(d_w, np.outer(delta, a))
    np.testing.assert_allclose(d_a, w.T @ delta)
    np.testing.assert_allclose(d_b, delta)


def test_mse_derivative_keeps_the_sign():
    y, t = np.array([1.0, -1.0]), np.array([0.0, 0.0])
    d_y, d_t = ref.mse_backward(np.asarray(1.0), y, t)
    np.testing.assert_allclose(d_y, [1.0, -1.0])  # 2(y − t)/N, not 2|y − t|/N
    np.testing.assert_allclose(d_t, -d_y)
