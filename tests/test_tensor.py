"""Tensor construction, dtype rules, conversions, operators, in-place ops and repr."""

import numpy as np
import pytest

import bprop as bp

# ----- construction and dtype rules ---------------------------------------------------------


@pytest.mark.parametrize(
    "data,dtype",
    [
        ([1.0, 2.0], np.float32),  # Python floats: float32, torch's default
        (1.5, np.float32),
        ([[1, 2.5]], np.float32),  # mixed ints and floats are floats
        ([1, 2], np.int64),  # ints: int64 labels
        (7, np.int64),
        ([True, False], np.bool_),
        (np.zeros(2), np.float64),  # NumPy arrays keep their dtype
        (np.zeros(2, np.float32), np.float32),
        (np.arange(3, dtype=np.uint8), np.uint8),
        (np.float64(1.5), np.float64),  # so do NumPy scalars
    ],
)
def test_dtype_of_constructed_tensors(data, dtype):
    assert bp.tensor(data).dtype == dtype


def test_explicit_dtype_wins():
    assert bp.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert bp.tensor(np.zeros(2), dtype=np.float32).dtype == np.float32
    assert bp.tensor([1, 2], dtype=bp.float32).dtype == np.float32


def test_construction_copies_its_input():
    array = np.zeros(3)
    t = bp.tensor(array)
    array[0] = 1.0
    assert t.data[0] == 0.0


def test_tensor_from_a_tensor_is_a_new_leaf():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = bp.tensor(x * 2, requires_grad=True)
    assert y.is_leaf and y.requires_grad and y.dtype == np.float32
    np.testing.assert_array_equal(y.data, [2.0, 4.0])


@pytest.mark.parametrize("data", [[1, 2], np.arange(3), [True]])
def test_integer_and_bool_tensors_cannot_require_grad(data):
    with pytest.raises(TypeError, match="only floating tensors can require grad"):
        bp.tensor(data, requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        bp.tensor(data).requires_grad_()


def test_ragged_input_is_rejected():
    with pytest.raises((TypeError, ValueError)):
        bp.tensor([[1.0], [1.0, 2.0]])


# ----- operators and Python / NumPy scalars ---------------------------------------------------

SCALAR_OPS = {
    "add": lambda x, s: x + s,
    "radd": lambda x, s: s + x,
    "sub": lambda x, s: x - s,
    "rsub": lambda x, s: s - x,
    "mul": lambda x, s: x * s,
    "rmul": lambda x, s: s * x,
    "div": lambda x, s: x / s,
    "rdiv": lambda x, s: s / x,
    "pow": lambda x, s: x**s,
    "rpow": lambda x, s: s**x,
}


@pytest.mark.parametrize("name", sorted(SCALAR_OPS))
@pytest.mark.parametrize(
    "scalar",
    [2, 2.5, True, np.float64(2.5), np.int64(2), np.float32(2.5)],
    ids=["int", "float", "bool", "np.float64", "np.int64", "np.float32"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scalars_never_change_a_float_tensors_dtype(name, scalar, dtype):
    x = bp.tensor(np.array([1.0, 2.0], dtype=dtype), requires_grad=True)
    if scalar is True and name in ("sub", "rsub"):  # torch refuses subtraction with a bool
        with pytest.raises(RuntimeError, match="sub: not supported for bool operands"):
            SCALAR_OPS[name](x, scalar)
        return
    y = SCALAR_OPS[name](x, scalar)
    assert y.dtype == dtype
    y.sum().backward()
    assert x.grad.dtype == dtype


def test_scalar_operator_values():
    x = bp.tensor([1.0, 2.0])
    np.testing.assert_allclose((3 - x).data, [2, 1])
    np.testing.assert_allclose((2 / x).data, [2, 1])
    np.testing.assert_allclose((2**x).data, [2, 4])
    np.testing.assert_allclose((x**2).data, [1, 4])
    np.testing.assert_allclose((-x).data, [-1, -2])
    np.testing.assert_allclose(abs(bp.tensor([-1.5])).data, [1.5])


def test_ndarray_on_the_left_defers_to_the_tensor():
    x = bp.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x
    assert isinstance(y, bp.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_integer_and_bool_tensor_arithmetic_follows_torch():
    labels = bp.tensor([1, 2])
    assert (labels + 1).dtype == np.int64
    assert (labels**2).data.tolist() == [1, 4] and (labels**2).dtype == np.int64
    root = labels**0.5  # a float power of an integer tensor is float32 (it used to truncate to ** 0)
    assert root.dtype == np.float32
    np.testing.assert_allclose(root.data, [1.0, np.sqrt(2.0)], rtol=1e-6)
    assert (labels * 2.5).dtype.kind == "f"
    assert (bp.tensor([True, False]) + 2).data.tolist() == [3, 2]


def test_mixed_float_tensors_promote_like_torch():
    a = bp.tensor([1.0], requires_grad=True)
    b = bp.tensor(np.array([2.0]), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


# ----- comparisons ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op,expected",
    [
        ("__eq__", [False, True, False]),
        ("__ne__", [True, False, True]),
        ("__lt__", [True, False, False]),
        ("__le__", [True, True, False]),
        ("__gt__", [False, False, True]),
        ("__ge__", [False, True, True]),
    ],
)
def test_comparisons_give_bool_tensors_outside_the_graph(op, expected):
    x = bp.tensor([1.0, 2.0, 3.0], requires_grad=True)
    for other in (2.0, bp.tensor([2.0, 2.0, 2.0]), np.array([2.0])):
        mask = getattr(x, op)(other)
        assert isinstance(mask, bp.Tensor) and mask.dtype == np.bool_
        assert not mask.requires_grad and mask.grad_fn is None
        assert mask.data.tolist() == expected


def test_tensors_stay_hashable_by_identity():
    x, y = bp.tensor([1.0]), bp.tensor([1.0])
    assert len({x, y}) == 2 and hash(x) == hash(x)


# ----- conversions ---------------------------------------------------------------------------


def test_item():
    assert bp.tensor([3.0]).item() == 3.0 and isinstance(bp.tensor([3.0]).item(), float)
    assert bp.tensor([[4]]).item() == 4 and isinstance(bp.tensor(4).item(), int)
    with pytest.raises(ValueError, match=r"one element, got shape \(1, 2\)"):
        bp.tensor([[1.0, 2.0]]).item()
    assert float(bp.tensor(2.0)) == 2.0 and int(bp.tensor(3)) == 3


def test_numpy_and_detach():
    x = bp.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        x.numpy()
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d.numpy(), x.data)  # like torch: detach shares storage
    y = (x * 2).detach()
    assert y.grad_fn is None
    plain = bp.tensor([1.0])
    assert plain.numpy() is plain._data  # the array itself, no copy


def test_np_array_of_a_tensor_is_a_copy():
    t = bp.tensor([1.0, 2.0])
    a = np.array(t)
    a[0] = 5.0
    assert t.data[0] == 1.0
    assert np.asarray(t) is t._data  # asarray may share
    assert np.asarray(t, dtype=np.float64).dtype == np.float64


def test_to_and_dtype_shorthands():
    x = bp.tensor([[1.5, 2.0]], requires_grad=True)
    assert x.to(np.float32) is x
    d = x.double()
    assert d.dtype == np.float64 and d.requires_grad
    (d * 3).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [[3.0, 3.0]])
    labels = x.long()
    assert labels.dtype == np.int64 and labels.data.tolist() == [[1, 2]]
    assert not labels.requires_grad and labels.grad_fn is None  # integer results leave the graph
    assert x.to(bool).dtype == np.bool_ and not x.to(bool).requires_grad
    assert bp.tensor([1, 2]).float().dtype == np.float32


def test_shape_properties_and_tolist():
    x = bp.tensor([[1.0, 2.0]])
    assert x.shape == (1, 2) and x.ndim == 2 and x.dim() == 2 and x.numel() == 2
    assert len(x) == 1 and x.size() == (1, 2) and x.size(1) == 2
    assert x.tolist() == [[1.0, 2.0]] and x.T.shape == (2, 1)
    with pytest.raises(TypeError, match="0-d"):
        len(bp.tensor(1.0))


def test_numpy_integers_work_as_sizes():
    n = np.prod((2, 3))  # np.int64
    assert bp.zeros(n).shape == (6,)
    assert bp.ones(np.int64(2), 3).shape == (2, 3)
    assert bp.ones(6).reshape(np.int64(2), 3).shape == (2, 3)
    assert bp.ones(2, 3).permute(np.int64(1), 0).shape == (3, 2)


# ----- in-place operations -------------------------------------------------------------------


@pytest.mark.parametrize(
    "op,expected",
    [
        ("__iadd__", [3.0, 4.0]),
        ("__isub__", [-1.0, 0.0]),
        ("__imul__", [2.0, 4.0]),
        ("__itruediv__", [0.5, 1.0]),
    ],
)
def test_in_place_ops_raise_under_grad_mode_and_work_under_no_grad(op, expected):
    w = bp.tensor([1.0, 2.0], requires_grad=True)
    data = w._data
    with pytest.raises(RuntimeError, match="no_grad"):
        getattr(w, op)(2.0)
    np.testing.assert_array_equal(w.data, [1.0, 2.0])  # nothing happened
    with bp.no_grad():
        result = getattr(w, op)(2.0)
    assert result is w and w._data is data  # truly in place: optimizers rely on it
    np.testing.assert_array_equal(w.data, expected)


def test_in_place_with_a_tensor_that_requires_grad_is_recorded_as_torch_does():
    plain = bp.tensor([1.0])
    data = plain._data
    plain += bp.tensor([2.0])
    assert plain.item() == 3.0 and plain.grad_fn is None
    w = bp.tensor([2.0], requires_grad=True)
    plain *= w  # plain now depends on w: it joins the graph (torch: MulBackward0)
    assert plain.item() == 6.0 and plain._data is data and plain.grad_fn is not None
    plain.sum().backward()
    np.testing.assert_array_equal(w.grad, [3.0])


def test_in_place_keeps_the_dtype():
    x = bp.tensor([1.0, 2.0])
    x += np.array([1.0, 1.0])  # float64 operand, float32 target
    assert x.dtype == np.float32
    labels = bp.tensor([1, 2])
    with pytest.raises(TypeError):
        labels += 0.5  # int64 cannot hold it (same_kind casting), as in torch


def test_setitem_and_zero_():
    x = bp.zeros(3)
    x[1] = 5.0
    x[bp.tensor([2])] = bp.tensor([7.0])
    assert x.data.tolist() == [0, 5, 7]
    assert x.zero_() is x and x.data.tolist() == [0, 0, 0]
    w = bp.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w[0] = 1.0
    with bp.no_grad():
        w[0] = 1.0
    assert w.data[0] == 1.0


# ----- repr ----------------------------------------------------------------------------------


def test_repr():
    assert repr(bp.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(bp.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(bp.tensor([1.0], requires_grad=True) * 2) == "tensor([2.], grad_fn=<MulBackward>)"
    assert repr(bp.tensor(np.ones(1))) == "tensor([1.], dtype=float64)"
    assert repr(bp.tensor([1, 2])) == "tensor([1, 2])"  # torch names neither int64 nor bool
    assert repr(bp.tensor(True)) == "tensor(True)"
    assert repr(bp.zeros(0)) == "tensor([])"
    assert repr(bp.zeros((2, 2))) == "tensor([[0., 0.],\n        [0., 0.]])"
    assert "dtype=uint8" in repr(bp.tensor(np.zeros(1, np.uint8)))


# ----- factories -----------------------------------------------------------------------------


def test_factories_and_seed():
    bp.manual_seed(3)
    a = bp.randn(2, 3)
    bp.manual_seed(3)
    b = bp.randn((2, 3))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float32 and bp.randn(2, dtype=np.float64).dtype == np.float64
    assert np.asarray(bp.zeros(2, 2).data).sum() == 0 and np.asarray(bp.ones(3).data).sum() == 3
    assert bp.arange(4).dtype == np.int64 and bp.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert bp.arange(1, 7, 2).data.tolist() == [1, 3, 5]
    assert bp.full((2,), 7.0).data.tolist() == [7.0, 7.0] and bp.full(3, 1.0).shape == (3,)
    assert np.asarray(bp.eye(3).data).trace() == 3 and bp.eye(2, 3).shape == (2, 3)
    r = bp.rand(500)
    assert 0 <= np.asarray(r.data).min() and np.asarray(r.data).max() < 1
    assert bp.zeros_like(a).shape == a.shape and np.asarray(bp.ones_like(a).data).sum() == 6
    assert bp.zeros(2, requires_grad=True).requires_grad
