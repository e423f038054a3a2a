"""The bprop command, in process (fast) and as a subprocess (help)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from bprop.cli import main


def test_help_lists_the_subcommands():
    out = subprocess.run([sys.executable, "-m", "bprop.cli", "--help"], capture_output=True, text=True, check=True)
    assert "train" in out.stdout and "eval" in out.stdout
    out = subprocess.run([sys.executable, "-m", "bprop.cli", "train", "--help"], capture_output=True, text=True,
                         check=True)
    assert "--batchnorm" in out.stdout and "--resume" in out.stdout


def test_bad_flags_give_one_line_errors(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--optimizer", "magic"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "magic" in err
    assert main(["train", "--data", "nowhere"]) == 2
    assert "unknown data set 'nowhere'" in capsys.readouterr().err
    assert main(["eval", "missing.npz"]) == 2


def test_short_training_run_writes_outputs_and_eval_reads_them(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "3", "--out", str(out), "--quiet"]) == 0
    assert "test accuracy" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["test_accuracy"] > 0.8
    assert (out / "history.csv").exists() and (out / "best.npz").exists()
    assert main(["eval", str(out / "last.npz")]) == 0
    text = capsys.readouterr().out
    assert "confusion matrix" in text and "precision" in text


def test_resume_and_config_file(tmp_path, capsys):
    out = tmp_path / "run"
    config = tmp_path / "c.toml"
    config.write_text('epochs = 2\nhidden = "32"\noptimizer = "sgd"\nlr = 0.05\n')
    assert main(["train", "--config", str(config), "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 2
    assert main(["train", "--config", str(config), "--epochs", "4", "--out", str(out), "--resume", "--quiet"]) == 0
    assert json.loads((out / "metrics.json").read_text())["epochs"] == 4


def test_npz_data(tmp_path, capsys):
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    np.savez(tmp_path / "d.npz", x=(rng.standard_normal((60, 5)) + y[:, None] * 3).astype(np.float32), y=y)
    assert main(["train", "--data", str(tmp_path / "d.npz"), "--epochs", "3", "--quiet"]) == 0


@pytest.mark.slow
def test_default_training_reaches_97_percent(capsys):
    assert main(["train", "--quiet"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert float(line.split("test accuracy ")[1].split("%")[0]) >= 97.0
