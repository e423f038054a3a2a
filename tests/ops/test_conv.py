"""conv2d, max_pool2d, avg_pool2d: float64 gradcheck over strides, paddings, dilations, groups,
rectangular kernels and odd sizes; torch parity; the chunked path; clear errors."""

import itertools

import numpy as np
import pytest
from tests.helpers import check, rand, torch_parity

import bprop as bp
import bprop.nn.functional as F
from bprop.ops import conv

CONV_CASES = [  # (N, C, H, W), O, kernel, stride, padding, dilation, groups
    ((2, 2, 5, 5), 2, 3, 1, 0, 1, 1),
    ((1, 2, 6, 7), 3, (2, 3), 2, 1, 1, 1),
    ((2, 4, 7, 5), 2, 3, 3, 2, 1, 2),
    ((1, 2, 7, 7), 4, 3, 1, 1, 2, 2),
    ((1, 3, 5, 6), 2, (3, 1), (1, 2), (2, 0), (2, 1), 1),
    ((3, 1, 4, 4), 1, 1, 1, 0, 1, 1),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_gradcheck(case):
    shape, out_ch, kernel, stride, padding, dilation, groups = case
    kr, ks = conv.pair(kernel, "k")
    check(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
        rand(*shape),
        rand(out_ch, shape[1] // groups, kr, ks, seed=1),
        rand(out_ch, seed=2),
    )


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_torch_parity(case):
    torch = pytest.importorskip("torch")
    shape, out_ch, kernel, stride, padding, dilation, groups = case
    kr, ks = conv.pair(kernel, "k")
    torch_parity(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
        lambda x, w, b: torch.nn.functional.conv2d(x, w, b, stride, padding, dilation, groups),
        rand(*shape),
        rand(out_ch, shape[1] // groups, kr, ks, seed=1),
        rand(out_ch, seed=2),
    )


SWEEP = list(itertools.product((1, 2, 3), (0, 1, 2), (1, 2), (1, 2)))  # stride, padding, dilation, groups


@pytest.mark.parametrize("stride,padding,dilation,groups", SWEEP)
def test_conv2d_gradcheck_every_stride_padding_dilation_and_groups(stride, padding, dilation, groups):
    # a rectangular kernel on an odd-sized input: each combination crops, skips and pads differently
    check(
        lambda x, w, b: F.conv2d(x, w, b, stride, padding, dilation, groups),
        rand(1, 2, 7, 6),
        rand(2, 2 // groups, 3, 2, seed=1),
        rand(2, seed=2),
    )


@pytest.mark.parametrize("stride,padding,dilation,groups", SWEEP)
def test_conv2d_every_stride_padding_dilation_and_groups_matches_torch(stride, padding, dilation, groups):
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x, w: F.conv2d(x, w, None, stride, padding, dilation, groups),
        lambda x, w: torch.nn.functional.conv2d(x, w, None, stride, padding, dilation, groups),
        rand(2, 4, 8, 9),
        rand(4, 4 // groups, 3, 2, seed=1),
    )


@pytest.mark.parametrize("groups", [1, 2])
def test_conv2d_chunked_path_gives_the_same_result(monkeypatch, groups):
    x, w, b = rand(5, 4, 6, 6), rand(6, 4 // groups, 3, 3, seed=1), rand(6, seed=2)

    def grads():
        leaves = [bp.tensor(a, dtype=np.float64, requires_grad=True) for a in (x, w, b)]
        out = F.conv2d(*leaves, padding=1, groups=groups)
        out.backward(rand(*out.shape, seed=3))
        return [out.data] + [t.grad for t in leaves]

    per_sample = 36 * 9 * (4 // groups) * 8  # P·Q·R·S·C/G float64 im2col bytes of one sample
    monkeypatch.setattr(conv, "COLS_CHUNK_BYTES", 5 * per_sample)
    assert len(conv._chunks(5, per_sample)) == 1
    whole = grads()
    monkeypatch.setattr(conv, "COLS_CHUNK_BYTES", 2 * per_sample)
    assert len(conv._chunks(5, per_sample)) == 3  # two, two and one samples
    for chunked, expected in zip(grads(), whole):
        np.testing.assert_allclose(chunked, expected, atol=1e-12)
    check(lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=groups), x, w, b)


POOL_CASES = [
    ((2, 3, 6, 6), 2, None, 0),
    ((1, 2, 7, 5), 3, 2, 1),
    ((2, 1, 5, 7), (2, 3), (1, 2), (1, 1)),
    ((1, 2, 5, 5), 2, 1, 0),
    ((1, 1, 7, 7), 2, None, 0),
]


@pytest.mark.parametrize("case", POOL_CASES)
@pytest.mark.parametrize("name", ["max_pool2d", "avg_pool2d"])
def test_pool_gradcheck_and_parity(case, name):
    shape, kernel, stride, padding = case
    ours = getattr(F, name)
    check(lambda x: ours(x, kernel, stride, padding), rand(*shape))
    torch = pytest.importorskip("torch")
    theirs = getattr(torch.nn.functional, name)
    torch_parity(lambda x: ours(x, kernel, stride, padding), lambda x: theirs(x, kernel, stride, padding), rand(*shape))


def test_float32_stays_float32():
    x = bp.randn(2, 3, 8, 8)
    w = bp.randn(4, 3, 3, 3, requires_grad=True)
    y = F.max_pool2d(F.conv2d(x, w, padding=1), 2)
    assert y.dtype == np.float32
    y.sum().backward()
    assert w.grad.dtype == np.float32


def test_errors_name_the_problem():
    x = bp.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match=r"expected input \(N, 3, H, W\).*\(1, 2, 4, 4\)"):
        F.conv2d(x, bp.zeros(1, 3, 3, 3))
    with pytest.raises(ValueError, match="larger than the padded input"):
        F.conv2d(x, bp.zeros(1, 2, 5, 5))
    with pytest.raises(ValueError, match="at least 1"):
        F.conv2d(x, bp.zeros(1, 2, 3, 3), stride=0)
    with pytest.raises(ValueError, match="at least 1"):
        F.conv2d(x, bp.zeros(1, 2, 3, 3), dilation=0)
    with pytest.raises(ValueError, match="divisible by groups"):
        F.conv2d(x, bp.zeros(3, 1, 3, 3), groups=2)
    with pytest.raises(ValueError, match="at most half the kernel"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"expected input \(N, C, H, W\)"):
        F.avg_pool2d(bp.zeros(2, 4, 4), 2)


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


def test_empty_kernels_are_rejected():
    x = bp.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match=r"max_pool2d: kernel \(0, 2\).*at least 1"):
        F.max_pool2d(x, (0, 2))
    with pytest.raises(ValueError, match=r"conv2d: kernel \(0, 3\).*at least 1"):
        F.conv2d(x, bp.zeros(1, 2, 0, 3))


def test_an_empty_batch_gives_empty_outputs_and_zero_weight_gradients():
    x = bp.zeros(0, 2, 5, 5, requires_grad=True)
    w, b = bp.randn(3, 2, 3, 3, requires_grad=True), bp.randn(3, requires_grad=True)
    y = F.max_pool2d(F.conv2d(x, w, b, padding=1), 2) + F.avg_pool2d(F.conv2d(x, w, b, padding=1), 2)
    assert y.shape == (0, 3, 2, 2)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 5, 5) and not w.grad.any() and not b.grad.any()
