"""nn.MaxPool2d and nn.AvgPool2d: gradients, torch parity, defaults, errors and repr."""

import numpy as np
import pytest
from tests.helpers import check, rand, torch_parity

import bprop as bp
from bprop import nn

CASES = [  # input shape, kernel_size, stride, padding
    ((2, 3, 6, 6), 2, None, 0),
    ((1, 2, 7, 5), 3, 2, 1),
    ((2, 1, 5, 7), (2, 3), (1, 2), (1, 1)),
    ((3, 2, 5, 5), 2, 1, 0),
    ((1, 1, 1, 1), 1, None, 0),
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("layer", [nn.MaxPool2d, nn.AvgPool2d])
def test_gradcheck(layer, case):
    shape, kernel, stride, padding = case
    check(layer(kernel, stride, padding), rand(*shape))


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("layer", ["MaxPool2d", "AvgPool2d"])
def test_outputs_and_gradients_match_torch(layer, case):
    torch = pytest.importorskip("torch")
    shape, kernel, stride, padding = case
    theirs = getattr(torch.nn, layer)(kernel, stride, padding)
    torch_parity(getattr(nn, layer)(kernel, stride, padding), theirs, rand(*shape))


def test_stride_defaults_to_the_kernel():
    x = bp.tensor(np.arange(2 * 3 * 8 * 9, dtype=np.float32).reshape(2, 3, 8, 9))
    assert nn.MaxPool2d(2)(x).shape == (2, 3, 4, 4)
    assert nn.AvgPool2d((2, 3))(x).shape == (2, 3, 4, 3)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).data[0, 0, 0], [10, 12, 14, 16])


def test_average_counts_the_zero_padding():
    out = nn.AvgPool2d(2, padding=1)(bp.ones(1, 1, 2, 2))
    np.testing.assert_array_equal(out.data[0, 0], [[0.25, 0.25], [0.25, 0.25]])


def test_max_pads_with_minus_infinity():
    out = nn.MaxPool2d(3, stride=1, padding=1)(bp.tensor(-np.ones((1, 1, 2, 2), np.float32)))
    np.testing.assert_array_equal(out.data, -np.ones((1, 1, 2, 2)))


def test_layers_have_no_parameters_and_keep_float32():
    for layer in (nn.MaxPool2d(2), nn.AvgPool2d(2)):
        assert list(layer.parameters()) == [] and layer.state_dict() == {}
        x = bp.randn(2, 3, 4, 4, requires_grad=True)
        y = layer(x)
        y.sum().backward()
        assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_errors_name_the_layer_and_shapes():
    with pytest.raises(
        ValueError, match=r"MaxPool2d\(kernel_size=2\): .*\(N, C, H, W\) or unbatched \(C, H, W\), got shape \(3, 4\)"
    ):
        nn.MaxPool2d(2)(bp.zeros(3, 4))
    with pytest.raises(ValueError, match=r"AvgPool2d\(kernel_size=5\): .*larger than the padded input"):
        nn.AvgPool2d(5)(bp.zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2\): .*at least 1"):
        nn.MaxPool2d(2, stride=0)
    with pytest.raises(ValueError, match=r"AvgPool2d\(kernel_size=0\): .*at least 1"):
        nn.AvgPool2d(0)
    with pytest.raises(ValueError, match="half the kernel"):
        nn.MaxPool2d(2, padding=2)


def test_repr():
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool2d((2, 3), 1, 1)) == "AvgPool2d(kernel_size=(2, 3), stride=1, padding=1)"


# ----- torch's other pooling arguments, the adaptive pools and unpooling ------------------------


def layer_pair(name, **kwargs):
    torch = pytest.importorskip("torch")
    return getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)


@pytest.mark.parametrize(
    "name,kwargs,shape",
    [
        ("MaxPool2d", dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True), (2, 3, 9, 8)),
        ("MaxPool2d", dict(kernel_size=2, ceil_mode=True), (3, 5, 7)),  # unbatched (C, H, W)
        ("AvgPool2d", dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 2, 8, 7)),
        ("AvgPool2d", dict(kernel_size=2, divisor_override=3), (3, 4, 6)),
        ("AdaptiveAvgPool2d", dict(output_size=(3, None)), (2, 3, 7, 5)),
        ("AdaptiveAvgPool2d", dict(output_size=1), (3, 6, 6)),
        ("AdaptiveMaxPool2d", dict(output_size=(2, 3)), (2, 2, 7, 7)),
    ],
    ids=str,
)
def test_pooling_layers_match_torch_with_every_argument(name, kwargs, shape):
    ours, theirs = layer_pair(name, **kwargs)
    torch_parity(ours, theirs, rand(*shape))


@pytest.mark.parametrize("pool_kwargs", [dict(kernel_size=2), dict(kernel_size=3, stride=2, padding=1)], ids=str)
def test_max_pool_indices_and_max_unpool_match_torch(pool_kwargs):
    torch = pytest.importorskip("torch")
    x = rand(2, 3, 7, 6)
    pool, unpool = nn.MaxPool2d(return_indices=True, **pool_kwargs), nn.MaxUnpool2d(**pool_kwargs)
    t_pool = torch.nn.MaxPool2d(return_indices=True, **pool_kwargs)
    t_unpool = torch.nn.MaxUnpool2d(**pool_kwargs)
    y, indices = pool(bp.tensor(x))
    _, t_indices = t_pool(torch.tensor(x))
    np.testing.assert_array_equal(np.asarray(indices), t_indices.numpy())
    size = (7, 6)
    torch_parity(
        lambda v: unpool(v, indices, output_size=size),
        lambda v: t_unpool(v, t_indices, output_size=size),
        np.asarray(y).astype(np.float64),
    )
    _, a_i = nn.AdaptiveMaxPool2d(3, return_indices=True)(bp.tensor(x))
    _, t_ai = torch.nn.AdaptiveMaxPool2d(3, return_indices=True)(torch.tensor(x))
    np.testing.assert_array_equal(np.asarray(a_i), t_ai.numpy())


def test_adaptive_pools_make_any_input_size_fit_a_classifier():
    head = nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(4, 2))
    for size in (5, 8, 13):
        assert head(bp.randn(3, 4, size, size + 1)).shape == (3, 2)


def test_pooling_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2\): .*padding"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="invalid output_size"):
        nn.MaxUnpool2d(2)(bp.randn(1, 1, 2, 2), np.zeros((1, 1, 2, 2), np.int64), output_size=(9, 9))
