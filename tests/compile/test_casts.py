"""`Value.astype` (the op cast) compiles from its own rule, and check=True compares a
float gradient with eager's (it used to fail on any Python-float gradient)."""

import numpy as np

import minigrad as mg


def test_astype_compiles_as_eager_for_arrays_and_floats():
    w = mg.Value(np.array([1.1, -0.3, 2.5]), requires_grad=True)
    v = mg.Value(1.5, requires_grad=True)

    def loss():
        return ((w * 3.0).astype(np.float32) * v.astype(np.float32)).sum()

    step = mg.compile(loss, check=True)
    got = step()
    got_grads = (w.grad, v.grad)
    w.grad = v.grad = None
    want = loss()
    want.backward()
    assert got.dtype == np.float32 and got.item() == want.item()
    assert np.array_equal(got_grads[0], w.grad) and got_grads[0].dtype == np.float64
    assert np.array_equal(got_grads[1], v.grad)
    assert "cast(" in step.source


def test_check_true_passes_a_python_float_gradient():
    w = mg.Value(2.0, requires_grad=True)
    step = mg.compile(lambda: w * w * 3.0, check=True)
    assert step().item() == 12.0
    assert type(w.grad) is float and w.grad == 12.0
