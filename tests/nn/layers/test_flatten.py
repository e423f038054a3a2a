"""nn.Flatten and nn.Identity: shapes like torch's, gradients passed through unchanged."""

import numpy as np
import pytest
from tests.helpers import check, rand

import bprop as bp
from bprop import nn


@pytest.mark.parametrize(
    "shape,args",
    [
        ((2, 3, 4, 5), ()),
        ((2, 3, 4, 5), (0,)),
        ((2, 3, 4, 5), (1, 2)),
        ((2, 3, 4, 5), (-3, -2)),
        ((4, 1), ()),
        ((3, 1, 1), (1, 1)),
        ((6,), (0,)),
    ],
)
def test_shapes_values_and_gradients_match_torch(shape, args):
    torch = pytest.importorskip("torch")
    x = rand(*shape)
    xb, xt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = nn.Flatten(*args)(xb), torch.nn.Flatten(*args)(xt)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    g = rand(*out.shape, seed=4)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_array_equal(xb.grad, xt.grad.numpy())


@pytest.mark.parametrize("shape,args", [((2, 3, 4), ()), ((1, 5, 1), (0, 1)), ((3, 2, 2), (-2,))])
def test_gradcheck(shape, args):
    layer = nn.Flatten(*args)
    check(lambda x: layer(x), rand(*shape))


def test_bad_dims_raise_like_torch():
    with pytest.raises(IndexError, match=r"flatten: dim 1 is out of range for shape \(5,\)"):
        nn.Flatten()(bp.randn(5))
    with pytest.raises(ValueError, match="start_dim 2 comes after end_dim 1"):
        nn.Flatten(2, 1)(bp.randn(2, 3, 4))


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    assert repr(nn.Flatten(0, 2)) == repr(torch.nn.Flatten(0, 2))
    assert repr(nn.Identity()) == repr(torch.nn.Identity())


def test_identity_passes_input_and_gradient_through():
    x = bp.tensor(rand(3, 2), requires_grad=True)
    layer = nn.Identity()
    assert layer(x) is x and not list(layer.parameters())
    (layer(x) * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((3, 2), 2.0))
