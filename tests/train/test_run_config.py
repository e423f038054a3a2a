"""RunConfig: per-data-set defaults, one validation with messages naming option and range, and
what a resumed run may change."""

import dataclasses

import pytest

from bprop.train import ConfigError, RunConfig
from bprop.train.run_config import check_option, describe_range, options


def test_per_data_set_defaults_and_explicit_values():
    digits, mnist = RunConfig(), RunConfig(data="mnist")
    assert (digits.model, digits.epochs, digits.hidden, digits.lr) == ("fcnet", 30, (256, 256), 2e-3)
    assert (mnist.model, mnist.batch_size, mnist.hidden) == ("mlp", 128, (512, 256))
    assert RunConfig(data="mnist", model="mlp", hidden="64").hidden == (64,)
    assert RunConfig(data="x.npz").model == "mlp"  # a PATH.npz takes the npz defaults


def test_every_option_has_help_and_a_described_range():
    for f in options():
        assert f.metadata["help"] and describe_range(f.name)
    assert describe_range("lr") == "a number > 0"
    assert describe_range("dropout") == "a number in [0, 1)"
    assert describe_range("seed") == "an integer in [0, 4294967295]"
    assert describe_range("optimizer") == "one of sgd, adam, adamw, rmsprop"


@pytest.mark.parametrize(
    "name, value",
    [("lr", True), ("epochs", 2.0), ("epochs", "3"), ("hidden", [1, 0]), ("hidden", 1.5), ("quiet", "yes")],
)
def test_values_of_the_wrong_type_are_refused(name, value):
    with pytest.raises(ConfigError, match=f"--{name.replace('_', '-')} must be"):
        check_option(name, value)


def test_conversions_round_trip():
    config = RunConfig(data="mnist", hidden=[32, 16], lr=1, quiet=True)
    assert config.lr == 1.0 and isinstance(config.lr, float)
    assert RunConfig.from_dict({**config.to_dict(), "input_shape": [1, 28, 28]}) == config
    with pytest.raises(ConfigError, match=r"run\.npz: --epochs must be an integer ≥ 1, got 0"):
        RunConfig.from_dict({**config.to_dict(), "epochs": 0}, where="run.npz")


def test_a_resumed_run_may_change_only_the_resumable_options():
    saved = RunConfig(epochs=5, time_limit=10.0, lr=0.01)
    resumed = saved.resumed_with({"epochs": 9, "quiet": True, "lr": 0.01, "out": "elsewhere"})
    assert (resumed.epochs, resumed.quiet, resumed.out, resumed.lr) == (9, True, "elsewhere", 0.01)
    assert resumed.time_limit is None  # a budget for one invocation, not carried over
    with pytest.raises(ConfigError, match=r"--lr 0.1 differs from the run being resumed \(--lr 0.01\)"):
        saved.resumed_with({"lr": 0.1})
    with pytest.raises(ConfigError, match=r"--hidden 8 differs .* \(--hidden 256,256\)"):
        saved.resumed_with({"hidden": "8"})
    assert dataclasses.replace(saved, epochs=6).epochs == 6  # frozen, but replace re-validates
    with pytest.raises(ConfigError):
        dataclasses.replace(saved, epochs=-6)


def test_an_option_the_model_does_not_read_is_refused_in_python_as_in_the_cli():
    with pytest.raises(ConfigError, match=r"--dropout has no effect on --model lenet5; of .* it reads none"):
        RunConfig(data="mnist", model="lenet5", dropout=0.5)
    with pytest.raises(ConfigError, match="--hidden has no effect on --model lenet5-classic"):
        RunConfig(data="mnist", model="lenet5-classic", hidden=(64,))
    stored = RunConfig(data="mnist", model="lenet5").to_dict()  # holds the data set's defaults for every option
    assert RunConfig.from_dict(stored) == RunConfig(data="mnist", model="lenet5")
