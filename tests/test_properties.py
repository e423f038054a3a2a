"""Property tests: random broadcast-compatible shapes, random reductions, random matmul batches.

Each example checks that gradients have their inputs' shapes and agree with torch (float64, 1e-7)
when torch is installed, else with bp.gradcheck.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import bprop as bp
from tests.helpers import leaf

try:
    import torch
except ImportError:  # the properties still run, against finite differences
    torch = None

BINARY = {
    "add": lambda x, y: x + y,
    "sub": lambda x, y: x - y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / y,
    "pow": lambda x, y: x**y,
}
SETTINGS = settings(max_examples=30, deadline=None)


def _agree_with_reference(fn, arrays, torch_fn=None):
    """Outputs and input gradients of fn agree with torch (or finite differences); grads keep shapes."""
    ours = [leaf(a) for a in arrays]
    out = fn(*ours)
    projection = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(projection)
    for t, a in zip(ours, arrays):
        assert t.grad.shape == a.shape and t.grad.dtype == np.float64
    if torch is None:
        assert bp.gradcheck(fn, [leaf(a) for a in arrays])
        return
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ref = (torch_fn or fn)(*theirs)
    ref.backward(torch.tensor(projection))
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-7, atol=1e-7)
    for t, r in zip(ours, theirs):
        np.testing.assert_allclose(t.grad, r.grad.numpy(), rtol=1e-7, atol=1e-7)


@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=3),
    op=st.sampled_from(sorted(BINARY)),
    seed=st.integers(0, 2**16),
)
def test_broadcast_gradients_have_input_shapes_and_match(shapes, op, seed):
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    if op in ("div", "pow"):  # stay away from the pole of 1/b and from a ≤ 0 in aᵇ
        b, a = (np.abs(b) + 0.5, a) if op == "div" else (b, np.abs(a) + 0.5)
    assert BINARY[op](bp.tensor(a), bp.tensor(b)).shape == shapes.result_shape
    _agree_with_reference(BINARY[op], [a, b])


@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
    seed=st.integers(0, 2**16),
)
def test_where_broadcasts_all_three_arguments(shapes, seed):
    sc, sa, sb = shapes.input_shapes
    rng = np.random.default_rng(seed)
    cond = rng.random(sc) > 0.5
    a, b = rng.standard_normal(sa), rng.standard_normal(sb)
    _agree_with_reference(lambda x, y: bp.where(cond, x, y), [a, b], lambda x, y: torch.where(torch.tensor(cond), x, y))


@st.composite
def reduction_case(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    ndim = len(shape)
    dim = draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1),
            st.lists(st.integers(-ndim, ndim - 1), min_size=1, max_size=ndim).map(
                lambda ds: tuple(dict.fromkeys(d % ndim for d in ds))
            ),  # distinct dims (torch rejects repeats)
        )
    )
    return shape, dim, draw(st.booleans())


@SETTINGS
@given(case=reduction_case(), op=st.sampled_from(["sum", "mean", "amax", "amin", "var"]), seed=st.integers(0, 2**16))
def test_reductions_over_random_dims(case, op, seed):
    shape, dim, keepdim = case
    x = np.random.default_rng(seed).standard_normal(shape)
    dims = range(len(shape)) if dim is None else np.atleast_1d(dim)
    if op == "var" and int(np.prod([shape[d] for d in dims])) < 2:
        return  # the unbiased variance of one element is nan, gradients included
    out = getattr(bp.tensor(x), op)(dim=dim, keepdim=keepdim)
    np_dims = None if dim is None else tuple(np.atleast_1d(dim).tolist())
    expected = getattr(np, {"amax": "max", "amin": "min"}.get(op, op))(
        x, axis=np_dims, keepdims=keepdim, **({"ddof": 1} if op == "var" else {})
    )
    np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-12)

    def theirs(t):
        tdim = tuple(range(len(shape))) if dim is None else dim
        return getattr(torch, op)(t, dim=tdim, keepdim=keepdim)

    _agree_with_reference(lambda t: getattr(t, op)(dim=dim, keepdim=keepdim), [x], theirs)


@SETTINGS
@given(
    batch=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
    m=st.integers(1, 3),
    k=st.integers(1, 3),
    n=st.integers(1, 3),
    vector=st.sampled_from([None, "left", "right"]),
    seed=st.integers(0, 2**16),
)
def test_matmul_with_random_batch_broadcasting(batch, m, k, n, vector, seed):
    ba, bb = batch.input_shapes
    sa = (k,) if vector == "left" else (*ba, m, k)
    sb = (k,) if vector == "right" else (*bb, k, n)
    rng = np.random.default_rng(seed)
    _agree_with_reference(lambda a, b: a @ b, [rng.standard_normal(sa), rng.standard_normal(sb)])


@pytest.mark.parametrize("shape", [(4, 1, 3), (5, 3)])
def test_reference_helper_catches_a_wrong_gradient(shape):
    """The property tests can fail: a wrong gradient is caught by the same helper."""
    from tests.test_gradient_check import WrongSquare

    with pytest.raises(AssertionError):
        _agree_with_reference(lambda x: WrongSquare.apply(x), [np.ones(shape) * 1.5], lambda x: x * x)
