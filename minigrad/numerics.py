"""Numerics that the ops' forward and backward rules share.

Floats take Python's fast path; where Python would raise (ZeroDivisionError,
OverflowError) or go complex, the answer is numpy's instead (inf or nan, with
its RuntimeWarning), so scalars and arrays behave alike.
"""

from __future__ import annotations

import math

import numpy as np

# Below these, exp(−z) overflows (with a margin): ln of each dtype's largest float.
_EXP_FLOOR = {np.float64: -700.0, np.float32: -85.0}


def shape(data):
    """The shape of a Value's data: () for a float (np.shape, without its Python-level wrapper)."""
    return () if type(data) is float else data.shape


def sigmoid_parts(x, alpha):
    """F = 1/(1 + exp(−αx)) and the two numbers backward needs, stably.

    With e = exp(−|αx|) ≤ 1 and r = 1/(1 + e), which never overflow:
        F = r          if αx ≥ 0        F = e·r        if αx < 0
    and in both cases F·(1 − F) = e·r², so the derivative α·F·(1 − F) needs
    no subtraction (no cancellation in saturation).  Returns (F, e, r).

    # NOTE: for arrays whose αx is nowhere below −ln(largest float) (−709 in
    # float64, −88 in float32), e = exp(−αx) cannot overflow, F = r and
    # F·(1 − F) = e·r² hold for either sign, and the sign split is skipped:
    # five numpy calls instead of eight, which pays on small arrays.
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
    return np.power(base, exponent)


def power_slope(base, exponent):
    """∂(aᵇ)/∂a = b·aᵇ⁻¹, taken as 0 where b = 0.

    # NOTE: a⁰ = 1 has slope 0 everywhere, but the formula reads 0·0⁻¹ = nan
    # at a = 0 (and 0·inf at a = inf): where b = 0, raise a to the harmless
    # power 1 instead and multiply by b = 0.
    """
    if type(exponent) is float:
        if exponent == 0.0:
            return 0.0 if type(base) is float else np.zeros_like(base)
        return exponent * power(base, exponent - 1)
    safe = np.where(exponent == 0, 1.0, exponent - 1)
    return np.where(exponent == 0, 0.0, exponent * power(base, safe))


def one_where_zero(x):
    if type(x) is float:
        return 1.0 if x == 0.0 else x
    return np.where(x == 0, 1.0, x)


def log(x):
    if type(x) is float:
        return math.log(x) if x > 0.0 else _as_numpy(np.log, x)
    return np.log(x)


def exp(x):
    if type(x) is float:
        try:
            return math.exp(x)
        except OverflowError:
            return _as_numpy(np.exp, x)
    return np.exp(x)


def quotient(x, y):
    """x / y, with numpy's ±inf/nan (and its warning) for a zero float divisor."""
    try:
        return x / y
    except ZeroDivisionError:
        return _as_numpy(np.divide, x, y)


def matmul(a, b):
    """a @ b, with an error that says which of matmul's three rules failed."""
    try:
        out = a @ b
    except (ValueError, TypeError):
        raise _matmul_error(np.shape(a), np.shape(b)) from None
    return out if type(out) is np.ndarray else np.asarray(out)


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


def expand_reduced(grad, shape, axis, keepdims):
    """Broadcast the gradient of a reduction back over the reduced axes."""
    if axis is not None and not keepdims:
        grad = np.expand_dims(grad, axis)
    return np.broadcast_to(grad, shape)


def is_basic_index(index):
    """True for an index of ints, slices, None and Ellipsis (no element can repeat)."""
    items = index if type(index) is tuple else (index,)
    return all(item is None or item is Ellipsis or isinstance(item, (int, np.integer, slice)) for item in items)


def format_index(index):
    """An index as it is written between brackets: ``1, :, ::2``."""
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
