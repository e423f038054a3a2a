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
    model = nn.models.ThreeLayerConvNet(
        input_dim=(3, 10, 10), num_filters=8, filter_size=3, hidden_dim=64, weight_scale=1e-2
    )
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
    assert model.regularization().item() == pytest.approx(0.25 * sum((w**2).sum() for w in weights), rel=1e-5)
    with pytest.raises(ValueError, match="odd"):
        nn.models.ThreeLayerConvNet(filter_size=4)


@pytest.mark.parametrize("size", [28, 32])
def test_lenet5_trains_and_has_the_classic_size(size):
    x, y = images(n=16, shape=(1, size, size))
    bp.manual_seed(0)
    model = nn.models.LeNet5(input_size=size)
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(8):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert sum(p.numel() for p in model.parameters()) == 61706  # the classic count: 32×32, or 28×28 + padding 2
    assert model.features[0].padding == ((32 - size) // 2,) * 2
    with pytest.raises(ValueError, match=rf"LeNet5\(input_size={size}\): expected input \(N, C, {size}, {size}\)"):
        model(bp.zeros(1, 1, 30, 30))
    with pytest.raises(ValueError, match=r"28 .* or 32"):
        nn.models.LeNet5(input_size=30)


def test_lenet5_matches_torch():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    torch.manual_seed(0)
    features = tnn.Sequential(
        tnn.Conv2d(1, 6, 5, padding=2),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Conv2d(6, 16, 5),
        tnn.ReLU(),
        tnn.MaxPool2d(2),
        tnn.Flatten(),
    )
    classifier = tnn.Sequential(tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, 10))
    ref = tnn.Sequential()
    ref.features, ref.classifier = features, classifier
    ref = ref.double()
    model = nn.models.LeNet5()
    model.load_state_dict({k: v.numpy() for k, v in ref.state_dict().items()})
    model.to(np.float64)
    x, y = np.random.default_rng(3).standard_normal((4, 1, 28, 28)), np.array([1, 7, 3, 0])
    loss = F.cross_entropy(model(bp.tensor(x)), y)
    expected = tnn.functional.cross_entropy(ref(torch.tensor(x)), torch.tensor(y))
    assert loss.item() == pytest.approx(expected.item(), abs=1e-12)
    loss.backward()
    expected.backward()
    for (name, p), (_, tp) in zip(model.named_parameters(), ref.named_parameters()):
        np.testing.assert_allclose(p.grad, tp.grad.numpy(), atol=1e-10, err_msg=name)


def test_lenet5_classic_is_tanh_and_average_pooling_with_lenet5s_parameters():
    from bprop.nn.builder import ModelOptions, build_model
    from bprop.nn.layers import AvgPool2d, MaxPool2d, ReLU, Tanh

    today, classic = nn.models.LeNet5(), nn.models.LeNet5(classic=True)
    kinds = {type(m) for m in classic.modules()}
    assert {Tanh, AvgPool2d} <= kinds and not {ReLU, MaxPool2d} & kinds
    assert {ReLU, MaxPool2d} <= {type(m) for m in today.modules()}
    classic.load_state_dict(today.state_dict())  # same keys and shapes: checkpoints carry over
    built = build_model("lenet5-classic", (1, 28, 28), 10, ModelOptions())
    assert any(isinstance(m, Tanh) for m in built.modules())
