"""Progress display: tqdm when it is installed and stderr is a terminal, otherwise one summary
line per epoch (or nothing when quiet). tqdm is optional: numpy stays the only dependency."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    def __init__(self, total_steps: int, epoch: int, epochs: int, quiet: bool = False):
        self.quiet, self.bar = quiet, None
        self.prefix = f"epoch {epoch}/{epochs}"
        if quiet or not sys.stderr.isatty():
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total_steps, desc=self.prefix, leave=False, dynamic_ncols=True, unit="batch")

    def update(self, **live: Any) -> None:
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in live.items()}, refresh=False)
            self.bar.update(1)

    def close(self, summary: dict[str, float]) -> None:
        if self.bar is not None:
            self.bar.close()
        if not self.quiet:
            parts = [f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in summary.items()
                     if k != "epoch"]
            print(f"{self.prefix}  " + "  ".join(parts), flush=True)
