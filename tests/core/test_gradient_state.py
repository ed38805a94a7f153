"""What ``.grad`` holds around a backward pass: the caller's seed is copied,
leaves accumulate across calls while intermediates are overwritten, and a
backward that stops half-way leaves the leaves' earlier gradients intact."""

import numpy as np
import pytest

import minigrad as mg

quiet = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def test_backward_copies_the_callers_gradient_array():
    x = mg.Value([1.0, 2.0])
    seed = np.ones(2)
    x.backward(seed)
    seed[0] = 99.0
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_backward_twice_accumulates_leaves_exactly_and_overwrites_intermediates():
    x = mg.Value(np.array([1.0, -2.0]))
    middle = x * x
    loss = middle.sum()
    loss.backward(retain_graph=True)
    first_leaf, first_middle = x.grad.copy(), middle.grad.copy()
    loss.backward()
    np.testing.assert_array_equal(x.grad, 2 * first_leaf)
    np.testing.assert_array_equal(middle.grad, first_middle)


@quiet
def test_failed_backward_leaves_earlier_leaf_gradients_intact():
    """Found by this catalogue: backward clears each leaf's accumulated gradient
    before the pass and restores it (plus the new one) only at the end, so a
    backward that stops half-way (here at detect_anomaly's error) loses it."""
    x = mg.Value(np.array([0.0, 4.0]))
    x.grad = np.array([5.0, 5.0])  # accumulated by an earlier backward
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError):
        (x ** 0.5 + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])  # got [1, 1]: the half-finished pass
