"""`bprop explain` over bprop's models and checkpoints, and `bprop gradcheck`; mistakes → one line."""

import pytest

from bprop.cli import main


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    return out / "best.npz"


@pytest.mark.parametrize(
    "args", [["--model", "fcnet", "--batchnorm", "--dropout", "0.5"], ["--model", "convnet", "--batch", "3"]]
)
def test_explain_a_model_on_a_batch_of_digits(capsys, args):
    assert main(["explain", *args]) == 0
    text = capsys.readouterr().out
    assert "Backward pass, layer by layer" in text
    disagreement = float(
        text.split("largest disagreement among formula, autograd and finite differences: ")[1].split()[0]
    )
    assert disagreement < 1e-6


def test_explain_in_chinese_and_a_trained_model(capsys, checkpoint):
    assert main(["explain", "--lang", "zh"]) == 0
    assert "反向传播" in capsys.readouterr().out
    assert main(["explain", "--checkpoint", str(checkpoint), "--samples", "3", "--format", "markdown"]) == 0
    assert "### Output error" in capsys.readouterr().out


def test_gradcheck_a_trained_model(capsys, checkpoint):
    assert main(["gradcheck", str(checkpoint), "--samples", "4"]) == 0
    out = capsys.readouterr().out
    assert "every op's backward agrees with finite differences" in out and "Linear" in out


def test_gradcheck_counts_one_sample_in_the_singular(capsys, tmp_path):
    assert main(["train", "--epochs", "1", "--hidden", "8", "--no-batchnorm", "--out", str(tmp_path), "--quiet"]) == 0
    assert main(["gradcheck", str(tmp_path / "last.npz"), "--samples", "1"]) == 0
    assert "on 1 test sample of digits" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,message",
    [
        (["explain", "--conv", "--stride", "0"], "--stride must be an integer in [1, 32], got 0"),
        (["explain", "--sizes", "a,b"], "--sizes needs at least two positive layer sizes"),
        (["explain", "--batch", "3"], "--batch applies to --model"),
        (["explain", "--model", "lenet5", "--batchnorm"], "apply to --model fcnet, not lenet5"),
        (["explain", "--model", "fcnet", "--batch", "0"], "--batch must be an integer in [1, 64]"),
        (["explain", "--model", "fcnet", "--dropout", "1"], "--dropout must be a number in [0, 1)"),
        (["explain", "--model", "fcnet", "--conv"], "do not go together"),
        (["explain", "--checkpoint", "missing.npz"], "missing.npz"),
        (["gradcheck", "missing.npz"], "missing.npz: no such file"),
    ],
)
def test_mistakes_are_one_line(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_explain_as_html_links_the_step_through_viewer(tmp_path, capsys):
    out = tmp_path / "explain.html"
    assert main(["explain", "--model", "fcnet", "--batchnorm", "--format", "html", "--out", str(out)]) == 0
    assert "href='explain-graph.html'" in out.read_text()
    viewer = (tmp_path / "explain-graph.html").read_text()
    assert "const DATA = " in viewer and "BatchNormTrain" in viewer
