"""Module hooks (forward pre, forward, full backward): the same calls and gradients as torch."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn

torch = pytest.importorskip("torch")


def as_np(value):
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)):
        return [as_np(v) for v in value]
    return value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


def assert_same(ours, theirs):
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    elif theirs is None or isinstance(theirs, str):
        assert ours == theirs
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def both(scenario):
    assert_same(as_np(scenario(bp)), as_np(scenario(torch)))


def mlp(lib):
    """Linear–ReLU–Linear with the same weights in both libraries."""
    rng = np.random.default_rng(0)
    model = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))
    for layer in (model[0], model[2]):
        for p in (layer.weight, layer.bias):
            values = rng.standard_normal(tuple(p.shape)).astype(np.float32)
            if lib is torch:
                p.data.copy_(torch.from_numpy(values))
            else:
                p.data[...] = values
    return model


def batch(lib, requires_grad):
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    return lib.tensor(x, requires_grad=requires_grad)


@pytest.mark.parametrize("input_requires_grad", [True, False])
def test_full_backward_hooks_see_torchs_grad_input_and_grad_output(input_requires_grad):
    def scenario(lib):
        model = mlp(lib)
        seen = []
        for name, layer in (("0", model[0]), ("1", model[1]), ("2", model[2]), ("all", model)):
            layer.register_full_backward_hook(lambda m, gi, go, name=name: seen.append([name, list(gi), list(go)]))
        x = batch(lib, input_requires_grad)
        (model(x) ** 2).sum().backward()
        return [[name, *grads] for name, *grads in seen], model[0].weight.grad

    ours, theirs = scenario(bp), scenario(torch)
    assert [s[0] for s in ours[0]] == [s[0] for s in theirs[0]]  # the same order of calls
    assert_same(as_np([s[1:] for s in ours[0]]), as_np([s[1:] for s in theirs[0]]))
    assert_same(as_np(ours[1]), as_np(theirs[1]))


def test_a_backward_hook_may_replace_grad_input():
    def scenario(lib):
        model = mlp(lib)
        model[1].register_full_backward_hook(lambda m, gi, go: (gi[0] * 10,))
        x = batch(lib, True)
        (model(x) ** 2).sum().backward()
        return [x.grad, model[0].weight.grad, model[2].weight.grad]

    both(scenario)


def test_several_inputs_a_non_tensor_argument_and_one_input_without_grad():
    def scenario(lib):
        class Scale(lib.nn.Module):
            def forward(self, a, k, b):
                return a * b * k

        module = Scale()
        seen = []
        module.register_full_backward_hook(lambda m, gi, go: seen.append([list(gi), list(go)]))
        module.register_full_backward_hook(lambda m, gi, go: (gi[0] + 1, None, None))
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, -1.0])
        (module(a, 2.0, b) ** 2).sum().backward()
        return [seen, a.grad]

    both(scenario)


def test_forward_pre_hook_and_forward_hook_may_replace_args_and_output():
    def scenario(lib):
        model = mlp(lib)
        calls = []
        model[0].register_forward_pre_hook(lambda m, args: (args[0] * 2,))
        model[0].register_forward_pre_hook(lambda m, args: calls.append(["pre", args[0]]))
        model[2].register_forward_hook(lambda m, args, out: calls.append(["fwd", args[0], out]))
        model[2].register_forward_hook(lambda m, args, out: out + 1)
        x = batch(lib, True)
        y = model(x)
        (y**2).sum().backward()
        return [calls, y, x.grad]

    both(scenario)


def test_removed_hooks_are_not_called():
    def scenario(lib):
        model = mlp(lib)
        handles = [
            model.register_forward_pre_hook(lambda m, args: (args[0] * 0,)),
            model.register_forward_hook(lambda m, args, out: out * 0),
            model[0].register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,)),
        ]
        for handle in handles:
            handle.remove()
        x = batch(lib, True)
        (model(x) ** 2).sum().backward()
        return [x.grad]

    both(scenario)


def test_hooks_under_no_grad_run_forward_hooks_only():
    model = mlp(bp)
    calls = []
    model.register_forward_hook(lambda m, args, out: calls.append("forward"))
    model.register_full_backward_hook(lambda m, gi, go: calls.append("backward"))
    with bp.no_grad():
        model(batch(bp, False))
    assert calls == ["forward"]


def test_a_backward_hook_returning_the_wrong_number_of_gradients_is_named():
    model = mlp(bp)
    model[1].register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match=r"backward hook of ReLU returned 2 grad_input entries, expected 1"):
        model(batch(bp, True)).sum().backward()


def test_a_backward_hook_on_a_module_whose_inputs_need_no_grad_must_return_none():
    model = mlp(bp)
    model[0].register_full_backward_hook(lambda m, gi, go: (np.ones((5, 3)),))
    with pytest.raises(RuntimeError, match=r"Linear: no input of the module requires grad"):
        model(batch(bp, False)).sum().backward()


def test_the_graph_with_backward_hooks_still_gives_the_same_gradients():
    plain, hooked = mlp(bp), mlp(bp)
    for layer in hooked.modules():
        layer.register_full_backward_hook(lambda m, gi, go: None)
        layer.register_forward_hook(lambda m, args, out: None)
    for model in (plain, hooked):
        (model(batch(bp, True)) ** 2).sum().backward()
    for p, q in zip(plain.parameters(), hooked.parameters()):
        np.testing.assert_array_equal(p.grad, q.grad)


def test_modules_without_hooks_take_the_direct_path():
    layer = nn.Linear(2, 2)
    assert layer._module_hooks is None  # __call__ tests this one attribute and calls forward
    handle = layer.register_forward_hook(lambda m, args, out: None)
    assert layer._module_hooks is not None
    handle.remove()


def test_full_backward_hook_sees_grad_output_after_the_outputs_tensor_hooks():
    """torch: a tensor hook registered on a module's output (after forward) changes the
    grad_output that the module's full backward hook receives."""
    seen = {}
    for lib, nn_ in ((torch, torch.nn), (bp, nn)):
        layer = nn_.Linear(2, 2)
        layer.register_full_backward_hook(lambda m, gi, go, lib=lib: seen.__setitem__(lib.__name__, as_np(go[0])))
        out = layer(lib.ones(1, 2, requires_grad=True))
        out.register_hook(lambda g: g * 10)
        out.sum().backward()
    np.testing.assert_array_equal(seen["bprop"], seen["torch"])
    np.testing.assert_array_equal(seen["bprop"], [[10.0, 10.0]])
