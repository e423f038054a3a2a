"""Downloads with sha256 verification, resumption and a progress bar, written atomically:
bytes go to ``<file>.part`` (resumed with an HTTP Range request when it exists) and the file
is renamed into place only once its checksum matches."""

from __future__ import annotations

import hashlib
import os
import sys
import time
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
    """Append the rest of ``url`` to ``part`` (all of it when the server ignores the Range)."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        resumed = response.status == 206
        done = have if resumed else 0
        total = int(response.headers.get("Content-Length", 0)) + done
        start = time.perf_counter()
        with open(part, "ab" if resumed else "wb") as out:
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                done += len(block)
                if show_progress and total:
                    rate = (done - (have if resumed else 0)) / max(time.perf_counter() - start, 1e-9)
                    sys.stderr.write(
                        f"\r  {part.name[:-5]}: {done / total:6.1%} of {total / 1e6:.1f} MB "
                        f"({rate / 1e6:.1f} MB/s)\033[K"
                    )
            if show_progress:
                sys.stderr.write("\n")


def _try_mirror(url: str, part: Path, sha256: str, show_progress: bool) -> str:
    """Fetch ``url`` into ``part``; '' when its sha256 matches, else why not. A resumed file
    that does not match is fetched once more from scratch (its first part may be stale)."""
    for _ in range(2):
        resuming = part.exists()
        try:
            _fetch(url, part, show_progress)
        except urllib.error.HTTPError as err:
            if not (err.code == 416 and resuming):  # 416: the .part already holds the whole file
                return f"{url}: {err}"
        except (urllib.error.URLError, OSError) as err:
            return f"{url}: {err}"
        actual = sha256_of(part)
        if actual == sha256:
            return ""
        part.unlink()
        if not resuming:
            return f"{url}: sha256 {actual} is not the expected {sha256}"
    return f"{url}: sha256 does not match even after a fresh download"


def download_file(urls: str | Sequence[str], path: str | os.PathLike, sha256: str, progress: bool = True) -> Path:
    """Fetch ``path`` from the first mirror that works and check its sha256; returns the path.

    A file already at ``path`` with the right checksum is kept. Bytes go to ``path.part``,
    which a later call resumes (HTTP Range), and are renamed to ``path`` only when complete
    and verified. The progress line goes to stderr, on a terminal only.
    """
    target = Path(path)
    if target.is_file() and sha256_of(target) == sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    mirrors = [urls] if isinstance(urls, str) else list(urls)
    errors = []
    for url in mirrors:
        error = _try_mirror(url, part, sha256, progress and sys.stderr.isatty())
        if not error:
            os.replace(part, target)
            return target
        errors.append(error)
    raise DatasetError(
        f"could not download {target}: "
        + "; ".join(errors)
        + f". Fetch it by hand from {mirrors[0]} (sha256 {sha256}) and put it at {target}"
    )
