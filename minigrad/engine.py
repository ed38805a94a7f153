"""The engine: one `Value` class, its named ops, and reverse-mode traversal.

A `Value` holds either a Python float (the scalar path, which never touches
numpy) or a numpy array (the tensor path).  Every op is a singleton `Op`
object that knows its name, its formula and its local derivatives; a node
records the op, its parents as an ordered tuple and whatever the backward rule
needs (`ctx`).

Backward is iterative (Kahn's algorithm: no recursion, so a graph a million
ops deep is fine), processes each node once all of its consumers have
contributed, sums contributions when a node is reached along several edges,
and reduces broadcast gradients back to each input's shape in one place:
`_reduce_to_shape`.  Every node keeps its gradient in `.grad` afterwards (the
drawings show them); leaves accumulate across calls, intermediates do not.
"""

from __future__ import annotations

import itertools
import math
import sys
import threading

import numpy as np

__all__ = [
    "Value",
    "Op",
    "AnomalyError",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "detect_anomaly",
    "sse",
    "stack",
    "topological_order",
]


# ---------------------------------------------------------------------------
# Modes (per thread): gradient recording and anomaly detection
# ---------------------------------------------------------------------------


class _Mode(threading.local):
    grad_enabled = True
    anomaly = False


_mode = _Mode()

# NOTE: reading a threading.local costs more than a whole float multiply, so
# the hot path reads one module global instead: `_plain` is True while no
# thread anywhere is inside no_grad()/enable_grad()/detect_anomaly().  When it
# is False, `_make` takes the slow path and consults this thread's own flags.
_plain = True
_switches_active = 0
_switches_lock = threading.Lock()


class _ModeSwitch:
    """Context manager (and decorator) that sets one per-thread mode flag."""

    def __init__(self, attribute, value):
        self._attribute = attribute
        self._value = value
        self._saved_key = "saved_" + attribute
        self._default = getattr(_Mode, attribute)

    # NOTE: the flags saved on entry live on this thread's `_mode`, one stack
    # per flag, not on the switch: one switch object may be shared (a
    # decorator, a module-level `with` target) by several threads at once.

    def __enter__(self):
        global _plain, _switches_active
        with _switches_lock:
            _switches_active += 1
            _plain = False
        state = _mode.__dict__
        state.setdefault(self._saved_key, []).append(state.get(self._attribute, self._default))
        state[self._attribute] = self._value
        return self

    def __exit__(self, *exc_info):
        global _plain, _switches_active
        state = _mode.__dict__
        state[self._attribute] = state[self._saved_key].pop()
        with _switches_lock:
            _switches_active -= 1
            _plain = _switches_active == 0
        return False

    def __call__(self, function):
        def wrapper(*args, **kwargs):
            with self:
                return function(*args, **kwargs)

        wrapper.__name__ = getattr(function, "__name__", "wrapper")
        wrapper.__doc__ = getattr(function, "__doc__", None)
        return wrapper


def no_grad():
    """Context manager: ops inside it record no graph (this thread only).

    Results made under ``no_grad()`` have ``requires_grad=False`` and no
    parents, which is what evaluation and weight updates want.
    """
    return _NO_GRAD


def enable_grad():
    """Context manager: turn graph recording back on inside a ``no_grad`` block."""
    return _ENABLE_GRAD


def is_grad_enabled():
    """True when ops in this thread record the graph."""
    return _mode.grad_enabled


def detect_anomaly():
    """Context manager: stop at the first nan or inf, in forward or backward.

    Inside it (this thread only), every op checks its output as it is made and
    every backward rule checks the gradients it produces; the first nan or inf
    raises `AnomalyError` naming the op, the shapes of its inputs and the file
    and line where the offending node was created.  Outside it nothing is
    checked and nothing is recorded, so it costs nothing when off.
    """
    return _DETECT_ANOMALY


# One switch object each is enough: what a switch saves lives on the thread.
_NO_GRAD = _ModeSwitch("grad_enabled", False)
_ENABLE_GRAD = _ModeSwitch("grad_enabled", True)
_DETECT_ANOMALY = _ModeSwitch("anomaly", True)


class AnomalyError(FloatingPointError):
    """A nan or inf appeared inside `detect_anomaly()`."""


# ---------------------------------------------------------------------------
# Ops
# ---------------------------------------------------------------------------


class Op:
    """A named primitive.

    Subclasses set ``name``, ``formula`` (the forward rule, as text) and
    ``partials`` (the local derivative with respect to each parent, as text),
    and implement ``backward(grad, node)``: given the gradient of the loss with
    respect to ``node`` it returns one gradient per parent (or None for a parent
    that needs none), *before* any reduction for broadcasting, which the
    engine does in one place.
    """

    name = "op"
    formula = ""
    partials: tuple = ()

    def label(self, ctx):
        """Short text for drawings: the op's name and its arguments."""
        return self.name

    def backward(self, grad, node):  # pragma: no cover - every op overrides
        raise NotImplementedError

    def __repr__(self):
        return f"<op {self.name}>"


class Add(Op):
    """out = a + b.   ∂out/∂a = 1,  ∂out/∂b = 1."""

    name = "add"
    formula = "a + b"
    partials = ("1", "1")

    def label(self, ctx):
        return "+"

    def backward(self, grad, node):
        return grad, grad


class Sub(Op):
    """out = a − b.   ∂out/∂a = 1,  ∂out/∂b = −1  (the −1 of Eq. 6.20/6.21)."""

    name = "sub"
    formula = "a − b"
    partials = ("1", "−1")

    def label(self, ctx):
        return "−"

    def backward(self, grad, node):
        return grad, -grad


class Mul(Op):
    """out = a · b.   ∂out/∂a = b,  ∂out/∂b = a  (Eq. 6.27 for a weight times an activation)."""

    name = "mul"
    formula = "a · b"
    partials = ("b", "a")

    def label(self, ctx):
        return "×"

    def backward(self, grad, node):
        a, b = node._parents
        return grad * b.data, grad * a.data


class Div(Op):
    """out = a / b.   ∂out/∂a = 1/b,  ∂out/∂b = −a/b²."""

    name = "div"
    formula = "a / b"
    partials = ("1/b", "−a/b²")

    def label(self, ctx):
        return "÷"

    def backward(self, grad, node):
        a, b = node._parents
        grad_a = _quotient(grad, b.data)
        grad_b = -grad_a * node.data if b.requires_grad else None
        return grad_a, grad_b


class Neg(Op):
    """out = −a.   ∂out/∂a = −1."""

    name = "neg"
    formula = "−a"
    partials = ("−1",)

    def backward(self, grad, node):
        return (-grad,)


class PowConst(Op):
    """out = aⁿ for a constant number n.   ∂out/∂a = n·aⁿ⁻¹."""

    name = "pow"
    formula = "aⁿ"
    partials = ("n·aⁿ⁻¹",)

    def label(self, ctx):
        return f"**{ctx:g}"

    def backward(self, grad, node):
        exponent = node._ctx
        base = node._parents[0].data
        if exponent == 2:
            return (grad * 2.0 * base,)
        return (grad * _power_slope(base, exponent),)


class Pow(Op):
    """out = aᵇ with b a Value.   ∂out/∂a = b·aᵇ⁻¹,  ∂out/∂b = aᵇ·ln a."""

    name = "pow"
    formula = "aᵇ"
    partials = ("b·aᵇ⁻¹", "aᵇ·ln a")

    def label(self, ctx):
        return "**"

    def backward(self, grad, node):
        a, b = node._parents
        grad_a = grad * _power_slope(a.data, b.data) if a.requires_grad else None
        # NOTE: at a = 0, aᵇ·ln a reads 0·(−inf); its limit is 0, so ln 1 is used there.
        grad_b = grad * node.data * _log(_one_where_zero(a.data)) if b.requires_grad else None
        return grad_a, grad_b


class Exp(Op):
    """out = exp(a).   ∂out/∂a = exp(a) = out."""

    name = "exp"
    formula = "exp(a)"
    partials = ("exp(a)",)

    def backward(self, grad, node):
        return (grad * node.data,)


class Log(Op):
    """out = ln(a).   ∂out/∂a = 1/a.

    As in numpy, ln(0) = −inf and ln of a negative number is nan, with numpy's
    RuntimeWarning; inside `detect_anomaly()` either raises `AnomalyError`.
    """

    name = "log"
    formula = "ln a"
    partials = ("1/a",)

    def backward(self, grad, node):
        return (_quotient(grad, node._parents[0].data),)


class Tanh(Op):
    """out = tanh(a).   ∂out/∂a = 1 − tanh²(a) = (1 − out)(1 + out)."""

    name = "tanh"
    formula = "tanh(a)"
    partials = ("1 − tanh²(a)",)

    def backward(self, grad, node):
        t = node.data
        return (grad * ((1.0 - t) * (1.0 + t)),)


class ReLU(Op):
    """out = max(a, 0).   ∂out/∂a = 1 where a > 0, else 0 (0 at a = 0)."""

    name = "relu"
    formula = "max(a, 0)"
    partials = ("[a > 0]",)

    def backward(self, grad, node):
        a = node._parents[0].data
        if type(a) is float:
            return (grad if a > 0.0 else 0.0,)
        return (grad * (a > 0),)


class Sigmoid(Op):
    """The chapter's transfer function with gain α (Eq. 6.1):

        F(x) = 1 / (1 + exp(−αx))

    and its derivative (Eq. 6.2, 6.23):

        ∂F/∂x = α · F · (1 − F)

    # NOTE: 1 − F is never computed by subtraction.  With e = exp(−|αx|) and
    # r = 1/(1 + e), F·(1 − F) = e·r² exactly, so the derivative keeps full
    # relative accuracy deep in saturation (at αx = 30 it is 9.4e−14, not 0).
    """

    name = "sigmoid"
    formula = "F(x) = 1/(1 + exp(−αx))"
    partials = ("α·F·(1−F)",)

    def label(self, ctx):
        return f"sigmoid α={ctx[0]:g}"

    def backward(self, grad, node):
        alpha, e, r = node._ctx
        slope = e * r * r  # F·(1 − F)
        return (grad * (slope if alpha == 1.0 else alpha * slope),)


class Sum(Op):
    """out = Σ a over `axis` (all axes when None).   ∂out/∂a[j] = 1."""

    name = "sum"
    formula = "Σ a"
    partials = ("1",)

    def label(self, ctx):
        axis, keepdims = ctx
        return "sum" if axis is None else f"sum axis={axis}"

    def backward(self, grad, node):
        axis, keepdims = node._ctx
        data = node._parents[0].data
        if type(data) is float:
            return (grad,)
        return (_expand_reduced(grad, data.shape, axis, keepdims),)


class Mean(Op):
    """out = (1/N) Σ a over `axis`.   ∂out/∂a[j] = 1/N."""

    name = "mean"
    formula = "(1/N) Σ a"
    partials = ("1/N",)

    def label(self, ctx):
        axis, keepdims = ctx
        return "mean" if axis is None else f"mean axis={axis}"

    def backward(self, grad, node):
        axis, keepdims = node._ctx
        data = node._parents[0].data
        if type(data) is float:
            return (grad,)
        count = data.size // max(np.size(node.data), 1) if data.size else 1
        expanded = _expand_reduced(grad, data.shape, axis, keepdims)
        return (expanded / count,)


class Reshape(Op):
    """out = a with a new shape.   ∂out/∂a is the identity, reshaped back."""

    name = "reshape"
    formula = "reshape(a)"
    partials = ("1",)

    def label(self, ctx):
        return f"reshape {ctx}"

    def backward(self, grad, node):
        return (np.reshape(grad, np.shape(node._parents[0].data)),)


class Transpose(Op):
    """out = aᵀ (axes permuted).   ∂out/∂a is the inverse permutation."""

    name = "transpose"
    formula = "aᵀ"
    partials = ("1",)

    def label(self, ctx):
        return "transpose" if ctx is None else f"transpose {ctx}"

    def backward(self, grad, node):
        axes = node._ctx
        if axes is None:
            return (np.transpose(grad),)
        return (np.transpose(grad, np.argsort(axes)),)  # axes are stored non-negative


class GetItem(Op):
    """out = a[index].   ∂out/∂a scatters the gradient back into a's shape
    (summing where an integer-array index repeats an element)."""

    name = "getitem"
    formula = "a[index]"
    partials = ("1 at index",)

    def label(self, ctx):
        return f"[{_format_index(ctx)}]"

    def backward(self, grad, node):
        data = node._parents[0].data
        full = np.zeros(data.shape, dtype=data.dtype)
        index = node._ctx
        if _is_basic_index(index):
            full[index] = grad
        else:
            np.add.at(full, index, grad)
        return (full,)


class MatMul(Op):
    """out = a @ b (matrix, vector or batched, as numpy's matmul).

    ∂out[i,j]/∂a[i,k] = b[k,j],  ∂out[i,j]/∂b[k,j] = a[i,k];  as products,
    grad_a = grad @ bᵀ and grad_b = aᵀ @ grad (Eq. 6.27 for every weight at once).
    """

    name = "matmul"
    formula = "a @ b"
    partials = ("b", "a")

    def label(self, ctx):
        return "@"

    def backward(self, grad, node):
        a_node, b_node = node._parents
        a, b = a_node.data, b_node.data
        if a.ndim == 1 and b.ndim == 1:
            return (grad * b if a_node.requires_grad else None,
                    grad * a if b_node.requires_grad else None)
        # NOTE: 1-D operands are promoted to matrices (a as a row, b as a
        # column) and the gradient gets the matching axes; both go away after.
        if a.ndim == 1:
            a = a[np.newaxis, :]
            grad = np.expand_dims(grad, -2)
        if b.ndim == 1:
            b = b[:, np.newaxis]
            grad = np.expand_dims(grad, -1)
        grad_a = grad_b = None
        if a_node.requires_grad:
            grad_a = grad @ (b.T if b.ndim == 2 else b.swapaxes(-1, -2))
            if a_node.data.ndim == 1:
                grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if b_node.requires_grad:
            grad_b = (a.T if a.ndim == 2 else a.swapaxes(-1, -2)) @ grad
            if b_node.data.ndim == 1:
                grad_b = grad_b[..., 0]
        return grad_a, grad_b


class SSE(Op):
    """The chapter's summed squared error (Eq. 6.5, 6.13):

        SSE = ½ Σ_o (Desired_o − Actual_o)² = ½ Σ_o E_o²

    ∂SSE/∂Actual_o = E_o · (−1) = −E_o   (Eq. 6.17 times Eq. 6.21)
    ∂SSE/∂Desired_o = E_o
    """

    name = "sse"
    formula = "½ Σ (Desired − Actual)²"
    partials = ("E = Desired − Actual", "−E = −(Desired − Actual)")

    def backward(self, grad, node):
        error = node._ctx
        if type(error) is list:  # scalars: parents are desired_0.., then actual_0..
            return [grad * e for e in error] + [-grad * e for e in error]
        desired, actual = node._parents
        return (grad * error if desired.requires_grad else None,
                -grad * error if actual.requires_grad else None)


class Stack(Op):
    """out = [a₀, a₁, …] stacked along a new axis.   ∂out[k]/∂a_k = 1."""

    name = "stack"
    formula = "[a₀, a₁, …]"
    partials = ("1",)

    def label(self, ctx):
        return "stack" if ctx == 0 else f"stack axis={ctx}"

    def backward(self, grad, node):
        return tuple(np.moveaxis(grad, node._ctx, 0))


ADD, SUB, MUL, DIV, NEG = Add(), Sub(), Mul(), Div(), Neg()
POW_CONST, POW = PowConst(), Pow()
EXP, LOG, TANH, RELU, SIGMOID = Exp(), Log(), Tanh(), ReLU(), Sigmoid()
SUM, MEAN, RESHAPE, TRANSPOSE, GETITEM = Sum(), Mean(), Reshape(), Transpose(), GetItem()
MATMUL, SSE_OP, STACK = MatMul(), SSE(), Stack()

#: Every primitive, by class; what the drawing, errors and explanations name.
OPS = (ADD, SUB, MUL, DIV, NEG, POW_CONST, POW, EXP, LOG, TANH, RELU, SIGMOID,
       SUM, MEAN, RESHAPE, TRANSPOSE, GETITEM, MATMUL, SSE_OP, STACK)


# ---------------------------------------------------------------------------
# Numerics shared by forward rules
# ---------------------------------------------------------------------------

# Below these, exp(−z) overflows (with a margin): ln of each dtype's largest float.
_EXP_FLOOR = {np.float64: -700.0, np.float32: -85.0}


def _sigmoid_parts(x, alpha):
    """F = 1/(1 + exp(−αx)) and the two numbers backward needs, stably.

    With e = exp(−|αx|) ≤ 1 and r = 1/(1 + e), which never overflow:
        F = r          if αx ≥ 0        F = e·r        if αx < 0
    and in both cases F·(1 − F) = e·r², so the derivative α·F·(1 − F) needs
    no subtraction (no cancellation in saturation).  Returns (F, e, r).

    # NOTE: for arrays whose αx is nowhere below −ln(largest float) (−709 in
    # float64, −88 in float32), e = exp(−αx) cannot overflow, F = r and
    # F·(1 − F) = e·r² hold for either sign, and the sign split is skipped
    # (five numpy calls instead of eight: it matters for small arrays, where
    # each call costs more than its arithmetic).
    """
    if type(x) is float:
        z = alpha * x  # a float product overflows to ±inf silently, which is harmless here
        e = math.exp(-abs(z))
        r = 1.0 / (1.0 + e)
        return (r if z >= 0.0 else e * r), e, r
    if alpha == 1.0:
        z = x
    elif alpha < 1.0:
        z = x * alpha  # |αx| ≤ |x|: cannot overflow
    else:
        with np.errstate(over="ignore"):  # ±inf is harmless: e = 0 there
            z = x * alpha
    if z.size and np.minimum.reduce(z, axis=None) > _EXP_FLOOR[z.dtype.type]:
        e = np.exp(-z)
        r = 1.0 / (1.0 + e)
        return r, e, r
    e = np.exp(-np.abs(z))
    r = 1.0 / (1.0 + e)
    return np.where(z >= 0, r, e * r), e, r


def _scalar_fallback(function, *args):
    """Evaluate a float function the way numpy would (inf/nan and a RuntimeWarning
    instead of Python's ZeroDivisionError, OverflowError or complex results)."""
    result = function(*(np.float64(a) for a in args))
    return float(result)


def _power(base, exponent):
    if type(base) is float and type(exponent) is float:
        try:
            result = base ** exponent
        except (ZeroDivisionError, OverflowError):
            return _scalar_fallback(np.power, base, exponent)
        if type(result) is complex or (base < 0.0 and not exponent.is_integer()):
            return _scalar_fallback(np.power, base, exponent)  # numpy's nan (with its warning)
        return result
    return np.power(base, exponent)


def _power_slope(base, exponent):
    """∂(aᵇ)/∂a = b·aᵇ⁻¹, taken as 0 where b = 0.

    # NOTE: a⁰ = 1 has slope 0 everywhere, but the formula reads 0·0⁻¹ = nan
    # at a = 0 (and 0·inf at a = inf): where b = 0, raise a to the harmless
    # power 1 instead and multiply by b = 0.
    """
    if type(exponent) is float:
        if exponent == 0.0:
            return 0.0 if type(base) is float else np.zeros_like(base)
        return exponent * _power(base, exponent - 1)
    safe = np.where(exponent == 0, 1.0, exponent - 1)
    return np.where(exponent == 0, 0.0, exponent * _power(base, safe))


def _one_where_zero(x):
    if type(x) is float:
        return 1.0 if x == 0.0 else x
    return np.where(x == 0, 1.0, x)


def _log(x):
    if type(x) is float:
        if x > 0.0:
            return math.log(x)
        return _scalar_fallback(np.log, x)
    return np.log(x)


def _exp(x):
    if type(x) is float:
        try:
            return math.exp(x)
        except OverflowError:
            return _scalar_fallback(np.exp, x)
    return np.exp(x)


def _divide(a, b):
    """a.data / b.data, naming the op when shapes do not broadcast."""
    try:
        return _quotient(a.data, b.data)
    except ValueError:
        raise _broadcast_error("div", a, b) from None


def _quotient(x, y):
    """x / y, with numpy's ±inf/nan (and its warning) for a zero float divisor,
    where Python would raise ZeroDivisionError."""
    try:
        return x / y
    except ZeroDivisionError:
        return _scalar_fallback(np.divide, x, y)


def _expand_reduced(grad, shape, axis, keepdims):
    """Broadcast the gradient of a reduction back over the reduced axes."""
    if axis is not None and not keepdims:
        grad = np.expand_dims(grad, axis)
    return np.broadcast_to(grad, shape)


def _is_basic_index(index):
    items = index if type(index) is tuple else (index,)
    for item in items:
        if not (item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice))):
            return False
    return True


def _format_index(index):
    items = index if type(index) is tuple else (index,)
    parts = []
    for item in items:
        if isinstance(item, slice):
            text = ":".join("" if part is None else str(part) for part in (item.start, item.stop, item.step))
            parts.append(text.rstrip(":") or ":")
        elif item is Ellipsis:
            parts.append("...")
        elif item is None:
            parts.append("None")
        elif isinstance(item, np.ndarray):
            parts.append(f"array{list(item.shape)}" if item.size > 4 else str(item.tolist()))
        else:
            parts.append(str(item))
    return ", ".join(parts)


# ---------------------------------------------------------------------------
# Turning user data into Value data
# ---------------------------------------------------------------------------


def _describe(x):
    if isinstance(x, np.ndarray):
        return f"numpy array of dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}" if isinstance(x, (str, bytes)) else type(x).__name__


def _as_data(x, where="Value", copy=False):
    """Python numbers become floats; arrays become float64 or float32 ndarrays.

    Booleans, complex numbers, strings, None, objects and arrays of such dtypes
    are refused with a TypeError naming the op (``where``) and the type.
    """
    kind = type(x)
    if kind is float:
        return x
    if kind is np.ndarray and not copy and (x.dtype == np.float64 or x.dtype == np.float32):
        return x
    if kind is int:
        return float(x)
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{where}: got a boolean ({x!r}); use 0.0/1.0 if a number is meant")
    if isinstance(x, Value):
        raise TypeError(f"{where}: got a Value; pass it directly, or use .detach() for a copy without history")
    if isinstance(x, (float, int, np.integer)):  # np.float64 is a float
        return float(x)
    if isinstance(x, (np.ndarray, np.generic, list, tuple)):
        return _as_array(x, where, copy)
    raise TypeError(f"{where}: expected a number, a list of numbers or a numpy array, got {_describe(x)}")


def _as_array(x, where, copy):
    try:
        array = np.array(x, copy=copy) if isinstance(x, np.ndarray) else np.asarray(x)
    except ValueError as error:
        raise ValueError(f"{where}: data must be a rectangular array of numbers ({error})") from None
    kind = array.dtype.kind
    if kind == "f":
        if array.dtype == np.float64 or array.dtype == np.float32:
            return array
        if array.dtype == np.float16:
            return array.astype(np.float32)
        raise TypeError(f"{where}: dtype {array.dtype} is not supported; use float64 or float32")
    if kind in "iu":
        return array.astype(np.float64)
    if kind == "b":
        raise TypeError(f"{where}: got a boolean array; convert it with .astype(float) if numbers are meant")
    if kind == "c":
        raise TypeError(f"{where}: complex data is not supported (dtype {array.dtype})")
    if kind == "O" and array.size and any(isinstance(item, Value) for item in array.flat):
        raise TypeError(f"{where}: got a list of Values; combine them with minigrad.stack(...)")
    raise TypeError(f"{where}: expected numbers, got an array of dtype {array.dtype}")


def _shape(data):
    return () if type(data) is float else data.shape


# ---------------------------------------------------------------------------
# The Value
# ---------------------------------------------------------------------------

_new = object.__new__
_ndarray = np.ndarray


class Value:
    """A scalar or numpy array that records the operations applied to it.

    ``Value(data, name=None, requires_grad=True)``: a Python number becomes a
    float (the fast scalar path, no numpy); a list or array becomes a float64
    array, and float32 stays float32 end to end, gradients included.

    After ``loss.backward()`` every node of the graph carries ``.grad``.  Leaves
    (Values you made) *accumulate* across calls, as in PyTorch, until
    ``zero_grad()``; intermediate nodes are *overwritten* by each backward, so
    calling it twice never double counts them.

    ``==`` compares identity (Values are dict keys); ``<``, ``<=``, ``>``,
    ``>=`` compare the data and return plain booleans or arrays: no graph.
    """

    # `_mark` and `_pending` are backward's bookkeeping (see `_backward`);
    # `_origin` (file:line of creation) is set only under detect_anomaly().
    __slots__ = ("data", "grad", "name", "requires_grad", "_op", "_parents", "_ctx", "_mark", "_pending", "_origin",
                 "__weakref__")

    # Let Value's reflected operators win over numpy's elementwise dispatch.
    __array_ufunc__ = None

    def __init__(self, data, name=None, requires_grad=True):
        self.data = _as_data(data, "Value", copy=True)
        self.grad = None
        self.name = name
        self.requires_grad = bool(requires_grad)
        self._op = None
        self._parents = ()
        self._ctx = None
        self._mark = 0
        if _mode.anomaly:
            self._origin = _creation_site()

    # -- properties ---------------------------------------------------------

    @property
    def shape(self):
        return _shape(self.data)

    @property
    def ndim(self):
        return len(_shape(self.data))

    @property
    def size(self):
        return 1 if type(self.data) is float else self.data.size

    @property
    def dtype(self):
        return np.dtype(np.float64) if type(self.data) is float else self.data.dtype

    @property
    def op(self):
        """The `Op` that made this Value, or None for a leaf."""
        return self._op

    @property
    def parents(self):
        """The Values this one was computed from, in argument order."""
        return self._parents

    @property
    def is_leaf(self):
        return not self._parents

    def item(self):
        """The data as a Python float (one element only)."""
        if type(self.data) is float:
            return self.data
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element Value converts to a float, this one has shape {self.shape}")
        return float(self.data.reshape(()))

    def numpy(self):
        """The data as a numpy array (0-d for a scalar)."""
        return np.asarray(self.data)

    def detach(self):
        """A new leaf with the same data and no history (requires_grad=False)."""
        return Value._leaf(self.data, requires_grad=False)

    def zero_grad(self):
        """Forget the accumulated gradient (``.grad`` becomes None)."""
        self.grad = None

    def __repr__(self):
        parts = []
        if self.name is not None:
            parts.append(f"name={self.name!r}")
        if type(self.data) is float or self.data.size <= 6:
            parts.insert(0, _format_number(self.data))
        else:
            parts.insert(0, f"shape={self.shape}")
        if type(self.data) is not float and self.data.dtype != np.float64:
            parts.append(f"dtype={self.data.dtype}")
        if self.grad is not None:
            parts.append(f"grad={_format_number(self.grad)}" if np.size(self.grad) <= 6 else "grad=...")
        if self._op is not None:
            parts.append(f"op={self._op.name}")
        elif not self.requires_grad:
            parts.append("requires_grad=False")
        return f"Value({', '.join(parts)})"

    def __len__(self):
        if type(self.data) is float or self.data.ndim == 0:
            raise TypeError("len() of a scalar Value")
        return len(self.data)

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    def __bool__(self):
        return bool(self.data)

    def __float__(self):
        return self.item()

    # -- construction helpers ---------------------------------------------

    @staticmethod
    def _leaf(data, requires_grad=False, name=None):
        out = _new(Value)
        out.data = data
        out.grad = None
        out.name = name
        out.requires_grad = requires_grad
        out._op = None
        out._parents = ()
        out._ctx = None
        out._mark = 0
        return out

    # -- arithmetic ----------------------------------------------------------

    # NOTE: each forward is written inline with `+ - * /` on the raw data:
    # floats stay on Python's fast path, arrays go to numpy, and numpy's
    # broadcasting error is re-raised naming the op and both shapes.

    def __add__(self, other):
        other = other if type(other) is Value else _constant(other, "add", self)
        try:
            data = self.data + other.data
        except ValueError:
            raise _broadcast_error("add", self, other) from None
        return _make(ADD, data, (self, other), None)

    def __radd__(self, other):
        other = _constant(other, "add", self)
        try:
            data = other.data + self.data
        except ValueError:
            raise _broadcast_error("add", other, self) from None
        return _make(ADD, data, (other, self), None)

    def __sub__(self, other):
        other = other if type(other) is Value else _constant(other, "sub", self)
        try:
            data = self.data - other.data
        except ValueError:
            raise _broadcast_error("sub", self, other) from None
        return _make(SUB, data, (self, other), None)

    def __rsub__(self, other):
        other = _constant(other, "sub", self)
        try:
            data = other.data - self.data
        except ValueError:
            raise _broadcast_error("sub", other, self) from None
        return _make(SUB, data, (other, self), None)

    def __mul__(self, other):
        other = other if type(other) is Value else _constant(other, "mul", self)
        try:
            data = self.data * other.data
        except ValueError:
            raise _broadcast_error("mul", self, other) from None
        return _make(MUL, data, (self, other), None)

    def __rmul__(self, other):
        other = _constant(other, "mul", self)
        try:
            data = other.data * self.data
        except ValueError:
            raise _broadcast_error("mul", other, self) from None
        return _make(MUL, data, (other, self), None)

    def __truediv__(self, other):
        other = other if type(other) is Value else _constant(other, "div", self)
        return _make(DIV, _divide(self, other), (self, other), None)

    def __rtruediv__(self, other):
        other = _constant(other, "div", self)
        return _make(DIV, _divide(other, self), (other, self), None)

    def __neg__(self):
        return _make(NEG, -self.data, (self,), None)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        if type(exponent) is Value:
            return _make(POW, _binary(_power, self, exponent, "pow"), (self, exponent), None)
        exponent = _as_data(exponent, "pow")
        if type(exponent) is not float:
            # An array exponent is a constant operand like any other.
            return self ** _constant(exponent, "pow", self)
        return _make(POW_CONST, _power(self.data, exponent), (self,), exponent)

    def __rpow__(self, base):
        base = _constant(base, "pow", self)
        return _make(POW, _binary(_power, base, self, "pow"), (base, self), None)

    def __matmul__(self, other):
        other = other if type(other) is Value else _constant(other, "matmul", self)
        return _make(MATMUL, _matmul(self.data, other.data), (self, other), None)

    def __rmatmul__(self, other):
        other = _constant(other, "matmul", self)
        return _make(MATMUL, _matmul(other.data, self.data), (other, self), None)

    # -- comparisons: plain data, no graph ------------------------------------

    def __lt__(self, other):
        return self.data < _data_of(other)

    def __le__(self, other):
        return self.data <= _data_of(other)

    def __gt__(self, other):
        return self.data > _data_of(other)

    def __ge__(self, other):
        return self.data >= _data_of(other)

    __hash__ = object.__hash__

    # -- elementwise functions -----------------------------------------------

    def exp(self):
        """exp(x); derivative exp(x)."""
        return _make(EXP, _exp(self.data), (self,), None)

    def log(self):
        """ln(x); derivative 1/x.  ln(0) = −inf, ln(x<0) = nan, as in numpy."""
        return _make(LOG, _log(self.data), (self,), None)

    def tanh(self):
        """tanh(x); derivative 1 − tanh²(x)."""
        data = self.data
        return _make(TANH, math.tanh(data) if type(data) is float else np.tanh(data), (self,), None)

    def relu(self):
        """max(x, 0); derivative 1 for x > 0, else 0."""
        data = self.data
        if type(data) is float:
            out = 0.0 if data <= 0.0 else data  # nan stays nan, as with np.maximum
        else:
            out = np.maximum(data, 0)
        return _make(RELU, out, (self,), None)

    def sigmoid(self, alpha=1.0):
        """The chapter's transfer function F(x) = 1/(1 + exp(−αx)) (Eq. 6.1).

        Its derivative α·F·(1 − F) (Eq. 6.2) is used by backward.  ``alpha``
        (the gain) must be a finite number > 0.  Stable for every finite
        input: no overflow, no warning, and 1 − F kept exact in saturation.
        """
        if type(alpha) is not float or not 0.0 < alpha < math.inf:  # the common case costs no call
            alpha = _check_alpha(alpha)
        value, e, r = _sigmoid_parts(self.data, alpha)
        return _make(SIGMOID, value, (self,), (alpha, e, r))

    # -- reductions and shape -------------------------------------------------

    def sum(self, axis=None, keepdims=False):
        """Σ over ``axis`` (all when None); gradient 1 for every summed element."""
        data = self.data
        axis = _check_axis(axis, len(_shape(data)), "sum")
        if type(data) is float:
            return _make(SUM, data, (self,), (None, keepdims))
        return _make(SUM, data.sum(axis=axis, keepdims=keepdims), (self,), (axis, keepdims))

    def mean(self, axis=None, keepdims=False):
        """(1/N) Σ over ``axis``; gradient 1/N for every averaged element."""
        data = self.data
        axis = _check_axis(axis, len(_shape(data)), "mean")
        if type(data) is float:
            return _make(MEAN, data, (self,), (None, keepdims))
        return _make(MEAN, data.mean(axis=axis, keepdims=keepdims), (self,), (axis, keepdims))

    def reshape(self, *shape):
        """The same elements in a new shape (numpy's rules, -1 allowed)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            out = np.reshape(self.data, shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape shape {self.shape} into {shape}") from None
        return _make(RESHAPE, out, (self,), tuple(out.shape))

    def transpose(self, *axes):
        """Axes reversed (or permuted as given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        axes = axes or None
        data = self.data
        if type(data) is float:
            data = np.asarray(data)
        try:
            out = np.transpose(data, axes)
        except ValueError as error:
            raise ValueError(f"transpose: axes {axes} do not fit shape {self.shape} ({error})") from None
        if axes is not None:
            axes = tuple(int(axis) % data.ndim for axis in axes)  # argsort in backward needs them >= 0
        return _make(TRANSPOSE, out, (self,), axes)

    @property
    def T(self):
        """The transpose (axes reversed)."""
        return self.transpose()

    def __getitem__(self, index):
        data = self.data
        if type(data) is float or data.ndim == 0:
            raise TypeError("getitem: a scalar Value cannot be indexed")
        index = _normalize_index(index)
        try:
            out = data[index]
        except IndexError as error:
            raise IndexError(f"getitem: index [{_format_index(index)}] does not fit shape {data.shape} ({error})") from None
        if not isinstance(out, np.ndarray):
            out = np.asarray(out)
        return _make(GETITEM, out, (self,), index)

    # -- reverse mode ----------------------------------------------------------

    def backward(self, gradient=None):
        """Fill ``.grad`` on every node of the graph that ends here.

        A one-element root is seeded with 1; any other root needs
        ``gradient`` of its own shape (the vector in a vector-Jacobian
        product).  Leaves add to their ``.grad``; intermediate nodes get
        this pass's gradient, replacing any earlier one.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this Value does not require grad (it was made from constants only, "
                "or under no_grad()), so there is no path to any leaf to differentiate")
        if gradient is None:
            if self.size != 1:
                raise ValueError(
                    f"backward: the root has shape {self.shape}; pass gradient= of that shape, "
                    "or reduce it to a scalar first (e.g. .sum())")
            data = self.data
            if type(data) is float:
                seed = 1.0
            elif data.ndim == 0:
                seed = np.array(1.0, dtype=data.dtype)  # np.ones is a slower Python-level function
            else:
                seed = np.ones(data.shape, dtype=data.dtype)
        else:
            seed = _as_data(gradient, "backward", copy=True)
            if _shape(seed) != self.shape:
                raise ValueError(f"backward: gradient has shape {_shape(seed)} but the root has shape {self.shape}")
            seed = _reduce_to_shape(seed, self.data)
        _backward(self, seed)

    # Reflected operators not defined above fall back to NotImplemented.


def _format_number(x):
    if type(x) is float:
        return f"{x:.6g}"
    x = np.asarray(x)
    if x.ndim == 0:
        return f"{float(x):.6g}"
    return np.array2string(x, precision=4, separator=", ", suppress_small=False)


def _data_of(x):
    return x.data if type(x) is Value else x


def _constant(x, where, like=None):
    """A plain number or array as a leaf that needs no gradient.

    # NOTE: a plain float64 array meeting a float32 Value (``like``) takes its
    # dtype, as Python numbers do under numpy's rules, so float32 models stay
    # float32 when fed float64 data.
    """
    if isinstance(x, Value):
        return x
    data = _as_data(x, where)
    if like is not None and type(like.data) is _ndarray and like.data.dtype.type is np.float32 \
            and type(data) is _ndarray and data.dtype.type is np.float64:
        data = data.astype(np.float32)
    return Value._leaf(data, requires_grad=False)


def _broadcast_error(where, a, b):
    return ValueError(f"{where}: shapes {a.shape} and {b.shape} cannot be broadcast together")


def _binary(function, a, b, where):
    """Apply a numpy binary function to two Values' data, naming the op on a shape error."""
    try:
        return function(a.data, b.data)
    except ValueError:
        raise _broadcast_error(where, a, b) from None


def _matmul(a, b):
    try:
        out = a @ b
    except (ValueError, TypeError):
        raise _matmul_error(_shape(a), _shape(b)) from None
    return out if type(out) is np.ndarray else np.asarray(out)


def _matmul_error(a_shape, b_shape):
    """The clearest of matmul's three ways to fail."""
    if len(a_shape) == 0 or len(b_shape) == 0:
        return ValueError(f"matmul: operands must be at least 1-D, got shapes {a_shape} and {b_shape}; "
                          "use * for scalars")
    inner_a = a_shape[-1]
    inner_b = b_shape[-2] if len(b_shape) >= 2 else b_shape[0]
    if inner_a != inner_b:
        return ValueError(f"matmul: shapes {a_shape} and {b_shape} do not fit: "
                          f"the inner dimensions {inner_a} and {inner_b} differ")
    return ValueError(f"matmul: batch dimensions of shapes {a_shape} and {b_shape} cannot be broadcast together")


def _check_alpha(alpha):
    if isinstance(alpha, Value):
        raise TypeError("sigmoid: alpha must be a plain number, not a Value")
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"sigmoid: alpha must be a real number, got {_describe(alpha)}")
    alpha = float(alpha)
    if not (alpha > 0.0 and math.isfinite(alpha)):
        raise ValueError(f"sigmoid: alpha (the gain) must be finite and > 0, got {alpha!r}")
    return alpha


def _check_axis(axis, ndim, where):
    """None, an int or a tuple of distinct ints within range; anything else is a clear error."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple) else (axis,)
    for item in axes:
        if not isinstance(item, (int, np.integer)) or isinstance(item, bool):
            raise TypeError(f"{where}: axis must be None, an int or a tuple of ints, got {axis!r}")
        if not -ndim <= item < ndim:
            raise ValueError(f"{where}: axis {axis!r} is out of range for a Value with {ndim} dimensions")
    if len({int(item) % ndim for item in axes}) != len(axes):
        raise ValueError(f"{where}: axis {axis!r} names the same axis twice")
    return axis


def _normalize_index(index):
    if isinstance(index, Value):
        raise TypeError("getitem: index with ints, slices or integer arrays, not a Value")
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _creation_site():
    """File and line of the first frame outside minigrad: where a node was made."""
    frame = sys._getframe(1)
    package_dir = __file__.rsplit("/", 1)[0] if "/" in __file__ else ""
    while frame is not None and frame.f_code.co_filename.startswith(package_dir):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _make(op, data, parents, ctx):
    """Create an op's output node, recording its parents when a gradient is needed."""
    if data.__class__ is not float and data.__class__ is not _ndarray:
        data = np.asarray(data)  # numpy returns scalars for 0-d operands; a Value holds 0-d arrays
    out = _new(Value)
    out.data = data
    out.grad = None
    out.name = None
    out._ctx = ctx
    out._mark = 0
    if _plain:
        for parent in parents:
            if parent.requires_grad:
                out.requires_grad = True
                out._op = op
                out._parents = parents
                return out
        out.requires_grad = False
        out._op = None
        out._parents = ()
        return out
    # Slow path: under no_grad() and/or detect_anomaly().
    recording = _mode.grad_enabled and any(parent.requires_grad for parent in parents)
    out.requires_grad = recording
    out._op, out._parents = op, parents
    if _mode.anomaly:
        _check_forward(out)
    if not recording:
        out._op, out._parents = None, ()
    return out


def _describe_node(node):
    shapes = ", ".join(str(_shape(parent.data)) for parent in node._parents)
    where = getattr(node, "_origin", None) or "<unknown>"
    return f"op '{node._op.name}' (input shapes {shapes}), created at {where}"


def _check_forward(node):
    node._origin = _creation_site()
    if not np.all(np.isfinite(node.data)):
        bad = "nan" if np.any(np.isnan(node.data)) else "inf"
        raise AnomalyError(f"detect_anomaly: forward output contains {bad}: {_describe_node(node)}")


def _check_backward(node, grads):
    for position, grad in enumerate(grads):
        if grad is not None and not np.all(np.isfinite(grad)):
            bad = "nan" if np.any(np.isnan(grad)) else "inf"
            raise AnomalyError(
                f"detect_anomaly: backward gradient for input {position} contains {bad}: {_describe_node(node)}")


def _reduce_to_shape(grad, data):
    """The one place where broadcasting is undone.

    A gradient computed for a broadcast output is summed over the axes that
    broadcasting added or stretched, so that it has the input's shape (and
    dtype: float32 inputs get float32 gradients; scalar inputs get floats).
    """
    if type(data) is float:
        if type(grad) is float:
            return grad
        return float(grad.sum())
    if type(grad) is not _ndarray:
        grad = np.asarray(grad)
    shape = data.shape
    if grad.shape != shape:
        # NOTE: np.add.reduce is ndarray.sum without its Python-level wrapper.
        extra = grad.ndim - len(shape)
        if extra > 0:  # axes that broadcasting added in front
            grad = np.add.reduce(grad, axis=0 if extra == 1 else tuple(range(extra)))
        if grad.shape != shape:  # axes of size 1 that broadcasting stretched
            stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
            if stretched:
                grad = np.add.reduce(grad, axis=stretched, keepdims=True)
            if grad.shape != shape:
                grad = np.broadcast_to(grad, shape)  # a scalar gradient for an array input
    if type(grad) is not _ndarray or grad.dtype != data.dtype:
        grad = np.asarray(grad, dtype=data.dtype)
    return grad


def topological_order(root):
    """Every node of ``root``'s graph, each after all of its parents (root last).

    Iterative depth-first search, visiting parents in argument order, so the
    order is the same for the same graph (drawings and `explain` rely on it).
    Constants are included; backward's own walk (`_backward`) visits only the
    nodes that need a gradient.
    """
    order = []
    started = set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in started:  # NOTE: marked when expanded, not when pushed, so a
            continue         # parent pushed late still lands before its children
        started.add(node)
        stack.append((node, True))
        for parent in reversed(node._parents):  # reversed: the first argument is visited first
            if parent not in started:
                stack.append((parent, False))
    return order


_passes = itertools.count(1)


def _backward(root, seed):
    """Reverse-mode traversal from ``root`` (iterative, Kahn's algorithm).

    Pass 1 walks the graph once, marking each node that needs a gradient with
    this pass's number and counting in ``_pending`` how many edges lead into it
    from the graph; intermediate gradients are cleared, leaves' kept aside.
    Pass 2 starts at the root; a node is processed only when every consumer
    has delivered its contribution, so its gradient is complete when passed on.
    Contributions are summed where a node is reached along several edges, and
    reduced to the parent's shape in one place (`_reduce_to_shape`).

    # NOTE: running gradients live on the nodes themselves (`.grad`) rather
    # than in a side dict: the issue asks every node to carry its gradient
    # after backward anyway, and slot access is the cheapest bookkeeping.
    """
    if not root._parents:  # backward on a leaf: d root / d root = 1
        root.grad = seed if root.grad is None else root.grad + seed
        return
    mark = next(_passes)
    root._mark = mark
    root.grad = seed
    saved_leaves = []
    stack = [root]
    pop, push = stack.pop, stack.append
    while stack:
        for parent in pop()._parents:
            if not parent.requires_grad:
                continue
            if parent._mark == mark:
                parent._pending += 1
                continue
            parent._mark = mark
            parent._pending = 1
            if parent._parents:
                push(parent)
            else:
                saved_leaves.append((parent, parent.grad))
            parent.grad = None

    anomaly = _mode.anomaly
    ndarray = np.ndarray
    ready = [root]
    pop, push = ready.pop, ready.append
    try:
        while ready:
            node = pop()
            parent_grads = node._op.backward(node.grad, node)
            if anomaly:
                _check_backward(node, parent_grads)
            for parent, parent_grad in zip(node._parents, parent_grads):
                if parent_grad is None or not parent.requires_grad:
                    continue
                data = parent.data
                if type(parent_grad) is ndarray and type(data) is ndarray:
                    # NOTE: `is not` on dtypes may send an equal dtype the long way; never a wrong one.
                    if parent_grad.dtype is not data.dtype or parent_grad.shape != data.shape:
                        parent_grad = _reduce_to_shape(parent_grad, data)
                elif type(parent_grad) is not float or type(data) is not float:
                    parent_grad = _reduce_to_shape(parent_grad, data)
                running = parent.grad
                if parent._parents:
                    parent.grad = parent_grad if running is None else running + parent_grad
                    count = parent._pending - 1
                    parent._pending = count
                    if count == 0:
                        push(parent)
                elif running is not None:
                    parent.grad = running + parent_grad
                elif type(parent_grad) is ndarray and (parent_grad is node.grad or parent_grad.base is not None):
                    # NOTE: a leaf owns its gradient array: one passed straight
                    # through (add) or as a view (reshape, broadcast) is shared.
                    parent.grad = parent_grad.copy()
                else:
                    parent.grad = parent_grad
    except BaseException:
        # A pass stopped half-way (detect_anomaly, a bad shape, Ctrl-C) must
        # not cost the leaves the gradients they had accumulated before it.
        for leaf, earlier in saved_leaves:
            leaf.grad = earlier
        raise

    # Leaves accumulate across backward calls.
    for leaf, earlier in saved_leaves:
        if earlier is not None:
            leaf.grad = earlier + leaf.grad


# ---------------------------------------------------------------------------
# Functions that are ops of their own
# ---------------------------------------------------------------------------


def sse(desired, actual):
    """The chapter's summed squared error, one op (Eq. 6.5):

        SSE = ½ Σ (Desired − Actual)²      over all elements, a scalar

    Its gradient with respect to ``actual`` is −E = −(Desired − Actual)
    (Eq. 6.17 times Eq. 6.21).  The two shapes must match exactly: no
    broadcasting, which here would silently sum the wrong errors.

    ``desired`` and ``actual`` are Values (or numbers/arrays), or two equally
    long lists of scalars, as a network built weight by weight produces: then
    the op's parents are the desired values followed by the actual ones, so
    each output node A_o connects straight to the SSE.
    """
    if (type(actual) is list or type(actual) is tuple) and (_holds_values(actual) or _holds_values(desired)):
        return _sse_of_scalars(desired, actual)
    actual = actual if type(actual) is Value else _constant(actual, "sse", desired if type(desired) is Value else None)
    desired = desired if type(desired) is Value else _constant(desired, "sse", actual)
    d, a = desired.data, actual.data
    if _shape(d) != _shape(a):
        raise ValueError(
            f"sse: desired has shape {_shape(d)} but actual has shape {_shape(a)}; they must match exactly")
    if type(d) is float and type(a) is float:
        error = d - a
        total = 0.5 * error * error
    else:
        error = np.subtract(d, a)
        total = np.asarray(0.5 * np.vdot(error, error), dtype=error.dtype)
    return _make(SSE_OP, total, (desired, actual), error)


def _holds_values(x):
    return isinstance(x, (list, tuple)) and any(type(item) is Value for item in x)


def _sse_of_scalars(desired, actual):
    def count(side):
        return len(side) if isinstance(side, (list, tuple, np.ndarray)) else None

    if count(desired) is None or count(actual) is None or count(desired) != count(actual):
        raise ValueError(f"sse: desired has {count(desired)} entries but actual has {count(actual)}; "
                         "they must be two lists of equal length")
    desired = [item if type(item) is Value else _constant(item, "sse") for item in desired]
    actual = [item if type(item) is Value else _constant(item, "sse") for item in actual]
    for item in desired + actual:
        if type(item.data) is not float:
            raise ValueError(f"sse: a list of Values must hold scalars, got an entry of shape {item.shape}")
    errors = [d.data - a.data for d, a in zip(desired, actual)]
    total = 0.5 * math.fsum(error * error for error in errors)
    return _make(SSE_OP, total, tuple(desired) + tuple(actual), errors)


def stack(values, axis=0):
    """Stack Values (scalars or arrays of one shape) along a new axis."""
    values = [value if type(value) is Value else _constant(value, "stack") for value in values]
    if not values:
        raise ValueError("stack: needs at least one Value")
    shapes = {_shape(value.data) for value in values}
    if len(shapes) != 1:
        raise ValueError(f"stack: all inputs must have one shape, got {sorted(shapes)}")
    ndim = len(shapes.pop()) + 1
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool) or not -ndim <= axis < ndim:
        raise ValueError(f"stack: axis {axis!r} is out of range for a result with {ndim} dimensions")
    out = np.stack([np.asarray(value.data) for value in values], axis=axis)
    return _make(STACK, out, tuple(values), axis)
