"""The lessons as a reader meets them: every notebook runs top to bottom in a fresh kernel without
an error, and its page, rendered by nbconvert, works in Chromium — the viewer's buttons included.

The kernel is this test run's own Python with this checkout's ``src`` first on its path, so the
notebooks import the bprop under test (a fresh CI venv or a developer's). Lesson 01 in both
languages runs in ``make test``; the others are slow tests. Each notebook's run time is printed
(``pytest -s``).
"""

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ROOT / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("*/*.ipynb"))
FAST = "01-"  # lesson 01 runs in `make test`, the rest with the slow tests
CHROMIUM = "/usr/bin/chromium"
LIMIT = 120  # seconds: a lesson runs top to bottom in under two minutes


def _param(path: Path):
    marks = [] if path.name.startswith(FAST) else [pytest.mark.slow]
    return pytest.param(path, marks=marks, id=f"{path.parent.name}/{path.stem}")


@pytest.fixture(scope="session")
def kernels(tmp_path_factory) -> Path:
    """A kernelspec folder with one kernel: this Python, this checkout's bprop."""
    folder = tmp_path_factory.mktemp("kernels")
    spec = folder / "bprop-lessons"
    spec.mkdir()
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    env = {"PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "bprop", "language": "python", "env": env})
    )
    return folder


_executed: dict[Path, tuple[object, float]] = {}


def execute(path: Path, kernels: Path):
    """The notebook run in a fresh kernel from its own folder (cached for the session)."""
    if path not in _executed:
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager

        nb = nbformat.read(path, as_version=4)
        manager = KernelManager(
            kernel_name="bprop-lessons", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)])
        )
        client = nbclient.NotebookClient(
            nb, km=manager, timeout=LIMIT, resources={"metadata": {"path": str(path.parent)}}
        )
        start = time.perf_counter()
        client.execute()
        _executed[path] = (nb, time.perf_counter() - start)
    return _executed[path]


def test_there_are_four_lessons_in_each_language():
    names = {lang: sorted(p.name for p in (LESSONS / lang).glob("*.ipynb")) for lang in ("en", "zh")}
    assert len(names["en"]) == 4 and names["en"] == names["zh"], names


def test_the_notebooks_are_what_build_py_writes():
    done = subprocess.run([sys.executable, str(LESSONS / "build.py"), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr + "\nrun: python lessons/build.py"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parent.name == "en"], ids=lambda p: p.stem)
def test_both_languages_have_the_same_cells(path):
    en, zh = (nbformat.read(LESSONS / lang / path.name, as_version=4) for lang in ("en", "zh"))
    assert [c.cell_type for c in en.cells] == [c.cell_type for c in zh.cells]
    for a, b in zip(en.cells, zh.cells):
        if a.cell_type == "code":  # the same code; only comments and printed words may differ
            assert len(a.source.splitlines()) == len(b.source.splitlines()), a.source
        else:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in b.source), f"not Chinese: {b.source[:80]}"
            assert "，" in b.source or "。" in b.source or b.source.startswith("#"), b.source[:80]


@pytest.mark.parametrize("path", [_param(p) for p in NOTEBOOKS])
def test_the_lesson_runs_top_to_bottom_in_a_fresh_kernel(path, kernels):
    nb, seconds = execute(path, kernels)  # raises CellExecutionError, naming the cell, on any error
    print(f"\n{path.relative_to(ROOT)}: {seconds:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code" and c.source.strip())


def _chromium() -> str:
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if found is None:
        pytest.skip("Chromium is not installed")
    return found


@pytest.mark.parametrize("path", [_param(p) for p in NOTEBOOKS if p.name.startswith("01-")])
def test_the_rendered_lesson_works_in_chromium(path, kernels, tmp_path):
    """nbconvert's page of the executed lesson, offline: the CDN scripts its template names
    (MathJax, require.js) are answered with empty files, as a reader without network gets nothing."""
    sync = pytest.importorskip("playwright.sync_api")
    from nbconvert import HTMLExporter

    nb, _ = execute(path, kernels)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    page_file = tmp_path / "lesson.html"
    page_file.write_text(body, encoding="utf-8")
    with sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.route(
            re.compile(r"^https?://"), lambda route: route.fulfill(status=200, body="", content_type="text/javascript")
        )
        page.goto(page_file.as_uri())
        page.wait_for_load_state("load")
        assert "0.298371109" in page.inner_text("body")
        explain = page.frame_locator("iframe[title='bprop explain']")
        assert "0.298371109" in explain.locator("body").inner_text()
        viewer_frame = page.locator("iframe[title='bprop viewer']")
        assert viewer_frame.count() == 1
        assert viewer_frame.bounding_box()["height"] > 400  # the frame took its content's height
        viewer = page.frame_locator("iframe[title='bprop viewer']")
        assert viewer.locator(".node").count() > 5
        seen = []
        for _ in range(3):
            viewer.locator("#next").click()
            seen.append(viewer.locator("#svg").get_attribute("data-current"))
            assert viewer.locator(".node.current").count() == 1
        assert len(set(seen)) == 3  # each click highlights another node
        viewer.locator("#reset").click()
        assert viewer.locator("#svg").get_attribute("data-current") == ""
        browser.close()
    assert errors == []
