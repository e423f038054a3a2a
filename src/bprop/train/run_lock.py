"""The lock of a run folder: one run at a time writes in a folder.

Two runs on one ``--out`` would each write last.npz, best.npz and metrics.json over the other's,
and what survives would belong to neither. A run therefore creates ``.bprop.lock`` in its folder
(atomically: O_CREAT|O_EXCL) before it writes anything and removes it when it ends, on any exit
Python sees (a finished run, an error, Ctrl-C, SIGTERM). The file names the process that holds
it, so that a second run can say who holds the folder, and so that a lock left behind by a run
killed outright (SIGKILL, a power cut) is told apart from a live one and reported with the one
command that clears it; it is never removed silently, as the folder may be shared by machines
whose processes this one cannot see.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

LOCK_NAME = ".bprop.lock"


class LockError(Exception):
    """The folder is locked by another run (alive, or gone without releasing it); one line."""


class RunLock:
    """``with RunLock(folder, "--out"):`` holds ``folder`` for this process (creating the folder
    when needed, and removing it again on release if the run left it empty)."""

    def __init__(self, folder: Path, option: str = "--out"):
        self.folder, self.option = Path(folder), option
        self.path = self.folder / LOCK_NAME
        self.held = False
        self._created_folder = False

    def acquire(self) -> None:
        self._created_folder = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            self._remove_created_folder()
            raise LockError(self._held_by_other()) from None
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()} {socket.gethostname()} {int(time.time())}\n")
        self.held = True

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        self.path.unlink(missing_ok=True)
        self._remove_created_folder()

    def _remove_created_folder(self) -> None:
        if self._created_folder:
            try:
                self.folder.rmdir()  # only if empty: a run's files are never removed here
            except OSError:
                pass

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _held_by_other(self) -> str:
        where = f"{self.option} {self.folder}"
        try:
            pid_text, host, started = self.path.read_text().split()
            pid = int(pid_text)
            since = time.strftime("%Y-%m-%d %H:%M", time.localtime(int(started)))
        except (OSError, ValueError):  # being written this very moment, or damaged
            return (
                f"{where} is locked by another run ({self.path} names no process): wait for that run to end; "
                f"if none is running, remove {self.path} and try again"
            )
        if host != socket.gethostname():
            return (
                f"{where} is in use by process {pid} on {host} (since {since}): wait for it to end; "
                f"if no run uses the folder any more, remove {self.path} and try again"
            )
        if _alive(pid):
            return (
                f"{where} is in use by another run (process {pid}, since {since}): "
                "wait for it to end or give another folder"
            )
        return (
            f"{where} holds a stale lock: the run that took it (process {pid}, since {since}) was killed before it "
            f"could release it; if no run uses the folder, remove {self.path} and try again"
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True
