"""torch's modules as views of bprop's: ``torch.nn`` answers from ``bprop.nn``, ``torch.optim``
from ``bprop.optim`` and so on (``TREE``), plus the few names only torch scripts need (``cuda``,
``backends``, ``accelerator``: no accelerator here). A name no source has raises
``NotInBpropError("torch.nn.Foo")``; ``import torch.fft`` or ``import torchvision`` raise
``ModuleNotInBpropError``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import math
import sys
import types
from typing import Any

import numpy as np

from bprop import dtype_names
from bprop.compat.missing import ModuleNotInBpropError, NotInBpropError
from bprop.devices import check_device


def _false(*args: Any, **kwargs: Any) -> bool:
    return False


def _zero(*args: Any, **kwargs: Any) -> int:
    return 0


def _nothing_to_seed(seed: int) -> None:
    """torch.cuda.manual_seed: there is no CUDA generator here to seed."""


def _set_default_device(device: Any) -> None:
    check_device(device)


def _get_default_dtype() -> type:
    return np.float32


def _set_default_dtype(dtype: Any) -> None:
    if np.dtype(dtype) != np.float32:
        raise NotInBpropError(f"torch.set_default_dtype({np.dtype(dtype)})")


# torch module name -> (bprop modules it answers from, in order; names only torch has)
TREE: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "torch": (
        ("bprop",),
        {
            "Size": tuple,
            "pi": math.pi,
            "e": math.e,
            "inf": math.inf,
            "nan": math.nan,
            "set_default_device": _set_default_device,
            "get_default_dtype": _get_default_dtype,
            "set_default_dtype": _set_default_dtype,
        },
    ),
    "torch.nn": (("bprop.nn",), {}),
    "torch.nn.functional": (("bprop.nn.functional",), {}),
    "torch.nn.init": (("bprop.nn.init",), {}),
    "torch.nn.utils": (("bprop.nn.utils",), {}),
    "torch.optim": (("bprop.optim",), {}),
    "torch.optim.lr_scheduler": (("bprop.optim.lr_scheduler",), {}),
    "torch.utils": ((), {}),
    "torch.utils.data": (("bprop.data",), {}),
    "torch.autograd": (("bprop.autograd",), {}),
    "torch.cuda": (
        (),
        {
            "is_available": _false,
            "device_count": _zero,
            "manual_seed": _nothing_to_seed,
            "manual_seed_all": _nothing_to_seed,
        },
    ),
    "torch.backends": ((), {}),
    "torch.backends.mps": ((), {"is_available": _false, "is_built": _false}),
    "torch.backends.cudnn": (
        (),
        {"is_available": _false, "enabled": False, "deterministic": False, "benchmark": False},
    ),
    "torch.accelerator": ((), {"is_available": _false, "device_count": _zero, "current_accelerator": lambda: None}),
}

# top-level packages scripts import next to torch that bprop does not replace
NEIGHBOURS = ("torchvision", "torchaudio", "torchtext", "torchdata")


class TorchModule(types.ModuleType):
    """One torch module answering from bprop modules; what none has raises NotInBpropError."""

    def __init__(self, name: str, sources: tuple[str, ...], extras: dict[str, Any]):
        super().__init__(name, f"torch's {name} mapped onto bprop")
        self.__path__: list[str] = []  # a package, so `import torch.fft` asks the finder below
        self._sources = sources
        self.__dict__.update(extras)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        for source in self._sources:
            module = importlib.import_module(source)
            if _offers(module, name):
                return getattr(module, name)
        if self.__name__ == "torch" and name in dtype_names.UNSUPPORTED:
            raise NotInBpropError(
                f"torch.{name}", f"{dtype_names.UNSUPPORTED[name]}, bprop computes in float32 and float64"
            )
        raise NotInBpropError(f"{self.__name__}.{name}")

    def __dir__(self) -> list[str]:
        names = set(self.__dict__)
        for source in self._sources:
            names |= set(dir(importlib.import_module(source)))
        return sorted(n for n in names if not n.startswith("_"))


def _offers(module: types.ModuleType, name: str) -> bool:
    """Whether ``name`` is part of what ``module`` offers: in its ``__all__`` when it has one,
    else a public name defined there (not a module or helper it merely imported)."""
    if name.startswith("_"):
        return False
    if hasattr(module, "__all__"):
        return name in module.__all__
    value = vars(module).get(name)
    if value is None:
        return False
    home = getattr(value, "__module__", module.__name__)
    return not isinstance(value, types.ModuleType) and (home or "").startswith("bprop")


class _TorchFinder(importlib.abc.MetaPathFinder):
    """Refuses torch modules outside TREE (``import torch.fft``) and torchvision & co."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        top = fullname.partition(".")[0]
        if (top == "torch" and fullname not in TREE) or top in NEIGHBOURS:
            raise ModuleNotInBpropError(fullname)
        return None


_FINDER = _TorchFinder()


def install_torch() -> types.ModuleType:
    """Make ``import torch`` (and torch.nn, torch.optim, …) give bprop from now on in this
    process; returns the torch module. Refuses when the real torch is already imported."""
    current = sys.modules.get("torch")
    if current is not None and not isinstance(current, TorchModule):
        raise RuntimeError("install_torch: the real torch is already imported in this process; call it first")
    modules = {name: TorchModule(name, sources, extras) for name, (sources, extras) in TREE.items()}
    for name, module in modules.items():
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(modules[parent], child, module)
    sys.modules.update(modules)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return modules["torch"]


def uninstall_torch() -> None:
    """Undo install_torch: ``import torch`` finds the real torch (if installed) again."""
    for name in TREE:
        if isinstance(sys.modules.get(name), TorchModule):
            del sys.modules[name]
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
