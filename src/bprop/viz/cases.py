"""The networks and batches that ``bprop explain`` and ``bprop gradcheck`` look at.

``model_case`` builds one of bprop's models, small enough to read, on a batch of the digits
bundled with bprop (8×8 images, 10 classes; LeNet-5 sees them scaled ×3 and padded to its
28×28 frame). ``checkpoint_case`` takes a trained model from a checkpoint and the first test
samples of the data it was trained on. Both return float64 models and inputs; the errors they
raise (ValueError) name the option at fault. ``gradcheck_checkpoint`` is all of ``bprop
gradcheck``: its options checked, in its words (RunError, ConfigError), then the check.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bprop import nn
from bprop.data.registry import dataset_spec, load_dataset
from bprop.graph_check import GraphCheck, gradcheck_graph
from bprop.random import manual_seed
from bprop.tensor import tensor
from bprop.train.run import RunError, checkpoint_file, model_from_checkpoint
from bprop.train.run_config import RunConfig, check_option

MODELS = ("fcnet", "convnet", "lenet5")
MAX_BATCH = 64
MAX_ENTRIES = 1000  # finite differences per input of each op


def _digits(batch: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``batch`` test digits (N, 1, 8, 8) in [0, 1] and their labels, picked by ``seed``."""
    _, test = load_dataset("digits")
    pick = np.random.default_rng(seed).choice(len(test), batch, replace=False)
    x, y = test.gather(np.sort(pick))[:2]
    return np.asarray(x, dtype=np.float64), np.asarray(y)


def _check_batch(batch: int, option: str) -> None:
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"{option} must be an integer in [1, {MAX_BATCH}], got {batch}")


def model_case(
    name: str, batchnorm: bool = False, dropout: float = 0.0, batch: int = 4, seed: int = 0
) -> tuple[nn.Module, np.ndarray, np.ndarray]:
    """(model, x, labels): ``name`` is fcnet (64 → 16 → 10, batch norm and dropout on request),
    convnet (4 filters 3×3, 2×2 max pool, 16 hidden units) or lenet5."""
    if name not in MODELS:
        raise ValueError(f"--model must be one of {', '.join(MODELS)}, got {name!r}")
    _check_batch(batch, "--batch")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"--dropout must be a number in [0, 1), got {dropout}")
    if name != "fcnet" and (batchnorm or dropout):
        raise ValueError(f"--batchnorm and --dropout apply to --model fcnet, not {name}")
    if batchnorm and batch < 2:
        raise ValueError("--batchnorm needs --batch 2 or more: batch statistics of one sample are undefined")
    manual_seed(seed)
    x, y = _digits(batch, seed)
    if name == "fcnet":
        model: nn.Module = nn.models.FullyConnectedNet(
            64, [16], 10, "batchnorm" if batchnorm else None, dropout, weight_scale=0.1, dtype=np.float64
        )
    elif name == "convnet":
        model = nn.models.ThreeLayerConvNet(
            (1, 8, 8), num_filters=4, filter_size=3, hidden_dim=16, num_classes=10, weight_scale=0.1, dtype=np.float64
        )
    else:
        model = nn.models.LeNet5(dtype=np.float64)
        x = np.pad(x.repeat(3, axis=2).repeat(3, axis=3), ((0, 0), (0, 0), (2, 2), (2, 2)))  # 8×8 → 24×24 → 28×28
    return model, x, y


def checkpoint_case(path: str, samples: int = 4) -> tuple[nn.Module, np.ndarray, np.ndarray, Any]:
    """(model in float64, x, labels, its RunConfig): the first ``samples`` test samples of the
    data set the checkpoint was trained on, through the data set's evaluation transform."""
    _check_batch(samples, "--samples")
    model, config, _ = model_from_checkpoint(path)
    if samples < 2 and any(isinstance(m, nn.BatchNorm1d) for m in model.modules()):
        # the model is seen in training mode, where a batch norm normalises by the batch's statistics
        raise ValueError(
            f"--samples {samples}: {config.model} has batch norm, which needs 2 or more samples "
            "(batch statistics of one sample are undefined)"
        )
    _, test = load_dataset(config.data, config.data_dir, False)
    x, y = test.gather(np.arange(min(samples, len(test))))[:2]
    spec = dataset_spec(config.data)
    if spec.task == "language-model":  # token ids stay integers: the model embeds them
        return model.to(np.float64), np.asarray(x), np.asarray(y), config
    transform = spec.transforms(augment=False)[1]
    x = transform(x) if transform is not None else x
    return model.to(np.float64), np.asarray(x, dtype=np.float64), np.asarray(y), config


def gradcheck_checkpoint(
    path: str, samples: int = 8, entries: int = 16, seed: int = 0
) -> tuple[GraphCheck, RunConfig, int]:
    """(the check of every op of the checkpoint's graph, its RunConfig, the samples used): the
    cross-entropy loss of the model on its first ``samples`` test samples, checked op by op
    with ``entries`` finite differences per input, upstream gradients drawn with ``seed``."""
    if isinstance(entries, bool) or not isinstance(entries, (int, np.integer)) or not 1 <= entries <= MAX_ENTRIES:
        raise RunError(f"--entries must be an integer in [1, {MAX_ENTRIES}], got {entries!r}")
    check_option("seed", seed)
    checkpoint_file(path)  # a missing file or a folder is worded as in eval and train --resume
    try:
        model, x, y, config = checkpoint_case(path, samples)
    except ValueError as err:
        raise RunError(str(err)) from None
    loss = nn.functional.cross_entropy(model(tensor(x)), y)
    return gradcheck_graph(loss, entries=entries, seed=seed), config, len(y)
