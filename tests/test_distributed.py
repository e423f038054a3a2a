"""Data-parallel training under `mpirun -n 2` on this machine (skipped when MPI is absent)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import bprop as bp
from bprop import distributed as dist
from bprop import nn, optim
from bprop.data import DataLoader, TensorDataset
from bprop.train import fit

try:
    import mpi4py  # noqa: F401

    MPIRUN = dist.find_mpirun()
except ImportError:
    MPIRUN = None
needs_mpi = pytest.mark.skipif(MPIRUN is None, reason="MPI (mpi4py and mpirun) is not installed")

N, B, SEED = 32, 4, 7


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((N, 5)), rng.integers(0, 3, N)


def model():
    bp.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).to(np.float64)


SCRIPT = """
import numpy as np, bprop as bp
from bprop import distributed as dist, optim
from bprop.data import DataLoader, TensorDataset
from bprop.train import fit
from tests.test_distributed import B, SEED, data, model
dist.init()
m = model()
if dist.rank() == 1:
    for p in m.parameters():  # rank 1 starts from other weights: the broadcast must fix that
        p.data += 1.0
x, y = data()
fit(m, DataLoader(TensorDataset(x, y), batch_size=B, shuffle=True, seed=SEED), optimizer=optim.SGD(
    m.parameters(), lr=0.1, momentum=0.9), epochs=3, quiet=True, distributed=True)
bp.save({{"params": [p.data for p in m.parameters()]}}, "{out}/rank{{}}.npz".format(dist.rank()))
"""


def run_mpi(script, tmp_path, timeout=120):
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    env = dict(dist.worker_env(), PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run(
        dist.launch_command(2, [str(path)]), capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path
    )


@needs_mpi
def test_two_ranks_equal_one_process_with_the_global_batch(tmp_path):
    result = run_mpi(SCRIPT.format(out=tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    m = model()
    x, y = data()
    seed = int(np.random.default_rng(SEED).integers(2**31))
    sampler = dist.DistributedSampler(N, num_replicas=1, rank=0, seed=seed)
    fit(
        m,
        DataLoader(TensorDataset(x, y), batch_size=2 * B, sampler=sampler),
        optimizer=optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
        epochs=3,
        quiet=True,
        distributed=True,
    )
    for rank in (0, 1):
        trained = bp.load(tmp_path / f"rank{rank}.npz")["params"]
        for p, q in zip(m.parameters(), trained):
            # gradients are reduced in their own dtype: float64 agrees to rounding, not to float32
            np.testing.assert_allclose(q, p.data, rtol=1e-12, atol=1e-14)


@needs_mpi
def test_a_failing_rank_stops_the_whole_job_with_its_error(tmp_path):
    script = """
    from bprop import distributed as dist
    dist.init()
    if dist.rank() == 1:
        raise ValueError("boom on rank 1")
    dist.allreduce_sum([1.0])  # rank 0 would wait here forever without the abort
    """
    result = run_mpi(script, tmp_path, timeout=60)
    assert result.returncode != 0
    assert "boom on rank 1" in result.stderr


def test_sampler_shards_cover_the_epoch_and_change_with_it():
    shards = [dist.DistributedSampler(10, num_replicas=3, rank=r, seed=1) for r in range(3)]
    indices = [s.indices() for s in shards]
    assert all(len(i) == 4 for i in indices)  # padded to 12 = 3 × 4
    assert set(np.concatenate(indices)) == set(range(10))
    first = shards[0].indices().copy()
    shards[0].set_epoch(1)
    assert not np.array_equal(first, shards[0].indices())
    assert len(dist.DistributedSampler(10, 3, 0, drop_last=True).indices()) == 3
    with pytest.raises(ValueError, match="rank 3"):
        dist.DistributedSampler(10, num_replicas=3, rank=3)


def test_single_process_fallback():
    world = dist.init()
    assert world.size == 1 and dist.rank() == 0 and dist.is_main()
    m = model()
    before = [np.array(p.data) for p in m.parameters()]
    dist.broadcast_parameters(m)
    dist.allreduce_gradients(m)
    assert dist.allreduce_sum([1.0, 2.0]) == [1.0, 2.0]
    assert all(np.array_equal(a, p.data) for a, p in zip(before, m.parameters()))


@needs_mpi
def test_cli_workers_launches_mpirun(tmp_path):
    env = dict(dist.worker_env(), PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run(
        [sys.executable, "-m", "bprop.cli", "train", "--workers", "2", "--epochs", "2", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "data-parallel over 2 processes" in result.stdout
    assert result.stdout.count("test accuracy") == 1  # only rank 0 reports
    assert (tmp_path / "last.npz").exists() and (tmp_path / "metrics.json").exists()


def test_workers_without_mpi_is_a_clear_error(monkeypatch, capsys):
    from bprop import cli

    monkeypatch.setattr(dist, "find_mpirun", lambda: None)
    assert cli.main(["train", "--workers", "2"]) == 2
    assert "--workers needs MPI" in capsys.readouterr().err


@needs_mpi
def test_a_bad_data_dir_on_rank_1_only_ends_the_job_within_seconds(tmp_path):
    """Each rank reads its own --data-dir, as on several machines; rank 1's is empty. Every rank
    checks its start-up and they agree before the first collective, so rank 0 does not wait
    for rank 1 forever: the job ends with rank 1's message, once, and a non-zero status."""
    from tests.data.formats import make_mnist

    make_mnist(tmp_path / "good" / "mnist", n=20)
    (tmp_path / "bad").mkdir()
    script = f"""
    import os, sys
    from bprop.cli import main
    data_dir = {str(tmp_path / "good")!r} if os.environ["OMPI_COMM_WORLD_RANK"] == "0" else {str(tmp_path / "bad")!r}
    sys.exit(main(["train", "--data", "mnist", "--data-dir", data_dir, "--epochs", "1", "--quiet"]))
    """
    started = time.perf_counter()
    result = run_mpi(script, tmp_path, timeout=30)
    assert time.perf_counter() - started < 30
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert any(line.startswith("bprop train: error: rank 1: missing ") for line in lines), result.stderr
    assert sum("rank 1: missing" in line for line in lines) == 1 and "Traceback" not in result.stderr


@needs_mpi
def test_an_error_after_start_up_aborts_every_rank(tmp_path):
    script = """
    import sys
    from bprop import distributed as dist
    from bprop.cli import main
    from bprop.train import Trainer
    real = Trainer.train_step
    def fail_on_rank_1(self, x, y):
        if dist.rank() == 1 and self.step == 3:
            raise OSError(28, "No space left on device")
        return real(self, x, y)
    Trainer.train_step = fail_on_rank_1
    sys.exit(main(["train", "--epochs", "2", "--hidden", "8", "--quiet"]))
    """
    started = time.perf_counter()
    result = run_mpi(script, tmp_path, timeout=30)
    assert time.perf_counter() - started < 30
    assert result.returncode != 0 and "No space left on device" in result.stderr
    assert "Traceback" not in result.stderr


@needs_mpi
def test_a_diverging_data_parallel_run_stops_on_every_rank_at_the_same_step(tmp_path):
    script = """
    import sys
    from bprop.cli import main
    sys.exit(main(["train", "--optimizer", "sgd", "--lr", "1e4", "--no-batchnorm", "--quiet"]))
    """
    result = run_mpi(script, tmp_path, timeout=60)
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("diverged at epoch") == 1 and "Traceback" not in result.stderr


@needs_mpi
def test_workers_with_a_bad_data_dir_is_one_line(tmp_path):
    env = dict(dist.worker_env(), PYTHONPATH=os.pathsep.join(sys.path))
    command = [sys.executable, "-m", "bprop.cli", "train", "--workers", "2", "--data", "mnist"]
    result = subprocess.run(
        [*command, "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("bprop train: error: missing ")


@needs_mpi
def test_a_full_disk_under_workers_is_one_line(tmp_path):
    """Rank 1 meets a full disk mid-run: the job ends, and the launcher shows bprop's line only,
    not Open MPI's notice that a rank called abort."""
    script = tmp_path / "full.py"
    script.write_text(
        textwrap.dedent("""
        import sys
        from bprop import distributed as dist
        from bprop.cli import main
        from bprop.train import Trainer
        real = Trainer.train_step
        def fail_on_rank_1(self, x, y):
            if dist.rank() == 1 and self.step == 3:
                raise OSError(28, "No space left on device")
            return real(self, x, y)
        Trainer.train_step = fail_on_rank_1
        sys.exit(main(["train", "--epochs", "2", "--hidden", "8", "--quiet"]))
        """)
    )
    command = dist.launch_command(2, [str(script)])
    launcher = f"import sys; from bprop import distributed as d; sys.exit(d.run_launched({command!r}, d.worker_env()))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", launcher], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["bprop train: error: [Errno 28] No space left on device"], (
        result.stderr
    )


def _job_processes(marker: str) -> list[str]:
    """The command lines of live processes that mention ``marker`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    command = handle.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in command:
                found.append(f"{entry}: {command}")
    return found


@needs_mpi
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the job's processes through /proc")
@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_signal_to_the_launcher_ends_the_whole_job_and_saves(tmp_path, name):
    out = tmp_path / f"run-{name}"  # a name no other process mentions
    env = dict(dist.worker_env(), PYTHONPATH=os.pathsep.join(sys.path))
    command = [sys.executable, "-m", "bprop.cli", "train", "--workers", "2", "--epochs", "500", "--hidden", "8"]
    launcher = subprocess.Popen(
        [*command, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    deadline = time.monotonic() + 120
    while not (out / "last.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_job_processes(str(out))) >= 4  # the launcher, mpirun and two ranks
    err = _signal_and_wait(launcher, name, out)
    assert launcher.returncode == 128 + getattr(signal, name)
    assert err.strip().splitlines() == [
        f"bprop train: interrupted; the last complete step is saved: resume with `bprop train --out {out} --resume`"
    ], err
    saved = bp.load(out / "last.npz")
    assert not (out / ".bprop.lock").exists() and saved["step"] > 0


def _signal_and_wait(launcher: subprocess.Popen, name: str, out: Path) -> str:
    """Send the launcher signal ``name``; its stderr, once it and every process of the job are gone."""
    launcher.send_signal(getattr(signal, name))
    err = launcher.communicate(timeout=60)[1]
    deadline = time.monotonic() + 10
    while _job_processes(str(out)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _job_processes(str(out)) == []
    return err


# imported by every process of the job below (PYTHONPATH): each rank says when it reaches a phase
# and lingers there, so that the signal is sure to come while it starts or reads data
SLOW_RANKS = """
import os, time
rank = os.environ.get("OMPI_COMM_WORLD_RANK")
if rank is not None and os.environ.get("SLOW_PHASE"):
    mark = os.environ["SLOW_MARK"] + "-" + rank
    if os.environ["SLOW_PHASE"] == "starting":  # no signal handler of bprop's is set yet
        open(mark, "w").close()
        time.sleep(30)
    else:
        import sys
        import bprop.train.run
        run = sys.modules["bprop.train.run"]  # bprop.train.run is also the name of the function
        real = run.load_dataset
        def slow_load(*args, **kwargs):
            open(mark, "w").close()
            time.sleep(30)
            return real(*args, **kwargs)
        run.load_dataset = slow_load
"""


@needs_mpi
@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the job's processes through /proc")
@pytest.mark.parametrize("phase, name", [("starting", "SIGTERM"), ("loading", "SIGINT"), ("loading", "SIGTERM")])
def test_a_signal_while_the_ranks_start_or_read_data_is_one_line(tmp_path, phase, name):
    """Stopped before a step was taken, the job ends as one process does: bprop's one line, the
    signal's exit status, no Open MPI notice, no process of the job and no lock left."""
    (tmp_path / "sitecustomize.py").write_text(SLOW_RANKS)
    out, mark = tmp_path / f"run-{phase}-{name}", tmp_path / "reached"
    env = dict(
        dist.worker_env(), PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]), SLOW_PHASE=phase, SLOW_MARK=str(mark)
    )
    command = [sys.executable, "-m", "bprop.cli", "train", "--workers", "2", "--epochs", "5", "--out", str(out)]
    launcher = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not all(Path(f"{mark}-{rank}").exists() for rank in "01") and launcher.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    err = _signal_and_wait(launcher, name, out)
    assert launcher.returncode == 128 + getattr(signal, name), err
    assert err.strip().splitlines() == ["bprop train: interrupted; nothing was saved yet"], err
    assert not (out / ".bprop.lock").exists() and not (out / "last.npz").exists()


def test_the_launcher_hides_a_ranks_interrupted_line_even_after_a_stray_nul(capsys):
    """Open MPI may glue a NUL before the next line of a rank's stderr; the launcher's filter
    must still see "bprop train: interrupted" there (CI once printed it twice), and forwards
    other lines without the NUL."""
    from types import SimpleNamespace

    lines = ["\0bprop train: interrupted; nothing was saved yet\n", "\0\n", "\0epoch 1 of 5\n"]
    dist._forward_stderr(SimpleNamespace(stderr=iter(lines)), lambda: True)
    assert capsys.readouterr().err == "epoch 1 of 5\n"
    dist._forward_stderr(SimpleNamespace(stderr=iter(lines)), lambda: False)
    assert capsys.readouterr().err == "bprop train: interrupted; nothing was saved yet\nepoch 1 of 5\n"
