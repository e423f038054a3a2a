"""docs/torch-coverage.md is generated from the code and must not go stale."""

from __future__ import annotations

from pathlib import Path

from bprop.compat import coverage

DOC = Path(__file__).resolve().parents[2] / "docs" / "torch-coverage.md"


def test_the_coverage_table_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == coverage.render(), (
        "docs/torch-coverage.md is stale: run `python -m bprop.compat.coverage > docs/torch-coverage.md`"
    )


def test_the_table_tells_present_absent_and_differs_from_the_code() -> None:
    modules = coverage.torch_modules()
    assert coverage.status("torch.linspace", modules) == ("present", "")
    assert coverage.status("torch.fft.rfft", modules)[0] == "absent"
    assert coverage.status("torch.Tensor.cumprod_not_a_method", modules)[0] == "absent"
    assert coverage.status("torch.device", modules)[0] == "differs"
    assert len(set(coverage.NAMES)) == len(coverage.NAMES)
    assert set(coverage.DIFFERENCES) <= set(coverage.NAMES)
