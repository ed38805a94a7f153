"""detect_anomaly(): the first nan or inf, forward or backward, names the op,
its inputs' shapes and the file:line where the node was made; off by default
(numpy's nan/inf propagate), free when off, per thread, nests with no_grad."""

import re
import sys
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad.core import modes

# numpy's RuntimeWarning comes first (as numpy would give it); the tests are about what follows.
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def next_line():
    """The number of the caller's next line: where the node under test is made."""
    return sys._getframe(1).f_lineno + 1


def site(line):
    return re.escape(f"test_anomaly.py:{line}")


def test_forward_log_of_zero_names_op_shape_and_line():
    x = mg.Value(np.array([1.0, 0.0, 2.0]))
    with mg.detect_anomaly():
        with pytest.raises(mg.AnomalyError) as caught:
            line = next_line()
            x.log()
    message = str(caught.value)
    assert "forward output contains inf" in message
    assert "op 'log'" in message and "input shapes (3,)" in message
    assert re.search(site(line) + r"$", message), message


def test_forward_zero_over_zero_names_both_input_shapes():
    a, b = mg.Value(np.zeros(3)), mg.Value(np.zeros((2, 3)))
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match=r"forward output contains nan") as caught:
        line = next_line()
        a / b
    assert re.search(r"op 'div' \(input shapes \(3,\), \(2, 3\)\), created at .*" + site(line), str(caught.value))


def test_forward_on_the_scalar_path():
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match=r"nan: op 'div' \(input shapes \(\), \(\)\)"):
        mg.Value(0.0) / 0.0


def test_the_first_bad_op_is_named_not_a_later_one():
    x = mg.Value(0.0)
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match=r"op 'log'"):
        x.log().exp().tanh()


def test_backward_sqrt_at_zero_gives_inf_gradient_named_at_the_pow():
    x = mg.Value(np.array([0.0, 4.0]))
    with mg.detect_anomaly():
        line = next_line()
        root = x ** 0.5           # forward is fine: [0, 2]
        loss = (root * 3.0).sum()
        with pytest.raises(mg.AnomalyError) as caught:
            loss.backward()
    message = str(caught.value)
    assert "backward gradient for input 0 contains inf" in message
    assert "op 'pow_const' (input shapes (2,))" in message
    assert re.search(site(line) + r"$", message), message


def test_backward_of_a_scalar_graph():
    x = mg.Value(0.0)
    with mg.detect_anomaly():
        line = next_line()
        loss = x ** 0.5 + x
        with pytest.raises(mg.AnomalyError, match=r"backward gradient .* inf: op 'pow_const' \(input shapes \(\)\), created at .*"
                           + site(line)):
            loss.backward()


def test_inf_leaf_is_caught_at_the_first_op_that_uses_it():
    x = mg.Value(np.array([1.0, np.inf]))
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match=r"inf: op 'mul'"):
        x * 2.0


def test_clean_graphs_run_unchanged_inside_anomaly_mode():
    def run():
        x = mg.Value(np.array([0.5, -1.0, 2.0]))
        loss = ((x * x + 1.0).log().sigmoid(2.0) @ mg.Value(np.ones(3))).sum()
        loss.backward()
        return loss.item(), x.grad

    plain_loss, plain_grad = run()
    with mg.detect_anomaly():
        loss, grad = run()
    assert loss == plain_loss
    np.testing.assert_array_equal(grad, plain_grad)


def test_off_by_default_nan_and_inf_propagate_as_in_numpy():
    x = mg.Value(np.array([0.0, 1.0]))
    y = x.log()                                   # no error: -inf, as numpy
    np.testing.assert_array_equal(y.data, np.log(np.array([0.0, 1.0])))
    z = (x / x).sum()                             # 0/0 = nan propagates into the sum
    assert np.isnan(z.data)
    r = (x ** 0.5).sum()
    r.backward()                                  # inf gradient, as numpy's 0.5 * 0**-0.5
    assert x.grad[0] == np.inf and x.grad[1] == 0.5


def test_off_by_default_records_nothing():
    x = mg.Value(2.0)
    y = x * 3.0
    # The creation site is recorded only in anomaly mode: no cost when off.
    for node in (x, y):
        assert node not in modes.origins
    with mg.detect_anomaly():
        line = next_line()
        z = x * 3.0
    assert modes.origins[z].endswith(f"test_anomaly.py:{line}")
    w = x * 3.0
    assert w not in modes.origins


def test_mode_is_restored_after_an_error():
    with pytest.raises(mg.AnomalyError):
        with mg.detect_anomaly():
            mg.Value(0.0).log()
    mg.Value(0.0).log()  # no error: anomaly mode ended with the block


def test_nested_with_no_grad_both_ways():
    x = mg.Value(0.0)
    with mg.detect_anomaly():
        with mg.no_grad():
            with pytest.raises(mg.AnomalyError, match=r"op 'log'"):
                x.log()
            y = x + 1.0
            assert not y.requires_grad and y.parents == ()
        assert mg.is_grad_enabled()
        assert (x + 1.0).requires_grad
        with pytest.raises(mg.AnomalyError):
            x.log()
    with mg.no_grad():
        with mg.detect_anomaly():
            with pytest.raises(mg.AnomalyError, match=r"op 'log'"):
                x.log()
        assert not mg.is_grad_enabled()
        assert x.log().data == -np.inf  # anomaly mode over, no_grad still on
    assert mg.is_grad_enabled()


def test_anomaly_mode_is_per_thread():
    """One thread in anomaly mode, another computing log(0) at the same time: only the first raises."""
    inside = threading.Event()
    done = threading.Event()
    results = {}

    def checking():
        with mg.detect_anomaly():
            inside.set()
            done.wait(10)
            try:
                mg.Value(0.0).log()
            except mg.AnomalyError as error:
                results["checking"] = error

    def plain():
        inside.wait(10)
        try:
            results["plain"] = mg.Value(0.0).log().data
            x = mg.Value(np.zeros(2))
            (x ** 0.5).sum().backward()
            results["plain grad"] = x.grad
        finally:
            done.set()

    threads = [threading.Thread(target=checking), threading.Thread(target=plain)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert isinstance(results["checking"], mg.AnomalyError)
    assert results["plain"] == -np.inf
    assert np.all(results["plain grad"] == np.inf)
