"""fit / evaluate / predict, the stopping rules, callbacks and exact resumption."""

import json

import numpy as np
import pytest

import bprop as bp
from bprop import nn, optim
from bprop.data import DataLoader, TensorDataset
from bprop.data.transforms import RandomHorizontalFlip
from bprop.train import Callback, CSVLogger, EarlyStopping, JSONLogger, ModelCheckpoint, evaluate, fit, predict
from bprop.train import metrics as M


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
    assert list(history.last) == ["epoch", "loss", "accuracy", "lr", "seconds", "val_loss", "val_accuracy"]
    assert history.stop_reason == "finished 5 epochs"


def test_one_epoch_is_counted_in_the_singular():
    model, opt = make()
    assert fit(model, blobs(), optimizer=opt, epochs=1, batch_size=16, quiet=True).stop_reason == "finished 1 epoch"


def test_target_loss_and_time_limit_stop_early():
    model, opt = make()
    history = fit(model, blobs(), optimizer=opt, epochs=50, batch_size=16, target_loss=0.5, quiet=True)
    assert len(history.epochs) < 50 and "reached the target" in history.stop_reason
    model, opt = make()
    history = fit(model, blobs(), optimizer=opt, epochs=50, batch_size=16, time_limit=0.0, quiet=True)
    # the limit is checked after every step; an epoch stopped part-way is not logged as one
    assert len(history.epochs) == 0 and len(history.steps) == 1
    assert history.stop_reason == "time limit reached after step 1 of 8 of epoch 1"


def test_metrics_are_logged_per_step_per_epoch_and_on_validation():
    def worst_class_recall(scores, targets):
        return float(M.precision_recall_f1(M.confusion_matrix(targets, scores, 3))["recall"].min())

    model, opt = make()
    history = fit(
        model,
        blobs(),
        val=blobs(seed=1),
        optimizer=opt,
        epochs=2,
        batch_size=40,
        quiet=True,
        metrics=["accuracy", "top2_accuracy", worst_class_recall],
    )
    assert list(history.steps[0]) == [
        "step",
        "loss",
        "accuracy",
        "top2_accuracy",
        "worst_class_recall",
        "grad_norm",
        "seconds",
    ]
    epoch = history.last
    assert {"val_loss", "val_accuracy", "val_top2_accuracy", "val_worst_class_recall"} <= set(epoch)
    assert epoch["accuracy"] == pytest.approx(np.mean([s["accuracy"] for s in history.steps[3:]]))
    assert epoch["top2_accuracy"] >= epoch["accuracy"] and epoch["val_top2_accuracy"] >= epoch["val_accuracy"]
    with pytest.raises(ValueError, match="unknown metric 'precision'"):
        fit(model, blobs(), optimizer=opt, epochs=1, quiet=True, metrics=["precision"])


def test_regression_has_no_accuracy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    bp.manual_seed(0)
    model = nn.Linear(3, 1)
    history = fit(
        model,
        (x, y),
        val=(x, y),
        loss=nn.MSELoss(),
        optimizer=optim.SGD(model.parameters(), lr=0.1),
        epochs=20,
        batch_size=16,
        quiet=True,
    )
    assert "accuracy" not in history.last and history.last["val_loss"] < 1e-3
    assert set(evaluate(model, (x, y), loss=nn.MSELoss())) == {"loss"}


def test_early_stopping_on_validation_metric():
    model, opt = make()
    stopper = EarlyStopping(monitor="val_loss", patience=1, min_delta=10.0)
    history = fit(
        model, blobs(), val=blobs(seed=1), optimizer=opt, epochs=20, batch_size=16, callbacks=[stopper], quiet=True
    )
    assert len(history.epochs) == 2 and history.stop_reason == "early stopping: val_loss did not improve for 1 epoch"


def test_loggers_and_checkpoints_are_written(tmp_path):
    model, opt = make()
    fit(
        model,
        blobs(),
        val=blobs(seed=1),
        optimizer=opt,
        epochs=3,
        batch_size=16,
        quiet=True,
        callbacks=[ModelCheckpoint(tmp_path), CSVLogger(tmp_path / "h.csv"), JSONLogger(tmp_path / "h.json")],
    )
    assert (tmp_path / "last.npz").exists() and (tmp_path / "best.npz").exists()
    assert (tmp_path / "h.csv").read_text().splitlines()[0].startswith("epoch,loss,accuracy")
    assert len(json.loads((tmp_path / "h.json").read_text())["epochs"]) == 3
    assert np.load(tmp_path / "last.npz", allow_pickle=False) is not None


def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path):
    x, y = blobs()

    def run(epochs, resume=None, out=None):
        model, opt = make(seed=3)
        sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        # shuffling (the loader's generator), dropout and the augmentation (the global one)
        loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, transform=RandomHorizontalFlip(0.3))
        fit(
            model,
            loader,
            optimizer=opt,
            scheduler=sched,
            epochs=epochs,
            resume=resume,
            quiet=True,
            callbacks=[ModelCheckpoint(out)] if out else [],
        )
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
    x, y = blobs(seed=2)
    results = evaluate(model, (x, y))
    assert results["accuracy"] > 0.9 and results["confusion_matrix"].sum() == 120
    np.testing.assert_array_equal(results["confusion_matrix"].sum(axis=1), results["support"])
    assert results["precision"].shape == (3,) and 0.0 <= results["f1"].min() <= 1.0
    scores = predict(model, (x, y))
    assert scores.shape == (120, 3) and model.training  # predict restores the mode
    np.testing.assert_array_equal(predict(model, x), scores)
    assert results["accuracy"] == M.accuracy(scores, y)
    # a shuffled loader: outputs and targets are taken from the same batches
    shuffled = DataLoader(TensorDataset(x, y), batch_size=7, shuffle=True)
    assert evaluate(model, shuffled)["accuracy"] == results["accuracy"]
    with pytest.raises(ValueError, match="needs targets"):
        evaluate(model, TensorDataset(x))


def test_batch_callbacks_see_every_step():
    class Steps(Callback):
        def __init__(self):
            self.seen = []

        def on_batch_end(self, trainer):
            assert all(p.grad is not None for p in trainer.model.parameters())
            self.seen.append(trainer.step)

    model, opt = make()
    steps = Steps()
    fit(model, blobs(), optimizer=opt, epochs=2, batch_size=16, callbacks=[steps], quiet=True)
    assert steps.seen == list(range(1, 17))


def test_callback_state_is_resumed(tmp_path):
    x, y = blobs()
    val = blobs(seed=1)

    def run(epochs, resume=None):
        model, opt = make(seed=3)
        stopper = EarlyStopping(monitor="val_accuracy", patience=3, min_delta=0.5)
        checkpoint = ModelCheckpoint(tmp_path, monitor="val_loss")
        history = fit(
            model,
            (x, y),
            val=val,
            optimizer=opt,
            epochs=epochs,
            batch_size=16,
            quiet=True,
            resume=resume,
            callbacks=[stopper, checkpoint],
        )
        return history, stopper, checkpoint

    straight, *_ = run(10)
    assert len(straight.epochs) == 4 and "early stopping" in straight.stop_reason  # 1 best + 3 without progress
    run(2)
    resumed, stopper, checkpoint = run(10, resume=tmp_path / "last.npz")
    assert stopper.wait == 3 and len(resumed.epochs) == 4  # the patience count carried over
    assert resumed["val_loss"] == straight["val_loss"]
    # best.npz is the best epoch of the whole run, not of the part after resuming
    assert checkpoint.best == min(resumed["val_loss"])
    best_epoch = int(np.argmin(resumed["val_loss"])) + 1
    assert bp.load(tmp_path / "best.npz")["epoch"] == best_epoch


def test_bad_training_data_is_explained():
    model, opt = make()
    with pytest.raises(TypeError, match="DataLoader, a Dataset or"):
        fit(model, "not data", optimizer=opt, epochs=1, quiet=True)


class CtrlCAtStep(Callback):
    """Does what the Ctrl-C handler does, at a chosen step."""

    def __init__(self, step):
        self.step = step

    def on_backward_end(self, trainer):
        if trainer.step + 1 == self.step:  # during that step, as a signal would come
            trainer.request_stop("signal", "interrupted (Ctrl-C)")


def test_a_run_interrupted_mid_epoch_resumes_bit_identically(tmp_path):
    x, y = blobs()

    def run(epochs, resume=None, out=None, stop_at=None):
        model, opt = make(seed=3)
        sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, transform=RandomHorizontalFlip(0.3))
        callbacks = [ModelCheckpoint(out)] if out else []
        callbacks += [CtrlCAtStep(stop_at)] if stop_at else []
        history = fit(
            model, loader, optimizer=opt, scheduler=sched, epochs=epochs, resume=resume, quiet=True, callbacks=callbacks
        )
        return model, history

    straight, straight_history = run(3)
    with pytest.raises(KeyboardInterrupt, match="after step 3 of 8 of epoch 2"):
        run(3, out=tmp_path, stop_at=11)  # 8 steps per epoch: step 11 is the third of epoch 2
    saved = bp.load(tmp_path / "last.npz")
    assert saved["epoch"] == 1 and saved["step"] == 11 and saved["loader"]["position"] == 3
    assert all(np.isfinite(v).all() for v in saved["model"].values())
    bp.manual_seed(123)  # the resumed process starts from unrelated random state
    resumed, history = run(3, resume=tmp_path / "last.npz")
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert history["loss"] == straight_history["loss"]  # the resumed epoch adds to its saved sums


def test_grad_tol_stops_when_the_gradient_norm_is_small():
    model, opt = make(dropout=0.0)
    history = fit(model, blobs(), optimizer=opt, epochs=50, batch_size=120, grad_tol=0.05, quiet=True)
    norms = [s["grad_norm"] for s in history.steps]
    assert norms[-1] < 0.05 and min(norms[:-1]) >= 0.05 and len(history.epochs) < 50
    assert history.stop_reason.startswith(f"gradient norm {norms[-1]:.3g} fell below grad_tol 0.05")
    manual = np.sqrt(sum(float((p.grad.astype(np.float64) ** 2).sum()) for p in model.parameters()))
    assert norms[-1] == pytest.approx(manual, rel=1e-5)  # the global norm √(Σ‖g‖²)


def test_a_diverging_run_stops_before_writing_non_finite_weights(tmp_path):
    from bprop.train.fit import DivergenceError

    bp.manual_seed(0)
    model = nn.models.FullyConnectedNet(4, [16], 3, weight_scale=0.3)
    opt = optim.SGD(model.parameters(), lr=1e4)
    x, y = blobs()
    with np.errstate(all="ignore"), pytest.raises(DivergenceError, match=r"at epoch \d+, step \d+: .*learning rate"):
        fit(model, (x, y), optimizer=opt, epochs=50, batch_size=16, quiet=True, callbacks=[ModelCheckpoint(tmp_path)])
    assert all(np.isfinite(p.data).all() for p in model.parameters())
    for name in ("last.npz", "best.npz"):
        if (tmp_path / name).exists():
            assert all(np.isfinite(v).all() for v in bp.load(tmp_path / name)["model"].values())
