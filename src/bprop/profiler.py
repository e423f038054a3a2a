"""A per-op profiler: where a step's time and memory go, op by op.

    with bp.profile() as prof:
        loss_fn(model(x), y).backward()
    print(prof.table())

While the block runs, every ``Function.apply`` (forward) and every node that ``backward()``
visits (backward) is timed and counted under its op's name. Bytes are NumPy's allocations
seen by ``tracemalloc`` (NumPy reports every array buffer to it): for each call, the
high-water mark of memory above what was in use when the call started, i.e. the op's output
plus its temporaries at their peak. Outside a ``profile`` block the engine pays one ``is None``
check per op and per backward node: zero cost when off.

How to read the table: rows are sorted by total time (forward + backward); ``calls`` counts
forward and backward calls separately (an op whose inputs need no gradient has no backward),
``mean`` is per call, ``%`` is the op's share of the time spent inside ops, and the last line
says how much of the block's wall time that was (the rest is Python between ops: the
optimizer, data handling, the graph walk itself).
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from typing import Any, Callable

from bprop.autograd import function as autograd_function


@dataclass
class OpStats:
    """Accumulated figures of one op over a profile block."""

    name: str
    forward_calls: int = 0
    forward_seconds: float = 0.0
    backward_calls: int = 0
    backward_seconds: float = 0.0
    peak_bytes: int = 0  # the largest high-water mark of one call, forward or backward
    bytes_allocated: int = 0  # summed over calls: each call's high-water mark above its start

    @property
    def total_seconds(self) -> float:
        return self.forward_seconds + self.backward_seconds

    @property
    def calls(self) -> int:
        return self.forward_calls + self.backward_calls


class profile:  # noqa: N801 (a context manager named like torch.profiler.profile)
    """Records per-op forward/backward calls, time and bytes while the ``with`` block runs.

    ``memory=False`` skips tracemalloc (its bookkeeping slows Python's small allocations, and
    so the Python-heavy part of a step, by some percent); bytes then read 0.
    """

    def __init__(self, memory: bool = True) -> None:
        self.memory = memory
        self.stats: dict[str, OpStats] = {}
        self.wall_seconds = 0.0
        self._started_tracing = False
        self._start = 0.0

    def __enter__(self) -> profile:
        if autograd_function._profiler is not None:
            raise RuntimeError("bp.profile: profiles do not nest; one is already active")
        if self.memory and not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started_tracing = True
        autograd_function._profiler = self
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall_seconds += time.perf_counter() - self._start
        autograd_function._profiler = None
        if self._started_tracing:
            tracemalloc.stop()
            self._started_tracing = False

    def timed(self, fn: type, phase: str) -> Callable[..., Any]:
        """``fn.forward`` or ``fn.backward`` wrapped so that its call is recorded (the engine's
        hook: called only while a profile is active)."""
        method = getattr(fn, phase)
        stats = self.stats.get(fn.__name__)
        if stats is None:
            stats = self.stats[fn.__name__] = OpStats(fn.__name__)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.memory:
                before = tracemalloc.get_traced_memory()[0]
                tracemalloc.reset_peak()
            start = time.perf_counter()
            result = method(*args, **kwargs)
            seconds = time.perf_counter() - start
            if self.memory:
                grown = max(tracemalloc.get_traced_memory()[1] - before, 0)
                stats.bytes_allocated += grown
                stats.peak_bytes = max(stats.peak_bytes, grown)
            if phase == "forward":
                stats.forward_calls += 1
                stats.forward_seconds += seconds
            else:
                stats.backward_calls += 1
                stats.backward_seconds += seconds
            return result

        return call

    def table(self, limit: int | None = None) -> str:
        """The per-op figures as a text table, slowest op first; the memory columns only when
        memory was recorded."""
        rows = sorted(self.stats.values(), key=lambda s: s.total_seconds, reverse=True)
        in_ops = sum(s.total_seconds for s in rows)
        header = (
            f"{'op':<20} {'fwd calls':>9} {'fwd ms':>9} {'fwd mean':>9} {'bwd calls':>9} {'bwd ms':>9} "
            f"{'bwd mean':>9} {'total ms':>9} {'%':>6}" + (f" {'MB alloc':>9} {'peak MB':>8}" if self.memory else "")
        )
        lines = [header, "-" * len(header)]
        for s in rows[:limit]:
            lines.append(
                f"{s.name:<20} {s.forward_calls:>9} {s.forward_seconds * 1e3:>9.2f} "
                f"{_mean_ms(s.forward_seconds, s.forward_calls):>9} {s.backward_calls:>9} "
                f"{s.backward_seconds * 1e3:>9.2f} {_mean_ms(s.backward_seconds, s.backward_calls):>9} "
                f"{s.total_seconds * 1e3:>9.2f} {100 * s.total_seconds / max(in_ops, 1e-12):>6.1f}"
                + (f" {s.bytes_allocated / 2**20:>9.1f} {s.peak_bytes / 2**20:>8.2f}" if self.memory else "")
            )
        share = 100 * in_ops / self.wall_seconds if self.wall_seconds else 0.0
        lines.append(
            f"time in ops {in_ops * 1e3:.1f} ms of {self.wall_seconds * 1e3:.1f} ms wall time ({share:.0f}%)"
            + ("; times inflated by tracemalloc's bookkeeping (memory=True)" if self.memory else "")
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.table()

    def _repr_html_(self) -> str:
        from bprop.viz.notebook import profile_html

        return profile_html(self)


def _mean_ms(seconds: float, calls: int) -> str:
    return f"{seconds * 1e3 / calls:.3f}" if calls else "-"
