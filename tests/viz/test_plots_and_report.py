"""Plots write PNGs; the HTML report is self-contained, has every section and loads in Chromium."""

import html.parser
import re
import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from bprop.cli import main
from bprop.viz import plots
from bprop.viz.report import SECTIONS

PNG = b"\x89PNG\r\n\x1a\n"


def test_every_plot_writes_a_png(tmp_path):
    rng = np.random.default_rng(0)
    written = [
        plots.plot_history(
            [
                {"epoch": 1, "loss": 1.0, "accuracy": 0.5, "val_loss": 1.1},
                {"epoch": 2, "loss": 0.5, "accuracy": 0.8, "val_loss": 0.7},
            ],
            tmp_path / "a.png",
        ),
        plots.plot_gradient_flow(
            [1, 2, 3], {"0.weight": [1.0, 0.5, 0.2], "2.weight": [2.0, 1.0, 0.1]}, tmp_path / "b.png"
        ),
        plots.plot_histograms({"w": rng.standard_normal(100), "v": rng.random(50)}, tmp_path / "c.png", "weights"),
        plots.plot_filters(rng.standard_normal((6, 1, 5, 5)), tmp_path / "d.png"),
        plots.plot_filters(rng.standard_normal((4, 3, 3, 3)), tmp_path / "e.png"),
        plots.plot_confusion(np.array([[5, 1], [2, 7]]), ["a", "b"], tmp_path / "f.png"),
        plots.plot_misclassified(rng.random((3, 1, 8, 8)), [0, 1, 2], [1, 2, 0], ["x", "y", "z"], tmp_path / "g.png"),
    ]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 2000


class Collector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls, self.ids = [], []

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if key in ("src", "href"):
                self.urls.append(value)
            if key == "id":
                self.ids.append(value)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--epochs", "3", "--report", str(out), "--quiet"]) == 0
    return out


def test_report_is_self_contained_and_complete(run_dir):
    page = (run_dir / "report.html").read_text()
    parser = Collector()
    parser.feed(page)
    assert all(url.startswith("data:image/png;base64,") for url in parser.urls) and len(parser.urls) >= 5
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page)
    assert parser.ids == [s.lower().replace(" ", "-") for s in SECTIONS]
    assert "Total params" in page and "test_accuracy" in page


def test_report_can_be_rebuilt_from_the_run(run_dir, capsys):
    (run_dir / "report.html").unlink()
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "report.html").exists() and "wrote" in capsys.readouterr().out
    assert main(["report", str(run_dir / "nothing")]) == 2


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")
def test_report_loads_in_headless_chromium(run_dir, tmp_path):
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--window-size=1200,1600",
            f"--screenshot={shot}",
            (run_dir / "report.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shot.exists(), result.stderr[-2000:]
    assert ":CONSOLE" not in result.stderr  # no console message, let alone an error
    import matplotlib.image

    pixels = matplotlib.image.imread(str(shot))
    assert pixels.std() > 0.05  # not a blank page


def test_report_numbers_are_readable_and_only_options_that_shaped_the_run(run_dir):
    page = (run_dir / "report.html").read_text()
    config = page.split("id='configuration'")[1].split("</section>")[0]
    for inert in ("download", "data_dir", "quiet", "threads", "momentum", "augment"):
        assert f"<th>{inert}</th>" not in config
    assert "<th>lr</th>" in config and "<th>hidden</th>" in config
    per_class = page.split("class='per-class'")[1].split("</table>")[0]
    assert per_class.count("<tr>") == 11  # a header and the ten digits
    cells = re.findall(r"<td>([0-9.]+)</td>", per_class)
    assert cells and all(re.fullmatch(r"\d+\.\d{3}|\d+", c) for c in cells)
    assert not re.search(r"\d\.\d{8,}", page.split("id='final-metrics'")[1].split("</section>")[0])


def test_shaping_options_drops_what_the_model_ignores():
    from bprop.viz.report import shaping_options

    shown = shaping_options(
        {"data": "mnist", "model": "lenet5", "hidden": [100], "batchnorm": True, "dropout": 0.5, "optimizer": "sgd",
         "momentum": 0.9, "nesterov": False, "time_limit": None, "seed": 0, "data_dir": "d"}
    )  # fmt: skip
    assert shown == {
        "data": "mnist",
        "model": "lenet5",
        "optimizer": "sgd",
        "momentum": 0.9,
        "seed": 0,
        "data_dir": "d",
    }


def test_report_shows_delta_per_layer_with_verdicts(run_dir):
    page = (run_dir / "report.html").read_text()
    section = page.split("id='δ-per-layer'")[1].split("</section>")[0]
    assert "class='verdicts'" in section and "gradients" in section and section.count("data:image/png") == 2
    assert (run_dir / "delta.npz").exists()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_in_either_language(run_dir, tmp_path, lang, capsys):
    from tests.helpers import CJK, english_left

    from bprop.i18n import text
    from bprop.viz.report import write_run_report

    assert main(["report", str(run_dir), "--lang", lang]) == 0 and "wrote" in capsys.readouterr().out
    page = (run_dir / "report.html").read_text()
    assert f"<html lang='{lang}'>" in page
    headings = re.findall(r"<h[123]>(.*?)</h[123]>", page)
    expected = [html.escape(text(f"run.{s}", lang)) for s in SECTIONS]
    assert headings[1:] == [*expected[:3], text("run.per_class", lang), *expected[3:]]
    verdicts = re.findall(r"<li>(.*?)</li>", page.split("class='verdicts'")[1].split("</ul>")[0])
    assert verdicts and all(bool(re.search(f"[{CJK}]", v)) == (lang == "zh") for v in verdicts)
    prose = [*headings, *verdicts, *re.findall(r"<p>(.*?)</p>", page)]
    prose += re.findall(r"<th>(.*?)</th>", page.split("class='per-class'")[1].split("</tr>")[0])
    if lang == "zh":
        assert english_left("\n".join(prose), code={"bprop", "fcnet", "digits", "F1", "ReLU"}) == []
    else:
        assert not re.search(f"[{CJK}]", "".join(prose)) and "Per class" in headings
    with pytest.raises(ValueError, match="language 'fr'"):
        write_run_report(run_dir, "fr")
    assert main(["report", str(run_dir)]) == 0  # back to English for the other tests
