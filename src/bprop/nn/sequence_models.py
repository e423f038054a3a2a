"""Sequence models the ``bprop train`` builder offers: a recurrent classifier that reads each
sample as a sequence (sequential MNIST: 28 rows of 28 pixels), and two character-level language
models (LSTM and causal transformer) that predict every next token of a window of token ids.
Layers only: every gradient comes from the ops the layers call.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from bprop.autograd import no_grad
from bprop.nn.layers import GRU, LSTM, RNN, Embedding, LayerNorm, Linear, TransformerEncoder, TransformerEncoderLayer
from bprop.nn.models import l2_penalty
from bprop.nn.module import Module
from bprop.tensor import Tensor

_RECURRENT = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


class SequenceClassifier(Module):
    """Input (N, *steps, features) read as T = prod(steps) steps of ``features`` values (an image
    (N, 1, 28, 28) as 28 rows), a recurrent stack of ``len(hidden)`` layers of ``hidden[0]``
    units, and a Linear map of the last step's output to the class scores."""

    def __init__(
        self, mode: str, features: int, hidden: Sequence[int], num_classes: int, dropout: float = 0.0, reg: float = 0.0,
        dtype: object = np.float32,
    ):  # fmt: skip
        super().__init__()
        self.rnn = _RECURRENT[mode](
            features, hidden[0], num_layers=len(hidden), batch_first=True, dropout=dropout, dtype=dtype
        )
        self.head = Linear(hidden[0], num_classes, dtype=dtype)
        self.features, self.reg = features, reg

    def forward(self, x: Tensor) -> Tensor:
        out, _ = self.rnn(x.reshape(x.shape[0], -1, self.features))
        return self.head(out[:, -1])

    def regularization(self) -> Tensor:
        return l2_penalty([p for name, p in self.named_parameters() if "weight" in name], self.reg)


class CharLSTM(Module):
    """Token ids (N, T) → Embedding(V, H) → LSTM of len(hidden) layers of H = hidden[0] units →
    Linear(H, V): scores (N, V, T) for the token after each position (classes on axis 1, as
    cross-entropy takes them)."""

    def __init__(
        self, vocabulary: int, hidden: Sequence[int], dropout: float = 0.0, reg: float = 0.0, dtype: object = np.float32
    ):
        super().__init__()
        size = hidden[0]
        self.embedding = Embedding(vocabulary, size, dtype=dtype)
        self.rnn = LSTM(size, size, num_layers=len(hidden), batch_first=True, dropout=dropout, dtype=dtype)
        self.head = Linear(size, vocabulary, dtype=dtype)
        self.reg = reg

    def forward(self, ids: Tensor) -> Tensor:
        out, _ = self.rnn(self.embedding(ids))
        return self.head(out).transpose(1, 2)

    def regularization(self) -> Tensor:
        return l2_penalty([p for name, p in self.named_parameters() if "weight" in name], self.reg)


class CharTransformer(Module):
    """Token ids (N, T ≤ context) → token + learnt position embeddings of d = hidden[0] →
    len(hidden) pre-norm TransformerEncoderLayers with a causal mask (position t sees 0…t only)
    → LayerNorm → Linear(d, V): scores (N, V, T) for the token after each position."""

    def __init__(
        self, vocabulary: int, context: int, hidden: Sequence[int], dropout: float = 0.0, reg: float = 0.0,
        dtype: object = np.float32,
    ):  # fmt: skip
        super().__init__()
        d = hidden[0]
        heads = next(h for h in (4, 2, 1) if d % h == 0)
        self.token = Embedding(vocabulary, d, dtype=dtype)
        self.position = Embedding(context, d, dtype=dtype)
        layer = TransformerEncoderLayer(
            d, heads, 4 * d, dropout, "gelu", batch_first=True, norm_first=True, dtype=dtype
        )
        self.encoder = TransformerEncoder(layer, len(hidden), norm=LayerNorm(d, dtype=dtype))
        self.head = Linear(d, vocabulary, dtype=dtype)
        self.context, self.reg = context, reg

    def forward(self, ids: Tensor) -> Tensor:
        length = ids.shape[1]
        if length > self.context:
            raise ValueError(f"CharTransformer: {length} tokens exceed the context of {self.context} positions")
        x = self.token(ids) + self.position(np.arange(length))
        return self.head(self.encoder(x, is_causal=True)).transpose(1, 2)

    def regularization(self) -> Tensor:
        return l2_penalty([p for name, p in self.named_parameters() if name.endswith("weight")], self.reg)


def sample_tokens(
    model: Module, prompt: Sequence[int], length: int, context: int, temperature: float, rng: np.random.Generator
) -> list[int]:
    """Continue ``prompt`` by ``length`` tokens, each drawn from softmax(scores/temperature) of
    the model's prediction after the last ``context`` tokens (low temperature: likelier, more
    repetitive text; high: more varied, more errors)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if not prompt:
        raise ValueError("the prompt needs at least one token")
    tokens = list(prompt)
    model.eval()
    with no_grad():
        for _ in range(length):
            window = np.array([tokens[-context:]])
            scores = np.asarray(model(Tensor(window)))[0, :, -1].astype(np.float64)
            # shifted before the division: a tiny temperature gives -inf (greedy), never inf − inf
            probs = np.exp((scores - scores.max()) / temperature)
            tokens.append(int(rng.choice(len(probs), p=probs / probs.sum())))
    return tokens
