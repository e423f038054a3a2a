"""The built-in progress bar and the per-epoch summary line."""

import io

from bprop.train.progress import Progress, TextBar


def test_text_bar_draws_and_clears():
    stream = io.StringIO()
    bar = TextBar(4, "epoch 1/2", stream=stream, width=8)
    bar.set_postfix({"loss": "0.5"})
    for _ in range(4):
        bar.update()
    assert "[########] 4/4 loss=0.5" in stream.getvalue()
    bar.close()
    assert stream.getvalue().endswith("\r\033[K")


def test_summary_line_unless_quiet(capsys):
    Progress(3, 1, 2).close({"epoch": 1, "loss": 0.25, "accuracy": 0.5})
    assert capsys.readouterr().out.strip() == "epoch 1/2  loss 0.2500  accuracy 0.5000"
    Progress(3, 1, 2, quiet=True).close({"loss": 0.25})
    assert capsys.readouterr().out == ""
