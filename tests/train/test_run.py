"""run(config) from Python: the same run as `bprop train`, its errors, and resuming."""

import numpy as np
import pytest

from bprop.train import RunConfig, RunError, run
from bprop.train.run import model_from_checkpoint


def test_run_from_python_and_resume_from_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    result = run(RunConfig(epochs=2, hidden=(16,), out=str(out), quiet=True))
    assert len(result.history.epochs) == 2 and result.test["accuracy"] > 0.5
    assert (out / "metrics.json").exists() and result.input_shape == (1, 8, 8) and result.num_classes == 10
    more = run(RunConfig.from_checkpoint(out / "last.npz", epochs=3), resume=True)
    assert len(more.history.epochs) == 3
    model, config, _ = model_from_checkpoint(out / "last.npz")
    assert config.epochs == 3 and config.hidden == (16,)
    for (name, a), b in zip(model.state_dict().items(), more.model.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_run_refuses_before_writing_anything(tmp_path):
    out = tmp_path / "run"
    run(RunConfig(epochs=1, hidden=(8,), out=str(out), quiet=True))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(RunError, match="already holds a run"):
        run(RunConfig(epochs=1, hidden=(8,), out=str(out), quiet=True))
    with pytest.raises(RunError, match=r"--hidden 8,8 differs from the run being resumed \(--hidden 8\)"):
        run(RunConfig(epochs=2, hidden=(8, 8), out=str(out), quiet=True), resume=True)
    with pytest.raises(RunError, match="has already trained 1 epoch;"):
        run(RunConfig(epochs=1, hidden=(8,), out=str(out), quiet=True), resume=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_profile_stops_recording_when_training_fails(monkeypatch):
    import importlib

    from bprop import autograd
    from bprop.train.callbacks import ProfileFirstEpoch

    run_module = importlib.import_module("bprop.train.run")

    def broken_fit(*args, **kwargs):
        for cb in kwargs["callbacks"]:
            if isinstance(cb, ProfileFirstEpoch):
                cb.on_train_begin(None)
        assert autograd._profiler is not None
        raise RuntimeError("mid-epoch failure")

    monkeypatch.setattr(run_module, "fit", broken_fit)
    with pytest.raises(RuntimeError, match="mid-epoch"):
        run(RunConfig(epochs=1, hidden=(8,), quiet=True, profile=True))
    assert autograd._profiler is None


def test_a_run_records_its_thread_count_and_a_resumed_run_keeps_it(tmp_path, capsys):
    """The count decides how bprop splits work, and so the last bits: the checkpoint records it,
    --resume takes it, and another --threads is allowed but said once."""
    from bprop.train.checkpoint import load_checkpoint

    out = tmp_path / "run"
    run(RunConfig(epochs=1, hidden=(8,), out=str(out), quiet=True, threads=1))
    assert load_checkpoint(out / "last.npz", restore_rng=False)["threads"] == 1
    capsys.readouterr()
    run(RunConfig.from_checkpoint(out / "last.npz", epochs=2, threads=None, quiet=False), resume=True)
    assert "threads where" not in capsys.readouterr().out  # (a note says that the added epoch keeps the schedule's end)
    assert load_checkpoint(out / "last.npz", restore_rng=False)["threads"] == 1
    run(RunConfig.from_checkpoint(out / "last.npz", epochs=3, threads=2, quiet=False), resume=True)
    said = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("note:") and "threads where" in line
    ]
    assert said == ["note: 2 threads where the checkpoint trained with 1: results will differ from an uninterrupted "
                    "run in the last bits"]  # fmt: skip
    assert load_checkpoint(out / "last.npz", restore_rng=False)["threads"] == 2


def test_threads_auto_is_picked_once_at_the_start(tmp_path, monkeypatch):
    from bprop.runtime import threads
    from bprop.train.checkpoint import load_checkpoint

    picks = []
    monkeypatch.setattr(threads, "auto_threads", lambda: picks.append(1) or 1)
    run(RunConfig(epochs=2, hidden=(8,), out=str(tmp_path), quiet=True, threads="auto"))
    assert picks == [1] and load_checkpoint(tmp_path / "last.npz", restore_rng=False)["threads"] == 1


def test_run_with_report_writes_the_page_from_python_too(tmp_path):
    pytest.importorskip("matplotlib")
    result = run(RunConfig(epochs=1, hidden=(8,), report=str(tmp_path / "r"), quiet=True))
    assert result.report == tmp_path / "r" / "report.html" and result.report.read_text().startswith("<!DOCTYPE")
    assert {"viz.npz", "delta.npz", "examples.npz", "last.npz"} <= {p.name for p in (tmp_path / "r").iterdir()}
