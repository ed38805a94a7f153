"""Bad data for Value and the ops: every wrong type, dtype, shape, axis or
argument is an error naming the op and what is wrong, and leaves no gradient
behind; nan and inf propagate as numpy does, on the scalar path as on the array
path; unusual but valid data (ints, 0-d arrays, negative axes) works.

State files are in tests/test_bad_input_files.py, nn/optim/train arguments in
tests/test_bad_input_training.py, the command line in tests/test_bad_input_cli.py.
"""

import numpy as np
import pytest

import minigrad as mg

quiet = pytest.mark.filterwarnings("ignore::RuntimeWarning")

BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b, "pow": lambda a, b: a ** b}


# -- types and dtypes: ints, bools, strings, None, objects, complex, object arrays -----------------


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


BAD = [("a string", "2.0", r"got str '2.0'"), ("None", None, "got NoneType"), ("an object", object(), "got object"),
       ("complex", 1 + 2j, "got complex"), ("a bool", True, "boolean"), ("a numpy bool", np.bool_(False), "boolean"),
       ("a complex array", np.array([1 + 1j]), "complex"), ("an object array", np.array([1.0, None], dtype=object),
                                                             "dtype object"),
       ("a string array", np.array(["1"]), "dtype <U1"), ("a list of Values", [mg.Value(1.0)], "list of Values")]


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("what, bad, message", BAD, ids=[item[0] for item in BAD])
def test_every_binary_op_refuses_non_numbers_on_the_right(name, what, bad, message):
    x = mg.Value(np.ones(2))
    with pytest.raises(TypeError, match=rf"^{name}: .*{message}"):
        BINARY[name](x, bad)
    assert x.grad is None


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("what, bad, message", [item for item in BAD if not isinstance(item[1], (str, list))],
                         ids=[item[0] for item in BAD if not isinstance(item[1], (str, list))])
def test_every_binary_op_refuses_non_numbers_on_the_left(name, what, bad, message):
    with pytest.raises(TypeError, match=rf"^{name}: .*{message}"):
        BINARY[name](bad, mg.Value(np.ones(2)))


@pytest.mark.parametrize("what, bad, message", BAD, ids=[item[0] for item in BAD])
def test_matmul_sse_stack_and_backward_refuse_non_numbers(what, bad, message):
    x = mg.Value(np.ones(2))
    with pytest.raises(TypeError, match=rf"^matmul: .*{message}"):
        x @ bad
    with pytest.raises(TypeError, match=rf"^sse: .*{message}"):
        mg.sse(bad, x)
    with pytest.raises(TypeError, match=rf"^stack: .*{message}"):
        mg.stack([x, bad])
    if bad is not None:  # gradient=None means "seed with 1"
        loss = (x * 2.0).sum()
        with pytest.raises(TypeError, match=rf"^backward: .*{message}"):
            loss.backward(bad)
        assert x.grad is None


def test_indexing_with_a_value_is_a_clear_error():
    with pytest.raises(TypeError, match="getitem: index with ints"):
        mg.Value(np.ones(3))[mg.Value(1.0)]


def test_ints_and_integer_arrays_become_floats():
    assert type(mg.Value(3).data) is float
    assert mg.Value([1, 2]).dtype == np.float64
    assert mg.Value(np.float32(1.5)).dtype == np.float32


def test_ints_are_numbers_everywhere():
    x = mg.Value(np.ones(2))
    assert (x + 1).data.tolist() == [2.0, 2.0] and (2 ** mg.Value(3)).data == 8.0
    assert (x ** np.array([2, 3])).dtype == np.float64
    assert mg.Value(1.0).sigmoid(2).data == mg.Value(1.0).sigmoid(2.0).data


def test_zero_dimensional_arrays_stay_arrays():
    out = mg.Value(np.array(2.0)) * 3.0
    assert type(out.data) is np.ndarray and out.shape == ()
    assert type(mg.Value(np.array(2.0)).sigmoid().data) is np.ndarray


def test_comparisons_build_no_graph():
    a, b = mg.Value(1.0), mg.Value(2.0)
    assert (a < b) is True and (a >= b) is False
    mask = mg.Value(np.array([1.0, 3.0])) > 2.0
    assert isinstance(mask, np.ndarray) and mask.tolist() == [False, True]
    assert a != b and a == a


# -- shapes and axes: every binary op, either side, Values or constants ----------------------------


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


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("left, right", [("value", "array"), ("array", "value"), ("value", "value")])
def test_every_binary_op_names_itself_and_both_shapes(name, left, right):
    a = mg.Value(np.ones((2, 3))) if left == "value" else np.ones((2, 3))
    b = mg.Value(np.ones(4)) if right == "value" else np.ones(4)
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast together$"):
        BINARY[name](a, b)
    for value in (a, b):
        if isinstance(value, mg.Value):
            assert value.grad is None and value.shape in ((2, 3), (4,))


def test_matmul_stack_and_sse_mismatches():
    with pytest.raises(ValueError, match=r"matmul: shapes \(4, 5\) and \(2, 3\) do not fit: the inner dimensions 5 and 2"):
        np.ones((4, 5)) @ mg.Value(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"stack: all inputs must have one shape, got \[\(2,\), \(3,\)\]"):
        mg.stack([mg.Value(np.ones(2)), mg.Value(np.ones(3))])
    with pytest.raises(ValueError, match="stack: needs at least one Value"):
        mg.stack([])
    with pytest.raises(ValueError, match=r"sse: desired has shape \(\) but actual has shape \(1,\)"):
        mg.sse(mg.Value(1.0), mg.Value(np.ones(1)))
    with pytest.raises(ValueError, match=r"sse: a list of Values must hold Python-float scalars, but actual\[1\] holds an array of shape \(2,\)"):
        mg.sse([0.0, 0.0], [mg.Value(1.0), mg.Value(np.ones(2))])


def test_sse_shape_mismatch_is_an_error_not_a_broadcast():
    with pytest.raises(ValueError, match=r"sse: desired has shape \(3,\) but actual has shape \(2,\)"):
        mg.sse(np.ones(3), mg.Value(np.ones(2)))
    with pytest.raises(ValueError, match=r"sse: desired has shape \(1, 2\) but actual has shape \(2,\)"):
        mg.sse(np.ones((1, 2)), mg.Value(np.ones(2)))
    with pytest.raises(ValueError, match=r"sse: desired has 3 entries but actual has 2"):
        mg.sse([1.0, 0.0, 0.0], [mg.Value(0.5), mg.Value(0.5)])


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


def test_transpose_with_negative_axes_gradient():
    """Found by tests/fuzz.py: Transpose.backward inverts the permutation with
    np.argsort(axes), which is wrong for negative axes."""
    x = mg.Value(np.zeros((2, 1)))
    x.transpose(-1, 0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 1)))  # got [[2], [2]]: silently wrong
    x = mg.Value(np.arange(6.0).reshape(2, 3))
    weights = mg.Value(np.arange(6.0).reshape(3, 2), requires_grad=False)
    (x.transpose(-1, 0) * weights).sum().backward()          # got a ValueError from broadcasting
    np.testing.assert_array_equal(x.grad, weights.data.T)


# -- nan and inf: propagate as numpy does, on the scalar path as on the array path -----------------


UNARY = {
    "neg": (lambda x: -x, np.negative), "exp": (lambda x: x.exp(), np.exp), "log": (lambda x: x.log(), np.log),
    "tanh": (lambda x: x.tanh(), np.tanh), "relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0.0)),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: 1.0 / (1.0 + np.exp(-x))),
    "square": (lambda x: x ** 2, np.square), "sqrt": (lambda x: x ** 0.5, np.sqrt),
    "reciprocal": (lambda x: 1.0 / x, lambda x: 1.0 / x), "times zero": (lambda x: x * 0.0, lambda x: x * 0.0),
    "sum": (lambda x: x.sum(), np.sum), "mean": (lambda x: x.mean(), np.mean),
}


@quiet
@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf, 0.0], ids=["nan", "inf", "-inf", "zero"])
@pytest.mark.parametrize("name", list(UNARY))
def test_nan_and_inf_propagate_as_numpy_does(name, special):
    function, reference = UNARY[name]
    with np.errstate(all="ignore"):
        want = reference(np.array([special]))
    array_out = function(mg.Value(np.array([special]))).data
    np.testing.assert_array_equal(np.ravel(array_out), np.ravel(want))  # nan == nan here
    scalar_out = function(mg.Value(float(special))).data
    np.testing.assert_array_equal(np.ravel(scalar_out), np.ravel(want))


@quiet
def test_nan_input_gives_nan_gradients_not_an_error():
    x = mg.Value(np.array([np.nan, 1.0]))
    (x * x).sum().backward()
    assert np.isnan(x.grad[0]) and x.grad[1] == 2.0


@quiet
def test_relu_of_nan_propagates_on_the_scalar_path():
    """Found by this catalogue: relu(nan) is nan on the array path (np.maximum)
    but 0.0 on the scalar path (``nan > 0.0`` is False), so a nan disappears."""
    assert np.isnan(mg.Value(np.array([np.nan])).relu().data[0])
    assert np.isnan(mg.Value(np.nan).relu().data)


@quiet
def test_power_of_minus_inf_matches_numpy_on_the_scalar_path():
    """Found by this catalogue: (−inf) ** 0.5 is nan in numpy (and on the array
    path) but inf on the scalar path (Python's float power)."""
    assert np.isnan((mg.Value(np.array([-np.inf])) ** 0.5).data[0])
    assert np.isnan((mg.Value(-np.inf) ** 0.5).data)


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


# -- sigmoid's gain --------------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.0, -1.0, -0.0, np.nan, np.inf, -np.inf, np.float32(-2.0), -3])
def test_sigmoid_gain_must_be_finite_and_positive(alpha):
    with pytest.raises(ValueError, match=r"sigmoid: alpha \(the gain\) must be finite and > 0, got"):
        mg.Value(np.ones(2)).sigmoid(alpha)
    with pytest.raises(ValueError, match=r"sigmoid: alpha"):
        mg.Value(1.0).sigmoid(alpha)


@pytest.mark.parametrize("alpha, message", [("1", "got str"), (None, "got NoneType"), (True, "got bool"),
                                            (1j, "got complex"), (np.array([1.0]), "got ndarray"),
                                            (mg.Value(1.0), "not a Value")])
def test_sigmoid_gain_must_be_a_plain_real_number(alpha, message):
    with pytest.raises(TypeError, match=rf"sigmoid: alpha .*{message}"):
        mg.Value(1.0).sigmoid(alpha)


# -- backward's root and seed ----------------------------------------------------------------------


def test_backward_without_a_path_to_a_leaf():
    c = mg.Value(np.ones(2), requires_grad=False)
    with pytest.raises(RuntimeError, match="backward: this Value does not require grad"):
        (c * 3.0).sum().backward()
    x = mg.Value(2.0)
    with mg.no_grad():
        y = x * 3.0
    with pytest.raises(RuntimeError, match=r"made from constants only, or under no_grad\(\)"):
        y.backward()
    assert x.grad is None


def test_failed_backward_seed_leaves_every_gradient_as_it_was():
    x = mg.Value(np.array([1.0, 2.0]))
    x.grad = np.array([5.0, 5.0])
    y = x * 2.0
    with pytest.raises(ValueError, match=r"backward: the root has shape \(2,\); pass gradient="):
        y.backward()
    with pytest.raises(ValueError, match=r"backward: gradient has shape \(3,\) but the root has shape \(2,\)"):
        y.backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


@pytest.mark.parametrize("data, named", [
    (np.array([1, "a"], dtype=object), r"element \(1,\) of the data \(an array of dtype object\) is str 'a', not a "
                                       r"number"),
    (np.array([[1.0, 2.0], [3.0, None]], dtype=object), r"element \(1, 1\) .* is NoneType, not a number"),
    (np.array([2, True], dtype=object), r"element \(1,\) .* is bool, not a number"),
])
def test_an_object_array_names_the_element_that_is_not_a_number(data, named):
    # Issue 19: this said "an integer in the data is too large for a float or int64".
    with pytest.raises(TypeError, match=rf"^Value: {named}"):
        mg.Value(data)
    with pytest.raises(OverflowError, match="too large"):  # a true overflow keeps its message
        mg.Value(np.array([1, 10 ** 30], dtype=object))
