"""Grad mode: whether ops record the graph (``no_grad``, ``enable_grad``, ``set_grad_enabled``).

The mode is per thread, as in torch; ``Function.apply`` reads it once per op."""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable


class _GradMode(threading.local):
    enabled = True


_grad_mode = _GradMode()


def is_grad_enabled() -> bool:
    return _grad_mode.enabled


class _GradModeSwitch:
    """Sets grad mode for a ``with`` block and restores the previous mode after it; called on a
    function, it decorates it (a fresh switch per call, so recursion and threads are safe)."""

    mode = True

    def __enter__(self) -> None:
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _grad_mode.enabled = self._previous

    def _fresh(self) -> _GradModeSwitch:
        return type(self)()

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeSwitch):  # noqa: N801 (torch's name)
    """Disable graph recording: ``with bp.no_grad(): ...`` or ``@bp.no_grad()``."""

    mode = False


class enable_grad(_GradModeSwitch):  # noqa: N801
    """Re-enable graph recording inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradModeSwitch):  # noqa: N801
    """Set grad mode to ``mode`` as torch does: at once, so that a plain call
    ``bp.set_grad_enabled(False)`` switches it off until switched back; with ``with`` the mode
    from before the call is restored on leaving; as a decorator it switches only inside calls.
    """

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self._previous = _grad_mode.enabled
        _grad_mode.enabled = self.mode

    def __enter__(self) -> None:
        _grad_mode.enabled = self.mode  # _previous was taken by the constructor

    def _fresh(self) -> _GradModeSwitch:
        return set_grad_enabled(self.mode)

    def __call__(self, fn: Callable) -> Callable:
        _grad_mode.enabled = self._previous  # decorating a function switches nothing yet
        return super().__call__(fn)


class inference_mode(_GradModeSwitch):  # noqa: N801
    """torch's inference_mode: no graph recording, as no_grad (bprop has no separate inference
    tensors to speed up); ``inference_mode(False)`` records as usual."""

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode

    def _fresh(self) -> _GradModeSwitch:
        return inference_mode(not self.mode)
