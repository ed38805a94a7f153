"""The numerics helpers on Values: what makes a gradient differentiable again.

``backward(create_graph=True)`` (and `minigrad.grad`) run each op's own
backward rule with Values in place of arrays: the incoming gradient, the
inputs, the output, and what forward saved (computed again from the input
Values, `Op.forward_options`).  numpy's operators and ufuncs on Values are
already ops; a rule's call of a `minigrad.core.numerics` helper reaches
`HELPERS` through the helper protocol (`Value.__minigrad_helper__`), and each
entry here writes the helper with Value ops, so the gradient it returns
records a graph:

* smooth helpers become the ops they compute (``numerics.exp`` → ``Value.exp``,
  ``softmax_backward`` → its formula in Value ops);
* helpers that give a mask or a share (``sign``, ``tie_share``,
  ``reduced_share``, ``clip_inside``, ``where_positive``'s x > 0) are
  constants: their derivative is 0 wherever it exists;
* the stable sigmoid's parts are e = exp(−|αx|) and r = 1/(1 + e) as Value
  ops, so the second derivative keeps the first's care in saturation:
  d(e·r²)/dz = sign(z)·e·r²·(2e·r − 1) = F(1 − F)(1 − 2F), with no 1 − F
  by subtraction;
* GetItem's scatter-add is an op of its own (`SCATTER`), whose backward is
  indexing again.

A helper with no entry here is an error naming it (and, from
`minigrad.core.backward`, the op whose rule called it): never a silently
wrong second derivative.
"""

from __future__ import annotations

import numpy as np

from . import namespace
from . import numerics
from .ops import Op

__all__ = ["HELPERS", "call", "rule_on_values", "unbroadcast_value", "SCATTER", "HelperError"]


def _value():
    from . import value

    return value


def _data(x):
    return x._data if type(x) is _value().Value else x


def _constant(data):
    """Numbers that do not move (a mask, a share): a Value that needs no gradient."""
    return _value().leaf(data if type(data) is float or namespace.is_foreign(data) else np.asarray(data))


def _as_value(x):
    value = _value()
    return x if type(x) is value.Value else _constant(x)


def _mask(condition, like):
    """The booleans ``condition`` as numbers of ``like``'s dtype (1 and 0), in like's library."""
    if namespace.is_foreign(condition):
        return namespace.of(condition).astype(condition, like.dtype)
    return np.asarray(condition, dtype=np.result_type(like))


# -- the smooth helpers: the ops they compute -----------------------------------------


def _sigmoid_parts(x, alpha, out=None):  # `out`: buffers for generated code, not for Values
    z = x * alpha if alpha != 1.0 else x
    e = (-abs(z)).exp()
    r = 1.0 / (1.0 + e)
    return x.sigmoid(alpha), e, r


def _power(base, exponent):
    return _as_value(base) ** exponent


def _power_slope(base, exponent):
    """b·aᵇ⁻¹, 0 where b = 0 (as numerics.power_slope).

    # NOTE: with b a Value the slope still moves with b where b = 0 (∂(b·aᵇ⁻¹)/∂b = 1/a there), so the
    # guard replaces only the elements where aᵇ⁻¹ is not finite (a = 0 or inf), as numerics.power_slope does.
    """
    if type(exponent) is float:
        if exponent == 0.0:
            return _constant(numerics.power_slope(_data(base), 0.0))
        return exponent * _as_value(base) ** (exponent - 1.0)
    b = _data(exponent)
    with np.errstate(all="ignore"):  # the guard's mask, found in numpy (moved where b lives)
        b_numbers = namespace.to_numpy(b)
        bad = np.asarray((b_numbers == 0) & ~np.isfinite(np.power(namespace.to_numpy(_data(base)), b_numbers - 1.0)))
    if not bad.any():
        return exponent * _as_value(base) ** (exponent - 1.0)
    keep = _constant(namespace.move_like(np.asarray(~bad, dtype=np.result_type(b_numbers)), b))
    safe = (exponent - 1.0) * keep + (1.0 - keep)  # the harmless power 1 where b = 0
    return exponent * _as_value(base) ** safe * keep


def _one_where_zero(x):
    zero = _data(x) == 0
    return x + _constant(_mask(zero, _data(x))) if bool(numerics.namespace(zero).any(zero)) else x


def _expand_reduced(grad, like, axis, keepdims):
    shape = numerics.shape(_data(like))
    if shape == ():
        return grad
    grad = _as_value(grad)
    if axis is not None and not keepdims:
        axes = axis if isinstance(axis, tuple) else (axis,)
        kept = list(grad.shape)
        for position in sorted(a % len(shape) for a in axes):
            kept.insert(position, 1)
        grad = grad.reshape(tuple(kept))
    elif axis is None and not keepdims:
        grad = grad.reshape((1,) * len(shape))
    if grad.shape == shape:
        return grad
    data = _data(like)
    ones = namespace.of(data).ones(shape, dtype=data.dtype, device=namespace.device(data)) if \
        namespace.is_foreign(data) else np.ones(shape, dtype=np.result_type(data))
    return grad * _constant(ones)  # broadcast: ∂ is a sum


def _scatter(grad, like, index):
    value = _value()
    data = _data(like)
    return value.apply(SCATTER, _as_value(grad), index=index, shape=numerics.shape(data),
                       dtype=data.dtype if namespace.is_foreign(data) else np.result_type(data))


def _matmul(a, b):
    return _as_value(a) @ b


def _softmax_backward(grad, out, axis):
    return out * (grad - (grad * out).sum(axis=axis, keepdims=True))


def _log_softmax_backward(grad, out, axis):
    return grad - out.exp() * _as_value(grad).sum(axis=axis, keepdims=True)


def _cross_entropy_loss(log_p, targets, count):
    return -(log_p * targets).sum() / count


def _cross_entropy_backward(grad, log_p, targets, axis, count):
    return grad * (log_p.exp() * _as_value(targets).sum(axis=axis, keepdims=True) - targets) / count


def _mean_square(error):
    return (error * error).mean()


def _half_squared_norm(error):
    return 0.5 * (error * error).sum()


def _half_sum_of_squares(*errors):
    total = None
    for error in errors:
        total = error * error if total is None else total + error * error
    return 0.5 * total


def _total(a, axis, keepdims):
    return a.sum(axis=axis, keepdims=keepdims)


def _mean(a, axis, keepdims):
    return a.mean(axis=axis, keepdims=keepdims)


def _extremum(a, axis, keepdims, larger=True):
    return a.max(axis=axis, keepdims=keepdims) if larger else a.min(axis=axis, keepdims=keepdims)


def _maximum(a, b):
    return _value().maximum(a, b)


def _minimum(a, b):
    return _value().minimum(a, b)


# -- masks and shares: constants ----------------------------------------------------------


def _where_positive(x, grad):
    return grad * _constant(_mask(_data(x) > 0, _data(grad)))


def _masked(helper):
    """A helper whose result does not move with its arguments: computed on their numbers."""
    def constant(*args, **kwargs):
        return _constant(helper(*[_data(arg) for arg in args], **kwargs))
    constant.__name__ = helper.__name__
    return constant


HELPERS = {
    "sigmoid_parts": _sigmoid_parts,
    "power": _power,
    "power_slope": _power_slope,
    "one_where_zero": _one_where_zero,
    "log": lambda x: x.log(),
    "exp": lambda x: x.exp(),
    "tanh": lambda x: x.tanh(),
    "relu": lambda x: x.relu(),
    "sqrt": lambda x: x.sqrt(),
    "absolute": lambda x: abs(x),
    "quotient": lambda x, y: x / y,
    "matmul": _matmul,
    "product": _matmul,
    "total": _total,
    "mean": _mean,
    "extremum": _extremum,
    "maximum": _maximum,
    "minimum": _minimum,
    "clip": lambda x, low, high: x.clip(low, high),
    "softmax": lambda x, axis: x.softmax(axis),
    "log_softmax": lambda x, axis: x.log_softmax(axis),
    "softmax_backward": _softmax_backward,
    "log_softmax_backward": _log_softmax_backward,
    "cross_entropy_loss": _cross_entropy_loss,
    "cross_entropy_backward": _cross_entropy_backward,
    "mean_square": _mean_square,
    "half_squared_norm": _half_squared_norm,
    "half_sum_of_squares": _half_sum_of_squares,
    "expand_reduced": _expand_reduced,
    "as_float": lambda x: x.sum(),  # a float input's gradient: the sum, a 0-d Value
    "as_array": lambda x: x,
    "scatter": _scatter,
    "where_positive": _where_positive,
    "sign": _masked(numerics.sign),
    "tie_share": _masked(numerics.tie_share),
    "reduced_share": _masked(numerics.reduced_share),
    "clip_inside": _masked(numerics.clip_inside),
}


class HelperError(TypeError):
    """A numerics helper that has no version on Values (so the rule that called it cannot be differentiated)."""


def call(function, args, kwargs):
    """``function`` (a numerics helper) on arguments among which is a Value."""
    helper = HELPERS.get(function.__name__)
    if helper is None:
        raise HelperError(f"numerics.{function.__name__} has no version on Values")
    return helper(*args, **kwargs)


# ---------------------------------------------------------------------------
# One node's rule on Values, and unbroadcasting on Values
# ---------------------------------------------------------------------------


def rule_on_values(node, grad):
    """The node's op's backward rule run on Values (the gradient, the inputs, the output,
    and what forward saved, computed again from the inputs): gradients that are Values with graphs."""
    from .function import FunctionError, FunctionOp

    Value = _value().Value
    op = node.op
    parents = node.parents
    needs = tuple(parent.requires_grad for parent in parents)
    saved = node.saved
    try:
        if isinstance(op, FunctionOp):
            # NOTE: what the Function saved is handed back as the Values of the inputs and the output
            saved._values = {id(parent._data): parent for parent in parents}
            saved._values[id(node._data)] = node
            try:
                grads = op.backward(grad, node, saved, needs, *parents)
            finally:
                saved._values = None
        else:
            options = op.forward_options(saved)
            if options is not None:
                saved = op.forward(*parents, **options)[1]
            elif _holds_float_arrays(saved):
                raise TypeError(f"op '{op.name}' saves float arrays in forward but gives no forward_options, so "
                                "they would stay constants to a second derivative; give the op a forward_options "
                                "method (see Op.forward_options)")
            grads = op.backward(grad, node, saved, needs, *parents)
    except FunctionError:
        raise
    except (TypeError, HelperError) as error:
        what = f"Function '{op.name}'" if isinstance(op, FunctionOp) else f"op '{op.name}'"
        raise TypeError(f"create_graph: the backward of {what} cannot be differentiated again ({error})") from None
    for position, (parent, parent_grad) in enumerate(zip(parents, grads)):
        if parent_grad is not None and parent.requires_grad and type(parent_grad) is not Value:
            raise TypeError(
                f"create_graph: the backward rule of op '{op.name}' gave input {position} a plain number or array, "
                "not a Value, so its second derivative would be silently lost; write the rule in numpy calls on "
                "its arguments (which are Values here)")
    return grads


def _holds_float_arrays(saved):
    """True when ``saved`` holds a float array anywhere (in tuples, lists or dicts): numbers forward
    computed, as opposed to options (an axis, an exponent, an integer index)."""
    stack = [saved]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray) and item.dtype.kind == "f":
            return True
        if isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False


def unbroadcast_value(grad, parent):
    """`unbroadcast` for a gradient that is a Value: sums (and a product with ones) that record the graph."""
    value = _value()
    if type(grad) is not value.Value:
        grad = value.leaf(grad)
    shape = numerics.shape(parent._data)
    if grad.shape == shape and (type(parent._data) is not np.ndarray or grad.dtype == parent._data.dtype):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    if grad.shape != shape:
        stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
        if stretched:
            grad = grad.sum(axis=stretched, keepdims=True)
        if grad.shape != shape:  # a smaller gradient for a larger input: spread it by a product with ones
            grad = grad * value.leaf(namespace.full(shape, 1.0, parent._data))
    if type(parent._data) is np.ndarray and grad.dtype != parent._data.dtype:
        grad = grad.astype(parent._data.dtype)  # float32 inputs get float32 gradients, as unbroadcast gives
    return grad


# ---------------------------------------------------------------------------
# GetItem's adjoint as an op
# ---------------------------------------------------------------------------


class Scatter(Op):
    """out = zeros shaped like a's source with ``grad`` put at ``index`` (summing where an
    integer-array index repeats an element): GetItem's backward, as an op so that
    it can be differentiated again.   ∂out/∂grad: indexing with the same index."""

    name = "scatter"
    formula = "zeros with a at [index]"
    partials = ("1",)
    passes = (True,)

    def forward(self, grad, index, shape, dtype):
        if namespace.is_foreign(grad):
            zeros = namespace.of(grad).zeros(shape, dtype=dtype, device=namespace.device(grad))
        else:
            zeros = np.zeros(shape, dtype=dtype)
        return numerics.scatter(grad, zeros, index), index

    def backward(self, grad, out, index, needs, a):
        return (grad[numerics.foreign_index(index, grad)],)

    def jvp(self, tangents, out, index, a):
        return numerics.scatter(tangents[0], out, index)

    def label(self, node):
        return f"scatter [{numerics.format_index(node.saved)}]"


SCATTER = Scatter()
