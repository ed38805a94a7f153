"""The tracer: a stand-in for an op's data that records what the op's rules do with it.

`minigrad.compile` runs each op's own forward and backward rule (`minigrad.core.ops`) once more,
with a `Tracer` in place of every array and float.  Whatever a rule does with a tracer reaches one
of four doors (Python's operators; ``__array_ufunc__``; ``__array_function__`` and the array
methods; ``__minigrad_helper__``, see "How the tracer works" in docs/compile.md), and each records
one call, evaluated at once, on the trace's numbers, by the very function the rule called: the
generated code makes the same call on the same numbers, which is why compiled equals eager bit for
bit.  Anything else (``float(t)``, ``if t > 0``, ``np.asarray(t)``) is refused with `CompileError`.
"""

from __future__ import annotations

import functools
import operator

import numpy as np

from ..core import numerics

__all__ = ["Tracer", "Primitive", "CompileError"]

_FLOAT64 = np.dtype(np.float64)

# Precedence of Python's operators, for parentheses in float expressions.
CONDITIONAL, SUM, PRODUCT, UNARY, ATOM = 0, 1, 2, 3, 4


class CompileError(RuntimeError):
    """The function or its arguments cannot be compiled (nothing is run or changed)."""


class Primitive:
    """One kind of call the generated code makes: how to evaluate it and how to write it.

    ``kind``: ``"ufunc"`` (elementwise: writes into a buffer, may take a dead
    input's), ``"out"`` (writes into a buffer of its own: products, reductions),
    ``"alloc"`` (makes a fresh array, or a float), ``"view"`` (shares its first
    array argument's memory).  ``write(args, params, out)`` returns ``(text,
    precedence)`` for an array result and ``write_float(args, params)`` for a
    Python float; arguments come as ``(text, precedence)``, keyword arguments
    as their texts (`Program.static_text`).  ``helper``: the `minigrad.core.numerics`
    helper its text calls by name (the generated module imports it), or None.
    """

    def __init__(self, name, kind, evaluate, write, write_float=None, helper=None):
        self.name, self.kind, self.evaluate, self.helper = name, kind, evaluate, helper
        self.write, self.write_float = write, write_float or (lambda args, params: write(args, params, None))

    def __repr__(self):
        return f"<primitive {self.name}>"


def wrap(arg, below):
    """An argument's text, parenthesized when its precedence is below ``below``."""
    text, precedence = arg
    return f"({text})" if precedence < below else text


def _out(out, keyword=False):
    """The buffer a numpy call writes into: its last positional argument (a keyword costs
    numpy a parse on every call), or ``out=`` where numpy takes only that."""
    if not out:
        return ""
    return f", out={out}" if keyword else f", {out}"


# The ufuncs generated code calls most, imported by name (a lookup saved per call).
BOUND = ("add", "subtract", "multiply", "divide", "negative", "reciprocal", "greater", "less", "equal", "dot",
         "vdot")
# numpy deprecates a positional out for these.
_KEYWORD_OUT = {"maximum", "minimum"}


def _ufunc_writer(ufunc_name):
    qualified = ufunc_name if ufunc_name in BOUND else f"np.{ufunc_name}"

    def write(args, params, out):
        texts = [text for text, _ in args]
        return f"{qualified}({', '.join(texts)}{_out(out, ufunc_name in _KEYWORD_OUT)})", ATOM
    return write


def _infix(symbol, precedence):
    def write(args, params):
        left, right = args
        # NOTE: Python's operators are left-associative: a − (b − c) needs its parentheses.
        return f"{wrap(left, precedence)} {symbol} {wrap(right, precedence + 1)}", precedence
    return write


#: Python's binary operators: (its method, numpy's ufunc, the symbol, its precedence).
_BINARY = [("add", "add", "+", SUM), ("sub", "subtract", "-", SUM), ("mul", "multiply", "*", PRODUCT),
           ("truediv", "divide", "/", PRODUCT), ("gt", "greater", ">", CONDITIONAL), ("lt", "less", "<", CONDITIONAL),
           ("ge", "greater_equal", ">=", CONDITIONAL), ("le", "less_equal", "<=", CONDITIONAL),
           ("eq", "equal", "==", CONDITIONAL), ("ne", "not_equal", "!=", CONDITIONAL)]
OPERATORS = {name: Primitive(name, "ufunc", getattr(operator, method), _ufunc_writer(name), _infix(symbol, precedence))
             for method, name, symbol, precedence in _BINARY}
OPERATORS["negative"] = Primitive("negative", "ufunc", operator.neg, _ufunc_writer("negative"),
                                  lambda args, params: (f"-{wrap(args[0], UNARY)}", UNARY))


def _keywords(params):
    return [f"{key}={text}" for key, text in params.items()]


def _call_text(callee, args, params):
    """``callee(a, b, key=value)`` from the arguments' texts and the keyword arguments."""
    return f"{callee}({', '.join([text for text, _ in args] + _keywords(params))})"


def float_text(number):
    if number != number:
        return "math.nan", ATOM
    if number in (float("inf"), float("-inf")):
        return ("math.inf", ATOM) if number > 0 else ("-math.inf", UNARY)
    text = repr(number)
    return text, (UNARY if text.startswith("-") else ATOM)


# NOTE: each factory is cached: one Primitive per kind of call, as the writers compare them by identity.

@functools.cache
def ufunc_call(ufunc):
    """``np.<ufunc>(args)``: elementwise, into a buffer."""
    return Primitive(ufunc.__name__, "ufunc", ufunc, _ufunc_writer(ufunc.__name__))


@functools.cache
def ufunc_reduce(ufunc):
    """``np.<ufunc>.reduce(a, axis, keepdims=...)``, into a buffer of its own."""
    def write(args, params, out):
        if set(params) <= {"axis"}:  # NOTE: positional (a, axis, dtype, out): keywords cost numpy a parse
            axis = params.get("axis", "0")
            return f"np.{ufunc.__name__}.reduce({args[0][0]}, {axis}{', None' + _out(out) if out else ''})", ATOM
        return f"np.{ufunc.__name__}.reduce({', '.join([args[0][0]] + _keywords(params))}{_out(out, True)})", ATOM
    return Primitive(f"{ufunc.__name__}.reduce", "out", ufunc.reduce, write)


@functools.cache
def function_call(function, kind):
    """``np.<function>(args, keywords)``: a view of its first array argument, or a fresh array."""
    name = function.__name__
    qualified = f"np.{name}" if getattr(np, name, None) is function else f"{function.__module__}.{name}"
    return Primitive(name, kind, function, lambda args, params, out: (_call_text(qualified, args, params), ATOM))


@functools.cache
def method_call(name, kind):
    """``a.<name>(args)``; ``T`` is the attribute."""
    def write(args, params, out):
        if name == "T":
            return f"{wrap(args[0], ATOM)}.T", ATOM
        return _call_text(f"{wrap(args[0], ATOM)}.{name}", args[1:], params), ATOM

    def evaluate(a, *rest, **params):
        return a.T if name == "T" else getattr(a, name)(*rest, **params)
    return Primitive(name, kind, evaluate, write)


@functools.cache
def getitem_call(kind):
    return Primitive("getitem", kind, lambda a, index, text: a[index],
                     lambda args, params, out: (f"{wrap(args[0], ATOM)}[{params['text']}]", ATOM))


@functools.cache
def helper_call(function, kind, form=None):
    """A named helper of `minigrad.core.numerics`, called by its name (``form``: the one
    numpy call it makes on these arrays, written with an out buffer instead)."""
    if form is not None:
        return Primitive(function.__name__, kind, function, _ufunc_writer(form.__name__))
    return Primitive(function.__name__, kind, function,
                     lambda args, params, out: (_call_text(function.__name__, args, params), ATOM),
                     helper=function.__name__)


class Tracer:
    """A value of the generated program, standing in for an array or a float while the ops'
    rules run: a program value, a constant, or a recorded call of other tracers.  ``value``
    is its number (evaluated as it is recorded)."""

    __slots__ = ("program", "primitive", "args", "params", "value", "val", "label", "literal_name", "scalar")
    __array_priority__ = 1000  # NOTE: ndarray ⊕ tracer hands over to the tracer's reflected operator

    def __init__(self, program, primitive, args, params, value, val=None):
        self.program, self.primitive, self.args, self.params = program, primitive, args, params
        self.value, self.val, self.label, self.literal_name = value, val, None, None
        self.scalar = False  # the call gives a numpy scalar for this 0-d value (the code makes it an array)

    # -- what rules may ask ---------------------------------------------------------------------

    @property
    def shape(self):
        return () if type(self.value) in (float, int, bool) else self.value.shape

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return 1 if type(self.value) in (float, int, bool) else self.value.size

    @property
    def dtype(self):
        return _FLOAT64 if type(self.value) in (float, int) else self.value.dtype

    @property
    def is_constant(self):
        return self.primitive is None and self.val is None

    @property
    def T(self):
        return self.program.record(method_call("T", "view"), (self,), {})

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        return self.program.record(method_call("reshape", "view"), (self, tuple(shape)), {})

    def swapaxes(self, first, second):
        return self.program.record(method_call("swapaxes", "view"), (self, first, second), {})

    def astype(self, dtype):
        return self.program.record(method_call("astype", "alloc"), (self, np.dtype(dtype)), {})

    def __getitem__(self, index):
        return self.program.record_getitem(self, index)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a 0-d value")
        return self.shape[0]

    def __iter__(self):
        return (self[position] for position in range(len(self)))

    def __repr__(self):
        what = self.primitive.name if self.primitive else ("value" if self.val else "constant")
        return f"<Tracer {what} {type(self.value).__name__} {self.shape}>"

    # -- Python's operators (each one recorded call; see `OPERATORS`, and the loop below the class) -------

    __hash__ = object.__hash__

    def __neg__(self):
        return self.program.record(OPERATORS["negative"], (self,), {})

    def __matmul__(self, other):
        return self.program.record(ufunc_call(np.matmul), (self, other), {})

    def __rmatmul__(self, other):
        return self.program.record(ufunc_call(np.matmul), (other, self), {})

    # -- numpy's doors ------------------------------------------------------------------------------

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs or "where" in kwargs:
            raise self.program.refuse(f"np.{ufunc.__name__} with out= or where=")
        if method == "__call__":
            return self.program.record(ufunc_call(ufunc), inputs, kwargs)
        if method == "reduce":  # np.add.reduce(t, axis, ...): kwargs is this call's own dict
            if len(inputs) > 1:
                kwargs["axis"] = inputs[1]
            return self.program.record(ufunc_reduce(ufunc), inputs[:1], kwargs)
        raise self.program.refuse(f"np.{ufunc.__name__}.{method}")

    def __array_function__(self, func, types, args, kwargs):
        return self.program.record_function(func, args, kwargs)

    @classmethod
    def __minigrad_helper__(cls, function, args, kwargs):
        program = next(arg.program for arg in args if isinstance(arg, Tracer))
        return program.record_helper(function, args, kwargs)

    # -- what a rule must not do with a traced number: see `_REFUSED`, below the class ---------------


def _operator_method(name, reflected):
    primitive = OPERATORS[name]
    return lambda self, other: self.program.record(primitive, (other, self) if reflected else (self, other), {})


_REFUSED = {"__bool__": "a test of a traced number (if, and, or, bool())", "__float__": "float() of a traced number",
            "__int__": "int() of a traced number", "__index__": "a traced number used as an index or a size",
            "__array__": "np.asarray() of a traced value (use the numpy call itself)"}


def _refusal(what):
    def refuse(self, *args, **kwargs):
        raise self.program.refuse(what)
    return refuse


for _method, _what in _REFUSED.items():
    setattr(Tracer, _method, _refusal(_what))
for _method, _name, *_ in _BINARY:
    setattr(Tracer, f"__{_method}__", _operator_method(_name, False))
    if _name in ("add", "subtract", "multiply", "divide"):  # the comparisons reflect into each other instead
        setattr(Tracer, f"__r{_method}__", _operator_method(_name, True))


def values_of(argument):
    """An argument with every tracer replaced by its value (lists and tuples looked into)."""
    if isinstance(argument, Tracer):
        return argument.value
    if type(argument) in (list, tuple):
        return type(argument)(values_of(item) for item in argument)
    return argument
