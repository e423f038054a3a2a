"""Weights between torch and bprop: a model trained in torch runs identically in bprop, and back."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn
from bprop.export import from_torch, to_torch


def test_torch_trained_model_gives_the_same_outputs_in_bprop_and_back():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tnn = torch.nn
    ref = tnn.Sequential(
        tnn.Conv2d(1, 4, 3, padding=1),
        tnn.BatchNorm2d(4),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Flatten(),
        tnn.Linear(4 * 4 * 4, 3),
    )
    opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    x = torch.randn(16, 1, 8, 8)
    y = torch.randint(0, 3, (16,))
    for _ in range(5):  # train a little in torch
        opt.zero_grad()
        tnn.functional.cross_entropy(ref(x), y).backward()
        opt.step()
    ref.eval()
    ours = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
    )
    ours.load_state_dict(from_torch(ref.state_dict()))
    ours.eval()
    np.testing.assert_allclose(ours(bp.tensor(x.numpy())).data, ref(x).detach().numpy(), atol=1e-5)
    fresh = tnn.Sequential(
        tnn.Conv2d(1, 4, 3, padding=1),
        tnn.BatchNorm2d(4),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Flatten(),
        tnn.Linear(4 * 4 * 4, 3),
    )
    fresh.load_state_dict(to_torch(ours))
    fresh.eval()
    np.testing.assert_allclose(fresh(x).detach().numpy(), ref(x).detach().numpy(), atol=1e-6)


def test_arrays_and_numpy_likes_are_accepted():
    class Fake:
        def __init__(self, a):
            self.a = a

        def numpy(self):
            return self.a

    state = from_torch({"w": Fake(np.ones((2, 2))), "b": [1.0, 2.0]})
    assert state["w"].shape == (2, 2) and state["b"].tolist() == [1.0, 2.0]
    arrays = to_torch(nn.Linear(2, 3), as_tensors=False)
    assert set(arrays) == {"weight", "bias"} and isinstance(arrays["weight"], np.ndarray)


def test_sequence_model_weights_round_trip_through_torch():
    """Embedding → 2-layer bidirectional LSTM → attention → linear, trained nowhere: the state
    dict of each side loads into the other and both compute the same."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, 4, padding_idx=0)
            self.rnn = torch.nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True)
            self.attn = torch.nn.MultiheadAttention(6, 2, batch_first=True)
            self.gru = torch.nn.GRUCell(6, 5)
            self.head = torch.nn.Linear(5, 2)

        def forward(self, idx):
            h, _ = self.rnn(self.emb(idx))
            a, _ = self.attn(h, h, h)
            return self.head(self.gru(a[:, -1]))

    class Ours(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(10, 4, padding_idx=0)
            self.rnn = nn.LSTM(4, 3, num_layers=2, bidirectional=True, batch_first=True)
            self.attn = nn.MultiheadAttention(6, 2, batch_first=True)
            self.gru = nn.GRUCell(6, 5)
            self.head = nn.Linear(5, 2)

        def forward(self, idx):
            h, _ = self.rnn(self.emb(idx))
            a, _ = self.attn(h, h, h)
            return self.head(self.gru(a[:, -1]))

    theirs, ours = Theirs(), Ours()
    ours.load_state_dict(from_torch(theirs.state_dict()))
    idx = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
    expected = theirs(torch.tensor(idx)).detach().numpy()
    np.testing.assert_allclose(ours(idx).data, expected, atol=1e-5)
    fresh = Theirs()
    fresh.load_state_dict(to_torch(ours))
    np.testing.assert_allclose(fresh(torch.tensor(idx)).detach().numpy(), expected, atol=1e-6)
