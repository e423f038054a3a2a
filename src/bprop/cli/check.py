"""`bprop check`: grade a learner's backward against bprop's and finite differences."""

from __future__ import annotations

import argparse

from bprop.exercise import check_file


def cmd_check(args: argparse.Namespace) -> int:
    report = check_file(args.file, seed=args.seed, lang=args.lang)
    print(report.format(args.lang))
    return 0 if report.ok else 1


def add_check_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE.py", help="an exercise written by `bprop exercise`, backward filled in")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default: 0)")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the report (default: en)")
