"""The course's CIFAR-10 preparation, read with bprop's CIFAR-10 loader (no pickle of objects).

``get_CIFAR10_data`` makes the notebooks' split: the first ``num_training`` training images
for training, the next ``num_validation`` for validation, the first ``num_test`` test images
for testing; it subtracts the mean training image from all three and returns float64 arrays
(N, 3, 32, 32) with int64 labels.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bprop.data.datasets.cifar import CIFAR10, FOLDER


def get_CIFAR10_data(  # noqa: N802 (the course's name)
    num_training: int = 49000,
    num_validation: int = 1000,
    num_test: int = 1000,
    subtract_mean: bool = True,
    cifar10_dir: str | os.PathLike = FOLDER,
) -> dict[str, np.ndarray]:
    """{X_train, y_train, X_val, y_val, X_test, y_test} from the python-version batches in
    ``cifar10_dir`` (the folder named cifar-10-batches-py, as the course's default)."""
    folder = Path(cifar10_dir)
    root = folder.parent if folder.name == FOLDER else folder
    train, test = CIFAR10(root, train=True), CIFAR10(root, train=False)
    if num_training + num_validation > len(train) or num_test > len(test):
        raise ValueError(
            f"get_CIFAR10_data: asked for {num_training} training + {num_validation} validation and "
            f"{num_test} test images, but {root / FOLDER} holds {len(train)} training and {len(test)} test images"
        )
    x_all, y_all = train.data.astype(np.float64), train.targets
    data = {
        "X_train": x_all[:num_training],
        "y_train": y_all[:num_training],
        "X_val": x_all[num_training : num_training + num_validation],
        "y_val": y_all[num_training : num_training + num_validation],
        "X_test": test.data[:num_test].astype(np.float64),
        "y_test": test.targets[:num_test],
    }
    if subtract_mean:
        mean_image = data["X_train"].mean(axis=0)
        for key in ("X_train", "X_val", "X_test"):
            data[key] = data[key] - mean_image
    return data
