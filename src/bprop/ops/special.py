"""erf, erfc and the standard normal CDF Φ, vectorised, accurate to float64 rounding (NumPy has
none of them; GELU needs Φ).

Closed forms, no iteration, so every input costs the same and NaN cannot stall anything: the
rational approximations of Cephes (S. L. Moshier, after Hart et al. and W. J. Cody), in three
ranges of |x|:

    |x| < 1:       erf(x) = x·T(x²)/U(x²)
    1 ≤ |x| < 8:   erfc(x) = e^{−x²}·P(x)/Q(x)
    |x| ≥ 8:       erfc(x) = e^{−x²}·R(x)/S(x)

and erf = 1 − erfc, erfc = 1 − erf across the ranges, with erf(−x) = −erf(x) and
erfc(−x) = 2 − erfc(x). Computing erfc directly in the tail keeps its relative accuracy where
1 − erf would cancel to nothing (Φ(−10) ≈ 7.6e−24 comes out right, not 0). NaN gives NaN,
|erf| ≤ 1 everywhere, erf(±∞) = ±1 and erfc(+∞) = 0.
"""

from __future__ import annotations

import math

import numpy as np

_T = (
    9.60497373987051638749e0,
    9.00260197203842689217e1,
    2.23200534594684319226e3,
    7.00332514112805075473e3,
    5.55923013010394962768e4,
)
_U = (
    1.0,
    3.35617141647503099647e1,
    5.21357949780152679795e2,
    4.59432382970980127987e3,
    2.26290000613890934246e4,
    4.92673942608635921086e4,
)
_P = (
    2.46196981473530512524e-10,
    5.64189564831068821977e-1,
    7.46321056442269912687e0,
    4.86371970985681366614e1,
    1.96520832956077098242e2,
    5.26445194995477358631e2,
    9.34528527171957607540e2,
    1.02755188689515710272e3,
    5.57535335369399327526e2,
)
_Q = (
    1.0,
    1.32281951154744992508e1,
    8.67072140885989742329e1,
    3.54937778887819891062e2,
    9.75708501743205489753e2,
    1.82390916687909736289e3,
    2.24633760818710981792e3,
    1.65666309194161350182e3,
    5.57535340817727675546e2,
)
_R = (
    5.64189583547755073984e-1,
    1.27536670759978104416e0,
    5.01905042251180477414e0,
    6.16021097993053585195e0,
    7.40974269950448939160e0,
    2.97886665372100240670e0,
)
_S = (
    1.0,
    2.26052863220117276590e0,
    9.39603524938001434673e0,
    1.20489539808096656605e1,
    1.70814450747565897222e1,
    9.60896809063285878198e0,
    3.36907645100081516050e0,
)

# erfc(x) < 1e-323 (below the smallest subnormal) beyond this; clipping keeps P/Q and R/S finite at ±∞
_ERFC_ZERO = 27.3


def _poly(x: np.ndarray, coefficients: tuple[float, ...]) -> np.ndarray:
    """c₀xⁿ + c₁xⁿ⁻¹ + … + cₙ by Horner's rule."""
    out = np.full_like(x, coefficients[0])
    for c in coefficients[1:]:
        out *= x
        out += c
    return out


def _exp_minus_square(a: np.ndarray) -> np.ndarray:
    """e^{−a²} with a² split as m² + (2m·f + f²), m = a rounded to 1/128: m² is exact in float64,
    so the rounding of a² (relative error a²·2⁻⁵³, 1e−13 at a = 27) does not reach the result."""
    m = np.floor(a * 128.0 + 0.5) / 128.0
    f = a - m
    return np.exp(-m * m) * np.exp(-(2.0 * m * f + f * f))


def _erf_small(x: np.ndarray) -> np.ndarray:
    """erf for |x| < 1."""
    x2 = x * x
    return x * _poly(x2, _T) / _poly(x2, _U)


def _erfc_large(a: np.ndarray) -> np.ndarray:
    """erfc for a ≥ 1 (and NaN), accurate relative to its own size."""
    a = np.minimum(a, _ERFC_ZERO)  # NaN stays NaN
    ratio = np.where(a < 8.0, _poly(a, _P) / _poly(a, _Q), _poly(a, _R) / _poly(a, _S))
    return _exp_minus_square(a) * ratio


def erf(x: np.ndarray) -> np.ndarray:
    """erf(x) = (2/√π) ∫₀ˣ e^{−t²} dt, elementwise in float64."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1.0  # False for NaN, which the large branch carries through
    out = np.empty_like(x)
    out[small] = _erf_small(x[small])
    large = ~small
    out[large] = np.copysign(1.0 - _erfc_large(np.abs(x[large])), x[large])
    return out


def erfc(x: np.ndarray) -> np.ndarray:
    """erfc(x) = 1 − erf(x), elementwise in float64, without cancellation for large x."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1.0
    out = np.empty_like(x)
    out[small] = 1.0 - _erf_small(x[small])
    large = ~small
    tail = _erfc_large(np.abs(x[large]))
    out[large] = np.where(x[large] < 0, 2.0 - tail, tail)
    return out


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x) = ½·erfc(−x/√2), the standard normal CDF, elementwise in float64."""
    return 0.5 * erfc(np.asarray(x, dtype=np.float64) * -math.sqrt(0.5))
