"""The embedded default data set: the UCI "Optical Recognition of Handwritten Digits" test
set, 1,797 images of 8×8 by E. Alpaydin and C. Kaynak (1998), licensed CC BY 4.0
(https://archive.ics.uci.edu/dataset/80/optical+recognition+of+handwritten+digits), in the
copy scikit-learn ships; see NOTICE.md beside this file. Loads from the package, no network."""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np

from bprop.data.dataset import ArrayDataset


def load_digits() -> ArrayDataset:
    """x: (1797, 1, 8, 8) float32 in [0, 1] (pixel counts 0–16 divided by 16); y: int64 0–9."""
    raw = resources.files("bprop.data.datasets").joinpath("digits.csv.gz").read_bytes()
    table = np.loadtxt(gzip.decompress(raw).decode("ascii").splitlines(), delimiter=",", dtype=np.int64)
    x = (table[:, :64].astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    return ArrayDataset(x, table[:, 64], classes=[str(d) for d in range(10)], name="digits")
