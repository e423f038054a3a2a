"""A user's mistakes, table-driven: every bad input below ends with a non-zero exit status, one
or two lines on stderr, no traceback, and no file changed (the folder of an existing run, the
data files and the checkpoints are all under the watched folder)."""

from __future__ import annotations

import copy
import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import bprop as bp
from bprop.cli import main

# each case: (id, argv with {W} for the watched folder, expected text in the message)
CASES = [
    # numbers out of range or not numbers
    ("lr negative", ["train", "--lr", "-1"], "--lr must be a number > 0, got -1"),
    ("lr nan", ["train", "--lr", "nan"], "--lr must be a number > 0"),
    ("lr inf", ["train", "--lr", "inf"], "--lr must be a number > 0"),
    ("lr zero", ["train", "--lr", "0"], "--lr must be a number > 0"),
    ("lr not a number", ["train", "--lr", "fast"], "invalid float value: 'fast'"),
    ("batch size zero", ["train", "--batch-size", "0"], "--batch-size must be an integer ≥ 1, got 0"),
    ("batch size negative", ["train", "--batch-size", "-5"], "--batch-size must be an integer ≥ 1"),
    ("batch size fraction", ["train", "--batch-size", "1.5"], "invalid int value: '1.5'"),
    ("dropout above 1", ["train", "--dropout", "1.5"], "--dropout must be a number in [0, 1), got 1.5"),
    ("dropout 1", ["train", "--dropout", "1"], "--dropout must be a number in [0, 1)"),
    ("dropout negative", ["train", "--dropout", "-0.1"], "--dropout must be a number in [0, 1)"),
    ("seed negative", ["train", "--seed", "-1"], "--seed must be an integer in [0, 4294967295], got -1"),
    ("seed too large", ["train", "--seed", str(2**32)], "--seed must be an integer in [0, 4294967295]"),
    ("epochs negative", ["train", "--epochs", "-1"], "--epochs must be an integer ≥ 1, got -1"),
    ("epochs zero", ["train", "--epochs", "0"], "--epochs must be an integer ≥ 1"),
    ("epochs missing value", ["train", "--epochs"], "expected one argument"),
    ("workers negative", ["train", "--workers", "-2"], "--workers must be an integer in [1, "),
    ("workers zero", ["train", "--workers", "0"], "--workers must be an integer in [1, "),
    ("workers too many", ["train", "--workers", "99999"], "(one process per core of this machine), got 99999"),
    ("threads negative", ["train", "--threads", "-3"], "--threads must be an integer in [1, 1024] or auto, got '-3'"),
    ("threads zero", ["train", "--threads", "0"], "--threads must be an integer in [1, 1024] or auto"),
    ("threads a word", ["train", "--threads", "all"], "--threads must be an integer in [1, 1024] or auto, got 'all'"),
    ("patience negative", ["train", "--val-split", "0.1", "--patience", "-1"], "--patience must be an integer ≥ 1"),
    ("patience zero", ["train", "--val-split", "0.1", "--patience", "0"], "--patience must be an integer ≥ 1"),
    ("time limit negative", ["train", "--time-limit", "-5"], "--time-limit must be a number > 0, got -5"),
    ("time limit zero", ["train", "--time-limit", "0"], "--time-limit must be a number > 0"),
    ("time limit nan", ["train", "--time-limit", "nan"], "--time-limit must be a number > 0"),
    ("val split 1", ["train", "--val-split", "1"], "--val-split must be a number in [0, 1), got 1"),
    ("val split negative", ["train", "--val-split", "-0.1"], "--val-split must be a number in [0, 1)"),
    ("momentum 1.5", ["train", "--optimizer", "sgd", "--momentum", "1.5"], "--momentum must be a number in [0, 1)"),
    ("momentum negative", ["train", "--optimizer", "sgd", "--momentum", "-0.1"], "--momentum must be a number"),
    ("momentum with adam", ["train", "--momentum", "0.9"], "--momentum applies to sgd and rmsprop, not adam"),
    ("weight decay negative", ["train", "--weight-decay", "-1"], "--weight-decay must be a number ≥ 0"),
    ("reg negative", ["train", "--reg", "-1"], "--reg must be a number ≥ 0, got -1"),
    ("weight scale zero", ["train", "--weight-scale", "0"], "--weight-scale must be a number > 0"),
    ("target loss negative", ["train", "--target-loss", "-1"], "--target-loss must be a number ≥ 0"),
    ("grad tol zero", ["train", "--grad-tol", "0"], "--grad-tol must be a number > 0"),
    ("grad tol negative", ["train", "--grad-tol=-1e-3"], "--grad-tol must be a number > 0"),
    # choices and combinations
    ("hidden not numbers", ["train", "--hidden", "64,x"], "--hidden must be positive integers separated by commas"),
    ("hidden zero", ["train", "--hidden", "0"], "--hidden must be positive integers"),
    ("hidden empty", ["train", "--hidden", ""], "--hidden must be positive integers"),
    ("hidden negative", ["train", "--hidden", "64,-3"], "--hidden must be positive integers"),
    ("unknown optimizer", ["train", "--optimizer", "magic"], "--optimizer must be one of sgd, adam, adamw, rmsprop"),
    ("unknown model", ["train", "--model", "resnet"], "--model must be one of fcnet, mlp, convnet, lenet5"),
    ("lenet5 on digits", ["train", "--model", "lenet5"], "needs larger images than digits's 8×8"),
    ("convnet on digits", ["train", "--model", "convnet"], "needs larger images than digits's 8×8"),
    ("nesterov with adam", ["train", "--nesterov"], "--nesterov needs --optimizer sgd and --momentum > 0"),
    ("nesterov without momentum", ["train", "--optimizer", "sgd", "--nesterov"], "--nesterov needs"),
    ("patience without validation", ["train", "--patience", "2"], "give --val-split too"),
    ("unknown flag", ["train", "--lrr", "0.1"], "train: error: unrecognized arguments: --lrr 0.1 (did you mean --lr?)"),
    ("unknown flag, no likeness", ["explain", "--bogus=3"], "bprop explain: error: unrecognized arguments: --bogus=3"),
    ("extra argument", ["gradcheck", "{W}/run/last.npz", "extra"], "gradcheck: error: unrecognized arguments: extra"),
    ("weight scale for lstm", ["train", "--model", "lstm", "--weight-scale", "0.1"], "reads --hidden, --dropout"),
    ("weight scale for mlp", ["train", "--model", "mlp", "--weight-scale", "0.1"], "no effect on --model mlp; of"),
    (
        "normalization for a transformer",
        ["train", "--data", "text:{W}/poem.txt", "--model", "char-transformer", "--normalization", "layernorm"],
        "--normalization has no effect on --model char-transformer",
    ),
    ("batchnorm on and off", ["train", "--normalization", "batchnorm", "--no-batchnorm"], "batchnorm on: give one"),
    ("hidden beyond memory", ["train", "--hidden", "1000000000000"], "not enough memory: unable to allocate"),
    ("unknown command", ["fly"], "invalid choice: 'fly'"),
    # data
    ("unknown data set", ["train", "--data", "nowhere"], "unknown data set 'nowhere'"),
    ("mnist missing", ["train", "--data", "mnist", "--data-dir", "{W}/empty"], "missing"),
    ("data dir a file", ["train", "--data", "mnist", "--data-dir", "{W}/file.txt"], "{W}/file.txt is a file, not a"),
    ("mnist truncated", ["train", "--data", "mnist", "--data-dir", "{W}/truncated"], "truncated"),
    ("npz missing", ["train", "--data", "{W}/absent.npz"], "missing"),
    ("npz label -1", ["train", "--data", "{W}/label_negative.npz"], "labels must be class numbers 0, 1, 2…; found -1"),
    ("npz strings", ["train", "--data", "{W}/strings.npz"], "inputs must be numbers"),
    ("npz string labels", ["train", "--data", "{W}/string_labels.npz"], "y must hold integer class labels"),
    ("npz no samples", ["train", "--data", "{W}/empty.npz"], "hold no samples"),
    ("npz 1-d x", ["train", "--data", "{W}/flat.npz"], "at least one feature axis"),
    ("npz nan", ["train", "--data", "{W}/nan.npz"], "NaN or infinite"),
    ("npz inf", ["train", "--data", "{W}/inf.npz"], "NaN or infinite"),
    ("npz label 1000", ["train", "--data", "{W}/label_1000.npz"], "labels must be the class numbers 0…C−1"),
    ("npz fractional labels", ["train", "--data", "{W}/half_labels.npz"], "y must hold integer class labels"),
    ("npz without y", ["train", "--data", "{W}/no_y.npz"], "expected arrays 'x' and 'y'"),
    ("npz not a zip", ["train", "--data", "{W}/junk.npz"], "is not readable: it is not a zip archive"),
    ("npz empty file", ["train", "--data", "{W}/blank.npz"], "is not readable: the file is empty; expected an .npz"),
    ("npz of objects", ["train", "--data", "{W}/objects.npz"], "holds Python objects (dtype object), which bprop"),
    ("npz a folder", ["train", "--data", "{W}/folder.npz"], "folder.npz is a folder: expected an .npz file"),
    ("npz label 2**40", ["train", "--data", "{W}/label_huge.npz"], "with 1099511627774 missing (first 2)"),
    ("npz lengths differ", ["train", "--data", "{W}/lengths.npz"], "x has 10 samples but y has 9"),
    ("npz one sample", ["train", "--data", "{W}/one.npz"], "too few to split"),
    ("npz 2-d labels", ["train", "--data", "{W}/labels_2d.npz"], "1-d y"),
    ("npz 0-d x", ["train", "--data", "{W}/scalar.npz"], "samples first"),
    ("text with a per-sample model", ["train", "--data", "text:{W}/poem.txt", "--model", "mlp"], "use --model char-"),
    ("text named .npz", ["train", "--data", "text:{W}/junk.npz", "--model", "char-lstm"], "not UTF-8 text"),
    ("text a folder", ["train", "--data", "text:{W}/empty", "--model", "char-lstm"], "is a folder"),
    ("text a device", ["train", "--data", "text:/dev/null", "--model", "char-lstm"], "/dev/null: not a regular file"),
    ("text empty", ["train", "--data", "text:{W}/blank.txt", "--model", "char-lstm"], "blank.txt: the file is empty"),
    ("text white space", ["train", "--data", "text:{W}/spaces.txt", "--model", "char-lstm"], "only white space"),
    ("text too short", ["train", "--data", "text:{W}/short.txt", "--model", "char-lstm"], "at least 641 characters"),
    # the output folder
    ("out holds a run", ["train", "--out", "{W}/run"], "already holds a run (last.npz)"),
    ("out is a file", ["train", "--out", "{W}/file.txt"], "is a file, not a folder"),
    ("out under a file", ["train", "--out", "{W}/file.txt/run"], "run: {W}/file.txt is a file, not a folder"),
    ("report onto a file", ["train", "--report", "{W}/file.txt"], "--report {W}/file.txt is a file, not a folder"),
    ("batch size 1, batch norm", ["train", "--batch-size", "1"], "--batch-size 1 is too few for batch norm"),
    # resume
    ("resume without out", ["train", "--resume"], "--resume needs --out DIR"),
    ("resume empty folder", ["train", "--out", "{W}/empty", "--resume"], "no checkpoint at"),
    ("resume truncated", ["train", "--resume", "{W}/truncated.npz"], "is not a readable bprop file"),
    ("resume random bytes", ["train", "--resume", "{W}/junk.npz"], "is not a readable bprop file"),
    ("resume foreign npz", ["train", "--resume", "{W}/foreign.npz"], "not one bp.save wrote"),
    ("resume a folder", ["train", "--resume", "{W}/run"], "is a folder"),
    ("resume other lr", ["train", "--out", "{W}/run", "--resume", "--lr", "0.5"], "--lr 0.5 differs from the run"),
    ("resume other hidden", ["train", "--out", "{W}/run", "--resume", "--hidden", "9"], "(--hidden 8)"),
    ("resume other optimizer", ["train", "--out", "{W}/run", "--resume", "--optimizer", "sgd"], "(--optimizer adam)"),
    ("resume other seed", ["train", "--out", "{W}/run", "--resume", "--seed", "3"], "--seed 3 differs"),
    ("resume fewer epochs", ["train", "--out", "{W}/run", "--resume", "--epochs", "1"], "already trained 2 epochs"),
    ("resume other data", ["train", "--out", "{W}/run", "--resume", "--data", "{W}/ok.npz"], "--data"),
    # config files
    ("config missing", ["train", "--config", "{W}/absent.toml"], "no such file"),
    ("config folder", ["train", "--config", "{W}/empty"], "is a folder"),
    ("config resume", ["train", "--config", "{W}/resume.toml"], "'resume' cannot be set in a config file"),
    ("config workers", ["train", "--config", "{W}/workers.toml"], "'workers' cannot be set in a config file"),
    ("config unknown key", ["train", "--config", "{W}/unknown.toml"], "unknown option 'epoch'"),
    ("config not TOML", ["train", "--config", "{W}/broken.toml"], "not valid TOML"),
    ("config epochs negative", ["train", "--config", "{W}/epochs.toml"], "--epochs must be an integer ≥ 1, got -3"),
    ("config lr text", ["train", "--config", "{W}/lr.toml"], "--lr must be a number > 0, got 'fast'"),
    ("config empty name", ["train", "--config", ""], "--config needs a file name, got an empty one"),
    ("config hidden zero", ["train", "--config", "{W}/hidden.toml"], "--hidden must be positive integers"),
    # eval, export, report
    ("eval missing", ["eval", "{W}/absent.npz"], ": no such file (expected a checkpoint"),
    ("eval random bytes", ["eval", "{W}/junk.npz"], "is not a readable bprop file"),
    (
        "eval empty file",
        ["eval", "{W}/blank.txt"],
        "error: {W}/blank.txt is not a readable bprop file: the file is empty",
    ),
    ("eval folder", ["eval", "{W}/run"], "is a folder"),
    ("eval truncated", ["eval", "{W}/truncated.npz"], "is not a readable bprop file"),
    ("eval foreign npz", ["eval", "{W}/foreign.npz"], "not one bp.save wrote"),
    ("eval other shape", ["eval", "{W}/run/last.npz", "--data", "{W}/ok.npz"], "takes inputs of shape (1, 8, 8)"),
    ("eval unknown data", ["eval", "{W}/run/last.npz", "--data", "nowhere"], "unknown data set 'nowhere'"),
    ("export opset 5", ["export", "{W}/run/last.npz", "--onnx", "{W}/m.onnx", "--opset", "5"], "--opset must be"),
    ("export opset 99", ["export", "{W}/run/last.npz", "--onnx", "{W}/m.onnx", "--opset", "99"], "[17, 21]"),
    ("export into no folder", ["export", "{W}/run/last.npz", "--onnx", "{W}/no/such/m.onnx"], "does not exist"),
    ("export onto a folder", ["export", "{W}/run/last.npz", "--onnx", "{W}/empty"], "is a folder"),
    ("export junk", ["export", "{W}/junk.npz", "--onnx", "{W}/m.onnx"], "is not a readable bprop file"),
    ("eval a text file", ["eval", "{W}/file.txt"], "neither an .npz archive nor an .npy array"),
    ("report missing", ["report", "{W}/absent"], "is not a folder"),
    ("report a file", ["report", "{W}/file.txt"], "is not a folder"),
    ("report no run", ["report", "{W}/empty"], "has no last.npz"),
    ("report damaged metrics", ["report", "{W}/damaged"], "damaged/metrics.json is damaged: Expecting"),
    ("report empty name", ["report", ""], "give the folder of a run (bprop train --out DIR), not an empty name"),
    ("report a language model", ["report", "{W}/lm"], "holds a language model (char-lstm); report draws"),
    ("eval empty name", ["eval", ""], "no checkpoint given (an empty file name)"),
    ("export onto an empty name", ["export", "{W}/run/last.npz", "--onnx", ""], "--onnx needs a file name"),
    # sample, exercise, check
    ("sample not a language model", ["sample", "{W}/run/last.npz", "--prompt", "a"], "is not a language model"),
    ("sample a folder", ["sample", "{W}/run", "--prompt", "a"], "is a folder"),
    ("exercise unknown op", ["exercise", "nosuch", "--out", "{W}/x.py"], "unknown op 'nosuch'"),
    ("exercise onto a folder", ["exercise", "relu", "--out", "{W}/empty"], "is a folder: give a file name, e.g."),
    ("exercise onto an empty name", ["exercise", "relu", "--out", ""], "--out needs a file name"),
    ("sample seed negative", ["sample", "{W}/lm/last.npz", "--prompt", "a", "--seed", "-1"], "[0, 4294967295], got -1"),
    ("sample length huge", ["sample", "{W}/lm/last.npz", "--prompt", "a", "--length", "10001"], "in [0, 10000]"),
    ("exercise onto a file", ["exercise", "relu", "--out", "{W}/file.txt"], "exists already"),
    ("check a folder", ["check", "{W}/empty"], "is a folder"),
    ("check not an exercise", ["check", "{W}/plain.py"], "is not an exercise"),
    ("check a file that exits", ["check", "{W}/exits.py"], "exits.py: running the file called sys.exit(3)"),
    # explain
    ("explain sizes not numbers", ["explain", "--sizes", "a,b"], "--sizes needs at least two positive layer sizes"),
    ("explain one size", ["explain", "--sizes", "5"], "--sizes needs at least two"),
    ("explain too large", ["explain", "--sizes", "300,300,10"], "93,000 weights is too many"),
    ("explain stride 0", ["explain", "--conv", "--stride", "0"], "--stride must be an integer in [1, 32], got 0"),
    ("explain kernel 0", ["explain", "--conv", "--kernel", "0"], "--kernel must be an integer in [1, 32], got 0"),
    ("explain padding -1", ["explain", "--conv", "--padding", "-1"], "--padding must be an integer in [0, 32]"),
    ("explain kernel too big", ["explain", "--conv", "--size", "3", "--kernel", "9", "--padding", "0"], "does not fit"),
    ("explain lr negative", ["explain", "--sizes", "2,2", "--lr", "-1"], "--lr must be a number > 0"),
    ("explain rnn steps 0", ["explain", "--rnn", "rnn", "--steps", "0"], "--steps must be an integer in [1, 100]"),
    ("explain samples 0", ["explain", "--checkpoint", "{W}/run/last.npz", "--samples", "0"], "in [1, 64], got 0"),
    ("explain out folder", ["explain", "--out", "{W}/empty"], "is a folder"),
    ("explain steps without rnn", ["explain", "--steps", "5"], "--steps applies to --rnn"),
    ("explain kernel without conv", ["explain", "--kernel", "2"], "--kernel applies to --conv"),
    ("explain padding with rnn", ["explain", "--rnn", "lstm", "--padding", "0"], "--padding applies to --conv"),
    ("explain activation of a model", ["explain", "--model", "fcnet", "--activation", "relu"], "not to --model"),
    ("explain loss of a conv", ["explain", "--conv", "--loss", "mse"], "--loss applies to a dense network (--sizes)"),
    ("explain out empty name", ["explain", "--out", ""], "--out needs a file name, got an empty one"),
    ("explain seed negative", ["explain", "--seed", "-5"], "--seed must be an integer in [0, 4294967295], got -5"),
    (
        "explain a language model",
        ["explain", "--checkpoint", "{W}/lm/last.npz"],
        "holds a language model (char-lstm: layers Embedding, LSTM), which explain cannot show",
    ),
    # gradcheck
    ("gradcheck a run folder", ["gradcheck", "{W}/run"], "is a folder, not a checkpoint file: give the file in it"),
    ("gradcheck a folder", ["gradcheck", "{W}/empty"], "is a folder, not a checkpoint file (expected a checkpoint"),
    ("gradcheck one sample, batch norm", ["gradcheck", "{W}/run/last.npz", "--samples", "1"], "fcnet has batch norm"),
    ("explain one sample, batch norm", ["explain", "--checkpoint", "{W}/run/last.npz", "--samples", "1"], "needs 2 or"),
    ("gradcheck seed negative", ["gradcheck", "{W}/run/last.npz", "--seed", "-1"], "[0, 4294967295], got -1"),
    ("gradcheck empty name", ["gradcheck", ""], "no checkpoint given"),
    ("gradcheck missing", ["gradcheck", "{W}/absent.npz"], "absent.npz: no such file"),
    # issue 23: data loss, wrong words, tracebacks found by fuzzing
    ("npz zero features", ["train", "--data", "{W}/zero_features.npz"], "the samples have no features"),
    (
        "sample temperature tiny",
        ["sample", "{W}/cut_vocabulary.npz", "--prompt", "a", "--temperature", "1e-320"],
        "the stored vocabulary holds 3 characters",
    ),
    (
        "sample temperature nan",
        ["sample", "{W}/lm/last.npz", "--prompt", "a", "--temperature", "nan"],
        "--temperature must be a finite number > 0, got nan",
    ),
    ("sample temperature inf", ["sample", "{W}/lm/last.npz", "--prompt", "a", "--temperature", "inf"], "got inf"),
    ("sample temperature 0", ["sample", "{W}/lm/last.npz", "--prompt", "a", "--temperature", "0"], "got 0.0"),
    ("sample temperature negative", ["sample", "{W}/lm/last.npz", "--prompt", "a", "--temperature", "-1"], "> 0"),
    ("sample vocabulary cut", ["sample", "{W}/cut_vocabulary.npz", "--prompt", "a"], "but the model predicts"),
    ("eval vocabulary cut", ["eval", "{W}/cut_vocabulary.npz"], "the checkpoint is damaged"),
    ("eval vocabulary of words", ["eval", "{W}/word_vocabulary.npz"], "is not a list of single characters"),
    ("resume negative epoch", ["train", "--resume", "{W}/negative_epoch.npz"], "the stored epoch -4 is not a non-"),
    ("eval boolean input shape", ["eval", "{W}/bool_shape.npz"], "the stored input shape [True] is not a list"),
    ("eval no weights", ["eval", "{W}/no_weights.npz"], "holds no model weights"),
    ("eval text step", ["eval", "{W}/text_step.npz"], "the stored step 'seven' is not a non-negative integer"),
    ("eval negative position", ["eval", "{W}/negative_position.npz"], "the stored loader position -1"),
    ("sample empty prompt", ["sample", "{W}/lm/last.npz", "--prompt", ""], "--prompt must hold at least one"),
    ("sample unseen characters", ["sample", "{W}/lm/last.npz", "--prompt", "ZZ"], "2 characters the model never saw"),
    ("sample length negative", ["sample", "{W}/lm/last.npz", "--prompt", "a", "--length", "-1"], "[0, 10000]"),
    ("out symlink loop", ["train", "--out", "{W}/loop"], "--out {W}/loop is a loop of symbolic links"),
    ("out dangling symlink", ["train", "--out", "{W}/dangling"], "is a symbolic link to nowhere, which does not"),
    ("report symlink loop", ["train", "--report", "{W}/loop"], "--report {W}/loop is a loop of symbolic links"),
    ("explain out symlink loop", ["explain", "--out", "{W}/loop"], "--out {W}/loop is a loop of symbolic links"),
    ("explain out dangling symlink", ["explain", "--out", "{W}/dangling"], "is a symbolic link to nowhere, which"),
    ("export onto a dangling symlink", ["export", "{W}/run/last.npz", "--onnx", "{W}/dangling"], "link to nowhere"),
    ("export onto a symlink loop", ["export", "{W}/run/last.npz", "--onnx", "{W}/loop"], "a loop of symbolic links"),
    ("out empty", ["train", "--out", ""], "--out needs a folder name, got an empty one"),
    ("report empty", ["train", "--report", ""], "--report needs a folder name, got an empty one"),
    ("data empty", ["train", "--data", ""], "--data needs a data set name (see --help), PATH.npz or text:PATH"),
    ("data blank", ["train", "--data", "  "], "--data needs a data set name"),
    ("data dir empty", ["train", "--data-dir", ""], "--data-dir needs a folder name, got an empty one"),
    ("data text without a colon", ["train", "--data", "text"], "give the text file after the colon, e.g."),
    ("data text without a file", ["train", "--data", "text:"], "--data text: give the text file after the colon"),
    ("eval data empty", ["eval", "{W}/run/last.npz", "--data", ""], "--data needs a data set name"),
    ("eval data dir empty", ["eval", "{W}/run/last.npz", "--data-dir", ""], "--data-dir needs a folder name"),
    ("eval data text without a file", ["eval", "{W}/lm/last.npz", "--data", "text:"], "after the colon"),
    ("config 1 MB value", ["train", "--config", "{W}/huge_value.toml"], "… (1,000,002 characters)"),
    ("config 1 MB key", ["train", "--config", "{W}/huge_key.toml"], "… (1,000,002 characters) (keys are"),
    ("config 1 MB data name", ["train", "--config", "{W}/huge_data.toml"], "… (1,000,000 characters); choose"),
    ("config infinite lr", ["train", "--config", "{W}/inf_lr.toml"], "--lr must be a number > 0, got inf"),
    ("config empty out", ["train", "--config", "{W}/empty_out.toml"], "--out needs a folder name, got an empty"),
    ("config profile both", ["train", "--config", "{W}/profiles.toml"], "give --profile for its times"),
    ("resume and overwrite", ["train", "--out", "{W}/run", "--resume", "--overwrite"], "give one of them"),
    (
        "resume into another run",
        ["train", "--resume", "{W}/run/last.npz", "--out", "{W}/other", "--epochs", "5"],
        "{W}/other already holds another run (last.npz); continuing {W}/run/last.npz there would replace it",
    ),
    ("out in use", ["train", "--out", "{W}/busy"], "--out {W}/busy is in use by another run (process"),
    ("out in use, overwrite", ["train", "--out", "{W}/busy", "--overwrite"], "is in use by another run"),
    (
        "out stale lock",
        ["train", "--out", "{W}/stale", "--resume", "--epochs", "5"],
        "holds a stale lock: the run that took it",
    ),
    ("out locked elsewhere", ["train", "--out", "{W}/elsewhere"], "is in use by process 1 on elsewhere"),
    ("out lock unreadable", ["train", "--out", "{W}/half_locked"], "names no process): wait for that run to end"),
    (
        "dropout with lenet5",
        ["train", "--data", "mnist", "--model", "lenet5", "--dropout", "0.5"],
        "--dropout has no effect on --model lenet5; of --hidden, --normalization, --dropout, --weight-scale it reads",
    ),
    (
        "hidden with lenet5-classic",
        ["train", "--data", "mnist", "--model", "lenet5-classic", "--hidden", "64"],
        "--hidden has no effect on --model lenet5-classic",
    ),
    (
        "no batchnorm with convnet",
        ["train", "--data", "mnist", "--model", "convnet", "--no-batchnorm"],
        "--batchnorm has no effect on --model convnet",
    ),
    ("lenet5-classic on digits", ["train", "--model", "lenet5-classic"], "needs larger images than digits's 8×8"),
    ("profile and profile memory", ["train", "--profile", "--profile-memory"], "--profile-memory for its memory"),
    (
        "report for a language model",
        ["train", "--data", "text:{W}/poem.txt", "--model", "char-lstm", "--report", "{W}/lm_report"],
        "--report draws a classifier's plots and examples",
    ),
    ("resume other model", ["train", "--out", "{W}/run", "--resume", "--model", "mlp"], "--model mlp differs"),
    ("resume other batch size", ["train", "--out", "{W}/run", "--resume", "--batch-size", "7"], "--batch-size 7"),
    ("workers not a number", ["train", "--workers", "two"], "invalid int value: 'two'"),
    ("seed a fraction", ["train", "--seed", "1.5"], "invalid int value: '1.5'"),
    ("lr overflowing", ["train", "--lr", "1e999"], "--lr must be a number > 0, got inf"),
    ("explain sizes empty", ["explain", "--sizes", ""], "--sizes needs at least two positive layer sizes"),
    ("explain format unknown", ["explain", "--format", "pdf"], "invalid choice: 'pdf'"),
    ("explain batch 0", ["explain", "--model", "fcnet", "--batch", "0"], "--batch must be an integer in [1, 64]"),
    ("explain dropout 1", ["explain", "--model", "fcnet", "--dropout", "1"], "--dropout must be a number in [0, 1)"),
    ("explain rnn unknown", ["explain", "--rnn", "gru"], "invalid choice: 'gru'"),
    ("check empty name", ["check", ""], "give the exercise file that `bprop exercise` wrote (FILE.py)"),
    ("exercise empty op", ["exercise", "", "--out", "{W}/x.py"], "unknown op ''"),
    ("gradcheck entries 0", ["gradcheck", "{W}/run/last.npz", "--entries", "0"], "--entries must be an integer in"),
    ("gradcheck samples 65", ["gradcheck", "{W}/run/last.npz", "--samples", "65"], "in [1, 64], got 65"),
    ("export opset text", ["export", "{W}/run/last.npz", "--onnx", "{W}/m.onnx", "--opset", "x"], "invalid int"),
]


def _npz(path: Path, **arrays) -> None:
    with open(path, "wb") as handle:  # np.savez would add .npz to names without it
        np.savez(handle, **arrays)


@pytest.fixture(scope="module")
def watched(tmp_path_factory) -> Path:
    """A folder with a finished run, data files good and bad, and config files."""
    w = tmp_path_factory.mktemp("watched")
    assert main(["train", "--epochs", "2", "--hidden", "8", "--out", str(w / "run"), "--quiet"]) == 0
    (w / "poem.txt").write_text("a rose is a rose is a rose\n" * 40)
    lm = ["train", "--data", f"text:{w / 'poem.txt'}", "--model", "char-lstm", "--hidden", "8", "--epochs", "1"]
    assert main([*lm, "--out", str(w / "lm"), "--quiet"]) == 0
    (w / "empty").mkdir()
    (w / "blank.txt").write_text("")
    (w / "blank.npz").write_bytes(b"")
    (w / "spaces.txt").write_text(" \n\n\t\n")
    (w / "short.txt").write_text("a rose\n")
    (w / "truncated").mkdir()
    (w / "truncated" / "train-images-idx3-ubyte").write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 9]))
    (w / "file.txt").write_text("not a folder")
    (w / "plain.py").write_text("x = 1\n")
    (w / "exits.py").write_text("import sys\nsys.exit(3)\n")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((10, 3)).astype(np.float32), np.arange(10) % 2
    _npz(w / "ok.npz", x=x, y=y)
    _npz(w / "label_negative.npz", x=x, y=y - 1)
    _npz(w / "strings.npz", x=np.array([["a"]] * 10), y=y)
    _npz(w / "string_labels.npz", x=x, y=np.array(["cat"] * 10))
    _npz(w / "empty.npz", x=np.zeros((0, 3), np.float32), y=np.zeros(0, np.int64))
    _npz(w / "flat.npz", x=x[:, 0], y=y)
    _npz(w / "nan.npz", x=np.where(np.arange(30).reshape(10, 3) == 7, np.nan, x), y=y)
    _npz(w / "inf.npz", x=np.where(np.arange(30).reshape(10, 3) == 7, np.inf, x), y=y)
    _npz(w / "label_1000.npz", x=x, y=np.where(np.arange(10) == 3, 1000, np.arange(10) % 4))
    _npz(w / "half_labels.npz", x=x, y=y + 0.5)
    _npz(w / "no_y.npz", x=x)
    _npz(w / "lengths.npz", x=x, y=y[:9])
    _npz(w / "one.npz", x=x[:1], y=y[:1])
    _npz(w / "labels_2d.npz", x=x, y=y[:, None])
    _npz(w / "scalar.npz", x=np.float32(1), y=y)
    _npz(w / "foreign.npz", weights=x)
    _npz(w / "objects.npz", x=np.array([{"a": 1}] * 10, dtype=object), y=y)
    _npz(w / "label_huge.npz", x=x, y=np.where(np.arange(10) == 3, 2**40, np.arange(10) % 2))
    (w / "folder.npz").mkdir()
    (w / "junk.npz").write_bytes(os.urandom(300))
    checkpoint = (w / "run" / "last.npz").read_bytes()
    (w / "damaged").mkdir()
    (w / "damaged" / "last.npz").write_bytes(checkpoint)
    (w / "damaged" / "metrics.json").write_text("{bad")
    (w / "truncated.npz").write_bytes(checkpoint[: len(checkpoint) // 2])
    _npz(w / "zero_features.npz", x=np.zeros((60, 0), np.float32), y=np.arange(60) % 2)
    lm_state = bp.load(w / "lm" / "last.npz")
    for name, edit in {
        "cut_vocabulary": lambda s: s["config"].update(vocabulary=s["config"]["vocabulary"][:3]),
        "word_vocabulary": lambda s: s["config"].update(vocabulary=["rose"] * s["config"]["num_classes"]),
        "negative_epoch": lambda s: s.update(epoch=-4),
        "bool_shape": lambda s: s["config"].update(input_shape=[True]),
        "no_weights": lambda s: s.update(model={}),
        "text_step": lambda s: s.update(step="seven"),
        "negative_position": lambda s: s["loader"].update(position=-1),
    }.items():
        state = copy.deepcopy(lm_state)
        edit(state)
        bp.save(state, w / f"{name}.npz")
    os.symlink("loop", w / "loop")
    os.symlink("nowhere", w / "dangling")
    assert main(["train", "--epochs", "1", "--hidden", "8", "--out", str(w / "other"), "--quiet", "--seed", "1"]) == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    for folder, lock in {
        "busy": f"{os.getpid()} {socket.gethostname()} 1700000000\n",
        "stale": f"{dead.stdout.strip()} {socket.gethostname()} 1700000000\n",
        "elsewhere": "1 elsewhere 1700000000\n",
        "half_locked": "",
    }.items():
        (w / folder).mkdir()
        (w / folder / ".bprop.lock").write_text(lock)
    (w / "stale" / "last.npz").write_bytes(checkpoint)
    for name, text in {
        "resume": "resume = true\n",
        "workers": "workers = 2\n",
        "unknown": "epoch = 3\n",
        "broken": "epochs = \n",
        "epochs": "epochs = -3\n",
        "lr": 'lr = "fast"\n',
        "hidden": "hidden = [0]\n",
        "huge_value": f'lr = "{"x" * 10**6}"\n',
        "huge_key": f'"{"k" * 10**6}" = 1\n',
        "huge_data": f'data = "{"d" * 10**6}"\n',
        "inf_lr": "lr = inf\n",
        "empty_out": 'out = ""\n',
        "profiles": "profile = true\nprofile-memory = true\n",
    }.items():
        (w / f"{name}.toml").write_text(text)
    return w


def snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(folder.rglob("*"))
    }


def test_there_are_more_than_two_hundred_cases():
    assert len(CASES) > 200 and len({name for name, *_ in CASES}) == len(CASES)


@pytest.mark.parametrize("argv, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_input_is_one_line_and_changes_nothing(watched, capsys, argv, message):
    before = snapshot(watched)
    try:
        code = main([a.replace("{W}", str(watched)) for a in argv])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    err = capsys.readouterr().err.strip()
    assert code not in (0, None), err
    assert 1 <= len(err.splitlines()) <= 2 and "Traceback" not in err, err
    assert len(err) < 1000, err[:1000]  # a bad value is quoted by a short prefix, never echoed whole
    assert f"error: {argv[0]}:" not in err, err  # the command's name once, not again in the message
    assert message.replace("{W}", str(watched)) in err, err
    assert snapshot(watched) == before
