"""erf, erfc and Φ against Python's math module: a few ulp over the whole line, NaN-safe."""

import math

import numpy as np
import pytest

from bprop.ops.special import erf, erfc, normal_cdf

SPECIAL = [0.0, -0.0, 1e-300, -1e-300, 0.5, -0.5, 1.0, -1.0, 4.0, -4.0, 6.0, -6.0, 8.0, -8.0, 27.0, -27.0]
GRID = np.concatenate(
    [np.linspace(-30, 30, 60001), np.geomspace(1e-300, 30, 3001), -np.geomspace(1e-300, 30, 3001), SPECIAL]
)


def ulps(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return np.abs(got - expected) / np.maximum(np.spacing(np.abs(expected)), np.finfo(np.float64).smallest_subnormal)


def test_erf_is_within_a_few_ulp_of_math_erf_over_the_whole_line():
    assert ulps(erf(GRID), np.array([math.erf(v) for v in GRID])).max() <= 4


def test_erfc_keeps_its_relative_accuracy_in_the_tail():
    expected = np.array([math.erfc(v) for v in GRID])
    normal = expected > np.finfo(np.float64).tiny  # below it the subnormals carry fewer digits
    assert ulps(erfc(GRID[normal]), expected[normal]).max() <= 16
    np.testing.assert_allclose(erfc(GRID[~normal]), expected[~normal], rtol=0, atol=1e-310)


def test_nan_infinities_signs_and_bounds():
    values = np.array([np.nan, np.inf, -np.inf, -0.0])
    np.testing.assert_array_equal(erf(values), [np.nan, 1.0, -1.0, -0.0])
    assert np.signbit(erf(np.array([-0.0]))[0])
    np.testing.assert_array_equal(erfc(values[:3]), [np.nan, 0.0, 2.0])
    assert np.abs(erf(GRID)).max() <= 1.0
    assert erf(np.zeros((0, 3))).shape == (0, 3)


@pytest.mark.parametrize("x", [-38.0, -10.0, -1.0, 0.0, 2.0, 9.0])
def test_normal_cdf_is_half_erfc(x):
    """rel 1e-12: in the tail erfc's condition number 2z² (100 at x = −10) magnifies the rounding of x/√2."""
    assert normal_cdf(np.array([x]))[0] == pytest.approx(0.5 * math.erfc(-x / math.sqrt(2)), rel=1e-12, abs=0)
