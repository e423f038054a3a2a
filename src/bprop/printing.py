"""How tensors print: ``bp.set_printoptions`` as torch's (precision 4 by default)."""

from __future__ import annotations

from typing import Any

_DEFAULTS = {"precision": 4, "threshold": 1000, "edgeitems": 3, "max_line_width": 80, "suppress_small": False}
OPTIONS: dict[str, Any] = dict(_DEFAULTS)  # np.array2string's keywords


def set_printoptions(
    precision: int | None = None,
    threshold: int | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Set how ``repr(tensor)`` prints; ``profile="default"`` restores torch's defaults
    (``"short"``: precision 2, ``"full"``: every element). ``sci_mode=False`` never uses
    scientific notation."""
    if profile is not None:
        OPTIONS.update(_DEFAULTS)
        OPTIONS.update({"short": {"precision": 2}, "full": {"threshold": 2**63 - 1}}.get(profile, {}))
    given = {"precision": precision, "threshold": threshold, "edgeitems": edgeitems, "max_line_width": linewidth}
    OPTIONS.update({k: v for k, v in given.items() if v is not None})
    if sci_mode is not None:
        OPTIONS["suppress_small"] = not sci_mode
