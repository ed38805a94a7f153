"""Bad input: clear errors naming the op and the shapes or values at fault."""

import warnings

import numpy as np
import pytest

import minigrad as mg


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 2\) do not fit.*3 and 4"):
        mg.Value(np.ones((2, 3))) @ mg.Value(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"matmul: operands must be at least 1-D"):
        mg.Value(2.0) @ mg.Value(np.ones(2))
    with pytest.raises(ValueError, match=r"matmul: batch dimensions"):
        mg.Value(np.ones((2, 2, 3))) @ mg.Value(np.ones((3, 3, 4)))


@pytest.mark.parametrize("op", ["__add__", "__sub__", "__mul__", "__truediv__", "__pow__"])
def test_broadcast_mismatch_names_op_and_shapes(op):
    name = {"__add__": "add", "__sub__": "sub", "__mul__": "mul", "__truediv__": "div", "__pow__": "pow"}[op]
    with pytest.raises(ValueError, match=rf"{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        getattr(mg.Value(np.ones((2, 3))), op)(mg.Value(np.ones(4)))


def test_sse_shape_mismatch_is_an_error_not_a_broadcast():
    with pytest.raises(ValueError, match=r"sse: desired has shape \(3,\) but actual has shape \(2,\)"):
        mg.sse(np.ones(3), mg.Value(np.ones(2)))
    with pytest.raises(ValueError, match=r"sse: desired has shape \(1, 2\) but actual has shape \(2,\)"):
        mg.sse(np.ones((1, 2)), mg.Value(np.ones(2)))
    with pytest.raises(ValueError, match=r"sse: desired has 3 entries but actual has 2"):
        mg.sse([1.0, 0.0, 0.0], [mg.Value(0.5), mg.Value(0.5)])


@pytest.mark.parametrize("bad, message", [
    ("1.0", "got str"), (None, "got NoneType"), (object(), "got object"), (1 + 2j, "got complex"),
    (True, "boolean"), (np.array([True, False]), "boolean array"), (np.array([1 + 1j]), "complex"),
    (np.array([1.0, None], dtype=object), "dtype object"), ([[1.0, 2.0], [3.0]], "rectangular"),
    (np.array(["a"]), "dtype <U1"), (np.ones(2, dtype=np.longdouble), "not supported"),
])
def test_non_numeric_data_is_a_type_error(bad, message):
    error = ValueError if message == "rectangular" else TypeError
    with pytest.raises(error, match=message):
        mg.Value(bad)


def test_non_numeric_operand_names_the_op():
    with pytest.raises(TypeError, match="mul: expected a number"):
        mg.Value(1.0) * "2"
    with pytest.raises(TypeError, match="add: expected a number"):
        None + mg.Value(1.0)


def test_ints_and_integer_arrays_become_floats():
    assert type(mg.Value(3).data) is float
    assert mg.Value([1, 2]).dtype == np.float64
    assert mg.Value(np.float32(1.5)).dtype == np.float32


def test_log_of_non_positive_follows_numpy_with_a_warning():
    with pytest.warns(RuntimeWarning):
        assert mg.Value(0.0).log().data == -np.inf
    with pytest.warns(RuntimeWarning):
        assert np.isnan(mg.Value(-1.0).log().data)
    with pytest.warns(RuntimeWarning):
        out = mg.Value(np.array([1.0, 0.0, -1.0])).log().data
    assert out[0] == 0.0 and out[1] == -np.inf and np.isnan(out[2])


def test_scalar_edge_cases_follow_numpy_not_python_exceptions():
    with pytest.warns(RuntimeWarning):
        assert (mg.Value(1.0) / 0.0).data == np.inf
    with pytest.warns(RuntimeWarning):
        assert mg.Value(1000.0).exp().data == np.inf
    with pytest.warns(RuntimeWarning):
        assert np.isnan((mg.Value(-8.0) ** (1 / 3)).data)


def test_indexing_errors_name_the_op():
    with pytest.raises(IndexError, match=r"getitem: index \[5\] does not fit shape \(3,\)"):
        mg.Value(np.ones(3))[5]
    with pytest.raises(TypeError, match="getitem: a scalar Value cannot be indexed"):
        mg.Value(1.0)[0]


def test_reduction_axis_and_reshape_errors():
    with pytest.raises(ValueError, match=r"sum: axis 2 is out of range"):
        mg.Value(np.ones((2, 3))).sum(axis=2)
    with pytest.raises(ValueError, match=r"reshape: cannot reshape shape \(2, 3\) into \(4,\)"):
        mg.Value(np.ones((2, 3))).reshape(4)


def test_item_of_many_elements():
    with pytest.raises(ValueError, match=r"item: only a one-element Value .* shape \(2,\)"):
        mg.Value([1.0, 2.0]).item()


def test_comparisons_build_no_graph():
    a, b = mg.Value(1.0), mg.Value(2.0)
    assert (a < b) is True and (a >= b) is False
    mask = mg.Value(np.array([1.0, 3.0])) > 2.0
    assert isinstance(mask, np.ndarray) and mask.tolist() == [False, True]
    assert a != b and a == a


def test_sigmoid_is_silent_on_huge_inputs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = mg.Value(np.array([1e308, -1e308, 0.0])).sigmoid(4.0)
        assert out.data.tolist() == [1.0, 0.0, 0.5]
