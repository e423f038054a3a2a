"""Activation layers: gradients in float64, torch parity of outputs, gradients and repr."""

import numpy as np
import pytest
from tests.helpers import check, rand

import bprop as bp
from bprop import nn

# (our layer, the same layer in torch, as source evaluated with torch in scope)
LAYERS = [
    (lambda: nn.ReLU(), "torch.nn.ReLU()"),
    (lambda: nn.LeakyReLU(), "torch.nn.LeakyReLU()"),
    (lambda: nn.LeakyReLU(0.2), "torch.nn.LeakyReLU(0.2)"),
    (lambda: nn.Sigmoid(), "torch.nn.Sigmoid()"),
    (lambda: nn.Tanh(), "torch.nn.Tanh()"),
    (lambda: nn.GELU(), "torch.nn.GELU()"),
    (lambda: nn.GELU(approximate="tanh"), "torch.nn.GELU(approximate='tanh')"),
    (lambda: nn.Softmax(dim=1), "torch.nn.Softmax(dim=1)"),
    (lambda: nn.Softmax(dim=-1), "torch.nn.Softmax(dim=-1)"),
    (lambda: nn.LogSoftmax(dim=0), "torch.nn.LogSoftmax(dim=0)"),
    (lambda: nn.LogSoftmax(dim=-1), "torch.nn.LogSoftmax(dim=-1)"),
]
IDS = [source.removeprefix("torch.nn.") for _, source in LAYERS]
SHAPES = [(3, 4, 2), (1, 5), (7, 1), (2, 3)]


@pytest.mark.parametrize("make,_", LAYERS, ids=IDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck(make, _, shape):
    layer = make()
    check(lambda x: layer(x), rand(*shape) * 2)


@pytest.mark.parametrize("make,source", LAYERS, ids=IDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_matches_torch(make, source, shape):
    torch = pytest.importorskip("torch")
    ours, ref = make(), eval(source, {"torch": torch})
    x = rand(*shape, seed=1) * 3
    xb, xt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xb), ref(xt)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-7, atol=1e-12)
    g = rand(*shape, seed=2)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(xb.grad, xt.grad.numpy(), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("make,source", LAYERS, ids=IDS)
def test_repr_matches_torch(make, source):
    torch = pytest.importorskip("torch")
    assert repr(make()) == repr(eval(source, {"torch": torch}))


@pytest.mark.parametrize("make,_", LAYERS, ids=IDS)
def test_float32_stays_float32(make, _):
    assert make()(bp.randn(4, 3)).dtype == np.float32


def test_activations_have_no_parameters():
    assert all(not list(make().parameters()) and not make().state_dict() for make, _ in LAYERS)


def test_gelu_rejects_an_unknown_approximation():
    with pytest.raises(ValueError, match=r"GELU: approximate must be 'none' or 'tanh', got 'erf'"):
        nn.GELU(approximate="erf")


def test_leaky_relu_slope_and_softmax_dim_are_used():
    x = bp.tensor(np.array([[-2.0, 1.0], [0.5, -1.0]]))
    np.testing.assert_allclose(nn.LeakyReLU(0.3)(x).data, [[-0.6, 1.0], [0.5, -0.3]])
    np.testing.assert_allclose(np.asarray(nn.Softmax(dim=0)(x).data).sum(0), [1.0, 1.0])
    np.testing.assert_allclose(np.exp(nn.LogSoftmax(dim=1)(x).data).sum(1), [1.0, 1.0])


@pytest.mark.parametrize(
    "make,source",
    [
        (lambda: nn.ReLU(inplace=True), "torch.nn.ReLU(inplace=True)"),
        (lambda: nn.LeakyReLU(0.2, inplace=True), "torch.nn.LeakyReLU(0.2, inplace=True)"),
        (lambda: nn.Dropout(0.25, inplace=True), "torch.nn.Dropout(0.25, inplace=True)"),
    ],
    ids=["ReLU", "LeakyReLU", "Dropout"],
)
def test_inplace_is_accepted_computed_out_of_place_and_shown_as_torch_shows_it(make, source):
    layer = make().eval()
    x = bp.tensor(np.array([[-1.0, 2.0], [3.0, -4.0]]), requires_grad=True)
    before = np.array(x.data)
    out = layer(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.data, before)  # the input keeps its values
    assert x.grad is not None and out.shape == x.shape
    torch = pytest.importorskip("torch")
    assert repr(layer) == repr(eval(source, {"torch": torch}))
