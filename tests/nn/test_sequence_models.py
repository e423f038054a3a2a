"""The sequence models of the builder: shapes, causality, training signal and sampling."""

import numpy as np
import pytest

import bprop as bp
from bprop.nn.builder import ModelOptions, build_model
from bprop.nn.sequence_models import CharTransformer, sample_tokens
from bprop.train import RunConfig


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
def test_recurrent_classifier_reads_image_rows(mode):
    model = build_model(mode, (1, 6, 5), 3, ModelOptions(hidden=(4, 4)))
    assert model.rnn.num_layers == 2 and model.rnn.input_size == 5
    out = model(bp.randn(7, 1, 6, 5))
    assert out.shape == (7, 3)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("name", ["char-lstm", "char-transformer"])
def test_char_models_score_every_position(name):
    model = build_model(name, (8,), 11, ModelOptions(hidden=(8,), dropout=0.0))
    ids = np.random.default_rng(0).integers(0, 11, (3, 8))
    assert model(bp.tensor(ids)).shape == (3, 11, 8)  # classes on axis 1, as cross_entropy takes them


def test_transformer_is_causal():
    bp.manual_seed(0)
    model = CharTransformer(9, 6, (8, 8), dropout=0.0).eval()
    ids = np.array([[1, 2, 3, 4, 5, 6]])
    changed = ids.copy()
    changed[0, 4:] = [7, 8]
    a, b = model(bp.tensor(ids)).data, model(bp.tensor(changed)).data
    np.testing.assert_allclose(a[..., :4], b[..., :4], atol=1e-6)  # positions 0–3 never see 4–5
    assert not np.allclose(a[..., 4:], b[..., 4:])


def test_models_refuse_inputs_they_cannot_read():
    with pytest.raises(ValueError, match="reads windows of token ids"):
        build_model("char-lstm", (1, 28, 28), 10, ModelOptions())
    with pytest.raises(ValueError, match="reads each sample as steps of features"):
        build_model("lstm", (64,), 10, ModelOptions())


def test_model_defaults_come_before_the_data_sets():
    assert RunConfig(data="mnist", model="lstm").hidden == (128,)
    assert RunConfig(data="mnist").hidden == (512, 256)  # the data set's default model keeps its own
    assert RunConfig(data="mnist", model="lstm", hidden=(32,)).hidden == (32,)  # given beats both


def test_sampling_is_seeded_and_temperature_sharpens():
    bp.manual_seed(0)
    model = build_model("char-lstm", (8,), 5, ModelOptions(hidden=(8,)))
    first = sample_tokens(model, [1, 2], 20, 8, 1.0, np.random.default_rng(3))
    assert first[:2] == [1, 2] and len(first) == 22 and all(0 <= t < 5 for t in first)
    assert first == sample_tokens(model, [1, 2], 20, 8, 1.0, np.random.default_rng(3))
    cold = sample_tokens(model, [1, 2], 30, 8, 1e-3, np.random.default_rng(4))
    assert cold == sample_tokens(model, [1, 2], 30, 8, 1e-3, np.random.default_rng(5))  # ≈ argmax
    with pytest.raises(ValueError, match="temperature must be positive"):
        sample_tokens(model, [1], 1, 8, 0.0, np.random.default_rng(0))
