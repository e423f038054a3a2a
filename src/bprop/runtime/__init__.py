"""The runtime floor: how many threads bprop and the BLAS use, how work is split over them,
the kernels' scratch memory, and the opt-in process tuning.

Importing bprop changes nothing in the process: no malloc setting, no BLAS setting, no
environment variable. What changes process state is asked for by name:

- ``set_num_threads(n)`` (as ``torch.set_num_threads``): bprop's own threads and the BLAS's.
- ``tune()``: malloc keeps freed memory for the next step, and OpenBLAS's idle threads stop
  spinning sooner; ``untune()`` undoes both. ``bprop train`` and the benchmarks tune.

Work is split by the thread count and the shapes only, never by the machine's load, so the same
inputs and the same thread count give the same bits whatever else runs (threads.py, pool.py).
"""

from bprop.runtime.threads import auto_threads, get_num_threads, resolve, set_num_threads, usable_cores, using_threads
from bprop.runtime.tuning import tune, tuned, untune

__all__ = [
    "auto_threads",
    "get_num_threads",
    "resolve",
    "set_num_threads",
    "tune",
    "tuned",
    "untune",
    "usable_cores",
    "using_threads",
]
