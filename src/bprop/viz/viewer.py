"""``view``: a step-through viewer of one backward pass, as a single self-contained HTML page.

``bp.viz.view(loss, params, path)`` is called instead of ``loss.backward()``: it records the
graph that produced ``loss``, checks each small op locally against finite differences (as
``bp.gradcheck_graph`` does), runs the backward pass itself with a hook on every tensor to
catch the δ = ∂C/∂t arriving there, and writes the page. The ``.grad`` of every parameter is
what ``loss.backward()`` would have left.

The page lays the real tensor graph out by itself (no Graphviz, no network): leaves at the
top, each op one row below its deepest input. Buttons step forward through the ops, then
backward one node at a time, highlighting where δ flows and showing the op's backward formula
(written for display, per op), its value and δ as grids (every number for small tensors, a
summary for large ones; δ only once backward has reached the node), what each input receives,
and the local finite-difference check. Batch norm's γ and β and the loss's labels are named; a
bias that feeds batch norm says why its gradient is 0. ``lang="zh"`` writes it in Chinese.
"""

from __future__ import annotations

import html
import inspect
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bprop.autograd import Context, _topological_order
from bprop.graph_check import _check_node
from bprop.i18n import CATALOGUE, LANGUAGES, check_lang, text
from bprop.serialization import atomic_write_bytes
from bprop.tensor import Tensor
from bprop.viz.viewer_page import PAGE

SMALL = 64  # tensors with at most this many values show every value
CHECKED = 512  # ops whose inputs are all at most this large get the finite-difference check


@dataclass
class _Node:
    id: int
    kind: str  # "input", "param" or "op"
    label: str
    tensor: Tensor | None
    context: Context | None = None
    inputs: list[int] = field(default_factory=list)
    depth: int = 0
    delta: np.ndarray | None = None
    check: str = ""
    note: str = ""


def _numbers(a: np.ndarray | None) -> dict[str, Any] | None:
    """What the page shows of an array: every value when small, a summary always."""
    if a is None:
        return None
    a = np.asarray(a, dtype=np.float64)
    finite = a[np.isfinite(a)] if a.size else a
    summary = {
        "shape": list(a.shape),
        "norm": float(np.linalg.norm(finite)) if finite.size else 0.0,
        "mean": float(finite.mean()) if finite.size else 0.0,
        "min": float(finite.min()) if finite.size else 0.0,
        "max": float(finite.max()) if finite.size else 0.0,
    }
    flat = a.reshape(-1)
    summary["values"] = [float(v) for v in flat[:SMALL]] if a.size <= SMALL else [float(v) for v in flat[:8]]
    summary["complete"] = bool(a.size <= SMALL)
    return summary


def _formula(fn: type, lang: str = "en") -> str:
    """The op's backward written for display, in ``lang``; in English an op without one shows
    its docstring's first paragraph (the math), never text that refers to the rest of it."""
    if f"formula.{fn.__name__}" in CATALOGUE:
        return text(f"formula.{fn.__name__}", lang)
    if lang != "en":
        return text("viewer.no_formula", lang, op=fn.__name__)
    return inspect.cleandoc(fn.__doc__ or fn.__name__).split("\n\n")[0]


NORMS = ("BatchNormTrain", "BatchNormEval", "LayerNorm", "GroupNorm")


def _name_roles(nodes: list[_Node], lang: str) -> None:
    """γ and β of the norms and the labels of the losses named as such (before backward frees
    the graph's inputs)."""
    leaves = {id(n.tensor): n for n in nodes if n.kind != "op"}
    for node in nodes:
        if node.kind != "op":
            continue
        name = node.context.fn.__name__
        for position, x in enumerate(node.context.inputs):
            leaf = leaves.get(id(x))
            if name in NORMS and position in (1, 2) and leaf is not None and leaf.kind == "param":
                role = text("viewer.gamma" if position == 1 else "viewer.beta", lang, op=name)
                leaf.label = f"{'γ' if position == 1 else 'β'} ({leaf.label})"
                leaf.note = role
            if name in ("CrossEntropy", "NLLLoss") and position == 1 and isinstance(x, np.ndarray):
                node.note = text("viewer.labels", lang, labels=np.array2string(np.asarray(x), threshold=20))


def _explain_zero_bias(nodes: list[_Node], lang: str) -> None:
    """A parameter whose gradient is 0 because it feeds batch norm says why."""
    for leaf in nodes:
        if leaf.kind != "param" or leaf.delta is None or np.any(np.abs(leaf.delta) > 1e-12):
            continue
        consumers = [n for n in nodes if leaf.id in n.inputs]
        after = [n for c in consumers for n in nodes if c.id in n.inputs]
        if any(n.context is not None and n.context.fn.__name__ == "BatchNormTrain" for n in after):
            leaf.note = text("viewer.bias_before_bn", lang)


def _graph(loss: Tensor, params: dict[str, Tensor]) -> list[_Node]:
    """Every tensor of the graph (leaves and op outputs), in forward order, with depths."""
    names = {id(t): name for name, t in params.items()}
    order = list(reversed(_topological_order(loss.grad_fn)))
    nodes: list[_Node] = []
    by_tensor: dict[int, _Node] = {}
    outputs: dict[int, Tensor] = {id(loss.grad_fn): loss}
    for ctx in order:  # every op's output tensor appears as an input of its consumers
        for x in ctx.inputs:
            if isinstance(x, Tensor) and x.grad_fn is not None:
                outputs.setdefault(id(x.grad_fn), x)
    for ctx in order:
        input_ids = []
        for x in ctx.inputs:
            if not isinstance(x, Tensor):
                continue
            if x.grad_fn is None and id(x) not in by_tensor:
                kind = "param" if x.requires_grad else "input"
                leaf = _Node(len(nodes), kind, names.get(id(x), "parameter" if x.requires_grad else "input"), x)
                nodes.append(leaf)
                by_tensor[id(x)] = leaf
            key = id(x) if x.grad_fn is None else id(x.grad_fn)
            input_ids.append(by_tensor[key].id)
        out = outputs[id(ctx)]
        node = _Node(len(nodes), "op", ctx.fn.__name__, out, ctx, input_ids)
        node.depth = 1 + max((nodes[i].depth for i in input_ids), default=0)
        nodes.append(node)
        by_tensor[id(ctx)] = node
    for node in nodes:  # a leaf sits just above its first consumer
        if node.kind != "op":
            consumers = [n.depth for n in nodes if node.id in n.inputs]
            node.depth = max(0, min(consumers) - 1)
    return nodes


def _reached(nodes: list[_Node], steps: list[dict]) -> dict[int, int]:
    """The step from which each node's δ is shown: an op's own backward step (δ has arrived at
    its output), a leaf's first consumer's backward step."""
    own = {s["node"]: k for k, s in enumerate(steps) if s["phase"] == "backward"}
    reached = {}
    for node in nodes:
        if node.delta is None:
            continue
        if node.kind == "op":
            reached[node.id] = own[node.id]
        else:
            reached[node.id] = min(own[n.id] for n in nodes if node.id in n.inputs and n.id in own)
    return reached


def _layout(nodes: list[_Node]) -> dict[int, tuple[float, float]]:
    """Rows by depth, nodes of a row side by side in forward order."""
    rows: dict[int, list[_Node]] = {}
    for node in nodes:
        rows.setdefault(node.depth, []).append(node)
    return {
        node.id: (20 + 180 * column, 20 + 80 * depth) for depth, row in rows.items() for column, node in enumerate(row)
    }


def _record_backward(loss: Tensor, nodes: list[_Node]) -> None:
    """loss.backward() with a hook on every tensor that takes part, catching its δ."""
    handles = []
    for node in nodes:
        t = node.tensor
        if t is not None and t.requires_grad:

            def catch(grad: Tensor, node: _Node = node) -> None:
                delta = np.array(grad, dtype=np.float64)
                node.delta = delta if node.delta is None else node.delta + delta

            handles.append(t.register_hook(catch))
    try:
        loss.backward()
    finally:
        for handle in handles:
            handle.remove()
    if nodes[-1].delta is None:
        nodes[-1].delta = np.ones(loss.shape)


def view(
    loss: Tensor, params: dict[str, Tensor] | None = None, path: str | os.PathLike = "backprop.html", lang: str = "en"
) -> Path:
    """Run ``loss.backward()`` and write the step-through page of that pass to ``path``.

    ``params`` names the parameters in the drawing (``dict(model.named_parameters())``);
    ``lang`` is "en" or "zh"."""
    check_lang(lang)
    if not isinstance(loss, Tensor) or loss.grad_fn is None:
        raise ValueError("view: expected a loss computed from tensors that require grad (it has no graph)")
    if np.asarray(loss).size != 1:
        raise ValueError(f"view: the loss must be a scalar, got shape {tuple(loss.shape)}")
    if loss.grad_fn.freed:
        raise ValueError("view: this graph was freed by an earlier backward(); call view instead of backward")
    nodes = _graph(loss, params or {})
    values = {node.id: _numbers(np.asarray(node.tensor)) for node in nodes}  # before backward frees them
    rng = np.random.default_rng(0)
    for node in nodes:
        small = all(np.asarray(nodes[i].tensor).size <= CHECKED for i in node.inputs)
        if node.kind == "op" and small:
            row = _check_node(node.id, node.context, rng, 16, 1e-6)
            kinks = text("viewer.kinks", lang, count=row.kinks) if row.kinks else ""
            key = "viewer.agrees" if row.ok else "viewer.disagrees"
            node.check = text(key, lang, error=f"{row.max_rel_error:.1e}", kinks=kinks)
    _name_roles(nodes, lang)
    _record_backward(loss, nodes)
    _explain_zero_bias(nodes, lang)
    positions = _layout(nodes)
    ops = [n.id for n in nodes if n.kind == "op"]
    params_with_grad = [n.id for n in nodes if n.kind == "param" and n.delta is not None]
    steps = [{"phase": "forward", "node": i} for i in ops]
    steps += [{"phase": "backward", "node": i} for i in reversed(ops)]
    steps += [{"phase": "backward", "node": i} for i in params_with_grad]
    reached = _reached(nodes, steps)
    data = {
        "nodes": [
            {
                "id": n.id,
                "kind": n.kind,
                "label": n.label,
                "inputs": n.inputs,
                "x": positions[n.id][0],
                "y": positions[n.id][1],
                "value": values[n.id],
                "delta": _numbers(n.delta),
                "doc": _formula(n.context.fn, lang) if n.context is not None else "",
                "check": n.check,
                "note": n.note,
                "reached": reached.get(n.id),
            }
            for n in nodes
        ],
        "steps": steps,
        "loss": float(np.asarray(loss).reshape(-1)[0]),
        "text": {
            key.split(".", 1)[1]: texts[LANGUAGES.index(lang)]
            for key, texts in CATALOGUE.items()
            if key.startswith("viewer.")
        },
    }
    page = PAGE.replace("/*DATA*/null", json.dumps(data).replace("</", "<\\/")).replace('lang="en"', f'lang="{lang}"')
    page = page.replace("<!--TITLE-->", html.escape(text("viewer.title", lang, count=len(ops))))
    target = Path(path)
    atomic_write_bytes(target, page.encode("utf-8"))
    return target
