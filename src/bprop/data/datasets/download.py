"""Downloads with sha256 verification, resumption and a progress bar, written atomically:
bytes go to ``<file>.part`` (resumed with an HTTP Range request when it exists) and the file
is renamed into place only once its checksum matches."""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Sequence


class DatasetError(RuntimeError):
    """A data file is missing, corrupt, or could not be fetched; the message says which and how."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fetch(url: str, part: Path, show_progress: bool) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        resumed = response.status == 206
        total = int(response.headers.get("Content-Length", 0)) + (have if resumed else 0)
        with open(part, "ab" if resumed else "wb") as out:
            done = have if resumed else 0
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                done += len(block)
                if show_progress and total:
                    sys.stderr.write(f"\r  {part.name[:-5]}: {done / total:6.1%} of {total / 1e6:.1f} MB")
            if show_progress:
                sys.stderr.write("\n")


def download_file(urls: str | Sequence[str], path: str | os.PathLike, sha256: str, progress: bool = True) -> Path:
    """Fetch ``path`` from the first mirror that works and check its sha256; returns the path."""
    target = Path(path)
    if target.exists() and sha256_of(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    errors = []
    for url in [urls] if isinstance(urls, str) else list(urls):
        try:
            _fetch(url, part, progress and sys.stderr.isatty())
        except (urllib.error.URLError, OSError) as err:
            errors.append(f"{url}: {err}")
            continue
        actual = sha256_of(part)
        if actual == sha256:
            os.replace(part, target)
            return target
        part.unlink()
        errors.append(f"{url}: sha256 {actual} is not the expected {sha256}")
    raise DatasetError(f"could not download {target.name}: " + "; ".join(errors))


def require(path: Path, what: str, how: str) -> Path:
    if not path.exists():
        raise DatasetError(f"missing {path}: expected {what}. {how}")
    return path
