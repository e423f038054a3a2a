"""RunConfig: one typed, validated description of a training run, shared by ``bprop train`` and
Python (``bprop.train.run(RunConfig(...))``), and stored in every checkpoint so that a run can be
resumed from its checkpoint alone.

Every option is one field declared with ``option(...)``: its default (or "per data set", taken
from the data-set registry), its help text, its type and its valid range. Validation happens in
one place, ``__post_init__``, with messages that name the option and the allowed range; the CLI
builds its flags (``--batch-size`` for ``batch_size``), its ``--help`` and its TOML keys from
the same fields.

To add an option: add a field here with ``option(default, "help", kind=…, low=…, …)``, mark it
``resumable=True`` if a resumed run may change it, and use it in ``train/run.py`` (model options
also go into ``nn.builder.ModelOptions`` and ``_model_options``). The CLI flag, its help, TOML and
checkpoint support come with the field.

Separate from run.py (DESIGN.md puts both in run.py) because the CLI and the checkpoint readers
need the configuration without the training machinery.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

PER_DATA_SET = None  # the default of options whose default comes from the data-set registry


class ConfigError(ValueError):
    """An option value outside its range, or options that do not go together."""


def option(
    default: Any,
    help: str,
    *,
    kind: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: Callable[[], list[str]] | None = None,
    optional: bool = False,
    resumable: bool = False,
    metavar: str | None = None,
) -> Any:
    """A RunConfig field. ``kind``: "int", "float", "str", "bool", "sizes" (a tuple of positive
    ints, written 256,128) or "threads" (an int, or "auto"). [low, high] is the valid range (open
    ends with low_open/high_open); ``choices`` lists the valid strings; ``optional``: None is
    allowed (the option is off); ``resumable``: a resumed run may give it a new value;
    ``metavar``: the value's name in --help."""
    meta = dict(
        help=help,
        kind=kind,
        low=low,
        high=high,
        low_open=low_open,
        high_open=high_open,
        choices=choices,
        optional=optional,
        resumable=resumable,
        metavar=metavar,
        per_data_set=default is PER_DATA_SET and not optional,
    )
    return field(default=default, metadata=meta)


def _datasets() -> list[str]:
    from bprop.data.registry import DATASETS

    return [n for n in DATASETS if n != "npz"]


def _models() -> list[str]:
    from bprop.nn.builder import MODELS

    return list(MODELS)


OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop"]
NORMALIZATIONS = ["batchnorm", "layernorm", "none"]


class _Default(str):
    """A default text that RunConfig can tell from the same text given: ``normalization``
    defaults to batchnorm, and ``batchnorm=False`` contradicts only a batchnorm that was asked for."""


def _given(value: Any) -> bool:
    return value is not None and not isinstance(value, _Default)


@dataclass(frozen=True)
class RunConfig:
    """A training run. Options left at None ("per data set") take the data set's defaults."""

    # data
    data: str = option(
        "digits",
        "data set: digits, mnist, fashion-mnist, cifar10 (defaults below), PATH.npz (arrays x and y), or "
        "text:PATH (a UTF-8 text, for --model char-lstm or char-transformer)",
        kind="str",
        metavar="NAME",
    )
    data_dir: str = option("data", "folder with the data files", kind="str", resumable=True, metavar="DIR")
    download: bool = option(False, "fetch missing data files (sha256-checked)", kind="bool", resumable=True)
    augment: bool = option(True, "random crops and flips where the data set has them (cifar10)", kind="bool")
    val_split: float = option(
        0.0, "fraction of the training data held out to validate on after each epoch", kind="float", low=0, high=1,
        high_open=True,
    )  # fmt: skip
    # model
    model: str = option(
        PER_DATA_SET,
        "architecture (lenet5: ReLU and max pooling, as trained today; lenet5-classic: tanh and average pooling, "
        "as in 1998)",
        kind="str",
        choices=_models,
    )
    hidden: tuple[int, ...] = option(
        PER_DATA_SET, "hidden layer sizes, comma separated (e.g. 256,128)", kind="sizes", metavar="SIZES"
    )
    normalization: str = option(
        _Default("batchnorm"),
        "normalisation after each hidden affine layer (fcnet, mlp)",
        kind="str",
        choices=lambda: NORMALIZATIONS,
    )
    batchnorm: bool = option(True, "--no-batchnorm: no normalisation (same as --normalization none)", kind="bool")
    dropout: float = option(
        PER_DATA_SET, "dropout probability after each hidden layer", kind="float", low=0, high=1, high_open=True
    )
    weight_scale: float = option(0.05, "std of the Gaussian init (fcnet, convnet)", kind="float", low=0, low_open=True)
    reg: float = option(0.0, "L2 strength: adds ½·reg·ΣW² over the weights to the loss", kind="float", low=0)
    # optimizer (the library's own defaults: no momentum unless asked for)
    optimizer: str = option("adam", "update rule", kind="str", choices=lambda: OPTIMIZERS)
    lr: float = option(PER_DATA_SET, "learning rate", kind="float", low=0, low_open=True)
    momentum: float = option(0.0, "momentum of sgd and rmsprop", kind="float", low=0, high=1, high_open=True)
    nesterov: bool = option(False, "Nesterov momentum (sgd, with --momentum > 0)", kind="bool")
    weight_decay: float = option(
        0.0, "weight decay as torch's optimizers apply it (decoupled for adamw)", kind="float", low=0
    )
    batch_size: int = option(PER_DATA_SET, "samples per step (per process under MPI)", kind="int", low=1)
    seed: int = option(0, "random seed", kind="int", low=0, high=2**32 - 1)
    # stopping (may change when resuming)
    epochs: int = option(
        PER_DATA_SET, "maximum number of epochs; the lr follows a cosine schedule from --lr to 0 over them (a "
        "resumed run keeps that schedule: added epochs run at its end value)", kind="int", low=1, resumable=True,
    )  # fmt: skip
    time_limit: float = option(
        None, "stop after this many seconds", kind="float", low=0, low_open=True, optional=True, resumable=True,
        metavar="SECONDS",
    )  # fmt: skip
    patience: int = option(
        None, "stop when val_loss has not improved for this many epochs", kind="int", low=1, optional=True,
        resumable=True,
    )  # fmt: skip
    target_loss: float = option(
        None, "stop once an epoch's training loss is at most this", kind="float", low=0, optional=True, resumable=True
    )
    grad_tol: float = option(
        None, "stop once a step's global gradient norm is below this", kind="float", low=0, low_open=True,
        optional=True, resumable=True,
    )  # fmt: skip
    # running and output (may change when resuming)
    threads: int | str = option(
        None,
        "threads of bprop and the BLAS for the whole run (off: the data set's choice, else bp.get_num_threads());"
        " auto: the cores other processes leave free at the start; recorded in the checkpoint",
        kind="threads",
        low=1,
        high=1024,
        optional=True,
        resumable=True,
    )
    out: str = option(
        None, "folder for last.npz, best.npz, history.csv, metrics.json", kind="str", optional=True, resumable=True,
        metavar="DIR",
    )  # fmt: skip
    report: str = option(
        None, "also write DIR/report.html (implies --out DIR); needs matplotlib", kind="str", optional=True,
        resumable=True, metavar="DIR",
    )  # fmt: skip
    quiet: bool = option(False, "no progress output", kind="bool", resumable=True)
    profile: bool = option(
        False, "print the per-op time table (bp.profile) of the first epoch", kind="bool", resumable=True
    )
    profile_memory: bool = option(
        False, "print the per-op time and memory table of the first epoch instead (tracemalloc: slower, so read "
        "times from --profile)", kind="bool", resumable=True,
    )  # fmt: skip

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, check_option(f.name, getattr(self, f.name)))
        chosen = {f.name for f in dataclasses.fields(self) if getattr(self, f.name) not in (None, f.default)}
        from bprop.data.registry import dataset_spec

        try:
            spec = dataset_spec(self.data)
        except Exception as err:  # DatasetError: an unknown name
            raise ConfigError(str(err)) from None
        from bprop.nn.builder import MODEL_DEFAULTS

        model = self.model if self.model is not None else spec.defaults.get("model")
        defaults = {**spec.defaults, **MODEL_DEFAULTS.get(model, {})}  # the model's own defaults win
        for f in dataclasses.fields(self):
            if getattr(self, f.name) is None and f.name in defaults:
                object.__setattr__(self, f.name, check_option(f.name, defaults[f.name]))
        self._check_combinations(spec)
        # an option counts as chosen if it differs from what the defaults give (a stored config holds those)
        self._check_model_reads({n for n in chosen if getattr(self, n) != defaults.get(n, FIELDS[n].default)})

    @property
    def model_normalization(self) -> str | None:
        """The model's normalisation layer: "batchnorm", "layernorm" or None (--no-batchnorm
        predates --normalization and still turns it off)."""
        return None if not self.batchnorm or self.normalization == "none" else self.normalization

    def _check_combinations(self, spec: Any) -> None:
        if not self.batchnorm and _given(self.normalization) and self.normalization != "none":
            raise ConfigError(
                f"--no-batchnorm turns normalisation off, --normalization {self.normalization} on: give one"
            )
        if self.profile and self.profile_memory:
            raise ConfigError(
                "--profile and --profile-memory each profile the first epoch: give --profile for its times, "
                "--profile-memory for its memory (tracemalloc slows the times it shows)"
            )
        if self.report is not None and spec.task == "language-model":
            raise ConfigError("--report draws a classifier's plots and examples; for a language model use --out DIR")
        if self.patience is not None and not self.val_split:
            raise ConfigError("--patience stops on the validation loss: give --val-split too")
        if self.nesterov and (self.optimizer != "sgd" or self.momentum == 0):
            raise ConfigError("--nesterov needs --optimizer sgd and --momentum > 0")
        if self.momentum and self.optimizer not in ("sgd", "rmsprop"):
            raise ConfigError(f"--momentum applies to sgd and rmsprop, not {self.optimizer}")
        from bprop.nn.builder import LANGUAGE_MODELS

        if spec.task == "language-model" and self.model not in LANGUAGE_MODELS:
            raise ConfigError(
                f"--model {self.model} predicts one class per sample, but {self.data} needs the next character "
                f"at every position: use --model {' or '.join(LANGUAGE_MODELS)}"
            )
        shape = spec.input_shape
        if (
            shape is not None
            and self.model in ("convnet", "lenet5", "lenet5-classic")
            and shape[1:] not in ((28, 28), (32, 32))
        ):
            raise ConfigError(
                f"--model {self.model} needs larger images than {self.data}'s {shape[1]}×{shape[2]}; "
                "use --model fcnet or mlp"
            )

    def _check_model_reads(self, chosen: set[str]) -> None:
        """Refuse an architecture option the model does not read (--dropout for lenet5): the run
        would silently ignore it."""
        from bprop.nn.builder import ARCHITECTURE_OPTIONS, MODEL_USES

        uses = MODEL_USES.get(self.model)
        if uses is None:  # a model registered without saying what it reads
            return
        for name in sorted(chosen, key=list(FIELDS).index):
            option = "normalization" if name == "batchnorm" else name
            if option in ARCHITECTURE_OPTIONS and option not in uses:
                reads = ", ".join(flag(o) for o in ARCHITECTURE_OPTIONS if o in uses) or "none"
                raise ConfigError(
                    f"{flag(name)} has no effect on --model {self.model}; of "
                    f"{', '.join(map(flag, ARCHITECTURE_OPTIONS))} it reads {reads}"
                )

    # ----- conversions ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain values (tuples as lists), as stored in checkpoints."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "") -> RunConfig:
        """A RunConfig from stored values; keys it does not know are ignored (a checkpoint also
        holds the input shape and class count), wrong values raise ConfigError naming ``where``."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        if values.get("batchnorm") is False and values.get("normalization") == "batchnorm":
            del values["normalization"]  # stored as the default beside --no-batchnorm, not asked for
        try:
            return cls(**values)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}" if where else str(err)) from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike, **overrides: Any) -> RunConfig:
        """A RunConfig from a TOML file of option values (keys spelt like the flags, with - or
        _), each checked like the same option on the command line; ``overrides`` win."""
        return cls(**{**toml_values(path), **overrides})

    @classmethod
    def from_checkpoint(cls, path: Any, **changes: Any) -> RunConfig:
        """The RunConfig stored in a checkpoint written by ``run``, with ``changes`` (resumable
        options only, see ``resumed_with``)."""
        from bprop.train.run import read_checkpoint  # run.py builds on this module

        return read_checkpoint(path)[1].resumed_with(changes)

    def resumed_with(self, changes: dict[str, Any]) -> RunConfig:
        """This (saved) configuration with ``changes`` applied for a resumed run: options marked
        resumable may change; any other option given with a different value is an error naming
        the option and both values. The time limit and --quiet belong to one invocation and are
        not carried over."""
        current = self.to_dict()
        for name, value in changes.items():
            meta = FIELDS[name].metadata
            new = check_option(name, value)
            new = list(new) if isinstance(new, tuple) else new
            if not meta["resumable"] and new != current[name]:
                was = f"{flag(name)} {_show(current[name])}"
                raise ConfigError(
                    f"{flag(name)} {_show(new)} differs from the run being resumed ({was}); a resumed run "
                    f"keeps its options except {', '.join(flag(n) for n in resumable_options())}"
                )
        fresh = {name: FIELDS[name].default for name in PER_INVOCATION}
        return dataclasses.replace(self, **{**fresh, **changes})


FIELDS = {f.name: f for f in dataclasses.fields(RunConfig)}
# options that belong to one invocation: a resumed run has them only if given anew (a time limit
# is a budget for one sitting; --quiet cannot be switched off on the command line)
PER_INVOCATION = ("time_limit", "quiet")


# actions of one command, not settings of a run: a config file cannot hold them
NOT_IN_CONFIG_FILES = ("resume", "overwrite", "workers", "config")


def max_workers() -> int:
    """The most data-parallel processes (``--workers``): one per core, as more only take turns
    on the cores (and thousands would swamp the machine); at least 2, so that the README's
    ``--workers 2`` runs anywhere."""
    return max(2, os.cpu_count() or 1)


def check_workers(workers: Any) -> int:
    """``workers`` checked as ``bprop train --workers`` takes it: an integer in [1, max_workers()]."""
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= max_workers():
        raise ConfigError(
            f"--workers must be an integer in [1, {max_workers()}] (one process per core of this machine), "
            f"got {quoted(workers)}"
        )
    return workers


def toml_values(path: str | os.PathLike) -> dict[str, Any]:
    """The option values of a TOML file (keys spelt like the flags, with - or _), each checked
    like the same option on the command line."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise ConfigError("--config needs Python 3.11+ or the tomli package") from None
    where = f"--config {path}"
    if not str(path):
        raise ConfigError("--config needs a file name, got an empty one")
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{where}: is a folder, not a TOML file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{where}: cannot read it ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{where}: not valid TOML: {err}") from None
    values = {}
    known = {f.name for f in options()}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name in NOT_IN_CONFIG_FILES:
            raise ConfigError(f"{where}: {key!r} cannot be set in a config file; give {flag(name)} on the command line")
        if name not in known:
            raise ConfigError(
                f"{where}: unknown option {quoted(key)} (keys are the options' names, e.g. batch-size, lr)"
            )
        try:
            values[name] = check_option(name, value)
        except ConfigError as err:
            raise ConfigError(f"{where}: {err}") from None
    return values


def flag(name: str) -> str:
    """The command-line spelling of an option: batch_size → --batch-size."""
    return "--" + name.replace("_", "-")


def resumable_options() -> list[str]:
    return [name for name, f in FIELDS.items() if f.metadata["resumable"]]


def options() -> Iterator[dataclasses.Field]:
    """The fields of RunConfig, in declaration order."""
    return iter(FIELDS.values())


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


STR_NOUNS = {"DIR": "a folder name", "NAME": "a data set name (see --help), PATH.npz or text:PATH"}


def describe_range(name: str) -> str:
    """What ``name`` accepts, in words: "an integer ≥ 1", "a number in [0, 1)", "one of …"."""
    meta = FIELDS[name].metadata
    kind = meta["kind"]
    if meta["choices"] is not None:
        return "one of " + ", ".join(meta["choices"]())
    if kind == "bool":
        return "true or false"
    if kind == "str":
        return STR_NOUNS.get(meta["metavar"] or "", "a text")
    if kind == "sizes":
        return "positive integers separated by commas (e.g. 256,128)"
    noun = "an integer" if kind in ("int", "threads") else "a number"
    low, high = meta["low"], meta["high"]
    if low is not None and high is not None:
        return (
            f"{noun} in {'(' if meta['low_open'] else '['}{_num(low)}, {_num(high)}{')' if meta['high_open'] else ']'}"
            + (" or auto" if kind == "threads" else "")
        )
    if low is not None:
        return f"{noun} {'>' if meta['low_open'] else '≥'} {_num(low)}"
    return f"{noun} (finite)"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def check_option(name: str, value: Any) -> Any:
    """``value`` converted to the option's type and checked against its range; raises
    ConfigError naming the option and what it accepts."""
    if name not in FIELDS:
        raise ConfigError(f"unknown option {name!r}")
    meta = FIELDS[name].metadata
    if value is None:
        if meta["optional"] or meta["per_data_set"]:
            return None
        raise ConfigError(f"{flag(name)} must be {describe_range(name)}, got nothing")
    if meta["kind"] == "str" and isinstance(value, str) and not value.strip():
        raise ConfigError(f"{flag(name)} needs {describe_range(name)}, got an empty one")
    converted = _convert(meta["kind"], value)
    if converted == "auto":
        return converted
    if converted is None or not _in_range(meta, converted):
        raise ConfigError(f"{flag(name)} must be {describe_range(name)}, got {quoted(value)}")
    return converted


def quoted(value: Any, limit: int = 60) -> str:
    """``repr(value)``, or its first characters and its length when longer than ``limit``: an
    error echoes what was given, never a 10 MB line."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}… ({len(text):,} characters)"


def _convert(kind: str, value: Any) -> Any:
    """``value`` as the kind's type, or None when it is not one."""
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if kind == "str":
        return value if isinstance(value, str) and value.strip() else None
    if kind == "int":
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value) if math.isfinite(value) else None
    if kind == "sizes":
        return _sizes(value)
    if kind == "threads":  # a count, or "auto" (from the command line, a count comes as text)
        if value == "auto":
            return value
        if isinstance(value, str):
            value = int(value) if value.strip().isdigit() else None
        return _convert("int", value)
    raise AssertionError(kind)


def _sizes(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    if isinstance(value, str):
        try:
            value = [int(part) for part in value.split(",")]
        except ValueError:
            return None
    if not isinstance(value, (list, tuple)) or not value:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value):
        return None
    return tuple(value)


def _in_range(meta: dict[str, Any], value: Any) -> bool:
    if meta["choices"] is not None:
        return value in meta["choices"]()
    low, high = meta["low"], meta["high"]
    if low is not None and (value < low or (meta["low_open"] and value == low)):
        return False
    return not (high is not None and (value > high or (meta["high_open"] and value == high)))
