"""The engine: graph order, accumulation, ownership of .grad, grad mode, freed graphs, errors."""

import threading

import numpy as np
import pytest

import bprop as bp
from bprop.autograd import Context, Function, _topological_order, sum_to_shape


def f64(values, requires_grad=True):
    return bp.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


# ----- order ---------------------------------------------------------------------------------


class Record(Function):
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
        assert t.grad.flags.writeable and t.grad.flags.owndata and t.grad.dtype == np.float32
        assert not np.shares_memory(t.grad, g) and not np.shares_memory(t.grad, t.data)
    assert not np.shares_memory(a.grad, b.grad)


def test_leaf_grad_does_not_alias_the_gradient_passed_to_backward():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    g = np.array([1.0, 1.0], dtype=np.float32)
    x.backward(g)  # a leaf as the root
    g[0] = 100.0
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


class SameArrayTwice(Function):
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


# ----- what Function.apply records --------------------------------------------------------------


def test_no_graph_without_an_input_that_requires_grad():
    y = bp.tensor([1.0]) * bp.tensor([2.0])
    assert y.grad_fn is None and not y.requires_grad


def test_inputs_that_do_not_require_grad_get_none_and_are_skipped():
    seen = []

    class Spy(Function):
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
    assert type(x.grad) is np.ndarray


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
    assert y.grad_fn.freed and y.grad_fn.saved == () and y.grad_fn.inputs == ()
    with pytest.raises(RuntimeError, match=r"already freed.*retain_graph=True"):
        y.backward()


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
    x = bp.tensor(np.ones(1000), requires_grad=True)
    h = x.exp()
    node = h.grad_fn
    h.sum().backward()
    assert node.saved == () and not node.__dict__


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
