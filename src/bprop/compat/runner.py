"""Run a PyTorch script on bprop: torch's modules are installed (torch_tree), the script runs as
``__main__`` with its own argv, and what goes wrong is told in one line naming the script line:

- a torch name bprop lacks (``torch.fft.rfft``, ``import torchvision``, a Tensor method, an
  argument a bprop function does not take): ``bprop run: torch.fft.rfft is not in bprop
  (train.py:41)``, exit status 2;
- an error raised inside bprop (a shape that does not fit, a device other than the CPU): the
  error's one line and the script line, exit status 1;
- an error in the script's own code: its traceback without bprop's frames, exit status 1.
"""

from __future__ import annotations

import os
import re
import runpy
import sys
import traceback
import types
from pathlib import Path
from typing import Any

from bprop.compat.missing import ModuleNotInBpropError, NotInBpropError
from bprop.compat.torch_tree import TREE, install_torch

EXIT_MISSING, EXIT_ERROR, EXIT_INTERRUPTED = 2, 1, 130
_BPROP = str(Path(__file__).resolve().parents[1])  # bprop's own files: their frames are not shown
_PYTHON = tuple(str(Path(p).resolve()) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})


def run_script(path: str, args: list[str] | None = None) -> int:
    """Run the script at ``path`` with ``sys.argv = [path, *args]`` on bprop's torch; returns
    the exit status (0 when it ran to the end)."""
    script = Path(path)
    if not script.is_file():
        print(f"bprop run: no script at {path}", file=sys.stderr)
        return EXIT_MISSING
    install_torch()
    saved_argv, saved_path = sys.argv, list(sys.path)
    sys.argv = [str(script), *(args or [])]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as end:
        return end.code if isinstance(end.code, int) else (0 if end.code is None else _say(str(end.code), 1))
    except KeyboardInterrupt:
        return _say("interrupted", EXIT_INTERRUPTED)
    except BaseException as err:
        return report(err)
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    return 0


def report(err: BaseException) -> int:
    """Print what went wrong as the module docstring says; return the exit status."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if _is_users(f.filename)]
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    missing = missing_name(err, raised_in_script=_raised_in_script(err))
    if missing is not None:
        missing = _as_written(missing, frames[-1].line if frames else "")
        reason = getattr(err, "reason", "")
        return _say(f"{missing} is not in bprop{': ' + reason if reason else ''}{where}", EXIT_MISSING)
    if not _raised_in_script(err):
        return _say(f"{type(err).__name__}: {err}{where}", EXIT_ERROR)
    sys.stderr.write("Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)))
    sys.stderr.write("".join(traceback.format_exception_only(type(err), err)))
    return EXIT_ERROR


def missing_name(err: BaseException, raised_in_script: bool) -> str | None:
    """The torch name behind ``err`` when it means that bprop lacks something, else None."""
    if isinstance(err, (NotInBpropError, ModuleNotInBpropError)):
        return err.torch_name
    if isinstance(err, ImportError) and err.name in TREE:  # from torch import fft
        found = re.search(r"cannot import name '(\w+)'", str(err))
        return f"{err.name}.{found.group(1)}" if found else None
    if isinstance(err, AttributeError) and _is_bprop_object(getattr(err, "obj", None)):
        return f"{_torch_class(err.obj)}.{err.name}"
    if isinstance(err, TypeError) and raised_in_script:  # a call's arguments, refused at the boundary
        found = re.match(r"([\w.]+)\(\) got an unexpected keyword argument '(\w+)'", str(err))
        owner = _torch_owner(found.group(1).removesuffix(".__init__").split(".")[0]) if found else None
        if owner is not None:
            return f"{owner}({found.group(2)}=…)"
    return None


def _as_written(name: str, line: str | None) -> str:
    """The dotted name as the script line spells it past the missing part (torch.fft → torch.fft.rfft)."""
    found = re.search(re.escape(name) + r"(\.\w+)*", line or "")
    return found.group(0) if found else name


def _is_bprop_object(obj: Any) -> bool:
    cls = obj if isinstance(obj, type) else type(obj)
    return not isinstance(obj, types.ModuleType) and cls.__module__.startswith("bprop.")


def _torch_class(obj: Any) -> str:
    """torch's name for the class of a bprop object (Tensor → torch.Tensor, Linear → torch.nn.Linear):
    the torch module whose bprop source holds the class most closely."""
    cls = obj if isinstance(obj, type) else type(obj)
    best, depth = "torch", 0
    for torch_name, (sources, _) in TREE.items():
        for source in sources:
            if cls.__module__.startswith(source + ".") and len(source) > depth:
                best, depth = torch_name, len(source)
    return f"{best}.{cls.__name__}"


def _torch_owner(name: str) -> str | None:
    """The torch name of the bprop function or class ``name`` (None when it is not bprop's)."""
    for torch_name, (sources, _) in TREE.items():
        for source in sources:
            value = getattr(sys.modules.get(source), name, None)
            if value is not None and getattr(value, "__module__", "").startswith("bprop"):
                return f"{torch_name}.{name}"
    return None


def _raised_in_script(err: BaseException) -> bool:
    """Whether the innermost frame of the error is the user's (not bprop's, not Python's)."""
    last = traceback.extract_tb(err.__traceback__)[-1:]
    return bool(last) and _is_users(last[0].filename)


def _is_users(filename: str) -> bool:
    if filename.startswith("<"):
        return False
    resolved = os.path.realpath(filename)
    return not resolved.startswith(_BPROP) and not resolved.startswith(_PYTHON)


def _say(line: str, status: int) -> int:
    print(f"bprop run: {line}", file=sys.stderr)
    return status
