"""Take the screenshots of a lesson page that the README shows (docs/lessons-en.png,
docs/lessons-zh.png): run the lesson in a fresh kernel, render it with nbconvert, and photograph
the part around the step-through viewer in headless Chromium.

    PYTHONPATH=src python lessons/screenshot.py [--chromium /usr/bin/chromium]

Needs the test extra (nbclient, ipykernel, nbconvert, playwright) and Chromium; for the Chinese
page a CJK font (Debian: fonts-noto-cjk).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
LESSON = "01-dnn-delta-recursion.ipynb"


def render(lang: str) -> str:
    path = ROOT / "lessons" / lang / LESSON
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    return HTMLExporter(template_name="lab").from_notebook_node(nb)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=["--headless", "--no-sandbox"])
        for lang in ("en", "zh"):
            page_file = ROOT / "lessons" / f".{lang}-render.html"
            page_file.write_text(render(lang), encoding="utf-8")
            page = browser.new_page(viewport={"width": 1100, "height": 1250}, device_scale_factor=1)
            page.route(re.compile(r"^https?://"), lambda route: route.fulfill(status=200, body=""))
            page.goto(page_file.as_uri())
            page.wait_for_load_state("load")
            viewer = page.frame_locator("iframe[title='bprop viewer']")
            for _ in range(9):  # the backward pass under way: δ flowing
                viewer.locator("#next").click()
            heading = page.locator("h2", has_text=re.compile("step-through|逐步查看器"))
            heading.scroll_into_view_if_needed()
            page.evaluate("y => window.scrollTo(0, y)", heading.bounding_box()["y"] + page.evaluate("scrollY") - 10)
            page.screenshot(path=str(ROOT / "docs" / f"lessons-{lang}.png"))
            page_file.unlink()
        browser.close()


if __name__ == "__main__":
    main()
