"""Module API: registration, traversal, state dicts, modes, dtype, repr."""

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


def test_state_dict_round_trip_and_buffers_survive_reassignment():
    m = Block()
    m(bp.randn(5, 3))
    sd = m.state_dict()
    assert set(sd) == {"scale", "fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean",
                       "bn.running_var", "bn.num_batches_tracked"}
    assert int(sd["bn.num_batches_tracked"]) == 1
    other = Block()
    other.load_state_dict(sd)
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value, sd[key])
    sd["fc.weight"][...] = 0  # a copy: the model is untouched
    assert np.abs(m.fc.weight.data).sum() > 0


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
