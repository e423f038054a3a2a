"""`bprop exercise` and `bprop check` (exercise mode), and `bprop train --normalization`."""

import pytest

import bprop as bp
from bprop.cli import main
from tests.exercise.answers import RIGHT, with_backward


def test_exercise_then_check_a_wrong_then_a_right_batch_norm(tmp_path, capsys):
    path = tmp_path / "bn.py"
    assert main(["exercise", "batchnorm", "--out", str(path)]) == 0
    assert f"then run: bprop check {path}" in capsys.readouterr().out
    assert main(["check", str(path)]) == 1
    assert "backward is not written yet" in capsys.readouterr().out
    wrong = RIGHT["batchnorm"].replace(" - x_hat * (a * x_hat).mean(axis=0)", "")
    assert main(["check", str(with_backward("batchnorm", wrong, tmp_path, "wrong"))]) == 1
    out = capsys.readouterr().out
    assert "dx      WRONG" in out and "the path through the variance σ²" in out and "1 of 3 gradients wrong" in out
    assert main(["check", str(with_backward("batchnorm", RIGHT["batchnorm"], tmp_path, "right")), "--seed", "3"]) == 0
    assert capsys.readouterr().out.strip().endswith("all 3 gradients right")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["exercise", "softmax", "--out", "{tmp}/s.py"], "unknown op 'softmax': there are exercises for affine"),
        (["exercise", "relu", "--out", "{tmp}/no/such/folder/r.py"], "the folder"),
        (["check", "{tmp}/missing.py"], "missing.py: no such file (write one with: bprop exercise OP --out"),
        (["check", "{tmp}/broken.py"], "broken.py:2: syntax error"),
        (["check", "{tmp}/broken.py", "--seed", "-1"], "--seed must be an integer in [0, 4294967295], got -1"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    (tmp_path / "broken.py").write_text('OP = "relu"\ndef backward(:\n')
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and len(captured.err.strip().splitlines()) == 1 and "Traceback" not in captured.err


def test_a_backward_that_calls_sys_exit_is_graded_wrong(tmp_path, capsys):
    # sys.exit(0) in the learner's code used to end `bprop check` with status 0 and no report
    path = with_backward("relu", "import sys\nsys.exit(0)", tmp_path)
    assert main(["check", str(path)]) == 1
    assert "backward called sys.exit(0)" in capsys.readouterr().out


def test_check_in_chinese_and_a_crashing_file_is_one_line_and_exit_2(tmp_path, capsys):
    wrong = RIGHT["batchnorm"].replace("a = gamma * dout", "a = dout")
    assert main(["check", str(with_backward("batchnorm", wrong, tmp_path)), "--lang", "zh"]) == 1
    out = capsys.readouterr().out
    assert "忘了 γ" in out and "3 个梯度中有 1 个不对。" in out
    assert main(["check", str(with_backward("relu", "import os\nos._exit(0)", tmp_path, "quits"))]) == 2
    err = capsys.readouterr().err
    assert "before backward returned (os._exit()?)" in err and len(err.strip().splitlines()) == 1


def test_an_existing_file_is_not_overwritten(tmp_path, capsys):
    path = tmp_path / "mine.py"
    path.write_text("my work")
    assert main(["exercise", "relu", "--out", str(path)]) == 2
    assert "exists already: not overwriting it" in capsys.readouterr().err and path.read_text() == "my work"


@pytest.mark.parametrize("model", ["fcnet", "mlp"])
def test_train_with_layer_norm(model, tmp_path, capsys):
    args = [
        "train",
        "--model",
        model,
        "--normalization",
        "layernorm",
        "--epochs",
        "1",
        "--quiet",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    state = bp.load(tmp_path / "last.npz")
    assert state["config"]["normalization"] == "layernorm"
    assert not any("running_mean" in key for key in state["model"])
    assert main(["eval", str(tmp_path / "last.npz")]) == 0


def test_normalization_none_and_the_contradiction_with_no_batchnorm(tmp_path, capsys):
    assert main(["train", "--normalization", "none", "--epochs", "1", "--quiet", "--out", str(tmp_path)]) == 0
    weights = [v for k, v in bp.load(tmp_path / "last.npz")["model"].items() if k.endswith("weight")]
    assert all(w.ndim == 2 for w in weights)  # only the affine layers' matrices: no γ of a norm layer
    assert main(["train", "--no-batchnorm", "--normalization", "layernorm"]) == 2
    assert "--no-batchnorm turns normalisation off, --normalization layernorm on: give one" in capsys.readouterr().err


def test_the_readme_transcript_is_what_check_prints(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    shown = readme.split("path through the variance:\n\n```\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)
    body = """dbeta = dout.sum(axis=0)
dgamma = (dout * x_hat).sum(axis=0)
dx_hat = gamma * dout
dx = (dx_hat - dx_hat.mean(axis=0)) / std  # forgot the path through the variance
return dx, dgamma, dbeta"""
    with_backward("batchnorm", body, Path("."), "bn")
    assert main(["check", "bn.py"]) == 1
    assert capsys.readouterr().out == shown
