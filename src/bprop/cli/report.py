"""`bprop report`: rebuild report.html of a finished run."""

from __future__ import annotations

import argparse


def cmd_report(args: argparse.Namespace) -> int:
    from bprop.viz.report import write_run_report  # matplotlib loads only for this command

    print(f"wrote {write_run_report(args.run_dir, args.lang)}")
    return 0


def add_report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", help="the folder of a finished run (bprop train --out DIR or --report DIR)")
    p.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="language of the words, en or zh (Chinese) (default: en)"
    )
