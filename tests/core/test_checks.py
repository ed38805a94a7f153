"""minigrad.core.checks: one module of argument checks, each naming the caller, the argument and the value."""

import math

import numpy as np
import pytest

from minigrad.core import checks


@pytest.mark.parametrize("check, good, bad_values, bad_types, requirement", [
    (checks.positive_real, [1, 2.5, np.float32(0.5), np.int64(3), 1e-300],
     [0, -0.0, -1, math.nan, math.inf, -math.inf], ["1", None, True, np.bool_(True), [1.0], 1j],
     "must be finite and > 0"),
    (checks.non_negative_real, [0, 0.0, 1e-12, 7], [-1e-300, -1, math.nan, math.inf], ["0", False],
     "must be finite and ≥ 0"),
    (checks.finite_real, [0, -3.5, 1e308], [math.nan, math.inf, -math.inf], ["x", True], "must be finite"),
    (checks.fraction, [0, 0.0, 0.9, 0.999999], [1, 1.0, -0.1, math.nan, math.inf], ["0.9", True],
     "must be in [0, 1)"),
    (checks.probability, [0, 1, 0.5], [1.0000001, -0.1, math.nan], ["0.5", True], "must be in [0, 1]"),
])
def test_real_checks(check, good, bad_values, bad_types, requirement):
    for value in good:
        result = check(value, "lr", "SGD")
        assert type(result) is float and result == float(value)
    for value in bad_values:
        with pytest.raises(ValueError) as caught:
            check(value, "lr", "SGD")
        assert str(caught.value) == f"SGD: lr {requirement}, got {value!r}"
        assert caught.value.requirement == requirement
    for value in bad_types:
        with pytest.raises(TypeError) as caught:
            check(value, "lr", "SGD")
        assert str(caught.value) == f"SGD: lr must be a real number, got {type(value).__name__} {value!r}"


def test_real_lets_nan_and_inf_through():
    assert math.isnan(checks.real(math.nan, "x", "f")) and checks.real(-math.inf, "x", "f") == -math.inf


@pytest.mark.parametrize("bounds, good, bad, requirement", [
    (dict(minimum=1), [1, 7, np.int32(2)], [0, -3], "must be a positive integer"),
    (dict(minimum=0), [0, 5], [-1], "must be an integer ≥ 0"),
    (dict(minimum=0, maximum=100), [0, 100], [-1, 101, 10**9], "must be an integer from 0 to 100"),
    (dict(maximum=3), [-5, 3], [4], "must be an integer ≤ 3"),
])
def test_integer(bounds, good, bad, requirement):
    for value in good:
        result = checks.integer(value, "epochs", "train", **bounds)
        assert type(result) is int and result == value
    for value in bad:
        with pytest.raises(ValueError) as caught:
            checks.integer(value, "epochs", "train", **bounds)
        assert str(caught.value) == f"train: epochs {requirement}, got {value!r}"
    for value in [2.0, "2", True, np.bool_(False), None]:
        with pytest.raises(TypeError, match=rf"^train: epochs must be an integer, got {type(value).__name__} "):
            checks.integer(value, "epochs", "train", **bounds)


def test_one_of():
    assert checks.one_of("batch", "mode", "train", ("online", "batch")) == "batch"
    with pytest.raises(ValueError) as caught:
        checks.one_of("Batch", "mode", "train", ("online", "batch"))
    assert str(caught.value) == "train: mode must be one of 'online', 'batch', got 'Batch'"
    with pytest.raises(ValueError):
        checks.one_of(1, "flag", "f", (True, False))  # 1 == True, but not of the same type


def test_a_long_value_is_shortened():
    with pytest.raises(TypeError) as caught:
        checks.positive_real("x" * 200, "lr", "SGD")
    assert len(str(caught.value)) < 120 and str(caught.value).endswith("...")


def test_a_value_of_minigrad_is_not_a_plain_number():
    import minigrad as mg

    with pytest.raises(TypeError, match=r"^sigmoid: alpha must be a real number, got Value "):
        checks.positive_real(mg.Value(2.0), "alpha", "sigmoid")
