"""DeltaRecorder: δ of each layer through module hooks, and plain verdicts about it."""

import numpy as np

import bprop as bp
from bprop import nn, optim
from bprop.train import fit
from bprop.viz.delta_recorder import DeltaRecorder


def _data(features: int = 8, n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, features)).astype(np.float32), rng.integers(0, 3, n)


def _train(model: nn.Module, lr: float = 1e-3, epochs: int = 2) -> DeltaRecorder:
    recorder = DeltaRecorder()
    fit(model, _data(), epochs=epochs, batch_size=16, optimizer=optim.SGD(model.parameters(), lr=lr),
        callbacks=[recorder], quiet=True)  # fmt: skip
    return recorder


def _deep(width: int, depth: int, activation: type, scale: float) -> nn.Sequential:
    bp.manual_seed(0)
    layers: list[nn.Module] = []
    for i in range(depth):
        linear = nn.Linear(8 if i == 0 else width, width)
        nn.init.normal_(linear.weight, 0.0, scale / np.sqrt(width))
        layers += [linear, activation()]
    return nn.Sequential(*layers, nn.Linear(width, 3))


def test_vanishing_gradients_in_a_deep_sigmoid_net():
    recorder = _train(_deep(16, 8, nn.Sigmoid, 1.0))
    assert len(recorder.layers) == 9 and len(recorder.norms[recorder.layers[0]]) == 8  # 4 steps × 2 epochs
    assert any(v.startswith("vanishing gradients") for v in recorder.verdicts()), recorder.verdicts()


def test_exploding_gradients_in_a_deep_net_with_large_weights():
    recorder = _train(_deep(16, 8, nn.Identity, 3.0), lr=1e-9)
    assert any(v.startswith("exploding gradients") for v in recorder.verdicts()), recorder.verdicts()


def test_dead_relus_and_a_healthy_net():
    model = _deep(16, 2, nn.ReLU, 1.0)
    nn.init.constant_(model[2].bias, -100.0)  # the second ReLU layer can never fire
    verdicts = _train(model).verdicts()
    assert any("dead ReLUs: 16 of 16 units of 3 (ReLU)" in v for v in verdicts), verdicts
    healthy = _train(_deep(16, 2, nn.ReLU, 1.0)).verdicts()
    assert any(v.startswith("gradients flow") for v in healthy) and any(v.startswith("no dead ReLUs") for v in healthy)


def test_hooks_go_and_the_record_round_trips(tmp_path):
    model = _deep(16, 2, nn.ReLU, 1.0)
    recorder = _train(model)  # fit's end takes the hooks off the model
    recorder.save(tmp_path / "delta.npz")
    again = DeltaRecorder.load(tmp_path / "delta.npz")
    assert again.verdicts() == recorder.verdicts() and again.layers == recorder.layers
    steps = len(recorder.norms[recorder.layers[0]])
    model(bp.tensor(_data()[0])).sum().backward()  # no hook left: nothing more recorded
    assert len(recorder.norms[recorder.layers[0]]) == steps


def test_the_verdicts_in_chinese():
    from bprop.viz import DeltaRecorder

    recorder = DeltaRecorder()
    recorder.layers = ["0 (Linear)", "2 (Linear)"]
    recorder.norms = {"0 (Linear)": [1e-6], "2 (Linear)": [1.0]}
    recorder.dead = {"1 (ReLU)": (3, 5, 8)}
    english, chinese = recorder.verdicts(), recorder.verdicts("zh")
    assert english[0].startswith("vanishing gradients") and chinese[0].startswith("梯度消失：")
    assert "死亡的 ReLU：1 (ReLU) 的 8 个单元中有 5 个在第 3 轮从未被激活" in chinese[1] and "超过一半" in chinese[1]
