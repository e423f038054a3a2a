"""A checkpoint evaluated on test data (what ``bprop eval`` prints), every input checked first:
the data options as ``bprop train`` checks them, and the data set against the model (input
shape, labels, a language model's vocabulary), each refusal one line naming the checkpoint."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from bprop.data import Dataset
from bprop.data.registry import dataset_spec, load_dataset
from bprop.train.evaluate import evaluate
from bprop.train.run import RunError, class_names, model_from_checkpoint
from bprop.train.run_config import check_option


@dataclass
class CheckpointEvaluation:
    data: str  # the data set evaluated on
    test_set: Dataset
    results: dict[str, Any]  # evaluate's: loss, and for a classifier accuracy, confusion matrix…
    language_model: bool


def evaluate_checkpoint(
    checkpoint: str | os.PathLike, data: str | None = None, data_dir: str | None = None, download: bool = False
) -> CheckpointEvaluation:
    """The model in ``checkpoint`` on the test split of ``data`` (default: the data set it was
    trained on, from ``data_dir``, default the run's); RunError, ConfigError or DatasetError in
    the words of ``bprop eval`` when the data does not fit the model."""
    model, config, state = model_from_checkpoint(checkpoint)
    for name, value in (("data", data), ("data_dir", data_dir)):  # the checks of train's --data, --data-dir
        if value is not None:
            check_option(name, value)
    data = data or config.data
    spec = dataset_spec(data)
    _, test_set = load_dataset(data, data_dir or config.data_dir, download)
    _check_fits(str(checkpoint), state["config"], data, test_set)
    if spec.task == "language-model":
        _check_vocabulary(str(checkpoint), state["config"], data, test_set)
        return CheckpointEvaluation(data, test_set, evaluate(model, test_set), True)
    results = evaluate(model, test_set, transform=spec.transforms(augment=False)[1])
    return CheckpointEvaluation(data, test_set, results, False)


def _check_fits(checkpoint: str, stored: dict[str, Any], data: str, test_set: Dataset) -> None:
    shape = tuple(np.shape(test_set.gather(np.arange(1))[0])[1:])
    if shape != tuple(stored["input_shape"]):
        raise RunError(f"{checkpoint} takes inputs of shape {tuple(stored['input_shape'])}, but {data} has {shape}")
    labels = np.asarray(test_set.arrays()[1])
    if labels.max() >= stored["num_classes"]:
        raise RunError(f"{checkpoint} knows {stored['num_classes']} classes, but {data} has label {labels.max()}")


def _check_vocabulary(checkpoint: str, stored: dict[str, Any], data: str, test_set: Dataset) -> None:
    """A token id means a character only through the model's own vocabulary."""
    if class_names(test_set) != stored.get("vocabulary"):
        raise RunError(
            f"{checkpoint} was trained on other characters than {data} holds: token ids would mean different "
            "characters; evaluate it on the text it was trained on"
        )
