"""One rule in one place: every option check of a command lives in the library it calls
(RunConfig, ExplainOptions, check_workers, check_opset, sample_text…), so that Python users
get the very message that the command prints after "bprop COMMAND: error: "."""

from __future__ import annotations

import os

import numpy as np
import pytest

from bprop.cli import main
from bprop.cli.main import USER_ERRORS
from bprop.exercise import check_file
from bprop.export import check_opset
from bprop.train.checkpoint_eval import evaluate_checkpoint
from bprop.train.run import resume_checkpoint, run
from bprop.train.run_config import RunConfig, check_workers
from bprop.train.sampling import check_sample_options
from bprop.viz.cases import gradcheck_checkpoint
from bprop.viz.explain_options import ExplainOptions, run_explain
from bprop.viz.report import write_run_report


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


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, str]:
    """A finished digits run, a finished character model, and data that fits neither."""
    w = tmp_path_factory.mktemp("runs")
    assert main(["train", "--epochs", "1", "--hidden", "8", "--out", str(w / "run"), "--quiet"]) == 0
    (w / "poem.txt").write_text("a rose is a rose is a rose\n" * 40)
    (w / "other.txt").write_text("xyz zyx " * 200)
    lm = ["train", "--data", f"text:{w / 'poem.txt'}", "--model", "char-lstm", "--hidden", "8", "--epochs", "1"]
    assert main([*lm, "--out", str(w / "lm"), "--quiet"]) == 0
    rng = np.random.default_rng(0)
    with open(w / "flat.npz", "wb") as handle:
        np.savez(handle, x=rng.standard_normal((10, 3)).astype(np.float32), y=np.arange(10) % 2)
    with open(w / "twelve.npz", "wb") as handle:  # the digits' shape, but labels 0…11
        np.savez(handle, x=rng.random((120, 1, 8, 8)).astype(np.float32), y=np.arange(120) % 12)
    return {
        "ckpt": str(w / "run" / "last.npz"),
        "lm": str(w / "lm" / "last.npz"),
        "flat": str(w / "flat.npz"),
        "twelve": str(w / "twelve.npz"),
        "other": f"text:{w / 'other.txt'}",
    }


def _eval_cases(r: dict[str, str]) -> dict[str, tuple[list[str], object]]:
    ckpt, lm = r["ckpt"], r["lm"]
    return {
        "input shape": (["eval", ckpt, "--data", r["flat"]], lambda: evaluate_checkpoint(ckpt, r["flat"])),
        "labels": (["eval", ckpt, "--data", r["twelve"]], lambda: evaluate_checkpoint(ckpt, r["twelve"])),
        "vocabulary": (["eval", lm, "--data", r["other"]], lambda: evaluate_checkpoint(lm, r["other"])),
        "data empty": (["eval", ckpt, "--data", ""], lambda: evaluate_checkpoint(ckpt, data="")),
        "data dir empty": (["eval", ckpt, "--data-dir", ""], lambda: evaluate_checkpoint(ckpt, data_dir="")),
        "entries 0": (["gradcheck", ckpt, "--entries", "0"], lambda: gradcheck_checkpoint(ckpt, entries=0)),
        "entries 1001": (["gradcheck", ckpt, "--entries", "1001"], lambda: gradcheck_checkpoint(ckpt, entries=1001)),
        "gradcheck seed": (["gradcheck", ckpt, "--seed", "-1"], lambda: gradcheck_checkpoint(ckpt, seed=-1)),
        "gradcheck samples": (["gradcheck", ckpt, "--samples", "65"], lambda: gradcheck_checkpoint(ckpt, 65)),
        "gradcheck empty": (["gradcheck", ""], lambda: gradcheck_checkpoint("")),
    }


@pytest.mark.parametrize(
    "case",
    [
        *("input shape", "labels", "vocabulary", "data empty", "data dir empty"),
        *("entries 0", "entries 1001", "gradcheck seed", "gradcheck samples", "gradcheck empty"),
    ],
)
def test_eval_and_gradcheck_refuse_in_the_library_with_the_commands_words(runs, capsys, case):
    argv, call = _eval_cases(runs)[case]
    assert library_message(call) == cli_message(argv, capsys)


def test_eval_and_gradcheck_messages_name_what_is_wrong(runs):
    assert "takes inputs of shape (1, 8, 8), but" in library_message(evaluate_checkpoint, runs["ckpt"], runs["flat"])
    assert "knows 10 classes, but" in library_message(evaluate_checkpoint, runs["ckpt"], runs["twelve"])
    assert "trained on other characters" in library_message(evaluate_checkpoint, runs["lm"], runs["other"])
    message = "--entries must be an integer in [1, 1000], got 0"
    assert library_message(gradcheck_checkpoint, runs["ckpt"], entries=0) == message
    report, config, samples = gradcheck_checkpoint(runs["ckpt"], samples=2, entries=2)
    assert report.ok and config.model == "fcnet" and samples == 2


def test_check_report_and_resume_refuse_in_the_library_with_the_commands_words(tmp_path, capsys):
    missing = str(tmp_path / "none.npz")
    for argv, call in [
        (["check", ""], lambda: check_file("")),
        (["check", "x.py", "--seed", "-1"], lambda: check_file("x.py", seed=-1)),
        (["check", "x.py", "--seed", "4294967296"], lambda: check_file("x.py", seed=2**32)),
        (["report", ""], lambda: write_run_report("")),
        (["train", "--resume"], lambda: resume_checkpoint(True, None)),
        (["train", "--resume"], lambda: run(RunConfig(), resume=True)),
        (["train", "--resume", missing], lambda: resume_checkpoint(missing, None)),
        (["train", "--resume", missing], lambda: run(RunConfig(), resume=missing)),
    ]:
        assert library_message(call) == cli_message(argv, capsys), argv
    assert "not an empty name" in library_message(check_file, "")
    assert "not an empty name" in library_message(write_run_report, "")
