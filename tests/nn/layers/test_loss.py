"""Loss layers against torch (Linear, activations, Dropout and Flatten have their own test files)."""

import numpy as np
import pytest
from tests.helpers import rand

import bprop as bp
from bprop import nn


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
