"""The ``bprop`` command: its parser, its exit codes and its relaunch under MPI.

Each subcommand lives in its own module of this package (``bprop.cli.train``…) as two
functions, one adding its arguments and one running it (argv → library call → print), and is
registered here in ``SUBCOMMANDS``.

A user's mistake ends in one line on stderr: exit status 2 for bad input (options, data,
files), 3 for a diverged run, 130 for Ctrl-C (128 + the signal's number for SIGTERM, SIGHUP);
never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import signal
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import bprop as bp
from bprop import distributed as dist
from bprop.cli.check import add_check_args, cmd_check
from bprop.cli.eval import add_eval_args, cmd_eval
from bprop.cli.exercise import add_exercise_args, cmd_exercise
from bprop.cli.explain import add_explain_args, cmd_explain
from bprop.cli.export import add_export_args, cmd_export
from bprop.cli.gradcheck import add_gradcheck_args, cmd_gradcheck
from bprop.cli.report import add_report_args, cmd_report
from bprop.cli.run import add_run_args, cmd_run
from bprop.cli.sample import add_sample_args, cmd_sample
from bprop.cli.train import add_train_args, cmd_train, train_config
from bprop.data.datasets import DatasetError
from bprop.exercise import ExerciseError
from bprop.train.fit import DivergenceError, Interrupted
from bprop.train.run import RunError
from bprop.train.run_config import ConfigError

USER_ERRORS = (RunError, ConfigError, DatasetError, ExerciseError)
EXIT_USER_ERROR, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130

SUBCOMMANDS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int], str]] = {
    "train": (add_train_args, cmd_train, "train a model (default: the notes' fully connected net on digits)"),
    "eval": (add_eval_args, cmd_eval, "evaluate a checkpoint: accuracy, confusion matrix, per-class scores"),
    "export": (add_export_args, cmd_export, "export a checkpoint's model to ONNX"),
    "explain": (add_explain_args, cmd_explain, "backprop through a small network with every number shown"),
    "report": (add_report_args, cmd_report, "rebuild report.html of a finished run"),
    "exercise": (add_exercise_args, cmd_exercise, "write an op's forward with its backward left for you to derive"),
    "check": (add_check_args, cmd_check, "grade your backward against bprop's and finite differences"),
    "sample": (add_sample_args, cmd_sample, "continue a text with a trained character-level language model"),
    "run": (add_run_args, cmd_run, "run a PyTorch script on bprop: `import torch` gives bprop"),
    "gradcheck": (
        add_gradcheck_args,
        cmd_gradcheck,
        "check every op of a trained model's graph; name a wrong backward",
    ),
}


# ----- the command -------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}  # the subcommands' parsers, by name

    def error(self, message: str) -> None:  # one line, no usage dump
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message}\n")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> argparse.Namespace:  # type: ignore[override]
        """As argparse's, but an unknown argument is reported by its command's parser ("bprop
        train: error: …", not "bprop: error: …") with the option it most resembles."""
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            command = self.commands.get(getattr(parsed, "command", None) or "", self)
            command.error(f"unrecognized arguments: {' '.join(unknown)}{_did_you_mean(command, unknown[0])}")
        return parsed


def _did_you_mean(parser: argparse.ArgumentParser, unknown: str) -> str:
    flags = [s for action in parser._actions for s in action.option_strings]
    close = difflib.get_close_matches(unknown.split("=")[0], flags, n=1, cutoff=0.75) if unknown[:1] == "-" else []
    return f" (did you mean {close[0]}?)" if close else ""


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bprop", description="bprop: deep learning on NumPy with hand-derived backprop.")
    parser.add_argument("--version", action="version", version=f"bprop {bp.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (add_args, _, help_text) in SUBCOMMANDS.items():
        parser.commands[name] = sub.add_parser(name, help=help_text, description=help_text)
        add_args(parser.commands[name])
    return parser


def _without_workers(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out


def _launch(args: argparse.Namespace, argv: list[str]) -> int:
    """Check the options here, then become the launcher of ``--workers`` ranks."""
    train_config(args)
    try:
        command = dist.launch_command(args.workers, ["-m", "bprop.cli", *_without_workers(argv)])
    except RuntimeError as err:
        raise RunError(str(err)) from None
    return dist.run_launched(command, dist.worker_env())


def _under_launcher() -> bool:
    return "OMPI_COMM_WORLD_SIZE" in os.environ or "PMI_SIZE" in os.environ


def _dispatch(args: argparse.Namespace, argv: list[str]) -> int:
    if getattr(args, "workers", 1) > 1 and not _under_launcher():
        return _launch(args, argv)
    return SUBCOMMANDS[args.command][1](args)


def _resume_hint(args: argparse.Namespace) -> str:
    out = getattr(args, "out", None) or getattr(args, "report", None)
    if args.command != "train":
        return ""
    if out and (Path(out) / "last.npz").exists():
        return f"; the last complete step is saved: resume with `bprop train --out {out} --resume`"
    return "; nothing was saved yet" if out else "; nothing was saved (give --out DIR to keep checkpoints)"


def _kept(args: argparse.Namespace) -> str:
    out = getattr(args, "out", None) or getattr(args, "report", None)
    if out and (Path(out) / "last.npz").exists():
        return f"; {Path(out) / 'last.npz'} keeps the last complete epoch"
    return ""


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _smaller_hint(args: argparse.Namespace) -> str:
    return "; choose smaller sizes (--hidden, --batch-size)" if args.command == "train" else ""


def _fail(args: argparse.Namespace, message: str, code: int, agreed: bool = False) -> int:
    """Print one line and return ``code``. Under MPI, after start-up (``agreed`` False) one
    rank's error ends the whole job at once; agreed errors are printed by rank 0 only."""
    if not agreed or dist.is_main():
        print(f"bprop {args.command}: {message}", file=sys.stderr, flush=True)
    if dist.is_distributed() and not agreed:
        dist.abort(code)
    return code


@contextlib.contextmanager
def _signals_as_interrupts(received: list[int]) -> Iterator[None]:
    """SIGTERM and SIGHUP (and SIGUSR1, the launcher's request to its ranks) end the command as
    Ctrl-C does: at a step boundary inside the fit loop, which sets its own handlers, and by
    KeyboardInterrupt elsewhere, so that the run folder's lock is released and the message is
    one line."""
    names = ["SIGTERM", "SIGHUP"] + (["SIGUSR1"] if _under_launcher() else [])
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = {
        n: signal.signal(n, interrupt) for n in (getattr(signal, name) for name in names if hasattr(signal, name))
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USER_ERROR
    received: list[int] = []
    try:
        with warnings.catch_warnings(), _signals_as_interrupts(received):
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow warnings: divergence is caught
            return _dispatch(args, argv)
    except dist.RankError as err:
        return _fail(args, f"error: {err}", EXIT_USER_ERROR, agreed=True)
    except USER_ERRORS as err:
        return _fail(args, f"error: {err}", EXIT_USER_ERROR)
    except DivergenceError as err:
        # every rank finds the divergence at the same step (fit sees to it): no abort needed
        return _fail(args, f"stopped: {err} (--lr){_kept(args)}", EXIT_DIVERGED, agreed=True)
    except Interrupted as err:  # stopped at a step boundary, on every rank at the same step
        code = 128 + err.signum if err.signum else EXIT_INTERRUPTED
        return _fail(args, f"interrupted{_resume_hint(args)}", code, agreed=True)
    except dist.JobStopped as err:  # the launcher of --workers ranks: one line for the whole job
        return _fail(args, f"interrupted{_resume_hint(args)}", 128 + err.signum, agreed=True)
    except KeyboardInterrupt:
        code = 128 + received[0] if received else EXIT_INTERRUPTED
        return _fail(args, f"interrupted{_resume_hint(args)}", code)
    except MemoryError as err:  # e.g. --hidden 99999999999: NumPy says how much it wanted
        return _fail(args, f"error: not enough memory: {_lower_first(str(err))}{_smaller_hint(args)}", EXIT_USER_ERROR)
    except BrokenPipeError:  # e.g. `bprop eval … | head -1`: the reader has all it wanted
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the interpreter's final flush fails silently too
        return 141
    except OSError as err:  # a disk full, a permission changed mid-run: not a bug of ours, still one line
        return _fail(args, f"error: {err}", 1)


if __name__ == "__main__":
    sys.exit(main())
