"""ONNX export: every supported layer and model, checked by onnx.checker and run in onnxruntime."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn
from bprop.export import to_onnx

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def run_both(model, x, tmp_path, **kwargs):
    model.eval()
    path = to_onnx(model, x, tmp_path / "m.onnx", **kwargs)
    session = ort.InferenceSession(str(path))
    return session, model(bp.tensor(x)).data


def images(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


DENSE = [
    nn.ReLU(),
    nn.LeakyReLU(0.2),
    nn.Sigmoid(),
    nn.Tanh(),
    nn.GELU(),
    nn.GELU("tanh"),
    nn.Softmax(1),
    nn.LogSoftmax(1),
    nn.Dropout(0.3),
    nn.Identity(),
    nn.BatchNorm1d(6),
]


@pytest.mark.parametrize("layer", DENSE, ids=lambda m: repr(m))
@pytest.mark.parametrize("opset", [17, 20])
def test_dense_layers(layer, opset, tmp_path):
    bp.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 6), layer, nn.Sequential(nn.Linear(6, 3)))
    model(bp.randn(8, 5))  # batch-norm running statistics move away from 0/1
    session, expected = run_both(model, images(4, 5), tmp_path, opset=opset)
    np.testing.assert_allclose(session.run(None, {"input": images(4, 5)})[0], expected, atol=1e-5)


def test_conv_layers_and_dynamic_batch(tmp_path):
    bp.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(2, 4, (3, 2), stride=(1, 2), padding=1, dilation=(2, 1)),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 4, 3, padding=1, groups=2),
        nn.AvgPool2d(3, 1, 1),
        nn.Flatten(),
        nn.Linear(4 * 4 * 2, 3),
    )
    model(bp.tensor(images(6, 2, 10, 9)))
    session, expected = run_both(model, images(3, 2, 10, 9), tmp_path)
    np.testing.assert_allclose(session.run(None, {"input": images(3, 2, 10, 9)})[0], expected, atol=1e-5)
    other = images(7, 2, 10, 9, seed=1)
    np.testing.assert_allclose(session.run(None, {"input": other})[0], model(bp.tensor(other)).data, atol=1e-5)


@pytest.mark.parametrize(
    "make,shape",
    [
        (lambda: nn.models.FullyConnectedNet(64, [32, 16], 10, normalization="batchnorm", dropout=0.2), (2, 1, 8, 8)),
        (lambda: nn.models.FullyConnectedNet(64, [32, 16], 10, normalization="layernorm"), (2, 1, 8, 8)),
        (lambda: nn.models.ThreeLayerConvNet((1, 12, 12), num_filters=4, filter_size=3, hidden_dim=8), (2, 1, 12, 12)),
        (lambda: nn.models.LeNet5(), (2, 1, 28, 28)),
    ],
)
def test_models(make, shape, tmp_path):
    bp.manual_seed(0)
    model = make()
    x = images(*shape)
    session, expected = run_both(model, x, tmp_path)
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, atol=1e-5)


def test_float64_models_export_as_float32(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2)).to(np.float64)
    session, _ = run_both(model, images(2, 3).astype(np.float64), tmp_path)
    expected = model(bp.tensor(images(2, 3).astype(np.float64))).data  # a float32 input would be refused, as torch
    np.testing.assert_allclose(session.run(None, {"input": images(2, 3)})[0], expected, atol=1e-5)


def test_unsupported_layers_are_named(tmp_path):
    class Custom(nn.Module):
        def forward(self, x):
            return x * 2

    with pytest.raises(ValueError, match="cannot export Custom"):
        to_onnx(nn.Sequential(nn.Linear(2, 2), Custom()), images(1, 2), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="without running statistics"):
        to_onnx(nn.Sequential(nn.BatchNorm1d(2, track_running_stats=False)), images(2, 2), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_cli_export(tmp_path, capsys):
    from bprop.cli import main

    assert main(["train", "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 0
    assert main(["export", str(tmp_path / "last.npz"), "--onnx", str(tmp_path / "m.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    assert session.run(None, {"input": images(3, 1, 8, 8)})[0].shape == (3, 10)


def randomise_affine(model, seed=0):
    rng = np.random.default_rng(seed)
    for p in model.parameters():
        p.data[...] = rng.standard_normal(p.shape).astype(np.float32)


@pytest.mark.parametrize("opset", [17, 20, 21])
@pytest.mark.parametrize(
    "layer,shape",
    [
        (lambda: nn.GroupNorm(2, 4), (3, 4, 5, 6)),
        (lambda: nn.GroupNorm(4, 4, affine=False), (3, 4, 5, 6)),
        (lambda: nn.GroupNorm(1, 4, eps=1e-3), (3, 4, 7)),
        (lambda: nn.LayerNorm((5, 6)), (3, 4, 5, 6)),
        (lambda: nn.LayerNorm(7, elementwise_affine=False), (3, 4, 7)),
    ],
)
def test_layer_and_group_norm(layer, shape, opset, tmp_path):
    model = nn.Sequential(layer())
    randomise_affine(model)
    x = images(*shape)
    session, expected = run_both(model, x, tmp_path, opset=opset)
    np.testing.assert_allclose(session.run(None, {"input": x})[0], expected, atol=1e-5)
    other = images(5, *shape[1:], seed=1)  # a different batch size through the dynamic batch dim
    np.testing.assert_allclose(session.run(None, {"input": other})[0], model(bp.tensor(other)).data, atol=1e-5)


@pytest.mark.parametrize("opset", [16, 99, 17.0, True])
def test_to_onnx_refuses_an_opset_outside_what_the_cli_takes(opset, tmp_path):
    """A Python caller meets the same range as `bprop export --opset`, before anything is written."""
    from bprop.export import OPSETS

    with pytest.raises(ValueError, match=rf"to_onnx: opset must be an integer in \[{OPSETS[0]}, {OPSETS[1]}\]"):
        to_onnx(nn.Sequential(nn.Linear(2, 2)), images(1, 2), tmp_path / "m.onnx", opset=opset)
    assert not (tmp_path / "m.onnx").exists()
