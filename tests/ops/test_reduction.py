"""Reductions: every dim form (None, int, negative, tuple), keepdim, size-1 and empty dims."""

import numpy as np
import pytest
from tests.helpers import check, rand, torch_parity

import bprop as bp

DIMS = [None, 0, 1, -1, (0, 2), (-1, 0)]


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "var"])
@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_reduction_gradcheck(op, dim, keepdim):
    check(lambda x: getattr(x, op)(dim=dim, keepdim=keepdim), rand(3, 4, 5))


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin", "var"])
@pytest.mark.parametrize("dim", DIMS)
def test_reduction_torch_parity(op, dim):
    torch = pytest.importorskip("torch")
    tdim = tuple(range(3)) if dim is None else dim

    def theirs(x):
        if op == "var":
            return torch.var(x, dim=tdim, keepdim=True)
        return getattr(torch, op)(x, dim=tdim, keepdim=True)

    torch_parity(lambda x: getattr(x, op)(dim=dim, keepdim=True), theirs, rand(3, 4, 5))


def test_size_one_dims():
    check(lambda x: x.sum(dim=1) * x.mean(dim=(0, 2), keepdim=True).sum(), rand(2, 1, 3))
    check(lambda x: x.var(dim=0, unbiased=False), rand(1, 3))


def test_empty_reductions_follow_torch():
    x = bp.tensor(np.zeros((0, 3)), requires_grad=True)
    s = x.sum(dim=0)
    np.testing.assert_array_equal(s.data, np.zeros(3))
    s.sum().backward()
    assert x.grad.shape == (0, 3)
    assert np.isnan(x.mean().item())
    with pytest.raises(ValueError, match="empty"):
        x.amax()


def test_max_with_dim_returns_values_and_indices_like_torch():
    x = bp.tensor(rand(3, 4), requires_grad=True)
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(indices.data, np.argmax(x.data, axis=1))
    values.sum().backward()
    expected = np.zeros((3, 4))
    expected[np.arange(3), indices.data] = 1
    np.testing.assert_array_equal(x.grad, expected)


def test_max_ties_share_gradient_evenly():
    x = bp.tensor([1.0, 3.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_allclose(x.grad, [0, 0.5, 0.5])


def test_std_and_min():
    check(lambda x: x.std(dim=1), rand(3, 5))
    check(lambda x: x.min(dim=0).values, rand(4, 2))


def test_out_of_range_dim_is_an_error():
    with pytest.raises(IndexError, match="dim 3"):
        bp.ones(2, 3).sum(dim=3)
