"""The floors of DESIGN.md, enforced: no module imports from a floor above its own.

Every module under src/bprop is parsed with ``ast`` and every import it makes (at the top, inside
functions, under ``TYPE_CHECKING``) is mapped to the part of bprop it names (``bprop.nn.layers``
→ ``nn``). Each part may import only the parts listed for it in ``MAY_IMPORT``; the few imports
that break that rule on purpose are listed in ``EXCEPTIONS`` with the reason.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "bprop"

LEAVES = {
    "random",
    "runtime",
    "reference",
    "i18n",
    "dtypes",
    "devices",
    "dtype_names",
    "printing",
}  # numpy only; anything may use them
CORE = LEAVES | {"autograd", "ops", "tensor", "tensor_methods", "tensor_functions", "creation", "serialization"}
CHECKS = {"gradient_check", "graph_check", "profiler"}  # tools over the core, loaded by `import bprop`
BELOW_SHELL = CORE | CHECKS | {"nn", "optim", "data", "train", "distributed"}

MAY_IMPORT: dict[str, set[str]] = {
    "random": set(),
    "runtime": set(),
    "reference": set(),
    "i18n": set(),
    "dtypes": set(),
    "devices": set(),
    "dtype_names": set(),
    "printing": set(),
    "autograd": {"dtypes"},
    "ops": {"autograd", "dtypes", "random", "runtime"},
    "tensor": {"autograd", "ops", "dtypes", "tensor_methods", "devices", "printing"},
    "tensor_methods": {"ops", "devices"},
    "tensor_functions": {"autograd", "ops", "tensor"},
    "creation": {"autograd", "random", "tensor", "devices"},
    "serialization": {"tensor"},
    "gradient_check": CORE,
    "graph_check": CORE,
    "profiler": CORE,
    "nn": CORE,
    "optim": CORE,
    "data": CORE,
    "distributed": CORE | {"nn"},
    "train": CORE | CHECKS | {"nn", "optim", "data"},
    "viz": BELOW_SHELL,
    "export": CORE | {"nn"},
    "sklearn": CORE | {"nn", "optim"},
    "cs231n": CORE | CHECKS | {"data"},
    "exercise": CORE | CHECKS | {"cs231n"},
    "compat": CORE | {"nn", "optim", "data"},
    "run": {"compat"},
    "cli": BELOW_SHELL | {"compat"} | {"bprop", "viz", "export", "exercise", "cs231n", "sklearn"},
    "bprop": CORE | CHECKS | {"nn", "optim"},  # the package's __init__: the core only
}

EXCEPTIONS = {
    ("tensor_methods", "tensor"): "type hints only (under TYPE_CHECKING): the mixin's methods return Tensors",
    ("autograd", "tensor"): "Function.apply wraps an op's result in a Tensor; imported inside apply",
    ("train", "distributed"): "fit(distributed=True) averages gradients over MPI ranks; distributed needs only nn",
    ("train", "viz"): "run(config) with report= adds viz's RunReport callback, imported only then (matplotlib)",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str:
    """``bprop.nn.layers`` → ``nn``; the package itself → ``bprop``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "bprop"


# A class of any floor may render itself in a notebook through viz.notebook, imported inside its
# ``_repr_html_`` only: the markup lives in one module and nothing is imported until Jupyter asks.
RICH_DISPLAY = "bprop.viz.notebook"


def imported_modules(source: str, name: str, is_package: bool = False) -> set[str]:
    """Every bprop module the source of module ``name`` imports, anywhere in it, except
    ``RICH_DISPLAY`` imported inside a ``_repr_html_`` method.

    Relative imports are resolved against ``name``; ``from bprop import nn`` counts as ``bprop.nn``.
    """
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(source)
    in_repr_html = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "_repr_html_"
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in in_repr_html and isinstance(node, ast.ImportFrom) and node.module == RICH_DISPLAY:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found |= {f"{base}.{alias.name}" if base == "bprop" else base for alias in node.names}
    return {m for m in found if m == "bprop" or m.startswith("bprop.")}


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_part_of_bprop_has_a_floor():
    parts = {part_of(module_name(path)) for path in MODULES}
    assert parts <= set(MAY_IMPORT), f"parts with no floor in MAY_IMPORT: {sorted(parts - set(MAY_IMPORT))}"


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_no_module_imports_from_a_floor_above_it(path):
    name = module_name(path)
    own = part_of(name)
    imports = imported_modules(path.read_text(encoding="utf-8"), name, path.name == "__init__.py")
    wrong = sorted(
        target
        for target in imports
        if part_of(target) != own
        and part_of(target) not in MAY_IMPORT[own]
        and (own, part_of(target)) not in EXCEPTIONS
    )
    assert not wrong, f"{name} ({own}) imports from above its floor: {wrong}"


def test_the_checker_sees_imports_inside_functions_and_relative_ones():
    source = "from .. import nn\n\ndef f():\n    from ..tensor import Tensor\n    import bprop.train.fit\n"
    assert imported_modules(source, "bprop.ops.sample") == {"bprop.nn", "bprop.tensor", "bprop.train.fit"}
    assert imported_modules("from .layers import Linear\n", "bprop.nn", is_package=True) == {"bprop.nn.layers"}


def test_only_repr_html_may_import_the_notebook_renderings():
    inside = "class A:\n    def _repr_html_(self):\n        from bprop.viz.notebook import x\n"
    inside += "        import bprop.viz.plots\n"
    assert imported_modules(inside, "bprop.nn.summary") == {"bprop.viz.plots"}
    outside = "def table():\n    from bprop.viz.notebook import x\n"
    assert imported_modules(outside, "bprop.nn.summary") == {"bprop.viz.notebook"}
