"""`minigrad.compile`: trace a step once, replay it as generated numpy code.

    step = minigrad.compile(net.loss)     # any function returning a one-element Value
    loss = step(inputs, desired)          # traces on the first call, replays after
    optimizer.step()                      # parameters hold .grad as loss.backward() leaves them
    print(step.source)                    # the generated forward and backward

Tracing runs the function once, eagerly, on Values standing for its
arguments, and reads the recorded graph: every op writes itself as code
(``emit_forward`` / ``emit_backward`` in `minigrad.core.ops`), in the order
`minigrad.core.backward` walks the graph, with broadcasting undone as
`minigrad.core.backward.unbroadcast` would undo it (decided now: the shapes are
known).  The generated code makes the same numpy calls on the same numbers
as eager mode, so replays give eager's loss and gradients bit for bit; it
only skips the bookkeeping, and keeps arrays in preallocated buffers that
are reused once a value is dead.

What a trace specializes on (a call that differs in any of them traces
again; the newest `CompiledStep.cache_size` traces are kept):

* each argument's kind (Python float, numpy array, Value, list or tuple of
  those), shape and dtype, a matrix's memory order, and for a Value whether
  it requires grad;
* arguments of any other hashable type (ints, strings, None, modules), by value;
* each parameter's (a Value that requires grad and that the function
  reaches by itself) kind, shape, dtype and memory order, checked on every call;
* which Values the function reaches, and how it combines them: the graph.

Numbers the function reaches other than its arguments and parameters are
constants, frozen at the trace (pass data that changes as an argument);
a constant Value that the caller keeps is read on every call.  Python that
depends on a traced number (``if x > 0``, ``float(v)``, ``bool(v)``,
``v.item()``, ``no_grad()``) is refused with `TracingError`, naming the line.
"""

from __future__ import annotations

import builtins
import collections
import gc
import inspect
import itertools
import keyword
import linecache
import math
import re
import threading
import time
import types
import warnings
import weakref

import numpy as np

from ..core import namespace
from ..core import numerics
from . import _emitters
from ..core.backward import _one_pass_at_a_time as _gradient_lock
from ..core.backward import add_gradients as add_gradient, backward_order, topological_order, unbroadcast
from ..core.modes import TracingError, enable_grad, is_grad_enabled, state, tracing
from ..optim.optimizers import SGD, Optimizer
from ..core.value import Value, as_data, leaf, next_version

__all__ = ["compile", "CompiledStep", "Trace", "TracingError", "CompileError", "CompileCheckError"]

_ndarray = np.ndarray  # NOTE: one global lookup in the replay's type tests, run on every call
_FLOAT64, _FLOAT32 = np.dtype(np.float64), np.dtype(np.float32)  # dtypes are singletons: `is` tests them

# NOTE: compiled steps add their gradients under backward's own lock
# (`_gradient_lock`), so compiled steps and eager backward passes sharing
# parameters in several threads add every contribution exactly once.


class CompileError(RuntimeError):
    """The function or its arguments cannot be compiled (nothing is run or changed)."""


def _numpy_only(data, where):
    """A CompileError for data of another array library: generated code is numpy's for now."""
    if type(data) is not float and type(data) is not _ndarray and namespace.is_foreign(data):
        raise CompileError(f"{where}: got {namespace.describe(data)}; minigrad.compile generates numpy code only "
                           "for now (eager mode runs in any Array API library): run the step eagerly, or move the "
                           "data to numpy with Value.to(numpy) / .numpy() first")


class CompileCheckError(AssertionError):
    """``check=True``: the compiled step and eager mode disagree beyond rounding."""


# ---------------------------------------------------------------------------
# Expressions: what op emitters build
# ---------------------------------------------------------------------------


class Expr:
    """A value of the generated program: a program value, a constant, or a
    primitive applied to expressions.  Evaluated as it is built, on the
    trace's numbers, so its type, shape and dtype are known exactly."""

    __slots__ = ("program", "primitive", "args", "params", "value", "val", "label", "literal_name")

    def __init__(self, program, primitive, args, params, value, val=None):
        self.program, self.primitive, self.args, self.params = program, primitive, args, params
        self.value, self.val, self.label, self.literal_name = value, val, None, None

    # -- what emitters may ask --------------------------------------------------

    @property
    def is_float(self):
        """True for a Python float (the scalar path)."""
        return type(self.value) is float

    @property
    def shape(self):
        return numerics.shape(self.value) if type(self.value) in (float, int) else np.shape(self.value)

    @property
    def dtype(self):
        return _FLOAT64 if type(self.value) in (float, int) else self.value.dtype

    @property
    def is_constant(self):
        return self.primitive is None and self.val is None

    # -- Python's operators, as the ops' backward rules use them ------------------

    def __add__(self, other):
        return self.program.apply("add", self, other)

    def __radd__(self, other):
        return self.program.apply("add", other, self)

    def __sub__(self, other):
        return self.program.apply("subtract", self, other)

    def __rsub__(self, other):
        return self.program.apply("subtract", other, self)

    def __mul__(self, other):
        return self.program.apply("multiply", self, other)

    def __rmul__(self, other):
        return self.program.apply("multiply", other, self)

    def __truediv__(self, other):
        return self.program.apply("divide", self, other)

    def __rtruediv__(self, other):
        return self.program.apply("divide", other, self)

    def __neg__(self):
        return self.program.apply("negative", self)

    def __repr__(self):
        what = self.primitive.name if self.primitive else ("value" if self.val else "constant")
        return f"<Expr {what} {type(self.value).__name__} {self.shape}>"


class Primitive:
    """One operation generated code may use: how to evaluate it now and how to write it.

    ``kind``: ``"ufunc"`` (elementwise, writes into a buffer, may reuse a
    dead input's buffer), ``"out"`` (writes into a buffer of its own:
    matmul, reductions), ``"alloc"`` (makes a fresh array, or a float),
    ``"view"`` (shares its first argument's memory), ``"float"`` (Python
    floats only).  ``write_float(args)`` and ``write_array(args, out)``
    return ``(text, precedence)``; arguments come as ``(text, precedence)``.
    """

    def __init__(self, name, kind, evaluate, write_array, write_float=None, atomic=()):
        self.name, self.kind, self.evaluate = name, kind, evaluate
        self.write_array, self.write_float = write_array, write_float
        self.atomic = atomic  # argument positions written more than once: they must be plain names

    def __repr__(self):
        return f"<primitive {self.name}>"


# Precedence of Python's operators, for parentheses in float expressions.
_CONDITIONAL, _SUM, _PRODUCT, _UNARY, _ATOM = 0, 1, 2, 3, 4


def _wrap(arg, below):
    """An argument's text, parenthesized when its precedence is below ``below``."""
    text, precedence = arg
    return f"({text})" if precedence < below else text


def _out(out):
    """The buffer a numpy call writes into, as its last positional argument (a
    keyword costs numpy a parse on every call)."""
    return f", {out}" if out else ""


def _out_keyword(out):
    """The buffer as ``out=``, for the calls that take it only so."""
    return f", out={out}" if out else ""


def _infix(symbol, precedence):
    def write(args, params):
        left, right = args
        # NOTE: Python's operators are left-associative: a − (b − c) needs its parentheses.
        return f"{_wrap(left, precedence)} {symbol} {_wrap(right, precedence + 1)}", precedence
    return write


# The ufuncs generated code calls most, imported by name (a lookup saved per call).
_BOUND = ("add", "subtract", "multiply", "divide", "negative", "matmul", "dot", "vdot")


def _ufunc(function):
    qualified = function if function in _BOUND else f"np.{function}"
    keyword = function in ("maximum", "minimum")  # numpy deprecates their positional out

    def write(args, params, out):
        where = _out_keyword(out) if keyword else _out(out)
        return f"{qualified}({', '.join(text for text, _ in args)}{where})", _ATOM
    return write


def _call(function):
    def write(args, params, out=None):
        return f"{function}({', '.join(text for text, _ in args)})", _ATOM
    return write


def _as_array(value):
    """numpy's 0-d results as 0-d arrays (what a buffer holds), other values as they are."""
    return np.asarray(value) if isinstance(value, np.generic) else value


def _quotient_float(args, params):
    left, right = args
    return f"{_wrap(left, _PRODUCT)} / {_wrap(right, _ATOM)} if {right[0]} else quotient({left[0]}, {right[0]})", \
        _CONDITIONAL


def _relu_float(args, params):
    (a, _), = args
    return f"0.0 if {a} <= 0.0 else {a}", _CONDITIONAL


def _where_positive_float(args, params):
    (a, _), (grad, _) = args
    return f"{grad} if {a} > 0.0 else 0.0", _CONDITIONAL


def _where_positive_array(args, params, out):
    (a, _), (grad, _) = args
    return f"np.multiply({grad}, {a} > 0{_out(out)})", _ATOM


def _reduce_array(args, params, out):
    (a, _), = args
    if params["keepdims"]:
        return f"np.add.reduce({a}, axis={params['axis']!r}, keepdims=True{_out_keyword(out)})", _ATOM
    return f"np.add.reduce({a}, {params['axis']!r}{', None' + _out(out) if out else ''})", _ATOM  # (a, axis, dtype, out)


def _mean_array(args, params, out):
    (a, _), = args
    keep = ", keepdims=True" if params["keepdims"] else ""
    return f"np.asarray({_wrap(args[0], _ATOM)}.mean(axis={params['axis']!r}{keep}))", _ATOM


def _expand_reduced_array(args, params, out):
    (grad, _), = args
    axis = params["axis"]
    if axis is not None and not params["keepdims"]:
        grad = f"np.expand_dims({grad}, {axis!r})"
    return f"np.broadcast_to({grad}, {params['shape']!r})", _ATOM


def _transpose_array(args, params, out):
    (a, precedence), = args
    axes = params["axes"]
    if params["float"]:
        a, precedence = f"np.asarray({a})", _ATOM
    if axes is None and params["ndim"] == 2:
        return f"{_wrap((a, precedence), _ATOM)}.T", _ATOM
    return (f"np.transpose({a})" if axes is None else f"np.transpose({a}, {axes!r})"), _ATOM


def _index_text(index, program, expression=False):
    """An index as Python writes it between brackets (or, ``expression``, as a value:
    slices as ``slice(...)``); arrays become named constants."""
    items = index if type(index) is tuple else (index,)
    parts = []
    for item in items:
        if isinstance(item, slice):
            start, stop, step = ("" if part is None else repr(int(part)) for part in (item.start, item.stop, item.step))
            if expression:
                parts.append(f"slice({start or None}, {stop or None}, {step or None})")
            else:
                parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif item is Ellipsis:
            parts.append("...")
        elif item is None:
            parts.append("None")
        elif isinstance(item, np.ndarray):
            parts.append(program.constant_name(item, "index"))
        else:
            parts.append(repr(int(item)))
    text = ", ".join(parts)
    if type(index) is tuple and len(items) == 1:
        text += ","
    return f"({text})" if expression and type(index) is tuple else text


def _getitem_array(args, params, out):
    return f"{_wrap(args[0], _ATOM)}[{params['text']}]", _ATOM


def _scatter_lines(target, args, params):
    (grad, _), = args
    lines = [f"{target} = np.zeros({params['shape']!r}, dtype=np.{params['dtype']})"]
    if params["basic"]:
        lines.append(f"{target}[{params['text']}] = {grad}")
    else:
        lines.append(f"np.add.at({target}, {params['expression']}, {grad})  # a repeated element sums its gradients")
    return lines


def _scatter(grad, like, index):
    full = np.zeros(like.shape, dtype=like.dtype)
    if numerics.is_basic_index(index):
        full[index] = grad
    else:
        np.add.at(full, index, grad)
    return full


def _scale_lines(target, args, params):
    (x, _), (alpha, _) = args
    out = params.get("out")
    return ["with np.errstate(over='ignore'):  # NOTE: α·x may overflow to ±inf, which is harmless: e = 0 there",
            f"    {target} = np.multiply({x}, {alpha}{_out(out)})"]


def _stack_array(args, params, out):
    return f"np.stack([{', '.join(text for text, _ in args)}], axis={params['axis']})", _ATOM


def _half_squared_norm_array(args, params, out):
    (error, _), = args
    return f"np.array(0.5 * vdot({error}, {error}))", _ATOM  # vdot gives a scalar of error's dtype


def _half_sum_of_squares_float(args, params):
    squares = ", ".join(f"{error} * {error}" for error, _ in args)
    return f"0.5 * fsum(({squares},))", _PRODUCT


def _half_sum_of_squares(*errors):
    return 0.5 * math.fsum(error * error for error in errors)


def _numerics_call(function):
    """Written as a call of ``minigrad.core.numerics.<function>``, its parameters as keywords."""
    def write(args, params, out=None):
        keywords = [f"{key}={_float_text(value)[0] if type(value) is float else repr(value)}"
                    for key, value in params.items()]
        return f"{function}({', '.join([text for text, _ in args] + keywords)})", _ATOM
    return write


def _numerics_primitive(function):
    """An op's own numerics helper, called the same way by eager mode and by generated code."""
    return Primitive(function, "alloc", getattr(numerics, function), _numerics_call(function),
                     _numerics_call(function))


def _extremum_array(args, params, out):
    (a, _), = args
    reduce = "np.maximum.reduce" if params["larger"] else "np.minimum.reduce"
    keep = ", keepdims=True" if params["keepdims"] else ""
    return f"np.asarray({reduce}({a}, axis={params['axis']!r}{keep}))", _ATOM


# The numerics helpers generated code imports by name (each the very function eager mode calls).
_HELPERS = ("clip", "clip_inside", "cross_entropy_backward", "cross_entropy_loss", "log_softmax",
            "log_softmax_backward", "mean_square", "reduced_share", "softmax", "softmax_backward", "tie_share")


PRIMITIVES = {primitive.name: primitive for primitive in [
    Primitive("add", "ufunc", lambda a, b: a + b, _ufunc("add"), _infix("+", _SUM)),
    Primitive("subtract", "ufunc", lambda a, b: a - b, _ufunc("subtract"), _infix("-", _SUM)),
    Primitive("multiply", "ufunc", lambda a, b: a * b, _ufunc("multiply"), _infix("*", _PRODUCT)),
    Primitive("divide", "ufunc", numerics.quotient, _ufunc("divide"), _quotient_float, atomic=(0, 1)),
    Primitive("negative", "ufunc", lambda a: -a, _ufunc("negative"),
              lambda args, params: (f"-{_wrap(args[0], _UNARY)}", _UNARY)),
    Primitive("power", "ufunc", numerics.power, _ufunc("power"), _call("power")),
    Primitive("power_slope", "alloc", numerics.power_slope, _call("power_slope"), _call("power_slope")),
    Primitive("one_where_zero", "alloc", numerics.one_where_zero, _call("one_where_zero"), _call("one_where_zero")),
    Primitive("exp", "ufunc", numerics.exp, _ufunc("exp"), _call("exp")),
    Primitive("log", "ufunc", numerics.log, _ufunc("log"), _call("log")),
    Primitive("tanh", "ufunc", lambda a: math.tanh(a) if type(a) is float else np.tanh(a), _ufunc("tanh"),
              _call("tanh")),
    Primitive("relu", "ufunc", lambda a: (0.0 if a <= 0.0 else a) if type(a) is float else np.maximum(a, 0),
              lambda args, params, out: (f"np.maximum({args[0][0]}, 0{_out_keyword(out)})", _ATOM),
              _relu_float,
              atomic=(0,)),
    Primitive("where_positive", "ufunc",
              lambda a, grad: (grad if a > 0.0 else 0.0) if type(a) is float else grad * (a > 0),
              _where_positive_array, _where_positive_float, atomic=(0, 1)),
    Primitive("sum", "out", lambda a, axis, keepdims: np.add.reduce(a, axis=axis, keepdims=keepdims),
              _reduce_array),
    Primitive("mean", "alloc", lambda a, axis, keepdims: a.mean(axis=axis, keepdims=keepdims), _mean_array),
    Primitive("expand_reduced", "view", lambda grad, shape, axis, keepdims:
              np.broadcast_to(np.expand_dims(grad, axis) if axis is not None and not keepdims else grad, shape),
              _expand_reduced_array),
    Primitive("reshape", "view", lambda a, shape: np.reshape(a, shape),
              lambda args, params, out: (f"np.reshape({args[0][0]}, {params['shape']!r})", _ATOM)),
    Primitive("transpose", "view", lambda a, axes, ndim, float: np.transpose(np.asarray(a), axes), _transpose_array),
    Primitive("expand_dims", "view", lambda a, axis: np.expand_dims(a, axis),
              lambda args, params, out: (f"np.expand_dims({args[0][0]}, {params['axis']!r})", _ATOM)),
    Primitive("moveaxis", "view", lambda a, source, destination: np.moveaxis(a, source, destination),
              lambda args, params, out:
              (f"np.moveaxis({args[0][0]}, {params['source']!r}, {params['destination']!r})", _ATOM)),
    Primitive("getitem", "view", lambda a, index, text: a[index], _getitem_array),
    Primitive("broadcast_to", "view", lambda a, shape: np.broadcast_to(a, shape),
              lambda args, params, out: (f"np.broadcast_to({args[0][0]}, {params['shape']!r})", _ATOM)),
    Primitive("scatter", "alloc",
              lambda grad, like, index, shape, dtype, basic, text, expression: _scatter(grad, like, index),
              _scatter_lines),
    Primitive("matmul", "out", numerics.matmul, _ufunc("matmul")),
    Primitive("dot", "out", numerics.matmul, _ufunc("dot")),  # matmul of matrices and vectors, as eager makes it
    Primitive("stack", "alloc", lambda *arrays, axis: np.stack([np.asarray(a) for a in arrays], axis=axis),
              _stack_array),
    Primitive("scale_quietly", "ufunc", lambda x, alpha: x * alpha, _scale_lines),
    Primitive("half_squared_norm", "alloc",
              lambda error, dtype: np.asarray(0.5 * numerics.vdot(error, error), dtype=error.dtype),
              _half_squared_norm_array),
    Primitive("half_sum_of_squares", "float", _half_sum_of_squares, None, _half_sum_of_squares_float,
              atomic="all"),
    Primitive("astype", "alloc", lambda a, dtype: a.astype(dtype),
              lambda args, params, out: (f"{_wrap(args[0], _ATOM)}.astype(np.{params['dtype']})", _ATOM)),
    Primitive("to_float", "float", lambda a: float(np.sum(a)), None,
              lambda args, params: (f"float(np.sum({args[0][0]}))", _ATOM)),
    Primitive("copy", "alloc", lambda a: np.array(a), lambda args, params, out: (f"np.array({args[0][0]})", _ATOM)),
    Primitive("absolute", "ufunc", numerics.absolute, _ufunc("absolute"), _call("abs")),
    Primitive("sign", "ufunc", numerics.sign, _ufunc("sign"), _call("sign")),
    Primitive("sqrt", "ufunc", numerics.sqrt, _ufunc("sqrt"), _call("sqrt")),
    Primitive("maximum", "ufunc", numerics.maximum, _ufunc("maximum"), _call("maximum")),
    Primitive("minimum", "ufunc", numerics.minimum, _ufunc("minimum"), _call("minimum")),
    Primitive("extremum", "alloc", numerics.extremum, _extremum_array),
]}
PRIMITIVES.update((function, _numerics_primitive(function)) for function in _HELPERS)

# Primitives whose result is an ndarray even when it is 0-d (numpy's own calls give scalars).
_ARRAY_RESULTS = {"copy", "half_squared_norm", "mean", "scatter", "extremum"} | set(_HELPERS)

# Primitives written as several lines (``lines(target, args, params)``) rather than one expression.
_MULTILINE = {"scatter", "scale_quietly"}


# ---------------------------------------------------------------------------
# The program: straight-line statements over named values
# ---------------------------------------------------------------------------


class _Storage:
    """The memory behind array values: one buffer, shared by a value and its views.

    ``layout`` is the memory order eager mode's array had ("C", "F", or its
    strides): a buffer keeps it, since the order in which numpy adds up a
    reduction (and so its last bits) follows the memory order."""

    __slots__ = ("shape", "dtype", "layout", "template", "vals", "buffer", "fresh", "end")

    def __init__(self, value, fresh=False):
        self.shape, self.dtype, self.layout, self.template = value.shape, value.dtype, _layout(value), value
        self.vals, self.buffer, self.fresh, self.end = [], None, fresh, -1

    @property
    def kind(self):
        return self.shape, self.dtype, self.layout


def _layout(array):
    """"C", "F", or the strides of an array in neither order (what a buffer must copy)."""
    if array.flags.c_contiguous:
        return "C"
    return "F" if array.flags.f_contiguous else array.strides


class _Val:
    """One named value of the program (a local variable of the generated function)."""

    __slots__ = ("name", "value", "storage", "external", "direct", "statement", "last", "uses", "inline", "user")

    def __init__(self, name, value, storage=None, external=False, direct=True):
        self.name, self.value, self.storage, self.external, self.direct = name, value, storage, external, direct
        self.statement, self.last, self.uses, self.inline, self.user = None, -1, 0, False, None
        if storage is not None:
            storage.vals.append(self)


class _Statement:
    """``targets = primitive(args)``, a sigmoid block, or a comment."""

    __slots__ = ("primitive", "targets", "args", "params", "comment", "fresh", "sigmoid")

    def __init__(self, primitive=None, targets=(), args=(), params=None, comment=None, sigmoid=False):
        self.primitive, self.targets, self.args, self.params = primitive, list(targets), list(args), params or {}
        self.comment, self.fresh, self.sigmoid = comment, False, sigmoid


def _same_kind(a, b):
    """Same Python type, and for arrays the same shape and dtype."""
    if type(a) is not type(b):
        return False
    return type(a) is not _ndarray or (a.shape == b.shape and a.dtype == b.dtype)


def _float_text(number):
    if math.isnan(number):
        return "math.nan", _ATOM
    if math.isinf(number):
        return ("math.inf", _ATOM) if number > 0 else ("-math.inf", _UNARY)
    text = repr(number)
    return text, (_UNARY if text.startswith("-") else _ATOM)


class Program:
    """The generated program while it is built: statements, values, buffers, constants."""

    def __init__(self, fold):
        self.fold = fold
        self.statements = []
        self.identifiers = set(_RESERVED)
        self._counts = {}  # stem -> the last suffix given
        self.constants = {}      # module-level name -> object (arrays, named numbers)
        self._constant_ids = {}  # id(array) -> name
        self.buffers = []        # the storages given buf0, buf1, ...
        self.masks = {}          # shape -> name of a boolean buffer (the sigmoid's test)
        self._temporaries = 0

    # -- names -------------------------------------------------------------------

    def unique(self, stem):
        """A fresh identifier from ``stem`` (``H``, then ``H__2``, ...)."""
        stem = _identifier(stem)
        name, count = stem, self._counts.get(stem, 1)
        while name in self.identifiers:
            count += 1
            name = f"{stem}__{count}"
        self._counts[stem] = count
        self.identifiers.add(name)
        return name

    def temporary(self):
        self._temporaries += 1
        return self.unique(f"t{self._temporaries}")

    def constant_name(self, array, stem):
        """A module-level name for a constant array (one per array)."""
        if id(array) in self._constant_ids:
            return self._constant_ids[id(array)]
        name = self.unique(stem.upper())
        self.constants[name] = array
        self._constant_ids[id(array)] = name
        return name

    # -- expressions -----------------------------------------------------------------

    def constant(self, value, name=None):
        """A constant: a number, or an array.  With ``fold=False`` and a name, the
        generated code names it (``alpha = 2.0``) where it is used."""
        if isinstance(value, (bool, np.bool_)):
            raise CompileError(f"compile: a boolean constant {value!r} in generated code")
        if isinstance(value, np.generic):
            value = np.asarray(value)
        elif isinstance(value, (float, np.floating)) or (isinstance(value, int) and name != "N"):
            value = float(value)
        expr = Expr(self, None, (), {}, value)
        if name is not None and not self.fold:
            expr.literal_name = name
        return expr

    def lift(self, arg):
        return arg if isinstance(arg, Expr) else self.constant(arg)

    def apply(self, name, *args, **params):
        """``name`` (a `Primitive`) applied to expressions or numbers, evaluated now."""
        primitive = PRIMITIVES[name]
        args = [self.lift(arg) for arg in args]
        value = _as_array(primitive.evaluate(*[arg.value for arg in args], **params))  # NOTE: under errstate
        if self.fold:
            folded = self._folded(primitive, args, value)
            if folded is not None:
                return folded
        return Expr(self, primitive, args, params, value)

    def _folded(self, primitive, args, value):
        """The same value with less work: constants computed now, ×1 and −(−x) dropped.

        Only rewrites that give the same bits are made (x·1 = x, x·(−1) = −x
        and −(−x) = x hold exactly in IEEE arithmetic)."""
        if primitive.kind in ("ufunc", "float") and all(arg.is_constant for arg in args) \
                and not any(arg.literal_name for arg in args):
            return self.constant(value)
        if primitive.name == "multiply":
            for constant, other in (args, args[::-1]):
                if not constant.is_constant or constant.literal_name or np.size(constant.value) != 1:
                    continue
                if not _same_kind(value, other.value):
                    continue
                number = float(np.asarray(constant.value).reshape(-1)[0])
                if number == 1.0:
                    return other
                if number == -1.0:
                    return self.apply("negative", other)
        if primitive.name == "negative" and args[0].primitive is not None and args[0].primitive.name == "negative":
            inner = args[0].args[0]
            if _same_kind(value, inner.value):
                return inner
        return None

    # -- statements ----------------------------------------------------------------------

    def comment(self, text):
        self.statements.append(_Statement(comment=text))

    def external(self, name, value):
        """A value the generated function receives (an input, a parameter's data)."""
        return Expr(self, None, (), {}, value, val=_Val(self.unique(name), value, external=True))

    def materialize(self, expr, name=None, exact=False):
        """Write the statements that compute ``expr``; returns its `_Val` (None for a constant).
        ``name`` is made unique, unless ``exact`` (it already is)."""
        if expr.val is not None:
            return expr.val
        if expr.primitive is None:
            return None
        for arg in expr.args:
            self.materialize(arg)
        value = expr.value
        label = name or expr.label
        val = _Val(name if exact else self.unique(label) if label else self.temporary(), value)
        kind = expr.primitive.kind
        if type(value) is _ndarray:
            if kind == "view":
                base = next((arg.val for arg in expr.args if arg.val is not None and type(arg.value) is _ndarray), None)
                if base is None or base.external:
                    val.external = True
                else:
                    val.storage = base.storage
                    base.storage.vals.append(val)
                val.direct = False
            else:
                val.storage = _Storage(value, fresh=(kind == "alloc"))
                val.storage.vals.append(val)
        statement = _Statement(expr.primitive, [val], expr.args, expr.params)
        val.statement = statement
        self.statements.append(statement)
        expr.val = val
        return val

    def sigmoid(self, x, alpha, name):
        """F, e, r of the chapter's sigmoid (numerics.sigmoid_parts), as one block: the
        overflow guard and both branches are written out, so the replay takes the branch
        eager mode would take, every call.  ``name`` (F's) is already unique."""
        z = x
        if alpha != 1.0:  # NOTE: 1.0·x = x exactly, so eager's multiply by α = 1 is skipped
            alpha_expr = self.constant(alpha, "alpha")
            if x.is_float:
                z = self.apply("multiply", alpha_expr, x)
            else:
                z = self.apply("multiply" if alpha < 1.0 else "scale_quietly", x, alpha_expr)
            self.materialize(z, f"z_{name}")
        self.materialize(x)
        value, e, r = (_as_array(part) for part in numerics.sigmoid_parts(x.value, alpha))  # 0-d: arrays
        if type(value) is float:
            vals = [_Val(name, value), _Val(self.unique(f"e_{name}"), e), _Val(self.unique(f"r_{name}"), r)]
        else:
            e_storage, r_storage = _Storage(e), _Storage(r)
            vals = [_Val(name, value, r_storage, direct=False),
                    _Val(self.unique(f"e_{name}"), e, e_storage), _Val(self.unique(f"r_{name}"), r, r_storage)]
        floor = numerics._EXP_FLOOR[np.dtype(x.dtype).type] if type(value) is not float else None
        size = int(np.size(x.value))
        statement = _Statement(None, vals, [x, z], {"alpha": alpha, "floor": floor, "size": size}, sigmoid=True)
        for val in vals:
            val.statement = statement
        self.statements.append(statement)
        return tuple(Expr(self, None, (), {}, val.value, val=val) for val in vals)

    # -- memory: liveness and buffers --------------------------------------------------------

    def finish(self, outputs):
        """Make every output (``(expr, name)`` pairs) a fresh value, never a buffer; find
        where each value is last used, give array values buffers (reused once dead), and
        mark what is written inline.  Returns the outputs: values, or constant expressions."""
        final = []
        for expr, name in outputs:
            val = self.materialize(expr)
            if val is None:  # a constant output: a fresh copy each call
                expr = self.apply("copy", expr) if not expr.is_float else expr
                val = self.materialize(expr) if not expr.is_float else None
            if val is not None and type(val.value) is _ndarray:
                statement = val.statement
                alone = val.storage is not None and val.storage.vals == [val]
                # NOTE: numpy gives a 0-d result as a scalar unless it has a buffer to write into
                zero_d = val.value.ndim == 0
                if val.direct and alone and not val.storage.fresh and not statement.sigmoid \
                        and statement.primitive.kind in ("ufunc", "out") \
                        and statement.primitive.name not in _MULTILINE:
                    statement.fresh = True
                    val.storage.fresh = True
                elif not (val.direct and alone and val.storage.fresh
                          and (not zero_d or statement.primitive.name in _ARRAY_RESULTS)):
                    # NOTE: a view, a buffer shared with another value, or an input: the caller gets a copy
                    renamed = val.name == name
                    if renamed:
                        val.name = self.temporary()
                    val = self.materialize(self.apply("copy", Expr(self, None, (), {}, val.value, val=val)), name)
                    if renamed:
                        val.name = name
            final.append(val if val is not None else expr)
        end = len(self.statements)
        for index, statement in enumerate(self.statements):
            for arg in statement.args:
                if arg.val is not None:
                    arg.val.last = index
                    arg.val.uses += 1
                    arg.val.user = index
        for item in final:
            if isinstance(item, _Val):
                item.last = end
                item.uses += 1
        for index, statement in enumerate(self.statements):
            for val in statement.targets:
                if val.storage is not None:
                    val.storage.end = max(val.storage.end, val.last, index)
        self._assign_buffers()
        self._mark_inline(set(id(item) for item in final if isinstance(item, _Val)))
        return final

    def _assign_buffers(self):
        free = collections.defaultdict(list)  # (shape, dtype) -> numbers of free buffers
        released = set()  # storages whose buffer went back to the pool, or on to a result
        for index, statement in enumerate(self.statements):
            if statement.comment is not None:
                continue
            needs = [val.storage for val in statement.targets
                     if val.storage is not None and val.direct and not val.storage.fresh and val.storage.buffer is None]
            in_place = statement.sigmoid or (statement.primitive.kind == "ufunc"
                                              and statement.primitive.name not in _MULTILINE)
            dying = []
            if in_place:  # an elementwise result may take the buffer of an input that dies here
                for arg in statement.args:
                    storage = arg.val.storage if arg.val is not None else None
                    if storage is not None and storage.end == index and arg.val.direct \
                            and storage.buffer is not None and id(storage) not in released and storage not in dying:
                        dying.append(storage)
            for storage in needs:
                match = next((old for old in dying if old.kind == storage.kind), None)
                if match is not None:
                    dying.remove(match)
                    released.add(id(match))
                    storage.buffer = match.buffer
                    continue
                pool = free[storage.kind]
                if pool:
                    storage.buffer = pool.pop()
                else:
                    self.buffers.append(storage)
                    storage.buffer = len(self.buffers) - 1
            for val in [arg.val for arg in statement.args if arg.val is not None] + statement.targets:
                storage = val.storage
                if storage is not None and storage.end <= index and storage.buffer is not None \
                        and id(storage) not in released:
                    released.add(id(storage))
                    free[storage.kind].append(storage.buffer)

    def _mark_inline(self, outputs):
        """A float or a view used once, by the next statement that is written out (values
        written inline in between are transparent), is written inside that statement."""
        statements = self.statements
        host = {}  # statement index -> index of the statement whose line it is written in
        written_next = None
        for index in range(len(statements) - 1, -1, -1):
            statement = statements[index]
            if self._inlinable(statement, outputs, written_next, host):
                statement.targets[0].inline = True
                host[index] = written_next
            else:
                host[index] = index
                written_next = index

    def _inlinable(self, statement, outputs, written_next, host):
        if written_next is None or statement.comment is not None or statement.sigmoid or len(statement.targets) != 1:
            return False
        val, primitive = statement.targets[0], statement.primitive
        if val.uses != 1 or id(val) in outputs or primitive.name in _MULTILINE:
            return False
        consumer = val.user
        if consumer is None or host.get(consumer) != written_next:
            return False
        following = self.statements[consumer]
        if following.sigmoid or following.primitive.name in _MULTILINE:
            return False
        positions = [k for k, arg in enumerate(following.args) if arg.val is val]
        atomic = following.primitive.atomic
        if atomic == "all" or any(k in atomic for k in positions):
            return False
        if type(val.value) is float:
            return primitive.write_float is not None and primitive.kind != "alloc"
        return primitive.kind == "view" and type(val.value) is _ndarray

    # -- writing -----------------------------------------------------------------------------------

    def buffer_name(self, storage):
        return f"buf{storage.buffer}"

    def text_of(self, expr):
        """``(text, precedence)`` of an argument: a name, an inlined expression, or a constant."""
        val = expr.val
        if val is not None:
            if val.inline:
                return self._expression(val.statement)
            return val.name, _ATOM
        if expr.literal_name is not None:
            return self._named_constant(expr), _ATOM
        value = expr.value
        if type(value) is float:
            return _float_text(value)
        if type(value) is int:
            return repr(value), _ATOM
        return self.constant_name(value, "constant"), _ATOM

    def _named_constant(self, expr):
        name = expr.literal_name
        for existing, value in self.constants.items():
            if (existing == name or existing.startswith(f"{name}__")) and _same_kind(value, expr.value) \
                    and np.array_equal(value, expr.value):
                return existing
        name = self.unique(name)
        self.constants[name] = expr.value
        return name

    def _expression(self, statement):
        target = statement.targets[0]
        args = [self.text_of(arg) for arg in statement.args]
        primitive = statement.primitive
        if type(target.value) is float:
            return primitive.write_float(args, statement.params)
        out = None
        if primitive.kind in ("ufunc", "out") and not statement.fresh and target.storage is not None \
                and target.storage.buffer is not None and target.direct:
            out = self.buffer_name(target.storage)
        text, precedence = primitive.write_array(args, statement.params, out)
        if statement.fresh and np.ndim(target.value) == 0:  # NOTE: without a buffer numpy returns a scalar
            return f"np.asarray({text})", _ATOM
        return text, precedence

    def lines_of(self, statement):
        """The Python lines of one statement (none for a value written inline)."""
        if statement.comment is not None:
            return [f"# {line}" if line else "#" for line in statement.comment.split("\n")]
        if statement.sigmoid:
            return self._sigmoid_lines(statement)
        target = statement.targets[0]
        if target.inline:
            return []
        if statement.primitive.name in _MULTILINE:
            params = dict(statement.params)
            if target.storage is not None and target.storage.buffer is not None and not statement.fresh:
                params["out"] = self.buffer_name(target.storage)
            return statement.primitive.write_array(target.name, [self.text_of(arg) for arg in statement.args], params)
        text, _ = self._expression(statement)
        return [f"{target.name} = {text}"]

    def _sigmoid_lines(self, statement):
        value, e, r = statement.targets
        x, z = (self.text_of(arg)[0] for arg in statement.args)
        alpha, floor = statement.params["alpha"], statement.params["floor"]
        if type(value.value) is float:
            return [f"{e.name} = math.exp(-abs({z}))",
                    f"{r.name} = 1.0 / (1.0 + {e.name})",
                    f"{value.name} = {r.name} if {z} >= 0.0 else {e.name} * {r.name}"]
        slow = f"{value.name}, {e.name}, {r.name} = sigmoid_parts({x}, {alpha!r})"
        size = statement.params["size"]
        if size == 0:
            return [slow]
        e_buffer, r_buffer = self.buffer_name(e.storage), self.buffer_name(r.storage)
        bits = "32" if e.storage.dtype == _FLOAT32 else "64"
        mask = self.mask(e.storage.shape)
        # NOTE: count(α·x > floor) == size is eager's test (numerics.sigmoid_parts; nan fails it);
        # reciprocal(add(e, ONE)) is its 1/(1 + e): the same calls, into buffers.
        return [f"if count_nonzero(greater({z}, FLOOR{bits}, {mask})) == {size}:  "
                f"# α·x > {floor:g} everywhere: e = exp(−α·x) cannot overflow, F = r",
                f"    {e.name} = np.exp(negative({z}, {e_buffer}), {e_buffer})",
                f"    {r.name} = reciprocal(add({e.name}, ONE{bits}, {r_buffer}), {r_buffer})",
                f"    {value.name} = {r.name}",
                f"else:  # F = r or e·r by the sign of α·x, with e = exp(−|α·x|) (numerics.sigmoid_parts)",
                f"    {slow}"]

    def mask(self, shape):
        """A boolean buffer of ``shape`` for the sigmoid's overflow test (one per shape)."""
        if shape not in self.masks:
            self.masks[shape] = f"mask{len(self.masks)}"
        return self.masks[shape]


# Names the generated module defines or imports; values never take them.
_RESERVED = {"np", "math", "fsum", "exp", "log", "tanh", "power", "power_slope", "one_where_zero", "quotient",
             "sigmoid_parts", "forward_backward", "replay", "abs", "float", "None", "True", "False", "arguments",
             "count_nonzero", "greater", "reciprocal", "ndarray", "leaf", "add_gradient", "BUFFERS_LOCK",
             "GRADIENT_LOCK", "FLOOR32", "FLOOR64", "ONE32", "ONE64", "FLOAT32", "FLOAT64", "Value", "grads",
             "earlier", "value", "grad", "len", "type", "zip", "sign", "sqrt", "maximum", "minimum",
             "OPTIMIZER", "RATE", "LR64", "LR32", "lr", "version", "next_version", "STAMP"} | set(_BOUND) \
    | set(_HELPERS)


def _identifier(text):
    """``text`` as a Python identifier: ``w[0,1]`` → ``w_0_1``, ``(I @ w)`` → ``I_w``."""
    text = str(text)
    if text.isidentifier() and not keyword.iskeyword(text):
        return text
    parts = re.findall(r"[^\W\d]\w*|\d+", text)
    name = "_".join(parts)[:40].strip("_") or "value"
    if name[0].isdigit():
        name = f"v_{name}"
    if keyword.iskeyword(name):
        name += "_"
    return name


# ---------------------------------------------------------------------------
# The emitter: what an op's emit_forward / emit_backward sees
# ---------------------------------------------------------------------------


class Emitter:
    """The expression builder handed to `minigrad.core.ops.Op.emit_forward` and ``emit_backward``.

    ``inputs`` are the op's inputs as expressions; in backward, ``grad`` is
    ∂loss/∂out and ``output`` the op's result.  Expressions combine with
    ``+ − * /`` (``/`` is `numerics.quotient`) and with the primitives below,
    each the numpy (or math) call that the op's own rule makes.
    """

    def __init__(self, program, node, inputs, name, grad=None, output=None, needs=None, kept=None):
        self._program, self.node, self.inputs, self._name = program, node, list(inputs), name
        self.grad, self.output, self._needs, self._kept = grad, output, needs, kept if kept is not None else {}

    @property
    def fold(self):
        """True when constants are folded into the code (``compile(fold=True)``, the default)."""
        return self._program.fold

    def needs(self, position):
        """Does input ``position`` need a gradient?"""
        return self._needs[position]

    def keep(self, **named):
        """Forward values backward will read (the sigmoid's e and r, the SSE's E), by name."""
        for key, expr in named.items():
            items = expr if isinstance(expr, list) else [expr]
            for index, item in enumerate(items):
                if isinstance(item, Expr) and item.val is None and item.label is None:
                    item.label = key if not isinstance(expr, list) else f"{key}_{index}"
            self._kept[key] = expr

    def kept(self, key):
        return self._kept[key]

    def name(self, expr, stem, of_grad=False):
        """Give an intermediate value a name in the code: ``stem`` and the op's output
        (``slope_A``), or, ``of_grad``, the incoming gradient's name and ``stem`` (``dSSE_dH_v_row``)."""
        if isinstance(expr, Expr) and expr.val is None and expr.primitive is not None:
            if of_grad:
                grad = self.grad.val.name if self.grad is not None and self.grad.val is not None else "grad"
                expr.label = f"{grad}_{stem}"
            else:
                expr.label = f"{stem}_{self._name}"
        return expr

    def constant(self, value, name=None):
        """A number in the code; with ``fold=False``, one with a name is written by its name."""
        return self._program.constant(value, name)

    # -- elementwise ---------------------------------------------------------------------

    def exp(self, a):
        return self._program.apply("exp", a)

    def log(self, a):
        return self._program.apply("log", a)

    def tanh(self, a):
        return self._program.apply("tanh", a)

    def power(self, base, exponent):
        return self._program.apply("power", base, exponent)

    def power_slope(self, base, exponent):
        return self._program.apply("power_slope", base, exponent)

    def one_where_zero(self, a):
        return self._program.apply("one_where_zero", a)

    def relu(self, a):
        return self._program.apply("relu", a)

    def where_positive(self, a, grad):
        """grad where a > 0, else 0 (relu's backward)."""
        return self._program.apply("where_positive", a, grad)

    def sigmoid(self, a, alpha):
        """(F, e, r) of `numerics.sigmoid_parts`, with its overflow guard written out."""
        return self._program.sigmoid(a, alpha, self._name)

    # -- reductions and shapes ---------------------------------------------------------------

    def sum(self, a, axis, keepdims):
        return a if a.is_float else self._program.apply("sum", a, axis=axis, keepdims=keepdims)

    def mean(self, a, axis, keepdims):
        return a if a.is_float else self._program.apply("mean", a, axis=axis, keepdims=keepdims)

    def expand_reduced(self, grad, shape, axis, keepdims):
        return self._program.apply("expand_reduced", grad, shape=tuple(shape), axis=axis, keepdims=keepdims)

    def reshape(self, a, shape):
        return self._program.apply("reshape", a, shape=tuple(shape))

    def transpose(self, a, axes):
        return self._program.apply("transpose", a, axes=axes, ndim=len(a.shape), float=a.is_float)

    def swap_last_axes(self, a):
        """aᵀ for a matrix, the last two axes swapped for a stack of them."""
        ndim = len(a.shape)
        return self.transpose(a, None if ndim == 2 else tuple(range(ndim - 2)) + (ndim - 1, ndim - 2))

    def expand_dims(self, a, axis):
        return self._program.apply("expand_dims", a, axis=axis)

    def moveaxis(self, a, source, destination):
        return self._program.apply("moveaxis", a, source=source, destination=destination)

    def getitem(self, a, index):
        return self._program.apply("getitem", a, index=index, text=_index_text(index, self._program))

    def scatter(self, grad, like, index):
        """An array of zeros shaped like ``like`` with ``grad`` put (or, repeated, added) at ``index``."""
        return self._program.apply("scatter", grad, index=index, shape=tuple(like.shape), dtype=like.dtype.name,
                                   basic=numerics.is_basic_index(index), text=_index_text(index, self._program),
                                   expression=_index_text(index, self._program, expression=True), like=like.value)

    def matmul(self, a, b):
        """a @ b, written as np.dot for matrices and vectors (as `numerics.matmul` computes it)."""
        small = not a.is_float and not b.is_float and 0 < len(a.shape) <= 2 and 0 < len(b.shape) <= 2
        return self._program.apply("dot" if small else "matmul", a, b)

    def stack(self, items, axis):
        return self._program.apply("stack", *items, axis=axis)

    # -- abs, sqrt, maximum/minimum, max/min, clip ------------------------------------------------

    def absolute(self, a):
        return self._program.apply("absolute", a)

    def sign(self, a):
        """−1, 0 or 1: the slope of |a| (0 at a = 0)."""
        return self._program.apply("sign", a)

    def sqrt(self, a):
        return self._program.apply("sqrt", a)

    def maximum(self, a, b):
        return self._program.apply("maximum", a, b)

    def minimum(self, a, b):
        return self._program.apply("minimum", a, b)

    def tie_share(self, a, b, larger):
        """1 where a wins (the larger, or with ``larger`` False the smaller), ½ at a tie, else 0."""
        return self._program.apply("tie_share", a, b, larger=larger)

    def extremum(self, a, axis, keepdims, larger):
        """max (``larger``) or min over ``axis``."""
        return a if a.is_float else self._program.apply("extremum", a, axis=axis, keepdims=keepdims, larger=larger)

    def reduced_share(self, a, out, axis, keepdims):
        """1/k at the k elements of ``a`` equal to the max or min ``out``, else 0."""
        return self._program.apply("reduced_share", a, out, axis=axis, keepdims=keepdims)

    def clip(self, a, low, high):
        return self._program.apply("clip", a, low=low, high=high)

    def clip_inside(self, a, low, high):
        """1 where low < a < high, else 0 (clip's slope)."""
        return self._program.apply("clip_inside", a, low=low, high=high)

    # -- softmax, log-softmax and the losses beside the chapter's ------------------------------------

    def softmax(self, a, axis):
        return self._program.apply("softmax", a, axis=axis)

    def softmax_backward(self, grad, out, axis):
        return self._program.apply("softmax_backward", grad, out, axis=axis)

    def log_softmax(self, a, axis):
        return self._program.apply("log_softmax", a, axis=axis)

    def log_softmax_backward(self, grad, out, axis):
        return self._program.apply("log_softmax_backward", grad, out, axis=axis)

    def cross_entropy_loss(self, log_p, targets, count):
        return self._program.apply("cross_entropy_loss", log_p, targets, count=count)

    def cross_entropy_backward(self, grad, log_p, targets, axis, count):
        return self._program.apply("cross_entropy_backward", grad, log_p, targets, axis=axis, count=count)

    def mean_square(self, error):
        """(1/N) Σ error², a 0-d array of error's dtype (a float for a float)."""
        return self._program.apply("mean_square", error)

    # -- the chapter's loss ---------------------------------------------------------------------

    def half_squared_norm(self, error):
        """½ Σ error², a 0-d array of error's dtype."""
        return self._program.apply("half_squared_norm", error, dtype=error.dtype.name)

    def half_sum_of_squares(self, errors):
        """½ Σ_o E_o² over Python floats, summed exactly (math.fsum)."""
        return self._program.apply("half_sum_of_squares", *errors)


# ---------------------------------------------------------------------------
# Tracing: run the function once on Values standing for its arguments
# ---------------------------------------------------------------------------


class _Node:
    """A recorded node, copied out of the traced graph (what op rules and emitters read),
    so the graph itself can be dropped before the code is generated."""

    __slots__ = ("op", "parents", "saved", "_data", "requires_grad", "name", "_mark", "_pending")

    def __init__(self, source, parents, requires_grad):
        self.op, self.parents, self.saved, self._data = source.op, parents, source.saved, source._data
        self.requires_grad, self.name = requires_grad, source.name
        self._mark = 0  # backward_order counts on the nodes, as backward does


class _Slot:
    """One traced input: an argument, or an entry of a list or tuple argument."""

    __slots__ = ("name", "kind", "requires_grad", "cast")

    def __init__(self, name, kind, requires_grad=False, cast=None):
        self.name, self.kind, self.requires_grad, self.cast = name, kind, requires_grad, cast


def _signature(argument, key, data, where):
    """Append ``argument``'s part of the cache key to ``key`` and its traced entries to ``data``."""
    kind = type(argument)
    if kind is _ndarray:
        # NOTE: the memory order of a matrix decides the order of numpy's sums, so it is part of the key
        key.append((argument.shape, argument.dtype, argument.strides if argument.ndim > 1 else None))
        data.append(argument)
    elif kind is float:
        key.append(float)
        data.append(argument)
    elif kind is Value:
        payload = argument._data
        if type(payload) is not float and type(payload) is not _ndarray:
            _numpy_only(payload, where)
        key.append((Value, float if type(payload) is float else
                    (payload.shape, payload.dtype, payload.strides if payload.ndim > 1 else None),
                    argument.requires_grad))
        data.append(argument)
    elif kind is list or kind is tuple:
        key.append((kind, len(argument)))
        for item in argument:
            _signature(item, key, data, where)
        key.append(None)
    elif isinstance(argument, (np.floating, np.ndarray)):  # numpy scalars, array subclasses: as eager reads them
        _signature(as_data(argument, where), key, data, where)
    elif isinstance(argument, (bool, int, str, bytes, type(None), np.integer, np.bool_)):
        key.append(("static", kind, argument))
    elif namespace.is_foreign(argument):
        _numpy_only(argument, where)
    else:
        try:
            hash(argument)
        except TypeError:
            raise CompileError(f"{where}: an argument of type {kind.__name__} cannot be traced; pass numbers, "
                               "numpy arrays, Values, or lists and tuples of them (other arguments must be "
                               "hashable: the step is specialized on them)") from None
        key.append(("static", kind, argument))


class Trace:
    """One specialization of a compiled step: generated code for one signature.

    ``source`` is the generated module; ``signature`` the cache key;
    ``parameters`` the ``(name, Value)`` pairs the function reached by itself
    (their ``.data`` is read on every call); ``seconds`` how long tracing
    (``trace``), writing the code (``generate``) and compiling it
    (``compile``) took.
    """

    def __init__(self, signature, slots, leaves, specs, namespace, source, seconds, outputs, filename):
        self.signature, self._slots, self._leaves, self._specs = signature, slots, leaves, specs
        self.source, self.seconds, self._outputs, self._filename = source, seconds, outputs, filename
        self.function = namespace["forward_backward"]
        self.replay = namespace.get("replay")  # the generated fast path, for flat arguments
        self._lock = namespace["BUFFERS_LOCK"]  # NOTE: the one lock of this trace's buffers, also replay's
        self._casts = [(index, slot.cast) for index, slot in enumerate(slots) if slot.cast is not None or
                       slot.kind == "convert"]
        self._grad_slots = [index for index, slot in enumerate(slots) if slot.requires_grad]

    @property
    def parameters(self):
        return [(name, value) for (name, value, grad) in self._leaves if grad]

    def run(self, data):
        """Replay on the traced entries ``data`` (arrays, floats, Values): ``(loss, [(Value, grad), ...])``,
        or None when a parameter no longer fits the trace."""
        inputs = [item._data if type(item) is Value else item for item in data]
        for index, dtype in self._casts:
            inputs[index] = as_data(inputs[index], "compile") if dtype is None else \
                np.asarray(inputs[index], dtype=dtype)
        leaves = []
        for (_, value, _), spec in zip(self._leaves, self._specs):
            payload = value._data
            if spec is float:
                if type(payload) is not float:
                    return None
            elif type(payload) is not _ndarray or payload.dtype is not spec[1] or payload.shape != spec[0] \
                    or (spec[2] is not None and payload.strides != spec[2]):
                return None
            leaves.append(payload)
        with self._lock:  # NOTE: the buffers are this trace's; one call at a time uses them
            loss, grads = self.function(*inputs, *leaves)
        targets = [data[index] for index in self._grad_slots] + [value for (_, value, grad) in self._leaves if grad]
        return loss, list(zip(targets, grads))

    def __repr__(self):
        return f"<Trace of {len(self._slots)} inputs, {len(self.parameters)} parameters>"


def _argument_names(function, args):
    """A name for each positional argument: the function's own parameter names."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = []
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    star = next((p.name for p in parameters if p.kind == p.VAR_POSITIONAL), None)
    for index in range(len(args)):
        if index < len(positional):
            names.append(positional[index].name)
        else:
            names.append(f"{star}_{index - len(positional)}" if star else f"arg{index}")
    return names


def _same_numbers(a, b):
    """Bit for bit, nan equal to nan, kind and dtype equal."""
    if type(a) is float and type(b) is float:
        return a == b or (a != a and b != b)
    if not _same_kind(np.asarray(a) if isinstance(a, np.generic) else a,
                      np.asarray(b) if isinstance(b, np.generic) else b):
        return False
    return bool(np.array_equal(a, b, equal_nan=True))


def _reference_gradients(root, order, seed):
    """Eager backward over the copied graph, with a dict for the running gradients:
    the same rules, unbroadcast and sums in the same order as `minigrad.core.backward`.
    What the generated code must reproduce."""
    grads = {root: seed}
    for node in order:
        grad = grads[node]
        parent_grads = node.op.backward(grad, node._data, node.saved,
                                        tuple(parent.requires_grad for parent in node.parents),
                                        *[parent._data for parent in node.parents])
        for parent, parent_grad in zip(node.parents, parent_grads):
            if not parent.requires_grad:
                continue
            parent_grad = unbroadcast(parent_grad, parent._data)  # returns it as it is where backward skips the call
            running = grads.get(parent)
            if running is not None:
                grads[parent] = add_gradient(running, parent_grad)
            elif type(parent_grad) is _ndarray and not parent.parents and (
                    parent_grad is grad or parent_grad.base is not None):
                grads[parent] = parent_grad.copy()
            else:
                grads[parent] = parent_grad
    return grads


def _unbroadcast(program, grad, like):
    """`minigrad.core.backward.unbroadcast` as code, decided now from the shapes (the
    condition that guards it in backward included)."""
    value = grad.value
    if type(value) is float and type(like) is float:
        return grad
    if type(value) is _ndarray and type(like) is _ndarray and value.dtype is like.dtype and value.shape == like.shape:
        return grad
    if type(like) is float:
        return grad if type(value) is float else program.apply("to_float", grad)
    shape = like.shape
    if np.shape(value) != shape:
        extra = np.ndim(value) - len(shape)
        if extra > 0:  # axes that broadcasting added in front
            grad = program.apply("sum", grad, axis=0 if extra == 1 else tuple(range(extra)), keepdims=False)
        if grad.shape != shape:  # axes of size 1 that broadcasting stretched
            stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
            if stretched:
                grad = program.apply("sum", grad, axis=stretched, keepdims=True)
            if grad.shape != shape:
                grad = program.apply("broadcast_to", grad, shape=shape)
    if grad.dtype != like.dtype:
        grad = program.apply("astype", grad, dtype=like.dtype.name)
    return grad


_EXACT_UNDER_CAST = {"reshape", "transpose", "getitem", "stack", "neg"}


class CompiledStep:
    """A function compiled by `compile`: call it as the function itself.

    Each call returns the loss as a Value that needs no gradient (backward
    has already run: every leaf that requires grad and that the function
    reached holds ``.grad``, added to what it held, as after
    ``loss.backward()``).  Gradient arrays are handed over, never reused:
    each call's are new, so gradients the caller keeps stay as they were.
    """

    def __init__(self, function, check=False, fold=True, cache_size=8, optimizer=None):
        if not callable(function):
            raise TypeError(f"compile: expected a function, got {type(function).__name__}")
        if optimizer is not None and not isinstance(optimizer, Optimizer):
            raise TypeError(f"compile: optimizer must be a minigrad.optim.Optimizer (SGD, Adam), "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"compile: cache_size must be a positive integer, got {cache_size!r}")
        self.function, self.check, self.fold, self.cache_size = function, bool(check), bool(fold), cache_size
        self.traces = 0          # how many times the function has been traced
        self._cache = collections.OrderedDict()
        self._latest = None
        self._fast = None
        self._lock = threading.Lock()
        self._warned = False
        self.__name__ = getattr(function, "__name__", type(function).__name__)
        self.__doc__ = getattr(function, "__doc__", None)

    @property
    def latest(self):
        """The `Trace` used by the most recent call (None before the first)."""
        return self._latest

    @property
    def source(self):
        """The generated module of the most recent call's trace: forward and backward, readable Python."""
        if self._latest is None:
            raise RuntimeError(f"compile: {self.__name__} has not been called yet, so there is no code; "
                               "call it (or step.trace(...)) first")
        return self._latest.source

    def clear(self):
        """Forget every trace (the next call traces again): after replacing a parameter
        Value, rather than assigning its ``.data``, which a trace sees by itself."""
        with self._lock:
            self._cache.clear()
            self._latest = self._fast = None

    def trace(self, *args, **kwargs):
        """Trace for these arguments (or reuse the trace that fits them) without
        running the step; returns the `Trace` (its ``source`` is the generated code)."""
        key, data = self._key(args, kwargs)
        return self._entry(key, data, args, kwargs)

    def __call__(self, *args, **kwargs):
        if state.tracing:
            raise TracingError(f"compile: {self.__name__} (a compiled step) was called inside a function being "
                               "traced; its result would be a constant.  Call the function it compiles instead")
        fast = self._fast
        if fast is not None and not kwargs:
            loss = fast(*args)  # the latest trace's generated replay: None unless everything fits it
            if loss is not None:
                return loss
        key, data = self._key(args, kwargs)
        entry = self._entry(key, data, args, kwargs)
        result = entry.run(data)
        if result is None:  # a parameter changed its kind, shape or dtype: trace again
            entry = self._entry(key, data, args, kwargs, stale=entry)
            result = entry.run(data)
        loss, grads = result
        if self.check:
            self._compare_with_eager(args, kwargs, loss, grads)
        with _gradient_lock:
            for value, grad in grads:
                earlier = value.grad
                value.grad = grad if earlier is None else add_gradient(earlier, grad)
            if self.optimizer is not None:
                self.optimizer.step()
        if not self.check:
            self._fast = entry.replay
        return leaf(loss, requires_grad=False, name=entry._outputs[0])

    def __get__(self, instance, owner=None):
        """As a method decorator: ``@minigrad.compile`` on a Module's method binds like a method
        (the instance is an argument the step is specialized on)."""
        return self if instance is None else types.MethodType(self, instance)

    def __repr__(self):
        return f"<compiled {self.__name__}: {len(self._cache)} trace(s) cached, {self.traces} made>"

    # -- the cache ------------------------------------------------------------------------------

    def _key(self, args, kwargs):
        key, data = [], []
        where = f"compile({self.__name__})"
        for argument in args:
            _signature(argument, key, data, where)
        for name in sorted(kwargs):
            key.append(name)
            _signature(kwargs[name], key, data, where)
        return tuple(key), data

    def _entry(self, key, data, args, kwargs, stale=None):
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and entry is not stale:
                self._cache.move_to_end(key)
                self._latest = entry
                return entry
        entry = _trace(self, args, kwargs, key)
        with self._lock:
            self.traces += 1
            self._cache[key] = entry
            self._cache.move_to_end(key)
            if len(self._cache) > self.cache_size:
                _, evicted = self._cache.popitem(last=False)
                linecache.cache.pop(evicted._filename, None)
                if not self._warned:
                    self._warned = True
                    warnings.warn(f"compile: {self.__name__} has been traced {self.traces} times, more than its "
                                  f"cache holds ({self.cache_size}); each new signature (shapes, dtypes, int and "
                                  "other static arguments) traces again, so a value that changes every call "
                                  "defeats the cache", RuntimeWarning, stacklevel=3)
            self._latest = entry
        return entry

    # -- check=True -------------------------------------------------------------------------------

    def _compare_with_eager(self, args, kwargs, loss, grads):
        """Run the function eagerly beside the replay and compare loss and gradients."""
        copies = {}

        def fresh(argument):
            if type(argument) is Value:
                copy = Value(argument._data, name=argument.name, requires_grad=argument.requires_grad)
                copies[id(argument)] = copy
                return copy
            if isinstance(argument, (list, tuple)):
                return type(argument)(fresh(item) for item in argument)
            return argument

        eager_args = [fresh(argument) for argument in args]
        eager_kwargs = {name: fresh(argument) for name, argument in kwargs.items()}
        targets = [value for value, _ in grads]
        parameters = [value for value in targets if id(value) not in copies]
        set_aside = [(value, value.grad) for value in parameters]
        try:
            for value in parameters:
                value.grad = None
            eager_loss = self.function(*eager_args, **eager_kwargs)
            eager_loss.backward()
            eager = [copies[id(value)].grad if id(value) in copies else value.grad for value in targets]
        finally:
            for value, grad in set_aside:
                value.grad = grad
        dtype = np.asarray(loss).dtype
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        _check_close("the loss", loss, eager_loss.data, rtol, self.__name__)
        for (value, grad), expected in zip(grads, eager):
            label = f"∂loss/∂{value.name or 'a parameter of shape ' + str(value.shape)}"
            _check_close(label, grad, expected, rtol, self.__name__)


def _check_close(label, got, expected, rtol, name):
    if expected is None:
        raise CompileCheckError(f"compile(check=True) for {name}: {label} exists in the compiled step "
                                "but eager backward gave none")
    got_array, expected_array = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got_array.shape != expected_array.shape or type(got) is float != (type(expected) is float):
        raise CompileCheckError(f"compile(check=True) for {name}: {label} is {type(got).__name__} of shape "
                                f"{got_array.shape} compiled but {type(expected).__name__} of shape "
                                f"{expected_array.shape} eager")
    difference = np.abs(got_array - expected_array)
    allowed = rtol * np.maximum(np.abs(got_array), np.abs(expected_array)) + 1e-300
    bad = ~((difference <= allowed) | (np.isnan(got_array) & np.isnan(expected_array))
            | (got_array == expected_array))
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        at = f"[{', '.join(map(str, where))}]" if where else ""
        raise CompileCheckError(
            f"compile(check=True) for {name}: {label}{at} is {got_array[where]!r} compiled but "
            f"{expected_array[where]!r} eager (allowed relative difference {rtol:g}); step.source shows the "
            "generated code")


def compile(function=None, *, optimizer=None, check=False, fold=True, cache_size=8):
    """Compile ``function`` (which returns a one-element Value) into a `CompiledStep`.

    Each call of the result runs forward and backward as generated numpy
    code: the loss comes back as a Value, and every Value that requires
    grad and that the function reaches (arguments, or parameters through a
    closure or a module) gets ``.grad``, exactly as ``loss.backward()``
    would leave it.  The first call with a new signature traces (see the
    module's docstring for what a trace specializes on).

    ``check=True`` also runs the function eagerly on every call and raises
    `CompileCheckError` on any difference beyond rounding (1e-12 relative in
    float64, 1e-5 in float32).  ``fold=False`` keeps constants (the seed 1,
    −1, α) by name beside their formulas instead of folding them away.
    ``cache_size`` bounds the traces kept (least recently used goes first).
    Usable as a decorator, with or without arguments.

    ``optimizer`` (a `minigrad.optim.Optimizer`): each call also takes its
    step once the gradients are added, as ``optimizer.step()`` would, and
    with the same numbers.  Plain SGD over the parameters the function
    reaches is written into the generated code (the update of the
    chapter's online training, ``w ← w − η ∂SSE/∂w``); other optimizers,
    and SGD with momentum, run their own ``step()``.
    """
    if function is None:
        return lambda function: CompiledStep(function, check, fold, cache_size, optimizer)
    return CompiledStep(function, check, fold, cache_size, optimizer)


def _trace(step, args, kwargs, key, cast=frozenset()):
    """Trace ``step.function`` for these arguments and generate its code: a `Trace`."""
    started = time.perf_counter()
    where = f"compile({step.__name__})"
    positional_names = _argument_names(step.function, args)
    slots, wrappers = [], []

    def wrap(argument, name):
        kind = type(argument)
        if kind is list or kind is tuple:
            return kind(wrap(item, f"{name}_{index}") for index, item in enumerate(argument))
        if kind is Value:
            data, slot = argument._data, _Slot(argument.name or name, "value", argument.requires_grad)
        elif kind is float:
            data, slot = argument, _Slot(name, "float")
        elif kind is _ndarray and (argument.dtype == _FLOAT64 or argument.dtype == _FLOAT32):
            data, slot = argument, _Slot(name, "array")
        elif kind is _ndarray:
            data, slot = as_data(argument, where), _Slot(name, "convert")
        elif isinstance(argument, (np.floating, np.ndarray)):
            data = as_data(argument, where)
            slot = _Slot(name, "float" if type(data) is float else "array")
        else:
            return argument  # static: the trace is specialized on it
        if len(slots) in cast:
            data, slot.cast = data.astype(np.float32), np.float32
        wrapper = leaf(data, requires_grad=True, name=slot.name)
        slots.append(slot)
        wrappers.append(wrapper)
        return wrapper

    traced_args = [wrap(argument, name) for argument, name in zip(args, positional_names)]
    traced_kwargs = {name: wrap(kwargs[name], name) for name in sorted(kwargs)}
    try:
        with tracing(), np.errstate(all="ignore"):
            if is_grad_enabled():
                root = step.function(*traced_args, **traced_kwargs)
            else:
                with enable_grad():
                    root = step.function(*traced_args, **traced_kwargs)
    except namespace.MixedArraysError as error:  # numpy's traced data met another library's parameter
        raise CompileError(f"{where}: got data of another array library ({error}); minigrad.compile generates "
                           "numpy code only for now: run the step eagerly") from None
    del traced_args, traced_kwargs
    if type(root) is not Value:
        raise CompileError(f"{where}: the function must return a one-element Value (the loss), "
                           f"got {type(root).__name__}")
    if root.size != 1:
        raise CompileError(f"{where}: the function must return a one-element Value (the loss), got shape "
                           f"{root.shape}; reduce it first (e.g. .sum())")
    traced_seconds = time.perf_counter() - started

    # -- what each leaf is, and which nodes need a gradient ---------------------------------------
    nodes = topological_order(root)
    for node in nodes:  # a parameter or constant of another library, read by the function
        _numpy_only(node._data, where)
    slot_of = {id(wrapper): index for index, wrapper in enumerate(wrappers)}
    needs, raw = {}, set()
    parameters, constants = [], []
    for node in nodes:
        if not node.parents:
            index = slot_of.get(id(node))
            if index is not None:
                needs[node] = slots[index].requires_grad
                if slots[index].kind != "value":
                    raw.add(node)  # a plain number or array in eager mode, not a Value
            elif node.requires_grad:
                parameters.append(node)
                needs[node] = True
            else:
                constants.append(node)
                needs[node] = False
        else:
            needs[node] = any(needs[parent] for parent in node.parents)
            if any(parent in raw for parent in node.parents) and all(
                    parent in raw or (not parent.parents and not needs[parent] and id(parent) not in slot_of)
                    for parent in node.parents):
                raw.add(node)
    if not needs[root]:
        raise CompileError(f"{where}: the loss does not depend on any Value that requires grad (only on "
                           "constants and arguments that need no gradient), so there is nothing to differentiate")
    _refuse_baked_data(nodes, constants, slot_of, where)
    recast = _dtype_casts(nodes, raw, slot_of, slots, where)
    if recast:
        return _trace(step, args, kwargs, key, cast | recast)

    # -- names (the chapter's where the graph is the chapter's network) ----------------------------
    given = {wrapper: slot.name for wrapper, slot in zip(wrappers, slots)}
    module_names = _module_parameter_names(step.function)
    for number, parameter in enumerate(parameters):
        given[parameter] = parameter.name or module_names.get(id(parameter)) or f"parameter{number}"
    from ..tools.explain import graph_names
    display = graph_names(root, given)

    # -- a copy of the graph, so the graph itself can go before the code is written ---------------
    copies = {}
    for node in nodes:
        copies[node] = _Node(node, tuple(copies[parent] for parent in node.parents), needs[node])
    copy_root = copies[root]
    copy_nodes = [copies[node] for node in nodes]
    copy_names = {copies[node]: display[node] for node in nodes}
    input_nodes = [copies.get(wrapper) for wrapper in wrappers]
    trace_inputs = [wrapper._data for wrapper in wrappers]
    parameter_pairs = [(copies[parameter], parameter) for parameter in parameters]
    constant_refs = [(copies[constant], weakref.ref(constant)) for constant in constants]
    del root, nodes, copies, display, wrappers, parameters, constants, node, needs, raw, given
    # NOTE: a constant Value still alive now is held by the caller, who may assign its .data:
    # it is read on every call.  The rest were made by ops from plain numbers: frozen.
    live = [(copy, ref()) for copy, ref in constant_refs if ref() is not None]

    return _generate(step, key, slots, input_nodes, trace_inputs, parameter_pairs, live, copy_root, copy_nodes,
                     copy_names, traced_seconds, started)


def _module_parameter_names(function):
    """{id(Value): name} from the Module a bound method belongs to (or that is the function)."""
    from ..nn.modules import Module
    owner = function.__self__ if inspect.ismethod(function) else function
    if isinstance(owner, Module):
        return {id(value): name for name, value in owner.named_parameters()}
    return {}


def _refuse_baked_data(nodes, constants, slot_of, where):
    """A constant holding the very array of a traced Value: its ``.data`` was read inside the
    function (or ``.detach()`` used), which would freeze this call's numbers.

    # NOTE: arrays only.  Python shares equal float objects (a literal 1.0 in the function may be
    # the very float passed as an argument), so a float's identity proves nothing; check=True
    # catches a float read out of .data at the first call after it changes.
    """
    traced = set()
    for node in nodes:
        data = node._data
        if type(data) is not _ndarray:
            continue
        if node.parents or node.requires_grad:
            traced.add(id(data))
            if data.base is not None:
                traced.add(id(data.base))
        elif id(node) in slot_of:
            traced.add(id(data))
    for constant in constants:
        data = constant._data
        if type(data) is _ndarray and (id(data) in traced or (data.base is not None and id(data.base) in traced)):
            raise TracingError(f"{where}: a constant in the traced graph holds the numbers of a traced Value "
                               "(its .data read inside the function, or .detach()); the compiled step would "
                               "keep this call's numbers.  Use the Value itself in the computation")


def _dtype_casts(nodes, raw, slot_of, slots, where):
    """The float64 array arguments that eager mode would cast to float32 (a plain array meeting
    a float32 Value takes its dtype): traced again as float32, cast on every call."""
    casts, kept = set(), set()
    for node in nodes:
        if not node.parents or node in raw:
            continue
        first = next((parent for parent in node.parents
                      if parent not in raw and (parent.parents or parent.requires_grad)), None)
        float32 = first is not None and type(first._data) is _ndarray and first._data.dtype == _FLOAT32
        for parent in node.parents:
            if parent in raw and type(parent._data) is _ndarray and parent._data.dtype == _FLOAT64:
                sources = _raw_sources(parent, slot_of, float32, where)
                (casts if float32 else kept).update(sources)
    clash = casts & kept
    if clash:
        names = ", ".join(slots[index].name for index in sorted(clash))
        raise CompileError(f"{where}: the float64 array argument(s) {names} meet both float32 and float64 Values; "
                           "eager mode would cast them to float32 in some ops only.  Pass them as float32 (or "
                           "float64) arrays of the dtype you mean")
    return frozenset(casts)


def _raw_sources(node, slot_of, casting, where):
    """The argument slots a plain-array value is made of."""
    sources, stack = set(), [node]
    while stack:
        item = stack.pop()
        if not item.parents:
            if id(item) in slot_of:
                sources.add(slot_of[id(item)])
            continue
        if casting and item.op.name not in _EXACT_UNDER_CAST:
            raise CompileError(f"{where}: arguments combined by '{item.op.name}' meet a float32 Value; eager mode "
                               "computes that in float64 and rounds after, which a trace cannot repeat. Pass "
                               "float32 arrays")
        stack.extend(item.parents)
    return sources


# ---------------------------------------------------------------------------
# Writing the code
# ---------------------------------------------------------------------------


def _generate(*args):
    """The generated module for one trace, compiled and checked against eager backward: a `Trace`."""
    # NOTE: expressions are evaluated on the trace's numbers as they are built; eager mode's
    # warnings (log of 0, ...) were for the trace to give, not for the code writer.
    # NOTE: the cyclic garbage collector is paused while the code is written: the hundreds of
    # thousands of small objects made for a big scalar graph would set it off again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with np.errstate(all="ignore"):
            return _write(*args)
    finally:
        if collecting:
            gc.enable()


def _write(step, key, slots, input_nodes, trace_inputs, parameter_pairs, live, root, nodes, display,
           traced_seconds, started):
    generating = time.perf_counter()
    where = f"compile({step.__name__})"
    program = Program(step.fold)
    root_name = _identifier(display[root])
    names = {}
    expr_of = {}

    # The function's inputs: every traced argument, then the parameters, then the constant
    # Values the caller holds (read on every call).
    input_exprs = []
    for slot, node, data in zip(slots, input_nodes, trace_inputs):
        expr = program.external(slot.name, data)
        input_exprs.append(expr)
        if node is not None:
            expr_of[node] = expr
            names[node] = expr.val.name
    leaf_exprs, leaves, specs = [], [], []
    for node, value in parameter_pairs + live:
        expr = program.external(_identifier(display[node]), node._data)
        expr_of[node] = expr
        names[node] = expr.val.name
        leaf_exprs.append(expr)
        leaves.append((names[node], value, node.requires_grad))
        data = node._data
        specs.append(float if type(data) is float else (data.shape, data.dtype, data.strides if data.ndim > 1 else None))

    # -- forward ------------------------------------------------------------------------------------
    program.comment("-- forward " + "-" * 60)
    kept = {}
    for node in nodes:
        if node in expr_of:
            continue
        if not node.parents:  # a constant made from a plain number or array: frozen here
            data = node._data
            expr_of[node] = program.constant(data if type(data) is float else np.array(data))
            names[node] = display[node]
            continue
        name = program.unique(display[node] if node is not root else root_name)
        inputs = [expr_of[parent] for parent in node.parents]
        program.comment(_emitters.written(node.op, node, _symbols(node, inputs, name, names, program)))
        emitter = Emitter(program, node, inputs, name)
        result = program.lift(_emitters.emit_forward(node.op, emitter))
        val = program.materialize(result, name, exact=True)
        if not _same_numbers(result.value, node._data):
            raise CompileError(f"{where}: internal error: the code written for op '{node.op.name}' computes "
                               "a different forward value than eager mode (please report this)")
        expr_of[node] = result
        names[node] = val.name if val is not None else name
        kept[node] = emitter._kept

    # -- backward, in the order minigrad.core.backward walks the graph --------------------------------------
    program.comment("-- backward " + "-" * 59)
    data = root._data
    seed = 1.0 if type(data) is float else np.array(1.0, dtype=data.dtype).reshape(np.shape(data))
    grad_of = {root: program.constant(seed, f"d{root_name}_d{root_name}")}
    order = backward_order(root)
    for node in order:
        inputs = [expr_of[parent] for parent in node.parents]
        needs = [parent.requires_grad for parent in node.parents]
        emitter = Emitter(program, node, inputs, names[node], grad=grad_of[node], output=expr_of[node],
                          needs=needs, kept=kept[node])
        contributions = list(_emitters.emit_backward(node.op, emitter))
        symbols = _symbols(node, inputs, names[node], names, program)
        errors = kept[node].get("E")
        for position, parent in enumerate(node.parents):
            if not parent.requires_grad:
                continue
            if contributions[position] is None:
                raise CompileError(f"{where}: internal error: op '{node.op.name}' wrote no gradient for input "
                                   f"{position} (please report this)")
            running = grad_of.get(parent)
            if errors is not None:  # the SSE's E (E_o for the scalar form)
                error = errors[node.op.output_index(position, node)] if isinstance(errors, list) else errors
                symbols["E"] = error.val.name if error.val is not None else "E"
            chain = _emitters.chain(node.op, position, node, symbols, "1" if node is root else f"∂{root_name}/∂{names[node]}")
            chain = chain[4:] if chain.startswith("1 · ") else chain
            equation = node.op.equation(position, node)
            program.comment(f"∂{root_name}/∂{names[parent]} {'+=' if running is not None else '='} {chain}"
                            + (f"  (Eq. {equation})" if equation else ""))
            grad = _unbroadcast(program, contributions[position], parent._data)
            target = f"d{root_name}_d{names[parent]}"
            if running is not None:
                grad = running + grad
            program.materialize(grad, target)
            grad_of[parent] = grad

    # -- outputs: the loss and the gradients of the leaves that require grad ----------------------------
    grad_slots = [index for index, node in enumerate(input_nodes) if node is not None and node.requires_grad]
    grad_leaves = [input_nodes[index] for index in grad_slots] + [node for node, _ in parameter_pairs]
    outputs = [(expr_of[root], root_name)] + [(grad_of[node], f"d{root_name}_d{names[node]}") for node in grad_leaves]
    final = program.finish(outputs)
    namespace = {}
    plain = len(key) == len(slots) and all(slot.kind in ("float", "array", "value") and slot.cast is None
                                           for slot in slots)
    replay = _replay_source(program, slots, trace_inputs, leaves, specs, grad_slots, root_name, namespace,
                            step.optimizer) if plain else None
    source = _module_source(program, step, slots, input_exprs, leaf_exprs, final, root_name,
                            [names[node] for node in grad_leaves], replay)
    compiling = time.perf_counter()
    filename = _compile_source(source, step.__name__, program, namespace)
    function = namespace["forward_backward"]
    done = time.perf_counter()

    # -- the generated code must reproduce eager backward exactly, here, on the traced numbers ----------
    expected = _reference_gradients(root, order, seed)
    loss, grads = function(*[np.asarray(data, dtype=slot.cast) if slot.cast else data
                             for slot, data in zip(slots, trace_inputs)], *[node._data for node, _ in parameter_pairs + live])
    if not _same_numbers(loss, root._data) or len(grads) != len(grad_leaves) or not all(
            _same_numbers(grad, expected[node]) for grad, node in zip(grads, grad_leaves)):
        raise CompileError(f"{where}: internal error: the generated code disagrees with eager backward on the "
                           "traced numbers (please report this, with step.latest.source)")
    for index in grad_slots:
        slots[index].requires_grad = True
    for index, slot in enumerate(slots):
        if index not in grad_slots:
            slot.requires_grad = False
    seconds = {"trace": traced_seconds, "generate": compiling - generating, "compile": done - compiling,
               "total": time.perf_counter() - started}
    return Trace(key, slots, leaves, specs, namespace, source, seconds, [root_name], filename)


def _symbols(node, inputs, name, names, program):
    """Names for an op's comment: a, b (its inputs), out, E, and input k for stack."""
    texts = []
    for parent, expr in zip(node.parents, inputs):
        if expr.val is not None:
            texts.append(expr.val.name)
        else:
            texts.append(str(names.get(parent, "constant")))
    symbols = {"out": name, "E": "E"}
    if texts:
        symbols["a"] = texts[0]
    if len(texts) > 1:
        symbols["b"] = texts[1]
    for index, text in enumerate(texts):
        symbols[f"input {index}"] = text
    return symbols


def _describe(slot, data):
    if slot.kind == "value":
        kind = "Value"
    else:
        kind = "number" if type(data) is float else "array"
    if type(data) is float:
        return f"{slot.name} ({kind})"
    return f"{slot.name} ({kind} {tuple(data.shape)} {(slot.cast and np.dtype(slot.cast).name) or data.dtype.name})"


def _module_source(program, step, slots, input_exprs, leaf_exprs, final, root_name, grad_names, replay):
    """The whole generated module: header, buffers, constants, forward_backward (and replay)."""
    body = []
    for statement in program.statements:
        for line in program.lines_of(statement):
            body.append("    " + line)
    loss_text = program.text_of(final[0])[0] if isinstance(final[0], Expr) else final[0].name
    grad_texts = [item.name if isinstance(item, _Val) else program.text_of(item)[0] for item in final[1:]]
    grads_text = ", ".join(grad_texts) + ("," if len(grad_texts) == 1 else "")
    body.append(f"    return {loss_text}, ({grads_text})")
    inputs = [expr.val.name for expr in input_exprs] + [expr.val.name for expr in leaf_exprs]
    described = ", ".join(_describe(slot, expr.value) for slot, expr in zip(slots, input_exprs)) or "no arguments"
    function_name = getattr(step.function, "__qualname__", step.__name__)
    if "<locals>" in function_name:
        function_name = step.__name__
    lines = [f'"""minigrad.compile: {function_name}, traced for {described}.',
             "",
             "forward_backward: forward, then backward in the order minigrad.core.backward walks the graph, with",
             "the same numpy (or math) calls on the same numbers as eager mode, so the same results, bit for",
             "bit.  Arrays are written into the buffers below, each reused once the value it held is dead: a",
             "buffer passed as the last argument of a numpy call is where the call writes its result (out).",
             "The loss and the gradients returned are new arrays every call.",
             '"""',
             "import math",
             "from math import fsum, tanh",
             "",
             "import numpy as np",
             "from numpy import add, divide, greater, matmul, multiply, negative, reciprocal, subtract",
             "",
             "from minigrad.core.numerics import count_nonzero, dot, vdot  # numpy's C functions, without their wrappers",
             "from minigrad.core.numerics import exp, log, one_where_zero, power, power_slope, quotient, sigmoid_parts",
             "from minigrad.core.numerics import maximum, minimum, sign, sqrt  # floats as numpy treats them",
             f"from minigrad.core.numerics import {', '.join(_HELPERS[:6])}",
             f"from minigrad.core.numerics import {', '.join(_HELPERS[6:])}",
             "",
             "ONE64, ONE32 = np.array(1.0), np.array(1.0, dtype=np.float32)",
             "FLOOR64, FLOOR32 = np.array(-700.0), np.array(-85.0, dtype=np.float32)  # exp(−x) overflows below",
             ""]
    if program.buffers or program.masks:
        lines.append("# Buffers, allocated once for this trace (in the memory order eager mode's arrays have).")
        for number, storage in enumerate(program.buffers):
            if storage.layout in ("C", "F"):
                order = ', order="F"' if storage.layout == "F" and len(storage.shape) > 1 else ""
                lines.append(f"buf{number} = np.empty({storage.shape!r}, dtype=np.{storage.dtype.name}{order})")
            else:
                lines.append(f"# buf{number}: {storage.dtype.name} {storage.shape}, strides {storage.layout} "
                             "(np.empty_like of eager's array)")
        for shape, name in program.masks.items():
            lines.append(f"{name} = np.empty({shape!r}, dtype=bool)")
        lines.append("")
    written = []
    for name, value in program.constants.items():
        if type(value) in (float, int):
            written.append(f"{name} = {_float_text(value)[0] if type(value) is float else repr(value)}")
        elif value.size <= 8:
            written.append(f"{name} = np.array({_array_literal(value)}, dtype=np.{value.dtype.name})")
        else:
            written.append(f"# {name}: a {value.dtype.name} array of shape {value.shape}, frozen at the trace")
    if written:
        lines.append("# Constants.")
        lines.extend(written)
        lines.append("")
    grads = ", ".join(f"∂{root_name}/∂{name}" for name in grad_names)
    lines.append("")
    lines.append(f"def forward_backward({', '.join(inputs)}):")
    lines.append(f'    """{root_name}' + (f" and {grads}." if grads else ".") + '"""')
    lines.extend(body)
    if replay:
        lines.extend(["", ""] + replay)
    return "\n".join(lines) + "\n"


def _replay_source(program, slots, trace_inputs, leaves, specs, grad_slots, root_name, namespace, optimizer):
    """``replay(*arguments)``: one call of the step, for arguments that fit this trace
    (None when they, or a parameter, do not).  Fills ``namespace`` with what it reads."""
    spec_names = {_FLOAT64: "FLOAT64", _FLOAT32: "FLOAT32"}
    # NOTE: replay has a scope of its own: it may reuse forward_backward's names, not the module's globals.
    scope = Program(fold=True)
    scope.identifiers |= set(program.constants) | set(program.masks.values()) | {
        f"buf{number}" for number in range(len(program.buffers))}
    names = [scope.unique(slot.name) for slot in slots]
    lines = ["def replay(*arguments):",
             '    """One call: check that the arguments and parameters fit this trace, run forward_backward,',
             '    and add the gradients to .grad as backward does.  None when something does not fit."""',
             f"    if len(arguments) != {len(slots)}:",
             "        return None"]
    if slots:
        lines.append(f"    {', '.join(names)}{',' if len(names) == 1 else ''} = arguments")

    def test(name, data):
        if type(data) is float:
            return f"type({name}) is not float"
        strides = f" or {name}.strides != {data.strides!r}" if data.ndim > 1 else ""
        return (f"type({name}) is not ndarray or {name}.dtype is not {spec_names[data.dtype]} "
                f"or {name}.shape != {data.shape!r}{strides}")

    datas, targets = [], []
    for slot, name, data in zip(slots, names, trace_inputs):
        if slot.kind == "value":
            payload = scope.unique(f"{name}_data")
            lines.append(f"    if type({name}) is not Value or {name}.requires_grad is not {slot.requires_grad}:")
            lines.append("        return None")
            lines.append(f"    {payload} = {name}._data")
            lines.append(f"    if {test(payload, data)}:")
            datas.append(payload)
        else:
            lines.append(f"    if {test(name, data)}:")
            datas.append(name)
        lines.append("        return None")
    for index in grad_slots:
        targets.append(names[index])
    parameters, read = [], {}
    written = _fused_parameters(optimizer, leaves)
    for (name, value, grad), spec in zip(leaves, specs):
        holder = scope.unique(f"{name}_value")
        namespace[holder] = value
        data = scope.unique(name)
        lines.append(f"    {data} = {holder}._data")
        example = value._data
        if id(value) in written:  # NOTE: data this replay's update wrote last call fits; the test is skipped
            if type(example) is _ndarray:  # but not whether it may still be written (flags can change in place)
                lines.append(f"    if {holder}._version != STAMP and ({test(data, example)}) "
                             f"or not {data}.flags.writeable:")
            else:
                lines.append(f"    if {holder}._version != STAMP and {test(data, example)}:")
        else:
            lines.append(f"    if {test(data, example)}:")
        lines.append("        return None")
        datas.append(data)
        if grad:
            parameters.append(holder)
            read[id(value)] = (holder, data, example)
    # NOTE: acquire/try/finally costs half what `with lock:` does; the replay takes two locks a call.
    lines += ["    BUFFERS_LOCK.acquire()  # the buffers are this trace's: one call at a time",
              "    try:",
              f"        loss, grads = forward_backward({', '.join(datas)})",
              "    finally:",
              "        BUFFERS_LOCK.release()",
              "    GRADIENT_LOCK.acquire()  # backward's lock: leaves shared with other threads add up exactly",
              "    try:"]
    everything = targets + parameters
    if len(everything) <= 16:
        for number, holder in enumerate(everything):
            lines += [f"        earlier = {holder}.grad",
                      f"        {holder}.grad = grads[{number}] if earlier is None else "
                      f"add_gradient(earlier, grads[{number}])"]
    else:
        namespace["PARAMETERS"] = tuple(namespace[holder] for holder in parameters)
        lines += [f"        for value, grad in zip({f'({chr(44).join(targets)},) + ' if targets else ''}PARAMETERS, "
                  "grads):",
                  "            earlier = value.grad",
                  "            value.grad = grad if earlier is None else add_gradient(earlier, grad)"]
    if optimizer is not None:
        lines += _update_source(optimizer, read, written, root_name, namespace, scope)
    lines += ["    finally:",
              "        GRADIENT_LOCK.release()",
              f"    return leaf(loss, False, {root_name!r})"]
    lines.insert(3, f"    # The parameters ({', '.join(parameters) or 'none'}) are Values, read on every call.")
    if written:
        lines.insert(4, "    global STAMP  # the version the update below stamps on the data it writes")
    return lines


def _fused_parameters(optimizer, leaves):
    """The ids of the parameters whose update replay writes out: every parameter of a plain
    SGD, when the function reaches them all (as Values it finds itself, not as arguments)."""
    reached = {id(value) for _, value, grad in leaves if grad}
    if type(optimizer) is not SGD or len(optimizer.params) > 16 or \
            not all(id(parameter) in reached for parameter in optimizer.params):
        return set()
    return {id(parameter) for parameter in optimizer.params}


def _update_source(optimizer, read, written, root_name, namespace, scope):
    """The lines of replay that take the optimizer's step after the gradients are added.

    Plain SGD over parameters this trace reaches is written out, p ← p − lr·.grad with
    the very arithmetic of `minigrad.optim.SGD` (so the same new weights, bit for bit),
    in place as SGD writes them; anything else calls ``optimizer.step()``."""
    namespace["OPTIMIZER"] = optimizer
    if not written:
        return ["        OPTIMIZER.step()  # the optimizer's own step, on the .grad just added to"]
    covered = [read[id(parameter)] for parameter in optimizer.params]
    rates = sorted({example.dtype.name for _, _, example in covered if type(example) is _ndarray})
    namespace["RATE"] = [optimizer.lr]
    for dtype in rates:
        namespace[f"LR{dtype[-2:]}"] = np.array(optimizer.lr, dtype=dtype)
    assigned = " or ".join(f"{holder}._data is not {data}" for holder, data, _ in covered)
    lines = ["        # The optimizer's step, as SGD.step() takes it: p ← p − lr·.grad (the chapter's",
             f"        # w ← w − η·∂{root_name}/∂w), arrays in place; lr is read on every call.  With",
             "        # momentum, weight decay, groups of several lrs, or a parameter assigned by another thread: SGD's own.",
             f"        if not OPTIMIZER._plain_step() or {assigned}:",
             "            OPTIMIZER.step()",
             "        else:",
             "            lr = float(OPTIMIZER.lr)"]
    if rates:
        refresh = "; ".join(["RATE[0] = lr"] + [f"LR{dtype[-2:]}[()] = lr" for dtype in rates])
        lines += ["            if lr != RATE[0]:  # lr changed: the 0-d arrays the gradients are multiplied by follow",
                  f"                {refresh}"]
    lines.append("            version = next_version()  # one stamp for every parameter written")
    scratch = {}
    for holder, data, example in covered:
        if type(example) is float:
            lines.append(f"            {holder}._data = {data} - lr * {holder}.grad")
        else:
            kind = (example.shape, example.dtype.name)
            if kind not in scratch:
                scratch[kind] = scope.unique("SCALED")
                namespace[scratch[kind]] = np.empty(example.shape, dtype=example.dtype)
            lines.append(f"            subtract({data}, multiply({holder}.grad, LR{example.dtype.name[-2:]}, "
                         f"{scratch[kind]}), {data})")
        lines.append(f"            {holder}._version = version")
    lines += ["            OPTIMIZER.steps += 1",
              "            STAMP = version  # the parameters' data fit this trace while they hold this stamp"]
    namespace["STAMP"] = -1
    return lines


def _array_literal(value):
    if value.ndim == 0:
        return _float_text(float(value))[0]
    return "[" + ", ".join(_array_literal(item) for item in value) + "]"


_module_numbers = itertools.count(1)


def _compile_source(source, name, program, namespace):
    """Compile the module text into ``namespace``; returns its filename.  The lines are
    registered with linecache under it, so a traceback through generated code shows them."""
    filename = f"<minigrad.compile {name} #{next(_module_numbers)}>"
    code = builtins.compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace.update({"__name__": "minigrad_compiled", "ndarray": _ndarray, "Value": Value, "leaf": leaf,
                      "next_version": next_version,
                      "FLOAT64": _FLOAT64, "FLOAT32": _FLOAT32, "add_gradient": add_gradient,
                      "BUFFERS_LOCK": threading.Lock(), "GRADIENT_LOCK": _gradient_lock})
    for constant, value in program.constants.items():
        if type(value) is _ndarray and value.size > 8:
            namespace[constant] = value
    for number, storage in enumerate(program.buffers):
        if storage.layout not in ("C", "F"):
            namespace[f"buf{number}"] = np.empty_like(storage.template)
    exec(code, namespace)  # noqa: S102 - the source was written above, from the op table
    return filename
