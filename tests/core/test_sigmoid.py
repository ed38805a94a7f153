"""The chapter's transfer function (Eq. 6.1) and its derivative (Eq. 6.2) at
extreme inputs, against mpmath at 50 digits."""

import warnings

import mpmath
import numpy as np
import pytest

import minigrad as mg

mpmath.mp.dps = 50


def exact(x, alpha):
    z = mpmath.mpf(alpha) * mpmath.mpf(x)
    value = 1 / (1 + mpmath.exp(-z))
    complement = 1 / (1 + mpmath.exp(z))  # 1 - value, without cancellation even at 50 digits
    return value, mpmath.mpf(alpha) * value * complement


POINTS = [0.0, 1e-300, -1e-300, 0.5, -0.5, 3.0, -3.0, 10.0, -10.0, 20.0, 30.0, -30.0, 36.0, 40.0, -40.0,
          100.0, -100.0, 700.0, -700.0, 745.0, -745.0, 1e5, -1e5, 1e308, -1e308]
ALPHAS = [0.25, 1.0, 4.0]


def relative_error(got, want):
    if want == 0:
        return abs(got)
    return float(abs((mpmath.mpf(got) - want) / want))


@pytest.mark.parametrize("alpha", ALPHAS)
def test_scalar_sigmoid_and_derivative_against_mpmath(alpha):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x in POINTS:
            v = mg.Value(x)
            out = v.sigmoid(alpha)
            out.backward()
            value, derivative = exact(x, alpha)
            assert np.isfinite(out.data) and np.isfinite(v.grad), x
            if value > 1e-300:
                assert relative_error(out.data, value) < 1e-14, (x, out.data)
            else:  # the exact value underflows float64
                assert out.data < 1e-290
            # Below the smallest subnormal the exact derivative underflows to 0.
            if derivative > 1e-300:
                assert relative_error(v.grad, derivative) < 1e-12, (x, v.grad, derivative)
            else:
                assert v.grad < 1e-290


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tensor_sigmoid_is_stable_and_accurate(alpha, dtype):
    limit = float(np.finfo(dtype).max)
    x = np.array([p for p in POINTS if abs(p) < limit], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = mg.Value(x)
        out = v.sigmoid(alpha)
        out.sum().backward()
    assert out.dtype == dtype and v.grad.dtype == dtype
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(v.grad))
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    tiny = np.finfo(dtype).tiny
    for xi, got_value, got_derivative in zip(x, out.data, v.grad):
        value, derivative = exact(float(xi), alpha)
        if value > tiny * 1e3:
            assert relative_error(float(got_value), value) < tolerance
        else:
            assert float(got_value) < tiny * 1e3
        if derivative > tiny * 1e3:
            assert relative_error(float(got_derivative), derivative) < tolerance, (xi, got_derivative)


def test_derivative_at_thirty_is_not_rounded_to_zero():
    v = mg.Value(30.0)
    v.sigmoid().backward()
    naive = (1 / (1 + np.exp(-30.0))) * (1 - 1 / (1 + np.exp(-30.0)))
    want = float(exact(30.0, 1.0)[1])
    assert abs(v.grad - want) / want < 1e-12
    assert abs(naive - want) / want > 1e-6  # the cancellation the op avoids


@pytest.mark.parametrize("alpha", [0.0, -1.0, float("nan"), float("inf"), -float("inf")])
def test_alpha_must_be_finite_and_positive(alpha):
    with pytest.raises(ValueError, match="sigmoid: alpha"):
        mg.Value(1.0).sigmoid(alpha)


@pytest.mark.parametrize("alpha", ["1", None, True, 1j])
def test_alpha_must_be_a_real_number(alpha):
    with pytest.raises(TypeError, match="sigmoid: alpha"):
        mg.Value(1.0).sigmoid(alpha)


def test_sigmoid_gradient_is_alpha_f_one_minus_f():
    """Eq. 6.2: dF/dx = alpha F (1 - F)."""
    for alpha in (0.5, 1.0, 2.0, 4.0):
        for x in np.linspace(-3, 3, 13):
            v = mg.Value(float(x))
            out = v.sigmoid(alpha)
            out.backward()
            f = out.data
            assert v.grad == pytest.approx(alpha * f * (1 - f), rel=1e-13)
