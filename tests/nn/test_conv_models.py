"""ThreeLayerConvNet and LeNet5 train end to end."""

import numpy as np
import pytest

import bprop as bp
import bprop.nn.functional as F
from bprop import nn, optim


def images(n=50, shape=(3, 16, 16), classes=10, seed=0):
    rng = np.random.default_rng(seed)
    return bp.tensor(rng.standard_normal((n, *shape)).astype(np.float32)), bp.tensor(rng.integers(0, classes, n))


def test_three_layer_convnet_overfits_fifty_images():
    x, y = images(shape=(3, 10, 10))
    bp.manual_seed(0)
    model = nn.models.ThreeLayerConvNet(input_dim=(3, 10, 10), num_filters=8, filter_size=3, hidden_dim=64,
                                        weight_scale=1e-2)
    opt = optim.Adam(model.parameters(), lr=5e-3)
    for _ in range(40):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y) + model.regularization()
        loss.backward()
        opt.step()
    assert (model(x).argmax(1).numpy() == y.numpy()).mean() == 1.0


def test_three_layer_convnet_regularization_and_errors():
    model = nn.models.ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=2, filter_size=3, hidden_dim=4, reg=0.5)
    weights = [p.data for name, p in model.named_parameters() if name.endswith("weight")]
    assert model.regularization().item() == pytest.approx(0.25 * sum((w ** 2).sum() for w in weights), rel=1e-5)
    with pytest.raises(ValueError, match="odd"):
        nn.models.ThreeLayerConvNet(filter_size=4)


def test_lenet5_trains_and_matches_torch_layout():
    x, y = images(n=16, shape=(1, 28, 28))
    bp.manual_seed(0)
    model = nn.models.LeNet5()
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(8):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert sum(p.numel() for p in model.parameters()) == 61706  # the classic count for 28×28 + padding 2
    with pytest.raises(ValueError, match="28, 28"):
        model(bp.zeros(1, 1, 32, 32))
