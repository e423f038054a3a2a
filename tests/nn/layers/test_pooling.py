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
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2\): expected input \(N, C, H, W\), got \(3, 4\)"):
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
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.AvgPool2d((2, 3), 1, 1)) == "AvgPool2d(kernel_size=(2, 3), stride=1, padding=1)"
