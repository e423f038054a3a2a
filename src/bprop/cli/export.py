"""`bprop export`: a checkpoint's model as an ONNX file."""

from __future__ import annotations

import argparse

import numpy as np

from bprop.export import OPSETS, check_opset, to_onnx
from bprop.train.paths import check_writable_file
from bprop.train.run import RunError, model_from_checkpoint


def cmd_export(args: argparse.Namespace) -> int:
    try:
        check_opset(args.opset)
    except ValueError as err:
        raise RunError(str(err)) from None
    model, config, state = model_from_checkpoint(args.checkpoint)
    check_writable_file(args.onnx, "--onnx")
    shape = state["config"]["input_shape"]
    example = np.zeros((1, *shape), dtype=np.float32)
    try:
        path = to_onnx(model, example, args.onnx, opset=args.opset)
    except ImportError as err:
        raise RunError(f"export needs the onnx extra: pip install 'bprop[onnx]' ({err})") from None
    print(f"wrote {path} ({config.model}, input (batch, {', '.join(map(str, shape))}), opset {args.opset})")
    return 0


def add_export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("checkpoint", help="a .npz checkpoint written by `bprop train --out`")
    p.add_argument("--onnx", required=True, metavar="FILE", help="where to write the ONNX model")
    p.add_argument(
        "--opset", type=int, default=17, help=f"ONNX opset version, {OPSETS[0]} to {OPSETS[1]} (default: 17)"
    )
