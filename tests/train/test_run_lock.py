"""One run per folder: the lock that ``run`` holds on its --out folder for the run's life."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from bprop.cli import main
from bprop.train.run_lock import LOCK_NAME, LockError, RunLock


def test_a_lock_is_exclusive_and_released(tmp_path):
    with RunLock(tmp_path / "run"):
        assert (tmp_path / "run" / LOCK_NAME).exists()
        with pytest.raises(LockError, match=rf"is in use by another run \(process {os.getpid()}, since"):
            RunLock(tmp_path / "run").acquire()
    assert not (tmp_path / "run").exists()  # made for the run and left empty: removed again


def test_a_stale_lock_is_reported_with_how_to_clear_it(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / LOCK_NAME).write_text(f"{dead.stdout.strip()} {socket.gethostname()} 1700000000\n")
    with pytest.raises(LockError, match=rf"holds a stale lock.*remove {tmp_path / LOCK_NAME} and try again"):
        RunLock(tmp_path).acquire()
    (tmp_path / LOCK_NAME).write_text("1 elsewhere 1700000000\n")
    with pytest.raises(LockError, match="in use by process 1 on elsewhere"):
        RunLock(tmp_path).acquire()


def test_two_runs_started_on_one_folder(tmp_path):
    """The second run gets one line and exit status 2; the first finishes, its files intact."""
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    command = [sys.executable, "-m", "bprop.cli", "train", "--epochs", "300", "--hidden", "8", "--out", str(out)]
    first = subprocess.Popen([*command, "--time-limit", "20", "--quiet"], stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while not (out / LOCK_NAME).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert second.returncode == 2, second.stderr
    assert second.stderr.strip().count("\n") == 0 and "is in use by another run (process" in second.stderr
    first.send_signal(signal.SIGTERM)  # ends at a step boundary, saves, releases the lock
    assert first.wait(timeout=60) == 128 + signal.SIGTERM, first.stderr.read()
    assert (out / "last.npz").exists() and not (out / LOCK_NAME).exists()
    assert main(["train", "--out", str(out), "--resume", "--epochs", "1000", "--time-limit", "0.5", "--quiet"]) == 0


def test_resuming_one_run_into_the_folder_of_another_is_refused(tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["train", "--epochs", "1", "--hidden", "8", "--out", str(a), "--quiet"]) == 0
    assert main(["train", "--epochs", "2", "--hidden", "8", "--out", str(b), "--quiet", "--seed", "1"]) == 0
    before = (b / "last.npz").read_bytes()
    capsys.readouterr()
    assert main(["train", "--resume", str(a / "last.npz"), "--out", str(b), "--epochs", "2"]) == 2
    assert "already holds another run (last.npz)" in capsys.readouterr().err
    assert (b / "last.npz").read_bytes() == before
    assert main(["train", "--resume", str(a / "last.npz"), "--out", str(tmp_path / "c"), "--epochs", "2"]) == 0
