"""Module API: registration, traversal, state dicts, modes, dtype, repr."""

from collections import OrderedDict

import numpy as np
import pytest

import bprop as bp
from bprop import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.bn = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(np.ones(1, np.float32))
        self.note = "not a parameter"

    def forward(self, x):
        return self.bn(self.fc(x)) * self.scale


def test_registration_and_traversal():
    m = Block()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "fc.weight", "fc.bias", "bn.weight", "bn.bias"]
    assert [type(c).__name__ for c in m.children()] == ["Linear", "BatchNorm1d"]
    assert len(list(m.modules())) == 3
    assert [n for n, _ in m.named_buffers()] == ["bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
    assert m.note == "not a parameter"


def test_shared_parameters_are_listed_once():
    fc = nn.Linear(2, 2)
    seq = nn.Sequential(fc, nn.ReLU(), fc)
    assert len(list(seq.parameters())) == 2


def test_state_dict_round_trip_copies_arrays():
    m = Block()
    m(bp.randn(5, 3))
    sd = m.state_dict()
    assert set(sd) == {
        "scale",
        "fc.weight",
        "fc.bias",
        "bn.weight",
        "bn.bias",
        "bn.running_mean",
        "bn.running_var",
        "bn.num_batches_tracked",
    }
    assert int(sd["bn.num_batches_tracked"]) == 1
    other = Block()
    other.load_state_dict(sd)
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, sd[key])
    sd["fc.weight"][...] = 0  # a copy: the model is untouched
    assert np.abs(np.asarray(m.fc.weight)).sum() > 0


def test_load_state_dict_errors_name_the_keys_and_shapes():
    m = Block()
    sd = m.state_dict()
    del sd["fc.bias"]
    sd["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match=r"missing keys \['fc.bias'\].*unexpected keys \['extra'\]"):
        m.load_state_dict(sd)
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert missing == ["fc.bias"] and unexpected == ["extra"]
    bad = Block().state_dict()
    bad["fc.weight"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"fc.weight: checkpoint \(2, 2\), model \(4, 3\)"):
        m.load_state_dict(bad)


def test_train_eval_zero_grad_and_to():
    m = Block()
    assert m.training and m.bn.training
    m.eval()
    assert not m.bn.training
    m.train()
    m(bp.randn(4, 3)).sum().backward()
    assert m.fc.weight.grad is not None
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.to(np.float64)
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert m.bn.running_mean.dtype == np.float64
    assert m(bp.tensor(np.ones((2, 3)))).dtype == np.float64
    with pytest.raises(TypeError):
        m.to(np.int64)


def test_repr_is_readable():
    text = repr(nn.Sequential(nn.Linear(2, 3), nn.ReLU()))
    assert "(0): Linear(in_features=2, out_features=3, bias=True)" in text and "(1): ReLU()" in text


def test_sequential_and_module_list():
    seq = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and len(seq[1:]) == 2
    assert seq(bp.randn(4, 2)).shape == (4, 1)
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    holder = nn.Module()
    holder.layers = ml
    assert len(list(holder.parameters())) == 6 and len(ml) == 3


def test_forgetting_super_init_is_explained():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(1))

    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_named_modules_and_children_paths():
    m = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Linear(3, 1)))
    assert [n for n, _ in m.named_modules()] == ["", "0", "1", "1.0", "1.1"]
    assert [n for n, _ in m.named_children()] == ["0", "1"]
    assert [n for n, _ in m.named_parameters()] == ["0.weight", "0.bias", "1.1.weight", "1.1.bias"]


def test_buffers_survive_reassignment():
    bn = nn.BatchNorm1d(3)
    bn.running_mean = np.full(3, 2.0, dtype=np.float32)  # plain assignment keeps it a buffer
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert "running_mean" not in bn.__dict__
    np.testing.assert_array_equal(bn.state_dict()["running_mean"], 2.0)
    bn.eval()
    np.testing.assert_allclose(bn(bp.tensor(np.full((2, 3), 2.0, np.float32))).data, 0.0, atol=1e-6)
    bn.load_state_dict(nn.BatchNorm1d(3).state_dict())
    bn.to(np.float64)
    assert bn.running_mean.dtype == np.float64 and "running_mean" in dict(bn.named_buffers())
    np.testing.assert_array_equal(bn.running_mean, 0.0)


def test_state_dict_keys_and_order_match_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Sequential(nn.Linear(5, 2)))
    ref = torch.nn.Sequential(
        torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(), torch.nn.Sequential(torch.nn.Linear(5, 2))
    )
    assert list(ours.state_dict()) == list(ref.state_dict())
    shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert {k: v.shape for k, v in ours.state_dict().items()} == shapes
    ours.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    ours.eval()
    ref.eval()
    np.testing.assert_allclose(np.asarray(ours(bp.tensor(x))), ref(torch.tensor(x)).detach().numpy(), atol=1e-6)


def test_load_state_dict_copies_casts_and_accepts_tensors():
    m = nn.Linear(3, 2)
    source = {"weight": np.ones((2, 3)), "bias": bp.tensor(np.zeros(2))}  # float64 and a Tensor
    m.load_state_dict(source)
    assert m.weight.dtype == np.float32 and m.bias.dtype == np.float32
    source["weight"][...] = 5
    np.testing.assert_array_equal(np.asarray(m.weight), 1.0)


def test_shape_mismatch_lists_every_key_raises_even_when_not_strict_and_changes_nothing():
    m = Block()
    before = m.state_dict()
    bad = Block().state_dict()
    bad["fc.weight"], bad["bn.running_var"] = np.zeros((2, 2)), np.zeros(5)
    with pytest.raises(
        ValueError,
        match=r"fc.weight: checkpoint \(2, 2\), model \(4, 3\); "
        r"bn.running_var: checkpoint \(5,\), model \(4,\)",
    ):
        m.load_state_dict(bad, strict=False)
    for key, value in m.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_zero_grad_in_place_and_requires_grad_():
    m = nn.Linear(2, 2)
    m(bp.randn(3, 2)).sum().backward()
    grad = m.weight.grad
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is grad and not grad.numpy().any()
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_to_casts_existing_gradients_and_returns_the_module():
    m = nn.Linear(2, 2)
    m(bp.randn(3, 2)).sum().backward()
    assert m.to(np.float64) is m
    assert m.weight.grad.dtype == np.float64
    assert m.double() is m and m.float().weight.dtype == np.float32


def test_nested_repr_matches_torch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 1), nn.Sigmoid()))
    ref = torch.nn.Sequential(
        torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Sigmoid())
    )
    assert repr(ours) == repr(ref)


def test_sequential_from_ordered_dict_indexing_and_append():
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.Tanh())]))
    assert list(seq.state_dict()) == ["fc.weight", "fc.bias"]
    assert isinstance(seq[-1], nn.Tanh) and seq[0] is seq.fc
    seq.append(nn.Linear(3, 1))
    assert seq(bp.randn(4, 2)).shape == (4, 1) and "2.weight" in seq.state_dict()


def test_module_list_keys_and_iteration():
    holder = nn.Module()
    holder.blocks = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 1)])
    holder.blocks.append(nn.ReLU())
    assert list(holder.state_dict()) == ["blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"]
    assert isinstance(holder.blocks[-1], nn.ReLU) and [type(b).__name__ for b in holder.blocks] == [
        "Linear",
        "Linear",
        "ReLU",
    ]
    holder.eval()
    assert not any(b.training for b in holder.blocks)
