"""What ``bprop sample`` does, as a library call: continue a text with a character-level
language model saved by ``run`` (``--data text:PATH``), every option checked as the command
checks it.

    from bprop.train.sampling import sample_text
    print(sample_text("runs/lm/best.npz", "To be", length=200, temperature=0.8))
"""

from __future__ import annotations

import math
import os

import numpy as np

from bprop.data.datasets.text import encode
from bprop.nn.sequence_models import sample_tokens
from bprop.train.run import RunError, model_from_checkpoint
from bprop.train.run_config import check_option

MAX_LENGTH = 10_000  # one forward pass a character: about a minute; a typo's 10¹⁴ would never end


def check_sample_options(length: int, temperature: float, seed: int) -> None:
    """Refuse a ``length`` outside [0, MAX_LENGTH], a ``temperature`` that is not a finite
    number > 0, and a ``seed`` outside train's range, naming the option (RunError, ConfigError)."""
    if isinstance(length, bool) or not isinstance(length, int) or not 0 <= length <= MAX_LENGTH:
        raise RunError(f"--length must be an integer in [0, {MAX_LENGTH}], got {length}")
    if isinstance(temperature, bool) or not (math.isfinite(temperature) and temperature > 0):
        raise RunError(f"--temperature must be a finite number > 0, got {temperature}")
    check_option("seed", seed)


def sample_text(
    checkpoint: str | os.PathLike, prompt: str, length: int = 100, temperature: float = 0.8, seed: int = 0
) -> str:
    """``prompt`` and ``length`` more characters drawn from the model in ``checkpoint``, each
    from softmax(scores / ``temperature``) (lower: likelier and more repetitive text)."""
    model, _, state = model_from_checkpoint(checkpoint)
    vocabulary = state["config"].get("vocabulary")
    if not vocabulary:
        raise RunError(f"{checkpoint} is not a language model (train one with --data text:PATH)")
    check_sample_options(length, temperature, seed)
    tokens = encode(prompt, vocabulary)
    if not tokens:
        raise RunError("--prompt must hold at least one character")
    context = state["config"]["input_shape"][0]
    sampled = sample_tokens(model, tokens, length, context, float(temperature), np.random.default_rng(seed))
    return "".join(vocabulary[t] for t in sampled)
