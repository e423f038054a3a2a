"""fit / evaluate / predict, the stopping rules, callbacks and exact resumption."""

import json

import numpy as np
import pytest

import bprop as bp
from bprop import nn, optim
from bprop.data import DataLoader, TensorDataset
from bprop.train import CSVLogger, EarlyStopping, JSONLogger, ModelCheckpoint, evaluate, fit, predict


def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = (rng.standard_normal((n, 4)) + 3 * np.eye(3, 4)[y]).astype(np.float32)
    return x, y


def make(seed=0, dropout=0.2):
    bp.manual_seed(seed)
    model = nn.models.FullyConnectedNet(4, [16], 3, normalization="batchnorm", dropout=dropout, weight_scale=0.3)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, opt


def test_fit_learns_and_records_history():
    model, opt = make()
    history = fit(model, blobs(), val=blobs(seed=1), optimizer=opt, epochs=5, batch_size=16, quiet=True)
    assert len(history.epochs) == 5 and len(history.steps) == 5 * 8
    assert history["loss"][-1] < history["loss"][0]
    assert history.last["val_accuracy"] > 0.9
    assert history.stop_reason == "finished 5 epochs"


def test_target_loss_and_time_limit_stop_early():
    model, opt = make()
    history = fit(model, blobs(), optimizer=opt, epochs=50, batch_size=16, target_loss=0.5, quiet=True)
    assert len(history.epochs) < 50 and "reached the target" in history.stop_reason
    model, opt = make()
    history = fit(model, blobs(), optimizer=opt, epochs=50, batch_size=16, time_limit=0.0, quiet=True)
    assert len(history.epochs) == 1 and "time limit" in history.stop_reason


def test_early_stopping_on_validation_metric():
    model, opt = make()
    stopper = EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0)
    history = fit(model, blobs(), val=blobs(seed=1), optimizer=opt, epochs=20, batch_size=16,
                  callbacks=[stopper], quiet=True)
    assert len(history.epochs) == 2 and "early stopping" in history.stop_reason


def test_loggers_and_checkpoints_are_written(tmp_path):
    model, opt = make()
    fit(model, blobs(), val=blobs(seed=1), optimizer=opt, epochs=3, batch_size=16, quiet=True,
        callbacks=[ModelCheckpoint(tmp_path), CSVLogger(tmp_path / "h.csv"), JSONLogger(tmp_path / "h.json")])
    assert (tmp_path / "last.npz").exists() and (tmp_path / "best.npz").exists()
    assert (tmp_path / "h.csv").read_text().splitlines()[0].startswith("epoch,loss,accuracy")
    assert len(json.loads((tmp_path / "h.json").read_text())["epochs"]) == 3
    assert np.load(tmp_path / "last.npz", allow_pickle=False) is not None


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    x, y = blobs()

    def run(epochs, resume=None, out=None):
        model, opt = make(seed=3)
        sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True)
        fit(model, loader, optimizer=opt, scheduler=sched, epochs=epochs, resume=resume, quiet=True,
            callbacks=[ModelCheckpoint(out)] if out else [])
        return model

    straight = run(4)
    run(2, out=tmp_path)  # "killed" after epoch 2
    bp.manual_seed(123)  # the resumed process starts from unrelated random state
    resumed = run(4, resume=tmp_path / "last.npz")
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_evaluate_and_predict():
    model, opt = make(dropout=0.0)
    fit(model, blobs(), optimizer=opt, epochs=5, batch_size=16, quiet=True)
    results = evaluate(model, blobs(seed=2))
    assert results["accuracy"] > 0.9 and results["confusion_matrix"].sum() == 120
    assert results["precision"].shape == (3,) and 0.0 <= results["f1"].min() <= 1.0
    scores = predict(model, blobs(seed=2))
    assert scores.shape == (120, 3)
    assert model.training  # predict restores the mode


def test_bad_training_data_is_explained():
    model, opt = make()
    with pytest.raises(TypeError, match="DataLoader, a Dataset or"):
        fit(model, "not data", optimizer=opt, epochs=1, quiet=True)
