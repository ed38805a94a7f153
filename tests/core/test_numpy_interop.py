"""numpy and Values: numbers come out only without a graph, and numpy's own
functions on Values are minigrad's ops (or a TypeError saying what to use).

No silent object arrays: ``np.asarray(v)`` gives the numbers of a Value that
needs no gradient and refuses one that does; ufuncs (``np.exp(v)``,
``x + v``, ``np.maximum(v, 0)``) record the graph; reductions and other
numpy functions (``np.sum(v)``, ``np.clip``) go to the Value's methods.
"""

import numpy as np
import pytest

import minigrad as mg
from minigrad.core import ops


def leaf(data):
    return mg.Value(np.asarray(data, dtype=np.float64))


# ---------------------------------------------------------------------------
# np.asarray: the numbers, or a TypeError
# ---------------------------------------------------------------------------


def test_asarray_gives_the_numbers_of_a_value_that_needs_no_gradient():
    v = mg.Value([1.0, 2.0], requires_grad=False)
    array = np.asarray(v)
    assert type(array) is np.ndarray and array.dtype == np.float64 and array.tolist() == [1.0, 2.0]
    assert np.shares_memory(array, v.data)                  # as .numpy(): no copy
    assert not np.shares_memory(np.array(v), v.data)        # np.array copies
    assert np.asarray(v, dtype=np.float32).dtype == np.float32
    scalar = np.asarray(mg.Value(2.5, requires_grad=False))
    assert scalar.shape == () and scalar == 2.5
    with mg.no_grad():
        made = leaf([1.0, -1.0]).exp()
    assert np.asarray(made).tolist() == pytest.approx([np.e, 1 / np.e])
    detached = leaf([3.0]).detach()
    assert np.asarray(detached).tolist() == [3.0]
    with pytest.raises(ValueError, match=r"need a copy .* copy=False"):
        np.asarray(mg.Value(2.5, requires_grad=False), copy=False)


@pytest.mark.parametrize("make", [lambda v: np.asarray(v), lambda v: np.array(v), lambda v: np.asarray([v, v]),
                                  lambda v: np.float64(1.0) + np.asarray(v)])
def test_asarray_of_a_value_that_requires_grad_is_a_type_error_saying_numpy_or_detach(make):
    v = leaf([1.0, 2.0]) * 2.0
    with pytest.raises(TypeError, match=r"requires grad.*use v\.numpy\(\) or v\.detach\(\)"):
        make(v)


def test_no_object_arrays_from_values():
    v = leaf([1.0, 2.0])
    frozen = [mg.Value(1.0, requires_grad=False), mg.Value(2.0, requires_grad=False)]
    assert np.asarray(frozen).dtype == np.float64 and np.asarray(frozen).tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match=r"minigrad\.stack"):
        np.asarray([v, v])
    # minigrad itself still refuses a list of Values where one array is meant
    for make in (lambda: mg.Value([v]), lambda: v + [v, 1.0], lambda: mg.Value(frozen)):
        with pytest.raises(TypeError, match=r"got a list of Values; combine them with minigrad\.stack"):
            make()


# ---------------------------------------------------------------------------
# ufuncs on Values are minigrad's ops
# ---------------------------------------------------------------------------


UFUNCS = [
    (np.exp, lambda v: v.exp(), ops.EXP), (np.log, lambda v: v.log(), ops.LOG),
    (np.tanh, lambda v: v.tanh(), ops.TANH), (np.sqrt, lambda v: v.sqrt(), ops.SQRT),
    (np.absolute, lambda v: abs(v), ops.ABS), (np.abs, lambda v: v.abs(), ops.ABS),
    (np.negative, lambda v: -v, ops.NEG), (np.square, lambda v: v ** 2, ops.POW_CONST),
]


@pytest.mark.parametrize("ufunc, method, op", UFUNCS, ids=[u.__name__ for u, _, _ in UFUNCS])
def test_unary_ufuncs_record_the_graph_as_the_method_does(ufunc, method, op):
    data = np.array([0.5, 1.5, 2.0])
    via_numpy, via_method = leaf(data), leaf(data)
    out = ufunc(via_numpy)
    assert type(out) is mg.Value and out.op is op and out.parents == (via_numpy,)
    (out * np.arange(1.0, 4.0)).sum().backward()
    (method(via_method) * np.arange(1.0, 4.0)).sum().backward()
    np.testing.assert_array_equal(via_numpy.grad, via_method.grad)
    scalar = mg.Value(0.7)
    assert type(ufunc(scalar).data) is float  # the scalar path stays a float


BINARY = [(np.add, lambda a, b: a + b, ops.ADD), (np.subtract, lambda a, b: a - b, ops.SUB),
          (np.multiply, lambda a, b: a * b, ops.MUL), (np.divide, lambda a, b: a / b, ops.DIV),
          (np.true_divide, lambda a, b: a / b, ops.DIV), (np.power, lambda a, b: a ** b, ops.POW),
          (np.maximum, mg.maximum, ops.MAXIMUM), (np.minimum, mg.minimum, ops.MINIMUM)]


@pytest.mark.parametrize("ufunc, spelled, op", BINARY, ids=[u.__name__ for u, _, _ in BINARY])
def test_binary_ufuncs_record_the_graph_with_the_array_on_either_side(ufunc, spelled, op):
    x = np.array([0.5, 2.0, 1.25])
    for order in ("value first", "array first"):
        via_numpy, via_python = leaf([1.5, 0.75, 1.0]), leaf([1.5, 0.75, 1.0])
        args = (via_numpy, x) if order == "value first" else (x, via_numpy)
        out = ufunc(*args)
        assert type(out) is mg.Value and out.op is op, order
        out.sum().backward()
        spelled(*((via_python, x) if order == "value first" else (x, via_python))).sum().backward()
        np.testing.assert_array_equal(via_numpy.grad, via_python.grad, err_msg=order)


def test_operators_with_a_numpy_array_or_scalar_on_the_left_record_the_graph():
    v = leaf([1.0, 2.0])
    x = np.array([3.0, 4.0])
    for out, op in [(x + v, ops.ADD), (x - v, ops.SUB), (x * v, ops.MUL), (x / v, ops.DIV), (x ** v, ops.POW),
                    (x @ v, ops.MATMUL), (np.float64(2.0) * v, ops.MUL), (np.float32(2.0) + v, ops.ADD),
                    (np.matmul(x, v), ops.MATMUL), (np.power(v, 2), ops.POW_CONST), (np.power(2.0, v), ops.POW)]:
        assert type(out) is mg.Value and out.op is op and v in out.parents
    (x * v).sum().backward()
    np.testing.assert_array_equal(v.grad, x)
    assert np.positive(v) is v


def test_comparisons_give_plain_data_and_equality_is_identity_as_for_values():
    v = leaf([1.0, 5.0])
    x = np.array([2.0, 2.0])
    np.testing.assert_array_equal(x < v, v > x)
    np.testing.assert_array_equal(np.greater_equal(x, v), [True, False])
    np.testing.assert_array_equal(np.less_equal(v, x), [True, False])
    assert (x == v) is False and (v == x) is False and (x != v) is True and np.equal(v, v) is True


def test_ufuncs_inside_a_compiled_step_are_traced_ops():
    w = mg.Value(np.array([0.5, -1.0]), name="w")

    def function(x):
        return np.sum(np.maximum(np.tanh(x * w), 0.1) + np.exp(w))

    step = mg.compile(function)
    x = np.array([1.0, 2.0])
    step(x)
    compiled = w.grad.copy()
    w.grad = None
    function(x).backward()
    np.testing.assert_array_equal(compiled, w.grad)


# ---------------------------------------------------------------------------
# What is not an op is a TypeError naming what to use
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("call, message", [
    (lambda v: np.sin(v), r"np\.sin has no minigrad op, so it cannot record a gradient; compute with Value methods "
                          r"\(v\.exp\(\).*or take the numbers first with v\.numpy\(\) or v\.detach\(\)"),
    (lambda v: np.log1p(v), r"np\.log1p has no minigrad op.*write \(1 \+ v\)\.log\(\) instead"),
    (lambda v: np.reciprocal(v), r"write 1 / v instead"),
    (lambda v: np.add(v, 1.0, out=np.zeros(2)), r"np\.add\(\.\.\., out=\) on a Value is not supported.*use a \+ b"),
    (lambda v: np.exp(v, where=np.array([True, False])), r"np\.exp\(\.\.\., where=\).*use v\.exp\(\)"),
    (lambda v: np.multiply(v, 2.0, dtype=np.float32), r"np\.multiply\(\.\.\., dtype=\).*use a \* b"),
    (lambda v: np.add.reduce(v), r"np\.add\.reduce on a Value is not supported; use v\.sum\(axis\)"),
    (lambda v: np.maximum.reduce(v), r"use v\.max\(axis\)"),
    (lambda v: np.add.accumulate(v), r"np\.add\.accumulate on a Value is not supported; minigrad has no op for it"),
    (lambda v: np.multiply.outer(v, v), r"np\.multiply\.outer on a Value is not supported"),
    (lambda v: np.dot(v, v), r"np\.dot does not take a Value \(minigrad has no op for it; use a @ b\)"),
    (lambda v: np.concatenate([v, v]), r"np\.concatenate does not take a Value.*minigrad\.stack"),
    (lambda v: np.cumsum(v), r"np\.cumsum does not take a Value.*v\.numpy\(\) or v\.detach\(\)"),
    (lambda v: np.sum(v, dtype=np.float32), r"np\.sum\(\.\.\., dtype=\) on a Value is not supported; use v\.sum"),
    (lambda v: np.max(v, initial=0.0), r"np\.max\(\.\.\., initial=\).*use v\.max"),
    (lambda v: np.clip(v, 0, 1, out=np.zeros(2)), r"np\.clip\(\.\.\., out=\).*use v\.clip\(lo, hi\)"),
])
def test_what_is_not_an_op_is_a_type_error_naming_what_to_use(call, message):
    with pytest.raises(TypeError, match=message):
        call(leaf([0.5, 2.0]))


def test_an_in_place_operator_on_a_numpy_array_says_to_make_a_new_value():
    v = leaf([1.0, 2.0])
    x = np.zeros(2)
    with pytest.raises(TypeError, match=r"x \+= v with x a numpy array and v a Value would write a Value into the "
                                        r"array; write x = x \+ v instead"):
        x += v
    with pytest.raises(TypeError, match=r"x \*= v"):
        x *= v
    assert x.tolist() == [0.0, 0.0]


# ---------------------------------------------------------------------------
# numpy's functions that are Value methods
# ---------------------------------------------------------------------------


def test_numpy_reductions_and_shape_functions_are_the_values_methods():
    data = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    v = leaf(data)
    cases = [(np.sum(v), ops.SUM, data.sum()), (np.sum(v, axis=0), ops.SUM, data.sum(axis=0)),
             (np.mean(v, axis=1, keepdims=True), ops.MEAN, data.mean(axis=1, keepdims=True)),
             (np.max(v), ops.MAX, data.max()), (np.amax(v, axis=1), ops.MAX, data.max(axis=1)),
             (np.min(v, axis=0), ops.MIN, data.min(axis=0)), (np.amin(v), ops.MIN, data.min()),
             (np.clip(v, -1.0, 1.0), ops.CLIP, np.clip(data, -1, 1)), (np.clip(v, None, 0.5), ops.CLIP,
                                                                        np.clip(data, None, 0.5)),
             (np.reshape(v, (3, 2)), ops.RESHAPE, data.reshape(3, 2)), (np.transpose(v), ops.TRANSPOSE, data.T),
             (np.stack([v, data]), ops.STACK, np.stack([data, data]))]
    for out, op, want in cases:
        assert type(out) is mg.Value and out.op is op, op
        np.testing.assert_array_equal(out.data, want)
    assert np.shape(v) == (2, 3) and np.ndim(v) == 2 and np.size(v) == 6 and np.size(v, 1) == 3
    np.sum(np.max(v, axis=1)).backward()
    np.testing.assert_array_equal(v.grad, [[0, 0, 1], [0, 1, 0]])
