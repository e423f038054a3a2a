"""Property tests: random broadcast-compatible shapes and random reductions."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import bprop as bp
from tests.helpers import leaf


@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
       op=st.sampled_from(["add", "sub", "mul", "div"]))
def test_broadcast_gradients_have_input_shapes_and_are_correct(shapes, op):
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(0)
    a, b = leaf(rng.standard_normal(sa)), leaf(np.abs(rng.standard_normal(sb)) + 0.5)
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y,
          "mul": lambda x, y: x * y, "div": lambda x, y: x / y}[op]
    out = fn(a, b)
    assert out.shape == shapes.result_shape
    assert bp.gradcheck(fn, [a, b])
    assert a.grad.shape == sa and b.grad.shape == sb


@settings(max_examples=40, deadline=None)
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
       op=st.sampled_from(["sum", "mean", "amax", "var"]), keepdim=st.booleans())
def test_reductions_over_random_dims(data, shape, op, keepdim):
    dims = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), max_size=len(shape)))
    dims = sorted({d % len(shape) for d in dims}) or None
    x = leaf(np.random.default_rng(1).standard_normal(shape))
    out = getattr(x, op)(dim=None if dims is None else tuple(dims), keepdim=keepdim)
    expected = getattr(np, {"amax": "max"}.get(op, op))(
        x.data, axis=None if dims is None else tuple(dims), keepdims=keepdim,
        **({"ddof": 1} if op == "var" else {}))
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    reduced = int(np.prod([shape[d] for d in (dims if dims is not None else range(len(shape)))]))
    if op != "var" or reduced > 1:
        assert bp.gradcheck(lambda t: getattr(t, op)(dim=None if dims is None else tuple(dims), keepdim=keepdim), [x])
