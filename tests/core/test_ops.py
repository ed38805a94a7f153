"""Every op against central differences (float64), over the shape combinations
(), (n,), (m,n), (1,n), (m,1) on both sides of each binary op.  Ops with a kink
(relu, abs, maximum, minimum, max, min, clip) are sampled away from it; their
conventions there are tested in tests/test_losses_and_new_ops.py."""

import itertools

import numpy as np
import pytest

import minigrad as mg
from minigrad import gradcheck
from minigrad.core.ops import OPS
from strategies import broadcastable

SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1)]
TIGHT = dict(rtol=1e-7, atol=1e-9)


def sample(rng, shape, low=-2.0, high=2.0):
    data = rng.uniform(low, high, shape)
    return float(data) if shape == () else data


BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "maximum": np.maximum,  # numpy's own ufuncs on Values are minigrad's ops
    "minimum": np.minimum,
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shape_a,shape_b", [p for p in itertools.product(SHAPES, SHAPES) if broadcastable(*p)])
def test_binary_op_gradients_over_broadcast_shapes(name, shape_a, shape_b, rng):
    low = 0.5 if name in ("div", "pow") else -2.0  # keep bases and divisors away from 0
    a, b = sample(rng, shape_a, low), sample(rng, shape_b, low)
    function = BINARY[name]
    assert gradcheck(function, a, b, **TIGHT)
    # The result really is numpy's broadcast, and each gradient has its input's shape.
    va, vb = mg.Value(a), mg.Value(b)
    out = function(va, vb)
    expected = function(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(out.data, expected, rtol=1e-15)
    out.sum().backward()
    assert np.shape(va.grad) == shape_a and np.shape(vb.grad) == shape_b
    if shape_a == ():
        assert type(va.grad) is float


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shape", SHAPES)
def test_binary_ops_with_plain_numbers_and_arrays_on_either_side(name, shape, rng):
    x = sample(rng, shape, 0.5)
    constant = rng.uniform(0.5, 2.0, (3,))
    function = BINARY[name]
    assert gradcheck(lambda v: function(v, constant), x, **TIGHT)
    assert gradcheck(lambda v: function(constant, v), x, **TIGHT)
    assert gradcheck(lambda v: function(1.7, v), x, **TIGHT)
    assert gradcheck(lambda v: function(v, 1.7), x, **TIGHT)


UNARY = {
    "neg": (lambda x: -x, -2.0, 2.0),
    "exp": (lambda x: x.exp(), -2.0, 2.0),
    "log": (lambda x: x.log(), 0.2, 3.0),
    "tanh": (lambda x: x.tanh(), -2.0, 2.0),
    "relu": (lambda x: x.relu(), -2.0, 2.0),
    "sigmoid": (lambda x: x.sigmoid(), -4.0, 4.0),
    "sigmoid alpha=2.5": (lambda x: x.sigmoid(alpha=2.5), -2.0, 2.0),
    "pow 3": (lambda x: x ** 3, -2.0, 2.0),
    "pow -1.5": (lambda x: x ** -1.5, 0.5, 2.0),
    "pow 0.5": (lambda x: x ** 0.5, 0.5, 2.0),
    "square": (lambda x: x ** 2, -2.0, 2.0),
    "sum": (lambda x: x.sum(), -2.0, 2.0),
    "mean": (lambda x: x.mean(), -2.0, 2.0),
    "abs": (lambda x: x.abs(), -2.0, 2.0),
    "sqrt": (lambda x: x.sqrt(), 0.2, 3.0),
    "max": (lambda x: x.max(), -2.0, 2.0),
    "min": (lambda x: x.min(), -2.0, 2.0),
    "clip": (lambda x: x.clip(-1.0, 1.0), -2.0, 2.0),
    "clip above": (lambda x: x.clip(hi=0.5), -2.0, 2.0),
}

# Where each op with a kink has it: samples keep 0.1 away.
KINKS = {"relu": (0.0,), "abs": (0.0,), "clip": (-1.0, 1.0), "clip above": (0.5,)}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", SHAPES)
def test_unary_op_gradients(name, shape, rng):
    function, low, high = UNARY[name]
    x = sample(rng, shape, low, high)
    for kink in KINKS.get(name, ()):  # keep away from the kink, where the derivative is not defined
        x = np.where(np.abs(x - kink) < 0.1, kink + 0.3, x) if shape else (x if abs(x - kink) > 0.1 else kink + 0.3)
    assert gradcheck(function, x, **TIGHT)


def test_unary_forward_values_match_numpy(rng):
    x = rng.uniform(0.2, 2.0, (4, 3))
    v = mg.Value(x)
    np.testing.assert_allclose(v.exp().data, np.exp(x), rtol=1e-15)
    np.testing.assert_allclose(v.log().data, np.log(x), rtol=1e-15)
    np.testing.assert_allclose(v.tanh().data, np.tanh(x), rtol=1e-15)
    np.testing.assert_allclose(v.sigmoid(2.0).data, 1 / (1 + np.exp(-2.0 * x)), rtol=1e-15)
    np.testing.assert_allclose((v ** 2.5).data, x ** 2.5, rtol=1e-15)
    s = mg.Value(0.7)
    assert s.exp().data == pytest.approx(np.exp(0.7), rel=1e-15)
    assert s.sigmoid(3.0).data == pytest.approx(1 / (1 + np.exp(-2.1)), rel=1e-15)


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("reduction", ["sum", "mean", "max", "min"])
def test_reductions_over_axes(axis, keepdims, reduction, rng):
    x = rng.standard_normal((3, 4))
    function = lambda v: getattr(v, reduction)(axis=axis, keepdims=keepdims)  # noqa: E731
    assert gradcheck(function, x, **TIGHT)
    out = function(mg.Value(x))
    np.testing.assert_allclose(out.data, getattr(x, reduction)(axis=axis, keepdims=keepdims), rtol=1e-15)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [s for s in SHAPES if s] + [(2, 3, 4)])
def test_softmax_and_log_softmax_along_every_axis(name, shape, rng):
    x = rng.uniform(-2.0, 2.0, shape)
    weights = rng.standard_normal(shape)  # a weighted sum: the softmax alone sums to 1, its gradient to 0
    for axis in range(-len(shape), len(shape)):
        assert gradcheck(lambda v: getattr(v, name)(axis) * weights, x, **TIGHT)
        shifted = np.exp(x - x.max(axis=axis, keepdims=True))
        expected = shifted / shifted.sum(axis=axis, keepdims=True)
        got = getattr(mg.Value(x), name)(axis).data
        np.testing.assert_allclose(got, expected if name == "softmax" else np.log(expected), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("shape", [s for s in SHAPES if s])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_gradients_for_logits_labels_and_probabilities(shape, reduction, rng):
    logits = rng.uniform(-2.0, 2.0, shape)
    for axis in range(-len(shape), len(shape)):
        rows = shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]
        labels = rng.integers(0, shape[axis], rows)
        assert gradcheck(lambda v: mg.cross_entropy(v, labels, reduction, axis), logits, **TIGHT)
        scores = rng.uniform(-1.0, 1.0, shape)
        probabilities = np.exp(scores) / np.exp(scores).sum(axis=axis, keepdims=True)
        assert gradcheck(lambda v, p: mg.cross_entropy(v, p, reduction, axis), logits, probabilities, **TIGHT)


@pytest.mark.parametrize("shape", SHAPES)
def test_mse_gradients(shape, rng):
    desired, actual = sample(rng, shape), sample(rng, shape)
    assert gradcheck(lambda d, a: mg.mse(d, a), desired, actual, **TIGHT)
    loss = mg.mse(desired, mg.Value(actual))
    assert loss.item() == pytest.approx(np.mean((np.asarray(desired) - actual) ** 2), rel=1e-15)


@pytest.mark.parametrize("shape_a,shape_b", [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((1, 3), (3, 1)),
    ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (1, 3, 4)), ((5, 2, 3), (3,)),
])
def test_matmul_matrix_vector_and_batched(shape_a, shape_b, rng):
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    assert gradcheck(lambda x, y: x @ y, a, b, **TIGHT)
    assert gradcheck(lambda y: a @ y, b, **TIGHT)   # array on the left
    assert gradcheck(lambda x: x @ b, a, **TIGHT)   # array on the right
    np.testing.assert_allclose((mg.Value(a) @ mg.Value(b)).data, a @ b, rtol=1e-14)


def test_shape_ops(rng):
    x = rng.standard_normal((2, 3, 4))
    assert gradcheck(lambda v: v.reshape(6, 4) * np.arange(24.0).reshape(6, 4), x, **TIGHT)
    assert gradcheck(lambda v: v.reshape((-1,)) ** 2, x, **TIGHT)
    assert gradcheck(lambda v: v.transpose() * np.arange(24.0).reshape(4, 3, 2), x, **TIGHT)
    assert gradcheck(lambda v: v.transpose(1, 0, 2) * np.arange(24.0).reshape(3, 2, 4), x, **TIGHT)
    m = rng.standard_normal((3, 5))
    assert gradcheck(lambda v: v.T @ np.ones((3, 2)), m, **TIGHT)
    assert mg.Value(m).T.shape == (5, 3)


@pytest.mark.parametrize("index", [
    (1, 2), 0, -1, slice(1, 3), (slice(None), 1), (Ellipsis, 0), (None, 1), ([0, 2, 2], [1, 1, 3]),
    (np.array([2, 0, 2]),), (slice(None, None, -1), slice(0, 4, 2)),
])
def test_indexing_and_slicing(index, rng):
    x = rng.standard_normal((3, 4))
    assert gradcheck(lambda v: v[index] * 1.5, x, **TIGHT)
    np.testing.assert_array_equal(mg.Value(x)[index].data, x[index])


def test_repeated_fancy_index_sums_gradients():
    v = mg.Value([1.0, 2.0, 3.0])
    v[[0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(v.grad, [2.0, 0.0, 1.0])


def test_value_exponent_both_gradients(rng):
    base, exponent = rng.uniform(0.5, 2, (2, 3)), rng.uniform(-1, 2, (3,))
    assert gradcheck(lambda a, b: a ** b, base, exponent, **TIGHT)
    assert gradcheck(lambda b: 2.0 ** b, exponent, **TIGHT)


def test_stack_of_scalars_and_arrays(rng):
    assert gradcheck(lambda a, b, c: mg.stack([a, b, c]) ** 2, 0.3, -1.2, 2.0, **TIGHT)
    x, y = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    assert gradcheck(lambda a, b: mg.stack([a, b], axis=1) * np.arange(12.0).reshape(2, 2, 3), x, y, **TIGHT)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
def test_sse_op_value_and_gradient(shape, rng):
    desired, actual = sample(rng, shape), sample(rng, shape)
    loss = mg.sse(desired, mg.Value(actual))
    error = np.asarray(desired) - np.asarray(actual)
    assert loss.item() == pytest.approx(0.5 * np.sum(error ** 2), rel=1e-15)
    assert loss.shape == ()
    assert gradcheck(lambda d, a: mg.sse(d, a), desired, actual, **TIGHT)
    a = mg.Value(actual)
    mg.sse(desired, a).backward()
    np.testing.assert_allclose(a.grad, -error, rtol=1e-15)  # Eq. 6.17 x Eq. 6.21: -E


def test_sse_saves_minus_e_and_its_gradients_are_plus_and_minus_e_bit_for_bit(rng):
    # The SSE saves −E = actual − desired (one negation fewer in backward); E is what it shows.
    desired, actual = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    d, a = mg.Value(desired), mg.Value(actual)
    loss = mg.sse(d, a)
    error = desired - actual
    assert loss.saved.tobytes() == (actual - desired).tobytes()
    assert loss.op.annotations(loss)[0][0] == "E" and loss.op.annotations(loss)[0][1].tobytes() == error.tobytes()
    assert loss.data.tobytes() == np.asarray(0.5 * np.vdot(error, error)).tobytes()
    loss.backward()
    assert d.grad.tobytes() == error.tobytes() and a.grad.tobytes() == (-error).tobytes()
    tangent_d, tangent_a = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    _, tangent = mg.jvp(lambda x, y: mg.sse(x, y), (desired, actual), (tangent_d, tangent_a))
    assert float(tangent) == pytest.approx(float(np.sum(error * (tangent_d - tangent_a))), rel=1e-14)


def test_sse_of_scalar_lists_is_one_op():
    outputs = [mg.Value(0.25), mg.Value(0.75)]
    loss = mg.sse([1.0, 0.0], outputs)
    assert loss.op.name == "sse_scalars" and loss.parents[2:] == tuple(outputs)
    assert loss.item() == pytest.approx(0.5 * (0.75 ** 2 + 0.75 ** 2), rel=1e-15)
    loss.backward()
    assert outputs[0].grad == pytest.approx(-0.75) and outputs[1].grad == pytest.approx(0.75)


def test_float32_stays_float32_end_to_end(rng):
    x = mg.Value(rng.standard_normal((4, 3)).astype(np.float32))
    w = mg.Value(rng.standard_normal((3, 2)).astype(np.float32))
    b = mg.Value(np.zeros(2, dtype=np.float32))
    out = ((x @ w + b).sigmoid(2.0) * 2.0 - 1.0).tanh().exp().log()
    loss = mg.sse(np.ones((4, 2), dtype=np.float32), out) + out.mean() + (out ** 2).sum(axis=0).sum()
    assert out.dtype == np.float32 and loss.dtype == np.float32
    loss.backward()
    for leaf in (x, w, b):
        assert leaf.grad.dtype == np.float32 and leaf.grad.shape == leaf.shape


def test_every_op_has_name_formula_and_partials():
    names = {op.name for op in OPS}
    assert {"add", "sub", "mul", "div", "neg", "pow", "exp", "log", "tanh", "relu", "sigmoid", "sum", "mean",
            "reshape", "transpose", "getitem", "matmul", "sse", "stack", "abs", "sqrt", "maximum", "minimum", "max",
            "min", "clip", "softmax", "log_softmax", "cross_entropy", "mse"} <= names
    assert len(names) == len(OPS)  # names are unique: errors, drawings and exporters go by them
    for op in OPS:
        assert op.formula and op.partials and op.__doc__, op
    assert "6.2" in mg.ops.SIGMOID.__doc__ and "6.5" in mg.ops.SSE.__doc__


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 3, 3)])
@pytest.mark.parametrize("axes", [(1, 2, 0), (2, 0, 1), (0, 2, 1), (-1, 0, 1), (1, -1, -3)])
def test_transpose_of_three_axes(shape, axes, rng):
    # (3, 3, 3) matters: there a backward that applied the permutation instead
    # of its inverse would give the right shape and silently wrong numbers.
    x = rng.standard_normal(shape)
    weights = rng.standard_normal(np.transpose(x, axes).shape)
    assert gradcheck(lambda v: v.transpose(*axes) * weights, x, **TIGHT)
    np.testing.assert_array_equal(mg.Value(x).transpose(axes).data, np.transpose(x, axes))
