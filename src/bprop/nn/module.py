"""Module, Parameter and the containers Sequential and ModuleList, with torch's API.

A Module registers every Parameter, sub-Module and buffer assigned to it as an attribute, so
``parameters()``, ``state_dict()`` and ``train()/eval()`` find them by walking the tree.
State dict keys are dotted paths ("0.weight", "bn.running_mean"), identical to torch's for
the same architecture, which is what makes weights portable between the two.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterable, Iterator

import numpy as np

from bprop.autograd import RemovableHandle
from bprop.devices import check_device
from bprop.nn import hooks
from bprop.tensor import Tensor
from bprop.tensor_methods import to_arguments


class Parameter(Tensor):
    """A Tensor that is a learnable parameter of a Module: requires grad by default."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True):
        array = data._data if isinstance(data, Tensor) else np.asarray(data)
        if array.dtype.kind != "f":
            array = array.astype(np.float32)
        super().__init__(array, dtype=array.dtype, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model. Subclasses define ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "training", True)

    # ----- registration -----------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning {name!r}")
        if name in self._buffers and not isinstance(value, (Parameter, Module)):
            self._buffers[name] = value  # reassigning a buffer keeps it a buffer
            return
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails: parameters, modules and buffers live here
        state = self.__dict__
        parameters = state.get("_parameters")
        if parameters is not None and name in parameters:  # self.weight in every forward: first
            return parameters[name]
        for registry in ("_modules", "_buffers"):
            store = state.get(registry)
            if store is not None and name in store:
                return store[name]
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules, self._buffers):
            if name in registry:
                del registry[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: np.ndarray | Tensor | None) -> None:
        """State that is saved in state_dict but not learnt (batch-norm running statistics)."""
        self.__dict__.pop(name, None)
        self._buffers[name] = value

    def register_parameter(self, name: str, value: Parameter | None) -> None:
        if value is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, value)

    def add_module(self, name: str, module: Module) -> None:
        setattr(self, name, module)

    # ----- calling ----------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._module_hooks is None:  # the common case: one attribute test, no hook machinery
            return self.forward(*args, **kwargs)
        return hooks.call_with_hooks(self, self._module_hooks, args, kwargs)

    # ----- hooks (torch's semantics and order: see nn/hooks.py) ----------------------------
    _module_hooks: hooks.ModuleHooks | None = None

    def _hooks(self) -> hooks.ModuleHooks:
        if self._module_hooks is None:
            object.__setattr__(self, "_module_hooks", hooks.ModuleHooks())
        return self._module_hooks

    def register_forward_pre_hook(self, hook: Callable[[Module, tuple], Any]) -> RemovableHandle:
        """Call ``hook(module, args)`` before every forward; it may return new args (a tuple,
        or a single value). Returns a handle whose ``remove()`` unregisters it."""
        return self._hooks().add("forward_pre", hook)

    def register_forward_hook(self, hook: Callable[[Module, tuple, Any], Any]) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every forward; it may return a new output."""
        return self._hooks().add("forward", hook)

    def register_full_backward_hook(self, hook: Callable[[Module, tuple, tuple], Any]) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` once the gradients with respect to the
        module's inputs are computed: grad_input has one entry per positional argument of
        forward (None for non-tensors and inputs without gradient), grad_output one per output.
        The hook may return a replacement grad_input, which then flows on to the inputs. The
        arrays it gets are read-only (they may be shared); return new ones."""
        return self._hooks().add("backward", hook)

    # ----- traversal --------------------------------------------------------------------
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        for path, module in self.named_modules(prefix):
            for name, param in module._parameters.items():
                if param is not None and id(param) not in seen:  # shared weights once
                    seen.add(id(param))
                    yield (f"{path}.{name}" if path else name), param

    def parameters(self) -> Iterator[Parameter]:
        for _, param in self.named_parameters():
            yield param

    def named_buffers(self) -> Iterator[tuple[str, Any]]:
        for path, module in self.named_modules():
            for name, buf in module._buffers.items():
                if buf is not None:
                    yield (f"{path}.{name}" if path else name), buf

    # ----- modes and gradients ----------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param._grad._data[...] = 0

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """Cast every floating parameter and buffer to ``dtype`` (float32 or float64), in place;
        torch's to(device) and to(device, dtype) are accepted for the CPU (see bprop.devices)."""
        dtype = to_arguments(*args, **kwargs)
        if dtype is None:
            return self
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"Module.to: only floating dtypes make sense for parameters, got {dtype}")
        for module in self.modules():
            for param in module._parameters.values():
                if param is not None:
                    param._data = param._data.astype(dtype)
                    if param._grad is not None:
                        param._grad = Tensor._from_op(param._grad._data.astype(dtype), None)
            for name, buf in module._buffers.items():
                if isinstance(buf, np.ndarray) and buf.dtype.kind == "f":
                    module._buffers[name] = buf.astype(dtype)
        return self

    def cpu(self) -> Module:
        return self

    def cuda(self, *args: Any) -> Module:
        check_device("cuda")  # refuses, saying why
        return self

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    def apply(self, fn: Any) -> Module:
        for module in self.modules():
            fn(module)
        return self

    # ----- state ------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Parameters and buffers by dotted path, as copies of their arrays."""
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for path, module in self.named_modules():
            for name, param in module._parameters.items():
                if param is not None:
                    state[f"{path}.{name}" if path else name] = param._data.copy()
            for name, buf in module._buffers.items():
                if buf is not None:
                    value = buf._data if isinstance(buf, Tensor) else buf
                    state[f"{path}.{name}" if path else name] = np.array(value, copy=True)
        return state

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> tuple[list, list]:
        """Copy arrays into this model's parameters and buffers.

        With strict=True any missing or unexpected key, or any shape mismatch, raises a
        KeyError/ValueError listing them all; returns (missing_keys, unexpected_keys).
        """
        targets: dict[str, tuple[Module, str, str]] = {}
        for path, module in self.named_modules():
            for kind in ("_parameters", "_buffers"):
                for name, value in getattr(module, kind).items():
                    if value is not None:
                        targets[f"{path}.{name}" if path else name] = (module, kind, name)
        missing = [k for k in targets if k not in state_dict]
        unexpected = [k for k in state_dict if k not in targets]
        if strict and (missing or unexpected):
            raise KeyError(
                f"{type(self).__name__}.load_state_dict: missing keys {missing}, unexpected keys {unexpected}"
            )
        bad_shapes = []
        for key, (module, kind, name) in targets.items():
            if key not in state_dict:
                continue
            value = np.asarray(getattr(state_dict[key], "data", state_dict[key]))
            current = getattr(module, kind)[name]
            current_data = current._data if isinstance(current, Tensor) else np.asarray(current)
            if value.shape != current_data.shape:
                bad_shapes.append(f"{key}: checkpoint {value.shape}, model {current_data.shape}")
        if bad_shapes:
            raise ValueError(f"{type(self).__name__}.load_state_dict: shape mismatch for " + "; ".join(bad_shapes))
        for key, (module, kind, name) in targets.items():
            if key not in state_dict:
                continue
            value = np.asarray(getattr(state_dict[key], "data", state_dict[key]))
            current = getattr(module, kind)[name]
            if isinstance(current, Tensor):
                current._data = value.astype(current._data.dtype, copy=True)
            else:
                getattr(module, kind)[name] = value.astype(np.asarray(current).dtype, copy=True)
        return missing, unexpected

    # ----- printing ---------------------------------------------------------------------
    def summary(self, input_shape: Any) -> str:
        """Keras-style table of layers, output shapes and parameter counts for inputs of
        ``input_shape`` (without the batch dim): ``print(model.summary((1, 28, 28)))``."""
        from bprop.nn.summary import summary

        return summary(self, input_shape)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> Iterable[str]:
        return list(super().__dir__()) + list(self._parameters) + list(self._modules) + list(self._buffers)


class Sequential(Module):
    """Modules applied in order; ``Sequential(a, b)(x) == b(a(x))``. Children are named 0, 1, …"""

    def __init__(self, *modules: Module):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (OrderedDict, dict)):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        items = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*items[index])
        return items[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> Sequential:
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters the parent registers (no forward of its own)."""

    def __init__(self, modules: Iterable[Module] = ()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> ModuleList:
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
