"""conv2d beyond the op table (op_db.py checks its cases against torch and reference.py): a
gradcheck and torch sweep over every stride, padding, dilation and groups, channels-last inputs,
the chunked path, empty batches and kernels, and clear errors."""

import itertools

import numpy as np
import pytest
from tests.helpers import ChannelsLast, check, rand, torch_parity

import bprop as bp
import bprop.nn.functional as F
from bprop.ops import conv
from bprop.ops.kernels import conv_banded, im2col

CONV_CASES = [  # (N, C, H, W), O, kernel, stride, padding, dilation, groups
    ((2, 2, 5, 5), 2, 3, 1, 0, 1, 1),
    ((1, 2, 6, 7), 3, (2, 3), 2, 1, 1, 1),
    ((2, 4, 7, 5), 2, 3, 3, 2, 1, 2),
    ((1, 2, 7, 7), 4, 3, 1, 1, 2, 2),
    ((1, 3, 5, 6), 2, (3, 1), (1, 2), (2, 0), (2, 1), 1),
    ((3, 1, 4, 4), 1, 1, 1, 0, 1, 1),
]


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
    monkeypatch.setattr(im2col, "COLS_CHUNK_BYTES", 5 * per_sample)
    assert len(im2col.batch_chunks(slice(0, 5), per_sample)) == 1
    whole = grads()
    monkeypatch.setattr(im2col, "COLS_CHUNK_BYTES", 2 * per_sample)
    assert len(im2col.batch_chunks(slice(0, 5), per_sample)) == 3  # two, two and one samples
    for chunked, expected in zip(grads(), whole):
        np.testing.assert_allclose(chunked, expected, atol=1e-12)
    check(lambda x, w, b: F.conv2d(x, w, b, padding=1, groups=groups), x, w, b)


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


def test_empty_kernels_are_rejected():
    x = bp.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match=r"conv2d: kernel \(0, 3\).*at least 1"):
        F.conv2d(x, bp.zeros(1, 2, 0, 3))


def test_an_empty_batch_gives_empty_outputs_and_zero_weight_gradients():
    x = bp.zeros(0, 2, 5, 5, requires_grad=True)
    w, b = bp.randn(3, 2, 3, 3, requires_grad=True), bp.randn(3, requires_grad=True)
    y = F.max_pool2d(F.conv2d(x, w, b, padding=1), 2) + F.avg_pool2d(F.conv2d(x, w, b, padding=1), 2)
    assert y.shape == (0, 3, 2, 2)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 5, 5) and not np.asarray(w.grad).any() and not np.asarray(b.grad).any()


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_channels_last_input_gradcheck(case):
    shape, out_ch, kernel, stride, padding, dilation, groups = case
    kr, ks = conv.pair(kernel, "k")
    check(
        lambda x, w, b: F.conv2d(ChannelsLast.apply(x), w, b, stride, padding, dilation, groups),
        rand(*shape),
        rand(out_ch, shape[1] // groups, kr, ks, seed=1),
        rand(out_ch, seed=2),
    )


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_im2row_and_im2col_agree(case, bias):
    """NCHW input takes im2row (columns (c, r, s), rows of the image innermost), channels-last
    input im2col; both fold the bias into the GEMM through a column of ones. Same results."""
    shape, out_ch, kernel, stride, padding, dilation, groups = case
    kr, ks = conv.pair(kernel, "k")
    x, w, b = rand(*shape), rand(out_ch, shape[1] // groups, kr, ks, seed=1), rand(out_ch, seed=2)
    g = rand(*F.conv2d(bp.tensor(x), bp.tensor(w), None, stride, padding, dilation, groups).shape, seed=3)
    results = []
    for layout in (lambda t: t, ChannelsLast.apply):
        leaves = [bp.tensor(a, requires_grad=True) for a in (x, w, b)]
        out = F.conv2d(layout(leaves[0]), leaves[1], leaves[2] if bias else None, stride, padding, dilation, groups)
        out.backward(bp.tensor(g))
        results.append([out.data] + [t.grad for t in leaves[: 2 + bias]])
    assert im2col.rows_innermost(x)
    assert shape[1] == 1 or not im2col.rows_innermost(ChannelsLast.forward(None, x))
    for a, b_ in zip(*results):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-12)


def test_conv2d_workspace_is_reused_and_grown_across_shapes():
    small, large = rand(2, 3, 6, 6), rand(4, 3, 12, 12, seed=1)
    w = bp.tensor(rand(5, 3, 3, 3, seed=2))
    expected = F.conv2d(bp.tensor(small), w, padding=1).data
    F.conv2d(bp.tensor(large), w, padding=1)  # grows the workspace
    np.testing.assert_array_equal(F.conv2d(bp.tensor(small), w, padding=1).data, expected)


@pytest.mark.parametrize("channels_last", [False, True])
def test_conv2d_float32_matches_torch_on_benchmark_shapes(channels_last):
    torch = pytest.importorskip("torch")
    for shape, out_ch, kernel, padding in (
        ((8, 1, 28, 28), 6, 5, 2),
        ((8, 6, 14, 14), 16, 5, 0),
        ((4, 3, 32, 32), 32, 3, 1),
    ):
        x, w, b = (rand(*shape), rand(out_ch, shape[1], kernel, kernel, seed=1), rand(out_ch, seed=2))
        x, w, b = (a.astype(np.float32) for a in (x, w, b))
        g = rand(shape[0], out_ch, shape[2] + 2 * padding - kernel + 1, shape[3] + 2 * padding - kernel + 1, seed=3)
        ours = [bp.tensor(a, requires_grad=True) for a in (x, w, b)]
        xin = ChannelsLast.apply(ours[0]) if channels_last else ours[0]
        out = F.conv2d(xin, ours[1], ours[2], padding=padding)
        out.backward(bp.tensor(g.astype(np.float32)))
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
        ref = torch.nn.functional.conv2d(*theirs, padding=padding)
        ref.backward(torch.tensor(g.astype(np.float32)))
        np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-4, atol=1e-4)
        for t, r in zip(ours, theirs):
            np.testing.assert_allclose(t.grad, r.grad.numpy(), rtol=1e-4, atol=2e-3)


def route(monkeypatch, banded: bool) -> None:
    """Send every groups=1 conv through the banded route (conv_banded.py), or none."""
    limit = 10**6 if banded else 0
    monkeypatch.setattr(conv_banded, "MAX_OUT", limit)
    monkeypatch.setattr(conv_banded, "MAX_WIDTH_PER_TAP", limit)
    monkeypatch.setattr(conv_banded, "THIN_MAX_WIDTH_PER_TAP", limit)
    monkeypatch.setattr(conv_banded, "MIN_BATCH", 0)


@pytest.mark.parametrize("stride,padding,dilation", [case[:3] for case in SWEEP if case[3] == 1])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_banded_and_im2col_routes_agree(monkeypatch, stride, padding, dilation, channels_last, bias):
    """Output, ∂C/∂x, ∂C/∂W and ∂C/∂b through the banded row GEMMs equal im2col's over every
    stride, padding and dilation, both input layouts, a rectangular kernel, a random δ."""
    x, w, b = rand(3, 3, 9, 8), rand(4, 3, 3, 2, seed=1), rand(4, seed=2)
    layout = ChannelsLast.apply if channels_last else (lambda t: t)
    g = rand(*F.conv2d(bp.tensor(x), bp.tensor(w), None, stride, padding, dilation).shape, seed=3)

    def results(banded):
        route(monkeypatch, banded)
        leaves = [bp.tensor(a, requires_grad=True) for a in (x, w, b)]
        out = F.conv2d(layout(leaves[0]), leaves[1], leaves[2] if bias else None, stride, padding, dilation)
        out.backward(bp.tensor(g))
        return [out.data] + [np.asarray(t.grad) for t in leaves[: 2 + bias]]

    for banded, im2col_ in zip(results(True), results(False)):
        np.testing.assert_allclose(banded, im2col_, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in CONV_CASES if c[-1] == 1])
@pytest.mark.parametrize("channels_last", [False, True])
def test_banded_route_gradcheck(monkeypatch, case, channels_last):
    route(monkeypatch, banded=True)
    shape, out_ch, kernel, stride, padding, dilation, groups = case
    kr, ks = conv.pair(kernel, "k")
    layout = ChannelsLast.apply if channels_last else (lambda t: t)
    check(
        lambda x, w, b: F.conv2d(layout(x), w, b, stride, padding, dilation, groups),
        rand(*shape),
        rand(out_ch, shape[1], kr, ks, seed=1),
        rand(out_ch, seed=2),
    )


def test_banded_route_only_for_few_output_channels_wide_kernels_and_batches():
    pays = conv_banded.banded_pays
    assert pays((6, 1, 5, 5), 32, 28, groups=1, batch=64)  # LeNet-5's first conv
    assert pays((16, 6, 5, 5), 14, 10, groups=1, batch=64)  # and its second
    assert not pays((16, 6, 5, 5), 14, 10, groups=1, batch=1)  # but not at batch 1
    assert not pays((16, 6, 5, 5), 14, 10, groups=2, batch=64)
    assert not pays((32, 1, 3, 3), 30, 28, groups=1, batch=64)  # the CNN's first conv
    assert not pays((64, 32, 3, 3), 9, 7, groups=1, batch=64)  # a deep 3×3 on 7×7: im2col's GEMMs are wide
    assert not pays((16, 3, 5, 5), 36, 32, groups=1, batch=64)  # 7.2 kernel widths for 16 outputs
    assert not pays((8, 512, 11, 11), 40, 30, groups=1, batch=64)  # B would hold 54 M numbers
