"""max_pool2d, avg_pool2d beyond the op table (op_db.py checks strides, paddings, rectangular
kernels, ties, −∞ and NaN windows against torch and reference.py): ties and NaN over more
geometries, windows that skip pixels, padding never receiving a gradient, clear errors."""

import numpy as np
import pytest
from tests.helpers import check, leaf, rand, torch_parity

import bprop as bp
import bprop.nn.functional as F


@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (3, 1, 1), (3, 2, 1), ((2, 3), (2, 1), (1, 0))])
def test_max_pool2d_ties_route_to_the_first_maximum_like_torch(kernel, stride, padding):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).integers(0, 3, (2, 3, 7, 6)).astype(np.float64)  # many ties
    torch_parity(
        lambda t: F.max_pool2d(t, kernel, stride, padding),
        lambda t: torch.nn.functional.max_pool2d(t, kernel, stride, padding),
        x,
    )


def test_pool_backward_covers_rows_and_columns_no_window_reads():
    x = bp.tensor(rand(1, 2, 7, 5), requires_grad=True)  # 2×2 windows skip the last row and column
    for pool in (F.max_pool2d, F.avg_pool2d):
        x.grad = None
        pool(x, 2).sum().backward()
        assert np.all(x.grad[:, :, 6, :] == 0) and np.all(x.grad[:, :, :, 4] == 0)
        assert np.isfinite(x.grad).all()


def test_errors_name_the_problem():
    x = bp.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"expected input \(N, C, H, W\) or unbatched \(C, H, W\)"):
        F.avg_pool2d(bp.zeros(4, 4), 2)
    assert F.avg_pool2d(bp.zeros(2, 4, 4), 2).shape == (2, 2, 2)  # unbatched, as torch
    with pytest.raises(ValueError, match=r"max_pool2d: kernel \(0, 2\).*at least 1"):
        F.max_pool2d(x, (0, 2))


def test_max_pool2d_never_routes_the_gradient_to_the_padding():
    """A window whose real inputs are all −∞ still has a real argmax (issue 11: torch [1, 4, 2, 2])."""
    x = leaf(np.array([[[[-np.inf, 5.0], [1.0, 2.0]]]]))
    y = F.max_pool2d(x, 2, 1, 1)
    y.backward(np.ones(y.shape))
    np.testing.assert_array_equal(x.grad, [[[[1.0, 4.0], [2.0, 2.0]]]])
    x = leaf(np.full((1, 1, 2, 2), -np.inf))
    F.max_pool2d(x, 2, 1, 1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[[[4.0, 2.0], [2.0, 1.0]]]])  # the first real pixel of each window


@pytest.mark.parametrize("seed", range(6))
def test_max_pool2d_matches_torch_on_nan_infinities_and_ties(seed):
    """NaN wins its window (the last NaN, as torch's val > max or isnan(val)); ±∞ and ties the first."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 2, (2, 2, 5, 6)).astype(np.float64)
    u = rng.random(x.shape)
    x[u < 0.15], x[(u > 0.15) & (u < 0.22)], x[(u > 0.22) & (u < 0.27)] = -np.inf, np.nan, np.inf
    kernel, stride, padding = [(2, 1, 1), (3, 1, 1), (3, 2, 1), (2, None, 0)][seed % 4]
    torch_parity(
        lambda t: F.max_pool2d(t, kernel, stride, padding),
        lambda t: torch.nn.functional.max_pool2d(t, kernel, stride, padding),
        x,
    )


def test_max_pool2d_gradcheck_with_padding_and_a_random_upstream_gradient():
    x = rand(2, 3, 5, 4, seed=4)
    check(lambda t: F.max_pool2d(t, 3, 1, 1), x)
    check(lambda t: F.max_pool2d(t, (2, 3), (1, 2), (1, 1)), x)


@pytest.mark.parametrize(
    "shape,kernel,stride,padding",
    [
        ((3, 4, 8, 8), 2, None, 0),
        ((2, 3, 9, 7), 3, 2, 1),
        ((2, 2, 7, 6), (2, 3), 1, (1, 0)),
        ((1, 2, 20, 18), 17, 1, 0),  # 289 offsets: a uint16 argmax
    ],
)
def test_max_pool2d_argmax_noted_in_forward_routes_like_comparing_again(shape, kernel, stride, padding):
    """Training forward notes each window's argmax offset; backward routes δ by it. It must give
    the same gradient as comparing x with y again (the path NaN windows take), ties included,
    and with more than 255 offsets per window (a wider index type)."""
    from bprop.ops.kernels.pool_windows import max_pool_input_grad, padded_nhwc
    from bprop.ops.pooling import pool_geometry

    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, shape).astype(np.float32)  # ties everywhere
    t = bp.tensor(x, requires_grad=True)
    y = F.max_pool2d(t, kernel, stride, padding)
    g = rng.standard_normal(y.shape).astype(np.float32)
    y.backward(bp.tensor(g))
    geo = pool_geometry("max_pool2d", x.shape, kernel, stride, padding)
    out = y.detach().numpy().transpose(0, 2, 3, 1)
    compared = max_pool_input_grad(padded_nhwc(x, geo, -np.inf), out, g.transpose(0, 2, 3, 1), geo, x.shape)
    a, b = geo.padding
    expected = compared[:, a : a + shape[2], b : b + shape[3], :].transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(t.grad.numpy(), expected)


def test_max_pool2d_notes_no_argmax_without_grad():
    """Inference does not pay for the argmax: it is noted only when backward may run."""
    from bprop.ops.pooling import MaxPool2d

    seen = []
    forward = MaxPool2d.forward

    def spy(ctx, *args, **kwargs):
        out = forward(ctx, *args, **kwargs)
        seen.append("argmax" in ctx.__dict__)
        return out

    x = rand(1, 2, 4, 4).astype(np.float32)
    try:
        MaxPool2d.forward = staticmethod(spy)
        with bp.no_grad():
            F.max_pool2d(bp.tensor(x, requires_grad=True), 2)
        F.max_pool2d(bp.tensor(x, requires_grad=True), 2)
    finally:
        MaxPool2d.forward = staticmethod(forward)
    assert seen == [False, True]


def test_remembered_geometry_still_refuses_what_it_refused():
    """Window placement is remembered per plain-int arguments; a float kernel equal as a key
    (2.0 == 2) must still be refused after the int one was placed."""
    x = bp.zeros(1, 2, 4, 4)
    assert F.max_pool2d(x, 2).shape == (1, 2, 2, 2)
    for _ in range(2):
        with pytest.raises((TypeError, ValueError)):
            F.max_pool2d(x, 2.0)
    assert F.avg_pool2d(x, [2, 2]).shape == (1, 2, 2, 2)  # a list: placed afresh, not remembered
