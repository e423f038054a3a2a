"""``python -m bprop.cli``: the ``bprop`` command (MPI ranks are started this way)."""

import sys

from bprop.cli.main import main

sys.exit(main())
