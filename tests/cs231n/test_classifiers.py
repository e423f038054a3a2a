"""The notebooks' model checks: initialisation, gradient checks of every parameter with and
without regularisation, batch/layer norm and dropout variants, ThreeLayerConvNet."""

import numpy as np
import pytest

from bprop.cs231n.classifiers.cnn import ThreeLayerConvNet
from bprop.cs231n.classifiers.fc_net import FullyConnectedNet, TwoLayerNet
from bprop.cs231n.gradient_check import eval_numerical_gradient, rel_error

seed = np.random.seed
randn = np.random.randn
randint = np.random.randint


def gradient_errors(model, X, y, h=1e-5):
    _, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    return {
        name: rel_error(
            eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name], False, h), grads[name]
        )
        for name in sorted(grads)
    }


def test_two_layer_net_init_and_gradients():
    seed(231)
    X, y = randn(3, 5), randint(7, size=3)
    model = TwoLayerNet(input_dim=5, hidden_dim=50, num_classes=7, weight_scale=1e-2)
    assert abs(model.params["W1"].std() - 1e-2) < 1e-3 and abs(model.params["W2"].std() - 1e-2) < 1e-3
    assert not model.params["b1"].any() and not model.params["b2"].any()
    assert model.params["W1"].shape == (5, 50)
    for reg in [0.0, 0.7]:
        model.reg = reg
        assert max(gradient_errors(model, X, y).values()) < 1e-5


@pytest.mark.parametrize(
    "options,reg",
    [
        ({}, 0.0),
        ({}, 3.14),
        ({"normalization": "batchnorm"}, 3.14),
        ({"normalization": "layernorm"}, 0.0),
        ({"dropout_keep_ratio": 0.5, "seed": 123}, 0.0),
    ],
    ids=["plain", "plain-reg", "batchnorm-reg", "layernorm", "dropout"],
)
def test_fully_connected_net_gradients(options, reg):
    """The notebooks' check, with smaller hidden layers (two losses per parameter)."""
    seed(231)
    X, y = randn(2, 15), randint(10, size=(2,))
    common = {"input_dim": 15, "num_classes": 10, "weight_scale": 5e-2, "dtype": np.float64}
    model = FullyConnectedNet([8, 6], reg=reg, **common, **options)
    errors = gradient_errors(model, X, y)
    if options.get("normalization") == "batchnorm":  # b1, b2 cancel in batch norm: gradient 0
        errors = {k: v for k, v in errors.items() if k not in ("b1", "b2")}
    assert max(errors.values()) < 2e-4  # the notebooks print up to 1.1e-4 (W1, with batch norm)
    expected = {"W1", "b1", "W2", "b2", "W3", "b3"}
    if "normalization" in options:
        expected |= {"gamma1", "beta1", "gamma2", "beta2"}
    assert set(model.params) == expected


def test_fully_connected_net_scores_dtype_and_errors():
    model = FullyConnectedNet([4], input_dim=6, num_classes=3)
    assert model.params["W1"].dtype == np.float32 and model.params["W1"].shape == (6, 4)
    assert model.loss(randn(2, 6)).shape == (2, 3)
    with pytest.raises(ValueError, match="normalization must be None, 'batchnorm' or 'layernorm', got 'groupnorm'"):
        FullyConnectedNet([4], normalization="groupnorm")
    with pytest.raises(ValueError, match=r"dropout_keep_ratio must be in \(0, 1\], got 0"):
        FullyConnectedNet([4], dropout_keep_ratio=0)


def test_batchnorm_net_uses_running_statistics_at_test_time():
    seed(0)
    model = FullyConnectedNet([8], input_dim=4, num_classes=3, normalization="batchnorm", dtype=np.float64)
    X, y = randn(16, 4) * 3 + 2, randint(3, size=16)
    model.loss(X, y)
    assert model.bn_params[0]["mode"] == "train" and "running_mean" in model.bn_params[0]
    single = model.loss(X[:1])  # one sample: only possible with running statistics
    assert model.bn_params[0]["mode"] == "test" and single.shape == (1, 3)


def test_three_layer_conv_net():
    seed(231)
    model = ThreeLayerConvNet()
    assert model.params["W1"].shape == (32, 3, 7, 7) and model.params["W2"].shape == (32 * 16 * 16, 100)
    X, y = randn(4, 3, 32, 32), randint(10, size=4)
    loss, _ = model.loss(X, y)
    assert loss == pytest.approx(np.log(10), abs=0.01)  # "Initial loss (no regularization): 2.3025…"
    model.reg = 0.5
    assert model.loss(X, y)[0] > loss

    seed(231)
    X, y = randn(2, 3, 8, 8), randint(10, size=2)
    model = ThreeLayerConvNet(num_filters=3, filter_size=3, input_dim=(3, 8, 8), hidden_dim=7, dtype=np.float64)
    errors = gradient_errors(model, X, y, h=1e-6)
    assert max(errors.values()) < 2e-2  # the notebook: "relative errors up to the order of e-2"
    with pytest.raises(ValueError, match="filter_size must be odd"):
        ThreeLayerConvNet(filter_size=4)
