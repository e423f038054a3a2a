"""Optimizer base: parameter groups, zero_grad, step and state dicts in torch's layout.

An optimizer owns ``param_groups`` — a list of dicts, each with ``'params'`` (a list of tensors)
and that group's hyper-parameters — and ``state``, a dict from parameter to that parameter's
buffers (momentum, running moments…). ``step()`` updates every parameter that has a ``.grad``.

Updates work on raw arrays in place (``param._data``, the state buffers and two reusable
workspaces per dtype, each as large as the largest parameter), so they build no autograd
graph, allocate nothing per step once warm, keep each parameter's dtype, and never modify
``.grad`` (a caller may still read it after the step).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable, Iterable

import numpy as np

from bprop.autograd import bump_version, enable_grad
from bprop.tensor import Tensor


class Optimizer:
    """Base class: subclasses define ``check_hyper_parameters`` and ``update``.

    ``params`` is an iterable of tensors, or of dicts ``{'params': [...], 'lr': …}`` whose
    missing hyper-parameters are taken from the defaults (per-group learning rates, say).
    """

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]):
        self.check_hyper_parameters(defaults)
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors "
                "or dicts, but got a Tensor (wrap it in a list)"
            )
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._workspaces: dict[tuple[int, np.dtype], np.ndarray] = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def check_hyper_parameters(self, group: dict[str, Any]) -> None:
        """Raise ValueError, with torch's message, for an invalid hyper-parameter of ``group``."""
        raise NotImplementedError

    def update(self, p: Tensor, group: dict[str, Any], state: dict[str, Any]) -> None:
        """Update ``p._data`` in place from ``p._grad._data`` (p.grad not None) and ``state`` (empty at first)."""
        raise NotImplementedError

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters, with its own hyper-parameters (defaults fill the rest)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError("can't optimize a non-leaf Tensor")
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        group = {**param_group, "params": params}
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self.check_hyper_parameters(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (``set_to_none``) or fill it with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p._grad._data.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter with a gradient; parameters whose ``.grad`` is None
        are skipped. ``closure`` (re-evaluating the loss, with backward) runs first and its
        value is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is not None:
                    self.update(p, group, self.state[p])
                    bump_version(p._version_counter)  # as torch: a graph saved before the step is stale
        return loss

    # ----- helpers for the in-place updates ----------------------------------------------
    def workspace(self, p: Tensor, slot: int) -> np.ndarray:
        """A scratch array shaped and typed like ``p``, reused across parameters and steps."""
        key = (slot, p._data.dtype)
        flat = self._workspaces.get(key)
        if flat is None or flat.size < p._data.size:
            flat = self._workspaces[key] = np.empty(p._data.size, dtype=p._data.dtype)
        return flat[: p._data.size].reshape(p._data.shape)

    def direction(self, p: Tensor, maximize: bool, weight_decay: float) -> np.ndarray:
        """g = ±∇ + λθ (the gradient as the update rules use it), in workspace 0 when it
        differs from ``p.grad``, which is never written to."""
        if not maximize and not weight_decay:
            return p._grad._data
        g = self.workspace(p, 0)
        if weight_decay:
            np.multiply(p._data, weight_decay, out=g)
            (np.subtract if maximize else np.add)(g, p._grad._data, out=g)
        else:
            np.negative(p._grad._data, out=g)
        return g

    def lerp_(self, avg: np.ndarray, g: np.ndarray, weight: float, tmp: np.ndarray) -> None:
        """avg ← avg + w·(g − avg), in torch's two forms (the second is exact for w near 1)."""
        np.subtract(g, avg, out=tmp)
        if abs(weight) < 0.5:
            tmp *= weight
            avg += tmp
        else:
            tmp *= 1 - weight
            np.subtract(g, tmp, out=avg)

    # ----- state dicts in torch's layout: parameters referred to by index ------------------
    def state_dict(self) -> dict[str, Any]:
        """``{'state': {index: {name: array or number}}, 'param_groups': [{…, 'params': [indices]}]}``.

        Indices number the parameters in group order; arrays are copies, so later steps do not
        change a state dict already taken. Everything is arrays, numbers, strings and tuples,
        which ``bp.save`` writes without pickle.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {
            index[id(p)]: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
            for p, s in self.state.items()
            if s and id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyper-parameters and state saved by ``state_dict`` (matched by position).

        State arrays are copied and cast to each parameter's dtype, so a float64 checkpoint
        resumes a float32 model in float32. A torch optimizer's state dict with its tensors
        turned into arrays (``.numpy()``) loads too.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(saved_groups)} parameter groups, "
                f"this {type(self).__name__} has {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"loaded state dict's parameter group {i} has {len(saved['params'])} "
                    f"parameters, the optimizer's {len(group['params'])}"
                )
            by_index.update(zip((int(k) for k in saved["params"]), group["params"]))
        state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            p = by_index[int(key)]
            state[p] = {name: _cast_state(value, p, int(key), name) for name, value in saved_state.items()}
        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            # keys the saved group lacks (an older file) keep their current values
            new_group = {**group, **{k: v for k, v in saved.items() if k != "params"}}
            new_group["params"] = group["params"]
            self.check_hyper_parameters(new_group)
            new_groups.append(new_group)
        self.param_groups, self.state = new_groups, state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join([*lines, ")"])


def _cast_state(value: Any, p: Tensor, index: int, name: str) -> Any:
    if not isinstance(value, np.ndarray):
        return value
    if value.ndim == 0 and p._data.ndim != 0:  # a counter kept as a 0-d array (torch keeps 'step' so)
        return value.item()
    if value.shape != p._data.shape:
        raise ValueError(
            f"loaded state '{name}' of parameter {index} has shape {value.shape}, the parameter {p._data.shape}"
        )
    return np.array(value, dtype=p._data.dtype, copy=True)


def check_non_negative(group: dict[str, Any], *names: str) -> None:
    """torch's checks ``0 <= value``, with its messages (``Invalid learning rate: -0.1``)."""
    labels = {"lr": "learning rate", "eps": "epsilon value"}
    for name in names:
        value = group[name]
        if not value >= 0.0:  # written so that NaN fails too
            raise ValueError(f"Invalid {labels.get(name, name + ' value')}: {value}")
