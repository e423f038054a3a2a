"""ONNX export of the sequence layers and models, run in onnxruntime against bprop's forward."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn
from bprop.export import to_onnx
from bprop.export.onnx_sequences import CausalLayer, RecurrentOutput
from bprop.nn.builder import ModelOptions, build_model

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


def _check(model, x, tmp_path, atol=1e-5, **kwargs):
    model.eval()
    path = to_onnx(model, x, tmp_path / "m.onnx", **kwargs)
    got = ort.InferenceSession(str(path)).run(None, {"input": x})[0]
    np.testing.assert_allclose(got, model(bp.tensor(x)).data, atol=atol)


def _floats(*shape):
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("mode", ["rnn", "lstm", "gru"])
def test_recurrent_classifier_on_image_rows(mode, tmp_path):
    bp.manual_seed(0)
    _check(build_model(mode, (1, 6, 5), 4, ModelOptions(hidden=(7, 7))), _floats(3, 1, 6, 5), tmp_path)


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_bidirectional_stacks_without_bias(mode, batch_first, tmp_path):
    bp.manual_seed(1)
    rnn = getattr(nn, mode)(4, 5, num_layers=2, bidirectional=True, batch_first=batch_first, bias=mode != "GRU")
    model = nn.Sequential(nn.Linear(3, 4), RecurrentOutput(rnn), nn.Tanh())
    _check(model, _floats(6, 2, 3), tmp_path)


@pytest.mark.parametrize("opset", [17, 20])
def test_char_lstm_and_char_transformer_take_token_ids(opset, tmp_path):
    bp.manual_seed(2)
    ids = np.random.default_rng(0).integers(0, 11, (2, 8))
    _check(build_model("char-lstm", (8,), 11, ModelOptions(hidden=(6, 6))), ids, tmp_path, opset=opset)
    transformer = build_model("char-transformer", (8,), 11, ModelOptions(hidden=(8, 8), dropout=0.1))
    _check(transformer, ids, tmp_path, atol=2e-5, opset=opset)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_layer(norm_first, activation, tmp_path):
    bp.manual_seed(3)
    layer = nn.TransformerEncoderLayer(8, 2, 16, 0.1, activation, norm_first=norm_first)
    _check(nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8)), _floats(5, 3, 8), tmp_path, atol=2e-5)


def test_cli_exports_a_trained_language_model(tmp_path, capsys):
    from bprop.cli import main

    text = tmp_path / "t.txt"
    text.write_text("春眠不觉晓，处处闻啼鸟。\n" * 60, encoding="utf-8")
    out = tmp_path / "run"
    assert (
        main(["train", "--data", f"text:{text}", "--hidden", "8", "--epochs", "1", "--out", str(out), "--quiet"]) == 0
    )
    assert main(["export", str(out / "best.npz"), "--onnx", str(tmp_path / "lm.onnx")]) == 0
    session = ort.InferenceSession(str(tmp_path / "lm.onnx"))
    ids = np.zeros((2, 64), dtype=np.int64)
    assert session.run(None, {"input": ids})[0].shape == (2, 12, 64)  # 12 distinct characters, scores per position


@pytest.mark.parametrize(
    "options", [{"add_bias_kv": True}, {"add_zero_attn": True}, {"add_bias_kv": True, "add_zero_attn": True}]
)
@pytest.mark.parametrize("causal", [False, True])
def test_attention_with_bias_kv_and_zero_attn(options, causal, tmp_path):
    bp.manual_seed(4)
    layer = nn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True)
    layer.self_attn = nn.MultiheadAttention(8, 2, batch_first=True, **options)
    model = nn.Sequential(CausalLayer(layer) if causal else layer, nn.Tanh())
    _check(model, _floats(3, 5, 8), tmp_path, atol=2e-5)
    x = _floats(4, 5, 8)  # another batch size through the dynamic batch
    got = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"input": x})[0]
    np.testing.assert_allclose(got, model(bp.tensor(x)).data, atol=2e-5)


def test_self_attention_with_kdim_is_refused_by_name(tmp_path):
    layer = nn.TransformerEncoderLayer(8, 2, 16, 0.0)
    layer.self_attn = nn.MultiheadAttention(8, 2, kdim=4)
    with pytest.raises(ValueError, match=r"kdim/vdim != embed_dim \(kdim=4, vdim=8, embed_dim=8\)"):
        to_onnx(nn.TransformerEncoder(layer, 1).eval(), _floats(5, 3, 8), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
