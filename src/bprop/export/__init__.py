"""Interoperability: PyTorch state dicts in and out, and ONNX export."""

from bprop.export.onnx_export import to_onnx
from bprop.export.torch_state import from_torch, to_torch

__all__ = ["from_torch", "to_onnx", "to_torch"]
