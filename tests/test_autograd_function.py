# ruff: noqa: A001 (the examples keep the tutorials' argument name `input`)
"""Custom Functions as torch writes them (issue 20, item 5): the examples of PyTorch's
documentation and tutorials, run in bprop and in torch, give the same values and gradients."""

import math
from typing import Any

import numpy as np
import pytest

import bprop as bp


def _functions(lib: Any) -> dict[str, type]:
    """The public examples, written once against ``lib`` (bprop or torch)."""

    class Exp(lib.autograd.Function):  # torch.autograd.Function's docstring
        @staticmethod
        def forward(ctx, i):
            result = i.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    class MyReLU(lib.autograd.Function):  # tutorial "PyTorch: Defining New autograd Functions"
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return input.clamp(min=0)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            grad_input = grad_output * 1.0  # the tutorial's grad_output.clone()
            grad_input[input < 0] = 0
            return grad_input

    class LegendrePolynomial3(lib.autograd.Function):  # tutorial polynomial_custom_function
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 - 1)

    class LinearFunction(lib.autograd.Function):  # "Extending PyTorch", with setup_context
        @staticmethod
        def forward(input, weight, bias):
            output = input @ weight.T
            if bias is not None:
                output = output + bias
            return output

        @staticmethod
        def setup_context(ctx, inputs, output):
            input, weight, bias = inputs
            ctx.save_for_backward(input, weight, bias)

        @staticmethod
        def backward(ctx, grad_output):
            input, weight, bias = ctx.saved_tensors
            grad_input = grad_weight = grad_bias = None
            if ctx.needs_input_grad[0]:
                grad_input = grad_output @ weight
            if ctx.needs_input_grad[1]:
                grad_weight = grad_output.T @ input
            if bias is not None and ctx.needs_input_grad[2]:
                grad_bias = grad_output.sum(0)
            return grad_input, grad_weight, grad_bias

    class MulConstant(lib.autograd.Function):  # "Extending PyTorch": a non-Tensor argument
        @staticmethod
        def forward(ctx, tensor, constant):
            ctx.constant = constant
            return tensor * constant

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output * ctx.constant, None

    class MaxWithIndex(lib.autograd.Function):  # mark_non_differentiable, two outputs
        @staticmethod
        def forward(ctx, x):
            values, idx = x.max(1)
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x, idx)
            return values, idx

        @staticmethod
        def backward(ctx, g_values, g_idx):  # still receives a gradient for idx (zeros)
            x, idx = ctx.saved_tensors
            hit = (lib.arange(x.shape[1]).reshape(1, -1) == idx.reshape(-1, 1)).to(x.dtype)
            return hit * g_values.reshape(-1, 1)

    class SplitScale(lib.autograd.Function):  # two differentiable outputs
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x * w, x + w

        @staticmethod
        def backward(ctx, g_prod, g_sum):
            x, w = ctx.saved_tensors
            return g_prod * w + g_sum, (g_prod * x + g_sum).sum(0)

    return {
        f.__name__: f for f in (Exp, MyReLU, LegendrePolynomial3, LinearFunction, MulConstant, MaxWithIndex, SplitScale)
    }


def _run(lib: Any, name: str) -> list[np.ndarray]:
    """One call of the named Function on fixed inputs, backward with a fixed upstream gradient;
    returns the outputs and the input gradients as arrays."""
    fns = _functions(lib)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    w = lib.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = lib.tensor(rng.standard_normal(2), requires_grad=True)
    v = lib.tensor(rng.standard_normal(3), requires_grad=True)
    if name == "LinearFunction":
        outs, leaves = fns[name].apply(x, w, b), [x, w, b]
    elif name == "MulConstant":
        outs, leaves = fns[name].apply(x, 2.5), [x]
    elif name == "SplitScale":
        outs, leaves = fns[name].apply(x, v), [x, v]
    else:
        outs, leaves = fns[name].apply(x), [x]
    outs = outs if isinstance(outs, tuple) else (outs,)
    loss = sum((o * lib.tensor(np.linspace(-1, 1, o.numel()).reshape(o.shape))).sum() for o in outs if o.requires_grad)
    loss.backward()
    return [o.detach().numpy() for o in outs] + [t.grad.numpy() for t in leaves]


NAMES = ["Exp", "MyReLU", "LegendrePolynomial3", "LinearFunction", "MulConstant", "MaxWithIndex", "SplitScale"]


@pytest.mark.parametrize("name", NAMES)
def test_public_examples_match_torch(name):
    torch = pytest.importorskip("torch")
    ours, theirs = _run(bp, name), _run(torch, name)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_the_legendre_tutorial_trains_as_in_torch():
    """The official tutorial's loop (2000 points, SGD by hand, a.grad = None), 300 steps."""
    torch = pytest.importorskip("torch")

    def train(lib: Any) -> list[float]:
        p3 = _functions(lib)["LegendrePolynomial3"].apply
        x = lib.tensor(np.linspace(-math.pi, math.pi, 2000, dtype=np.float32))
        y = x.sin() if hasattr(x, "sin") else lib.tensor(np.sin(x.numpy()))
        a = lib.full((), 0.0, requires_grad=True)
        b = lib.full((), -1.0, requires_grad=True)
        c = lib.full((), 0.0, requires_grad=True)
        d = lib.full((), 0.3, requires_grad=True)
        for _ in range(300):
            loss = ((a + b * p3(c + d * x) - y) ** 2).sum()
            loss.backward()
            with lib.no_grad():
                for p in (a, b, c, d):
                    p -= 5e-6 * p.grad
                    p.grad = None
        return [loss.item(), a.item(), b.item(), c.item(), d.item()]

    np.testing.assert_allclose(train(bp), train(torch), rtol=2e-4, atol=1e-6)  # a and c stay ~0


def test_node_name_needs_input_grad_and_no_graph_inside_forward():
    seen = {}

    class Probe(bp.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            seen["needs"] = ctx.needs_input_grad
            seen["grad_mode"] = bp.autograd.is_grad_enabled()
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g, None

    x = bp.tensor([1.0, 2.0], requires_grad=True)
    out = Probe.apply(x, bp.tensor([3.0, 4.0]))
    assert seen == {"needs": (True, False), "grad_mode": False}
    assert out.requires_grad and out.grad_fn.name() == "ProbeBackward"
    with bp.no_grad():
        assert not Probe.apply(x, bp.tensor([1.0, 1.0])).requires_grad


def test_saved_tensor_changed_in_place_is_refused_as_in_torch():
    torch = pytest.importorskip("torch")
    for lib in (torch, bp):
        exp = _functions(lib)["Exp"]
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = exp.apply(x)
        y.mul_(2)  # y is what Exp saved
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_wrong_number_or_shape_of_gradients_is_an_error_naming_the_function():
    class TooMany(bp.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    class WrongShape(bp.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return bp.ones(5)

    x = bp.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(
        RuntimeError, match=r"TooManyBackward returned an incorrect number of gradients \(expected 1, got 2\)"
    ):
        TooMany.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"WrongShapeBackward returned an invalid gradient at index 0"):
        WrongShape.apply(x).sum().backward()


def test_a_broadcast_gradient_is_summed_back_and_cast_as_torch_does():
    class Broadcasting(bp.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return bp.ones(3, 2, dtype=bp.float64)  # (3, 2) for a (2,) input, float64 for float32

    x = bp.tensor([1.0, 2.0], requires_grad=True)
    Broadcasting.apply(x).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_gradcheck_and_gradcheck_graph_see_a_custom_function():
    exp = _functions(bp)["LegendrePolynomial3"]
    x = bp.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    assert bp.gradcheck(lambda t: exp.apply(t), [x])
    report = bp.gradcheck_graph((exp.apply(x) * 2).sum())
    assert report.first_bad is None
    linear = _functions(bp)["LinearFunction"]  # the setup_context form, run again alone
    w = bp.tensor(np.ones((2, 5)), requires_grad=True)
    assert bp.gradcheck_graph(linear.apply(x.reshape(1, 5), w, None).sum()).first_bad is None


def test_gradcheck_graph_names_a_custom_function_with_a_wrong_backward():
    class WrongLegendre(bp.autograd.Function):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input**3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input**2 + 1)  # the sign of the 1 is wrong

    x = bp.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    report = bp.gradcheck_graph((WrongLegendre.apply(x.tanh()) * 2).sum())
    assert report.first_bad is not None and "WrongLegendre" in report.table()
