"""FullyConnectedNet and the cs231n sanity checks on a generated spiral data set."""

import math

import numpy as np
import pytest

import bprop as bp
import bprop.nn.functional as F
from bprop import nn, optim
from bprop.export import to_torch


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


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
def test_initial_loss_is_log_of_class_count(normalization):
    x, y = spiral()
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(
        2, [50, 50], 3, normalization=normalization, weight_scale=1e-3, dtype=np.float64
    )
    assert F.cross_entropy(model(x), y).item() == pytest.approx(math.log(3), abs=1e-3)


def test_gaussian_init_zero_biases_unit_gamma():
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(200, [300], 100, normalization="batchnorm", weight_scale=0.05)
    first, bn, last = model[0], model[1], model[3]
    assert (
        np.asarray(first.weight).std() == pytest.approx(0.05, rel=0.02) and abs(np.asarray(first.weight).mean()) < 1e-3
    )
    assert np.asarray(last.weight).std() == pytest.approx(0.05, rel=0.02)
    assert not np.asarray(first.bias).any() and not np.asarray(last.bias).any() and not np.asarray(bn.bias).any()
    assert (np.asarray(bn.weight) == 1).all() and first.weight.dtype == np.float32


def test_overfits_fifty_samples():
    x, y = spiral()
    idx = np.random.default_rng(1).choice(300, 50, replace=False)
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(2, [100, 100], 3, weight_scale=0.5, dtype=np.float64)
    assert train(model, x[idx], y[idx], steps=400) == 1.0


def test_batchnorm_dropout_net_reaches_97_percent():
    x, y = spiral()
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(
        2, [32, 32], 3, normalization="batchnorm", dropout=0.1, weight_scale=0.1, dtype=np.float64
    )
    assert train(model, x, y, steps=150, lr=2e-2) >= 0.97


def test_reg_adds_exactly_half_reg_sum_of_squares():
    x, y = spiral()
    bp.manual_seed(0)
    plain = nn.models.FullyConnectedNet(2, [20, 10], 3, normalization="batchnorm", dtype=np.float64)
    regular = nn.models.FullyConnectedNet(2, [20, 10], 3, normalization="batchnorm", reg=0.7, dtype=np.float64)
    regular.load_state_dict(plain.state_dict())
    data_loss = F.cross_entropy(plain(x), y).item()
    total = (F.cross_entropy(regular(x), y) + regular.regularization()).item()
    weights = [np.asarray(p) for name, p in regular.named_parameters() if name.endswith("weight") and p.ndim == 2]
    assert len(weights) == 3  # the three affine layers; γ (1-D) is not regularised
    assert total - data_loss == pytest.approx(0.5 * 0.7 * sum((w**2).sum() for w in weights), rel=1e-12)


def test_regularization_gradient_is_reg_times_w():
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(3, [4], 2, reg=0.3, dtype=np.float64)
    model.regularization().backward()
    first = model[0]
    np.testing.assert_allclose(first.weight.grad, 0.3 * np.asarray(first.weight))
    assert first.bias.grad is None


def test_layout_and_state_dict_match_torch_sequential():
    torch = pytest.importorskip("torch")
    model = nn.models.FullyConnectedNet(4, [5, 6], 3, normalization="batchnorm", dropout=0.2)
    ref = torch.nn.Sequential(
        torch.nn.Linear(4, 5),
        torch.nn.BatchNorm1d(5),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(5, 6),
        torch.nn.BatchNorm1d(6),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.2),
        torch.nn.Linear(6, 3),
    )
    assert list(model.state_dict()) == list(ref.state_dict())
    shapes = {k: tuple(v.shape) for k, v in ref.state_dict().items()}
    assert {k: v.shape for k, v in model.state_dict().items()} == shapes


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="normalization must be None, 'batchnorm' or 'layernorm', got 'groupnorm'"):
        nn.models.FullyConnectedNet(2, [3], 2, normalization="groupnorm")
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.0"):
        nn.models.FullyConnectedNet(2, [3], 2, dropout=1.0)


def test_without_hidden_layers_it_is_one_affine_layer():
    model = nn.models.FullyConnectedNet(4, [], 3, normalization="batchnorm", dropout=0.5)
    assert len(model) == 1 and list(model.state_dict()) == ["0.weight", "0.bias"]


def test_gradcheck_of_the_whole_regularised_loss():
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(
        3, [4, 5], 2, normalization="batchnorm", dropout=0.3, weight_scale=0.5, reg=0.1, dtype=np.float64
    )
    x = bp.tensor(np.random.default_rng(0).standard_normal((6, 3)))
    y = bp.tensor(np.array([0, 1, 1, 0, 1, 0]))

    def loss(*params):
        bp.manual_seed(1)  # the same dropout masks on every evaluation
        return F.cross_entropy(model(x), y) + model.regularization()

    assert bp.gradcheck(loss, list(model.parameters()))


def test_forward_backward_and_running_stats_match_torch():
    torch = pytest.importorskip("torch")
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(5, [7, 6], 3, normalization="batchnorm", weight_scale=0.3, dtype=np.float64)
    ref = torch.nn.Sequential(
        torch.nn.Linear(5, 7),
        torch.nn.BatchNorm1d(7),
        torch.nn.ReLU(),
        torch.nn.Linear(7, 6),
        torch.nn.BatchNorm1d(6),
        torch.nn.ReLU(),
        torch.nn.Linear(6, 3),
    ).double()
    ref.load_state_dict(to_torch(model))
    x = np.random.default_rng(0).standard_normal((8, 5))
    y = np.array([0, 1, 2, 2, 1, 0, 0, 1])
    loss = F.cross_entropy(model(bp.tensor(x)), bp.tensor(y))
    expected = torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(y))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    loss.backward()
    expected.backward()
    grads = {k: p.grad for k, p in model.named_parameters()}
    for key, p in ref.named_parameters():
        np.testing.assert_allclose(grads[key], p.grad.numpy(), rtol=1e-7, atol=1e-12, err_msg=key)
    for key, value in ref.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[key], value.numpy(), rtol=1e-12, err_msg=key)


def test_eval_mode_is_deterministic_and_images_are_flattened():
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(12, [8], 4, normalization="batchnorm", dropout=0.5)
    x = bp.randn(5, 3, 2, 2)
    model(x)
    model.eval()
    first = np.asarray(model(x))
    np.testing.assert_array_equal(np.asarray(model(x)), first)
    np.testing.assert_array_equal(np.asarray(model(x.reshape(5, 12))), first)
    with pytest.raises(ValueError, match=r"Linear\(12→8\): expected input with 12 features"):
        model(bp.randn(5, 10))


def test_layernorm_net_matches_torch_and_overfits_fifty_samples():
    torch = pytest.importorskip("torch")
    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(5, [7, 6], 3, normalization="layernorm", weight_scale=0.3, dtype=np.float64)
    assert [type(m).__name__ for m in model] == ["Linear", "LayerNorm", "ReLU", "Linear", "LayerNorm", "ReLU", "Linear"]
    ref = torch.nn.Sequential(
        torch.nn.Linear(5, 7),
        torch.nn.LayerNorm(7),
        torch.nn.ReLU(),
        torch.nn.Linear(7, 6),
        torch.nn.LayerNorm(6),
        torch.nn.ReLU(),
        torch.nn.Linear(6, 3),
    ).double()
    ref.load_state_dict(to_torch(model))
    x = np.random.default_rng(0).standard_normal((8, 5))
    y = np.array([0, 1, 2, 2, 1, 0, 0, 1])
    loss = F.cross_entropy(model(bp.tensor(x)), bp.tensor(y))
    expected = torch.nn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(y))
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    loss.backward()
    expected.backward()
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)
    spiral_x, spiral_y = spiral()
    idx = np.random.default_rng(1).choice(300, 50, replace=False)
    bp.manual_seed(0)
    small = nn.models.FullyConnectedNet(2, [100, 100], 3, normalization="layernorm", weight_scale=0.5, dtype=np.float64)
    assert train(small, spiral_x[idx], spiral_y[idx], steps=400) == 1.0
