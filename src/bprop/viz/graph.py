"""draw_graph: the backward graph of a tensor as Graphviz DOT, rendered when Graphviz's ``dot``
program is there (through the ``graphviz`` package of the viz extra when installed).

Ops are boxes labelled with their name and output shape; leaves are ellipses named by their
module path (pass ``params=dict(model.named_parameters())``) or "input"; edges follow the data
(input → op → output). Small tensors show their values and, for leaves after a backward pass,
their gradients; large ones show mean/std/min/max.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from bprop.serialization import atomic_write_bytes
from bprop.tensor import Tensor

SMALL = 8  # tensors with at most this many elements show every value


def describe(array: np.ndarray | None, label: str) -> str:
    if array is None:
        return ""
    if array.size <= SMALL:
        return f"\\n{label} " + np.array2string(array.reshape(-1), precision=3, separator=",").replace("\n", "")
    return f"\\n{label} mean {array.mean():.3g} std {array.std():.3g}\\nmin {array.min():.3g} max {array.max():.3g}"


def draw_graph(
    output: Tensor, params: dict[str, Tensor] | None = None, show_values: bool = False, show_grads: bool = False
) -> str:
    """DOT source of the graph that produced ``output``, before or after backward (backward
    keeps the graph's structure; only leaves keep their values)."""
    names = {id(t): name for name, t in (params or {}).items()}
    out_id = f"t{id(output)}"
    values = describe(np.asarray(output), "=") if show_values else ""
    lines = [
        "digraph bprop {",
        '  rankdir=LR; node [fontname="Helvetica", fontsize=10];',
        f'  {out_id} [label="output {tuple(output.shape)}{values}", shape=ellipse, style=filled, fillcolor="#d8f0d8"];',
    ]
    if output.grad_fn is not None:
        lines.append(f"  n{id(output.grad_fn)} -> {out_id};")
    seen: set[int] = set()
    stack = [output]
    while stack:
        tensor = stack.pop()
        node = tensor.grad_fn
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        lines.append(
            f'  n{id(node)} [label="{node.fn.__name__}\\n{tuple(tensor.shape)}", shape=box, style=filled, '
            'fillcolor="#dde8f8"];'
        )
        for parent in node.inputs:
            if not isinstance(parent, Tensor):
                continue
            if parent.grad_fn is not None:
                lines.append(f"  n{id(parent.grad_fn)} -> n{id(node)};")
                stack.append(parent)
                continue
            leaf = f"t{id(parent)}"
            if id(parent) not in seen:
                seen.add(id(parent))
                default = "parameter" if parent.requires_grad else "input"
                text = f"{names.get(id(parent), default)} {tuple(parent.shape)}"
                text += describe(np.asarray(parent), "=") if show_values else ""
                text += describe(None if parent.grad is None else np.asarray(parent.grad), "grad") if show_grads else ""
                colour = "#f8e8c8" if parent.requires_grad else "#eeeeee"
                lines.append(f'  {leaf} [label="{text}", shape=ellipse, style=filled, fillcolor="{colour}"];')
            lines.append(f"  {leaf} -> n{id(node)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot: str, path: str | os.PathLike) -> Path:
    """Write ``path`` (.svg or .png) with Graphviz's ``dot`` when it is installed; otherwise write
    the .dot source beside it and say in one line how to render it. Returns what was written."""
    target = Path(path)
    fmt = target.suffix.lstrip(".") or "svg"
    if fmt == "dot" or shutil.which("dot") is None:
        source = target.with_suffix(".dot")
        atomic_write_bytes(source, dot.encode())
        if fmt != "dot":
            print(
                f"Graphviz's `dot` is not installed: wrote {source}; render it with "
                f"`dot -T{fmt} {source} -o {target}` (Debian: apt-get install graphviz)"
            )
        return source
    try:  # the graphviz package when installed (the viz extra), else the dot program directly
        import graphviz

        rendered = graphviz.Source(dot).pipe(format=fmt)
    except ImportError:
        rendered = subprocess.run(["dot", f"-T{fmt}"], input=dot.encode(), capture_output=True, check=True).stdout
    atomic_write_bytes(target, rendered)
    return target
