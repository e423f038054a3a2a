"""Dense layers against torch: Linear, activations, Dropout, Flatten/Identity, loss layers."""

import numpy as np
import pytest
from tests.helpers import rand

import bprop as bp
from bprop import nn


def test_linear_matches_torch_and_reports_bad_input():
    torch = pytest.importorskip("torch")
    ref = torch.nn.Linear(5, 3).double()
    layer = nn.Linear(5, 3).to(np.float64)
    layer.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = rand(4, 2, 5)
    out, expected = layer(bp.tensor(x)), ref(torch.tensor(x))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), atol=1e-12)
    with pytest.raises(ValueError, match=r"Linear\(784→128\): expected input with 784 features .* \(64, 100\)"):
        nn.Linear(784, 128)(bp.zeros(64, 100))


def test_linear_init_bounds_and_no_bias():
    layer = nn.Linear(100, 10)
    assert np.abs(layer.weight.data).max() <= 0.1 and np.abs(layer.bias.data).max() <= 0.1
    assert layer.weight.dtype == np.float32
    assert nn.Linear(3, 2, bias=False).bias is None and len(list(nn.Linear(3, 2, bias=False).parameters())) == 1


@pytest.mark.parametrize("ours,theirs", [
    (lambda: nn.ReLU(), "ReLU()"), (lambda: nn.LeakyReLU(0.2), "LeakyReLU(0.2)"), (lambda: nn.Sigmoid(), "Sigmoid()"),
    (lambda: nn.Tanh(), "Tanh()"), (lambda: nn.GELU(), "GELU()"), (lambda: nn.GELU("tanh"), "GELU('tanh')"),
    (lambda: nn.Softmax(1), "Softmax(1)"), (lambda: nn.LogSoftmax(0), "LogSoftmax(0)"),
    (lambda: nn.Flatten(), "Flatten()"), (lambda: nn.Identity(), "Identity()")])
def test_stateless_layers_match_torch(ours, theirs):
    torch = pytest.importorskip("torch")
    ref = eval("torch.nn." + theirs, {"torch": torch})
    x = rand(3, 4, 2) * 3
    xt, tt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours()(xt), ref(tt)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=1e-7)
    g = rand(*expected.shape, seed=5)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(xt.grad, tt.grad.numpy(), atol=1e-7)


def test_dropout_layer_is_identity_in_eval():
    layer = nn.Dropout(0.5)
    x = bp.randn(10, 10)
    layer.eval()
    assert layer(x) is x
    layer.train()
    assert (layer(x).data == 0).any()
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(-0.1)


@pytest.mark.parametrize("name,kwargs", [("CrossEntropyLoss", dict(label_smoothing=0.1)), ("NLLLoss", {}),
                                         ("MSELoss", dict(reduction="sum")), ("BCEWithLogitsLoss", {})])
def test_loss_layers_match_torch(name, kwargs):
    torch = pytest.importorskip("torch")
    x = rand(4, 3)
    if name in ("CrossEntropyLoss", "NLLLoss"):
        target = np.array([0, 2, 1, 1])
        torch_target = torch.tensor(target)
    else:
        target = np.random.default_rng(0).random((4, 3))
        torch_target = torch.tensor(target)
    xt, tt = bp.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out = getattr(nn, name)(**kwargs)(xt, target)
    expected = getattr(torch.nn, name)(**kwargs)(tt, torch_target)
    assert out.item() == pytest.approx(expected.item(), abs=1e-10)
    out.backward()
    expected.backward()
    np.testing.assert_allclose(xt.grad, tt.grad.numpy(), atol=1e-10)
