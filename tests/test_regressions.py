"""Named regression tests for bugs found in review (each failed before its fix).

The fuzzer's finds live in tests/test_robustness.py; these came from a
reviewer's reading of the engine.
"""

import threading
import warnings

import numpy as np
import pytest

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


def test_scalar_backward_through_division_by_zero_and_log_zero_follows_numpy():
    a, b = mg.Value(1.0), mg.Value(0.0)
    a.grad = 7.0
    with pytest.warns(RuntimeWarning):
        (a / b).backward()
    assert a.grad == np.inf and b.grad == -np.inf  # 7 + 1/0, and -(1/0)·(1/0)
    x = mg.Value(0.0)
    with pytest.warns(RuntimeWarning):
        x.log().backward()
    assert x.grad == np.inf


def test_float32_sigmoid_far_below_minus_88_has_finite_gradients_and_no_warning():
    x = mg.Value(np.array([-100.0, -89.0, -50.0, 0.0, 89.0], dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = x.sigmoid()
        out.sum().backward()
    assert np.all(np.isfinite(x.grad)) and x.grad.dtype == np.float32
    exact = np.exp(-np.abs(np.float64(x.data))) / (1 + np.exp(-np.abs(np.float64(x.data)))) ** 2
    np.testing.assert_allclose(x.grad, exact, rtol=1e-5, atol=1e-44)


def test_one_no_grad_object_shared_by_threads_keeps_each_threads_state():
    shared = mg.no_grad()
    inside, entered, release = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with shared:
            inside.set()
            entered.wait()
            seen["first inside"] = mg.is_grad_enabled()
        seen["first after"] = mg.is_grad_enabled()
        release.set()

    def second():
        inside.wait()
        with shared:
            entered.set()
            release.wait(timeout=5)
        seen["second after"] = mg.is_grad_enabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"first inside": False, "first after": True, "second after": True}


def test_backward_copies_the_callers_gradient_array():
    x = mg.Value([1.0, 2.0])
    seed = np.ones(2)
    x.backward(seed)
    seed[0] = 99.0
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_zero_dimensional_arrays_stay_arrays():
    out = mg.Value(np.array(2.0)) * 3.0
    assert type(out.data) is np.ndarray and out.shape == ()
    assert type(mg.Value(np.array(2.0)).sigmoid().data) is np.ndarray


def test_sse_list_form_messages_name_the_real_problem():
    with pytest.raises(ValueError, match="sse: desired has 3 entries but actual has 2"):
        mg.sse([1.0, 0.0, 1.0], [mg.Value(0.3), mg.Value(0.2)])
    with pytest.raises(ValueError, match="sse: desired has None entries but actual has 1"):
        mg.sse(1.0, [mg.Value(0.3)])
    assert mg.sse([mg.Value(1.0)], [0.25]).item() == pytest.approx(0.5 * 0.75 ** 2)  # Values as desired


def test_axis_errors_name_the_op():
    with pytest.raises(ValueError, match="stack: axis 3 is out of range"):
        mg.stack([mg.Value(np.ones(2)), mg.Value(np.ones(2))], axis=3)
    with pytest.raises(ValueError, match="sum: axis .* names the same axis twice"):
        mg.Value(np.ones((2, 2))).sum(axis=(0, 0))
    with pytest.raises(TypeError, match="sum: axis must be None, an int or a tuple of ints"):
        mg.Value(np.ones((2, 2))).sum(axis=[0, 1])
    with pytest.raises(ValueError, match="sum: axis 0 is out of range for a Value with 0 dimensions"):
        mg.Value(2.0).sum(axis=0)


def test_indexing_with_a_value_is_a_clear_error():
    with pytest.raises(TypeError, match="getitem: index with ints"):
        mg.Value(np.ones(3))[mg.Value(1.0)]
