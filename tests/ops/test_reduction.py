"""Reductions through the Tensor API: var/std argument forms, 0-d and empty tensors, max/min
with values and indices, ties, errors. Every dim form, keepdim, size-1 dims, extremes, NaN and
dtypes of the Sum, Mean, Max, Min, Var and Std ops are in the op table (op_db.py)."""

import numpy as np
import pytest
from tests.helpers import check, leaf, rand, torch_parity

import bprop as bp


def test_biased_variance_and_correction():
    check(lambda x: x.var(dim=0, unbiased=False), rand(1, 3))
    check(lambda x: x.var(1, False, True), rand(3, 4))  # torch's positional order: dim, unbiased, keepdim
    assert bp.ones(3, 2).var(1, False, True).shape == (3, 1)
    torch_parity(lambda x: x.var(1, False), lambda x: x.var(1, False), rand(3, 4))
    torch_parity(lambda x: x.var(0, correction=2), lambda x: x.var(0, correction=2), rand(5, 3))
    torch_parity(lambda x: x.std(dim=1), lambda x: x.std(dim=1), rand(3, 5))
    torch_parity(lambda x: x.std(), lambda x: x.std(), rand(3, 5))


@pytest.mark.parametrize("op", ["sum", "mean", "amax", "amin"])
@pytest.mark.parametrize("dim", [None, 0, -1, ()])
def test_zero_dim_tensors(op, dim):
    x = leaf(np.array(1.5))
    y = getattr(x, op)(dim=dim)
    assert y.shape == () and y.item() == 1.5
    y.backward()
    assert x.grad.shape == () and x.grad == 1.0
    with pytest.raises(IndexError, match="out of range"):
        getattr(x, op)(dim=1)


def test_empty_reductions_follow_torch():
    x = leaf(np.zeros((0, 3)))
    s = x.sum(dim=0)
    np.testing.assert_array_equal(np.asarray(s), np.zeros(3))
    s.sum().backward()
    assert x.grad.shape == (0, 3)
    assert x.sum().item() == 0.0
    assert np.isnan(x.mean().item()) and np.isnan(np.asarray(x.mean(dim=0))).all()
    assert x.mean(dim=1).shape == (0,) and x.amax(dim=1).shape == (0,)
    assert np.isnan(x.var().item()) and np.isnan(np.asarray(x.var(dim=0))).all()
    assert np.isnan(leaf(np.ones(1)).var().item())  # N − 1 = 0
    with pytest.raises(ValueError, match="empty dim"):
        x.amax()
    with pytest.raises(ValueError, match="empty dim"):
        x.amin(dim=0)
    with pytest.raises(ValueError, match="size 0"):
        x.max(dim=0)


def test_empty_reductions_match_torch():
    torch = pytest.importorskip("torch")
    x = np.zeros((0, 3))
    for op, dim in [("sum", 0), ("sum", 1), ("sum", None), ("mean", 1), ("amax", 1), ("amin", 1)]:
        ours = np.asarray(getattr(bp.tensor(x), op)(dim=dim))
        theirs = getattr(torch.tensor(x), op)(**({} if dim is None else {"dim": dim})).numpy()
        np.testing.assert_array_equal(ours, theirs)


def test_max_and_min_with_dim_return_values_and_indices_like_torch():
    x = leaf(rand(3, 4))
    values, indices = x.max(dim=1)
    np.testing.assert_array_equal(np.asarray(indices), np.argmax(np.asarray(x), axis=1))
    assert indices.dtype == np.int64 and not indices.requires_grad
    values.sum().backward()
    expected = np.zeros((3, 4))
    expected[np.arange(3), np.asarray(indices)] = 1
    np.testing.assert_array_equal(x.grad, expected)
    result = x.min(dim=-2, keepdim=True)
    assert result.values.shape == (1, 4) and result.indices.shape == (1, 4)
    np.testing.assert_array_equal(np.asarray(result.indices), np.argmin(np.asarray(x), axis=0)[None])


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dim,keepdim", [(0, False), (1, True), (-1, False)])
def test_max_min_with_dim_gradcheck_and_parity(op, dim, keepdim):
    fn = lambda x: getattr(x, op)(dim=dim, keepdim=keepdim).values  # noqa: E731
    check(fn, rand(3, 4))
    torch_parity(fn, fn, rand(3, 4))


def test_ties_follow_torch():
    # max(): ties share the gradient evenly; max(dim): it all goes to the returned (first) index
    x = leaf(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]]))
    x.max().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [0, 0, 0]])
    x.grad = None
    x.max(dim=1).values.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])
    x.grad = None
    x.amax(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0, 0.5, 0.5], [0.5, 0.5, 0]])
    data = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])
    for fn in (
        lambda t: t.max(),
        lambda t: t.min(dim=0).values,
        lambda t: t.max(dim=1).values,
        lambda t: t.amax(dim=1),
        lambda t: t.amin(dim=(0, 1)),
    ):
        torch_parity(fn, fn, data)


def test_max_without_dim_is_a_tensor_and_with_dim_on_0d_follows_torch():
    assert isinstance(bp.tensor([1.0, 2.0]).max(), bp.Tensor)
    values, indices = bp.tensor(3.0).max(dim=0)
    assert values.item() == 3.0 and indices.item() == 0


def test_mean_and_sum_of_dim_tuple_equal_numpy():
    x = rand(2, 3, 4, 5)
    t = bp.tensor(x)
    np.testing.assert_allclose(np.asarray(t.sum(dim=(1, -1))), x.sum(axis=(1, 3)))
    np.testing.assert_allclose(np.asarray(t.mean(dim=(0, 2), keepdim=True)), x.mean(axis=(0, 2), keepdims=True))
    np.testing.assert_allclose(np.asarray(t.mean(dim=(1, 1))), x.mean(axis=1))  # a repeated dim counts once


def test_out_of_range_dim_is_an_error():
    with pytest.raises(IndexError, match=r"dim 3 is out of range.*\[-2, 1\]"):
        bp.ones(2, 3).sum(dim=3)
    with pytest.raises(IndexError, match="dim -3"):
        bp.ones(2, 3).mean(dim=(0, -3))
    with pytest.raises(TypeError, match=r"one int dim, got \(0, 1\); amax"):
        bp.ones(2, 3).max(dim=(0, 1))


@pytest.mark.parametrize("dim", [None, 1])
def test_std_of_a_constant_slice_has_gradient_zero_like_torch_and_finite_differences(dim):
    """Issue 11 #2: √var gave 0·∞ = NaN at zero variance and poisoned every gradient upstream."""
    x = np.array([[2.0, 2.0, 2.0, 2.0], [0.5, -1.0, 3.0, 0.25]])
    if dim is None:
        x = x[:1]
    t = leaf(x)
    t.std(dim).backward(np.full(t.std(dim).shape, 0.7))
    assert np.isfinite(t.grad).all() and not np.asarray(t.grad)[0].any()
    check(lambda a: a.std(dim), x)  # the centred difference of the cone |ε|·std(v) is 0
    pytest.importorskip("torch")
    torch_parity(lambda a: a.std(dim), lambda a: a.std(dim), x)


def test_std_feeds_finite_gradients_upstream_of_a_constant_feature():
    x = leaf(np.array([[1.0, 3.0], [1.0, -2.0], [1.0, 0.5]]))  # feature 0 is constant
    ((x * 2.0).std(0, keepdim=True) * bp.tensor([[1.0, 1.0]], dtype=np.float64)).sum().backward()
    assert np.isfinite(x.grad).all() and not np.asarray(x.grad)[:, 0].any()


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std"])
def test_float32_reductions_over_many_rows_are_as_accurate_as_torchs(name):
    """Over dim 0 of 10^5 rows NumPy would add row after row (relative error ~1e-5); bprop
    accumulates such reductions in float64, as torch's pairwise sums reach ~1e-7."""
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((100_000, 3)).astype(np.float32) + 3.0
    exact = getattr(np, name)(x.astype(np.float64), axis=0, **({"ddof": 1} if name in ("var", "std") else {}))
    ours = getattr(bp.tensor(x), name)(0).numpy()
    theirs = getattr(torch.from_numpy(x), name)(0).numpy()
    assert ours.dtype == np.float32
    ours_error = np.max(np.abs(ours - exact) / np.abs(exact))
    torch_error = np.max(np.abs(theirs - exact) / np.abs(exact))
    assert ours_error < 3e-7 and ours_error <= max(torch_error, 1e-7) * 3
