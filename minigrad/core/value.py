"""The Value: a number or an array that remembers how it was computed.

Forward records, backward walks.  Every operator and method of `Value` is
one line that hands its op (from `minigrad.core.ops`) to `apply`, the one path
by which a node is made: it turns plain numbers and arrays into constants,
runs the op's forward rule on the data and records the result, its op, its
parents and what the op saved for backward.  `Value.backward` then hands the
graph to `minigrad.core.backward`.

A node's public face, for tools: ``op`` (an `Op` from the table, None for a
leaf), ``parents`` (a tuple, in argument order), ``saved`` (what the op's
forward kept for its backward), ``data``, ``grad``, ``name``, ``version``.
Treat ``op``, ``parents`` and ``saved`` as read-only.
"""

from __future__ import annotations

import itertools
import math
from typing import Any
import weakref

import numpy as np

from . import backward as _backward
from . import checks
from ._types import Data
from . import namespace
from . import numerics
from . import ops
from . import modes
from .modes import AnomalyError, TracingError, creation_site, describe_node, refuse_while_tracing, state

__all__ = ["Value", "apply", "sse", "stack", "maximum", "minimum", "softmax", "log_softmax", "MOVE"]

# NOTE: these first three are just optimizations of the hot path (every op of every step):
_ndarray = np.ndarray  # one global lookup in each type test, where np.ndarray is a lookup and an attribute
_new = object.__new__  # a node an op makes skips Value.__init__'s conversion and checks of its data
_FLOAT64, _FLOAT32 = np.dtype(np.float64), np.dtype(np.float32)  # dtypes are singletons: `is` tests them


class Value:
    """A scalar or numpy array that records the operations applied to it.

    ``Value(data, name=None, requires_grad=True)``: a Python number becomes a
    float (the fast scalar path, no numpy); a list or array is copied into a
    float64 array, and float32 stays float32 end to end, gradients included.
    An array of another Array API library (a torch tensor, a CuPy array, an
    array_api_strict array) stays in that library and on its device: every op,
    gradient and optimizer step runs there (see `minigrad.core.namespace`);
    ``v.to(namespace or device)`` and ``v.numpy()`` move it explicitly.

    After ``loss.backward()`` every node of the graph carries ``.grad``.
    Leaves (Values you made) *accumulate* across calls, as in PyTorch, until
    ``zero_grad()``; intermediate nodes are *overwritten* by each backward.
    A pass uses its graph up: a second backward through it raises
    `FreedGraphError` unless the first passed ``retain_graph=True``.

    A Value owns its array: ``Value(arr)`` and ``v.data = arr`` copy it.
    Assigning ``.data`` raises ``.version``, and so does an optimizer step
    (which writes a parameter's array in place); backward refuses a graph
    recorded before such a change instead of mixing old and new numbers.
    Writing into the array in place yourself (``v.data[0] = 1``) is not
    seen: assign instead.

    ``==`` compares identity (Values are dict keys); ``<``, ``<=``, ``>``,
    ``>=`` compare the data and return plain booleans or arrays: no graph.

    numpy: ``np.asarray(v)`` gives the numbers only of a Value that needs no
    gradient (else a TypeError: use ``.numpy()`` or ``.detach()``); numpy's
    ufuncs and reductions on Values (``np.exp(v)``, ``x + v``, ``np.sum(v)``)
    are minigrad's ops and record the graph; anything else is a TypeError
    naming what to use.
    """

    # Every slot but `_pending` is set when a node is made (`_initialize`, and the same statements
    # inline in `_apply`).  `_born` is the data clock when the node was recorded (see `_clock`);
    # `_mark` and `_pending` are backward's count (see minigrad.core.backward): backward sets
    # `_pending` whenever it sets `_mark` to a pass's number, the only time it reads it.
    __slots__ = ("_data", "grad", "name", "requires_grad", "op", "parents", "saved", "_version", "_born",
                 "_mark", "_pending", "__weakref__")
    _data: Data
    grad: Any
    name: str | None
    requires_grad: bool
    op: ops.Op | None
    parents: tuple[Value, ...]
    saved: Any
    _version: int
    _born: int
    _mark: int
    _pending: int

    def __init__(self, data, name=None, requires_grad=True):
        _initialize(self, as_data(data, "Value", copy=True), bool(requires_grad), None, (), None, name)
        if state.anomaly:
            modes.origins[self] = creation_site()

    # -- data and its version -------------------------------------------------

    @property
    def data(self):
        """The number (a Python float) or the numpy array."""
        return self._data

    @data.setter
    def data(self, value):
        global _clock
        kind = type(value)
        if kind is not float and (kind is not _ndarray or value.dtype is not _FLOAT64 and value.dtype is not _FLOAT32):
            if isinstance(value, np.generic) and type(self._data) is _ndarray:
                value = np.asarray(value)  # numpy gives scalars for 0-d arithmetic; keep the array
            value = as_data(value, "Value.data")
        elif kind is _ndarray:
            value = value.copy(order="K")  # NOTE: the Value owns its array (optimizer steps write it in place)
        grad = self.grad
        if grad is not None and (numerics.shape(grad) != numerics.shape(value) or _kind(grad) != _kind(value)):
            # NOTE: a gradient of the old shape or dtype would be broadcast into the new data by the
            # next backward (or step the parameter back to the old shape): it is forgotten instead.
            self.grad = None
        self._data = value
        self._version = _clock = next(_ticks)

    @property
    def version(self):
        """0 until ``.data`` is first assigned or an optimizer step writes it; after that it
        grows with every change.  A Value made by ``detach()`` of a leaf shares its array,
        and so its changes."""
        source = _shares_array_with.get(self) if _shares_array_with else None
        return self._version if source is None else max(self._version, source.version)

    # -- description ------------------------------------------------------------

    @property
    def shape(self):
        data = self._data
        return () if type(data) is float else data.shape if type(data) is _ndarray else numerics.shape(data)

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        data = self._data
        return 1 if type(data) is float else data.size if type(data) is _ndarray else numerics.size(data)

    @property
    def dtype(self):
        return _FLOAT64 if type(self._data) is float else self._data.dtype

    @property
    def is_leaf(self):
        """True for a Value that no recorded op made (parameters, inputs, constants)."""
        return not self.parents

    def item(self):
        """The data as a Python float (one element only)."""
        if state.tracing and self.requires_grad:  # NOTE: minigrad.compile would bake the number in
            refuse_while_tracing("item()")
        data = self._data
        if type(data) is float:
            return data
        if type(data) is not _ndarray:
            data = np.asarray(namespace.to_numpy(data))  # another library's: copied to the host
        if data.size != 1:
            raise ValueError(f"item: only a one-element Value converts to a float, this one has shape {self.shape}")
        return float(data.reshape(()))

    def numpy(self):
        """The data as a numpy array (0-d for a scalar); another library's array is copied to the host."""
        if state.tracing and self.requires_grad:
            refuse_while_tracing("numpy()")
        return np.asarray(namespace.to_numpy(self._data))

    def to(self, target):
        """This Value's data in another array library or on another device, as an op (``to``) whose
        gradient moves back: ``v.to(torch)``, ``v.to(array_api_strict)``, ``v.to(numpy)``,
        ``v.to(torch.device("cuda"))``.  A Python float stays a float."""
        return _apply(MOVE, (self,), {"target": target})

    def detach(self):
        """A new leaf with the same numbers and no history (requires_grad=False).

        Detached from a leaf (a parameter, whose array optimizer steps write in place) it
        shares the array and the leaf's version, so a graph that used it is refused after a
        step; a view of another array (``w.T``, ``w[0]``) is copied, so no step can change it."""
        data = self._data
        if type(data) is _ndarray and data.base is not None:
            return leaf(data.copy(), requires_grad=False)
        out = leaf(data, requires_grad=False)
        if not self.parents:
            _shares_array_with[out] = self
        return out

    def zero_grad(self):
        """Forget the accumulated gradient (``.grad`` becomes None)."""
        self.grad = None

    def __repr__(self):
        """Short and exact: ``Value(2.0)``, ``Value([0.5, -0.3], dtype=float32, name='w')``,
        ``Value(shape=(64, 32), dtype=float64)`` for arrays of more than six numbers."""
        data = self._data
        if type(data) is float:
            parts = [repr(data)]
        else:
            foreign = type(data) is not _ndarray and namespace.is_foreign(data)
            if foreign:
                data = np.asarray(namespace.to_numpy(data))
            parts = [repr(data.tolist()) if data.size <= 6 else f"shape={data.shape}", f"dtype={data.dtype}"]
            if data.ndim == 0:
                parts.insert(1, "shape=()")
            if foreign:
                parts.append(f"array={namespace.library(self._data)}, device={namespace.device(self._data)}")
        if self.name is not None:
            parts.append(f"name={self.name!r}")
        if self.grad is not None:
            small = numerics.size(self.grad) <= 6
            parts.append(f"grad={np.asarray(namespace.to_numpy(self.grad)).tolist()!r}" if small else "grad=...")
        if self.op is not None:
            parts.append(f"op={self.op.name}")
        elif not self.requires_grad:
            parts.append("requires_grad=False")
        return f"Value({', '.join(parts)})"

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a scalar Value")
        return self.shape[0]

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]

    def __bool__(self):
        if state.tracing and self.requires_grad:
            refuse_while_tracing("bool()")
        return bool(self._data)

    def __float__(self):
        if state.tracing and self.requires_grad:
            refuse_while_tracing("float()")
        return self.item()

    __hash__ = object.__hash__

    # -- numpy: numbers out only without a graph; ufuncs are ops --------------------

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(v)``: the numbers of a Value that needs no gradient (as PyTorch
        does); a TypeError for one that does, which would silently leave the graph."""
        if self.requires_grad:
            raise TypeError(
                "numpy: this Value requires grad, so it does not turn into a numpy array by itself (the "
                "array would silently leave the graph); use v.numpy() or v.detach() for its numbers, a Value "
                "method (v.exp(), v.sum(), ...) to compute with it, or minigrad.stack([...]) to make one Value "
                "of several")
        return _numbers(namespace.to_numpy(self._data), dtype, copy)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        """``np.exp(v)``, ``np.add(x, v)``, ``x + v``, ...: numpy's ufuncs that are minigrad
        ops record the graph, as the Value's own method would; any other ufunc, method
        (``reduce``, ...) or keyword (``out=``, ``where=``) is a TypeError naming the method to use."""
        # NOTE: `x @ v`, `x + v` with x an array land here on every eager step of a
        # network fed arrays; the common arithmetic goes straight to its op.
        op = _BINARY_UFUNCS.get(ufunc)
        if op is not None and not kwargs and len(inputs) == 2 and method == "__call__":
            a, b = inputs
            if type(a) is _ndarray or type(b) is _ndarray:  # and the other is this Value
                return _apply(op, (a, b))
        return _ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        """``np.sum(v)``, ``np.max(v)``, ``np.clip(v, 0, 1)``, ``np.stack([...])``, ...: the
        Value's own op; any other numpy function is a TypeError naming what to use."""
        return _array_function(func, types, args, kwargs)

    @staticmethod
    def __minigrad_helper__(function, args, kwargs):
        """A `minigrad.core.numerics` helper called with a Value (an op's backward rule run on
        Values, for create_graph): the helper written in Value ops, `minigrad.core.differentiable`."""
        from . import differentiable

        return differentiable.call(function, args, kwargs)

    # -- operators: each one op ----------------------------------------------------

    def __add__(self, other):
        return _apply(ops.ADD, (self, other))

    def __radd__(self, other):
        return _apply(ops.ADD, (other, self))

    def __sub__(self, other):
        return _apply(ops.SUB, (self, other))

    def __rsub__(self, other):
        return _apply(ops.SUB, (other, self))

    def __mul__(self, other):
        return _apply(ops.MUL, (self, other))

    def __rmul__(self, other):
        return _apply(ops.MUL, (other, self))

    def __truediv__(self, other):
        return _apply(ops.DIV, (self, other))

    def __rtruediv__(self, other):
        return _apply(ops.DIV, (other, self))

    def __neg__(self):
        return _apply(ops.NEG, (self,), _NO_OPTIONS)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        """``x ** n`` with a plain number n is one op (pow_const); with a Value or an array, pow."""
        if type(exponent) is not Value:
            exponent = as_data(exponent, "pow")
            if type(exponent) is float:
                return _apply(ops.POW_CONST, (self,), {"exponent": exponent})
        return _apply(ops.POW, (self, exponent))

    def __rpow__(self, base):
        return _apply(ops.POW, (base, self))

    def __matmul__(self, other):
        return _apply(ops.MATMUL, (self, other))

    def __rmatmul__(self, other):
        return _apply(ops.MATMUL, (other, self))

    # -- comparisons: plain data, no graph ------------------------------------------

    def __lt__(self, other):
        if state.tracing and (self.requires_grad or type(other) is Value and other.requires_grad):
            refuse_while_tracing("a comparison (<)")
        return self._data < _data_of(other)

    def __le__(self, other):
        if state.tracing and (self.requires_grad or type(other) is Value and other.requires_grad):
            refuse_while_tracing("a comparison (<=)")
        return self._data <= _data_of(other)

    def __gt__(self, other):
        if state.tracing and (self.requires_grad or type(other) is Value and other.requires_grad):
            refuse_while_tracing("a comparison (>)")
        return self._data > _data_of(other)

    def __ge__(self, other):
        if state.tracing and (self.requires_grad or type(other) is Value and other.requires_grad):
            refuse_while_tracing("a comparison (>=)")
        return self._data >= _data_of(other)

    # -- elementwise functions ---------------------------------------------------------

    def exp(self):
        """exp(x); derivative exp(x)."""
        return _apply(ops.EXP, (self,), _NO_OPTIONS)

    def log(self):
        """ln(x); derivative 1/x.  ln(0) = −inf, ln(x<0) = nan, as in numpy."""
        return _apply(ops.LOG, (self,), _NO_OPTIONS)

    def tanh(self):
        """tanh(x); derivative 1 − tanh²(x)."""
        return _apply(ops.TANH, (self,), _NO_OPTIONS)

    def relu(self):
        """max(x, 0); derivative 1 for x > 0, else 0."""
        return _apply(ops.RELU, (self,), _NO_OPTIONS)

    def abs(self):
        """|x|; derivative sign(x), taken as 0 at x = 0 (as numpy's sign, HIPS autograd and PyTorch)."""
        return _apply(ops.ABS, (self,), _NO_OPTIONS)

    def __abs__(self):
        return _apply(ops.ABS, (self,), _NO_OPTIONS)

    def sqrt(self):
        """√x; derivative 1/(2√x).  At x = 0 the derivative is inf, and √ of x < 0 is nan,
        as in numpy (with its RuntimeWarning; inside `detect_anomaly()`, an `AnomalyError`)."""
        return _apply(ops.SQRT, (self,), _NO_OPTIONS)

    def clip(self, lo=None, hi=None):
        """x limited to [lo, hi] (plain numbers, lo ≤ hi; None leaves that side open).

        Derivative 1 where lo < x < hi and 0 outside; at x = lo or x = hi
        exactly it is 0 (HIPS autograd's choice; the value does not move outwards).
        """
        lo, hi = _check_bounds(lo, hi)
        return _apply(ops.CLIP, (self,), {"low": lo, "high": hi})

    def sigmoid(self, alpha=1.0):
        """The chapter's transfer function F(x) = 1/(1 + exp(−αx)) (Eq. 6.1).

        Its derivative α·F·(1 − F) (Eq. 6.2) is used by backward.  ``alpha``
        (the gain) must be a finite number > 0.  Stable for every finite
        input: no overflow, no warning, and 1 − F kept exact in saturation.
        """
        if alpha == 1.0 and alpha.__class__ is float:  # the chapter's gain, and the rule's default: no options
            return _apply(ops.SIGMOID, (self,), _NO_OPTIONS)
        if type(alpha) is not float or not 0.0 < alpha < math.inf:  # the common case costs no call
            alpha = _check_alpha(alpha)
        return _apply(ops.SIGMOID, (self,), {"alpha": alpha})

    def astype(self, dtype):
        """The same numbers as ``dtype`` (float64 or float32), recorded: the gradient flows
        back unchanged, cast to this Value's dtype.  A Python float becomes a 0-d array."""
        try:
            target = np.dtype(dtype)
        except TypeError:
            target = None
        if target not in (_FLOAT64, _FLOAT32):
            raise TypeError(f"astype: dtype must be float64 or float32, got {dtype!r}")
        return _apply(ops.CAST, (self,), {"dtype": target})

    def argmax(self, axis=None):
        """The index of the largest element (over ``axis``; of the flattened data when None), as
        numpy's ``argmax`` gives them: an integer array (a numpy integer when ``axis`` is None); no gradient."""
        if state.tracing and self.requires_grad:  # NOTE: minigrad.compile would bake the indices in
            refuse_while_tracing("argmax()")
        if axis is not None:
            axis = numerics.check_int_axis(axis, self.ndim, "argmax")
        return np.argmax(np.asarray(self._data), axis=axis)

    # -- reductions, shapes, indexing ---------------------------------------------------

    def sum(self, axis=None, keepdims=False):
        """Σ over ``axis`` (all when None); gradient 1 for every summed element."""
        axis = numerics.check_axis(axis, self.ndim, "sum")
        return _apply(ops.SUM, (self,), {"axis": axis, "keepdims": keepdims})

    def mean(self, axis=None, keepdims=False):
        """(1/N) Σ over ``axis``; gradient 1/N for every averaged element."""
        axis = numerics.check_axis(axis, self.ndim, "mean")
        return _apply(ops.MEAN, (self,), {"axis": axis, "keepdims": keepdims})

    def max(self, axis=None, keepdims=False):
        """The largest element over ``axis`` (all when None).  Gradient 1 at the max and 0
        elsewhere; k elements that tie for the max share it equally, 1/k each (as HIPS autograd)."""
        axis = numerics.check_axis(axis, self.ndim, "max")
        return _apply(ops.MAX, (self,), {"axis": axis, "keepdims": keepdims})

    def min(self, axis=None, keepdims=False):
        """The smallest element over ``axis`` (all when None).  Gradient 1 at the min and 0
        elsewhere; k elements that tie for the min share it equally, 1/k each (as HIPS autograd)."""
        axis = numerics.check_axis(axis, self.ndim, "min")
        return _apply(ops.MIN, (self,), {"axis": axis, "keepdims": keepdims})

    def softmax(self, axis=-1):
        """exp(x) / Σ exp(x) along ``axis`` (one int), computed without overflow
        (x − max x first).  ∂p_i/∂x_j = p_i·(δ_ij − p_j)."""
        axis = numerics.check_int_axis(axis, self.ndim, "softmax")
        return _apply(ops.SOFTMAX, (self,), {"axis": axis})

    def log_softmax(self, axis=-1):
        """x − ln Σ exp(x) along ``axis`` (one int), computed without overflow
        (x − max x first).  ∂out_i/∂x_j = δ_ij − softmax(x)_j."""
        axis = numerics.check_int_axis(axis, self.ndim, "log_softmax")
        return _apply(ops.LOG_SOFTMAX, (self,), {"axis": axis})

    def reshape(self, *shape):
        """The same elements in a new shape (numpy's rules, -1 allowed)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _apply(ops.RESHAPE, (self,), {"shape": shape})

    def transpose(self, *axes):
        """Axes reversed (or permuted as given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _apply(ops.TRANSPOSE, (self,), {"axes": axes or None})

    @property
    def T(self):
        """The transpose (axes reversed)."""
        return self.transpose()

    def swapaxes(self, axis1, axis2):
        """The two axes exchanged (a transpose)."""
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return self.transpose(*axes)

    def __getitem__(self, index):
        if isinstance(index, Value):
            raise TypeError("getitem: index with ints, slices or integer arrays, not a Value")
        if isinstance(index, list):
            index = np.asarray(index)
        return _apply(ops.GETITEM, (self,), {"index": index})

    # -- reverse mode -----------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Fill ``.grad`` on every node of the graph that ends here.

        A one-element root is seeded with 1; any other root needs
        ``gradient`` of its own shape (the vector in a vector-Jacobian
        product).  Leaves add to their ``.grad``; intermediate nodes get
        this pass's gradient, replacing any earlier one.

        The pass uses the graph up, as in PyTorch: a second backward through
        it raises `FreedGraphError` unless this one passed ``retain_graph=True``.
        With ``create_graph=True`` every ``.grad`` left is a Value whose graph
        can be differentiated again (the graph is kept); see docs/higher-order.md.
        """
        if state.tracing or not self.requires_grad:
            raise _cannot_backward(self)
        data = self._data
        if gradient is None and type(data) is float:
            seed = 1.0
        elif gradient is None and type(data) is _ndarray and data.size == 1:
            seed = np.ones(data.shape, dtype=data.dtype) if data.ndim else numerics.ONE[data.dtype.type].copy()
        else:  # a gradient given, a root of several elements, or data of another array library
            seed = _seed(self, gradient)
        if create_graph:
            _backward_with_graph(self, seed)
        else:
            _backward.backward(self, seed, _clock, bool(retain_graph))


def _cannot_backward(root):
    """The error of a backward that cannot run: inside a traced function, or from a root that needs no grad."""
    if state.tracing:
        return TracingError(
            f"backward() inside a function being traced (by minigrad.compile or onnx.export), at "
            f"{modes.user_site()}: the compiled step runs backward itself after the function returns, so a "
            "backward here would add the gradient twice; return the loss and let the step do it")
    return RuntimeError(
        "backward: this Value does not require grad (it was made from constants only, "
        "or under no_grad()), so there is no path to any leaf to differentiate")


def _seed(root, gradient):
    """`Value.backward`'s seed where it is not a plain 1: ``gradient`` checked against the root, or,
    with no gradient, ones in another array library (a root of several elements needs a gradient)."""
    data = root._data
    if gradient is None:
        if root.size != 1:
            raise ValueError(
                f"backward: the root has shape {root.shape}; pass gradient= of that shape, "
                "or reduce it to a scalar first (e.g. .sum())")
        return namespace.of(data).ones(root.shape, dtype=data.dtype, device=namespace.device(data))
    seed = as_data(gradient, "backward", copy=True)
    if numerics.shape(seed) != root.shape:
        raise ValueError(f"backward: gradient has shape {numerics.shape(seed)} but the root has shape "
                         f"{root.shape}")
    namespace.check("backward", (data, seed))
    return _backward.unbroadcast(seed, data)


def _backward_with_graph(root, seed):
    """``backward(create_graph=True)``: the gradients as Values (each op's rule run on Values), left in
    ``.grad`` as backward leaves them: leaves add to theirs, intermediate nodes get this pass's."""
    with modes.enable_grad():
        found = _backward.gradients([root], [leaf(seed)], None, create_graph=True)
    for node, gradient in found.items():
        if not node.parents and node.grad is not None:
            gradient = node.grad + gradient
        node.grad = gradient


# ---------------------------------------------------------------------------
# Making nodes
# ---------------------------------------------------------------------------

# NOTE: the data clock.  Every assignment to some Value's .data moves it on
# and stamps that Value (`Value.data`'s setter); every node remembers the
# clock when it was recorded.  A parent stamped later than its consumer
# changed after the graph used it: one integer per node instead of a tuple
# of its parents' versions.
_clock = 0
_ticks = itertools.count(1)  # NOTE: next() on a count is one step under the GIL: no two changes share a tick


#: {Value made by detach() of a leaf: that leaf}: it shares the leaf's array, and so its version.
_shares_array_with: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def next_version():
    """Move the data clock on and return it: the version to stamp on data assigned now.
    (`minigrad.compile`'s fused optimizer step stamps every parameter it writes with one.)"""
    global _clock
    _clock = tick = next(_ticks)
    return tick


def apply(op, *args, **options):
    """Run ``op``'s forward rule on the arguments and record the result.

    Arguments that are not Values (numbers, lists, arrays) become constants:
    leaves that need no gradient.  Where the op's backward will read them
    (``op.reads_inputs``) they hold a copy, so changing the array afterwards
    cannot change a gradient.
    """
    return _apply(op, args, options)


#: `_apply`'s options for an op of two inputs and no options, the common case (every + − × @
#: of a training step), tested first; every other call passes a dict, if only `_NO_OPTIONS`.
TWO_INPUTS = None
_NO_OPTIONS: dict = {}

#: The options each node's forward rule was given, kept only while `minigrad.compile` traces
#: (it runs the rules again on its tracer, with the same options).
traced_options: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _apply(op, args, options=TWO_INPUTS):
    """`apply` with the arguments as a tuple and the options as a dict: the one way a
    node is made.  (Value's operators call it directly: packing ``*args`` and
    ``**options``, and asking the tuple's length, cost a scalar op a quarter of its time.)"""
    try:
        # NOTE: two inputs and one are spelled out: on scalars a loop, a list
        # comprehension or an empty **options costs more than the arithmetic.
        if options is TWO_INPUTS:
            a, b = args
            if a.__class__ is not Value or b.__class__ is not Value:
                args = a, b = _with_constants(op, args)
            function = op.function
            if function is not None:
                data, saved = function(a._data, b._data), None
            else:
                data, saved = op.forward(a._data, b._data)
            # NOTE: numpy takes some libraries' arrays as its own: data of two kinds is checked after the op
            if data.__class__ is not float and a._data.__class__ is not b._data.__class__ and \
                    a._data.__class__ is not float and b._data.__class__ is not float:
                namespace.check(op.name, (a._data, b._data))
            needs_grad = a.requires_grad or b.requires_grad
        elif len(args) == 1 and args[0].__class__ is Value:
            a = args[0]
            data, saved = op.forward(a._data, **options) if options else op.forward(a._data)
            needs_grad = a.requires_grad
        else:
            args = _with_constants(op, args)
            data, saved, needs_grad = _forward_of_several(op, args, options)
    except (TypeError, RuntimeError, ValueError) as error:
        _explain_failure(op, args, error)
        raise
    if data.__class__ is not float and data.__class__ is not _ndarray:
        if isinstance(data, np.generic) or not namespace.is_foreign(data):
            data = np.asarray(data)  # numpy returns scalars for 0-d operands; a Value holds 0-d arrays
    anomaly = False
    if not modes.plain:  # some thread is inside no_grad() or detect_anomaly(): this thread's flags decide
        needs_grad, data, anomaly = _under_modes(needs_grad, data)
    # NOTE: `_initialize` written out (its call costs a scalar op a tenth; a test checks every slot is set)
    out = _new(Value)
    out._data = data
    out.grad = None
    out.name = None
    out._version = 0
    out._born = _clock
    out._mark = 0
    if needs_grad:
        out.requires_grad = True
        out.op = op
        out.parents = args
        out.saved = saved
        if options and state.tracing:
            traced_options[out] = options
    else:
        out.requires_grad = False
        out.op = None
        out.parents = ()
        out.saved = None
    if anomaly:
        _check_forward(out, op, args)
    return out


def _forward_of_several(op, args, options):
    """`_apply`'s forward of any other arity, or with options: ``(data, saved, needs_grad)``."""
    inputs = [arg._data for arg in args]
    if any(item.__class__ is not _ndarray and item.__class__ is not float for item in inputs):
        namespace.check(op.name, inputs)
    data, saved = op.forward(*inputs, **options)
    return data, saved, any(arg.requires_grad for arg in args)


def _under_modes(needs_grad, data):
    """`_apply`'s recording decision while some thread is inside no_grad() or detect_anomaly(), by
    this thread's flags: ``(needs_grad, data, anomaly)``."""
    if needs_grad and not state.recording:
        needs_grad = False
        if type(data) is _ndarray and data.base is not None:
            # NOTE: a view of a parameter (w.T) made under no_grad() is a constant from now on:
            # a copy, so the parameter's in-place steps cannot change it behind a graph's back
            data = data.copy()
    return needs_grad, data, state.anomaly


def _explain_failure(op, args, error):
    """Raise a clearer error than the forward rule's ``error``, where there is one: data of two
    array libraries or devices (torch's TypeError or RuntimeError, array_api_strict's ValueError),
    or shapes that do not broadcast.  Returns if there is none (the caller re-raises ``error``)."""
    namespace.check(op.name, [arg._data for arg in args if type(arg) is Value])
    if isinstance(error, ValueError) and op.broadcasts:
        shapes = " and ".join(str(arg.shape) for arg in args)
        raise ValueError(f"{op.name}: shapes {shapes} cannot be broadcast together") from None


def _initialize(node, data, requires_grad, op, parents, saved, name=None):
    """The initializer of a node (Values made by ``Value(...)``, as constants and, written out
    inline, by `_apply`): every slot but backward's `_pending` gets its value here.  Returns ``node``."""
    # NOTE: one attribute a statement: a tuple assignment of several costs twice as much.
    node._data = data
    node.grad = None
    node.name = name
    node.requires_grad = requires_grad
    node.op = op
    node.parents = parents
    node.saved = saved
    node._version = 0
    node._born = _clock
    node._mark = 0
    return node


def _kind(data):
    """float, or an array's dtype: what a gradient must match besides the shape."""
    return float if type(data) is float else getattr(data, "dtype", None)


def leaf(data, requires_grad=False, name=None):
    """A Value around data that is already a float or a float64/float32 array (no copy, no checks)."""
    return _initialize(_new(Value), data, requires_grad, None, (), None, name)


def _with_constants(op, args):
    """The arguments with every one that is not a Value made a constant.

    # NOTE: a float64 array meeting a float32 Value takes its dtype, as
    # Python numbers do under numpy's rules, so float32 models stay float32
    # when fed float64 data.
    """
    if len(args) == 2:  # NOTE: a number or an array (inputs, targets) meeting a Value: every eager step
        a, b = args
        value, other = (b, a) if b.__class__ is Value else (a, b)
        if value.__class__ is Value:
            if other.__class__ is float:  # NOTE: `leaf(other)` without its call: every constant of a scalar step
                constant = _initialize(_new(Value), other, False, None, (), None)
                return (constant, value) if value is b else (value, constant)
            if type(other) is _ndarray and other.dtype is _FLOAT64:
                if type(value._data) is _ndarray and value._data.dtype is _FLOAT32:
                    other = other.astype(np.float32)
                elif op.reads_inputs:
                    other = other.copy()
                return (leaf(other), value) if value is b else (value, leaf(other))
    return _constants_among(op, args)


def _constants_among(op, args):
    """`_with_constants` of any arguments: each number or array a constant, float32 where the
    first Value is."""
    float32 = False
    for arg in args:
        if type(arg) is Value:
            float32 = type(arg._data) is _ndarray and arg._data.dtype is _FLOAT32
            break
    parents = []
    for arg in args:
        if type(arg) is float:
            arg = leaf(arg)
        elif type(arg) is not Value:
            data = as_data(arg, op.name, copy=op.reads_inputs)
            if float32 and type(data) is _ndarray and data.dtype is _FLOAT64:
                data = data.astype(np.float32)
            arg = leaf(data)
        parents.append(arg)
    return tuple(parents)


# ---------------------------------------------------------------------------
# Functions that are ops of their own
# ---------------------------------------------------------------------------


class Move(ops.Op):
    """out = a, moved to another array library or device (``Value.to``).   ∂out/∂a = 1, the
    gradient moved back to a's library and device."""

    name, formula = "to", "a (moved)"
    partials, passes = ("1",), (True,)
    reads_inputs = True  # backward reads where the input lives, to send the gradient back there

    def forward(self, a, target):
        return namespace.move(a, target), target

    def backward(self, grad, out, target, needs, a):
        return (namespace.move_like(grad, a),)

    def jvp(self, tangents, out, target, a):
        return namespace.move(tangents[0], target)

    def label(self, node):
        target = node.saved
        return f"to {getattr(target, '__name__', target)}"


#: ``Value.to``'s op: not in `minigrad.core.ops.OPS` (no rule of the chapter; only a move).
MOVE = Move()


def sse(desired, actual):
    """The chapter's summed squared error, one op (Eq. 6.5):

        SSE = ½ Σ (Desired − Actual)²      over all elements, a scalar

    Its gradient with respect to ``actual`` is −E = −(Desired − Actual)
    (Eq. 6.17 times Eq. 6.21).  The two shapes must match exactly: no
    broadcasting, which here would silently sum the wrong errors.

    ``desired`` and ``actual`` are Values (or numbers/arrays), or two equally
    long lists of scalar Values, as a network built weight by weight
    produces: that is the op ``sse_scalars``, whose parents are the desired
    values followed by the actual ones, so each output node A_o connects
    straight to the SSE.
    """
    if type(actual) is not Value and isinstance(actual, (list, tuple)) and (
            _holds_values(actual) or _holds_values(desired)):
        return _sse_of_scalars(desired, actual)
    return _apply(ops.SSE, (desired, actual))


def _holds_values(x):
    return isinstance(x, (list, tuple)) and any(type(item) is Value for item in x)


def _sse_of_scalars(desired, actual):
    def count(side):
        return len(side) if isinstance(side, (list, tuple, np.ndarray)) else None

    if count(desired) is None or count(actual) is None or count(desired) != count(actual):
        raise ValueError(f"sse: desired has {count(desired)} entries but actual has {count(actual)}; "
                         "they must be two lists of equal length")
    for side, items in (("desired", desired), ("actual", actual)):
        for position, item in enumerate(items):
            if type(item) is Value and type(item._data) is not float:
                kind = "a 0-d array" if item.ndim == 0 else f"an array of shape {item.shape}"
                raise ValueError(
                    f"sse: a list of Values must hold Python-float scalars, but {side}[{position}] holds {kind}; "
                    "pass one array Value instead (minigrad.stack(...) makes one from a list)")
    return _apply(ops.SSE_SCALARS, (*desired, *actual), _NO_OPTIONS)


def stack(values, axis=0):
    """Stack Values (scalars or arrays of one shape) along a new axis."""
    values = list(values)
    if not values:
        raise ValueError("stack: needs at least one Value")
    return _apply(ops.STACK, (*values,), {"axis": axis})


def maximum(a, b):
    """The larger of ``a`` and ``b``, elementwise under broadcasting (numpy's np.maximum), one op.

    Gradient 1 to the larger and 0 to the smaller; where they tie, the two share
    it equally, ½ each (as HIPS autograd does).  Differs from ``relu`` only there: ``maximum(x, 0)``
    hands ½ at x = 0, ``x.relu()`` hands 0.
    """
    return _apply(ops.MAXIMUM, (a, b))


def minimum(a, b):
    """The smaller of ``a`` and ``b``, elementwise under broadcasting (numpy's np.minimum), one op.

    Gradient 1 to the smaller and 0 to the larger; where they tie, the two share it equally, ½ each
    (as HIPS autograd does).
    """
    return _apply(ops.MINIMUM, (a, b))


def softmax(x, axis=-1):
    """``x.softmax(axis)`` for a Value, a list or an array (`Value.softmax`)."""
    return _as_value(x, "softmax").softmax(axis)


def log_softmax(x, axis=-1):
    """``x.log_softmax(axis)`` for a Value, a list or an array (`Value.log_softmax`)."""
    return _as_value(x, "log_softmax").log_softmax(axis)


def _as_value(x, where):
    """A Value as it is; anything else as a constant (no gradient)."""
    return x if type(x) is Value else leaf(as_data(x, where, copy=True))


def _check_bounds(lo, hi):
    """clip's bounds: plain finite-or-infinite numbers (not nan), or None; lo ≤ hi."""
    bounds = []
    for name, bound in (("lo", lo), ("hi", hi)):
        if bound is None:
            bounds.append(None)
            continue
        if isinstance(bound, Value):
            raise TypeError(f"clip: {name} must be a plain number or None, not a Value")
        if isinstance(bound, (bool, np.bool_)) or not isinstance(bound, (int, float, np.integer, np.floating)):
            raise TypeError(f"clip: {name} must be a plain number or None, got {describe(bound)}")
        bound = float(bound)
        if math.isnan(bound):
            raise ValueError(f"clip: {name} is nan")
        bounds.append(bound)
    lo, hi = bounds
    if lo is None and hi is None:
        raise ValueError("clip: give lo, hi or both (with neither there is nothing to clip)")
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"clip: lo ({lo:g}) is greater than hi ({hi:g}); it must be ≤ hi")
    return lo, hi


# ---------------------------------------------------------------------------
# Turning user data into Value data
# ---------------------------------------------------------------------------


def describe(x):
    """How an error message names a bad argument."""
    if isinstance(x, np.ndarray):
        return f"numpy array of dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}" if isinstance(x, (str, bytes)) else type(x).__name__


def as_data(x, where="Value", copy=False):
    """Python numbers become floats; arrays become float64 or float32 ndarrays.

    Booleans, complex numbers, strings, None, objects and arrays of such dtypes
    are refused with a TypeError naming the op (``where``) and the type.
    """
    kind = type(x)
    if kind is float:
        return x
    if kind is _ndarray and (x.dtype is _FLOAT64 or x.dtype is _FLOAT32):  # the common case, decided first
        return x.copy() if copy else x
    return _as_data_converted(x, where, copy)


def _as_data_converted(x, where, copy):
    """`as_data` of anything but a float or a float64/float32 ndarray: converted, or refused."""
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{where}: got a boolean ({x!r}); use 0.0/1.0 if a number is meant")
    if isinstance(x, Value):
        raise TypeError(f"{where}: got a Value; pass it directly, or use .detach() for its numbers without history")
    if isinstance(x, (float, int, np.integer)):  # np.float64 is a float
        try:
            return float(x)
        except OverflowError:
            raise OverflowError(f"{where}: the integer {_abbreviate(x)} is too large for a float "
                                "(the largest is about 1.8e308)") from None
    if isinstance(x, (np.ndarray, np.generic, list, tuple)):
        return _as_array(x, where, copy)
    if namespace.is_foreign(x):
        return namespace.as_data(x, where, copy)
    raise TypeError(f"{where}: expected a number, a list of numbers or a numpy array, got {describe(x)}")


def _abbreviate(number):
    text = str(number)
    return text if len(text) <= 20 else f"{text[:8]}…({len(text)} digits)"


def _as_array(x, where, copy):
    if isinstance(x, (list, tuple)) and _holds_value_anywhere(x):
        raise TypeError(f"{where}: got a list of Values; combine them with minigrad.stack(...)")
    try:
        array = np.array(x, copy=copy) if isinstance(x, np.ndarray) else np.asarray(x)
    except OverflowError:
        raise OverflowError(f"{where}: an integer in the data is too large for a float or int64") from None
    except ValueError as error:
        raise ValueError(f"{where}: data must be a rectangular array of numbers ({error})") from None
    kind = array.dtype.kind
    if kind == "f":
        if array.dtype == np.float64 or array.dtype == np.float32:
            return array
        if not array.dtype.isnative:
            raise TypeError(f"{where}: the array's byte order is not this machine's (dtype {array.dtype.str}); "
                            "convert it first, e.g. x.astype(x.dtype.newbyteorder('='))")
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
    if kind == "O" and array.size:
        for index in np.ndindex(array.shape):  # the first element that is not a number, named
            item = array[index]
            if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, float, np.integer, np.floating)):
                shown = f"{type(item).__name__} {item!r:.40}" if isinstance(item, (str, bytes)) else describe(item)
                raise TypeError(f"{where}: element {index} of the data (an array of dtype object) is {shown}, "
                                "not a number")
        if any(isinstance(item, int) for item in array.flat):
            raise OverflowError(f"{where}: an integer in the data is too large for a float or int64")
    raise TypeError(f"{where}: expected numbers, got an array of dtype {array.dtype}")


def _holds_value_anywhere(items):
    """True when a (nested) list or tuple holds a Value anywhere."""
    stack = [items]
    while stack:
        for item in stack.pop():
            if type(item) is Value or isinstance(item, Value):
                return True
            if isinstance(item, (list, tuple)):
                stack.append(item)
    return False


def _data_of(x):
    return x._data if type(x) is Value else x


def _check_alpha(alpha):
    if isinstance(alpha, Value):
        raise TypeError("sigmoid: alpha must be a plain number, not a Value")
    return checks.positive_real(alpha, "alpha (the gain)", "sigmoid")


def _check_forward(node, op, parents):
    modes.origins[node] = creation_site()
    data = namespace.to_numpy(node._data)
    if not np.all(np.isfinite(data)):
        bad = "nan" if np.any(np.isnan(data)) else "inf"
        raise AnomalyError(f"detect_anomaly: forward output contains {bad}: {describe_node(node, op, parents)}")


# ---------------------------------------------------------------------------
# numpy interop: ufuncs and array functions on Values are minigrad's ops
# ---------------------------------------------------------------------------


def _numbers(data, dtype, copy):
    """A Value's data as numpy's ``__array__`` protocol asks for it (copy=False: no copy, or an error)."""
    if type(data) is float or (dtype is not None and np.dtype(dtype) != data.dtype):
        if copy is False:
            raise ValueError("numpy: this Value's numbers need a copy (they are a Python float, or of "
                             "another dtype) but copy=False was asked for")
        return np.array(data, dtype=dtype)
    return data.copy() if copy else data


def _reflected(method, reflected):
    """A binary operator as numpy calls it: the Value's own operator, or its reflection."""
    def call(a, b):
        return getattr(a, method)(b) if type(a) is Value else getattr(b, reflected)(a)
    return call


# numpy ufunc name -> (what it does to Values, how to write it without numpy)
_UFUNCS = {
    "add": (_reflected("__add__", "__radd__"), "a + b"),
    "subtract": (_reflected("__sub__", "__rsub__"), "a - b"),
    "multiply": (_reflected("__mul__", "__rmul__"), "a * b"),
    "divide": (_reflected("__truediv__", "__rtruediv__"), "a / b"),
    "power": (_reflected("__pow__", "__rpow__"), "a ** b"),
    "matmul": (_reflected("__matmul__", "__rmatmul__"), "a @ b"),
    "negative": (Value.__neg__, "-v"),
    "positive": (Value.__pos__, "+v"),
    "square": (lambda v: v ** 2, "v ** 2"),
    "exp": (Value.exp, "v.exp()"),
    "log": (Value.log, "v.log()"),
    "tanh": (Value.tanh, "v.tanh()"),
    "sqrt": (Value.sqrt, "v.sqrt()"),
    "absolute": (Value.abs, "v.abs() or abs(v)"),
    "maximum": (maximum, "minigrad.maximum(a, b)"),
    "minimum": (minimum, "minigrad.minimum(a, b)"),
    # Comparisons give plain data, as Value's operators do; == compares identity.
    "less": (_reflected("__lt__", "__gt__"), "a < b"),
    "less_equal": (_reflected("__le__", "__ge__"), "a <= b"),
    "greater": (_reflected("__gt__", "__lt__"), "a > b"),
    "greater_equal": (_reflected("__ge__", "__le__"), "a >= b"),
    "equal": (lambda a, b: a is b, "a is b"),
    "not_equal": (lambda a, b: a is not b, "a is not b"),
}

# What to write instead of a ufunc minigrad has no op for, where a short composition exists.
_INSTEAD = {
    "log1p": "(1 + v).log()", "expm1": "v.exp() - 1", "reciprocal": "1 / v", "fabs": "v.abs()",
    "exp2": "2 ** v", "log2": "v.log() / math.log(2)", "log10": "v.log() / math.log(10)", "cbrt": "v ** (1/3)",
    "true_divide": "a / b", "float_power": "a ** b",
}

# ufunc.reduce -> the Value method that does it
_REDUCTIONS = {"add": "v.sum(axis)", "maximum": "v.max(axis)", "minimum": "v.min(axis)"}

_OPERANDS = (Value, np.ndarray, np.generic, int, float, list, tuple)
_BINARY_UFUNCS = {np.add: ops.ADD, np.subtract: ops.SUB, np.multiply: ops.MUL, np.true_divide: ops.DIV,
                  np.matmul: ops.MATMUL}


def _ufunc(ufunc, method, inputs, kwargs):
    name = ufunc.__name__
    known = _UFUNCS.get(name)
    spelling = known[1] if known else _INSTEAD.get(name)
    if method != "__call__":
        instead = _REDUCTIONS.get(name) if method == "reduce" else None
        raise TypeError(f"numpy: np.{name}.{method} on a Value is not supported; "
                        + (f"use {instead}, which records the graph" if instead else
                           "minigrad has no op for it: take the numbers with v.numpy() or v.detach()"))
    if kwargs:
        out = kwargs.get("out")
        if out is not None and len(inputs) == 2 and out[0] is inputs[0] and type(inputs[0]) is np.ndarray:
            symbol = spelling.split()[1] if spelling and spelling.startswith("a ") else "○"
            raise TypeError(f"numpy: x {symbol}= v with x a numpy array and v a Value would write a Value into the "
                            f"array; write x = x {symbol} v instead (a new Value, which records the graph)")
        keywords = ", ".join(f"{key}=" for key in kwargs)
        raise TypeError(f"numpy: np.{name}(..., {keywords}) on a Value is not supported (minigrad writes no arrays "
                        f"in place and takes no masks or dtypes); use {spelling or 'a Value method'}, which "
                        "returns a new Value and records the graph")
    if known is None:
        hint = f"write {spelling} instead" if spelling else \
            "compute with Value methods (v.exp(), v.log(), v.tanh(), v.sqrt(), v.abs(), ...) instead"
        raise TypeError(f"numpy: np.{name} has no minigrad op, so it cannot record a gradient; {hint}, or take "
                        "the numbers first with v.numpy() or v.detach()")
    if not all(isinstance(item, _OPERANDS) for item in inputs):
        return NotImplemented
    return known[0](*inputs)


def _array_function(func, types, args, kwargs):
    if not all(issubclass(kind, (Value, np.ndarray)) for kind in types):
        return NotImplemented
    handler = _ARRAY_FUNCTIONS.get(func)
    if handler is None:
        name = func.__name__
        instead = {"dot": "a @ b", "concatenate": "minigrad.stack(...) (on a new axis)", "prod": "a product of Values",
                   "linalg.norm": "(v * v).sum().sqrt()"}.get(name)
        raise TypeError(f"numpy: np.{name} does not take a Value (minigrad has no op for it"
                        + (f"; use {instead}" if instead else "") + "); compute with the Value's own methods "
                        "(v.sum(), v.max(), v.reshape(...), ...), or take the numbers first with v.numpy() or "
                        "v.detach()")
    return handler(*args, **kwargs)


def _refuse(function, spelling, **options):
    """numpy keywords a Value method does not take: a TypeError naming the method."""
    given = [key for key, value in options.items() if value is not None and value is not np._NoValue]
    if given:
        raise TypeError(f"numpy: np.{function}(..., {', '.join(f'{key}=' for key in given)}) on a Value is not "
                        f"supported; use {spelling}")


def _np_sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    _refuse("sum", "v.sum(axis, keepdims)", dtype=dtype, out=out, initial=initial, where=where)
    return _as_value(a, "np.sum").sum(axis=axis, keepdims=bool(keepdims))


def _np_mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    _refuse("mean", "v.mean(axis, keepdims)", dtype=dtype, out=out, where=where)
    return _as_value(a, "np.mean").mean(axis=axis, keepdims=bool(keepdims))


def _np_max(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    _refuse("max", "v.max(axis, keepdims)", out=out, initial=initial, where=where)
    return _as_value(a, "np.max").max(axis=axis, keepdims=bool(keepdims))


def _np_min(a, axis=None, out=None, keepdims=False, initial=None, where=None):
    _refuse("min", "v.min(axis, keepdims)", out=out, initial=initial, where=where)
    return _as_value(a, "np.min").min(axis=axis, keepdims=bool(keepdims))


def _np_clip(a, a_min=None, a_max=None, out=None, *, min=None, max=None):  # noqa: A002 - numpy's names
    _refuse("clip", "v.clip(lo, hi)", out=out)
    low = a_min if a_min is not None and a_min is not np._NoValue else min
    high = a_max if a_max is not None and a_max is not np._NoValue else max
    return _as_value(a, "np.clip").clip(None if low is np._NoValue else low, None if high is np._NoValue else high)


def _np_reshape(a, shape=None, order="C", *, newshape=None, copy=None):
    _refuse("reshape", "v.reshape(shape)", order=None if order == "C" else order, copy=copy)
    return _as_value(a, "np.reshape").reshape(newshape if shape is None else shape)


def _np_transpose(a, axes=None):
    return _as_value(a, "np.transpose").transpose(*(() if axes is None else (axes,)))


def _np_stack(arrays, axis=0, out=None, *, dtype=None, casting=None):
    _refuse("stack", "minigrad.stack(values, axis)", out=out, dtype=dtype, casting=casting)
    return stack(arrays, axis=axis)


def _np_size(a, axis=None):
    return a.size if axis is None else a.shape[axis]


def _np_expand_dims(a, axis):
    axes = axis if isinstance(axis, tuple) else (axis,)
    shape = list(a.shape)
    for position in sorted(item % (len(shape) + len(axes)) for item in axes):
        shape.insert(position, 1)
    return _as_value(a, "np.expand_dims").reshape(tuple(shape))


def _np_moveaxis(a, source, destination):
    sources = [source] if isinstance(source, int) else list(source)
    destinations = [destination] if isinstance(destination, int) else list(destination)
    sources = [item % a.ndim for item in sources]
    destinations = [item % a.ndim for item in destinations]
    permutation = [axis for axis in range(a.ndim) if axis not in sources]
    for target, origin in sorted(zip(destinations, sources)):
        permutation.insert(target, origin)
    return _as_value(a, "np.moveaxis").transpose(*permutation)


def _np_swapaxes(a, axis1, axis2):
    return _as_value(a, "np.swapaxes").swapaxes(axis1, axis2)


_ARRAY_FUNCTIONS = {
    np.sum: _np_sum, np.mean: _np_mean, np.max: _np_max, np.amax: _np_max, np.min: _np_min, np.amin: _np_min,
    np.clip: _np_clip, np.reshape: _np_reshape, np.transpose: _np_transpose, np.stack: _np_stack,
    np.shape: lambda a: a.shape, np.ndim: lambda a: a.ndim, np.size: _np_size,
    np.expand_dims: _np_expand_dims, np.moveaxis: _np_moveaxis, np.swapaxes: _np_swapaxes,
}
