"""Progress display for the fit loop.

On a terminal: a live bar per epoch with loss, accuracy and samples/s — tqdm's when tqdm is
installed, otherwise a small built-in one (numpy stays the only dependency). In Jupyter: tqdm's
notebook bar, a widget (with ipywidgets; without it no bar, as a text bar's every redraw would
stay in the notebook). Off a terminal (logs, CI) or when quiet: no bar. Unless quiet, one
summary line per epoch either way.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from typing import Any, TextIO


class TextBar:
    """A one-line bar redrawn with a carriage return, at most ten times a second."""

    def __init__(self, total: int, desc: str, stream: TextIO = sys.stderr, width: int = 24):
        self.total, self.desc, self.stream, self.width = total, desc, stream, width
        self.done, self.last_draw, self.postfix = 0, 0.0, ""

    def set_postfix(self, values: dict[str, str], refresh: bool = False) -> None:
        self.postfix = " ".join(f"{k}={v}" for k, v in values.items())

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last_draw >= 0.1 or self.done >= self.total:
            self.last_draw = now
            filled = int(self.width * self.done / max(self.total, 1))
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r{self.desc} [{bar}] {self.done}/{self.total} {self.postfix}\033[K")
            self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\033[K")
        self.stream.flush()


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), where stderr is no terminal but a
    notebook can draw a bar."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def make_bar(total: int, desc: str, notebook: bool = False) -> Any:
    """tqdm's bar (its notebook widget when ``notebook``), else TextBar."""
    try:
        from tqdm import tqdm
    except ImportError:
        return TextBar(total, desc)
    if notebook:
        from tqdm.notebook import tqdm as notebook_tqdm

        return notebook_tqdm(total=total, desc=desc, leave=False, unit="batch")
    return tqdm(total=total, desc=desc, leave=False, dynamic_ncols=True, unit="batch")


class Progress:
    def __init__(self, total_steps: int, epoch: int, epochs: int, quiet: bool = False):
        self.quiet = quiet
        self.prefix = f"epoch {epoch}/{epochs}"
        # in Jupyter, only tqdm's widget: a text bar's every redraw would be kept as an output
        notebook = in_notebook() and importlib.util.find_spec("ipywidgets") is not None
        shown = not quiet and (notebook or sys.stderr.isatty())
        self.bar = make_bar(total_steps, self.prefix, notebook) if shown else None

    def update(self, **live: Any) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in live.items()}, refresh=False)
            self.bar.update(1)

    def close(self, summary: dict[str, float] | None) -> None:
        """End the bar; print the epoch's summary line (None: the epoch stopped part-way)."""
        if self.bar is not None:
            self.bar.close()
        if not self.quiet and summary is not None:
            parts = [f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items() if k != "epoch"]
            print(f"{self.prefix}  " + "  ".join(parts), flush=True)
