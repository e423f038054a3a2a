"""One rule in one place: every option check of a command lives in the library it calls
(RunConfig, ExplainOptions, check_workers, check_opset, sample_text…), so that Python users
get the very message that the command prints after "bprop COMMAND: error: "."""

from __future__ import annotations

import os

import pytest

from bprop.cli import main
from bprop.cli.main import USER_ERRORS
from bprop.export import check_opset
from bprop.train.run_config import RunConfig, check_workers
from bprop.train.sampling import check_sample_options
from bprop.viz.explain_options import ExplainOptions, run_explain


def cli_message(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    prefix = f"bprop {argv[0]}: error: "
    assert err.startswith(prefix) and len(err.splitlines()) == 1, err
    return err.removeprefix(prefix)


def library_message(call, *args, **kwargs) -> str:
    with pytest.raises((ValueError, *USER_ERRORS)) as caught:
        call(*args, **kwargs)
    return str(caught.value)


CASES = {
    "dropout ignored by lenet5": (
        ["train", "--data", "mnist", "--model", "lenet5", "--dropout", "0.5"],
        lambda: RunConfig(data="mnist", model="lenet5", dropout=0.5),
    ),
    "batchnorm on and off": (
        ["train", "--normalization", "batchnorm", "--no-batchnorm"],
        lambda: RunConfig(normalization="batchnorm", batchnorm=False),
    ),
    "layernorm and no batchnorm": (
        ["train", "--normalization", "layernorm", "--no-batchnorm"],
        lambda: RunConfig(normalization="layernorm", batchnorm=False),
    ),
    "workers zero": (["train", "--workers", "0"], lambda: check_workers(0)),
    "workers too many": (["train", "--workers", "99999"], lambda: check_workers(99999)),
    "explain steps without rnn": (["explain", "--steps", "5"], lambda: ExplainOptions(steps=5)),
    "explain two networks": (
        ["explain", "--model", "fcnet", "--conv"],
        lambda: ExplainOptions(model="fcnet", conv=True),
    ),
    "explain lr": (["explain", "--lr", "-1"], lambda: ExplainOptions(lr=-1.0)),
    "explain seed": (["explain", "--seed", "-5"], lambda: ExplainOptions(seed=-5)),
    "explain stride": (
        ["explain", "--conv", "--stride", "0"],
        lambda: run_explain(ExplainOptions(conv=True, stride=0)),
    ),
    "explain sizes": (["explain", "--sizes", "300,300,10"], lambda: run_explain(ExplainOptions(sizes="300,300,10"))),
    "explain batch": (
        ["explain", "--model", "fcnet", "--batch", "0"],
        lambda: run_explain(ExplainOptions(model="fcnet", batch=0)),
    ),
}


@pytest.mark.parametrize("argv, call", CASES.values(), ids=CASES.keys())
def test_the_library_refuses_with_the_commands_words(capsys, argv, call):
    assert library_message(call) == cli_message(argv, capsys)


def test_explain_out_onto_a_broken_link_is_refused_alike(tmp_path, capsys):
    os.symlink("nowhere", tmp_path / "dangling")
    os.symlink("loop", tmp_path / "loop")
    for name, why in {
        "dangling": "a symbolic link to nowhere, which does not exist",
        "loop": "a loop of symbolic",
    }.items():
        path = str(tmp_path / name)
        message = library_message(ExplainOptions, out=path)
        assert message == cli_message(["explain", "--out", path], capsys)
        assert message.startswith(f"--out {path} is {why}")
        assert os.path.islink(path) and not os.path.exists(path)  # the link is left as it was


def test_export_opset_and_sample_options_are_checked_by_the_library(tmp_path, capsys):
    assert main(["train", "--epochs", "1", "--hidden", "8", "--out", str(tmp_path), "--quiet"]) == 0
    argv = ["export", str(tmp_path / "last.npz"), "--onnx", str(tmp_path / "m.onnx"), "--opset", "5"]
    assert library_message(lambda: check_opset(5)) == cli_message(argv, capsys)
    assert check_opset(21) == 21
    for length, temperature, message in [
        (-1, 0.8, "--length must be an integer in [0, 10000], got -1"),
        (10, float("nan"), "--temperature must be a finite number > 0, got nan"),
        (10, 0.0, "--temperature must be a finite number > 0, got 0.0"),
    ]:
        assert library_message(check_sample_options, length, temperature, 0) == message
    assert "--seed must be an integer in [0, 4294967295], got -1" in library_message(
        lambda: check_sample_options(10, 0.8, -1)
    )


def test_a_stored_no_batchnorm_run_still_loads():
    """Checkpoints written before the pair was refused hold normalization "batchnorm" beside
    batchnorm False: that is the default, not a contradiction."""
    stored = RunConfig(batchnorm=False).to_dict()
    assert stored["normalization"] == "batchnorm"
    config = RunConfig.from_dict(stored)
    assert config.model_normalization is None
    assert RunConfig.from_dict(config.to_dict()).model_normalization is None
