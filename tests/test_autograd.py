"""The engine: graph order, accumulation, ownership of .grad, grad mode, freed graphs."""

import numpy as np
import pytest

import bprop as bp


def test_tensor_used_twice_accumulates():
    x = bp.tensor([3.0], requires_grad=True)
    (x * x + x).backward(np.ones(1, np.float32))
    np.testing.assert_allclose(x.grad, [7.0])


def test_diamond_graph():
    x = bp.tensor([2.0], dtype=np.float64, requires_grad=True)
    a = x * 3
    b = x.exp()
    ((a * b) + a).sum().backward()
    np.testing.assert_allclose(x.grad, [3 * np.exp(2) + 6 * np.exp(2) + 3])


def test_leaf_grads_never_alias():
    a = bp.tensor([1.0, 2.0], requires_grad=True)
    b = bp.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad += 10
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    c = bp.tensor([1.0], requires_grad=True)
    (c + c).sum().backward()
    np.testing.assert_array_equal(c.grad, [2.0])


def test_gradients_accumulate_across_backward_calls():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_no_grad_and_set_grad_enabled():
    x = bp.tensor([1.0], requires_grad=True)
    with bp.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    with bp.set_grad_enabled(False):
        assert not bp.is_grad_enabled()
        with bp.enable_grad():
            assert (x * 2).requires_grad
    assert bp.is_grad_enabled()

    @bp.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_graph_is_freed_after_backward():
    x = bp.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = bp.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0])


def test_backward_on_non_scalar_needs_a_gradient():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar output, got shape \(2,\)"):
        (x * 2).backward()
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        bp.tensor([1.0]).sum().backward()


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = bp.tensor([1.0], dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001 ** 5000])


def test_detach_cuts_the_graph():
    x = bp.tensor([2.0], requires_grad=True)
    y = x.detach() * x
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0])


def test_inputs_that_do_not_require_grad_get_none():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    c = bp.tensor([5.0, 6.0])
    (x * c).sum().backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad, [5.0, 6.0])


def test_leaf_broadcast_gradient_is_reduced_to_its_shape():
    b = bp.tensor(np.ones((1, 3)), requires_grad=True)
    (bp.tensor(np.ones((4, 3))) * b).sum().backward()
    np.testing.assert_array_equal(b.grad, [[4.0, 4.0, 4.0]])
