"""Interoperability: PyTorch state dicts in and out, and ONNX export."""

from bprop.export.onnx_export import OPSETS, check_opset, to_onnx
from bprop.export.torch_state import from_torch, to_torch

__all__ = ["OPSETS", "check_opset", "from_torch", "to_onnx", "to_torch"]
