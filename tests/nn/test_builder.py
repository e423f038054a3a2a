"""The model builder: every registered model from plain options, each with its L2 term."""

import numpy as np
import pytest

import bprop as bp
from bprop import nn
from bprop.nn.builder import MODELS, ModelOptions, build_model


@pytest.mark.parametrize(
    "name, shape", [("fcnet", (1, 8, 8)), ("mlp", (5,)), ("convnet", (1, 28, 28)), ("lenet5", (3, 32, 32))]
)
def test_each_model_builds_runs_and_has_an_l2_term(name, shape):
    bp.manual_seed(0)
    model = build_model(name, shape, 4, ModelOptions(hidden=(16,), reg=0.1))
    assert model(bp.randn(2, *shape)).shape == (2, 4)
    weights = [p.data for n, p in model.named_parameters() if n.endswith("weight") and p.ndim >= 2]
    expected = 0.5 * 0.1 * sum(float((w.astype(np.float64) ** 2).sum()) for w in weights)
    assert model.regularization().item() == pytest.approx(expected, rel=1e-5)
    assert build_model(name, shape, 4, ModelOptions(hidden=(16,))).regularization().item() == 0.0


def test_the_mlp_keys_are_those_of_a_torch_sequential():
    model = build_model("mlp", (1, 8, 8), 10, ModelOptions(hidden=(32,), dropout=0.2))
    assert [type(m).__name__ for m in model] == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert isinstance(model, nn.Sequential) and "1.weight" in model.state_dict()


def test_models_that_do_not_suit_the_data_say_why():
    with pytest.raises(ValueError, match=r"model 'lenet5' takes 28×28 or 32×32 images, not 8×8"):
        build_model("lenet5", (1, 8, 8), 10, ModelOptions())
    with pytest.raises(ValueError, match=r"model 'convnet' needs images \(channels, height, width\)"):
        build_model("convnet", (5,), 10, ModelOptions())
    with pytest.raises(ValueError, match="unknown model 'resnet'; choose one of fcnet, mlp"):
        build_model("resnet", (5,), 10, ModelOptions())
    assert set(MODELS) >= {"fcnet", "mlp", "convnet", "lenet5"}


USES_SHAPES = {"fcnet": (1, 8, 8), "mlp": (1, 8, 8), "convnet": (1, 8, 8), "lenet5": (1, 28, 28)}
USES_SHAPES.update({"rnn": (8, 8), "lstm": (8, 8), "gru": (8, 8), "char-lstm": (16,), "char-transformer": (16,)})
CHANGED = {"hidden": (6,), "normalization": "layernorm", "dropout": 0.3, "weight_scale": 0.5}


def _built(name: str, **options) -> tuple[str, dict]:
    """The structure and the initial weights of model ``name`` (seed 0)."""
    bp.manual_seed(0)
    model = build_model(name, USES_SHAPES[name], 10, ModelOptions(**{"hidden": (8,), **options}))
    return repr(model), {k: v.tolist() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", sorted(USES_SHAPES))
def test_a_model_reads_exactly_the_options_it_declares(name):
    """What `bprop train` refuses as having no effect (register_model's `uses`) must truly have
    none, and what a model declares must change it."""
    from bprop.nn.builder import ARCHITECTURE_OPTIONS, MODEL_USES

    plain = _built(name)
    for option in ARCHITECTURE_OPTIONS:
        changed = _built(name, **{option: CHANGED[option]})
        assert (changed != plain) == (option in MODEL_USES[name]), option
