"""The torch names tutorials use first (issue 22, item 2) and the CPU device layer (item 3),
each compared with torch where torch is importable."""

from __future__ import annotations

import math

import numpy as np
import pytest

import bprop as bp


def _torch():
    return pytest.importorskip("torch")


def test_dtype_aliases_are_torchs() -> None:
    assert bp.float == bp.float32 and bp.double == bp.float64 and bp.long == bp.int64
    assert bp.int == np.int32 and bp.bool == np.bool_
    assert bp.zeros(2, dtype=bp.long).dtype == np.int64
    with pytest.raises(AttributeError, match=r"float16.*not supported"):
        bp.half  # noqa: B018
    with pytest.raises(TypeError, match="float16 is not supported"):
        bp.ones(2).half()


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.linspace(-math.pi, math.pi, 7),
        lambda m: m.logspace(0, 2, 5),
        lambda m: m.full((2, 3), 1.5),
        lambda m: m.full((2,), 3),
        lambda m: m.zeros_like(m.ones(2, 3, dtype=m.float64)),
        lambda m: m.ones_like(m.ones(2, dtype=m.long)),
        lambda m: m.full_like(m.ones(2), 7.0),
        lambda m: m.empty(2, 3).shape,
        lambda m: m.arange(5, dtype=m.float32),
        lambda m: m.eye(3, device="cpu"),
        lambda m: m.as_tensor([1, 2, 3]),
    ],
)
def test_factories_match_torch(make) -> None:
    torch = _torch()
    ours, theirs = make(bp), make(torch)
    if isinstance(theirs, tuple) or type(theirs).__name__ == "Size":
        assert tuple(ours) == tuple(theirs)
        return
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(np.asarray(ours), theirs.numpy(), rtol=1e-6)


def test_from_numpy_shares_memory_and_keeps_dtype() -> None:
    a = np.arange(3.0)
    t = bp.from_numpy(a)
    a[0] = 5
    assert t.dtype == np.float64 and t[0].item() == 5


def test_random_factories_draw_from_the_seeded_generator() -> None:
    bp.manual_seed(3)
    first = [bp.randint(0, 10, (4,)), bp.randint(5, (2, 2)), bp.randperm(6), bp.normal(0.0, 1.0, (3,))]
    bp.manual_seed(3)
    again = [bp.randint(0, 10, (4,)), bp.randint(5, (2, 2)), bp.randperm(6), bp.normal(0.0, 1.0, (3,))]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert sorted(np.asarray(first[2]).tolist()) == list(range(6))
    assert 0 <= np.asarray(first[0]).min() and np.asarray(first[0]).max() < 10


def test_multinomial_follows_the_weights() -> None:
    bp.manual_seed(0)
    draws = np.asarray(bp.multinomial(bp.tensor([0.0, 1.0, 3.0]), 2000, replacement=True))
    assert (draws != 0).all() and 0.7 < (draws == 2).mean() < 0.8
    rows = bp.multinomial(bp.tensor([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0]]), 2)
    assert rows.shape == (2, 2) and set(np.asarray(rows)[1]) == {1, 2}
    with pytest.raises(ValueError, match="without replacement"):
        bp.multinomial(bp.tensor([1.0, 1.0]), 3)


@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x: m.sin(x) + m.cos(x) * m.exp(x),
        lambda m, x: x.mm(x.t()),
        lambda m, x: x.unsqueeze(0).bmm(x.t().unsqueeze(0)),
        lambda m, x: x.repeat(2, 3),
        lambda m, x: x[:1].expand(4, 3),
        lambda m, x: x.view_as(m.zeros(3, 2)),
        lambda m, x: m.tril(x) + m.triu(x, 1) * 2,
        lambda m, x: x.masked_fill(x > 0, -1.0),
        lambda m, x: m.topk(x, 2).values,
        lambda m, x: m.sort(x, dim=0, descending=True).values,
        lambda m, x: m.cat(m.split(x, [1, 2], dim=1)[::-1], dim=1),
        lambda m, x: m.stack(x.chunk(2), 0).sum(0),
        lambda m, x: m.gather(x, 1, m.tensor([[0, 0], [2, 1]])),
        lambda m, x: x.scatter(1, m.tensor([[2], [0]]), x[:, :1] * 3),
        lambda m, x: m.einsum("ij,kj->ik", x, x),
        lambda m, x: m.einsum("ij->j", x) * m.einsum("i,j->ij", x[0], x[1]).sum(),
        lambda m, x: x.pow(2).square(),
        lambda m, x: x.index_select(0, m.tensor([1, 1])),
    ],
)
def test_differentiable_names_match_torch(fn) -> None:
    torch = _torch()
    data = np.random.default_rng(0).standard_normal((2, 3))
    ours, theirs = bp.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    y, ty = fn(bp, ours), fn(torch, theirs)
    np.testing.assert_allclose(np.asarray(y.detach()), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(y.shape)
    y.backward(g)
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(np.asarray(ours.grad), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_comparisons_conversions_and_indices() -> None:
    x = bp.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert np.asarray(x.eq(2)).tolist() == [[False, True], [False, False]]
    assert np.asarray(x.ne(2)).sum() == 3 and np.asarray(x.lt(3)).sum() == 2
    assert x.float().dtype == np.float32 and x.long().dtype == np.int64 and x.int().dtype == np.int32
    assert x.size(1) == 2 and x.dim() == 2 and x.sum().item() == 10.0 and x.tolist() == [[1, 2], [3, 4]]
    assert np.asarray(bp.argmax(x, dim=1)).tolist() == [1, 1] and bp.argmin(x).item() == 0
    assert ["a", "b", "c"][bp.tensor(2)] == "c"
    with pytest.raises(TypeError, match="integer tensors"):
        ["a"][bp.tensor(0.0)]
    assert f"{x.sum():.2f}" == "10.00" and f"{bp.tensor(3)}" == "3" and f"{x}" == str(x)


def test_grad_mode_switches_as_decorator_and_context() -> None:
    w = bp.ones(2, requires_grad=True)

    @bp.no_grad()
    def frozen() -> bool:
        return (w * 2).requires_grad

    @bp.inference_mode()
    def inferred() -> bool:
        return (w * 2).requires_grad

    assert not frozen() and not inferred() and (w * 2).requires_grad
    with bp.inference_mode():
        assert not (w * 2).requires_grad
        with bp.enable_grad():
            assert (w * 2).requires_grad
    with bp.inference_mode(False):
        assert (w * 2).requires_grad
    with bp.set_grad_enabled(False):
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad


def test_set_printoptions_changes_repr() -> None:
    x = bp.tensor([1.0 / 3])
    try:
        bp.set_printoptions(precision=2)
        assert repr(x) == "tensor([0.33])"
    finally:
        bp.set_printoptions(profile="default")
    assert repr(x) == "tensor([0.3333])"


def test_the_cpu_is_the_device() -> None:
    cpu = bp.device("cpu")
    x = bp.zeros(2, device=cpu)
    assert x.device == "cpu" and x.device == cpu and str(x.device) == "cpu" and not x.is_cuda
    assert x.to(cpu) is x and x.cpu() is x and x.to("cpu", bp.float64).dtype == np.float64
    assert x.to(device="cpu", dtype=bp.double, non_blocking=True).dtype == np.float64
    model = bp.nn.Linear(2, 1).to(cpu)
    assert model.to("cpu", bp.float64).weight.dtype == np.float64 and model.cpu() is model
    assert bp.device("cpu:0").index == 0


@pytest.mark.parametrize(
    "ask",
    [
        lambda: bp.device("cuda"),
        lambda: bp.zeros(2, device="cuda"),
        lambda: bp.tensor([1.0], device="cuda:0"),
        lambda: bp.ones(2).to("cuda"),
        lambda: bp.ones(2).cuda(),
        lambda: bp.nn.Linear(1, 1).to("mps"),
    ],
)
def test_asking_for_another_device_says_why_in_one_line(ask) -> None:
    with pytest.raises(RuntimeError, match="runs on the CPU only") as info:
        ask()
    assert "\n" not in str(info.value)
