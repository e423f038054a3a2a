"""Solver: the notebooks' "overfit 50 samples" flow on the embedded digits (CIFAR-10 is not
shipped), histories, best parameters, lr decay, checkpoints, bad arguments."""

import numpy as np
import pytest

from bprop import load
from bprop.cs231n.classifiers.cnn import ThreeLayerConvNet
from bprop.cs231n.classifiers.fc_net import FullyConnectedNet
from bprop.cs231n.solver import Solver
from bprop.data.datasets import load_digits

seed = np.random.seed


def digits(num_train=50, num_val=200):
    ds = load_digits()
    x, y = ds.data.astype(np.float64), ds.targets
    x = x - x[:num_train].mean(axis=0)
    return {
        "X_train": x[:num_train],
        "y_train": y[:num_train],
        "X_val": x[1000 : 1000 + num_val],
        "y_val": y[1000 : 1000 + num_val],
    }


@pytest.mark.parametrize("update_rule,lr", [("sgd", 0.3), ("sgd_momentum", 0.1), ("rmsprop", 1e-3), ("adam", 5e-3)])
def test_overfit_fifty_samples(update_rule, lr):
    seed(231)
    data = digits()
    model = FullyConnectedNet([100, 100], input_dim=64, weight_scale=1e-1, dtype=np.float64)
    solver = Solver(
        model,
        data,
        print_every=10,
        num_epochs=20,
        batch_size=25,
        update_rule=update_rule,
        optim_config={"learning_rate": lr},
        verbose=False,
    )
    solver.train()
    assert solver.train_acc_history[-1] == 1.0
    assert len(solver.loss_history) == 40 and len(solver.train_acc_history) == 21
    assert solver.loss_history[-1] < solver.loss_history[0] / 5


def test_overfit_with_batchnorm_dropout_and_a_conv_net():
    seed(231)
    data = digits()
    model = FullyConnectedNet(
        [100, 100], input_dim=64, normalization="batchnorm", dropout_keep_ratio=0.9, dtype=np.float64
    )
    solver = Solver(
        model,
        data,
        num_epochs=20,
        batch_size=25,
        update_rule="adam",
        optim_config={"learning_rate": 5e-3},
        verbose=False,
    )
    solver.train()
    assert solver.train_acc_history[-1] >= 0.96
    images = {k: v.reshape(-1, 1, 8, 8) if k.startswith("X") else v for k, v in data.items()}
    model = ThreeLayerConvNet(input_dim=(1, 8, 8), num_filters=8, filter_size=3, hidden_dim=50, weight_scale=1e-1)
    solver = Solver(
        model,
        images,
        num_epochs=15,
        batch_size=25,
        update_rule="adam",
        optim_config={"learning_rate": 1e-2},
        verbose=False,
    )
    solver.train()
    assert max(solver.train_acc_history) >= 0.95


def test_best_parameters_are_swapped_in_and_lr_decays(capsys):
    seed(0)
    data = digits(100)
    model = FullyConnectedNet([30], input_dim=64, weight_scale=5e-2, dtype=np.float64)
    solver = Solver(
        model,
        data,
        num_epochs=4,
        batch_size=50,
        update_rule="sgd",
        lr_decay=0.5,
        optim_config={"learning_rate": 0.2},
        print_every=3,
    )
    solver.train()
    out = capsys.readouterr().out
    assert "(Iteration 1 / 8) loss: " in out and "(Epoch 4 / 4) train acc: " in out
    best = int(np.argmax(solver.val_acc_history))
    assert solver.best_val_acc == solver.val_acc_history[best]
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc
    assert all(c["learning_rate"] == pytest.approx(0.2 * 0.5**4) for c in solver.optim_configs.values())


def test_checkpoints_are_bprop_files(tmp_path):
    seed(0)
    model = FullyConnectedNet([10], input_dim=64, dtype=np.float64)
    name = str(tmp_path / "fc")
    Solver(model, digits(), num_epochs=1, batch_size=50, checkpoint_name=name, verbose=False).train()
    checkpoint = load(f"{name}_epoch_1.pkl")
    assert checkpoint["epoch"] == 1 and checkpoint["update_rule"] == "sgd"
    assert set(checkpoint["params"]) == {"W1", "b1", "W2", "b2"}


def test_custom_rule_and_bad_arguments():
    calls = []

    def halve(w, dw, config):
        calls.append(w.shape)
        return w - 0.5 * dw, config

    Solver(
        FullyConnectedNet([5], input_dim=64), digits(), update_rule=halve, num_epochs=1, batch_size=50, verbose=False
    ).train()
    assert calls
    with pytest.raises(ValueError, match='invalid update_rule "nesterov"'):
        Solver(FullyConnectedNet([5], input_dim=64), digits(), update_rule="nesterov")
    with pytest.raises(ValueError, match="unrecognized arguments learning_rate"):
        Solver(FullyConnectedNet([5], input_dim=64), digits(), learning_rate=0.1)
