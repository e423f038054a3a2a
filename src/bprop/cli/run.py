"""`bprop run SCRIPT.py [ARGS…]`: run an unchanged PyTorch CPU script on bprop (bprop.compat)."""

from __future__ import annotations

import argparse


def cmd_run(args: argparse.Namespace) -> int:
    from bprop.compat import run_script

    return run_script(args.script, args.args)


def add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("script", help="a PyTorch script: `import torch` in it gives bprop")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments (its sys.argv[1:])")
