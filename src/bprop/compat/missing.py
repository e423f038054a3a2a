"""The error a torch name bprop lacks raises: an AttributeError (so ``hasattr`` and
``getattr(torch, name, default)`` keep working) that carries the full torch name."""

from __future__ import annotations


class NotInBpropError(AttributeError):
    """``torch.fft.rfft`` (say) asked for under bprop's torch, which has no such name."""

    def __init__(self, torch_name: str, reason: str = ""):
        self.torch_name, self.reason = torch_name, reason
        super().__init__(f"{torch_name} is not in bprop" + (f": {reason}" if reason else ""))


class ModuleNotInBpropError(ModuleNotFoundError):
    """``import torch.fft`` (or torchvision) under bprop's torch: a module bprop does not map."""

    def __init__(self, torch_name: str):
        super().__init__(f"{torch_name} is not in bprop", name=torch_name)
        self.torch_name, self.reason = torch_name, ""
