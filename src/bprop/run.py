"""``python -m bprop.run SCRIPT.py [ARGS…]``: run a PyTorch script on bprop (see bprop.compat)."""

from __future__ import annotations

import sys

from bprop.compat.runner import run_script


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m bprop.run SCRIPT.py [ARGS...]  (runs a PyTorch script with torch resolved to bprop)")
        return 0 if argv else 2
    return run_script(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main())
