"""torch's module tree on bprop: ``bprop run SCRIPT.py`` (or ``python -m bprop.run``) runs an
unchanged PyTorch CPU script with ``import torch`` resolved to bprop, and ``install_torch()``
does the same in a notebook. A torch name bprop lacks stops the script with one line naming it
and the script line that asked for it (see ``runner``)."""

from bprop.compat.missing import NotInBpropError
from bprop.compat.runner import run_script
from bprop.compat.torch_tree import install_torch, uninstall_torch

__all__ = ["NotInBpropError", "install_torch", "run_script", "uninstall_torch"]
