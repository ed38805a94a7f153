"""The ops beside the chapter's: abs, sqrt, maximum, minimum, max, min, clip,
softmax, log_softmax, cross_entropy and mse.

Gradients over shapes are in tests/test_ops.py and random graphs in
tests/test_oracle.py and tests/test_compile.py; here: each op's conventions
where the derivative is not defined (ties, kinks, bounds) against HIPS
autograd's, the numbers at extremes (±1e4 logits, sqrt at 0), the chain rule
each op shows (`explain`, drawing labels, compiled comments), bad input, and
``train(loss=...)``.
"""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad as autograd_grad

import minigrad as mg
from minigrad.core import ops
from minigrad.nn.datasets import xor
from minigrad.nn import MLP, ScalarMLP
from minigrad.optim import SGD
from minigrad.nn.training import LOSSES, accuracy, total_loss, total_sse

ROOT = Path(__file__).resolve().parents[2]
TIGHT = dict(rtol=1e-7, atol=1e-9)
NEW_OPS = ("abs", "sqrt", "maximum", "minimum", "max", "min", "clip", "softmax", "log_softmax", "cross_entropy", "mse")


def grad_of(function, *arrays, position=0):
    """minigrad's gradient of sum(function(*Values)) with respect to input ``position``."""
    values = [mg.Value(np.asarray(array, dtype=np.float64)) for array in arrays]
    function(*values).sum().backward()
    return values[position].grad


def oracle(function, *arrays, position=0):
    """HIPS autograd's gradient of sum(function(*arrays)), the independent reference."""
    arrays = [np.asarray(array, dtype=np.float64) for array in arrays]

    def total(x):
        return anp.sum(function(*arrays[:position], x, *arrays[position + 1:]))

    return autograd_grad(total)(arrays[position])


# ---------------------------------------------------------------------------
# The op table: every new op is one op, with its formula and partials
# ---------------------------------------------------------------------------


def test_each_new_op_is_one_op_of_the_table_with_formula_partials_and_rules():
    table = {op.name: op for op in ops.OPS}
    for name in NEW_OPS:
        op = table[name]
        assert op.formula and op.partials and op.__doc__, name
        assert all(op.equation(k) is None for k in range(len(op.partials))), name  # the chapter has none
        assert type(op).forward is not ops.Op.forward and type(op).backward is not ops.Op.backward, name
    x = mg.Value([[0.5, -1.5, 2.0], [1.0, 0.25, -0.75]])
    made = {"abs": x.abs(), "sqrt": x.abs().sqrt(), "maximum": mg.maximum(x, 0.3), "minimum": mg.minimum(x, 0.3),
            "max": x.max(axis=1), "min": x.min(), "clip": x.clip(-1, 1), "softmax": x.softmax(),
            "log_softmax": x.log_softmax(axis=0), "cross_entropy": mg.cross_entropy(x, [2, 0]),
            "mse": mg.mse(np.zeros((2, 3)), x)}
    for name, node in made.items():
        assert node.op is table[name] and (node.parents[0 if name != "mse" else 1] is x or name == "sqrt"), name
    assert abs(x).op is ops.ABS


def test_the_tie_rules_are_in_the_docstrings():
    for method in (mg.Value.max, mg.Value.min, mg.maximum, mg.minimum):
        assert "equally" in method.__doc__, method
    for op in (ops.MAX, ops.MIN, ops.MAXIMUM, ops.MINIMUM):
        assert "equally" in op.__doc__
    assert "at a = 0" in ops.ABS.__doc__ and "inf" in ops.SQRT.__doc__
    assert "exactly the gradient is 0" in ops.CLIP.__doc__


# ---------------------------------------------------------------------------
# Conventions where the derivative is not defined, against HIPS autograd
# ---------------------------------------------------------------------------


def test_max_and_min_ties_share_the_gradient_equally_as_autograd_does():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(grad_of(lambda v: v.max(), x), [[0, 0.5, 0.5], [0, 0, 0]])
    np.testing.assert_array_equal(grad_of(lambda v: v.max(axis=1), x), [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    np.testing.assert_array_equal(grad_of(lambda v: v.min(axis=0), x), [[1, 0, 0], [0, 1, 1]])
    np.testing.assert_array_equal(grad_of(lambda v: v.min(axis=1, keepdims=True), x), [[1, 0, 0], [1 / 3] * 3])
    for axis in (None, 0, 1, -1, (0, 1)):
        for keepdims in (False, True):
            for name in ("max", "min"):
                got = grad_of(lambda v: getattr(v, name)(axis=axis, keepdims=keepdims) * 1.5, x)
                want = oracle(lambda a: getattr(anp, name)(a, axis=axis, keepdims=keepdims) * 1.5, x)
                np.testing.assert_allclose(got, want, rtol=1e-15, err_msg=f"{name} axis={axis}")
    assert grad_of(lambda v: v.max(), 2.0) == 1.0  # a scalar is its own max


def test_maximum_and_minimum_ties_hand_half_to_each_side_as_autograd_does():
    a, b = np.array([0.0, -1.0, 2.0, 1.5]), np.array([0.0, 0.0, 0.0, 1.5])
    for name in ("maximum", "minimum"):
        for position in (0, 1):
            got = grad_of(getattr(mg, name), a, b, position=position)
            want = oracle(getattr(anp, name), a, b, position=position)
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(grad_of(mg.maximum, a, b), [0.5, 0.0, 1.0, 0.5])
    # maximum(x, 0) and relu differ only at the tie: ½ there, where relu hands 0
    np.testing.assert_array_equal(grad_of(lambda v: mg.maximum(v, 0.0), a), [0.5, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(grad_of(lambda v: v.relu(), a), [0.0, 0.0, 1.0, 1.0])
    # scalars, and broadcasting: the shared gradient is summed back to each input's shape
    assert grad_of(mg.maximum, 1.0, 1.0) == 0.5 and grad_of(mg.minimum, 1.0, 2.0) == 1.0
    assert np.shape(grad_of(mg.maximum, [[1.0], [2.0]], [1.0, 2.0, 3.0], position=1)) == (3,)


def test_abs_at_zero_has_gradient_zero_as_autograd_does():
    x = np.array([0.0, -0.0, -2.0, 3.0])
    np.testing.assert_array_equal(grad_of(lambda v: v.abs(), x), [0.0, 0.0, -1.0, 1.0])
    np.testing.assert_array_equal(grad_of(lambda v: v.abs(), x), oracle(anp.abs, x))
    v = mg.Value(0.0)
    abs(v).backward()
    assert v.grad == 0.0


def test_clip_hands_one_strictly_inside_and_zero_at_the_bounds_as_autograd_does():
    x = np.array([-2.0, -1.0, -0.5, 0.0, 1.0, 1.5])
    got = grad_of(lambda v: v.clip(-1.0, 1.0), x)
    np.testing.assert_array_equal(got, [0, 0, 1, 1, 0, 0])
    np.testing.assert_array_equal(got, oracle(lambda a: anp.clip(a, -1.0, 1.0), x))
    np.testing.assert_array_equal(grad_of(lambda v: v.clip(lo=0.0), x), [0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(grad_of(lambda v: v.clip(hi=0.0), x), [1, 1, 1, 0, 0, 0])
    np.testing.assert_array_equal(grad_of(lambda v: v.clip(0.5, 0.5), x), np.zeros(6))  # lo = hi: constant
    np.testing.assert_array_equal(mg.Value(x).clip(-1, 1).data, np.clip(x, -1, 1))
    assert mg.Value(7.0).clip(-1, 1).data == 1.0 and mg.Value(-7.0).clip(-1, 1).data == -1.0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_sqrt_at_zero_has_an_infinite_gradient_as_numpy_and_detect_anomaly_catches_it():
    x = mg.Value(np.array([0.0, 4.0]))
    x.sqrt().sum().backward()
    np.testing.assert_array_equal(x.grad, [np.inf, 0.25])
    np.testing.assert_array_equal(x.grad, oracle(anp.sqrt, [0.0, 4.0]))
    s = mg.Value(0.0)
    s.sqrt().backward()
    assert s.grad == np.inf
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match=r"backward gradient for input 0 contains inf: "
                                                                     r"op 'sqrt'"):
        mg.Value(np.array([0.0, 1.0])).sqrt().sum().backward()
    assert np.isnan(mg.Value(-1.0).sqrt().data) and np.isnan(mg.Value(np.array([-1.0])).sqrt().data[0])


# ---------------------------------------------------------------------------
# softmax, log_softmax, cross_entropy: stable and right
# ---------------------------------------------------------------------------


def test_softmax_and_log_softmax_do_not_overflow_at_large_logits():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4 - 1.0, -1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = mg.Value(x).softmax()
        log_p = mg.Value(x).log_softmax()
    np.testing.assert_allclose(p.data.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_array_equal(p.data[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(p.data[1], [1 / 3] * 3, rtol=1e-15)
    np.testing.assert_allclose(log_p.data[0], [0.0, -2e4, -1e4], rtol=1e-15)
    np.testing.assert_allclose(log_p.data[2, :2], [-np.log1p(np.exp(-1.0)), -1.0 - np.log1p(np.exp(-1.0))],
                               rtol=1e-14)
    assert np.all(np.isfinite(log_p.data))


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_cross_entropy_at_logits_of_plus_minus_1e4_is_finite_and_exact(scale):
    logits = mg.Value(np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, -1.0]]) * scale)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = mg.cross_entropy(logits, [2, 1])
        loss.backward()
    x = logits.data
    shifted = x - x.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    assert loss.item() == pytest.approx(-(log_p[0, 2] + log_p[1, 1]) / 2, rel=1e-15)
    if scale == 1e4:
        assert loss.item() == pytest.approx(1e4 / 2, rel=1e-15)  # row 0 misses by 1e4, row 1 is right
    target = np.array([[0, 0, 1.0], [0, 1.0, 0]])
    np.testing.assert_allclose(logits.grad, (np.exp(log_p) - target) / 2, rtol=1e-15, atol=1e-300)
    assert np.all(np.isfinite(logits.grad))


def test_cross_entropy_gradient_is_softmax_minus_targets_over_n():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3))
    labels = np.array([0, 2, 1, 2])
    one_hot = np.eye(3)[labels]
    p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    for reduction, n in (("mean", 4), ("sum", 1)):
        for targets in (labels, one_hot, labels.tolist()):
            v = mg.Value(x)
            loss = mg.cross_entropy(v, targets, reduction=reduction)
            loss.backward()
            assert loss.item() == pytest.approx(-np.sum(one_hot * np.log(p)) / n, rel=1e-14)
            np.testing.assert_allclose(v.grad, (p - one_hot) / n, rtol=1e-13, atol=1e-16)
    # against autograd, with probabilities that need a gradient themselves
    q = np.exp(rng.standard_normal((4, 3)))
    q /= q.sum(axis=1, keepdims=True)

    def reference(logits, targets):
        log_p = logits - np.log(1.0) - anp.log(anp.sum(anp.exp(logits), axis=1, keepdims=True))
        return -anp.sum(targets * log_p) / 4

    for position in (0, 1):
        got = grad_of(lambda a, b: mg.cross_entropy(a, b), x, q, position=position)
        np.testing.assert_allclose(got, oracle(reference, x, q, position=position), rtol=1e-13, atol=1e-16)


def test_cross_entropy_for_one_pattern_another_axis_and_float32():
    logits = mg.Value([2.0, 0.5, -1.0])
    loss = mg.cross_entropy(logits, 0)
    assert loss.shape == () and loss.item() == pytest.approx(-np.log(np.exp(2.0) / np.exp([2.0, 0.5, -1.0]).sum()))
    columns = mg.Value(np.array([[2.0, 0.0], [0.5, 1.0], [-1.0, 3.0]]))  # classes along axis 0
    by_axis = mg.cross_entropy(columns, [0, 2], axis=0)
    by_rows = mg.cross_entropy(mg.Value(columns.data.T), [0, 2])
    assert by_axis.item() == pytest.approx(by_rows.item(), rel=1e-15)
    single = mg.Value(np.array([[0.3, 0.7]], dtype=np.float32))
    loss32 = mg.cross_entropy(single, np.array([1]))
    loss32.backward()
    assert loss32.dtype == np.float32 and single.grad.dtype == np.float32


def test_cross_entropy_takes_minus_inf_logits_for_classes_with_target_zero():
    logits = mg.Value([0.0, -np.inf, 1.0])
    loss = mg.cross_entropy(logits, 2)
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(logits.grad)) and logits.grad[1] == 0.0


def test_mse_value_and_gradient_are_the_mean_of_squared_errors():
    desired, actual = np.array([[1.0, 0.0], [0.5, 2.0]]), mg.Value([[0.5, 0.5], [0.5, 1.0]])
    loss = mg.mse(desired, actual)
    loss.backward()
    error = desired - actual.data
    assert loss.item() == pytest.approx(np.mean(error ** 2), rel=1e-15)
    np.testing.assert_allclose(actual.grad, -2 * error / 4, rtol=1e-15)
    a = mg.Value(0.25)
    mg.mse(1.0, a).backward()
    assert a.grad == pytest.approx(-1.5)  # one element: −2E
    assert LOSSES["mse"] is mg.mse and LOSSES["sse"] is mg.sse


# ---------------------------------------------------------------------------
# The chain rule each op shows: explain, drawings, compiled code
# ---------------------------------------------------------------------------


def graphs():
    """One small graph per new op: (loss, weight, the op's node)."""
    w = mg.Value(np.array([[0.3, -1.2, 0.8], [1.5, 0.1, -0.4]]), name="w")
    nodes = {"abs": w.abs(), "sqrt": (w * w + 1.0).sqrt(), "maximum": mg.maximum(w, 0.2),
             "minimum": mg.minimum(0.2, w), "max": w.max(axis=1), "min": w.min(), "clip": w.clip(-1.0, 1.0),
             "softmax": w.softmax(), "log_softmax": w.log_softmax(axis=0),
             "cross_entropy": mg.cross_entropy(w, [2, 0]), "mse": mg.mse(np.ones((2, 3)), w)}
    weights = np.arange(1.0, 7.0).reshape(2, 3)
    for name, node in nodes.items():
        loss = node.sum() if node.shape == () else (node * weights[:, :node.shape[-1]].reshape(
            node.shape) if node.ndim == 2 else node * np.array([1.0, 2.0])).sum()
        yield name, loss, w, node


@pytest.mark.parametrize("name", NEW_OPS)
def test_explain_shows_each_new_ops_partial_and_agrees_with_grad(name):
    loss, w, node = next((loss, w, node) for op_name, loss, w, node in graphs() if op_name == name)
    for index in [(0, 0), (1, 2)]:
        w.grad = None
        result = mg.explain(loss, w, index)
        factors = [factor for chain in result.factors for factor in chain if factor.op is node.op]
        assert factors, f"{name}: no factor from the op on any path"
        position = node.parents.index(w) if w in node.parents else 0
        assert all(factor.partial == node.op.partial(position, node) for factor in factors)
        assert result.agrees(1e-12), str(result)
    text = str(result)
    assert any(factor.formula in text for factor in factors) and name in {f.op_name for f in factors}


def test_explain_factors_fill_the_partials_with_the_graph_names():
    w = mg.Value(np.array([0.3, -1.2]), name="w")
    result = mg.explain(w.clip(-1.0, 1.0).sum(), w, 0)
    assert [f.formula for f in result.factors[0] if f.op is ops.CLIP] == ["[−1 < w[0] < 1]"]
    result = mg.explain(mg.maximum(w, 0.2).sum(), w, 0)
    assert [f.formula for f in result.factors[0] if f.op is ops.MAXIMUM] == ["[w[0] > 0.2] (½ at a tie)"]


def test_drawing_labels_name_each_new_op_and_its_options():
    labels = {"abs": "abs", "sqrt": "sqrt", "maximum": "maximum", "minimum": "minimum", "max": "max axis=1",
              "min": "min", "clip": "clip [−1, 1]", "softmax": "softmax axis=-1", "log_softmax": "log_softmax axis=0",
              "cross_entropy": "cross-entropy (mean)", "mse": "mse"}
    for name, loss, w, node in graphs():
        loss.backward()
        dot = mg.to_dot(loss)
        assert node.op.label(node) == labels[name] and f"[label=<{labels[name]}" in dot, name
    assert mg.Value(1.0).clip(hi=2.0).op.label(mg.Value(1.0).clip(hi=2.0)) == "clip [−∞, 2]"
    assert ops.CROSS_ENTROPY.argument_labels(mg.cross_entropy([[1.0, 2.0]], [0])) == ["logits", "targets"]


@pytest.mark.parametrize("name", NEW_OPS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_each_new_op_compiled_gives_eagers_loss_and_gradients_bit_for_bit(name, dtype):
    def function(w):
        return next(loss for op_name, loss, _, _ in graphs_of(w) if op_name == name)

    start = np.array([[0.3, -1.2, 0.8], [1.5, 0.1, -0.4]], dtype=dtype)
    eager, compiled = mg.Value(start.copy()), mg.Value(start.copy())
    step = mg.compile(function)
    for call in range(3):
        if call:
            eager.data = compiled.data = (start * (1 + 0.25 * call)).astype(dtype)
            eager.grad = compiled.grad = None
        want = function(eager)
        want.backward()
        got = step(compiled)
        assert got.data.dtype == want.data.dtype and np.array_equal(got.data, want.data)
        assert compiled.grad.dtype == dtype and np.array_equal(compiled.grad, eager.grad), name
    assert name.replace("_", "") in step.source.replace("_", "") or name in ("max", "min", "clip")


def graphs_of(w):
    """`graphs` on a given weight (for compiled steps, whose argument it is)."""
    weights = np.arange(1.0, 7.0).reshape(2, 3)
    nodes = {"abs": w.abs(), "sqrt": (w * w + 1.0).sqrt(), "maximum": mg.maximum(w, 0.2),
             "minimum": mg.minimum(0.2, w), "max": w.max(axis=1), "min": w.min(), "clip": w.clip(-1.0, 1.0),
             "softmax": w.softmax(), "log_softmax": w.log_softmax(axis=0),
             "cross_entropy": mg.cross_entropy(w, [2, 0]), "mse": mg.mse(np.ones((2, 3)), w)}
    for name, node in nodes.items():
        if node.shape == ():
            yield name, node * 1.0, w, node
        elif node.ndim == 2:
            yield name, (node * weights).sum(), w, node
        else:
            yield name, (node * np.array([1.0, 2.0])).sum(), w, node


def test_compiled_scalar_floats_take_the_scalar_path():
    def function(x, y):
        return mg.maximum(x, y) + mg.minimum(x, 0.5) + abs(x) + (x * x + 1.0).sqrt() + x.clip(-1.0, 0.1) + x.max() \
            + mg.mse(0.25, y)

    # NOTE: no argument equal to a literal of the function (1.0): Python shares equal float constants of a
    # module, and compile then takes the literal for the argument's own numbers (a separate, known issue).
    for x, y in [(0.3, -0.2), (-2.0, 1.25), (0.4, 0.4)]:
        eager = [mg.Value(x), mg.Value(y)]
        want = function(*eager)
        want.backward()
        compiled = [mg.Value(x), mg.Value(y)]
        got = mg.compile(function)(*compiled)
        assert type(got.data) is float and got.data == want.data
        for a, b in zip(compiled, eager):
            assert type(a.grad) is float and a.grad == b.grad


def test_the_generated_code_says_what_each_new_op_computes():
    def function(w):
        return mg.cross_entropy(w, [2, 0]) + w.softmax().max() + w.clip(-1, 1).abs().sum()

    source = mg.compile(function).trace(mg.Value(np.ones((2, 3)), name="w")).source
    for text in ["log_softmax(w, axis=1)", "cross_entropy_loss(log_softmax_", "softmax(w, axis=-1)",
                 "(clip [−1, 1])", "np.absolute(", "cross_entropy_backward(", "reduced_share(",
                 "softmax_backward(", "clip_inside("]:
        assert text in source, text


# ---------------------------------------------------------------------------
# Bad input: clear errors naming the op, the shapes and the values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.cross_entropy(np.zeros((2, 3)), [0, 3]), ValueError,
     r"cross_entropy: label 3 \(labels\[1\]\) is out of range for 3 classes; labels must be in \[0, 3\)"),
    (lambda: mg.cross_entropy(np.zeros((2, 3)), np.array([-1, 0])), ValueError, r"label -1 \(labels\[0\]\)"),
    (lambda: mg.cross_entropy(np.zeros((2, 3)), [0, 1, 2]), ValueError,
     r"logits have shape \(2, 3\), so integer labels need shape \(2,\) .* but the labels have shape \(3,\)"),
    (lambda: mg.cross_entropy(np.zeros((2, 3)), np.array([0.0, 2.0])), ValueError,
     r"targets of shape \(2,\) look like class labels.*they hold floats.*targets.astype\(int\)"),
    (lambda: mg.cross_entropy(np.zeros((2, 3)), [[0.5, 0.6, -0.1], [1.0, 0, 0]]), ValueError,
     r"targets\[0, 2\] is -0.1, a negative probability"),
    (lambda: mg.cross_entropy(np.zeros((2, 3)), [[0.5, 0.6, 0.1], [1.0, 0, 0]]), ValueError,
     r"row \[0\] of the targets sums to 1.2, not 1"),
    (lambda: mg.cross_entropy(np.zeros((2, 3)), [[np.nan, 1, 0], [1.0, 0, 0]]), ValueError,
     r"targets\[0, 0\] is nan; targets must be finite"),
    (lambda: mg.cross_entropy(np.zeros((2, 3)), np.ones((3, 2)) / 2), ValueError,
     r"logits have shape \(2, 3\) but targets have shape \(3, 2\)"),
    (lambda: mg.cross_entropy(np.zeros((2, 3)), [0, 1], reduction="none"), ValueError,
     r"reduction must be 'mean' or 'sum', got 'none'"),
    (lambda: mg.cross_entropy(np.zeros((2, 3)), [0, 1], axis=2), ValueError,
     r"cross_entropy: axis 2 is out of range for a Value with 2 dimensions"),
    (lambda: mg.cross_entropy(np.zeros((2, 3)), [0, 1], axis=(0, 1)), TypeError, r"axis must be an int"),
    (lambda: mg.cross_entropy(1.5, 0), ValueError, r"logits are a scalar; they need an axis of classes"),
    (lambda: mg.cross_entropy(np.zeros((2, 3)), np.array([True, False])), TypeError, r"boolean array"),
    (lambda: mg.Value(np.zeros(3)).softmax(axis=1), ValueError,
     r"softmax: axis 1 is out of range for a Value with 1 dimensions"),
    (lambda: mg.Value(2.0).log_softmax(), ValueError, r"log_softmax: axis -1 is out of range for a scalar Value"),
    (lambda: mg.Value(np.zeros((2, 2))).softmax(axis=1.0), TypeError, r"softmax: axis must be an int, got 1.0"),
    (lambda: mg.Value(np.zeros(3)).max(axis=1), ValueError, r"max: axis 1 is out of range"),
    (lambda: mg.Value(np.zeros(3)).min(axis="0"), TypeError, r"min: axis must be None, an int or a tuple"),
    (lambda: mg.Value(np.zeros((0, 3))).max(axis=0), ValueError,
     r"max: a Value of shape \(0, 3\) has no elements along axis 0 to take the max of"),
    (lambda: mg.Value(np.zeros(3)).clip(2.0, 1.0), ValueError, r"clip: lo \(2\) is greater than hi \(1\)"),
    (lambda: mg.Value(np.zeros(3)).clip(), ValueError, r"clip: give lo, hi or both"),
    (lambda: mg.Value(np.zeros(3)).clip(np.nan, 1.0), ValueError, r"clip: lo is nan"),
    (lambda: mg.Value(np.zeros(3)).clip(mg.Value(0.0), 1.0), TypeError, r"clip: lo must be a plain number"),
    (lambda: mg.Value(np.zeros(3)).clip(0.0, True), TypeError, r"clip: hi must be a plain number or None, got bool"),
    (lambda: mg.maximum(mg.Value(np.zeros(3)), np.zeros(2)), ValueError,
     r"maximum: shapes \(3,\) and \(2,\) cannot be broadcast together"),
    (lambda: mg.mse(np.zeros(3), mg.Value(np.zeros((1, 3)))), ValueError,
     r"mse: desired has shape \(3,\) but actual has shape \(1, 3\); they must match exactly"),
    (lambda: mg.mse([mg.Value(1.0)], [2.0]), TypeError, r"list of Values; combine them with minigrad.stack"),
])
def test_bad_input_is_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------------------
# train(loss=...)
# ---------------------------------------------------------------------------


def test_train_rejects_an_unknown_loss():
    model = MLP([2, 2, 2], seed=0)
    for bad in ("cross-entropy", "SSE", None, 1):
        with pytest.raises(ValueError, match=r"train: loss must be one of 'sse', 'mse', 'cross_entropy', got"):
            mg.train(model, xor().inputs, xor().targets, loss=bad)


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
@pytest.mark.parametrize("mode", ["online", "batch"])
def test_train_with_another_loss_records_that_loss_and_learns_xor(loss, mode):
    data = xor()
    model = MLP([2, 4, 2], seed=1, output="linear" if loss == "cross_entropy" else None)
    options = dict(max_iterations=4000) if mode == "online" else dict(epochs=1500, batch_size=4)
    result = mg.train(model, data.inputs, data.targets, mode=mode, loss=loss, lr=2.0 if loss == "mse" else 0.5,
                      threshold=0.01, seed=0, quiet=True, **options)
    assert result.loss == loss and result.converged
    assert result.final_loss == result.history[-1] == pytest.approx(total_loss(model, data.inputs, data.targets, loss))
    assert result.history[-1] < 0.01 <= result.history[0]
    assert accuracy(model, data.inputs, data.labels) == 1.0
    name = "MSE" if loss == "mse" else "cross-entropy"
    assert f"final {name} " in str(result) and f"converged ({name} < 0.01)" in str(result)
    if loss == "mse":
        assert result.final_sse == pytest.approx(total_sse(model, data.inputs, data.targets))
    else:
        assert np.isnan(result.final_sse)  # the outputs are logits: their SSE means nothing


def test_train_losses_match_the_ops_over_all_patterns():
    data = xor()
    model = MLP([2, 3, 2], seed=2, output="linear")
    outputs = model(data.inputs).data
    assert total_loss(model, data.inputs, data.targets, "mse") == pytest.approx(
        np.mean((data.targets - outputs) ** 2), rel=1e-15)
    log_p = outputs - np.log(np.exp(outputs).sum(axis=1, keepdims=True))
    assert total_loss(model, data.inputs, data.targets, "cross_entropy") == pytest.approx(
        -np.sum(data.targets * log_p) / 4, rel=1e-14)
    assert total_loss(model, data.inputs, data.targets) == total_sse(model, data.inputs, data.targets)


@pytest.mark.parametrize("loss", ["sse", "mse", "cross_entropy"])
@pytest.mark.parametrize("scalar", [False, True], ids=["tensor", "scalar"])
def test_train_with_compile_gives_eagers_weights_for_every_loss(loss, scalar):
    data = xor()
    weights = []
    for compile in (False, True):
        model = MLP([2, 3, 2], seed=3, output="linear" if loss == "cross_entropy" else None)
        if scalar:
            if loss == "cross_entropy":
                model = MLP([2, 3, 2], seed=3)  # ScalarMLP is the chapter's sigmoid net
            model = ScalarMLP.from_mlp(model)
        result = mg.train(model, data.inputs, data.targets, mode="batch", epochs=5, batch_size=2, loss=loss,
                          threshold=None, seed=0, quiet=True, compile=compile, optimizer=SGD(model, lr=0.5))
        weights.append((result.history, model.state_dict()))
    (eager_history, eager_state), (history, state) = weights
    assert history == eager_history
    for name in eager_state:
        assert np.array_equal(state[name], eager_state[name]), name


def test_train_refuses_targets_that_cross_entropy_cannot_take_before_training():
    model = MLP([2, 2, 2], seed=0, output="linear")
    with pytest.raises(ValueError, match=r"cross_entropy: row \[0\] of the targets sums to 0, not 1"):
        mg.train(model, xor().inputs, np.zeros((4, 2)), loss="cross_entropy")


def test_digits_example_compares_both_variants(tmp_path):
    pytest.importorskip("sklearn")
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    completed = subprocess.run([sys.executable, str(ROOT / "examples" / "digits.py"), str(tmp_path), "--fast",
                                "--compare"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    summary = json.loads((tmp_path / "digits_summary.json").read_text())
    assert summary["loss"] == "sse" and set(summary["compare"]) == {"sse", "cross_entropy"}
    for loss, numbers in summary["compare"].items():
        assert numbers["epochs"] == 10 and numbers["test_accuracy"] >= 0.9, loss
    line = next(line for line in completed.stdout.splitlines() if line.startswith("held-out accuracy, same seed"))
    for loss, title in (("sse", "sigmoid / SSE"), ("cross_entropy", "softmax / cross-entropy")):
        assert f"{title} {summary['compare'][loss]['test_accuracy']:.1%}" in line
