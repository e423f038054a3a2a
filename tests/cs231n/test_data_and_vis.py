"""get_CIFAR10_data on a generated CIFAR-10 fixture in the original format; visualize_grid."""

import numpy as np
import pytest
from tests.data.formats import write_cifar

from bprop.cs231n.data_utils import get_CIFAR10_data
from bprop.cs231n.vis_utils import visualize_grid
from bprop.data.datasets import CIFAR10


def test_the_course_split_and_mean_subtraction(tmp_path):
    write_cifar(tmp_path, n=4)  # 5 training batches of 4 images, a test batch of 4
    folder = tmp_path / "cifar-10-batches-py"
    data = get_CIFAR10_data(num_training=15, num_validation=3, num_test=2, cifar10_dir=folder)
    train = CIFAR10(tmp_path).data.astype(np.float64)
    mean = train[:15].mean(axis=0)
    np.testing.assert_allclose(data["X_train"], train[:15] - mean)
    np.testing.assert_allclose(data["X_val"], train[15:18] - mean)
    np.testing.assert_allclose(data["X_test"], CIFAR10(tmp_path, train=False).data[:2] - mean)
    assert data["X_train"].shape == (15, 3, 32, 32) and data["X_train"].dtype == np.float64
    assert data["y_val"].tolist() == CIFAR10(tmp_path).targets[15:18].tolist()
    raw = get_CIFAR10_data(15, 3, 2, subtract_mean=False, cifar10_dir=folder)
    np.testing.assert_array_equal(raw["X_train"], train[:15])


def test_too_many_images_and_a_missing_folder_are_named(tmp_path):
    write_cifar(tmp_path, n=4)
    with pytest.raises(ValueError, match="asked for 49000 training"):
        get_CIFAR10_data(cifar10_dir=tmp_path / "cifar-10-batches-py")
    with pytest.raises(Exception, match=r"missing .*data_batch_1"):
        get_CIFAR10_data(cifar10_dir=tmp_path / "elsewhere")


def test_visualize_grid():
    images = np.arange(5 * 2 * 3 * 1, dtype=np.float64).reshape(5, 2, 3, 1)
    grid = visualize_grid(images, ubound=255.0, padding=1)
    assert grid.shape == (3 * 2 + 2, 3 * 3 + 2, 1)
    np.testing.assert_allclose(grid[:2, :3, 0], [[0, 51, 102], [153, 204, 255]])  # each image on its own scale
    np.testing.assert_allclose(grid[:2, 4:7, 0], [[0, 51, 102], [153, 204, 255]])
    assert not grid[2].any() and not grid[:, 3].any()  # padding
    assert not grid[6:, 4:].any()  # the empty cells of the last row
