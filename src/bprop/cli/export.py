"""`bprop export`: a checkpoint's model as an ONNX file."""

from __future__ import annotations

import argparse

import numpy as np

from bprop.cli.common import check_writable_file
from bprop.train.run import (
    RunError,
    model_from_checkpoint,
)

ONNX_OPSETS = (17, 21)  # to_onnx writes opset ≥ 17; onnxruntime ≥ 1.18 runs up to 21


def cmd_export(args: argparse.Namespace) -> int:
    low, high = ONNX_OPSETS
    if not low <= args.opset <= high:
        raise RunError(f"--opset must be an integer in [{low}, {high}], got {args.opset}")
    model, config, state = model_from_checkpoint(args.checkpoint)
    check_writable_file(args.onnx, "--onnx")
    try:
        from bprop.export import to_onnx
    except ImportError as err:
        raise RunError(str(err)) from None
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
        "--opset", type=int, default=17, help=f"ONNX opset version, {ONNX_OPSETS[0]} to {ONNX_OPSETS[1]} (default: 17)"
    )
