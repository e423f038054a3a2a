"""nn.Linear: gradients, torch parity, torch's default init, errors and repr."""

import math

import numpy as np
import pytest
from tests.helpers import check, rand

import bprop as bp
from bprop import nn


def linear64(in_features, out_features, bias=True):
    bp.manual_seed(0)
    return nn.Linear(in_features, out_features, bias=bias).to(np.float64)


@pytest.mark.parametrize("x_shape,out_features", [((4, 5), 3), ((1, 1), 1), ((2, 3, 5), 3), ((7, 13), 5), ((5,), 2)])
def test_gradcheck_input_weight_and_bias(x_shape, out_features):
    layer = linear64(x_shape[-1], out_features)
    x = bp.tensor(rand(*x_shape), requires_grad=True)
    assert bp.gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


def test_gradcheck_without_bias():
    layer = linear64(4, 3, bias=False)
    check(lambda x: layer(x), rand(6, 4))
    assert bp.gradcheck(lambda w: layer(bp.tensor(rand(6, 4))), [layer.weight])


@pytest.mark.parametrize("x_shape,bias", [((4, 5), True), ((2, 3, 5), True), ((1, 5), False)])
def test_outputs_and_gradients_match_torch(x_shape, bias):
    torch = pytest.importorskip("torch")
    ref = torch.nn.Linear(5, 3, bias=bias).double()
    layer = nn.Linear(5, 3, bias=bias).to(np.float64)
    layer.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = rand(*x_shape)
    xb, xt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = layer(xb), ref(xt)
    np.testing.assert_allclose(np.asarray(out), expected.detach().numpy(), rtol=1e-7, atol=1e-12)
    g = rand(*expected.shape, seed=3)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(xb.grad, xt.grad.numpy(), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-7, atol=1e-12)
    if bias:
        np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-7, atol=1e-12)


def test_default_init_is_torchs_uniform():
    bp.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)  # kaiming_uniform(a=√5): √3·√(1/3)/√fan_in
    w, b = np.asarray(layer.weight), np.asarray(layer.bias)
    assert w.shape == (300, 400) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)
    assert np.abs(b).max() <= bound and b.std() == pytest.approx(bound / math.sqrt(3), rel=0.2)
    assert w.dtype == b.dtype == np.float32
    bp.manual_seed(0)
    np.testing.assert_array_equal(np.asarray(nn.Linear(400, 300).weight), w)  # draws come from bp's generator


def test_dtype_is_kept():
    x = bp.randn(3, 4)
    assert nn.Linear(4, 2)(x).dtype == np.float32
    assert nn.Linear(4, 2, dtype=np.float64)(bp.tensor(rand(3, 4))).dtype == np.float64


def test_no_bias_registers_one_parameter():
    layer = nn.Linear(3, 2, bias=False)
    assert layer.bias is None
    assert [n for n, _ in layer.named_parameters()] == ["weight"] and list(layer.state_dict()) == ["weight"]


def test_zero_input_features_give_the_bias():
    layer = nn.Linear(0, 3)
    out = layer(bp.zeros(4, 0))
    assert out.shape == (4, 3)
    np.testing.assert_array_equal(np.asarray(out), np.broadcast_to(np.asarray(layer.bias), (4, 3)))


def test_wrong_feature_count_names_the_layer_and_shapes():
    with pytest.raises(
        ValueError,
        match=r"Linear\(784→128\): expected input with 784 features in the last dim, "
        r"got shape \(64, 100\)",
    ):
        nn.Linear(784, 128)(bp.zeros(64, 100))
    with pytest.raises(ValueError, match=r"Linear\(3→2\).*got shape \(\)"):
        nn.Linear(3, 2)(bp.tensor(1.0))


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    assert repr(nn.Linear(3, 2)) == repr(torch.nn.Linear(3, 2))
    assert repr(nn.Linear(3, 2, bias=False)) == repr(torch.nn.Linear(3, 2, bias=False))
