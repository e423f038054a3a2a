"""The bprop command, in process and as a subprocess."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import bprop as bp
from bprop.cli import SUBCOMMANDS, main
from bprop.train import CSVLogger, RunConfig, Trainer
from tests.data.formats import make_mnist, write_cifar

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def run(*args, check=True):
    out = subprocess.run([sys.executable, "-m", "bprop.cli", *args], capture_output=True, text=True)
    assert not check or out.returncode == 0, out.stderr
    return out


def test_help_lists_the_subcommands_and_their_options():
    text = run("--help").stdout
    assert all(name in text for name in SUBCOMMANDS)
    text = run("train", "--help").stdout
    for flag in (
        "--model",
        "--data",
        "--data-dir",
        "--download",
        "--epochs",
        "--batch-size",
        "--lr",
        "--optimizer",
        "--weight-decay",
        "--dropout",
        "--batchnorm",
        "--hidden",
        "--seed",
        "--out",
        "--resume",
        "--config",
    ):
        assert flag in text
    assert "confusion matrix" in run("eval", "--help").stdout


def test_help_names_text_data_the_schedule_the_two_lenets_and_says_default_one_way():
    """Issue 23's help bullets: text:PATH in train and eval, the cosine schedule and what a
    resumed run does with it, which LeNet-5 is which, help for every option, and "(default: X)"
    as the one spelling of a default."""
    import re

    from bprop.cli import make_parser

    commands = make_parser().commands
    helps = {name: {a.dest: a.help or "" for a in parser._actions} for name, parser in commands.items()}
    assert "text:PATH" in helps["train"]["data"] and "text:PATH" in helps["eval"]["data"]
    assert "cosine" in helps["train"]["epochs"] and "a resumed run keeps that schedule" in helps["train"]["epochs"]
    assert "lenet5: ReLU and max pooling" in helps["train"]["model"]
    assert "lenet5-classic: tanh and average pooling" in helps["train"]["model"]
    for name, actions in helps.items():
        for dest, text in actions.items():
            assert text or dest in ("help", "command"), f"bprop {name}: {dest} has no help"
            other = re.sub(r"\(default: [^)]*\)", "", text)
            assert not re.search(r"\bdefault\b", other), f"bprop {name} {dest}: {text!r}"


def test_bad_flags_give_one_line_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--lr", "fast"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "fast" in err
    for argv, message in [
        (["train", "--optimizer", "magic"], "--optimizer must be one of sgd, adam, adamw, rmsprop, got 'magic'"),
        (["train", "--data", "nowhere"], "unknown data set 'nowhere'"),
        (["train", "--data", "mnist", "--data-dir", str(tmp_path)], "missing"),
        (["train", "--model", "lenet5"], "needs larger images than digits's 8×8"),
        (["train", "--patience", "2"], "give --val-split too"),
        (["train", "--val-split", "1.5"], "--val-split must be a number in [0, 1), got 1.5"),
        (["train", "--resume"], "--resume needs --out DIR"),
        (["eval", "missing.npz"], "missing.npz: no such file"),
        (["train", "--hidden", "64,x"], "--hidden must be positive integers separated by commas"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, (argv, err)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    assert main(["eval", str(tmp_path / "junk.npz")]) == 2
    assert "is not a readable bprop file" in capsys.readouterr().err


def test_the_default_run_reaches_97_percent_on_digits():
    """`bprop train` with no arguments, as a user types it (a few seconds)."""
    out = run("train")
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("training fcnet") and "1438 train / 0 validation / 359 test" in lines[0]
    assert lines[1].startswith("epoch 1/30  loss")
    accuracy = float(lines[-1].split("test accuracy ")[1].split("%")[0])
    assert accuracy >= 97.0 and "finished 30 epochs" in lines[-1]


def test_short_training_run_writes_outputs_and_eval_reads_them(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "3", "--out", str(out), "--quiet"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["test_accuracy"] > 0.8 and metrics["classes"][9] == "9"
    assert np.sum(metrics["confusion_matrix"]) == 359 and len(metrics["f1"]) == 10
    rows = list(csv.DictReader(open(out / "history.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"] and {"loss", "accuracy", "lr", "seconds"} <= set(rows[0])
    assert (out / "best.npz").exists()
    assert main(["eval", str(out / "last.npz")]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"digits test accuracy {metrics['test_accuracy']:.2%}")
    assert "confusion matrix" in text and "class  precision  recall     f1  support" in text
    np.savez(tmp_path / "other.npz", x=np.zeros((10, 5), np.float32), y=np.arange(10) % 2)
    assert main(["eval", str(out / "last.npz"), "--data", str(tmp_path / "other.npz")]) == 2
    assert "takes inputs of shape (1, 8, 8), but" in capsys.readouterr().err


def test_validation_split_and_early_stopping(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--epochs",
                "30",
                "--val-split",
                "0.2",
                "--patience",
                "1",
                "--hidden",
                "32",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] < 30 and "early stopping" in metrics["stop_reason"]
    rows = list(csv.DictReader(open(out / "history.csv")))
    assert "val_loss" in rows[0] and "val_accuracy" in rows[0]


def test_resume_and_config_file(tmp_path, capsys):
    out = tmp_path / "run"
    config = tmp_path / "c.toml"
    config.write_text('epochs = 2\nhidden = [32]\noptimizer = "sgd"\nlr = 0.05\nbatch-size = 32\n')
    assert main(["train", "--config", str(config), "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2
    assert main(["train", "--epochs", "4", "--out", str(out), "--resume"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 4
    lrs = [float(row["lr"]) for row in csv.DictReader(open(out / "history.csv"))]
    # a resumed run continues exactly: the cosine schedule keeps its 2 epochs, the added ones run
    # at its final value (not re-stretched: that made the lr jump back up from 0 to 0.025)
    np.testing.assert_allclose(lrs, [0.05, 0.025, 0.0, 0.0], atol=1e-12)


def test_a_killed_and_resumed_run_ends_like_an_uninterrupted_one(tmp_path, capsys, monkeypatch):
    flags = ["train", "--epochs", "3", "--hidden", "32", "--quiet"]
    assert main([*flags, "--out", str(tmp_path / "straight")]) == 0

    def killed_after_epoch_1(self, trainer, logs):  # CSVLogger runs after ModelCheckpoint wrote last.npz
        if trainer.epoch == 1:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(CSVLogger, "on_epoch_end", killed_after_epoch_1)
        assert main([*flags, "--out", str(tmp_path / "resumed")]) == 130
    assert "resume with `bprop train --out" in capsys.readouterr().err
    bp.manual_seed(99)
    assert main(["train", "--out", str(tmp_path / "resumed"), "--resume"]) == 0
    straight, resumed = (bp.load(tmp_path / run / "last.npz") for run in ("straight", "resumed"))
    assert straight["epoch"] == resumed["epoch"] == 3
    for name, value in straight["model"].items():
        np.testing.assert_array_equal(resumed["model"][name], value, err_msg=name)


@pytest.mark.parametrize(
    "text, message",
    [
        ("epoch = 3\n", "unknown option 'epoch'"),
        ("epochs = 'many'\n", "--epochs must be an integer ≥ 1, got 'many'"),
        ("optimizer = 'magic'\n", "--optimizer must be one of sgd, adam"),
        ("quiet = 1\n", "--quiet must be true or false"),
        ("epochs = \n", "not valid TOML"),
    ],
)
def test_bad_config_files_are_explained(tmp_path, capsys, text, message):
    (tmp_path / "c.toml").write_text(text)
    assert main(["train", "--config", str(tmp_path / "c.toml")]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_npz_data(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    np.savez(tmp_path / "d.npz", x=(rng.standard_normal((60, 5)) + y[:, None] * 3).astype(np.float32), y=y)
    assert main(["train", "--data", str(tmp_path / "d.npz"), "--epochs", "3", "--quiet"]) == 0
    assert float(capsys.readouterr().out.split("test accuracy ")[1].split("%")[0]) > 80


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="../shared/data is absent")
def test_mnist_mlp_one_epoch_on_the_real_files(tmp_path, capsys):
    assert (
        main(
            ["train", "--data", "mnist", "--data-dir", str(SHARED), "--epochs", "1", "--out", str(tmp_path), "--quiet"]
        )
        == 0
    )
    assert json.loads((tmp_path / "metrics.json").read_text())["test_accuracy"] >= 0.96
    assert main(["eval", str(tmp_path / "last.npz")]) == 0
    assert "mnist test accuracy" in capsys.readouterr().out


@pytest.mark.parametrize(
    "data, model, writer",
    [
        ("mnist", "lenet5", lambda root: make_mnist(root / "mnist", n=20)),
        ("fashion-mnist", "convnet", lambda root: make_mnist(root / "fashion-mnist", n=20)),
        ("cifar10", "lenet5", write_cifar),  # 32×32 colour, with random crops and flips
    ],
)
def test_conv_models_on_image_data_sets(tmp_path, capsys, data, model, writer):
    writer(tmp_path)
    assert (
        main(
            [
                "train",
                "--data",
                data,
                "--data-dir",
                str(tmp_path),
                "--model",
                model,
                "--epochs",
                "1",
                *(["--hidden", "16"] if model == "convnet" else []),  # lenet5 has no such option: refused
                "--out",
                str(tmp_path / "run"),
                "--quiet",
            ]
        )
        == 0
    )
    assert main(["eval", str(tmp_path / "run" / "last.npz")]) == 0
    assert f"{data} test accuracy" in capsys.readouterr().out


def test_resume_needs_only_the_out_folder_after_non_default_flags(tmp_path, capsys):
    flags = ["--optimizer", "sgd", "--momentum", "0.9", "--nesterov", "--lr", "0.05", "--batch-size", "32"]
    flags += ["--val-split", "0.2", "--seed", "5", "--hidden", "16", "--no-batchnorm", "--dropout", "0"]
    flags += ["--reg", "1e-3", "--quiet"]
    assert main(["train", *flags, "--epochs", "3", "--out", str(tmp_path / "straight")]) == 0

    real_step = Trainer.train_step

    def ctrl_c_at_step_40(self, x, y):  # 36 steps an epoch: step 40 is in epoch 2
        result = real_step(self, x, y)
        if self.step == 40:
            os.kill(os.getpid(), signal.SIGINT)  # the real signal, through the real handler
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "train_step", ctrl_c_at_step_40)
        code = main(["train", *flags, "--epochs", "3", "--patience", "5", "--out", str(tmp_path / "resumed")])
    assert code == 130
    err = capsys.readouterr().err.strip()
    assert err.endswith(f"resume with `bprop train --out {tmp_path / 'resumed'} --resume`") and "\n" not in err
    saved = bp.load(tmp_path / "resumed" / "last.npz")
    # the signal came after step 40's stop vote (summed over ranks with its loss): the next step
    # boundary that every rank can agree on is after step 41
    assert saved["step"] == 41 and saved["epoch"] == 1 and saved["loader"]["position"] == 5
    bp.manual_seed(99)
    assert main(["train", "--out", str(tmp_path / "resumed"), "--resume"]) == 0
    straight, resumed = (bp.load(tmp_path / run / "last.npz") for run in ("straight", "resumed"))
    assert resumed["config"]["optimizer"] == "sgd" and resumed["config"]["hidden"] == [16]
    for name, value in straight["model"].items():
        np.testing.assert_array_equal(resumed["model"][name], value, err_msg=name)
    assert [e["loss"] for e in resumed["history"]["epochs"]] == [e["loss"] for e in straight["history"]["epochs"]]


def test_time_limit_mid_epoch_then_resume_ends_like_an_uninterrupted_run(tmp_path, capsys):
    flags = ["--hidden", "32", "--epochs", "2", "--batch-size", "16"]
    assert main(["train", *flags, "--quiet", "--out", str(tmp_path / "straight")]) == 0
    assert main(["train", *flags, "--time-limit", "0.05", "--out", str(tmp_path / "resumed")]) == 0
    out = capsys.readouterr().out
    assert "time limit reached after step" in out and "--resume" in out.splitlines()[-1]
    while bp.load(tmp_path / "resumed" / "last.npz")["epoch"] < 2:
        assert main(["train", "--out", str(tmp_path / "resumed"), "--resume", "--time-limit", "0.05"]) == 0
    straight, resumed = (bp.load(tmp_path / run / "last.npz") for run in ("straight", "resumed"))
    for name, value in straight["model"].items():
        np.testing.assert_array_equal(resumed["model"][name], value, err_msg=name)


def test_divergence_stops_with_exit_3_and_keeps_the_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    real_loss = Trainer.data_loss

    def nan_in_epoch_2(self, x, y):
        scores, loss = real_loss(self, x, y)
        return scores, loss * float("nan") if self.epoch == 1 else loss

    monkeypatch.setattr(Trainer, "data_loss", nan_in_epoch_2)
    assert main(["train", "--epochs", "3", "--hidden", "16", "--out", str(out), "--quiet"]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "diverged at epoch 2, step 24: the loss is nan" in err[0]
    assert "lower the learning rate" in err[0] and "keeps the last complete epoch" in err[0]
    for name in ("last.npz", "best.npz"):
        state = bp.load(out / name)
        assert state["epoch"] == 1 and all(np.isfinite(v).all() for v in state["model"].values())
    assert not (out / "metrics.json").exists()


def test_a_real_divergence_says_one_line_and_no_numpy_warning(tmp_path):
    result = run("train", "--optimizer", "sgd", "--lr", "1e4", "--no-batchnorm", "--quiet", check=False)
    assert result.returncode == 3 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "diverged" in result.stderr and "Warning" not in result.stderr


def test_a_last_batch_of_one_is_dropped_and_said_once(capsys):
    assert main(["train", "--batch-size", "1437", "--epochs", "2", "--hidden", "16"]) == 0
    out = capsys.readouterr().out
    assert out.count("1 sample (1438 = 1 × 1437 + 1), too few for batch norm") == 1
    assert "finished 2 epochs" in out


def test_overwrite_and_stale_temporary_files(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--hidden", "8", "--out", str(out), "--quiet"]) == 0
    (out / ".last.npz.0123456789ab.tmp").write_bytes(b"left by a killed run")
    assert main(["train", "--epochs", "2", "--hidden", "8", "--out", str(out), "--quiet"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert main(["train", "--epochs", "2", "--hidden", "8", "--out", str(out), "--overwrite", "--quiet"]) == 0
    assert not (out / ".last.npz.0123456789ab.tmp").exists()
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2


def test_grad_tol_from_the_command_line(tmp_path, capsys):
    assert main(["train", "--grad-tol", "1e6", "--out", str(tmp_path), "--quiet"]) == 0
    assert "gradient norm" in capsys.readouterr().out
    assert (
        "fell below grad_tol 1e+06 at step 1 of" in json.loads((tmp_path / "metrics.json").read_text())["stop_reason"]
    )


def test_a_closed_stdout_pipe_ends_quietly():
    script = f"{sys.executable} -m bprop.cli explain --sizes 3,4,2 | head -1"
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
    assert result.stdout.strip() and result.stderr == ""


def test_sgd_and_rmsprop_get_the_optimizers_own_defaults():
    from bprop.train.run import make_model, make_optimizer

    for name in ("sgd", "rmsprop"):
        config = RunConfig(optimizer=name, lr=0.1)
        opt = make_optimizer(config, make_model(config, (1, 8, 8), 10).parameters())
        assert opt.param_groups[0]["momentum"] == 0 and not opt.param_groups[0].get("nesterov", False)
    text = run("train", "--help").stdout
    assert "default: 0.0" in text.split("\n  --momentum")[1].split("\n  --nesterov")[0]


def test_ctrl_c_on_a_real_process_exits_130_with_one_line_and_resumes(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "bprop.cli", "train", "--epochs", "500", "--hidden", "8", "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / "last.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    err = process.communicate(timeout=60)[1]
    assert process.returncode == 130 and err.strip().count("\n") == 0 and "Traceback" not in err, err
    assert f"resume with `bprop train --out {out} --resume`" in err
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    done = bp.load(out / "last.npz")["epoch"]
    assert main(["train", "--out", str(out), "--resume", "--epochs", str(done + 1), "--quiet"]) == 0


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_out_folder_is_refused_before_training(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    assert main(["train", "--out", str(locked / "run")]) == 2
    assert "is not writable" in capsys.readouterr().err


def test_profile_prints_the_per_op_table_after_the_first_epoch(capsys):
    from bprop import autograd

    assert main(["train", "--epochs", "2", "--hidden", "16", "--quiet", "--profile"]) == 0
    text = capsys.readouterr().out
    assert text.count("per-op time profile of the first epoch") == 1
    table = text.split("per-op time profile of the first epoch", 1)[1].splitlines()[1:]
    assert table[0].split()[:3] == ["op", "fwd", "calls"] and "MB alloc" not in table[0]  # no tracemalloc
    ops = {line.split()[0] for line in table[2:] if line and not line.startswith(("time in ops", "test"))}
    assert {"Linear", "ReLU", "CrossEntropy"} <= ops
    assert autograd._profiler is None  # recording ended with the epoch
    assert main(["train", "--epochs", "1", "--hidden", "16", "--quiet", "--profile-memory"]) == 0
    text = capsys.readouterr().out
    assert "per-op time and memory profile of the first epoch" in text and "MB alloc" in text
