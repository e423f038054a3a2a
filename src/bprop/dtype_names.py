"""torch's dtype names for NumPy's dtypes: ``bp.float`` is float32, ``bp.long`` int64, as in
torch. bprop computes in float32 and float64 only: the half-precision names are refused
(``UNSUPPORTED``) with a line that says so, by ``bprop.__getattr__``."""

import numpy as np

float32 = float = np.float32  # noqa: A001 (torch's names shadow Python's here, on purpose)
float64 = double = np.float64
int64 = long = np.int64
int32 = int = np.int32  # noqa: A001
int16 = short = np.int16
int8 = np.int8
uint8 = np.uint8
bool = np.bool_  # noqa: A001

UNSUPPORTED = {
    "half": "float16",
    "float16": "float16",
    "bfloat16": "bfloat16",
    "complex64": "complex64",
    "cfloat": "complex64",
    "complex128": "complex128",
}


def unsupported(name: str) -> AttributeError:
    return AttributeError(
        f"{name} ({UNSUPPORTED[name]}) is not supported: bprop computes in float32 (torch.float) and float64"
    )
