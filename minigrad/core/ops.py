"""The op table: every primitive, with everything about it side by side.

Each op is one object that holds its rules and its display facts.  The rules
are written once, as ordinary numpy code, and every mode runs the same code:
eager mode on floats and arrays, `minigrad.compile` on its tracing stand-in
(which records each call and writes it out as generated code), and a rule
may be run on Values too (to differentiate a gradient again).

The rule dialect
----------------

* **forward**: ``forward(*inputs, **options) -> (data, saved)``: the inputs'
  data (Python floats or numpy arrays) in; the result and whatever backward
  needs ``saved`` out.
* **backward**: ``backward(grad, out, saved, needs, *inputs)`` returns
  ∂loss/∂(each input), one per input (None where ``needs[k]`` is false, or
  wherever the op gives none), *before* broadcasting is undone (that happens
  in one place, `minigrad.core.backward.unbroadcast`).  ``grad`` is
  ∂loss/∂out, ``out`` the op's result, ``saved`` what forward saved,
  ``needs`` one bool per input (does it need a gradient?), ``inputs`` the
  inputs' data as forward received it.  A rule never reads a node.
* **jvp** (forward mode): ``jvp(tangents, out, saved, *inputs)`` returns the
  output's tangent Σ_k ∂out/∂(input k)·tangents[k] (``tangents``: one per
  input, zeros where an input does not move), beside ``backward`` in the same
  dialect; `minigrad.jvp` pushes tangents through a graph with it.

What a rule may use:

* Python's operators (``+ − * / **``, comparisons, ``[index]``), the array
  attributes ``shape``, ``ndim``, ``size``, ``dtype``, ``T`` and the methods
  ``reshape``, ``swapaxes``, and numpy functions and ufuncs (``np.expand_dims``,
  ``np.moveaxis``, ``np.stack``, ``np.reshape``, ``np.transpose``, ...) on
  arrays;
* a named helper of `minigrad.core.numerics` wherever floats and arrays need
  different code (``numerics.exp``: math.exp for a float, np.exp for an
  array) or numpy lacks the operation (GetItem's scatter-add, the stable
  sigmoid's parts).  Helpers take floats, arrays, and stand-ins alike (see
  `minigrad.core.numerics`), so a rule reaches them the same way in every mode;
* Python control flow on what is known before any number is (``saved``
  options such as an axis or an exponent, ``needs``, shapes and ndim), never
  on the numbers themselves (those go into a helper).

`minigrad.core.value` calls ``forward`` to record a node, and
`minigrad.core.backward` calls ``backward`` on the recorded node's data
(`Op.gradients` does the same for one node, for tools).

Display facts
-------------

``name`` (unique: errors and tools name it), ``symbol`` (what a drawing
shows), ``formula``, ``partials`` (the local derivative with respect to each
input, as a template that tools fill with the graph's names), the chapter's
``equations``, whether it is ``commutative`` and where it ``passes`` the
gradient through unchanged.  Drawings, `explain`, error messages, generated
code's comments and every other view ask the op; none keeps a list of op
names of its own.  `OPS` lists them all.

Templates in ``partials`` name the op's inputs ``{a}``, ``{b}``, its output
``{out}`` and, for the SSE, the error ``{E}``; `Op.partial` fills them (with
the op's own symbols when no names are given).
"""

from __future__ import annotations

import operator
from typing import Any, Callable

import numpy as np

from . import numerics

__all__ = ["Op", "OPS", "ADD", "SUB", "MUL", "DIV", "NEG", "POW_CONST", "POW", "EXP", "LOG", "TANH", "RELU",
           "SIGMOID", "ABS", "SQRT", "MAXIMUM", "MINIMUM", "CLIP", "SUM", "MEAN", "MAX", "MIN", "RESHAPE",
           "TRANSPOSE", "GETITEM", "MATMUL", "SSE", "SSE_SCALARS", "STACK", "SOFTMAX", "LOG_SOFTMAX", "MSE",
           "CROSS_ENTROPY", "ONE_HOT"]


class Op:
    """One primitive: its forward rule, its backward rule and how to show it."""

    name = "op"
    symbol: str | None = None   # what a drawing writes in the op's ellipse (default: name)
    formula = ""           # the forward rule in the op's own symbols
    out_symbol = "out"     # the output's symbol in the partials (sigmoid: F)
    partials: tuple = ()   # ∂out/∂(input k): templates with {a} {b} {out} {E}
    equations: tuple = ()  # the chapter's equation for partial k, or None
    saved_error = "E"      # generated code's name for the error ``saved`` holds (when partials name {E})
    backward_names: tuple = ()  # generated code's names for the first values backward computes, in order
    passes: tuple = ()     # True for input k when ∂out/∂(input k) is exactly 1
    commutative = False    # the result does not depend on the order of the inputs
    product = False        # a product of its two inputs: each one's partial is the other
    infix: str | None = None    # how an expression writes it between its operands (a · b)
    broadcasts = False     # elementwise under numpy broadcasting
    reads_inputs = False   # backward reads the inputs' data (so a constant input is copied when recorded)
    # The forward rule as a plain function of two inputs, for ops whose backward needs
    # nothing saved (+ − ×): `minigrad.core.value` calls it directly, a bound method call cheaper.
    function: Callable[..., Any] | None = None

    def forward(self, *inputs, **options):
        """The output's data and what backward needs saved: ``(data, saved)``."""
        if self.function is None:  # pragma: no cover - every op without a function overrides
            raise NotImplementedError
        return self.function(*inputs), None

    def backward(self, grad, out, saved, needs, *inputs):  # pragma: no cover - every op overrides
        """∂loss/∂(each input), given ``grad`` = ∂loss/∂out (see the module docstring)."""
        raise NotImplementedError

    def gradients(self, grad, node):
        """``backward`` for a recorded node (what `minigrad.core.backward` calls for it),
        before broadcasting is undone: one gradient (or None) per parent."""
        parents = node.parents
        return self.backward(grad, node.data, node.saved, tuple(parent.requires_grad for parent in parents),
                             *[parent.data for parent in parents])

    def jvp(self, tangents, out, saved, *inputs):
        """Forward mode: the output's tangent Σ_k ∂out/∂(input k) · tangents[k], one tangent per
        input (zeros for an input that does not move), in the same dialect as ``backward``."""
        raise NotImplementedError(f"jvp: op '{self.name}' has no forward-mode rule")

    def forward_options(self, saved):
        """The options ``forward`` was called with, read back from ``saved``, for an op whose
        ``saved`` holds numbers computed from the inputs (the sigmoid's e and r, the SSE's E):
        create_graph runs ``forward`` again on the input Values, so that a gradient of the
        backward sees through them.  None (the default): ``saved`` holds options only."""
        return None

    # -- display facts --------------------------------------------------------

    def label(self, node):
        """Short text for a drawing: the symbol and any options (``sum axis=1``)."""
        return self.symbol or self.name

    def _slot(self, position, node):
        """Which entry of ``partials``/``equations``/``passes`` speaks for input ``position``."""
        return min(position, len(self.partials) - 1)

    def partial(self, position, node=None, **names):
        """∂out/∂(input ``position``) as text, in ``names`` (a, b, out, E) where given."""
        symbols = {"a": "a", "b": "b", "out": self.out_symbol, "E": "E"}
        symbols.update(names)
        return self.partials[self._slot(position, node)].format(**symbols)

    def equation(self, position, node=None):
        """The chapter's equation for this partial, or None."""
        slot = self._slot(position, node)
        return self.equations[slot] if slot < len(self.equations) else None

    def passes_gradient(self, position, node=None):
        """True when this op hands input ``position`` the incoming gradient unchanged (factor 1)."""
        slot = self._slot(position, node)
        return slot < len(self.passes) and self.passes[slot]

    def argument_labels(self, node):
        """Edge labels for a drawing: positions where the order of the inputs matters."""
        count = len(node.parents)
        if count < 2 or self.commutative:
            return [None] * count
        return [str(position) for position in range(count)]

    def annotations(self, node):
        """Extra ``(label, data)`` pairs a view may show beside the op (the SSE's errors)."""
        return []

    def __repr__(self):
        return f"<op {self.name}>"


# ---------------------------------------------------------------------------
# Elementwise arithmetic
# ---------------------------------------------------------------------------


class Add(Op):
    """out = a + b.   ∂out/∂a = 1,  ∂out/∂b = 1."""

    name, symbol, formula, infix = "add", "+", "a + b", "+"
    partials, passes = ("1", "1"), (True, True)
    commutative = broadcasts = True
    function = operator.add

    def backward(self, grad, out, saved, needs, a, b):
        return grad, grad

    def jvp(self, tangents, out, saved, a, b):
        ta, tb = tangents
        return ta + tb


class Sub(Op):
    """out = a − b.   ∂out/∂a = 1,  ∂out/∂b = −1  (the −1 of Eq. 6.20/6.21)."""

    name, symbol, formula, infix = "sub", "−", "a − b", "−"
    partials, equations, passes = ("1", "−1"), (None, "6.21"), (True, False)
    broadcasts = True
    function = operator.sub

    def backward(self, grad, out, saved, needs, a, b):
        return grad, -grad

    def jvp(self, tangents, out, saved, a, b):
        ta, tb = tangents
        return ta - tb


class Mul(Op):
    """out = a · b.   ∂out/∂a = b,  ∂out/∂b = a  (Eq. 6.27 for a weight times an activation)."""

    name, symbol, formula, infix = "mul", "×", "a · b", "·"
    partials = ("{b}", "{a}")
    commutative = broadcasts = product = True
    reads_inputs = True
    function = operator.mul

    def backward(self, grad, out, saved, needs, a, b):
        return grad * b, grad * a

    def jvp(self, tangents, out, saved, a, b):
        ta, tb = tangents
        return ta * b + a * tb


class Div(Op):
    """out = a / b.   ∂out/∂a = 1/b,  ∂out/∂b = −a/b² = −out/b."""

    name, symbol, formula, infix = "div", "÷", "a / b", "/"
    partials = ("1/{b}", "−{a}/{b}²")
    reads_inputs = True
    broadcasts = True

    def forward(self, a, b):
        return numerics.quotient(a, b), None

    def backward(self, grad, out, saved, needs, a, b):
        grad_a = numerics.quotient(grad, b)
        return grad_a, (-grad_a * out if needs[1] else None)

    def jvp(self, tangents, out, saved, a, b):
        ta, tb = tangents
        return numerics.quotient(ta - out * tb, b)


class Neg(Op):
    """out = −a.   ∂out/∂a = −1."""

    name, symbol, formula = "neg", "−a", "−a"
    partials = ("−1",)

    def forward(self, a):
        return -a, None

    def backward(self, grad, out, saved, needs, a):
        return (-grad,)

    def jvp(self, tangents, out, saved, a):
        return -tangents[0]


class PowConst(Op):
    """out = aⁿ for a constant number n.   ∂out/∂a = n·aⁿ⁻¹."""

    name, formula = "pow_const", "aⁿ"
    partials = ("n·{a}ⁿ⁻¹",)
    reads_inputs = True

    def forward(self, a, exponent):
        return numerics.power(a, exponent), exponent

    def backward(self, grad, out, exponent, needs, a):
        if exponent == 2.0:
            return (grad * 2.0 * a,)
        return (grad * numerics.power_slope(a, exponent),)

    def jvp(self, tangents, out, exponent, a):
        return tangents[0] * numerics.power_slope(a, exponent)

    def label(self, node):
        return f"**{node.saved:g}"

    def partial(self, position, node=None, **names):
        if node is None:
            return super().partial(position, **names)
        n = node.saved
        a = names.get("a", "a")
        return f"{n:g}·{a}" if n == 2.0 else f"{n:g}·{a}^{n - 1:g}"


class Pow(Op):
    """out = aᵇ with b a Value.   ∂out/∂a = b·aᵇ⁻¹,  ∂out/∂b = aᵇ·ln a."""

    name, symbol, formula, out_symbol = "pow", "**", "aᵇ", "aᵇ"
    partials = ("{b}·{a}^({b}−1)", "{out}·ln {a}")
    reads_inputs = True
    broadcasts = True

    def forward(self, a, b):
        return numerics.power(a, b), None

    def backward(self, grad, out, saved, needs, a, b):
        grad_a = grad * numerics.power_slope(a, b) if needs[0] else None
        # NOTE: at a = 0, aᵇ·ln a reads 0·(−inf); its limit is 0, so ln 1 is used there.
        grad_b = grad * out * numerics.log(numerics.one_where_zero(a)) if needs[1] else None
        return grad_a, grad_b


# ---------------------------------------------------------------------------
# Elementwise functions
# ---------------------------------------------------------------------------

    def jvp(self, tangents, out, saved, a, b):
        ta, tb = tangents
        return ta * numerics.power_slope(a, b) + tb * out * numerics.log(numerics.one_where_zero(a))


class Exp(Op):
    """out = exp(a).   ∂out/∂a = exp(a) = out."""

    name, formula, out_symbol = "exp", "exp(a)", "exp(a)"
    partials = ("{out}",)

    def forward(self, a):
        return numerics.exp(a), None

    def backward(self, grad, out, saved, needs, a):
        return (grad * out,)

    def jvp(self, tangents, out, saved, a):
        return tangents[0] * out


class Log(Op):
    """out = ln(a).   ∂out/∂a = 1/a.

    As in numpy, ln(0) = −inf and ln of a negative number is nan, with numpy's
    RuntimeWarning; inside `detect_anomaly()` either raises `AnomalyError`.
    """

    name, formula = "log", "ln a"
    partials = ("1/{a}",)
    reads_inputs = True

    def forward(self, a):
        return numerics.log(a), None

    def backward(self, grad, out, saved, needs, a):
        return (numerics.quotient(grad, a),)

    def jvp(self, tangents, out, saved, a):
        return numerics.quotient(tangents[0], a)


class Tanh(Op):
    """out = tanh(a).   ∂out/∂a = 1 − tanh²(a) = (1 − out)(1 + out)."""

    name, formula, out_symbol = "tanh", "tanh(a)", "tanh(a)"
    partials = ("1 − {out}²",)

    def forward(self, a):
        return numerics.tanh(a), None

    def backward(self, grad, out, saved, needs, a):
        return (grad * ((1.0 - out) * (1.0 + out)),)

    def jvp(self, tangents, out, saved, a):
        return tangents[0] * ((1.0 - out) * (1.0 + out))


class ReLU(Op):
    """out = max(a, 0).   ∂out/∂a = 1 where a > 0, else 0 (0 at a = 0)."""

    name, formula = "relu", "max(a, 0)"
    partials = ("[{a} > 0]",)
    reads_inputs = True

    def forward(self, a):
        return numerics.relu(a), None

    def backward(self, grad, out, saved, needs, a):
        return (numerics.where_positive(a, grad),)

    def jvp(self, tangents, out, saved, a):
        return numerics.where_positive(a, tangents[0])


class Sigmoid(Op):
    """The chapter's transfer function with gain α (Eq. 6.1):

        F(x) = 1 / (1 + exp(−αx))

    and its derivative (Eq. 6.2; Eq. 6.23 at an output node):

        ∂F/∂x = α · F · (1 − F)

    # NOTE: 1 − F is never computed by subtraction.  With e = exp(−|αx|) and
    # r = 1/(1 + e), F·(1 − F) = e·r² exactly, so the derivative keeps full
    # relative accuracy deep in saturation (at αx = 30 it is 9.4e−14, not 0).
    """

    name, formula, out_symbol = "sigmoid", "F(x) = 1/(1 + exp(−αx))", "F"
    partials, equations = ("α·{out}·(1 − {out})",), ("6.2",)
    backward_names = ("e_r", "slope")  # e·r, then e·r² = F·(1 − F)

    def forward(self, x, alpha=1.0):
        value, e, r = numerics.sigmoid_parts(x, alpha)
        return value, (alpha, e, r)

    def backward(self, grad, out, saved, needs, x):
        alpha, e, r = saved
        slope = e * r * r  # F·(1 − F)
        return (grad * (slope if alpha == 1.0 else alpha * slope),)

    def jvp(self, tangents, out, saved, x):
        alpha, e, r = saved
        return tangents[0] * (alpha * (e * r * r))

    def forward_options(self, saved):
        return {"alpha": saved[0]}

    def label(self, node):
        return f"sigmoid α={node.saved[0]:g}"


class Abs(Op):
    """out = |a|.   ∂out/∂a = sign(a): 1 for a > 0, −1 for a < 0, and 0 at a = 0
    (numpy's sign(0) = 0; HIPS autograd and PyTorch take the same value there)."""

    name, formula = "abs", "|a|"
    partials = ("sign({a})",)
    reads_inputs = True

    def forward(self, a):
        return numerics.absolute(a), None

    def backward(self, grad, out, saved, needs, a):
        return (grad * numerics.sign(a),)

    def jvp(self, tangents, out, saved, a):
        return tangents[0] * numerics.sign(a)


class Sqrt(Op):
    """out = √a.   ∂out/∂a = 1/(2√a) = 1/(2·out).

    As in numpy, √ of a negative number is nan (with numpy's RuntimeWarning),
    and at a = 0 the derivative is inf; inside `detect_anomaly()` either
    raises `AnomalyError`.
    """

    name, formula, out_symbol = "sqrt", "√a", "√a"
    partials = ("1/(2·{out})",)

    def forward(self, a):
        return numerics.sqrt(a), None

    def backward(self, grad, out, saved, needs, a):
        return (numerics.quotient(grad, 2.0 * out),)

    def jvp(self, tangents, out, saved, a):
        return numerics.quotient(tangents[0], 2.0 * out)


class Maximum(Op):
    """out = max(a, b), elementwise under broadcasting.

    ∂out/∂a = 1 where a > b, 0 where a < b;  ∂out/∂b the other way round.
    # NOTE: where a = b the gradient is shared equally, ½ to each (as HIPS
    # autograd does), so the two partials always add up to 1.  A nan in either
    # input gives nan out and 0 to both.
    """

    name, formula = "maximum", "max(a, b)"
    partials = ("[{a} > {b}] (½ at a tie)", "[{b} > {a}] (½ at a tie)")
    commutative = broadcasts = True
    reads_inputs = True
    larger = True

    def forward(self, a, b):
        return (numerics.maximum(a, b) if self.larger else numerics.minimum(a, b)), None

    def backward(self, grad, out, saved, needs, a, b):
        return (grad * numerics.tie_share(a, b, self.larger) if needs[0] else None,
                grad * numerics.tie_share(b, a, self.larger) if needs[1] else None)

    def jvp(self, tangents, out, saved, a, b):
        ta, tb = tangents
        return ta * numerics.tie_share(a, b, self.larger) + tb * numerics.tie_share(b, a, self.larger)


class Minimum(Maximum):
    """out = min(a, b), elementwise under broadcasting.

    ∂out/∂a = 1 where a < b, 0 where a > b;  ∂out/∂b the other way round.
    # NOTE: where a = b the gradient is shared equally, ½ to each (as HIPS autograd does).
    """

    name, formula = "minimum", "min(a, b)"
    partials = ("[{a} < {b}] (½ at a tie)", "[{b} < {a}] (½ at a tie)")
    larger = False


class Clip(Op):
    """out = a limited to [lo, hi]  (lo ≤ hi; a bound of None is not applied).

    ∂out/∂a = 1 where lo < a < hi, 0 outside.
    # NOTE: at a = lo or a = hi exactly the gradient is 0, as HIPS autograd
    # takes it (the clipped value does not move when a moves outwards).
    """

    name, formula = "clip", "clip(a, lo, hi)"
    partials = ("[lo < {a} < hi]",)
    reads_inputs = True

    def forward(self, a, low, high):
        return numerics.clip(a, low, high), (low, high)

    def backward(self, grad, out, saved, needs, a):
        low, high = saved
        return (grad * numerics.clip_inside(a, low, high),)

    def jvp(self, tangents, out, saved, a):
        low, high = saved
        return tangents[0] * numerics.clip_inside(a, low, high)

    def partial(self, position, node=None, **names):
        if node is None:
            return super().partial(position, **names)
        low, high = _bounds(node)
        return f"[{low} < {names.get('a', 'a')} < {high}]"

    def label(self, node):
        low, high = _bounds(node)
        return f"clip [{low}, {high}]"


def _bounds(node):
    """A clip node's bounds as text: the numbers, with −∞ and ∞ for a bound of None."""
    low, high = node.saved
    return ("−∞" if low is None else _number(low)), ("∞" if high is None else _number(high))


def _number(number):
    """A number as formulas write it: ``%g``, with a minus sign (−) rather than a hyphen."""
    return f"{number:g}".replace("-", "−")


# ---------------------------------------------------------------------------
# Reductions, shapes and indexing
# ---------------------------------------------------------------------------


class Sum(Op):
    """out = Σ a over `axis` (all axes when None).   ∂out/∂a[j] = 1."""

    name, formula = "sum", "Σ a"
    partials, passes = ("1",), (True,)

    def forward(self, a, axis=None, keepdims=False):
        if type(a) is float:
            axis = None
        return numerics.total(a, axis, keepdims), (axis, keepdims)

    def backward(self, grad, out, saved, needs, a):
        axis, keepdims = saved
        return (numerics.expand_reduced(grad, a, axis, keepdims),)

    def jvp(self, tangents, out, saved, a):
        axis, keepdims = saved
        return numerics.total(tangents[0], axis, keepdims)

    def label(self, node):
        axis = node.saved[0]
        return "sum" if axis is None else f"sum axis={axis}"


class Mean(Op):
    """out = (1/N) Σ a over `axis`.   ∂out/∂a[j] = 1/N."""

    name, formula = "mean", "(1/N) Σ a"
    partials = ("1/N",)

    def forward(self, a, axis=None, keepdims=False):
        if type(a) is float:
            axis = None
        return numerics.mean(a, axis, keepdims), (axis, keepdims)

    def backward(self, grad, out, saved, needs, a):
        axis, keepdims = saved
        if numerics.shape(a) == ():
            return (grad,)
        size = numerics.size(a)
        count = size // max(numerics.size(out), 1) if size else 1
        return (numerics.expand_reduced(grad, a, axis, keepdims) / count,)

    def jvp(self, tangents, out, saved, a):
        axis, keepdims = saved
        return numerics.mean(tangents[0], axis, keepdims)

    def label(self, node):
        axis = node.saved[0]
        return "mean" if axis is None else f"mean axis={axis}"


class Max(Op):
    """out = max of a over `axis` (all axes when None).

    ∂out/∂a[j] = 1 where a[j] is the max, 0 elsewhere.
    # NOTE: k elements that tie for the max share the gradient equally, 1/k
    # each (as HIPS autograd does), so the partials over the reduced elements add up to 1.
    """

    name, formula = "max", "max a"
    partials = ("[{a} = {out}] ÷ ties",)
    reads_inputs = True
    larger = True

    def forward(self, a, axis=None, keepdims=False):
        try:
            out = numerics.extremum(a, axis, keepdims, self.larger)
        except ValueError:  # numpy: a zero-size reduction has no identity
            over = "its elements" if axis is None else f"axis {axis!r}"
            raise ValueError(f"{self.name}: a Value of shape {a.shape} has no elements along {over} to take "
                             f"the {self.name} of") from None
        return out, (axis, keepdims)

    def backward(self, grad, out, saved, needs, a):
        axis, keepdims = saved
        if numerics.shape(a) == ():
            return (grad,)
        return (numerics.expand_reduced(grad, a, axis, keepdims) * numerics.reduced_share(a, out, axis, keepdims),)

    def jvp(self, tangents, out, saved, a):
        axis, keepdims = saved
        if numerics.shape(a) == ():
            return tangents[0]
        # NOTE: elements that tie share the tangent as they share the gradient (an average of theirs)
        return numerics.total(tangents[0] * numerics.reduced_share(a, out, axis, keepdims), axis, keepdims)

    def label(self, node):
        axis = node.saved[0]
        return self.name if axis is None else f"{self.name} axis={axis}"


class Min(Max):
    """out = min of a over `axis` (all axes when None).

    ∂out/∂a[j] = 1 where a[j] is the min, 0 elsewhere.
    # NOTE: k elements that tie for the min share the gradient equally, 1/k each (as HIPS autograd does).
    """

    name, formula = "min", "min a"
    larger = False


class Reshape(Op):
    """out = a with a new shape.   ∂out/∂a is the identity, reshaped back."""

    name, formula = "reshape", "reshape(a)"
    partials, passes = ("1",), (True,)

    def forward(self, a, shape):
        try:
            out = numerics.namespace(a).reshape(a, shape)
        except (ValueError, RuntimeError):  # RuntimeError: torch's
            raise ValueError(f"reshape: cannot reshape shape {numerics.shape(a)} into {shape}") from None
        return out, tuple(out.shape)

    def backward(self, grad, out, saved, needs, a):
        return (numerics.namespace(grad).reshape(grad, numerics.shape(a)),)

    def jvp(self, tangents, out, shape, a):
        return numerics.namespace(tangents[0]).reshape(tangents[0], shape)

    def label(self, node):
        return f"reshape {node.saved}"


class Transpose(Op):
    """out = aᵀ (axes permuted).   ∂out/∂a is the inverse permutation."""

    name, formula = "transpose", "aᵀ"
    partials, passes = ("1",), (True,)

    def forward(self, a, axes=None):
        xp = numerics.namespace(a)
        try:  # NOTE: the standard's permute_dims needs the axes: numpy's None (reversed) spelled out
            out = xp.permute_dims(a, axes if axes is not None or xp is np else tuple(range(a.ndim))[::-1])
        except (ValueError, RuntimeError, IndexError) as error:
            raise ValueError(f"transpose: axes {axes} do not fit shape {numerics.shape(a)} ({error})") from None
        if axes is not None:
            ndim = len(numerics.shape(a))
            axes = tuple(int(axis) % ndim for axis in axes)  # the inverse permutation needs them >= 0
        return out, axes

    def backward(self, grad, out, axes, needs, a):
        xp = numerics.namespace(grad)
        if axes is None:
            return (np.transpose(grad) if xp is np else xp.permute_dims(grad, tuple(range(grad.ndim))[::-1]),)
        return (xp.permute_dims(grad, tuple(int(axis) for axis in np.argsort(axes))),)

    def jvp(self, tangents, out, axes, a):
        return self.forward(tangents[0], axes)[0]

    def label(self, node):
        return "transpose" if node.saved is None else f"transpose {node.saved}"


class GetItem(Op):
    """out = a[index].   ∂out/∂a scatters the gradient back into a's shape
    (summing where an integer-array index repeats an element)."""

    name, formula = "getitem", "a[index]"
    partials, passes = ("1",), (True,)

    def forward(self, a, index):
        if numerics.shape(a) == ():
            raise TypeError("getitem: a scalar Value cannot be indexed")
        try:
            out = a[numerics.foreign_index(index, a)]
        except IndexError as error:
            raise IndexError(
                f"getitem: index [{numerics.format_index(index)}] does not fit shape {a.shape} ({error})") from None
        return out, index

    def backward(self, grad, out, index, needs, a):
        return (numerics.scatter(grad, a, index),)

    def jvp(self, tangents, out, index, a):
        return tangents[0][numerics.foreign_index(index, a)]

    def label(self, node):
        return f"[{numerics.format_index(node.saved)}]"


class MatMul(Op):
    """out = a @ b (matrix, vector or batched, as numpy's matmul).

    ∂out[i,j]/∂a[i,k] = b[k,j],  ∂out[i,j]/∂b[k,j] = a[i,k];  as products,
    grad_a = grad @ bᵀ and grad_b = aᵀ @ grad (Eq. 6.27 for every weight at once).
    """

    name, symbol, formula, infix = "matmul", "@", "a @ b", "@"
    partials = ("{b}", "{a}")
    product = True
    reads_inputs = True

    def forward(self, a, b):
        return numerics.matmul(a, b), None

    def backward(self, grad, out, saved, needs, a, b):
        if a.ndim != 2 or b.ndim != 2:  # vectors and batches: see `_matmul_gradients_promoted`
            return _matmul_gradients_promoted(grad, needs, a, b)
        return (numerics.product(grad, b.T) if needs[0] else None,
                numerics.product(a.T, grad) if needs[1] else None)

    def jvp(self, tangents, out, saved, a, b):
        ta, tb = tangents
        return numerics.matmul(ta, b) + numerics.matmul(a, tb)


def _matmul_gradients_promoted(grad, needs, a, b):
    """`MatMul.backward` for a vector or a batch: 1-D operands are promoted to matrices (a as a
    row, b as a column) and the gradient gets the matching axes; both go away after."""
    a_ndim, b_ndim = a.ndim, b.ndim
    if a_ndim == 1 and b_ndim == 1:
        return (grad * b if needs[0] else None, grad * a if needs[1] else None)
    xp = numerics.namespace(grad, a, b)
    # NOTE: numpy's own spellings stay for numpy (and its tracer): the generated code reads as before
    if a_ndim == 1:
        a = a[np.newaxis, :]
        grad = np.expand_dims(grad, -2) if xp is np else xp.expand_dims(grad, axis=-2)
    if b_ndim == 1:
        b = b[:, np.newaxis]
        grad = np.expand_dims(grad, -1) if xp is np else xp.expand_dims(grad, axis=-1)
    grad_a = grad_b = None
    if needs[0]:
        grad_a = numerics.product(grad, b.T if b.ndim == 2 else _swap_last(xp, b))
        if a_ndim == 1:
            kept = grad_a.shape[:-2] + grad_a.shape[-1:]
            grad_a = grad_a.reshape(kept) if xp is np else xp.reshape(grad_a, kept)
    if needs[1]:
        grad_b = numerics.product(a.T if a.ndim == 2 else _swap_last(xp, a), grad)
        if b_ndim == 1:
            grad_b = grad_b[..., 0]
    return grad_a, grad_b


def _swap_last(xp, x):
    """x with its last two axes swapped: numpy's swapaxes (which Values and the tracer take), or the
    standard's matrix_transpose (it has no swapaxes)."""
    return x.swapaxes(-1, -2) if xp is np else xp.matrix_transpose(x)


class Stack(Op):
    """out = [a₀, a₁, …] stacked along a new axis.   ∂out[k]/∂a_k = 1."""

    name, formula = "stack", "[a₀, a₁, …]"
    partials, passes = ("1",), (True,)

    def forward(self, *inputs, axis=0):
        shapes = {numerics.shape(data) for data in inputs}
        if len(shapes) != 1:
            raise ValueError(f"stack: all inputs must have one shape, got {sorted(shapes)}")
        ndim = len(shapes.pop()) + 1
        if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool) or not -ndim <= axis < ndim:
            raise ValueError(f"stack: axis {axis!r} is out of range for a result with {ndim} dimensions")
        xp = numerics.namespace(*inputs)
        if xp is not np:  # NOTE: the standard stacks arrays only: floats become 0-d arrays beside them
            inputs = numerics.arrays_alike(inputs)
        return xp.stack(inputs, axis=axis), axis

    def backward(self, grad, out, axis, needs, *inputs):
        xp = numerics.namespace(grad)
        moved = xp.moveaxis(grad, axis, 0)
        if xp is not np:  # NOTE: `, ...` names the other axes, as the standard asks (numpy implies it)
            return tuple(moved[position, ...] if need else None for position, need in enumerate(needs))
        return tuple(moved[position] if need else None for position, need in enumerate(needs))

    def jvp(self, tangents, out, axis, *inputs):
        return numerics.namespace(*tangents).stack(tangents, axis=axis)

    def label(self, node):
        return "stack" if node.saved == 0 else f"stack axis={node.saved}"


# ---------------------------------------------------------------------------
# Along one axis: softmax and log-softmax
# ---------------------------------------------------------------------------


class Softmax(Op):
    """out = softmax(a) along `axis`:  p_i = exp(a_i) / Σ_j exp(a_j).

    ∂p_i/∂a_j = p_i·(δ_ij − p_j), so backward hands on p·(grad − Σ_j grad_j·p_j).
    # NOTE: computed as exp(a − max a) / Σ exp(a − max a), which is the same
    # number and never overflows (every exponent is ≤ 0).
    """

    name, formula, out_symbol = "softmax", "exp(a) / Σ exp(a)", "p"
    partials = ("{out}·(δ_ij − p_j)",)

    def forward(self, a, axis=-1):
        return numerics.softmax(a, axis), axis

    def backward(self, grad, out, axis, needs, a):
        return (numerics.softmax_backward(grad, out, axis),)

    def jvp(self, tangents, out, axis, a):
        return numerics.softmax_backward(tangents[0], out, axis)  # the Jacobian is symmetric: the same product

    def label(self, node):
        return f"softmax axis={node.saved}"


class LogSoftmax(Op):
    """out = log_softmax(a) along `axis`:  a_i − ln Σ_j exp(a_j).

    ∂out_i/∂a_j = δ_ij − softmax(a)_j, so backward hands on grad − softmax·Σ_j grad_j.
    # NOTE: computed as (a − max a) − ln Σ exp(a − max a): no overflow, and
    # no ln 0 (the sum is at least exp(0) = 1) for any finite a.
    """

    name, formula, out_symbol = "log_softmax", "a − ln Σ exp(a)", "log_softmax(a)"
    partials = ("δ_ij − p_j, p = softmax",)

    def forward(self, a, axis=-1):
        return numerics.log_softmax(a, axis), axis

    def backward(self, grad, out, axis, needs, a):
        return (numerics.log_softmax_backward(grad, out, axis),)

    def jvp(self, tangents, out, axis, a):
        t = tangents[0]
        return t - numerics.total(numerics.exp(out) * t, axis, True)

    def label(self, node):
        return f"log_softmax axis={node.saved}"


# ---------------------------------------------------------------------------
# Losses: the chapter's SSE, and its cousins
# ---------------------------------------------------------------------------


class CrossEntropy(Op):
    """Softmax cross-entropy of logits against targets (one-hot rows, or probabilities):

        loss = −(1/N) Σ_n Σ_c targets[n,c] · log_softmax(logits)[n,c]      (reduction "mean")

    with N the number of rows (patterns); reduction "sum" leaves out the 1/N.

    ∂loss/∂logits  = (softmax(logits) − targets) / N
    ∂loss/∂targets = −log_softmax(logits) / N

    Parents (logits, targets); ``saved`` is (axis, reduction, N, log_softmax);
    N is 1 for "sum".  `minigrad.cross_entropy` checks the targets and turns
    integer class labels into one-hot rows.
    # NOTE: the logits' gradient is computed as softmax·Σ_c targets − targets,
    # the same for rows that sum to 1, and exact for rows that sum to 1 only
    # within the check's tolerance.
    """

    name, symbol, formula = "cross_entropy", "cross-entropy", "−(1/N) Σ b · log_softmax(a)"
    partials = ("(softmax({a}) − {b})/N", "−log_softmax({a})/N")
    reads_inputs = True

    def forward(self, logits, targets, axis=-1, reduction="mean"):
        if numerics.shape(logits) == () or numerics.shape(targets) != numerics.shape(logits):
            raise ValueError(f"cross_entropy: logits have shape {numerics.shape(logits)} but targets have shape "
                             f"{numerics.shape(targets)}; they must match exactly")
        count = numerics.size(logits) // logits.shape[axis] if reduction == "mean" and logits.shape[axis] else 1
        log_p = numerics.log_softmax(logits, axis)
        return numerics.cross_entropy_loss(log_p, targets, count), (axis, reduction, count, log_p)

    def backward(self, grad, out, saved, needs, logits, targets):
        axis, _, count, log_p = saved
        return (numerics.cross_entropy_backward(grad, log_p, targets, axis, count) if needs[0] else None,
                -grad * log_p / count if needs[1] else None)

    def jvp(self, tangents, out, saved, logits, targets):
        axis, _, count, log_p = saved
        t_logits, t_targets = tangents
        moved = t_logits - numerics.total(numerics.exp(log_p) * t_logits, axis, True)  # log_softmax's tangent
        return -numerics.total(t_targets * log_p + targets * moved, None, False) / count

    def forward_options(self, saved):
        return {"axis": saved[0], "reduction": saved[1]}

    def argument_labels(self, node):
        return ["logits", "targets"]

    def label(self, node):
        return f"cross-entropy ({node.saved[1]})"


class OneHot(Op):
    """The one-hot rows of integer class labels, cross-entropy's targets:

        out[n, c] = 1 where c = labels[n], else 0        (the classes along ``axis``)

    The labels are integers, so nothing flows back to them: ∂out/∂labels is 0.  A recorded
    op rather than a constant made beforehand, so that a compiled step takes each batch's
    labels as an integer input (`minigrad.core.numerics.one_hot` checks their range on every
    call).  ``saved`` is (classes, axis, dtype).
    """

    name, symbol, formula = "one_hot", "one-hot", "[c = a]"
    partials = ("0",)
    integer_inputs = True  # its input is integer data: a compiled step keeps an integer argument integer for it

    def forward(self, labels, classes, axis, dtype):
        return numerics.one_hot(labels, classes, axis, dtype), (classes, axis, dtype)

    def backward(self, grad, out, saved, needs, labels):
        return (None,)

    def jvp(self, tangents, out, saved, labels):
        return out * 0.0

    def argument_labels(self, node):
        return ["labels"]

    def label(self, node):
        return f"one-hot ({node.saved[0]} classes)"


class MeanSquaredError(Op):
    """The mean squared error, the chapter's SSE (Eq. 6.5) averaged instead of halved:

        MSE = (1/N) Σ (Desired − Actual)² = (1/N) Σ E²      over all N elements, a scalar

    ∂MSE/∂Desired = 2E/N,   ∂MSE/∂Actual = −2E/N.

    Parents (desired, actual), whose shapes must match exactly; ``saved`` is E = desired − actual.
    """

    name, symbol, formula = "mse", "mse", "(1/N) Σ (Desired − Actual)²,  E = Desired − Actual"
    partials = ("2{E}/N", "−2{E}/N")

    def forward(self, desired, actual):
        if numerics.shape(desired) != numerics.shape(actual):  # NOTE: broadcasting would average the wrong errors
            raise ValueError(f"mse: desired has shape {numerics.shape(desired)} but actual has shape "
                             f"{numerics.shape(actual)}; they must match exactly")
        error = desired - actual
        return numerics.mean_square(error), error

    def backward(self, grad, out, error, needs, desired, actual):
        scaled = grad * (2.0 / max(numerics.size(error), 1)) * error
        return (scaled if needs[0] else None, -scaled if needs[1] else None)

    def jvp(self, tangents, out, error, desired, actual):
        t_desired, t_actual = tangents
        return numerics.total(error * (t_desired - t_actual), None, False) * (2.0 / max(numerics.size(error), 1))

    def forward_options(self, saved):
        return {}

    def argument_labels(self, node):
        return ["desired", "actual"]

    def annotations(self, node):
        return [("E", node.saved)]




class SummedSquaredError(Op):
    """The chapter's summed squared error (Eq. 6.5, 6.13), over two arrays:

        SSE = ½ Σ_o (Desired_o − Actual_o)² = ½ Σ_o E_o²

    ∂SSE/∂Desired_o = E_o                      (Eq. 6.17)
    ∂SSE/∂Actual_o  = E_o · (−1) = −E_o        (Eq. 6.17 times Eq. 6.21)

    Parents (desired, actual); ``saved`` is −E = actual − desired, the factor
    ∂SSE/∂Actual needs.

    # NOTE: actual − desired is exactly −(desired − actual) in IEEE arithmetic, so
    # saving −E gives the same SSE and gradients, bit for bit, with one negation
    # fewer on the common path (the actual's gradient, grad · (−E)).
    """

    name, symbol, formula = "sse", "sse", "½ Σ (Desired − Actual)²,  E = Desired − Actual"
    partials, equations = ("{E}", "−{E} = {E}·(−1)"), ("6.17", "6.17·6.21")
    #: What the generated code names ``saved``: the error with its sign flipped.
    saved_error = "minus_E"

    def forward(self, desired, actual):
        if numerics.shape(desired) != numerics.shape(actual):  # NOTE: broadcasting would sum the wrong errors
            raise ValueError(f"sse: desired has shape {numerics.shape(desired)} but actual has shape "
                             f"{numerics.shape(actual)}; they must match exactly")
        minus_error = actual - desired
        return numerics.half_squared_norm(minus_error), minus_error

    def backward(self, grad, out, minus_error, needs, desired, actual):
        return (-grad * minus_error if needs[0] else None, grad * minus_error if needs[1] else None)

    def jvp(self, tangents, out, minus_error, desired, actual):
        t_desired, t_actual = tangents
        return numerics.total(minus_error * (t_actual - t_desired), None, False)

    def forward_options(self, saved):
        return {}

    def argument_labels(self, node):
        return ["desired", "actual"]

    def annotations(self, node):
        return [("E", -node.saved)]


class SummedSquaredErrorOfScalars(SummedSquaredError):
    """The same SSE over two equal lists of scalar Values (a network built
    weight by weight), so each output node A_o connects straight to the loss.

    Parents desired_0 … desired_{O−1}, then actual_0 … actual_{O−1};
    ``saved`` is the list of errors E_o.  Partials as for `SummedSquaredError`, per element.
    """

    name = "sse_scalars"
    saved_error = "E"

    def forward(self, *pairs):
        half = len(pairs) // 2
        errors = [d - a for d, a in zip(pairs[:half], pairs[half:])]
        return numerics.half_sum_of_squares(*errors), errors

    def backward(self, grad, out, errors, needs, *pairs):
        half = len(errors)
        return [grad * error if needs[o] else None for o, error in enumerate(errors)] + \
               [-grad * error if needs[half + o] else None for o, error in enumerate(errors)]

    def jvp(self, tangents, out, errors, *pairs):
        half = len(errors)
        return sum(e * (td - ta) for e, td, ta in zip(errors, tangents[:half], tangents[half:]))

    def _slot(self, position, node):
        if node is None:
            return min(position, 1)
        return 0 if position < len(node.parents) // 2 else 1

    def output_index(self, position, node):
        """The output o that parent ``position`` belongs to."""
        return position % (len(node.parents) // 2)

    def argument_labels(self, node):
        half = len(node.parents) // 2
        if half == 1:
            return ["desired", "actual"]
        return [f"desired {o}" for o in range(half)] + [f"actual {o}" for o in range(half)]

    def annotations(self, node):
        return [(f"E_{o}", error) for o, error in enumerate(node.saved)]


ADD, SUB, MUL, DIV, NEG = Add(), Sub(), Mul(), Div(), Neg()
POW_CONST, POW = PowConst(), Pow()
EXP, LOG, TANH, RELU, SIGMOID = Exp(), Log(), Tanh(), ReLU(), Sigmoid()
ABS, SQRT, MAXIMUM, MINIMUM, CLIP = Abs(), Sqrt(), Maximum(), Minimum(), Clip()
SUM, MEAN, MAX, MIN = Sum(), Mean(), Max(), Min()
RESHAPE, TRANSPOSE, GETITEM, MATMUL, STACK = Reshape(), Transpose(), GetItem(), MatMul(), Stack()
SOFTMAX, LOG_SOFTMAX = Softmax(), LogSoftmax()
SSE, SSE_SCALARS, MSE, CROSS_ENTROPY = SummedSquaredError(), SummedSquaredErrorOfScalars(), MeanSquaredError(), \
    CrossEntropy()
ONE_HOT = OneHot()

#: Every primitive.
OPS = (ADD, SUB, MUL, DIV, NEG, POW_CONST, POW, EXP, LOG, TANH, RELU, SIGMOID, ABS, SQRT, MAXIMUM, MINIMUM, CLIP,
       SUM, MEAN, MAX, MIN, RESHAPE, TRANSPOSE, GETITEM, MATMUL, STACK, SOFTMAX, LOG_SOFTMAX,
       SSE, SSE_SCALARS, MSE, CROSS_ENTROPY, ONE_HOT)


class Cast(Op):
    """out = a as another float dtype (``Value.astype``).   ∂out/∂a = 1, the gradient cast back
    to a's dtype (by `minigrad.core.backward.unbroadcast`, which gives every gradient its input's dtype)."""

    name, formula = "cast", "a as dtype"
    partials, passes = ("1",), (True,)

    def forward(self, a, dtype):
        return numerics.cast(a, dtype), None

    def backward(self, grad, out, saved, needs, a):
        return (grad,)

    def jvp(self, tangents, out, saved, a):
        return tangents[0]  # cast to the output's dtype where forward mode fits each tangent to its output

    def label(self, node):
        return f"cast {np.dtype(node.dtype).name}"


# NOTE: not in OPS: the random-graph strategies, which exercise every op of the table against
# the oracles, draw no dtype changes; tests/compile/test_integer_inputs.py compiles it.
CAST = Cast()
