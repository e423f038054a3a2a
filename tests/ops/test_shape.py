"""Shape ops: reshape, transpose, permute, flatten, indexing, gather, concatenate, stack, pad."""

import numpy as np
import pytest
from tests.helpers import assert_float32_throughout, check, rand, torch_parity

import bprop as bp

VIEWS = {
    "reshape": (lambda x: x.reshape(6, 4), lambda x: x.reshape(6, 4)),
    "reshape_infer": (lambda x: x.reshape(-1, 3), lambda x: x.reshape(-1, 3)),
    "reshape_tuple": (lambda x: x.reshape((4, 1, 6)), lambda x: x.reshape((4, 1, 6))),
    "view": (lambda x: x.view(2, 12), lambda x: x.view(2, 12)),
    "transpose": (lambda x: x.transpose(0, 2), lambda x: x.transpose(0, 2)),
    "transpose_neg": (lambda x: x.transpose(-1, 1), lambda x: x.transpose(-1, 1)),
    "permute": (lambda x: x.permute(2, 0, 1), lambda x: x.permute(2, 0, 1)),
    "permute_neg": (lambda x: x.permute((-1, 0, -2)), lambda x: x.permute((-1, 0, -2))),
    "T": (lambda x: x.T, lambda x: x.permute(2, 1, 0)),
    "flatten": (lambda x: x.flatten(), lambda x: x.flatten()),
    "flatten_1": (lambda x: x.flatten(1), lambda x: x.flatten(1)),
    "flatten_0_1": (lambda x: x.flatten(0, 1), lambda x: x.flatten(0, 1)),
    "flatten_neg": (lambda x: bp.flatten(x, -2, -1), lambda x: x.flatten(-2, -1)),
    "unsqueeze": (lambda x: x.unsqueeze(1), lambda x: x.unsqueeze(1)),
    "unsqueeze_neg": (lambda x: x.unsqueeze(-1), lambda x: x.unsqueeze(-1)),
    "squeeze": (lambda x: x.unsqueeze(0).unsqueeze(2).squeeze(), lambda x: x.unsqueeze(0).unsqueeze(2).squeeze()),
    "squeeze_dim": (lambda x: x.unsqueeze(1).squeeze(1).squeeze(0), lambda x: x.unsqueeze(1).squeeze(1).squeeze(0)),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_views_gradcheck_and_parity(name):
    ours, theirs = VIEWS[name]
    check(ours, rand(2, 3, 4))
    torch_parity(ours, theirs, rand(2, 3, 4))


def test_flatten_of_a_scalar_and_of_size_one_dims():
    assert bp.tensor(2.0).flatten().shape == (1,)
    check(lambda x: x.flatten(0, 1), rand(1, 1, 3))
    check(lambda x: x.reshape(()), rand(1, 1))


INDICES = [
    (slice(1, None),),
    (slice(None, None, -2),),
    (slice(None), slice(3, 0, -1)),
    (1,),
    (-1, 2),
    (Ellipsis, 0),
    (None, slice(0, 2)),
    (slice(None), None, Ellipsis),
    (np.array([0, 2, 2, 1]),),  # repeats accumulate
    (np.array([0, 1]), np.array([2, 2])),
    (slice(None), np.array([3, 0, 3, 3])),
    (np.array([[0, 1], [1, 1]]),),  # an index array of rank 2
    (np.array([True, False, True]),),  # a boolean mask on dim 0
    (slice(None), np.array([True, False, True, True])),
    (np.array([1, -1]), slice(1, 3)),
]


def _torch_index(torch, index):
    parts = []
    for p in index:
        if isinstance(p, slice) and p.step is not None and p.step < 0:
            return None
        parts.append(torch.as_tensor(p) if isinstance(p, np.ndarray) else p)
    return tuple(parts)


@pytest.mark.parametrize("index", INDICES, ids=range(len(INDICES)))
def test_getitem_gradcheck_and_parity(index):
    x = rand(3, 4)
    np.testing.assert_array_equal(bp.tensor(x)[index].data, x[index])
    check(lambda t: t[index], x)
    torch = pytest.importorskip("torch")
    tindex = _torch_index(torch, index)
    if tindex is not None:  # torch has no negative steps; gradcheck above covers those
        torch_parity(lambda t: t[index], lambda t: t[tindex], x)


def test_getitem_by_mask_and_by_label_tensors():
    x = bp.tensor(rand(5), requires_grad=True)
    mask = x > 0
    x[mask].sum().backward()
    np.testing.assert_array_equal(x.grad, mask.data.astype(float))
    y = bp.tensor(rand(3), requires_grad=True)
    y[bp.tensor([0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(y.grad, [2.0, 0.0, 1.0])
    z = bp.tensor(rand(4, 3), requires_grad=True)
    z[[1, 1, 3], [0, 0, 2]].sum().backward()  # Python lists index like arrays
    expected = np.zeros((4, 3))
    expected[1, 0], expected[3, 2] = 2, 1
    np.testing.assert_array_equal(z.grad, expected)


def test_basic_indexing_is_a_view_as_in_torch():
    # the char-RNN tutorial's lineToTensor: `tensor[li][0][letter] = 1` must write into tensor
    x = bp.zeros(5, 1, 4)
    for li, letter in enumerate([3, 0, 2, 2, 1]):
        x[li][0][letter] = 1
    expected = np.zeros((5, 1, 4), dtype=np.float32)
    expected[np.arange(5), 0, [3, 0, 2, 2, 1]] = 1
    np.testing.assert_array_equal(x.numpy(), expected)
    row = x[1]
    x[1, 0, 0] = 7.0  # and a change of the base shows through the view
    assert row[0, 0].item() == 7.0 and row._version == x._version


def test_advanced_indexing_copies_as_in_torch():
    x = bp.tensor(rand(3, 4))
    rows = x[[0, 2]]
    rows[0, 0] = 100.0
    assert x[0, 0].item() != 100.0


def test_getitem_keeps_float32():
    assert_float32_throughout(lambda t: t[1:, np.array([0, 0, 2])], rand(3, 4))
    assert_float32_throughout(lambda t: t[np.array([True, False, True])], rand(3, 4))


@pytest.mark.parametrize(
    "dim,index",
    [
        (1, np.array([[0, 0, 3], [1, 2, 2], [3, 3, 3]])),  # repeats along dim
        (0, np.array([[2, 0, 1, 1]])),  # one pick per column
        (-1, np.array([[1], [0]])),  # smaller than the input outside dim
    ],
)
def test_gather_gradcheck_and_parity(dim, index):
    check(lambda x: x.gather(dim, index), rand(3, 4))
    torch = pytest.importorskip("torch")
    torch_parity(lambda x: x.gather(dim, bp.tensor(index)), lambda x: x.gather(dim, torch.tensor(index)), rand(3, 4))


def test_gather_rejects_bad_indices():
    with pytest.raises(ValueError, match="integer array with the 2 dims"):
        bp.ones(2, 3).gather(1, np.array([0, 1]))
    with pytest.raises(ValueError, match="larger than the input"):
        bp.ones(2, 3).gather(1, np.zeros((3, 1), np.int64))
    with pytest.raises(IndexError, match="dim 2"):
        bp.ones(2, 3).gather(2, np.zeros((2, 3), np.int64))


@pytest.mark.parametrize(
    "shapes,dim",
    [
        (((2, 3), (2, 1)), 1),
        (((2, 3), (4, 3), (1, 3)), 0),
        (((2, 3, 1), (2, 3, 2)), -1),
        (((5,), (1,)), 0),
    ],
)
def test_concatenate_gradcheck_and_parity(shapes, dim):
    arrays = [rand(*s, seed=k) for k, s in enumerate(shapes)]
    check(lambda *xs: bp.cat(list(xs), dim=dim), *arrays)
    torch = pytest.importorskip("torch")
    torch_parity(lambda *xs: bp.concatenate(xs, dim=dim), lambda *xs: torch.cat(xs, dim=dim), *arrays)


@pytest.mark.parametrize("shape,dim", [((2, 3), 0), ((2, 3), 1), ((2, 3), -1), ((4,), 0), ((), 0)])
def test_stack_gradcheck_and_parity(shape, dim):
    arrays = [rand(*shape, seed=k) for k in range(3)]
    check(lambda *xs: bp.stack(list(xs), dim=dim), *arrays)
    torch = pytest.importorskip("torch")
    torch_parity(lambda *xs: bp.stack(xs, dim), lambda *xs: torch.stack(xs, dim), *arrays)


def test_cat_and_stack_keep_float32_and_accept_arrays():
    assert_float32_throughout(lambda a, b: bp.cat([a, b], 1), rand(2, 3), rand(2, 2))
    assert_float32_throughout(lambda a, b: bp.stack([a, b], 1), rand(2, 3), rand(2, 3))
    assert bp.cat([np.ones((1, 2)), bp.ones(1, 2)]).shape == (2, 2)


@pytest.mark.parametrize(
    "shape,pad,value",
    [
        ((2, 3, 4), (1, 2, 0, 1), 0.0),
        ((2, 3, 4), (1, 1), 0.5),
        ((5,), (0, 3), -1.0),
        ((2, 1, 3), (2, 0, 1, 1, 0, 2), 0.0),
        ((2, 3), (0, 0, 0, 0), 0.0),
    ],
)
def test_pad_gradcheck_and_parity(shape, pad, value):
    check(lambda x: bp.pad(x, pad, value=value), rand(*shape))
    torch = pytest.importorskip("torch")
    torch_parity(
        lambda x: bp.pad(x, pad, value=value), lambda x: torch.nn.functional.pad(x, pad, value=value), rand(*shape)
    )


def test_pad_keeps_float32_and_rejects_bad_pads():
    assert_float32_throughout(lambda x: bp.pad(x, (1, 1, 2, 0)), rand(2, 3))
    with pytest.raises(ValueError, match="pairs"):
        bp.pad(bp.ones(2), (1, 1, 1, 1))
    with pytest.raises(ValueError, match="pairs"):
        bp.pad(bp.ones(2), (1,))
    with pytest.raises(ValueError, match="negative"):
        bp.pad(bp.ones(2), (-1, 0))


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"cannot view shape \(2, 3\) \(6 elements\) as \(4, 2\)"):
        bp.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"not an ordering of the 3 axes of shape \(2, 3, 4\)"):
        bp.ones(2, 3, 4).permute(0, 1)
    with pytest.raises(ValueError, match=r"not an ordering"):
        bp.ones(2, 3, 4).permute(3, 1, 2)
    with pytest.raises(ValueError, match="one shape"):
        bp.stack([bp.ones(2), bp.ones(3)])
    with pytest.raises(ValueError, match=r"concatenate along dim 0: shapes \[\(2, 3\), \(2, 4\)\]"):
        bp.cat([bp.ones(2, 3), bp.ones(2, 4)])
    with pytest.raises(ValueError, match="at least one"):
        bp.cat([])
    with pytest.raises(IndexError, match=r"shape \(2,\)"):
        bp.ones(2)[5]
    with pytest.raises(IndexError, match="out of range"):
        bp.ones(2, 3).flatten(0, 2)
    with pytest.raises(ValueError, match="comes after"):
        bp.ones(2, 3).flatten(1, 0)
