"""PyTorch weights in and out. bprop's layers use torch's parameter names and layouts (Linear
weight (out, in), Conv2d weight (out, in/groups, kh, kw), batch-norm running statistics, Embedding
weight, the recurrent layers' weight_ih_l0 … bias_hh_l{k}_reverse with torch's gate orders,
MultiheadAttention's in_proj_weight/in_proj_bias/out_proj, or q_/k_/v_proj_weight with kdim/vdim,
and bias_k/bias_v with add_bias_kv, the transformer's submodules), so an
equivalent architecture has identical state-dict keys and conversion is only a change of
array type. torch is imported only by ``to_torch``, when asked for tensors."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Mapping

import numpy as np

from bprop.nn.module import Module


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, possibly requiring grad
        value = value.detach().cpu()
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.array(value, copy=True)


def from_torch(state_dict: Mapping[str, Any]) -> OrderedDict[str, np.ndarray]:
    """A torch state dict (tensors, or anything with .numpy(), or arrays) as a bprop one:
    ``model.load_state_dict(from_torch(torch_model.state_dict()))``."""
    return OrderedDict((key, _to_numpy(value)) for key, value in state_dict.items())


def to_torch(model: Module | Mapping[str, Any], as_tensors: bool = True) -> OrderedDict[str, Any]:
    """A bprop model's (or state dict's) weights for torch:
    ``torch_model.load_state_dict(to_torch(model))``. With as_tensors=False the values stay
    NumPy arrays (no torch needed)."""
    state = model.state_dict() if isinstance(model, Module) else from_torch(model)
    if not as_tensors:
        return OrderedDict(state)
    try:
        import torch
    except ImportError:
        raise ImportError("to_torch(as_tensors=True) needs torch installed; pass as_tensors=False for arrays") from None
    return OrderedDict((key, torch.from_numpy(np.ascontiguousarray(value))) for key, value in state.items())
