"""`bprop exercise`: write an op's forward with its backward left for the learner to derive."""

from __future__ import annotations

import argparse

from bprop.exercise import names, write_exercise


def cmd_exercise(args: argparse.Namespace) -> int:
    path = write_exercise(args.op, args.out, args.lang)
    if args.lang == "zh":
        print(f"已写入 {path}：{args.op} 的前向传播已经写好，反向传播留给你；写完后运行：bprop check {path} --lang zh")
    else:
        print(f"wrote {path}: {args.op}'s forward pass is done, its backward is yours; then run: bprop check {path}")
    return 0


def add_exercise_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("op", metavar="OP", help=f"the op to practise: {', '.join(names())}")
    p.add_argument("--out", required=True, metavar="FILE.py", help="where to write the exercise (a new file)")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the hints (default: en)")
