"""Numerics that the ops' forward and backward rules share: the named helpers.

A rule (see `minigrad.core.ops`) calls a helper where floats and arrays need
different code, or where numpy lacks the operation.  Floats take Python's
fast path; where Python would raise (ZeroDivisionError, OverflowError) or go
complex, the answer is numpy's instead (inf or nan, with its RuntimeWarning),
so scalars and arrays behave alike.  Arrays take numpy's.

Every helper takes three kinds of argument, reached the same way:

* Python floats and numpy arrays (eager mode);
* a **stand-in**: an object whose type defines
  ``__minigrad_helper__(function, args, kwargs)`` (the compiler's tracer).  A
  helper called with one hands the call over (`_stand_in`, `_hand_over`), so
  the tracer records one call of the helper itself, which the generated code
  makes again: the same function on the same numbers;
* anything else that numpy's functions accept (a `Value`, through its
  ``__array_ufunc__`` / ``__array_function__``) takes the array path;
* an array of another Array API library (a torch tensor, ...): the array
  path, in that library's namespace (``xp``, from `minigrad.core.namespace`),
  with the standard's names.  Where numpy has a faster spelling (``out=``,
  ``np.add.reduce``, ``np.dot``, ``count_nonzero``) it stays, for numpy alone.

``ARRAY_UFUNCS`` says which helpers are, on arrays, exactly one numpy ufunc
(so generated code may call it with an ``out`` buffer).
"""

from __future__ import annotations

import math

import numpy as np

from . import namespace as _namespace

# Below these, exp(−z) overflows (with a margin): ln of each dtype's largest float.
_EXP_FLOOR = {np.float64: -700.0, np.float32: -85.0}
# The same floors, and 1, as 0-d arrays of each dtype: a ufunc takes them without
# converting a Python float on every call (the same IEEE operations).  Public: generated
# code passes them to sigmoid_parts_into.
EXP_FLOOR = {dtype: np.array(floor, dtype=dtype) for dtype, floor in _EXP_FLOOR.items()}
# The largest finite float of each dtype: a gain above it is inf once it meets the data.
_LARGEST = {np.float64: float(np.finfo(np.float64).max), np.float32: float(np.finfo(np.float32).max)}
ONE = {np.float64: np.array(1.0), np.float32: np.array(1.0, dtype=np.float32)}
for _constant in (*EXP_FLOOR.values(), *ONE.values()):
    _constant.setflags(write=False)

try:  # NOTE: numpy's C functions behind np.count_nonzero, np.dot and np.vdot, each of which wraps
    # its C function in Python-level dispatch (for __array_function__) that costs as much as a small
    # product.  Called here on plain arrays only, where that dispatch decides nothing.
    from numpy._core._multiarray_umath import (  # type: ignore[import-not-found, unused-ignore]
        count_nonzero, dot, vdot)
except ImportError:  # pragma: no cover - another numpy layout: the public functions, the same numbers
    count_nonzero, dot, vdot = np.count_nonzero, np.dot, np.vdot


_ndarray = np.ndarray  # NOTE: one global lookup in each helper's type test, run by every eager op


def _stand_in(*args):
    """True when an argument is a stand-in (its type defines ``__minigrad_helper__``)."""
    for arg in args:
        if type(arg) is not float and type(arg) is not _ndarray and hasattr(type(arg), "__minigrad_helper__"):
            return True
    return False


def _hand_over(function, *args, **kwargs):
    """``function(*args, **kwargs)`` handed to the first stand-in among the arguments."""
    for arg in args:
        if hasattr(type(arg), "__minigrad_helper__"):
            return type(arg).__minigrad_helper__(function, args, kwargs)
    raise TypeError(f"numerics.{function.__name__}: no stand-in among its arguments")  # pragma: no cover


def shape(data):
    """The shape of a Value's data: () for a float (np.shape, without its Python-level wrapper)."""
    return () if type(data) is float else data.shape if type(data) is _ndarray else tuple(data.shape)


def size(data):
    """The number of elements: 1 for a float."""
    # NOTE: the standard's arrays give no .size method or attribute that all libraries share (torch: a method)
    return 1 if type(data) is float else data.size if type(data) is _ndarray else math.prod(data.shape)


def namespace(*data):
    """The Array API namespace of a rule's arrays: numpy, or the library of a foreign array."""
    for item in data:
        if type(item) is not _ndarray and type(item) is not float:
            return _namespace.of(*data)
    return np  # floats and numpy arrays, decided without a call


def as_float(x):
    """Σ x as a Python float (a float as it is): the gradient of a float input."""
    if type(x) is float:
        return x
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(as_float, x)
    if type(x) is not _ndarray and _namespace.is_foreign(x):
        x = _namespace.to_numpy(x)  # another library's gradient for a float input: its sum on the host
    return float(np.sum(x))


def as_array(x):
    """x as a numpy array (a number as a 0-d array); an array (numpy's or another library's) or a
    stand-in as it is."""
    if type(x) is _ndarray or _stand_in(x) or _namespace.is_foreign(x):
        return x
    return np.asarray(x)


def sigmoid_parts(x, alpha, out=None):
    """F = 1/(1 + exp(−αx)) and the two numbers backward needs, stably: ``(F, e, r)``.

    With e = exp(−|αx|) ≤ 1 and r = 1/(1 + e), which never overflow:
        F = r          if αx ≥ 0        F = e·r        if αx < 0
    and in both cases F·(1 − F) = e·r², so the derivative α·F·(1 − F) needs
    no subtraction (no cancellation in saturation).

    ``out`` (arrays only): buffers ``(e, r, mask)`` of x's shape (mask boolean) that
    the common case writes into (`sigmoid_parts_into`).
    """
    if x.__class__ is float:
        z = alpha * x  # a float product overflows to ±inf silently, which is harmless here
        e = math.exp(-abs(z))
        r = 1.0 / (1.0 + e)
        return (r if z >= 0.0 else e * r), e, r
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(sigmoid_parts, x, alpha)
    if alpha != 1.0:  # F(x; α) = F(αx; 1): scaled first, with αx's edge cases
        return _sigmoid_parts_with_gain(x, alpha, out)
    if type(x) is _ndarray:
        kind = x.dtype.type
        e_out, r_out, mask = out or (None, None, None)
        return sigmoid_parts_into(x, e_out, r_out, mask, EXP_FLOOR[kind], ONE[kind])
    return _sigmoid_parts_by_sign(x)


# NOTE: one global lookup each, not np's attribute too: a compiled step calls sigmoid_parts_into per layer
_exp, _negative, _add, _reciprocal, _greater = np.exp, np.negative, np.add, np.reciprocal, np.greater


def sigmoid_parts_into(x, e_out, r_out, mask, floor, one):
    """`sigmoid_parts` (α = 1) of a float64 or float32 array, into the buffers ``e_out``,
    ``r_out`` and ``mask`` (None: new arrays); ``floor`` and ``one`` are x's dtype's
    `EXP_FLOOR` and `ONE`.  Generated code calls it with its own buffers and constants
    (`sigmoid_parts`' keywords and tests would cost a small step 2–3% per layer)."""
    # NOTE: where x > −ln(largest float) everywhere, exp(−x) cannot overflow and F = r: no sign split
    # (count(x > floor) == size is min(x) > floor, nan failing both, one call cheaper).
    if count_nonzero(_greater(x, floor, mask)) == x.size:
        e = _exp(_negative(x, e_out), e_out)
        r = _reciprocal(_add(e, one, r_out), r_out)
        return r, e, r
    return _sigmoid_parts_by_sign(x)


def _sigmoid_parts_by_sign(x):
    """`sigmoid_parts` (α = 1) where exp(−x) may overflow, or of another library's array."""
    xp = np if type(x) is _ndarray else _namespace.of(x)
    e = xp.exp(-xp.abs(x))
    r = 1.0 / (1.0 + e)
    return xp.where(x >= 0, r, e * r), e, r


def _sigmoid_parts_with_gain(x, alpha, out):
    """`sigmoid_parts` of an array for a gain α ≠ 1: αx, then F(αx; 1)."""
    if alpha < 1.0 or type(x) is not _ndarray:
        z = x * alpha  # |αx| ≤ |x|: cannot overflow (numpy alone warns at an overflow to ±inf)
    elif alpha > _LARGEST[x.dtype.type]:
        # NOTE: α is inf in x's dtype (float32 past 3.4e38), where 0·α is nan (F = [0, nan, 1] at
        # α = 1e39) and backward's α·e·r² is inf·0: work in float64, where α is finite.  F goes back to
        # x's dtype; e and r stay float64, so backward's α·e·r² is exact and the engine casts the
        # gradient to x's dtype.
        value, e, r = sigmoid_parts(x.astype(np.float64), alpha)
        return value.astype(x.dtype), e, r
    else:
        with np.errstate(over="ignore"):  # ±inf is harmless: e = 0 there
            z = x * alpha
    return sigmoid_parts(z, 1.0, out)


def _as_numpy(function, *args):
    """Evaluate a float function the way numpy does (inf/nan and a RuntimeWarning)."""
    return float(function(*(np.float64(a) for a in args)))


def power(base, exponent):
    if type(base) is float and type(exponent) is float:
        try:
            result = base ** exponent
        except (ZeroDivisionError, OverflowError):
            return _as_numpy(np.power, base, exponent)
        if type(result) is complex or (base < 0.0 and not exponent.is_integer()):
            return _as_numpy(np.power, base, exponent)  # numpy's nan (with its warning)
        return result
    if (type(base) is not _ndarray or type(exponent) is not _ndarray) and _stand_in(base, exponent):
        return _hand_over(power, base, exponent)
    if type(base) is _ndarray or type(exponent) is _ndarray:
        return np.power(base, exponent)
    return _namespace.of(base, exponent).pow(base, exponent)


def power_slope(base, exponent):
    """∂(aᵇ)/∂a = b·aᵇ⁻¹, taken as 0 where b = 0.

    # NOTE: a⁰ = 1 has slope 0 everywhere, but the formula reads 0·0⁻¹ = nan
    # at a = 0 (and 0·inf at a = inf): where b = 0, raise a to the harmless
    # power 1 instead and multiply by b = 0.
    """
    if (type(base) is not _ndarray or type(exponent) is not _ndarray) and _stand_in(base, exponent):
        return _hand_over(power_slope, base, exponent)
    if type(exponent) is float:
        if exponent == 0.0:
            return 0.0 if type(base) is float else _namespace.of(base).zeros_like(base)
        return exponent * power(base, exponent - 1)
    xp = _namespace.of(base, exponent)
    zero = exponent == 0
    safe = xp.where(zero, 1.0, exponent - 1)
    return xp.where(zero, 0.0, exponent * power(base, safe))


def one_where_zero(x):
    if type(x) is float:
        return 1.0 if x == 0.0 else x
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(one_where_zero, x)
    return (np if type(x) is _ndarray else _namespace.of(x)).where(x == 0, 1.0, x)


def log(x):
    if type(x) is float:
        return math.log(x) if x > 0.0 else _as_numpy(np.log, x)
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(log, x)
    return (np if type(x) is _ndarray else _namespace.of(x)).log(x)


def exp(x):
    if type(x) is float:
        try:
            return math.exp(x)
        except OverflowError:
            return _as_numpy(np.exp, x)
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(exp, x)
    return (np if type(x) is _ndarray else _namespace.of(x)).exp(x)


def tanh(x):
    if type(x) is float:
        return math.tanh(x)
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(tanh, x)
    return (np if type(x) is _ndarray else _namespace.of(x)).tanh(x)


def relu(x):
    """max(x, 0); nan stays nan, as with np.maximum."""
    if type(x) is float:
        return 0.0 if x <= 0.0 else x
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(relu, x)
    return (np if type(x) is _ndarray else _namespace.of(x)).maximum(x, 0.0)


def where_positive(x, grad):
    """``grad`` where x > 0, else 0: relu's backward."""
    if type(x) is float:
        return grad if x > 0.0 else 0.0
    if (type(x) is not _ndarray or type(grad) is not _ndarray) and _stand_in(x, grad):
        return _hand_over(where_positive, x, grad)
    if type(x) is _ndarray:
        return grad * (x > 0)
    return grad * _namespace.of(x).astype(x > 0, x.dtype)  # NOTE: the standard multiplies no bools by floats


def quotient(x, y):
    """x / y, with numpy's ±inf/nan (and its warning) for a zero float divisor."""
    if type(x) is not float and type(x) is not _ndarray and _stand_in(x, y) or \
            type(y) is not float and type(y) is not _ndarray and _stand_in(y):
        return _hand_over(quotient, x, y)
    try:
        return x / y
    except ZeroDivisionError:
        return _as_numpy(np.divide, x, y)


def matmul(a, b):
    """a @ b, with an error that says which of matmul's three rules failed.

    # NOTE: for matrices and vectors np.dot is the same product at two thirds of
    # matmul's call cost on small arrays: the same BLAS call for contiguous
    # operands (the same bits); for strided ones numpy may sum in another order
    # than @ does, so the last bits can differ from numpy's @ (never from
    # compiled code, which calls this same function).
    """
    if (type(a) is not _ndarray or type(b) is not _ndarray) and _stand_in(a, b):
        return _hand_over(matmul, a, b)
    try:
        out = product(a, b) if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim and b.ndim else a @ b
    except (ValueError, TypeError, RuntimeError):  # RuntimeError: torch's
        raise _matmul_error(shape(a), shape(b)) from None
    return out if type(out) is np.ndarray or _namespace.is_foreign(out) else np.asarray(out)


def product(a, b):
    """a @ b of two arrays of at least one axis each (np.dot where both have at most two):
    `matmul`'s product without its checks, for the arrays a backward rule makes."""
    if type(a) is not _ndarray or type(b) is not _ndarray:
        if (type(a) is not _ndarray or type(b) is not _ndarray) and _stand_in(a, b):
            return _hand_over(product, a, b)
        return a @ b
    return dot(a, b) if a.ndim <= 2 and b.ndim <= 2 else a @ b


def arrays_alike(items):
    """Floats among foreign arrays as 0-d arrays of the first array's library, dtype and device."""
    like = next(item for item in items if type(item) is not float)
    xp = _namespace.of(like)
    return [xp.asarray(item, dtype=like.dtype, device=_namespace.device(like)) if type(item) is float else item
            for item in items]


def _matmul_error(a_shape, b_shape):
    if len(a_shape) == 0 or len(b_shape) == 0:
        return ValueError(f"matmul: operands must be at least 1-D, got shapes {a_shape} and {b_shape}; "
                          "use * for scalars")
    inner_a = a_shape[-1]
    inner_b = b_shape[-2] if len(b_shape) >= 2 else b_shape[0]
    if inner_a != inner_b:
        return ValueError(f"matmul: shapes {a_shape} and {b_shape} do not fit: "
                          f"the inner dimensions {inner_a} and {inner_b} differ")
    return ValueError(f"matmul: batch dimensions of shapes {a_shape} and {b_shape} cannot be broadcast together")


def total(a, axis, keepdims):
    """Σ a over ``axis`` (all axes when None); a float stays a float."""
    if type(a) is float:
        return a
    if type(a) is not _ndarray and _stand_in(a):
        return _hand_over(total, a, axis, keepdims)
    if type(a) is _ndarray:  # NOTE: np.add.reduce is ndarray.sum without its Python-level wrapper
        return np.add.reduce(a, axis=axis, keepdims=keepdims)
    return _namespace.of(a).sum(a, axis=axis, keepdims=keepdims)


def mean(a, axis, keepdims):
    """(1/N) Σ a over ``axis`` (all axes when None); a float stays a float."""
    if type(a) is float:
        return a
    if type(a) is not _ndarray and _stand_in(a):
        return _hand_over(mean, a, axis, keepdims)
    if type(a) is _ndarray:
        return np.asarray(a.mean(axis=axis, keepdims=keepdims))
    return _namespace.of(a).mean(a, axis=axis, keepdims=keepdims)


def expand_reduced(grad, like, axis, keepdims):
    """Broadcast the gradient of a reduction of ``like`` back over the reduced axes (a float
    ``like``: the gradient as it is)."""
    if type(like) is float:
        return grad
    if (type(grad) is not _ndarray or type(like) is not _ndarray) and _stand_in(grad, like):
        return _hand_over(expand_reduced, grad, like, axis, keepdims)
    if type(like) is not _ndarray:
        xp = _namespace.of(grad, like)
        return xp.broadcast_to(_keep_axes(xp, grad, like, axis, keepdims), shape(like))
    if axis is not None and not keepdims:
        grad = np.expand_dims(grad, axis)
    return np.broadcast_to(grad, like.shape)


def _keep_axes(xp, reduced, like, axis, keepdims):
    """A reduction's result with the reduced axes back as axes of length 1 (the standard's
    expand_dims takes one axis: a reshape takes them all)."""
    if axis is None and not keepdims:
        return xp.reshape(reduced, (1,) * len(shape(like)))
    if axis is None or keepdims:
        return reduced
    ndim = len(shape(like))
    axes = {int(item) % ndim for item in (axis if isinstance(axis, tuple) else (axis,))}
    return xp.reshape(reduced, tuple(1 if position in axes else n for position, n in enumerate(shape(like))))


def scatter(grad, like, index):
    """Zeros shaped like ``like`` with ``grad`` put at ``index``: GetItem's backward.

    # NOTE: an integer-array index may name an element twice; np.add.at then adds
    # each of its gradients (plain assignment would keep only the last).
    """
    if (type(grad) is not _ndarray or type(like) is not _ndarray) and _stand_in(grad, like):
        return _hand_over(scatter, grad, like, index)
    if type(like) is not _ndarray:
        return _scatter_foreign(grad, like, index)
    full = np.zeros(like.shape, dtype=like.dtype)
    if is_basic_index(index):
        full[index] = grad
    else:
        np.add.at(full, index, grad)
    return full


def cast(a, dtype):
    """``a``'s numbers as ``dtype``, a new array (0-d for a float): `Value.astype`'s forward."""
    if type(a) is _ndarray:
        return a.astype(dtype)
    if type(a) is not float and _stand_in(a):
        return _hand_over(cast, a, dtype)
    return np.array(a, dtype=dtype)


def one_hot(labels, classes, axis, dtype):
    """The one-hot rows of integer ``labels``: 1 at class ``labels[n]`` of row n, 0 elsewhere,
    the classes along ``axis`` of the result, in ``dtype`` ("float64" or "float32"):
    cross_entropy's targets from class labels (the `minigrad.core.ops.OneHot` op).

    A label outside [0, classes) is a ValueError naming cross_entropy, the label and where it is,
    checked on every call (a compiled step makes this call again on each batch's labels).
    """
    if type(labels) is not _ndarray and _stand_in(labels):
        return _hand_over(one_hot, labels, classes, axis, dtype)
    bad = (labels < 0) | (labels >= classes)
    if bad.any():
        where = tuple(int(k) for k in np.argwhere(bad)[0])
        at = f"[{', '.join(map(str, where))}]" if where else ""
        raise ValueError(f"cross_entropy: label {int(labels[where])} (labels{at}) is out of range for "
                         f"{classes} classes; labels must be in [0, {classes})")
    rows = np.zeros(labels.shape + (classes,), dtype=dtype)
    np.put_along_axis(rows, labels[..., np.newaxis].astype(np.intp), 1.0, axis=-1)
    return rows if axis == labels.ndim else np.moveaxis(rows, -1, axis)


def _scatter_foreign(grad, like, index):
    """`scatter` in another Array API library (which has no scatter-add): a basic index assigns;
    an integer-array index adds through a 0/1 matrix that sends each picked element home.

    # NOTE: the matrix has (size of like) × (elements picked) entries: fine for the indices of a
    # training step, a memory cost for very large ones (numpy's np.add.at has none).
    """
    xp = _namespace.of(grad, like)
    where = _namespace.device(like)
    if is_basic_index(index):
        full = xp.zeros(shape(like), dtype=like.dtype, device=where)
        items = index if type(index) is tuple else (index,)
        kept = tuple(item for item in items if item is not None)  # a new axis has no place to write to
        full[foreign_index(kept, like)] = xp.reshape(grad, _picked_shape(like, kept))
        return full
    count = size(like)
    positions = np.arange(count).reshape(shape(like))[index].reshape(-1)  # the index is numpy's (known early)
    picks = np.equal(np.arange(count)[:, np.newaxis], positions[np.newaxis, :]).astype(np.float64)
    sends = xp.astype(xp.asarray(picks, device=where), like.dtype)
    flat = xp.reshape(xp.broadcast_to(grad, _picked_shape(like, index)), (positions.size,))
    return xp.reshape(xp.matmul(sends, flat), shape(like))


def _picked_shape(like, index):
    """The shape of like[index] under numpy's rules, found without reading (or making) any numbers."""
    return np.broadcast_to(np.empty((), dtype=np.int8), shape(like))[index].shape


def foreign_index(index, like):
    """An index for an array of another library: a basic one as it is; one with integer or boolean
    arrays as one integer array per axis, in that library and on its device (the standard's form of
    numpy's advanced indexing: numpy picks the elements, from the shape alone)."""
    if type(like) is _ndarray or not _namespace.is_foreign(like):
        return index
    items = index if type(index) is tuple else (index,)
    # NOTE: torch's slices take no negative step: such an index goes the integer-array way there
    reversing = _namespace.library(like) == "torch" and any(
        isinstance(item, slice) and item.step is not None and item.step < 0 for item in items)
    if is_basic_index(index) and not reversing:
        if any(item is Ellipsis for item in items) or sum(item is not None for item in items) >= len(shape(like)):
            return index
        return (*items, Ellipsis)  # NOTE: the standard wants every axis named: the ... numpy implies
    xp = _namespace.of(like)
    where = _namespace.device(like)
    positions = np.arange(size(like)).reshape(shape(like))[index]
    return tuple(xp.asarray(coordinate, device=where) for coordinate in np.unravel_index(positions, shape(like)))


def is_basic_index(index):
    """True for an index of ints, slices, None and Ellipsis (no element can repeat)."""
    items = index if type(index) is tuple else (index,)
    return all(item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice)) for item in items)


def format_index(index, array_name=None):
    """An index as Python writes it between brackets: ``1, :, ::2``.  An integer array is
    shown by its numbers (or its shape, when large), or written as ``array_name(array)``."""
    items = index if type(index) is tuple else (index,)
    parts = []
    for item in items:
        if isinstance(item, slice):
            start, stop, step = ("" if part is None else str(int(part)) for part in (item.start, item.stop, item.step))
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
        elif item is Ellipsis:
            parts.append("...")
        elif item is None:
            parts.append("None")
        elif isinstance(item, np.ndarray):
            if array_name is not None:
                parts.append(array_name(item))
            else:
                parts.append(f"array{list(item.shape)}" if item.size > 4 else str(item.tolist()))
        else:
            parts.append(str(int(item)) if isinstance(item, (int, np.integer)) else str(item))
    return ", ".join(parts)


def check_axis(axis, ndim, where):
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


# ---------------------------------------------------------------------------
# abs, sqrt, maximum/minimum, max/min, clip
# ---------------------------------------------------------------------------


def sign(x):
    """−1, 0 or 1 (nan stays nan): the slope of |x|, taken as 0 at x = 0."""
    if type(x) is float:
        return 1.0 if x > 0.0 else -1.0 if x < 0.0 else 0.0 if x == 0.0 else x
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(sign, x)
    return (np if type(x) is _ndarray else _namespace.of(x)).sign(x)


def absolute(x):
    if type(x) is float:
        return abs(x)
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(absolute, x)
    return np.absolute(x) if type(x) is _ndarray else _namespace.of(x).abs(x)


def sqrt(x):
    """√x; numpy's nan (and its warning) for x < 0."""
    if type(x) is float:
        return math.sqrt(x) if x >= 0.0 else _as_numpy(np.sqrt, x)
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(sqrt, x)
    return (np if type(x) is _ndarray else _namespace.of(x)).sqrt(x)


def maximum(a, b):
    """The larger of a and b, elementwise; nan if either is nan (as np.maximum)."""
    if type(a) is float and type(b) is float:
        # NOTE: ·1.0 makes a new float, never an input's own object (minigrad.compile tells a
        # constant by the identity of its data); neither ordered: one is nan, and so is a + b.
        return (a if a >= b else b if b > a else a + b) * 1.0
    if (type(a) is not _ndarray or type(b) is not _ndarray) and _stand_in(a, b):
        return _hand_over(maximum, a, b)
    return (np if type(a) is _ndarray or type(b) is _ndarray else _namespace.of(a, b)).maximum(a, b)


def minimum(a, b):
    """The smaller of a and b, elementwise; nan if either is nan (as np.minimum)."""
    if type(a) is float and type(b) is float:
        return (a if a <= b else b if b < a else a + b) * 1.0  # a new float, as in maximum
    if (type(a) is not _ndarray or type(b) is not _ndarray) and _stand_in(a, b):
        return _hand_over(minimum, a, b)
    return (np if type(a) is _ndarray or type(b) is _ndarray else _namespace.of(a, b)).minimum(a, b)


def tie_share(x, other, larger=True):
    """∂maximum(x, other)/∂x (``larger``) or ∂minimum(x, other)/∂x: 1 where x wins,
    ½ where x ties other (a tie shares the gradient equally), 0 where x loses or either is nan."""
    if type(x) is float and type(other) is float:
        wins = x > other if larger else x < other
        return 1.0 if wins else 0.5 if x == other else 0.0
    if (type(x) is not _ndarray or type(other) is not _ndarray) and _stand_in(x, other):
        return _hand_over(tie_share, x, other, larger)
    if type(x) is not _ndarray and type(other) is not _ndarray:
        xp = _namespace.of(x, other)
        dtype = (other if type(x) is float else x).dtype
        wins = x > other if larger else x < other  # wins and ties never overlap: 1, ½ or 0
        return xp.astype(wins, dtype) + 0.5 * xp.astype(x == other, dtype)
    wins = np.greater(x, other) if larger else np.less(x, other)
    share = np.where(wins, 1.0, np.where(np.equal(x, other), 0.5, 0.0))
    return np.asarray(share, dtype=np.result_type(x, other))


def extremum(a, axis, keepdims, larger=True):
    """max (``larger``) or min of ``a`` over ``axis`` (all when None); a float stays a float."""
    if type(a) is float:
        return a
    if type(a) is not _ndarray and _stand_in(a):
        return _hand_over(extremum, a, axis, keepdims, larger)
    if type(a) is not _ndarray:
        xp = _namespace.of(a)
        return (xp.max if larger else xp.min)(a, axis=axis, keepdims=keepdims)
    reduce = np.maximum.reduce if larger else np.minimum.reduce
    return np.asarray(reduce(a, axis=axis, keepdims=keepdims))


def reduced_share(a, out, axis, keepdims):
    """∂max(a)/∂a (or min's): 1/k at the k elements equal to the result ``out``
    (ties share the gradient equally), 0 elsewhere."""
    if type(a) is float:
        return 1.0
    if (type(a) is not _ndarray or type(out) is not _ndarray) and _stand_in(a, out):
        return _hand_over(reduced_share, a, out, axis, keepdims)
    if type(a) is not _ndarray:
        xp = _namespace.of(a, out)
        hits = xp.astype(a == _keep_axes(xp, out, a, axis, keepdims), a.dtype)
        return hits / xp.sum(hits, axis=axis, keepdims=True)
    if axis is not None and not keepdims:
        out = np.expand_dims(out, axis)
    hits = np.equal(a, out)
    count = np.add.reduce(hits, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):  # nan in a: no element equals the result, 0/0 = nan
        return np.asarray(hits / count, dtype=a.dtype)


def clip(x, low, high):
    """x limited to [low, high]; a bound of None is not applied; nan stays nan."""
    if type(x) is float:
        if low is not None and x < low:
            return low * 1.0  # a new float, as in maximum
        if high is not None and x > high:
            return high * 1.0
        return x
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(clip, x, low, high)
    if type(x) is _ndarray:
        return np.asarray(np.clip(x, low, high))
    return _namespace.of(x).clip(x, min=low, max=high)


def clip_inside(x, low, high):
    """∂clip(x)/∂x: 1 where low < x < high, 0 at the bounds and outside (as HIPS autograd)."""
    if type(x) is float:
        return 1.0 if (low is None or x > low) and (high is None or x < high) else 0.0
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(clip_inside, x, low, high)
    xp = np if type(x) is _ndarray else _namespace.of(x)
    inside = xp.ones(shape(x), dtype=xp.bool, device=_namespace.device(x)) if xp is not np else \
        np.ones(x.shape, dtype=bool)
    if low is not None:
        inside = inside & (x > low)
    if high is not None:
        inside = inside & (x < high)
    return xp.astype(inside, x.dtype)


# ---------------------------------------------------------------------------
# softmax, log_softmax, cross-entropy, mean squared error
# ---------------------------------------------------------------------------


def softmax(x, axis):
    """exp(x − max) / Σ exp(x − max) along ``axis``.

    # NOTE: subtracting the max makes every exponent ≤ 0, so nothing
    # overflows; the largest term is exp(0) = 1, so the sum is ≥ 1.
    """
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(softmax, x, axis)
    if type(x) is not _ndarray:
        xp = _namespace.of(x)
        exponentials = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
        return exponentials / xp.sum(exponentials, axis=axis, keepdims=True)
    with np.errstate(over="ignore"):  # NOTE: x − max below the largest float is −inf: exp gives 0, as it should
        shifted = x - np.maximum.reduce(x, axis=axis, keepdims=True)
    exponentials = np.exp(shifted, out=shifted)
    return exponentials / np.add.reduce(exponentials, axis=axis, keepdims=True)


def softmax_backward(grad, out, axis):
    """∂loss/∂x for p = softmax(x): p · (grad − Σ_j grad_j p_j), the Jacobian p_i(δ_ij − p_j) applied."""
    if (type(grad) is not _ndarray or type(out) is not _ndarray) and _stand_in(grad, out):
        return _hand_over(softmax_backward, grad, out, axis)
    return out * (grad - total(grad * out, axis, True))


def log_softmax(x, axis):
    """x − max − ln Σ exp(x − max) along ``axis``: no overflow, and no ln 0 for finite x."""
    if type(x) is not _ndarray and _stand_in(x):
        return _hand_over(log_softmax, x, axis)
    if type(x) is not _ndarray:
        xp = _namespace.of(x)
        shifted = x - xp.max(x, axis=axis, keepdims=True)
        return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))
    # NOTE: at extreme logits (1e308 beside −1e308) x − max is below the largest float: −inf, the nearest
    # float to the true log-probability, with no warning; an infinite logit still warns (inf − inf is nan).
    with np.errstate(over="ignore"):
        shifted = x - np.maximum.reduce(x, axis=axis, keepdims=True)
    return shifted - np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))


def log_softmax_backward(grad, out, axis):
    """∂loss/∂x for out = log_softmax(x): grad − softmax(x) · Σ_j grad_j (∂out_i/∂x_j = δ_ij − p_j)."""
    if (type(grad) is not _ndarray or type(out) is not _ndarray) and _stand_in(grad, out):
        return _hand_over(log_softmax_backward, grad, out, axis)
    return grad - exp(out) * total(grad, axis, True)


def cross_entropy_loss(log_p, targets, count):
    """−Σ targets · log_p / count, a 0-d array of log_p's dtype.

    # NOTE: a class with target 0 adds 0 even where log_p is −inf (a logit of −inf).
    """
    if (type(log_p) is not _ndarray or type(targets) is not _ndarray) and _stand_in(log_p, targets):
        return _hand_over(cross_entropy_loss, log_p, targets, count)
    if type(log_p) is not _ndarray:
        xp = _namespace.of(log_p, targets)
        terms = targets * log_p
        if not bool(xp.all(xp.isfinite(log_p))):
            terms = xp.where(targets == 0, 0.0, terms)
        return -xp.sum(terms) / count
    with np.errstate(invalid="ignore"):
        terms = targets * log_p
    if not np.all(np.isfinite(log_p)):
        terms = np.where(targets == 0, 0.0, terms)
    total = np.add.reduce(terms, axis=None)
    return np.asarray(-total / count, dtype=np.result_type(log_p, targets))


def cross_entropy_backward(grad, log_p, targets, axis, count):
    """∂loss/∂logits = grad · (softmax · Σ targets − targets) / count, which is
    grad · (softmax − targets) / count for targets whose rows sum to 1."""
    if (type(grad) is not _ndarray or type(log_p) is not _ndarray or type(targets) is not _ndarray) \
            and _stand_in(grad, log_p, targets):
        return _hand_over(cross_entropy_backward, grad, log_p, targets, axis, count)
    return grad * (exp(log_p) * total(targets, axis, True) - targets) / count


def mean_square(error):
    """(1/N) Σ error², a 0-d array of error's dtype (a float for a float)."""
    if type(error) is float:
        return error * error
    if type(error) is not _ndarray and _stand_in(error):
        return _hand_over(mean_square, error)
    if type(error) is not _ndarray:
        flat = _namespace.of(error).reshape(error, (-1,))
        return _namespace.of(error).vecdot(flat, flat) / max(size(error), 1)
    return np.asarray(np.vdot(error, error) / error.size, dtype=error.dtype)


def half_squared_norm(error):
    """½ Σ error², a 0-d array of error's dtype (a float for a float): the chapter's SSE."""
    kind = type(error)
    if kind is _ndarray:  # NOTE: tested first: generated code calls this once a step
        return np.asarray(0.5 * vdot(error, error), dtype=error.dtype)
    if kind is float:
        return 0.5 * error * error
    if _stand_in(error):
        return _hand_over(half_squared_norm, error)
    flat = _namespace.of(error).reshape(error, (-1,))
    return 0.5 * _namespace.of(error).vecdot(flat, flat)


def half_sum_of_squares(*errors):
    """½ Σ_o E_o² over Python floats, summed exactly (math.fsum): the SSE of a scalar network."""
    if _stand_in(*errors):
        return _hand_over(half_sum_of_squares, *errors)
    return 0.5 * math.fsum(error * error for error in errors)


def check_int_axis(axis, ndim, where):
    """One axis (an int within range) for ops that work along a single axis; returns it as an int."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{where}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        what = "a scalar Value (it has no axes)" if ndim == 0 else f"a Value with {ndim} dimensions"
        raise ValueError(f"{where}: axis {axis!r} is out of range for {what}")
    return int(axis)


#: Helpers that hand back an argument itself for every float (a float's sum is the float): on a
#: float, generated code makes no call.  Any other helper that hands back its argument does so for
#: some values only (relu of a positive x, clip inside its bounds), so its call is written.
FLOAT_PASS_THROUGH = {as_float, total, mean, extremum, expand_reduced}

#: What generated code names the results of a helper that gives several.
RESULT_NAMES = {sigmoid_parts: ("F", "e", "r")}

#: Helpers that take buffers as ``out`` (one per result listed, then a boolean mask of the first
#: argument's shape): the results written there, and for each other result, the one it may be.
OUT_BUFFERS = {sigmoid_parts: ((1, 2), {0: 2})}

#: The helpers that, on arrays, are exactly one numpy ufunc of the same arguments.
ARRAY_UFUNCS = {exp: np.exp, log: np.log, tanh: np.tanh, sign: np.sign, absolute: np.absolute, sqrt: np.sqrt,
                maximum: np.maximum, minimum: np.minimum, power: np.power}


def array_form(function, *args):
    """The one numpy call that the helper ``function`` makes on these arguments, where it makes
    exactly one that can write into an ``out`` buffer (so generated code may call it so), or None."""
    if not all(type(arg) is _ndarray or type(arg) is float for arg in args) or \
            not any(type(arg) is _ndarray for arg in args):
        return None
    if function in ARRAY_UFUNCS:
        return ARRAY_UFUNCS[function]
    if function is product or function is matmul:
        a, b = args
        if type(a) is _ndarray and type(b) is _ndarray and a.ndim and b.ndim:
            return dot if a.ndim <= 2 and b.ndim <= 2 else np.matmul
    return None
