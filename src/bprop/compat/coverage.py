"""docs/torch-coverage.md, generated: each torch name a tutorial uses, and whether bprop has it
(present), lacks it (absent) or has it with a difference worth knowing (differs, and how).

The names are those of the scripts in tests/torch_scripts/ and of the PyTorch tutorials they
come from, plus the ones issue reports asked for; presence is decided by resolving each name
through the torch tree `bprop run` installs, so the table cannot claim what the code lacks.
Regenerate with ``python -m bprop.compat.coverage > docs/torch-coverage.md``; a test fails when
the file is stale.
"""

from __future__ import annotations

import sys
from typing import Any

from bprop.compat.missing import NotInBpropError
from bprop.compat.torch_tree import TREE, TorchModule

NAMES = """
torch.tensor torch.Tensor torch.from_numpy torch.as_tensor torch.is_tensor torch.numel
torch.zeros torch.ones torch.full torch.empty torch.eye torch.arange torch.linspace torch.logspace
torch.zeros_like torch.ones_like torch.full_like torch.empty_like torch.rand_like torch.randn_like
torch.rand torch.randn torch.randint torch.randperm torch.normal torch.multinomial torch.bernoulli
torch.manual_seed torch.seed torch.Generator torch.get_rng_state torch.set_rng_state
torch.float torch.float32 torch.double torch.float64 torch.half torch.float16 torch.bfloat16
torch.long torch.int64 torch.int torch.int32 torch.bool torch.uint8 torch.get_default_dtype torch.set_default_dtype
torch.device torch.set_default_device torch.cuda.is_available torch.cuda.device_count torch.cuda.manual_seed
torch.backends.mps.is_available torch.backends.cudnn.benchmark torch.accelerator.is_available
torch.accelerator.current_accelerator
torch.no_grad torch.enable_grad torch.inference_mode torch.set_grad_enabled torch.is_grad_enabled
torch.set_printoptions torch.set_num_threads torch.get_num_threads torch.save torch.load
torch.sin torch.cos torch.tan torch.exp torch.log torch.log1p torch.sqrt torch.abs torch.tanh torch.sigmoid
torch.relu torch.pow torch.square torch.clamp torch.clip torch.sign torch.round torch.floor
torch.sum torch.mean torch.std torch.var torch.max torch.min torch.amax torch.argmax torch.argmin
torch.prod torch.cumsum torch.norm torch.logsumexp torch.softmax torch.log_softmax
torch.topk torch.sort torch.argsort torch.unique torch.where torch.masked_fill torch.tril torch.triu
torch.cat torch.concatenate torch.stack torch.split torch.chunk torch.unbind torch.gather torch.scatter
torch.index_select torch.flatten torch.reshape torch.squeeze torch.unsqueeze torch.transpose
torch.permute torch.t torch.clone torch.einsum torch.matmul torch.mm torch.bmm torch.outer
torch.allclose torch.equal torch.eq torch.isnan torch.nn.utils.parameters_to_vector torch.fft.rfft
torch.Tensor.backward torch.Tensor.grad torch.Tensor.data torch.Tensor.item torch.Tensor.tolist
torch.Tensor.numpy torch.Tensor.detach torch.Tensor.requires_grad_ torch.Tensor.retain_grad
torch.Tensor.register_hook torch.Tensor.size torch.Tensor.dim torch.Tensor.numel torch.Tensor.shape
torch.Tensor.dtype torch.Tensor.device torch.Tensor.to torch.Tensor.cpu torch.Tensor.cuda
torch.Tensor.float torch.Tensor.double torch.Tensor.long torch.Tensor.int torch.Tensor.bool
torch.Tensor.half torch.Tensor.type torch.Tensor.type_as torch.Tensor.view torch.Tensor.view_as
torch.Tensor.reshape torch.Tensor.expand torch.Tensor.expand_as torch.Tensor.repeat torch.Tensor.flatten
torch.Tensor.squeeze torch.Tensor.unsqueeze torch.Tensor.permute torch.Tensor.transpose torch.Tensor.t
torch.Tensor.T torch.Tensor.contiguous torch.Tensor.clone torch.Tensor.mm torch.Tensor.bmm
torch.Tensor.matmul torch.Tensor.eq torch.Tensor.ne torch.Tensor.lt torch.Tensor.gt torch.Tensor.sum
torch.Tensor.mean torch.Tensor.max torch.Tensor.argmax torch.Tensor.topk torch.Tensor.sort
torch.Tensor.masked_fill torch.Tensor.masked_fill_ torch.Tensor.gather torch.Tensor.scatter
torch.Tensor.scatter_ torch.Tensor.index_select torch.Tensor.split torch.Tensor.chunk
torch.Tensor.pow torch.Tensor.sin torch.Tensor.exp torch.Tensor.clamp torch.Tensor.zero_
torch.Tensor.fill_ torch.Tensor.add_ torch.Tensor.mul_ torch.Tensor.copy_ torch.Tensor.uniform_
torch.Tensor.normal_ torch.Tensor.new_zeros torch.Tensor.__format__ torch.Tensor.__index__
torch.nn.Module torch.nn.Parameter torch.nn.Sequential torch.nn.ModuleList torch.nn.ModuleDict
torch.nn.Linear torch.nn.Bilinear torch.nn.Conv1d torch.nn.Conv2d torch.nn.ConvTranspose2d
torch.nn.MaxPool2d torch.nn.AvgPool2d torch.nn.AdaptiveAvgPool2d torch.nn.MaxUnpool2d
torch.nn.BatchNorm1d torch.nn.BatchNorm2d torch.nn.LayerNorm torch.nn.GroupNorm torch.nn.Dropout
torch.nn.Dropout2d torch.nn.Embedding torch.nn.RNN torch.nn.LSTM torch.nn.GRU torch.nn.RNNCell
torch.nn.LSTMCell torch.nn.GRUCell torch.nn.MultiheadAttention torch.nn.TransformerEncoderLayer
torch.nn.TransformerEncoder torch.nn.Transformer torch.nn.ReLU torch.nn.LeakyReLU torch.nn.GELU
torch.nn.Sigmoid torch.nn.Tanh torch.nn.Softmax torch.nn.LogSoftmax torch.nn.Flatten torch.nn.Identity
torch.nn.MSELoss torch.nn.L1Loss torch.nn.SmoothL1Loss torch.nn.HuberLoss torch.nn.CrossEntropyLoss
torch.nn.NLLLoss torch.nn.BCELoss torch.nn.BCEWithLogitsLoss torch.nn.KLDivLoss
torch.nn.Module.parameters torch.nn.Module.named_parameters torch.nn.Module.state_dict
torch.nn.Module.load_state_dict torch.nn.Module.train torch.nn.Module.eval torch.nn.Module.to
torch.nn.Module.zero_grad torch.nn.Module.apply torch.nn.Module.register_buffer
torch.nn.Module.register_forward_hook torch.nn.Module.children torch.nn.Module.modules
torch.nn.functional.relu torch.nn.functional.leaky_relu torch.nn.functional.gelu torch.nn.functional.softmax
torch.nn.functional.log_softmax torch.nn.functional.sigmoid torch.nn.functional.tanh
torch.nn.functional.linear torch.nn.functional.conv2d torch.nn.functional.max_pool2d
torch.nn.functional.avg_pool2d torch.nn.functional.adaptive_avg_pool2d torch.nn.functional.dropout
torch.nn.functional.embedding torch.nn.functional.layer_norm torch.nn.functional.pad
torch.nn.functional.cross_entropy torch.nn.functional.nll_loss torch.nn.functional.mse_loss
torch.nn.functional.l1_loss torch.nn.functional.smooth_l1_loss torch.nn.functional.binary_cross_entropy
torch.nn.functional.binary_cross_entropy_with_logits torch.nn.functional.kl_div
torch.nn.functional.one_hot torch.nn.functional.scaled_dot_product_attention torch.nn.functional.interpolate
torch.nn.init.normal_ torch.nn.init.zeros_ torch.nn.init.ones_ torch.nn.init.uniform_
torch.nn.init.xavier_uniform_ torch.nn.init.kaiming_normal_ torch.nn.init.constant_
torch.nn.utils.clip_grad_norm_ torch.nn.utils.clip_grad_value_
torch.optim.SGD torch.optim.Adam torch.optim.AdamW torch.optim.RMSprop torch.optim.Adagrad
torch.optim.Adadelta torch.optim.LBFGS torch.optim.Optimizer
torch.optim.lr_scheduler.StepLR torch.optim.lr_scheduler.MultiStepLR torch.optim.lr_scheduler.ExponentialLR
torch.optim.lr_scheduler.CosineAnnealingLR torch.optim.lr_scheduler.LambdaLR torch.optim.lr_scheduler.OneCycleLR
torch.optim.lr_scheduler.ReduceLROnPlateau
torch.utils.data.Dataset torch.utils.data.TensorDataset torch.utils.data.DataLoader
torch.utils.data.random_split torch.utils.data.Subset torch.utils.data.ConcatDataset
torch.utils.data.default_collate torch.utils.data.IterableDataset torch.utils.data.WeightedRandomSampler
torch.autograd.Function torch.autograd.grad torch.autograd.gradcheck torch.autograd.Variable
""".split()

# present, but not the same as torch's: what a tutorial reader should know
DIFFERENCES = {
    "torch.float32": "a NumPy scalar type (np.float32): `x.dtype == torch.float32` holds, its repr differs",
    "torch.Tensor.dtype": "a NumPy dtype (float32), compared equal to torch.float32 and friends",
    "torch.device": "the CPU only: 'cuda', 'mps' and others raise one line saying so",
    "torch.Tensor.to": "dtype and 'cpu' only; any other device raises",
    "torch.Tensor.cuda": "raises: bprop runs on the CPU only",
    "torch.empty": "zeros, not uninitialised memory",
    "torch.save": "bprop's .npz format without pickle: state dicts and checkpoints, not arbitrary objects",
    "torch.load": "reads bprop's .npz format, not torch's pickles",
    "torch.inference_mode": "the same as no_grad (no inference tensors)",
    "torch.multinomial": "draws from bprop's generator: same distribution, other numbers than torch",
    "torch.manual_seed": "seeds bprop's NumPy generator: runs repeat, but draw other numbers than torch",
    "torch.utils.data.DataLoader": "num_workers=0 only (others raise one line); array datasets batch by fancy index",
    "torch.utils.data.default_collate": "a batch of tuples is a tuple (torch gives a list)",
    "torch.cuda.manual_seed": "does nothing: there is no CUDA generator",
    "torch.Tensor.contiguous": "returns the tensor itself (NumPy handles strides)",
    "torch.Tensor.expand": "a copy, not a view sharing memory",
    "torch.nn.Module.to": "dtype and 'cpu' only; any other device raises",
}


def torch_modules() -> dict[str, TorchModule]:
    """The torch tree as `bprop run` installs it, built without touching sys.modules."""
    modules = {name: TorchModule(name, sources, extras) for name, (sources, extras) in TREE.items()}
    for name, module in modules.items():
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(modules[parent], child, module)
    return modules


def resolve(name: str, modules: dict[str, TorchModule]) -> Any:
    """What ``name`` gives under `bprop run` (raises AttributeError when bprop lacks it)."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        head = ".".join(parts[:cut])
        if head in modules:
            value: Any = modules[head]
            for part in parts[cut:]:
                value = getattr(value, part)
            return value
    raise NotInBpropError(name)


def status(name: str, modules: dict[str, TorchModule]) -> tuple[str, str]:
    try:
        resolve(name, modules)
    except AttributeError:
        return "absent", ""
    if name in DIFFERENCES:
        return "differs", DIFFERENCES[name]
    return "present", ""


def render() -> str:
    modules = torch_modules()
    rows = [(name, *status(name, modules)) for name in NAMES]
    counts = {s: sum(r[1] == s for r in rows) for s in ("present", "differs", "absent")}
    lines = [
        "# torch names on bprop",
        "",
        "Generated by `python -m bprop.compat.coverage` from the code (bprop/compat/coverage.py);",
        "a test fails when this file is stale. Each torch name a tutorial uses, as `bprop run` resolves",
        "it: **present**, **differs** (present, with the difference said) or **absent** (a script using",
        "it stops with one line naming it and its script line).",
        "",
        f"{len(rows)} names: {counts['present']} present, {counts['differs']} differ, {counts['absent']} absent.",
        "",
        "| torch name | on bprop | difference |",
        "|---|---|---|",
    ]
    lines += [f"| `{name}` | {state} | {note} |" for name, state, note in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
