"""The ``bprop`` command: train and evaluate models on real data.

    bprop train                         # the notes' fully connected net on the embedded digits
    bprop train --data mnist --data-dir ../shared/data --model lenet5 --epochs 5 --out runs/lenet
    bprop train --out runs/lenet --resume
    bprop eval runs/lenet/best.npz
    bprop exercise batchnorm --out bn.py   # write batch norm's backward yourself …
    bprop check bn.py                      # … and have it graded against bprop's

``main`` (in ``bprop.cli.main``) parses the command line and runs one subcommand; each
subcommand is a thin module of this package. ``python -m bprop.cli`` runs it too.
"""

from bprop.cli.main import SUBCOMMANDS, main, make_parser

__all__ = ["SUBCOMMANDS", "main", "make_parser"]
