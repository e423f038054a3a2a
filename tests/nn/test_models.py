"""FullyConnectedNet and the cs231n sanity checks on a generated spiral data set."""

import math

import numpy as np
import pytest

import bprop as bp
import bprop.nn.functional as F
from bprop import nn, optim


def spiral(points_per_class=100, classes=3, seed=0):
    """cs231n's spiral: 3 classes of 100 points winding around the origin (300 points)."""
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.0, 1, points_per_class), classes)
    label = np.repeat(np.arange(classes), points_per_class)
    theta = np.linspace(0, 4, points_per_class)[None, :] + 4 * np.arange(classes)[:, None]
    theta = theta.reshape(-1) + rng.standard_normal(points_per_class * classes) * 0.2
    x = np.c_[radius * np.sin(theta), radius * np.cos(theta)]
    return bp.tensor(x), bp.tensor(label)


def train(model, x, y, steps, lr=1e-2):
    opt = optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y) + model.regularization()
        loss.backward()
        opt.step()
    model.eval()
    return (model(x).argmax(1).numpy() == y.numpy()).mean()


def test_initial_loss_is_log_of_class_count():
    x, y = spiral()
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(2, [50, 50], 3, weight_scale=1e-3, dtype=np.float64)
    assert F.cross_entropy(model(x), y).item() == pytest.approx(math.log(3), abs=1e-3)


def test_overfits_fifty_samples():
    x, y = spiral()
    idx = np.random.default_rng(1).choice(300, 50, replace=False)
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(2, [100, 100], 3, weight_scale=0.5, dtype=np.float64)
    assert train(model, x[idx], y[idx], steps=400) == 1.0


def test_batchnorm_dropout_net_reaches_97_percent():
    x, y = spiral()
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(2, [100, 100], 3, normalization="batchnorm", dropout=0.1,
                                        weight_scale=0.1, dtype=np.float64)
    assert train(model, x, y, steps=300) >= 0.97


def test_reg_adds_exactly_half_reg_sum_of_squares():
    x, y = spiral()
    bp.manual_seed(0)
    plain = nn.models.FullyConnectedNet(2, [20, 10], 3, normalization="batchnorm", dtype=np.float64)
    regular = nn.models.FullyConnectedNet(2, [20, 10], 3, normalization="batchnorm", reg=0.7, dtype=np.float64)
    regular.load_state_dict(plain.state_dict())
    data_loss = F.cross_entropy(plain(x), y).item()
    total = (F.cross_entropy(regular(x), y) + regular.regularization()).item()
    weights = [p.data for name, p in regular.named_parameters() if name.endswith("weight") and p.ndim == 2]
    assert len(weights) == 3  # the three affine layers; γ (1-D) is not regularised
    assert total - data_loss == pytest.approx(0.5 * 0.7 * sum((w ** 2).sum() for w in weights), rel=1e-12)


def test_regularization_gradient_is_reg_times_w():
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(3, [4], 2, reg=0.3, dtype=np.float64)
    model.regularization().backward()
    first = model.layers[0]
    np.testing.assert_allclose(first.weight.grad, 0.3 * first.weight.data)
    assert first.bias.grad is None


def test_layout_and_state_dict_match_torch_sequential():
    torch = pytest.importorskip("torch")
    model = nn.models.FullyConnectedNet(4, [5, 6], 3, normalization="batchnorm", dropout=0.2)
    ref = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                              torch.nn.Linear(5, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                              torch.nn.Linear(6, 3))
    ours = {k.removeprefix("layers."): v.shape for k, v in model.state_dict().items()}
    assert ours == {k: tuple(v.shape) for k, v in ref.state_dict().items()}


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="normalization"):
        nn.models.FullyConnectedNet(2, [3], 2, normalization="layernorm")
