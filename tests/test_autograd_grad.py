"""bprop.autograd.grad and bprop.autograd.backward in torch's form (issue 20, item 6), against torch."""

from typing import Any

import numpy as np
import pytest

import bprop as bp


def _graph(lib: Any) -> tuple:
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = lib.tensor(rng.standard_normal((4, 2)), requires_grad=True)
    h = (x @ w).tanh()
    out = (h * h).sum()
    return x, w, h, out


def _arrays(grads: tuple) -> list:
    return [None if g is None else g.numpy() for g in grads]


def test_grad_of_leaves_and_of_an_intermediate_matches_torch_and_leaves_dot_grad_alone():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (bp, torch):
        x, w, h, out = _graph(lib)
        grads = lib.autograd.grad(out, (x, w, h))
        assert x.grad is None and w.grad is None  # autograd.grad accumulates nothing
        assert all(not g.requires_grad for g in grads)
        results.append(_arrays(grads))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_grad_with_grad_outputs_and_several_outputs():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (bp, torch):
        x, _w, h, out = _graph(lib)
        seed = lib.tensor(np.arange(6.0).reshape(3, 2))
        results.append(_arrays(lib.autograd.grad([h, out], [x], grad_outputs=[seed, None], retain_graph=True)))
        results[-1] += _arrays(lib.autograd.grad(h, x, grad_outputs=seed))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-12)


def test_unused_inputs_raise_unless_allowed_as_in_torch():
    torch = pytest.importorskip("torch")
    for lib in (torch, bp):
        x, _w, _h, out = _graph(lib)
        z = lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
            lib.autograd.grad(out, [x, z], retain_graph=True)
        gx, gz = lib.autograd.grad(out, [x, z], allow_unused=True, retain_graph=True)
        assert gz is None and gx.shape == (3, 4)
        gx, gz = lib.autograd.grad(out, [x, z], materialize_grads=True)
        assert gz.numpy().tolist() == [0.0, 0.0]


def test_errors_as_torch_gives_them():
    torch = pytest.importorskip("torch")
    for lib in (torch, bp):
        x, _w, h, out = _graph(lib)
        with pytest.raises(RuntimeError, match="does not require grad"):
            lib.autograd.grad(out, [lib.ones(2)], retain_graph=True)
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            lib.autograd.grad(h, [x], retain_graph=True)
        with pytest.raises(RuntimeError, match="Mismatch in shape"):
            lib.autograd.grad(h, [x], grad_outputs=lib.ones(2), retain_graph=True)
        with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
            lib.autograd.grad(lib.ones(()), [x])


def test_create_graph_is_refused_clearly():
    x, _w, _h, out = _graph(bp)
    with pytest.raises(NotImplementedError, match=r"create_graph=True\) is not supported"):
        bp.autograd.grad(out, [x], create_graph=True)


def test_second_call_without_retain_graph_raises():
    x, _w, _h, out = _graph(bp)
    bp.autograd.grad(out, [x])
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        bp.autograd.grad(out, [x])


def test_grad_runs_the_tensor_hooks_of_its_inputs_as_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (bp, torch):
        x, _w, h, out = _graph(lib)
        h.register_hook(lambda g: g * 2)
        x.register_hook(lambda g: g + 1)
        results.append(_arrays(lib.autograd.grad(out, [x, h])))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_backward_of_several_tensors_with_grad_tensors_matches_torch():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (bp, torch):
        x, w, h, out = _graph(lib)
        seed = lib.tensor(np.arange(6.0).reshape(3, 2))
        lib.autograd.backward([out, h], grad_tensors=[None, seed])
        results.append([x.grad.numpy(), w.grad.numpy()])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_backward_with_inputs_accumulates_only_into_them():
    torch = pytest.importorskip("torch")
    results = []
    for lib in (bp, torch):
        x, w, h, out = _graph(lib)
        h.retain_grad()
        lib.autograd.backward(out, inputs=[w])
        assert x.grad is None
        results.append(w.grad.numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


def _pruning_program(lib: Any) -> tuple[list, list]:
    """x feeds two branches; only the first leads to ``a``. Records which hooks ran and which
    gradients a custom Function's backward was asked for."""
    calls: list = []
    asked: list = []

    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx: Any, a: Any, b: Any) -> Any:
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx: Any, grad: Any) -> tuple:
            asked.append(tuple(ctx.needs_input_grad))
            a, b = ctx.saved_tensors
            return grad * b, grad * a

    a = lib.tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = lib.tensor(np.array([3.0, 4.0]), requires_grad=True)
    y = Scale.apply(a, w)
    side = w * 5  # a branch that does not lead to a
    side.register_hook(lambda g: calls.append("side"))
    y.register_hook(lambda g: calls.append("y"))
    (grad_a,) = lib.autograd.grad((y.sum() + side.sum(),), (a,))
    np.testing.assert_allclose(np.asarray(grad_a.numpy()), [3.0, 4.0])
    return calls, asked


def test_grad_runs_only_the_paths_to_its_inputs_as_torch():
    """torch runs only the nodes between the outputs and the inputs asked for, and tells their
    backward (needs_input_grad) which gradients are wanted: no hook fires on another branch. A
    custom Function's ctx still shows needs_input_grad as recorded, as in torch."""
    calls, asked = _pruning_program(bp)
    assert calls == ["y"] and asked == [(True, True)]
    torch = pytest.importorskip("torch")
    assert _pruning_program(torch) == (calls, asked)


def test_grad_asks_an_op_only_for_the_gradients_on_the_way():
    """Asked for ∂C/∂x only, a Linear's backward is told not to form ∂C/∂W (torch's pruning)."""
    from bprop.ops.linalg import Linear

    seen = []
    original = Linear.backward

    def spy(ctx: Any, grad_out: Any) -> Any:
        seen.append(tuple(ctx.needs_input_grad))
        return original(ctx, grad_out)

    layer = bp.nn.Linear(3, 2)
    x = bp.randn(4, 3, requires_grad=True)
    Linear.backward = staticmethod(spy)
    try:
        (gx,) = bp.autograd.grad(layer(x).sum(), x)
    finally:
        Linear.backward = staticmethod(original)
    assert seen == [(True, False, False)]
    np.testing.assert_allclose(gx.numpy(), np.tile(layer.weight.detach().numpy().sum(0), (4, 1)), rtol=1e-6)
