"""The package: `import bprop` loads the core only; the rest loads on first use; module names."""

import subprocess
import sys
import types
from pathlib import Path

import bprop as bp

SRC = Path(__file__).resolve().parents[1] / "src"
NOT_CORE = ("cs231n", "data", "distributed", "exercise", "export", "reference", "sklearn", "train", "viz", "cli")


def loaded_after(code: str) -> set[str]:
    """The bprop modules a fresh interpreter holds after running ``code``."""
    script = f"{code}\nimport sys\nprint(' '.join(m for m in sys.modules if m.startswith('bprop')))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(SRC)}
    )
    return set(out.stdout.split())


def test_import_bprop_loads_the_core_only():
    loaded = loaded_after("import bprop")
    assert "bprop.nn" in loaded and "bprop.optim" in loaded
    assert not {m for m in loaded if m.split(".")[1:2] and m.split(".")[1] in NOT_CORE}


def test_the_rest_loads_on_first_attribute_access():
    loaded = loaded_after("import bprop as bp\nassert callable(bp.viz.draw_graph)")
    assert "bprop.viz" in loaded and "bprop.export" not in loaded
    assert isinstance(bp.export, types.ModuleType) and callable(bp.export.to_onnx)
    assert isinstance(bp.train, types.ModuleType) and "viz" in dir(bp)


def test_every_subpackage_is_an_attribute_of_the_package():
    """`bp.exercise` (and every other subpackage or module under bprop/) answers as an attribute,
    as `np.linalg` does; `bp.exercise` used to be an AttributeError."""
    names = {p.stem for p in (SRC / "bprop").iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()}
    for name in sorted(names - {"__init__", "__main__"}):
        assert isinstance(getattr(bp, name), types.ModuleType | types.FunctionType), name


def test_an_unknown_attribute_is_an_attribute_error():
    try:
        bp.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:
        raise AssertionError("bp.no_such_thing did not raise")


def test_the_gradient_check_module_is_importable_beside_the_function():
    import bprop.gradient_check as module

    assert isinstance(module, types.ModuleType) and callable(module.numerical_gradient)
    assert bp.gradcheck is module.gradcheck  # bp.gradcheck stays torch's function


def test_the_check_modules_are_not_shadowed_by_their_functions():
    # `import bprop.X as m` binds the package attribute X: a function of the module's own name
    # would come back instead of the module
    import bprop.gradient_check as gradient_check
    import bprop.graph_check as graph_check

    assert isinstance(gradient_check, types.ModuleType) and isinstance(graph_check, types.ModuleType)
    assert callable(bp.gradcheck) and callable(bp.gradcheck_graph)
