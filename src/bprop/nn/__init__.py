"""Neural-network building blocks with PyTorch's names: Module, layers, losses, init, models."""

from bprop.nn.module import Module, ModuleList, Parameter, Sequential

__all__ = ["Module", "ModuleList", "Parameter", "Sequential"]
