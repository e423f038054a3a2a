"""max_pool2d, avg_pool2d beyond the op table (op_db.py checks strides, paddings, rectangular
kernels, ties, −∞ and NaN windows against torch and reference.py): ties and NaN over more
geometries, windows that skip pixels, padding never receiving a gradient, clear errors, and
average pooling's route for exact tiles (rows and a GEMM) against the per-offset one."""

import numpy as np
import pytest
from tests.helpers import ChannelsLast, check, leaf, rand, torch_parity

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


TILES = [((2, 3, 8, 6), 2, None), ((1, 5, 9, 6), 3, None), ((2, 2, 4, 9), (2, 3), None), ((2, 6, 6, 4), 2, 3)]


@pytest.mark.parametrize("shape,kernel,divisor_override", TILES)
def test_avg_pool2d_on_exact_tiles_equals_the_offset_by_offset_sums(monkeypatch, shape, kernel, divisor_override):
    """Channels-last input tiled exactly by the windows: summed by whole rows and a GEMM with
    [I; …; I]. Output and ∂C/∂x (random δ) equal the per-offset route's, and gradcheck holds."""
    from bprop.ops import pooling
    from bprop.ops.kernels import pool_windows

    x, g = rand(*shape), None

    def run(tiled_route):
        monkeypatch.setattr(pooling, "tiles_exactly", pool_windows.tiles_exactly if tiled_route else lambda *a: False)
        t = leaf(x)
        out = F.avg_pool2d(ChannelsLast.apply(t), kernel, divisor_override=divisor_override)
        nonlocal g
        g = rand(*out.shape, seed=1) if g is None else g
        out.backward(bp.tensor(g))
        return out.data, t.grad

    geometry = pooling.pool_geometry("avg_pool2d", shape, kernel, None, 0)
    assert pool_windows.tiles_exactly(ChannelsLast.forward(None, x).transpose(0, 2, 3, 1), geometry)
    for tiled, offsets in zip(run(True), run(False)):
        np.testing.assert_allclose(tiled, offsets, rtol=1e-13, atol=1e-13)
    check(lambda t: F.avg_pool2d(ChannelsLast.apply(t), kernel, divisor_override=divisor_override), x)


def test_avg_pool2d_on_tiles_keeps_infinities_and_nan_in_their_own_channel():
    """The tiled route's GEMM would spread 0·∞ = NaN to the other channels: non-finite input
    (or δ) goes the offset route, and the results are torch's."""
    torch = pytest.importorskip("torch")
    x = rand(2, 4, 6, 6)
    x[0, 1, 2, 3], x[1, 2, 0, 0], x[1, 3, 5, 5] = np.inf, -np.inf, np.nan
    torch_parity(lambda t: F.avg_pool2d(ChannelsLast.apply(t), 2), lambda t: torch.nn.functional.avg_pool2d(t, 2), x)
    t = leaf(rand(1, 3, 4, 4))
    out = F.avg_pool2d(ChannelsLast.apply(t), 2)
    g = np.zeros(out.shape)
    g[0, 0, 1, 1] = np.inf
    out.backward(bp.tensor(g))
    assert np.isinf(t.grad[0, 0, 2:, 2:]).all() and np.isfinite(np.delete(t.grad.reshape(3, -1), 0, axis=0)).all()
