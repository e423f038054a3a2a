"""The learner's side of `bprop check`, run in a child process (``python -c`` this source).

It runs the learner's file as ``python FILE`` would, then its forward and backward on every
case the parent wrote, and writes what came back (arrays to a .npz, how they came back to a
.json) for the parent to grade. The .json is written last, so that a process that ends early
(``os._exit``, a crash) leaves none and the parent says so. Imports nothing of bprop: the
learner's code sees NumPy only, and nothing it does can reach the grader's state.
"""

import json
import os
import sys

import numpy as np


def failure(err):
    if isinstance(err, SystemExit):
        return {"kind": "exit", "code": repr(err.code)}
    if isinstance(err, NotImplementedError):
        return {"kind": "not_implemented", "error": f"NotImplementedError: {err}"}
    return {"kind": "raised", "error": f"{type(err).__name__}: {err}"[:300]}


def as_array(value):
    """(kind, array or None) for one returned value: an array of numbers, None, or another type."""
    if value is None:
        return "none", None
    try:
        array = np.asarray(value)
    except Exception:
        return f"other:{type(value).__name__}", None
    if array.dtype.kind not in "biufc":
        return f"other:{type(value).__name__}", None
    return "array", array


def returned(grads):
    """How backward returned its gradients, and the arrays among them."""
    if grads is None:
        return {"returned": "none", "values": []}, []
    if isinstance(grads, (tuple, list)):
        kinds, arrays = zip(*(as_array(g) for g in grads)) if grads else ((), ())
        return {"returned": type(grads).__name__, "values": list(kinds)}, list(arrays)
    kind, array = as_array(grads)
    return {"returned": "single", "values": [kind]}, [array]


def run(path, inputs_file, out_dir):
    meta = {"file": None, "cases": []}
    arrays = {}
    with np.load(inputs_file, allow_pickle=False) as data:
        given = {key: data[key] for key in data.files}
    cases = sorted({int(key.split(".")[0][1:]) for key in given})
    namespace = {"__name__": "bprop_exercise", "__file__": path}
    try:
        with open(path, encoding="utf-8") as f:
            exec(compile(f.read(), path, "exec"), namespace)
    except BaseException as err:  # the learner's top level, sys.exit included
        meta["file"] = failure(err)
        return meta, arrays
    for name in ("forward", "backward"):
        if not callable(namespace.get(name)):
            meta["file"] = {"kind": "missing", "name": name}
            return meta, arrays
    for k in cases:
        prefix = f"c{k}."
        inputs = {
            key[len(prefix) :]: (value.item() if value.ndim == 0 else value.copy())
            for key, value in given.items()
            if key.startswith(prefix) and key != prefix + "dout"
        }
        dout = given[prefix + "dout"]
        dout = dout[()] if dout.ndim == 0 else dout.copy()
        case = {}
        meta["cases"].append(case)
        try:
            out, cache = namespace["forward"](**inputs)
        except BaseException as err:
            case["forward"] = failure(err)
            break
        kind, out = as_array(out)
        if out is None:
            case["forward"] = {"kind": "raised", "error": f"forward returned {kind}"}
            break
        arrays[prefix + "out"] = out
        if out.shape != np.shape(dout):
            break
        try:
            grads = namespace["backward"](dout, cache)
        except BaseException as err:
            case["backward"] = failure(err)
            break
        info, values = returned(grads)
        case.update(info)
        for i, value in enumerate(values):
            if value is not None:
                arrays[f"{prefix}g{i}"] = value
    return meta, arrays


def write(out_dir, meta, arrays):
    tmp = os.path.join(out_dir, "results.tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, os.path.join(out_dir, "results.npz"))
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(meta, f)
    os.replace(tmp, os.path.join(out_dir, "meta.json"))


if __name__ == "__main__":
    path, inputs_file, out_dir = sys.argv[1:4]
    write(out_dir, *run(path, inputs_file, out_dir))
    sys.stdout.flush()
    os._exit(0)  # the learner's atexit handlers and threads cannot change the outcome
