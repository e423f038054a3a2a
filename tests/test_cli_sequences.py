"""`bprop train --data text:PATH --model char-lstm|char-transformer` and `bprop sample`, in process
on a small made-up text; the real corpora are in the slow tests."""

import json

import pytest

from bprop.cli import main

POEM = "床前明月光，疑是地上霜。举头望明月，低头思故乡。\n"


@pytest.fixture
def corpus(tmp_path):
    path = tmp_path / "poems.txt"
    path.write_text("\x1b[32m《静夜思》\x1b[m\n" + POEM * 30, encoding="utf-8")
    return path


@pytest.mark.parametrize("model", ["char-lstm", "char-transformer"])
def test_train_reports_bits_per_character_and_sample_continues_the_prompt(model, corpus, tmp_path, capsys):
    out = tmp_path / "run"
    flags = ["--data", f"text:{corpus}", "--model", model, "--hidden", "16", "--epochs", "8", "--lr", "0.01"]
    assert main(["train", *flags, "--out", str(out), "--quiet"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "bits per character" in line
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0 < metrics["test_bits_per_char"] < 4.4  # log2(21 characters) ≈ 4.4: better than uniform
    assert main(["sample", str(out / "best.npz"), "--prompt", "床前", "--length", "12", "--temperature", "0.5"]) == 0
    text = capsys.readouterr().out.removesuffix("\n")  # print's newline; generated ones stay
    assert text.startswith("床前") and len(text) == 14


def test_sample_errors_are_one_line(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(["train", "--data", f"text:{corpus}", "--hidden", "8", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    )
    capsys.readouterr()
    assert main(["sample", str(out / "best.npz"), "--prompt", "Z"]) == 2
    assert "never saw, first 'Z'" in capsys.readouterr().err
    assert main(["sample", str(out / "best.npz"), "--prompt", "床", "--temperature", "-1"]) == 2
    assert "--temperature must be a finite number > 0" in capsys.readouterr().err
    digits = tmp_path / "digits"
    assert main(["train", "--data", "digits", "--epochs", "1", "--out", str(digits), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["sample", str(digits / "best.npz"), "--prompt", "a"]) == 2
    assert "is not a language model" in capsys.readouterr().err


def test_missing_text_file_is_named(tmp_path, capsys):
    assert main(["train", "--data", f"text:{tmp_path / 'none.txt'}", "--quiet"]) == 2
    assert "none.txt: no such file" in capsys.readouterr().err


def test_eval_reports_bits_per_character_and_refuses_another_vocabulary(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(["train", "--data", f"text:{corpus}", "--hidden", "8", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    )
    capsys.readouterr()
    assert main(["eval", str(out / "best.npz")]) == 0
    assert "bits per character" in capsys.readouterr().out
    other = tmp_path / "other.txt"
    other.write_text("abcdefghij\n" * 80, encoding="utf-8")
    assert main(["eval", str(out / "best.npz"), "--data", f"text:{other}"]) == 2
    assert "trained on other characters" in capsys.readouterr().err


def test_gradcheck_runs_on_a_language_model(corpus, tmp_path, capsys):
    out = tmp_path / "run"
    flags = ["--data", f"text:{corpus}", "--hidden", "8", "--epochs", "1", "--out", str(out), "--quiet"]
    assert main(["train", *flags]) == 0
    assert main(["gradcheck", str(out / "best.npz"), "--samples", "1", "--entries", "2"]) == 0  # ids stay integers
    assert "every op's backward agrees" in capsys.readouterr().out


def test_report_is_refused_for_a_language_model_and_summary_reads_recurrent_layers(corpus, tmp_path, capsys):
    assert main(["train", "--data", f"text:{corpus}", "--report", str(tmp_path / "r"), "--quiet"]) == 2
    assert "--report draws a classifier's plots" in capsys.readouterr().err
    import bprop as bp
    from bprop.nn.builder import ModelOptions, build_model

    text = bp.summary(build_model("lstm", (1, 28, 28), 10, ModelOptions(hidden=(16,))), (1, 28, 28))
    assert "(None, 28, 16)" in text  # the LSTM's output sequence
