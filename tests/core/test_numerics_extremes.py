"""Extremes of the numerics helpers (issue 19): the float32 sigmoid at a gain past float32's range,
log_softmax and softmax at logits of ±1e308 (no RuntimeWarning), and the gradient of maximum at nan
set beside PyTorch's, as docs/ops_and_losses.md says."""

import warnings

import numpy as np
import pytest

import minigrad as mg


@pytest.fixture
def no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize("alpha", [1e39, 3.5e38, 1e300])
def test_the_float32_sigmoid_at_a_gain_past_float32s_range(no_warnings, alpha):
    # α = 1e39 on float32 [-5, 0, 5] gave F = [0, nan, 1]: α is inf in float32, and 0·inf is nan.
    x = mg.Value(np.array([-5.0, 0.0, 5.0], dtype=np.float32))
    F = x.sigmoid(alpha)
    assert F.data.dtype == np.float32
    np.testing.assert_array_equal(F.data, np.array([0.0, 0.5, 1.0], dtype=np.float32))
    if alpha / 4 < float(np.finfo(np.float32).max):  # the slope at 0, α/4, is a float32 number
        F.sum().backward()
        assert x.grad.dtype == np.float32
        np.testing.assert_array_equal(x.grad, np.array([0.0, alpha / 4, 0.0], dtype=np.float32))


def test_a_float32_sigmoid_just_inside_the_range_is_unchanged(no_warnings):
    data = np.array([-1e-30, 0.0, 2e-39, 1.0], dtype=np.float32)
    for alpha in (3e38, 1e39):
        x = mg.Value(data)
        F = x.sigmoid(alpha)
        expected = mg.Value(data.astype(np.float64)).sigmoid(alpha).data.astype(np.float32)
        np.testing.assert_array_equal(F.data, expected)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_softmax_and_softmax_at_extreme_logits_warn_nothing(no_warnings, dtype):
    big = np.finfo(dtype).max / 1.1
    logits = np.array([[big, -big, 0.0], [-big, 0.0, big]], dtype=dtype)
    x = mg.Value(logits)
    out = x.log_softmax(axis=-1)
    np.testing.assert_array_equal(out.data, np.array([[0.0, -np.inf, -big], [-np.inf, -big, 0.0]], dtype=dtype))
    weights = np.array([[1.0, 0.0, 2.0], [0.5, 1.0, -1.0]], dtype=dtype)
    out.backward(gradient=weights)
    p = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    expected = weights - p * weights.sum(axis=-1, keepdims=True)  # grad − softmax · Σ grad
    np.testing.assert_array_equal(x.grad, expected.astype(dtype))
    np.testing.assert_array_equal(mg.Value(logits).softmax(axis=-1).data, p.astype(dtype))
    loss = mg.cross_entropy(mg.Value(logits), [0, 2])
    assert loss.item() == 0.0


def test_an_infinite_logit_still_warns():
    with pytest.warns(RuntimeWarning, match="invalid value"):
        out = mg.Value(np.array([np.inf, 0.0])).log_softmax(axis=-1)
    assert np.isnan(out.data).all()


@pytest.mark.parametrize("a, b", [(np.nan, 1.0), (1.0, np.nan), (np.nan, np.nan)])
def test_the_gradient_of_maximum_at_nan_beside_pytorch(a, b):
    """minigrad hands 0 to both inputs where the maximum is nan; PyTorch 2.13 hands the whole gradient to both
    (docs/ops_and_losses.md).  Neither is a derivative: the value is nan."""
    for function in (mg.maximum, mg.minimum):
        x, y = mg.Value(a), mg.Value(b)
        out = function(x, y)
        assert np.isnan(out.data)
        out.backward()
        assert (x.grad, y.grad) == (0.0, 0.0)
        arrays = mg.Value(np.array([a, 2.0])), mg.Value(np.array([b, 1.0]))
        function(*arrays).sum().backward()
        np.testing.assert_array_equal(arrays[0].grad, [0.0, 1.0 if function is mg.maximum else 0.0])
    torch = pytest.importorskip("torch")
    for function in (torch.maximum, torch.minimum):
        x = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        y = torch.tensor(b, dtype=torch.float64, requires_grad=True)
        function(x, y).backward()
        assert (x.grad.item(), y.grad.item()) == (1.0, 1.0)
