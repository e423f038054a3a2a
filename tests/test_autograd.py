"""The engine: graph order, accumulation, ownership of .grad, grad mode, freed graphs, errors."""

import threading

import numpy as np
import pytest

import bprop as bp
from bprop.autograd import ArrayFunction, Context, _topological_order, sum_to_shape


def f64(values, requires_grad=True):
    return bp.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ----- order ---------------------------------------------------------------------------------


class Record(ArrayFunction):
    """Identity that logs its name when its backward runs."""

    @staticmethod
    def forward(ctx, x, name, log):
        ctx.name, ctx.log = name, log
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        ctx.log.append(ctx.name)
        return (grad,)


def test_a_node_runs_only_after_all_its_consumers():
    # x → a → {b, c → d} → b + d: a's gradient is complete only after both b and d ran.
    log = []
    x = f64([1.0])
    a = Record.apply(x, name="a", log=log)
    b = Record.apply(a, name="b", log=log)
    c = Record.apply(a, name="c", log=log)
    d = Record.apply(c, name="d", log=log)
    (b + d).sum().backward()
    assert log.index("a") > max(log.index("b"), log.index("d")) and log.index("c") > log.index("d")
    assert sorted(log) == ["a", "b", "c", "d"]  # each node once
    np.testing.assert_array_equal(x.grad, [2.0])


def test_topological_order_puts_every_node_before_its_inputs():
    x = f64(np.ones(3))
    h = x
    for k in range(6):  # a ladder: each rung uses the two previous ones
        h = h * 0.5 + (h.tanh() if k % 2 else h.sum())
    order = _topological_order(h.grad_fn)
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order)
    for node in order:
        for parent in node.inputs:
            if isinstance(parent, bp.Tensor) and parent.grad_fn is not None:
                assert position[id(parent.grad_fn)] > position[id(node)]


# ----- accumulation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn,grad",
    [
        (lambda x: x * x, lambda v: 2 * v),
        (lambda x: x + x, lambda v: 2 * np.ones_like(v)),
        (lambda x: x * x + x, lambda v: 2 * v + 1),
        (lambda x: x - x, lambda v: np.zeros_like(v)),
        (lambda x: x / x, lambda v: np.zeros_like(v)),
        (lambda x: (x * 3) * (x * 3), lambda v: 18 * v),
    ],
)
def test_a_tensor_used_twice_accumulates(fn, grad):
    v = np.array([3.0, -1.5])
    x = f64(v)
    fn(x).sum().backward()
    np.testing.assert_allclose(x.grad, grad(v), atol=1e-12)


def test_diamond_graph():
    x = f64([2.0])
    a = x * 3
    b = x.exp()
    ((a * b) + a).sum().backward()
    np.testing.assert_allclose(x.grad, [3 * np.exp(2) + 6 * np.exp(2) + 3])


def test_gradients_accumulate_across_backward_calls():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


# ----- ownership of .grad ---------------------------------------------------------------------


def test_leaf_grads_never_alias_each_other():
    a = bp.tensor([1.0, 2.0], requires_grad=True)
    b = bp.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # Add hands the same array to both inputs
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 10
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: bp.cat([a, b]).reshape(2, 2).sum(0),
        lambda a, b: bp.stack([a, b]).sum(0),
        lambda a, b: a.reshape(2, 1).T.reshape(2) + b * 1,
    ],
)
def test_leaf_grads_are_writable_arrays_of_their_own(fn):
    a = bp.tensor([1.0, 2.0], requires_grad=True)
    b = bp.tensor([3.0, 4.0], requires_grad=True)
    g = np.ones(2, dtype=np.float32)
    fn(a, b).backward(g)
    for t in (a, b):
        assert np.asarray(t.grad).flags.writeable and np.asarray(t.grad).flags.owndata and t.grad.dtype == np.float32
        assert not np.shares_memory(t.grad, g) and not np.shares_memory(t.grad, t.data)
    assert not np.shares_memory(a.grad, b.grad)


def test_leaf_grad_does_not_alias_the_gradient_passed_to_backward():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    g = np.array([1.0, 1.0], dtype=np.float32)
    x.backward(g)  # a leaf as the root
    g[0] = 100.0
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


class SameArrayTwice(ArrayFunction):
    """y = a + b whose backward returns one fresh array for both inputs (allowed by the rules)."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        g = grad * 1.0
        return g, g


@pytest.mark.parametrize("sat_first", [True, False])
def test_an_array_returned_for_a_leaf_and_a_pending_node_stays_intact(sat_first):
    # SameArrayTwice hands one array g to leaf x and to node h = 2z; x * h then adds more to x
    # before h's node runs (it must wait for x * h): x.grad += must not change the g h receives.
    # Both operand orders, since which consumer of x runs first depends on the graph walk.
    x, z = f64([1.0]), f64([1.0])
    h = z * 2
    terms = [SameArrayTwice.apply(x, h), x * h]
    out = terms[0] + terms[1] if sat_first else terms[1] + terms[0]
    out.sum().backward()  # out = x + 2z + 2xz
    np.testing.assert_array_equal(x.grad, [3.0])
    np.testing.assert_array_equal(z.grad, [4.0])


def test_leaf_broadcast_gradient_is_reduced_to_its_shape():
    b = bp.tensor(np.ones((1, 3)), requires_grad=True)
    (bp.tensor(np.ones((4, 3))) * b).sum().backward()
    np.testing.assert_array_equal(b.grad, [[4.0, 4.0, 4.0]])


@pytest.mark.parametrize(
    "grad_shape,shape,expected_shape",
    [
        ((4, 5, 3), (5, 3), (5, 3)),
        ((4, 5, 3), (4, 1, 3), (4, 1, 3)),
        ((2, 3), (), ()),
        ((2, 3), (1, 1), (1, 1)),
        ((2, 3), (2, 3), (2, 3)),
        ((2, 1), (1,), (1,)),
    ],
)
def test_sum_to_shape_undoes_broadcasting(grad_shape, shape, expected_shape):
    grad = np.random.default_rng(0).standard_normal(grad_shape)
    out = sum_to_shape(grad, shape)
    assert out.shape == expected_shape
    # each element of x collects grad from every position broadcasting copied it to
    owner = np.broadcast_to(np.arange(int(np.prod(shape))).reshape(shape), grad_shape)
    expected = np.bincount(owner.ravel(), weights=grad.ravel(), minlength=owner.max() + 1).reshape(shape)
    np.testing.assert_allclose(out, expected)


# ----- what ArrayFunction.apply records --------------------------------------------------------------


def test_no_graph_without_an_input_that_requires_grad():
    y = bp.tensor([1.0]) * bp.tensor([2.0])
    assert y.grad_fn is None and not y.requires_grad


def test_inputs_that_do_not_require_grad_get_none_and_are_skipped():
    seen = []

    class Spy(ArrayFunction):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.needs_input_grad)
            return grad, grad

    x = bp.tensor([1.0, 2.0], requires_grad=True)
    c = bp.tensor([5.0, 6.0])
    Spy.apply(x, c).sum().backward()
    assert seen == [(True, False)] and c.grad is None
    labels = bp.tensor([1, 0])
    assert (x * labels).grad_fn is not None  # an integer tensor is a constant, not an error


def test_backward_builds_no_graph():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    assert type(x.grad) is bp.Tensor and x.grad.grad_fn is None and not x.grad.requires_grad


def test_grad_fn_and_is_leaf():
    x = bp.tensor([1.0], requires_grad=True)
    y = x.exp()
    assert x.is_leaf and not y.is_leaf
    assert isinstance(y.grad_fn, Context) and y.grad_fn.name() == "ExpBackward"


def test_detach_cuts_the_graph():
    x = bp.tensor([2.0], requires_grad=True)
    (x.detach() * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0])


# ----- grad mode -----------------------------------------------------------------------------


def test_no_grad_context_and_decorator():
    x = bp.tensor([1.0], requires_grad=True)
    with bp.no_grad():
        y = x * 2
        assert not bp.is_grad_enabled()
    assert bp.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @bp.no_grad()
    def f(t, depth=2):
        return t * 2 if depth == 0 else f(t, depth - 1)  # recursion re-enters the decorator

    assert not f(x).requires_grad and bp.is_grad_enabled()


def test_enable_grad_inside_no_grad():
    x = bp.tensor([1.0], requires_grad=True)
    with bp.no_grad():
        with bp.enable_grad():
            assert (x * 2).requires_grad
        assert not (x * 2).requires_grad


def test_set_grad_enabled_as_context_call_and_decorator():
    x = bp.tensor([1.0], requires_grad=True)
    with bp.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with bp.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not bp.is_grad_enabled()
    assert bp.is_grad_enabled()
    try:
        bp.set_grad_enabled(False)  # a plain call switches at once, like torch's
        assert not bp.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        bp.set_grad_enabled(True)
    assert bp.is_grad_enabled()

    @bp.set_grad_enabled(False)
    def g():
        return bp.is_grad_enabled()

    assert bp.is_grad_enabled()  # decorating switches nothing
    assert g() is False and bp.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(KeyError):
        with bp.no_grad():
            raise KeyError
    assert bp.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []
    with bp.no_grad():
        thread = threading.Thread(target=lambda: seen.append(bp.is_grad_enabled()))
        thread.start()
        thread.join()
    assert seen == [True]


# ----- freed graphs and retain_graph -----------------------------------------------------------


def test_graph_is_freed_after_backward_and_a_second_backward_says_so():
    x = bp.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    assert y.grad_fn.freed and not y.grad_fn.__dict__
    with pytest.raises(RuntimeError, match=r"already freed.*retain_graph=True"):
        y.backward()


def test_backward_keeps_the_structure_but_not_the_intermediate_values():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    y = h.exp().sum()
    del h
    y.backward()
    (exp_out,) = y.grad_fn.inputs
    assert y.grad_fn.name() == "SumBackward" and exp_out.grad_fn.name() == "ExpBackward"
    (square,) = exp_out.grad_fn.inputs
    assert square.grad_fn.name() == "MulBackward" and square.grad_fn.inputs == (x, x)  # leaves as they are
    # intermediates are placeholders: right shape and dtype, no memory, values gone (torch frees them too)
    assert exp_out.shape == (2,) and exp_out.dtype == np.float32 and np.asarray(exp_out.data).strides == (0,)
    assert np.isnan(exp_out.data).all()


def test_reaching_a_freed_subgraph_from_a_new_root_raises():
    x = bp.tensor([1.0], requires_grad=True)
    h = x.exp()
    (h * 2).sum().backward()
    with pytest.raises(RuntimeError, match=r"ExpBackward.*freed.*retain_graph=True"):
        (h * 3).sum().backward()


def test_retain_graph_allows_a_second_backward():
    x = bp.tensor([1.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    assert not y.grad_fn.freed
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0])


def test_freed_nodes_release_saved_arrays():
    assert not hasattr(Context, "save_for_backward")  # one convention: named fields on ctx
    x = bp.tensor(np.ones(1000), requires_grad=True)
    h = x.exp()
    node = h.grad_fn
    h.sum().backward()
    assert not node.__dict__


# ----- errors users hit first ----------------------------------------------------------------


def test_backward_on_a_non_scalar_without_grad_names_the_shape():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"scalar output, got shape \(2,\).*grad=.*\.sum\(\)"):
        (x * 2).backward()


def test_backward_with_a_gradient_of_the_wrong_shape():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"shape \(3,\), the tensor \(2,\)"):
        (x * 2).backward(np.ones(3))


def test_backward_on_a_tensor_outside_any_graph():
    with pytest.raises(RuntimeError, match="does not require grad"):
        bp.tensor([1.0]).sum().backward()
    x = bp.tensor([1.0], requires_grad=True)
    with bp.no_grad():
        y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="no_grad"):
        y.backward()


def test_backward_with_an_explicit_gradient():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).backward(bp.tensor([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 30.0])
    s = bp.tensor([[2.0]], requires_grad=True)
    (s * 1).backward()  # one element is enough for an implicit gradient
    np.testing.assert_array_equal(s.grad, [[1.0]])


# ----- depth ---------------------------------------------------------------------------------


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = f64([1.0])
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001**5000])


def test_deep_chain_with_branches():
    x = f64([0.5])
    y = x
    for _ in range(2500):
        y = y * 0.5 + x * 0.5  # every step also reaches back to the leaf
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0], rtol=1e-12)


# ----- the op contract ---------------------------------------------------------------------


class ForgetsToUndoBroadcasting(ArrayFunction):
    """a * b whose backward returns the broadcast gradient instead of summing it back."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = a, b
        return a * b

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.b, grad * ctx.a


def test_an_op_returning_a_wrongly_shaped_gradient_is_named():
    a = f64(np.ones((3, 4)))
    b = f64(np.ones(4))  # broadcast over the rows: its gradient must be summed back to (4,)
    with pytest.raises(
        RuntimeError,
        match=r"ForgetsToUndoBroadcastingBackward .* input 1: expected .* shape \(4,\).*got shape \(3, 4\)",
    ):
        ForgetsToUndoBroadcasting.apply(a, b).sum().backward()
    assert b.grad is None  # nothing was repaired behind the op's back


def test_the_input_named_is_the_wrong_one_when_one_array_goes_to_both():
    class AddForgetsBroadcasting(ArrayFunction):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad, grad  # right for a (3, 4), wrong for b (4,)

    with pytest.raises(RuntimeError, match=r"input 1: expected .* shape \(4,\)"):
        AddForgetsBroadcasting.apply(f64(np.ones((3, 4))), f64(np.ones(4))).sum().backward()


def test_the_contract_is_checked_between_ops_too():
    a = f64(np.ones((3, 4)))
    b = f64(np.ones(4))
    with pytest.raises(RuntimeError, match=r"input 1: expected .* shape \(4,\)"):
        (ForgetsToUndoBroadcasting.apply(a, b * 2) * 3).sum().backward()


@pytest.mark.parametrize(
    "returned,match",
    [
        (
            lambda g: (g.astype(np.int64),),
            r"ShapeShiftBackward .* input 0: .*floating dtype, got shape \(2,\) and dtype int64",
        ),
        (lambda g: (g.tolist(),), r"input 0: .*got a list"),
        (lambda g: (), r"ShapeShiftBackward returned 0 gradients for 1 inputs"),
        (lambda g: (g, g), r"returned 2 gradients for 1 inputs"),
    ],
)
def test_wrong_gradients_of_every_kind_are_refused(returned, match):
    class ShapeShift(ArrayFunction):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return returned(grad)

    with pytest.raises(RuntimeError, match=match):
        ShapeShift.apply(f64([1.0, 2.0])).sum().backward()


def test_trailing_none_gradients_beyond_the_inputs_are_allowed():
    class ExtraNone(ArrayFunction):
        @staticmethod
        def forward(ctx, x, scale=2.0):
            ctx.scale = scale
            return x * scale

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.scale, None  # torch too drops trailing Nones

    x = f64([1.0, 2.0])
    ExtraNone.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


# ----- version counters ----------------------------------------------------------------------


def test_an_input_changed_in_place_after_forward_is_refused_like_torch():
    x = bp.tensor([1.0, 2.0, 3.0])
    w = bp.tensor([1.0, 1.0, 1.0], requires_grad=True)
    y = (x * w).sum()
    x += 10  # without the check, w.grad would silently be x + 10
    with pytest.raises(
        RuntimeError,
        match=r"modified by an inplace operation: input 0 of MulBackward, a tensor of shape \(3,\), is at version 1",
    ):
        y.backward()


def test_torch_refuses_the_same_case():
    torch = pytest.importorskip("torch")
    x = torch.ones(3)
    w = torch.ones(3, requires_grad=True)
    y = (x * w).sum()
    x += 10
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


@pytest.mark.parametrize(
    "case",
    [
        "saved output",
        "view of a saved input",
        "no_grad change",
        "setitem",
        "optimizer step",
        "detached alias",
        "method",
    ],
)
def test_stale_saved_values_are_refused_in_every_case_torch_refuses(case):
    torch = pytest.importorskip("torch")

    def run(lib, no_grad, sgd):
        w = lib.ones(3, requires_grad=True)
        # x requires grad too, so that torch's Mul keeps w (it keeps only what a needed gradient uses)
        x = lib.ones(3, requires_grad=True) * 1.0
        if case == "saved output":  # Exp keeps its output: y += 1 makes it stale
            y = (w * 1.0).exp()
            y += 1
            return y.sum()
        if case == "view of a saved input":  # a reshape is a view: it shares x's memory and version
            view = x.reshape(1, 3)
            y = (view * w).sum()
            x += 1
            return y
        y = (x * w).sum()
        if case == "no_grad change":
            with no_grad():
                x.mul_(2)
        elif case == "setitem":
            x[1] = 5.0
        elif case == "optimizer step":  # w is saved by Mul; the step changes it in place
            w.grad = lib.ones(3)  # the same code in both libraries now
            sgd([w], lr=0.1).step()
        elif case == "detached alias":
            x.detach().add_(1.0)
        elif case == "method":
            x.zero_()
        return y

    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(torch, torch.no_grad, torch.optim.SGD).backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        run(bp, bp.no_grad, bp.optim.SGD).backward()


@pytest.mark.parametrize("case", ["op keeps nothing", "out-of-place after", "in-place on an unsaved output"])
def test_in_place_changes_that_do_not_matter_are_allowed_like_torch(case):
    torch = pytest.importorskip("torch")

    def run(lib):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        x = lib.ones(3) * 1.0
        if case == "op keeps nothing":  # Add keeps no value of its inputs
            y = x + w
            x += 1
        elif case == "out-of-place after":
            y = x * w
            x = x + 1
        else:  # Mul keeps its inputs, not its output: y += 1 is fine and tracked
            y = w * 2
            y += w
        (y * y).sum().backward()
        return w.grad

    np.testing.assert_allclose(run(bp), run(torch).numpy())


def test_version_numbers_follow_torch():
    torch = pytest.importorskip("torch")

    def versions(lib):
        x = lib.ones(3)
        seen = [x._version]
        x += 1
        x[0] = 2.0
        x.mul_(2)
        x.zero_()
        seen.append(x._version)
        d = x.detach()
        d += 1
        seen += [x._version, d._version]
        v = x.reshape(3, 1)
        v -= 1
        seen += [x._version, v._version, x.reshape(1, 3)._version]
        x.fill_(3.0)
        x.copy_(lib.ones(3))
        x.add_(1.0)
        x.sub_(1.0)
        x.div_(2.0)
        x /= 2.0
        seen.append(x._version)
        return seen

    assert versions(bp) == versions(torch)


def test_in_place_on_a_leaf_that_requires_grad_is_refused_outside_no_grad():
    w = bp.tensor([1.0, 2.0], requires_grad=True)
    for change in (lambda: w.__iadd__(1.0), lambda: w.__setitem__(0, 1.0), lambda: w.mul_(2.0), lambda: w.zero_()):
        with pytest.raises(RuntimeError, match=r"in-place change of a leaf tensor that requires grad \(shape \(2,\)\)"):
            change()
    np.testing.assert_array_equal(w.data, [1.0, 2.0])
    with bp.no_grad():
        w += 1.0
    assert w._version == 1


def test_in_place_on_a_view_of_a_leaf_that_requires_grad_is_refused_like_torch():
    torch = pytest.importorskip("torch")
    for lib in (torch, bp):
        w = lib.ones(4, requires_grad=True)
        view = w.reshape(2, 2)
        with pytest.raises(RuntimeError, match="view of a leaf"):
            view += 1
        with lib.no_grad():
            view += 1  # allowed, as on the leaf itself
        detached = w.detach()
        detached += 1  # detach() cuts the graph: allowed, and w sees the change
        np.testing.assert_array_equal(np.asarray(w.detach()), [3.0, 3.0, 3.0, 3.0])


def test_in_place_changes_of_non_leaves_are_recorded_like_torch():
    torch = pytest.importorskip("torch")

    def run(lib, change):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        v = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = w * 2
        change(y, w, v, lib)
        (y * y).sum().backward()
        return y.detach(), w.grad, v.grad

    changes = [
        lambda y, w, v, lib: y.__imul__(w),
        lambda y, w, v, lib: y.__isub__(v),
        lambda y, w, v, lib: y.__itruediv__(v),
        lambda y, w, v, lib: y.add_(v, alpha=3.0),
        lambda y, w, v, lib: y.__setitem__(slice(0, 2), v[1:] * 3),
        lambda y, w, v, lib: y.__setitem__(1, v[0]),
        lambda y, w, v, lib: y.__setitem__(lib.tensor([2, 0]), v[:2]),
        lambda y, w, v, lib: y.copy_(v * v),
        lambda y, w, v, lib: y.fill_(4.0),
    ]
    for change in changes:
        ours, theirs = run(bp, change), run(torch, change)
        for a, b in zip(ours, theirs):
            expected = None if b is None else b.numpy()
            if expected is None:
                assert a is None or not a.any()
            else:
                np.testing.assert_allclose(a.data if isinstance(a, bp.Tensor) else a, expected, rtol=1e-6)


def test_a_constant_becomes_part_of_the_graph_when_a_tensor_that_requires_grad_is_written_into_it():
    w = bp.tensor([1.0, 2.0], requires_grad=True)
    buffer = bp.zeros(4)
    buffer[1:3] = w * 3
    buffer += w.sum()
    assert buffer.grad_fn is not None
    (buffer * buffer).sum().backward()
    # buffer = [s, 3w0 + s, 3w1 + s, s] with s = w0 + w1
    b = np.array([3.0, 6.0, 9.0, 3.0])
    np.testing.assert_allclose(w.grad, [2 * b.sum() + 6 * b[1], 2 * b.sum() + 6 * b[2]])
