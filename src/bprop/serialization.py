"""bp.save / bp.load: state dicts and nested containers of arrays and numbers, in one .npz
file that ``np.load(path, allow_pickle=False)`` reads, so loading a file never runs code.

Arrays become the file's entries; the structure around them (dicts, lists, tuples, numbers,
strings, None) is kept as JSON in the entry ``__bprop_structure__``. Files are written to a
temporary file beside the target and renamed over it, so a crash never leaves half a file, and
an existing file is only replaced by a complete one.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np

from bprop.tensor import Tensor

STRUCTURE_KEY = "__bprop_structure__"


def _encode(obj: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(obj, Tensor):
        obj = obj._data
    if isinstance(obj, np.ndarray):
        if obj.dtype == object:
            raise TypeError("bp.save: object arrays cannot be stored without pickle")
        name = f"a{len(arrays)}"
        arrays[name] = obj
        return {"$array": name}
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if all(isinstance(k, str) for k in obj):
            return {"$dict": {k: _encode(v, arrays) for k, v in obj.items()}}
        return {"$items": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"$tuple": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, list):
        return [_encode(v, arrays) for v in obj]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(
        f"bp.save: cannot store a {type(obj).__name__}; use arrays, numbers, "
        "strings and dicts/lists/tuples of them (e.g. model.state_dict())"
    )


def _decode(node: Any, arrays: Any) -> Any:
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    if not isinstance(node, dict):
        return node
    if "$array" in node:
        return arrays[node["$array"]]
    if "$tuple" in node:
        return tuple(_decode(v, arrays) for v in node["$tuple"])
    if "$items" in node:
        return {_decode(k, arrays): _decode(v, arrays) for k, v in node["$items"]}
    return {k: _decode(v, arrays) for k, v in node["$dict"].items()}


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], Any]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it over ``path``.

    The rename is atomic, so readers see the old file or the complete new one, never a part;
    if ``write`` fails, the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as for any new file
    # (tempfile.mkstemp would leave every saved file readable by its owner only)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as err:  # name the file asked for: the temporary one means nothing to the caller
        raise type(err)(err.errno, f"cannot write {target}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    """Write ``payload`` to ``path`` atomically (see ``atomic_write``)."""
    atomic_write(path, lambda handle: handle.write(payload))


def save(obj: Any, path: str | os.PathLike) -> None:
    """Save a state dict (or any nest of dicts, lists, tuples, arrays, numbers and strings) to ``path``.

    Everything is encoded before the file is opened, so an unsupported value raises without
    touching ``path``; the arrays are then streamed into the file, not copied in memory.
    """
    arrays: dict[str, np.ndarray] = {}
    structure = json.dumps(_encode(obj, arrays))
    arrays[STRUCTURE_KEY] = np.frombuffer(structure.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda handle: np.savez(handle, **arrays))


def _is_empty(path: str | os.PathLike) -> bool:
    try:
        return os.path.getsize(path) == 0
    except OSError:
        return False


def load(path: str | os.PathLike) -> Any:
    """Load what ``save`` wrote. Never unpickles: a file holding objects is refused."""
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"bp.load: no file at {path}") from None
    except (OSError, EOFError, ValueError, zipfile.BadZipFile) as err:
        # NumPy takes any file that is neither .npy nor a zip for a pickle and suggests allow_pickle
        reason = "neither an .npz archive nor an .npy array" if "pickle" in str(err) else str(err)
        reason = "the file is empty" if _is_empty(path) else reason  # NumPy says "No data left in file"
        raise ValueError(f"bp.load: {path} is not a readable bprop file: {reason}") from None
    if not hasattr(archive, "files"):  # a plain .npy array
        raise ValueError(f"bp.load: {path} holds a bare array, not a file bp.save wrote")
    with archive:
        if STRUCTURE_KEY not in archive.files:
            raise ValueError(f"bp.load: {path} is an .npz file but not one bp.save wrote (no {STRUCTURE_KEY} entry)")
        try:
            structure = json.loads(archive[STRUCTURE_KEY].tobytes().decode("utf-8"))
            arrays = {name: archive[name] for name in archive.files if name != STRUCTURE_KEY}
            return _decode(structure, arrays)
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            # a truncated or tampered file, or one with object arrays that would need pickle
            raise ValueError(f"bp.load: {path} is damaged or not a bprop file: {err!r}") from None
