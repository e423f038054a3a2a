"""``.grad`` and ``.data`` are Tensors, as in torch (issue 20, item 4): the idioms people copy
from PyTorch run unchanged, with torch's numbers and torch's errors."""

from typing import Any

import numpy as np
import pytest

import bprop as bp
from bprop import nn, optim


def _idioms(lib: Any) -> dict[str, Any]:
    """The same program in bprop and torch: every .grad/.data idiom, recording what it saw."""
    seen: dict[str, Any] = {}
    w = lib.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    seen["grad"] = w.grad.numpy().copy()
    seen["grad_norm"] = w.grad.norm().item()
    seen["grad_inf_norm"] = w.grad.norm(float("inf")).item()
    seen["grad_type_is_tensor"] = isinstance(w.grad, type(w))
    seen["grad_requires_grad"] = w.grad.requires_grad
    with lib.no_grad():
        w -= 0.1 * w.grad  # the hand-written SGD step of the tutorials
    seen["after_step"] = w.detach().numpy().copy()
    w.grad.zero_()
    seen["zeroed"] = w.grad.numpy().copy()
    (w * 3).sum().backward()
    seen["accumulated_into_the_zeroed_grad"] = w.grad.numpy().copy()
    w.grad = None
    seen["grad_none"] = w.grad is None
    w.data.add_(1.0)  # outside the graph, no error although w requires grad
    seen["data_add"] = w.detach().numpy().copy()
    w.data.mul_(2.0)
    seen["data_mul"] = w.detach().numpy().copy()
    seen["data_requires_grad"] = w.data.requires_grad
    seen["data_is_leaf"] = w.data.is_leaf
    w.data = lib.tensor([5.0, 6.0, 7.0])
    seen["data_assigned"] = w.detach().numpy().copy()
    seen["requires_grad_kept"] = w.requires_grad
    w.grad = lib.ones(3)
    seen["assigned_grad"] = w.grad.numpy().copy()
    return seen


def test_grad_and_data_idioms_match_torch():
    torch = pytest.importorskip("torch")
    ours, theirs = _idioms(bp), _idioms(torch)
    assert ours.keys() == theirs.keys()
    for key in ours:
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-6, err_msg=key)


@pytest.mark.parametrize(
    "make_grad,error,match",
    [
        (lambda lib: lib.ones(2, 3), RuntimeError, "assign a gradient of size"),
        (lambda lib: lib.ones(3, dtype=lib.float64), RuntimeError, "assign a gradient with dtype"),
        (lambda lib: np.ones(3, np.float32), TypeError, "expected to be a Tensor or None"),
    ],
    ids=["shape", "dtype", "ndarray"],
)
def test_assigning_a_wrong_grad_raises_as_torch_does(make_grad, error, match):
    torch = pytest.importorskip("torch")
    for lib in (torch, bp):
        w = lib.zeros(3, requires_grad=True)
        with pytest.raises(error, match=match):
            w.grad = make_grad(lib)
        assert w.grad is None


def test_data_shares_memory_but_not_the_graph_or_the_version():
    w = bp.tensor([1.0, 2.0], requires_grad=True)
    d = w.data
    assert isinstance(d, bp.Tensor) and not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), np.asarray(w))
    y = (w * w).sum()  # Mul saves w
    d.fill_(3.0)  # as torch: a change through .data is not tracked, so backward uses the new values
    assert w._version == 0
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [6.0, 6.0])


def test_numpy_gives_the_array_and_grad_numpy_its_gradient():
    w = bp.tensor([1.0, 2.0], requires_grad=True)
    (w * 2).sum().backward()
    assert type(w.grad.numpy()) is np.ndarray and type(w.detach().numpy()) is np.ndarray
    assert type(np.asarray(w.grad)) is np.ndarray


def test_training_loop_written_against_torch_tensors_runs():
    """A torch-style manual loop: p.grad.norm(), p.data.add_(…, alpha=…), p.grad.zero_()."""
    torch = pytest.importorskip("torch")

    def run(lib: Any, nn_: Any) -> np.ndarray:
        lib.manual_seed(0)
        model = nn_.Linear(3, 2)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3) / 10))
            model.bias.copy_(lib.tensor([0.5, -0.5]))
        x = lib.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3))
        norms = []
        for _ in range(3):
            loss = (model(x) ** 2).mean()
            loss.backward()
            for p in model.parameters():
                norms.append(p.grad.norm().item())
                p.data.add_(p.grad, alpha=-0.1)
                p.grad.zero_()
        return np.array([*norms, *model.weight.detach().numpy().ravel()])

    np.testing.assert_allclose(run(bp, nn), run(torch, torch.nn), rtol=1e-5, atol=1e-7)


def test_optimizers_and_module_zero_grad_follow_the_tensor_grad():
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.1)
    model(bp.ones(1, 2)).sum().backward()
    grad = model.weight.grad
    opt.zero_grad(set_to_none=False)
    assert model.weight.grad is grad and not grad.numpy().any()
    model.zero_grad()
    assert model.weight.grad is None
