"""Devices, as torch names them: bprop computes on the CPU only, so ``device("cpu")`` is the one
device there is. Scripts written for torch pass devices around (``x.to(device)``,
``torch.zeros(3, device=device)``); bprop accepts "cpu" in all those places and refuses any
other device with one line that says why, instead of silently computing somewhere else."""

from __future__ import annotations

from typing import Any


class device:  # noqa: N801 (torch's name)
    """``bp.device("cpu")`` (also "cpu:0"); any other type raises naming it."""

    __slots__ = ("index", "type")

    def __init__(self, type: Any = "cpu", index: int | None = None):
        if isinstance(type, device):
            index = type.index
        name, _, number = str(type).partition(":")
        check_device(name)
        self.type = "cpu"
        self.index = int(number) if number else index

    def __repr__(self) -> str:
        return "device(type='cpu')" if self.index is None else f"device(type='cpu', index={self.index})"

    def __str__(self) -> str:
        return "cpu" if self.index is None else f"cpu:{self.index}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return other.partition(":")[0] == "cpu"
        return isinstance(other, device)

    def __hash__(self) -> int:
        return hash("cpu")


def check_device(requested: Any) -> None:
    """Accept None, "cpu", "cpu:N" or a device; refuse "cuda", "mps" and the rest in one line."""
    if requested is None or isinstance(requested, device):
        return
    name = str(requested).partition(":")[0]
    if name != "cpu":
        raise RuntimeError(
            f"device {str(requested)!r} is not available: bprop runs on the CPU only "
            "(use 'cpu', or guard with torch.cuda.is_available(), which is False here)"
        )


def is_device(value: Any) -> bool:
    """Whether ``value`` names a device (so ``.to(value)`` means a move, not a dtype)."""
    return isinstance(value, device) or (isinstance(value, str) and value.partition(":")[0] in _DEVICE_TYPES)


_DEVICE_TYPES = frozenset({"cpu", "cuda", "mps", "xpu", "meta", "hip", "xla", "npu", "mtia"})


CPU = device("cpu")
