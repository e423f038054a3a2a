"""Tensor construction, dtype rules, conversions and operators."""

import numpy as np
import pytest

import bprop as bp


def test_dtype_defaults_follow_torch():
    assert bp.tensor([1.0, 2.0]).dtype == np.float32
    assert bp.tensor(1.5).dtype == np.float32
    assert bp.tensor(np.zeros(2)).dtype == np.float64
    assert bp.tensor([1, 2]).dtype == np.int64
    assert bp.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert bp.tensor(np.arange(3, dtype=np.uint8)).dtype == np.uint8


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating"):
        bp.tensor([1, 2], requires_grad=True)


def test_python_scalars_do_not_upcast_float32():
    x = bp.tensor([1.0, 2.0])
    for y in (x * 2.5, 2.5 * x, x + 1, x / 3.0, 1.0 - x, x ** 2, 2.0 ** x):
        assert y.dtype == np.float32


def test_comparisons_give_bool_tensors_outside_the_graph():
    x = bp.tensor([1.0, 2.0, 3.0], requires_grad=True)
    mask = x > 1.5
    assert mask.dtype == bool and not mask.requires_grad
    np.testing.assert_array_equal((x == 2.0).data, [False, True, False])
    assert hash(x) == id(x) or isinstance(hash(x), int)


def test_conversions():
    x = bp.tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert isinstance(x.detach().numpy(), np.ndarray)
    assert bp.tensor([3.0]).item() == 3.0
    with pytest.raises(ValueError, match="one element"):
        x.item()
    assert x.double().dtype == np.float64 and x.long().dtype == np.int64
    assert x.shape == (1, 2) and x.ndim == 2 and x.numel() == 2 and len(x) == 1 and x.size(1) == 2
    assert x.tolist() == [[1.0, 2.0]]
    assert float(bp.tensor(2.0)) == 2.0


def test_in_place_arithmetic_needs_no_grad():
    w = bp.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 1.0
    with bp.no_grad():
        w -= 1.0
    np.testing.assert_array_equal(w.data, [0.0, 1.0])
    plain = bp.tensor([1.0])
    plain *= 3
    assert plain.item() == 3.0


def test_repr_shows_grad_fn_and_dtype():
    x = bp.tensor([1.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<MulBackward>" in repr(x * 2)
    assert "float64" in repr(bp.tensor(np.ones(1)))


def test_factories_and_seed():
    bp.manual_seed(3)
    a = bp.randn(2, 3)
    bp.manual_seed(3)
    b = bp.randn((2, 3))
    np.testing.assert_array_equal(a.data, b.data)
    assert a.dtype == np.float32
    assert bp.zeros(2, 2).data.sum() == 0 and bp.ones(3).data.sum() == 3
    assert bp.arange(4).dtype == np.int64 and bp.arange(0.0, 1.0, 0.5).dtype == np.float32
    assert bp.full((2,), 7.0).data.tolist() == [7.0, 7.0]
    assert bp.eye(3).data.trace() == 3
    assert bp.rand(5).data.max() < 1
    assert bp.zeros_like(a).shape == a.shape and bp.ones_like(a).data.sum() == 6


def test_setitem_under_no_grad():
    x = bp.zeros(3)
    x[1] = 5.0
    assert x.data.tolist() == [0, 5, 0]
    w = bp.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError):
        w[0] = 1.0


def test_ragged_input_is_rejected():
    with pytest.raises((TypeError, ValueError)):
        bp.tensor([[1.0], [1.0, 2.0]])
