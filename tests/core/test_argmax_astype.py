"""Value.argmax and Value.astype (issue 19)."""

import numpy as np
import pytest

import minigrad as mg


def test_argmax_is_numpys_and_records_nothing():
    data = np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 1.0]])
    x = mg.Value(data)
    assert x.argmax() == 3
    np.testing.assert_array_equal(x.argmax(axis=1), [1, 0])
    np.testing.assert_array_equal(x.argmax(axis=-2), [1, 0, 0])
    assert x.argmax(axis=1).dtype.kind == "i"
    assert mg.Value(2.0).argmax() == 0
    with pytest.raises(ValueError, match="argmax"):
        x.argmax(axis=2)


def test_astype_casts_forward_and_casts_the_gradient_back():
    x = mg.Value(np.array([1.0, 2.0, 3.0]))
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.op.name == "cast" and not y.is_leaf
    (y * y).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])
    back = mg.Value(np.array([0.5], dtype=np.float32), name="h")
    z = back.astype("float64")
    (z * 3.0).sum().backward()
    assert z.dtype == np.float64 and back.grad.dtype == np.float32 and back.grad[0] == 3.0
    scalar = mg.Value(2.0)
    (scalar.astype(np.float32) * 3.0).backward()
    assert type(scalar.grad) is float and scalar.grad == 3.0
    with pytest.raises(TypeError, match="astype: dtype must be float64 or float32, got <class 'numpy.int32'>"):
        x.astype(np.int32)
