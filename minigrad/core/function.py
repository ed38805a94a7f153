"""Ops that users write themselves: `Function`, in PyTorch's habit.

    class Softplus(mg.Function):
        formula = "ln(1 + exp(a))"        # optional display facts: name, formula, partials
        partials = ("1/(1 + exp(−{a}))",)

        @staticmethod
        def forward(ctx, x):               # numpy arrays (or floats) in, one array out
            ctx.save_for_backward(x)
            return np.logaddexp(0.0, x)

        @staticmethod
        def backward(ctx, grad):           # one gradient per argument of forward (None: none)
            (x,) = ctx.saved_tensors
            return grad / (1.0 + np.exp(-x))

    y = Softplus.apply(value)

Each subclass is one op of its own (`FunctionOp`, made when the class is
defined), recorded by `minigrad.core.value.apply` like every built-in op, so
backward (unbroadcasting included), `draw`, `explain`, `explore` and
`gradcheck` treat it as one.  Values and numpy arrays passed to ``apply`` are
its inputs (arrays as constants); anything else (numbers, strings, tuples) is
handed to ``forward`` as it is, and its gradient must be None.

With ``create_graph=True`` the backward runs on Values: ``grad`` is a Value and
``ctx.saved_tensors`` gives back the inputs' and the output's Values for the
arrays forward saved, so a backward written in numpy calls that Values take
(ufuncs such as ``np.exp``, operators, ``np.sum``, ...) records a graph that
can be differentiated again.  A saved array that is neither an input nor the
output, or a numpy call Values do not take, is a clear error naming the
Function: never a silently wrong second derivative.

An optional ``jvp(ctx, *tangents)`` staticmethod (one tangent per argument of
forward, None for an option or a constant) gives forward mode (`minigrad.jvp`).
"""

from __future__ import annotations

import numpy as np

from .ops import Op

__all__ = ["Function", "FunctionContext", "FunctionOp", "FunctionError"]

_FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def _stand_in(x):
    """The compiler's tracer or a Value (a type with the numerics helper protocol), not numbers."""
    return hasattr(type(x), "__minigrad_helper__")


class FunctionError(TypeError):
    """A user's `Function` is defined wrongly (its forward's result or its backward's gradients)."""


class FunctionContext:
    """``ctx``: what a Function's forward keeps for its backward.

    ``save_for_backward(*arrays)`` and ``saved_tensors``, as in PyTorch;
    ``needs_input_grad`` (one bool per argument of forward); any other
    attribute may be set freely (it is kept as a constant: a second
    derivative does not see through it)."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = ()
        self._values = None  # under create_graph: id(array) -> the Value that holds it

    def save_for_backward(self, *arrays):
        """Keep the inputs or the output (or other arrays) for backward."""
        self._saved = arrays

    def comparable(self):
        """What decides a backward besides the inputs: the saved arrays and the other attributes
        forward set (how `minigrad.compile` checks that its trace gave what eager mode recorded)."""
        extra = {key: value for key, value in vars(self).items() if not key.startswith("_") and key != "needs_input_grad"}
        return (self._saved, tuple(sorted(extra.items(), key=lambda item: item[0])))

    @property
    def saved_tensors(self):
        """What `save_for_backward` kept, in order; under create_graph, the inputs' and
        output's Values for arrays that are inputs or the output."""
        if self._values is None:
            return self._saved
        return tuple(self._as_value(position, item) for position, item in enumerate(self._saved))

    def _as_value(self, position, item):
        if not isinstance(item, (np.ndarray, float, np.floating)):
            return item  # not a number: nothing to differentiate
        value = self._values.get(id(item))
        if value is None:
            raise FunctionError(
                f"create_graph: Function '{self._name}' saved an array (saved_tensors[{position}]) that is neither "
                "an input nor the output of its forward, so its backward cannot be differentiated again; save the "
                "inputs or the output and compute the rest in backward")
        return value


class FunctionOp(Op):
    """The op of one `Function` subclass: its forward and backward rules are the class's."""

    reads_inputs = True  # saved inputs stay as they were recorded

    def __init__(self, function):
        self.function_class = function
        self.name = getattr(function, "name", None) or function.__name__
        self.formula = getattr(function, "formula", None) or f"{self.name}(a)"
        self.partials = tuple(getattr(function, "partials", None) or (f"∂{self.name}/∂{{a}}",))
        self.symbol = getattr(function, "symbol", None) or self.name

    # -- forward ----------------------------------------------------------------

    def forward(self, *inputs, layout, needs):
        """``layout`` rebuilds forward's arguments: for each, ("input", k) or ("option", value)."""
        arguments = [inputs[entry[1]] if entry[0] == "input" else entry[1] for entry in layout]
        ctx = FunctionContext(needs)
        ctx._name = self.name
        ctx._layout = layout
        out = self.function_class.forward(ctx, *arguments)
        out = self._check_output(out)
        return out, ctx

    def _check_output(self, out):
        if type(out) is float or _stand_in(out):
            return out
        if isinstance(out, (tuple, list)):
            raise FunctionError(f"Function '{self.name}': forward must return one array or float, got a "
                                f"{type(out).__name__} of {len(out)}")
        if isinstance(out, (bool, np.bool_)) or not isinstance(out, (np.ndarray, np.generic, int)):
            raise FunctionError(f"Function '{self.name}': forward must return a numpy array or a float, got "
                                f"{type(out).__name__}")
        dtype = np.result_type(out)
        if dtype not in _FLOATS:
            raise FunctionError(f"Function '{self.name}': forward returned dtype {dtype}; return float64 or float32 "
                                "numbers (e.g. .astype(np.float64))")
        return np.asarray(out) if isinstance(out, np.generic) else out

    # -- backward ---------------------------------------------------------------

    def backward(self, grad, out, ctx, needs, *inputs):
        """The class's backward, its gradients checked and put in input order."""
        returned = self.function_class.backward(ctx, grad)
        layout = ctx._layout
        if not isinstance(returned, (tuple, list)):
            returned = (returned,)
        if len(returned) != len(layout):
            raise FunctionError(f"Function '{self.name}': backward returned {len(returned)} gradient"
                                f"{'' if len(returned) == 1 else 's'} but forward takes {len(layout)} argument"
                                f"{'' if len(layout) == 1 else 's'}; return one per argument (None where none)")
        grads = [None] * len(inputs)
        for position, (entry, gradient) in enumerate(zip(layout, returned)):
            if entry[0] == "option":
                if gradient is not None:
                    raise FunctionError(
                        f"Function '{self.name}': backward returned a gradient for argument {position} "
                        f"({type(entry[1]).__name__} {entry[1]!r}), which is not an array and needs none; "
                        "return None there")
                continue
            if gradient is None:
                continue
            self._check_gradient(position, gradient, inputs[entry[1]])
            grads[entry[1]] = gradient
        return grads

    def _check_gradient(self, position, gradient, data):
        if _stand_in(gradient) and not hasattr(gradient, "_data"):
            return  # the compiler's tracer: eager mode has checked these numbers' shapes already
        shape = np.shape(gradient)
        like = np.shape(data)
        try:
            fits = np.broadcast_shapes(like, shape) == shape
        except ValueError:
            fits = False
        if not fits:
            raise FunctionError(
                f"Function '{self.name}': backward's gradient for argument {position} has shape {shape}, which "
                f"cannot be summed back to the input's shape {like}; return a gradient of the input's shape "
                "(or of a shape it broadcasts to)")
        kind = getattr(gradient, "dtype", None)
        if kind is not None and np.dtype(kind) not in _FLOATS:
            raise FunctionError(f"Function '{self.name}': backward's gradient for argument {position} has dtype "
                                f"{kind}; return float64 or float32 numbers")

    # -- forward mode -------------------------------------------------------------

    def jvp(self, tangents, out, ctx, *inputs):
        rule = getattr(self.function_class, "jvp", None)
        if rule is None:
            raise NotImplementedError(
                f"jvp: Function '{self.name}' has no forward-mode rule; give it a staticmethod "
                "jvp(ctx, *tangents) returning the output's tangent")
        arguments = [tangents[entry[1]] if entry[0] == "input" else None for entry in ctx._layout]
        return rule(ctx, *arguments)

    def label(self, node):
        return self.symbol


class Function:
    """A user's op: subclass it, write ``forward(ctx, *args)`` and ``backward(ctx, grad)``
    as staticmethods on numpy arrays, and call ``YourFunction.apply(*args)``.

    Optional class attributes give the display facts: ``name`` (default: the
    class name), ``formula``, ``partials`` (one template per input, with
    ``{a}``, ``{b}``, ``{out}`` for the names); and a staticmethod
    ``jvp(ctx, *tangents)`` gives forward mode.
    """

    op: FunctionOp

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for method in ("forward", "backward"):
            if not callable(getattr(cls, method, None)) or getattr(cls, method) is getattr(Function, method):
                raise TypeError(f"Function {cls.__name__}: define a staticmethod {method}(ctx, ...)")
        cls.op = FunctionOp(cls)

    @staticmethod
    def forward(ctx, *args):  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @staticmethod
    def backward(ctx, grad):  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        """Run forward on the arguments' numbers and record one node of this op."""
        from .value import Value, apply

        if cls is Function:
            raise TypeError("Function.apply: subclass Function and call YourFunction.apply(...)")
        inputs, layout, needs = [], [], []
        for arg in args:
            if isinstance(arg, (Value, np.ndarray)):
                layout.append(("input", len(inputs)))
                needs.append(bool(getattr(arg, "requires_grad", False)))
                inputs.append(arg)
            else:
                layout.append(("option", arg))
                needs.append(False)
        if not inputs:
            raise TypeError(f"{cls.__name__}.apply: give at least one Value or array")
        return apply(cls.op, *inputs, layout=tuple(layout), needs=tuple(needs))
