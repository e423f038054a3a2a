"""Tensor.register_hook and retain_grad: the same gradients and calls as torch (parity tests)."""

import numpy as np
import pytest

import bprop as bp

torch = pytest.importorskip("torch")


def as_np(value):
    if value is None:
        return None
    return value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def leaf(lib, values=(1.0, 2.0)):
    return lib.tensor(list(values), requires_grad=True)


def both(scenario):
    """Run ``scenario(lib)`` with bprop and with torch; each returns a list of arrays."""
    ours, theirs = scenario(bp), scenario(torch)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a, b = as_np(a), as_np(b)
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6)


def test_a_hook_on_a_non_leaf_replaces_the_gradient_that_flows_on():
    def scenario(lib):
        x = leaf(lib)
        y = x * 2
        seen = []
        y.register_hook(lambda g: seen.append(g * 1))
        y.register_hook(lambda g: g * 10)  # hooks chain in registration order
        y.register_hook(lambda g: seen.append(g * 1))
        (y * y).sum().backward()
        return [x.grad, *seen]

    both(scenario)


def test_retain_grad_keeps_the_gradient_after_every_hook_whatever_the_order():
    def scenario(lib):
        x = leaf(lib)
        y = x * 2
        y.retain_grad()
        y.register_hook(lambda g: g * 10)  # registered after retain_grad, still seen by it
        (y * y).sum().backward()
        return [y.grad, x.grad]

    both(scenario)


def test_retain_grad_accumulates_over_backward_calls():
    def scenario(lib):
        x = leaf(lib)
        y = x * 2
        y.retain_grad()
        y.sum().backward(retain_graph=True)
        y.sum().backward()
        return [y.grad, x.grad]

    both(scenario)


def test_a_leaf_hook_runs_once_on_the_total_gradient_before_accumulation():
    def scenario(lib):
        x = leaf(lib)
        calls = []
        x.register_hook(lambda g: calls.append(g * 1))
        x.register_hook(lambda g: g * 5)
        (x * x + x).sum().backward()  # x reaches the loss on three paths
        (x * 3).sum().backward()  # .grad accumulates the replaced gradients
        return [x.grad, *calls]

    both(scenario)


def test_hooks_of_a_chain_run_from_the_loss_backwards():
    def scenario(lib):
        order = []
        x = leaf(lib)
        x.register_hook(lambda g: order.append(0))
        a = x.exp()
        a.register_hook(lambda g: order.append(1))
        b = a * 3
        b.register_hook(lambda g: order.append(2))
        b.sum().backward()
        return [np.array(order, dtype=float)]

    both(scenario)


def test_a_removed_hook_is_not_called():
    def scenario(lib):
        x = leaf(lib)
        y = x * 2
        handle = y.register_hook(lambda g: g * 0)
        handle.remove()
        handle.remove()  # twice is harmless, as in torch
        y.sum().backward()
        return [x.grad]

    both(scenario)


def test_retains_grad_flag():
    for lib in (bp, torch):
        x = leaf(lib)
        y = x * 2
        assert not x.retains_grad and not y.retains_grad
        x.retain_grad()  # a no-op on leaves
        y.retain_grad()
        assert not x.retains_grad and y.retains_grad


def test_non_leaf_grad_is_none_without_retain_grad():
    x = leaf(bp)
    y = x * 2
    y.sum().backward()
    assert y.grad is None


def test_hooks_and_retain_grad_need_a_tensor_that_requires_grad():
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that does not require grad"):
        bp.ones(2).register_hook(lambda g: g)
    with pytest.raises(RuntimeError, match="retain_grad"):
        bp.ones(2).retain_grad()


def test_a_hook_returning_the_wrong_shape_is_named():
    x = leaf(bp)
    y = x * 2

    def widen(g):
        return np.ones(3)

    y.register_hook(widen)
    with pytest.raises(RuntimeError, match=r"hook .*widen returned a gradient of shape \(3,\), the tensor's is \(2,\)"):
        y.sum().backward()


def test_a_hook_cannot_write_into_a_gradient_other_tensors_share():
    a, b = leaf(bp), leaf(bp, (3.0, 4.0))
    s = a + b  # Add hands one array to both inputs

    def scale_in_place(g):
        g *= 2

    a.register_hook(scale_in_place)
    with pytest.raises(ValueError, match="read-only"):
        s.sum().backward()


def test_a_hook_may_return_a_tensor():
    x = leaf(bp)
    y = x * 2
    y.register_hook(lambda g: bp.tensor(g * 3))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])


def test_a_hook_on_the_root_and_on_a_leaf_root():
    def scenario(lib):
        x = leaf(lib)
        loss = (x * x).sum()
        loss.register_hook(lambda g: g * 3)
        loss.backward()
        w = leaf(lib, (5.0,))
        w.register_hook(lambda g: g + 1)
        w.backward(lib.ones(1))
        return [x.grad, w.grad]

    both(scenario)
