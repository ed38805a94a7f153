"""Numerical edge cases of the ops' derivatives: 0 · inf kept out of
gradients at zero (x ** 0, 0 ** b), and the sigmoid silent and finite at
extreme inputs in float32 and float64 (more on the sigmoid in tests/test_sigmoid.py)."""

import warnings

import numpy as np

import minigrad as mg


def test_value_exponent_gradients_at_zero_base_are_zero_not_nan():
    a, b = mg.Value(0.0), mg.Value(2.0)
    (a ** b).backward()
    assert a.grad == 0.0 and b.grad == 0.0          # torch and autograd agree: 0, 0
    b = mg.Value(2.0)
    (0.0 ** b).backward()                           # the __rpow__ path
    assert b.grad == 0.0
    a, b = mg.Value(np.array([0.0, 2.0])), mg.Value(np.array([0.0, 3.0]))
    (a ** b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 12.0])
    np.testing.assert_allclose(b.grad, [0.0, 8.0 * np.log(2.0)])


def test_power_zero_gradient_at_zero():
    """Found by tests/fuzz.py: d(x**0)/dx = 0 everywhere, but PowConst.backward
    computes 0 · 0**-1 = 0 · inf = nan (with a RuntimeWarning) at x = 0."""
    x = mg.Value(0.0)
    (x ** 0).backward()
    assert x.grad == 0.0
    y = mg.Value(np.array([0.0, 2.0]))
    (y ** 0.0).sum().backward()
    np.testing.assert_array_equal(y.grad, [0.0, 0.0])


def test_float32_sigmoid_far_below_minus_88_has_finite_gradients_and_no_warning():
    x = mg.Value(np.array([-100.0, -89.0, -50.0, 0.0, 89.0], dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.sigmoid()
        out.sum().backward()
    assert np.all(np.isfinite(x.grad)) and x.grad.dtype == np.float32
    exact = np.exp(-np.abs(np.float64(x.data))) / (1 + np.exp(-np.abs(np.float64(x.data)))) ** 2
    np.testing.assert_allclose(x.grad, exact, rtol=1e-5, atol=1e-44)


def test_sigmoid_is_silent_on_huge_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = mg.Value(np.array([1e308, -1e308, 0.0])).sigmoid(4.0)
        assert out.data.tolist() == [1.0, 0.0, 0.5]
