"""The hand-derived ops, grouped by family. Each op is one ``ArrayFunction`` subclass whose
docstring holds its derivative; see ``bprop.autograd`` for the contract."""
