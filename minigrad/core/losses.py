"""Losses beside the chapter's SSE: the mean squared error and softmax cross-entropy.

Each is one op of the table (`minigrad.core.ops.MSE`, `minigrad.core.ops.CROSS_ENTROPY`);
these functions check what they are given and name the loss, the shapes and
the bad values in every error.  The chapter's SSE is `minigrad.sse`.
"""

from __future__ import annotations

import numpy as np

from . import namespace
from . import numerics
from . import ops
from .value import Value, apply, as_data, describe, leaf

__all__ = ["mse", "cross_entropy"]

REDUCTIONS = ("mean", "sum")

# How far a row of probability targets may sum from 1.
_TOLERANCE = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 1e-3}


def mse(desired, actual):
    """The mean squared error, one op:

        MSE = (1/N) Σ (Desired − Actual)²      over all N elements, a scalar

    the chapter's SSE (Eq. 6.5) averaged instead of halved.  Its gradient with
    respect to ``actual`` is −2E/N, with E = Desired − Actual.  The two shapes
    must match exactly: no broadcasting, which would average the wrong errors.
    """
    return apply(ops.MSE, desired, actual)


def cross_entropy(logits, targets, reduction="mean", axis=-1):
    """Softmax cross-entropy of ``logits`` against ``targets``, one op:

        loss = −(1/N) Σ_n Σ_c targets[n,c] · log_softmax(logits)[n,c]

    over the N rows (patterns) of ``logits``, with the classes along ``axis``.
    ``targets`` are either integer class labels, one per row (shape
    ``logits.shape`` without ``axis``, each in [0, classes)), or probabilities
    of the logits' shape (one-hot rows, or any rows of numbers ≥ 0 that sum
    to 1).  ``reduction="mean"`` averages over the rows, ``"sum"`` adds them.

    ∂loss/∂logits = (softmax(logits) − targets) / N.  Computed from
    log_softmax (logits − max − ln Σ exp(logits − max)), so it neither
    overflows nor takes ln 0, even at logits of ±1e4.

    Labels become their one-hot rows (the op `one_hot`, so a compiled step
    takes them as an integer input).  Probability targets may
    be a Value that requires grad: their gradient is −log_softmax(logits) / N.
    Bad targets (labels out of range or of the wrong shape, negative or
    non-finite probabilities, rows that do not sum to 1, float labels) are a
    clear error naming cross_entropy, the shapes and the first bad value.
    Inside `minigrad.compile` probability targets are checked when the step is
    traced, and integer labels on every call.
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be 'mean' or 'sum', got {reduction!r}")
    if type(logits) is not Value:
        logits = leaf(as_data(logits, "cross_entropy", copy=True))
    shape = logits.shape
    if not shape:
        raise ValueError("cross_entropy: logits are a scalar; they need an axis of classes (shape (classes,) for "
                         "one pattern, (patterns, classes) for several)")
    axis = numerics.check_int_axis(axis, len(shape), "cross_entropy") % len(shape)
    rows = shape[:axis] + shape[axis + 1:]
    dtype = namespace.numpy_dtype(logits.dtype)  # the checks and the one-hot rows are numpy's
    if type(targets) is Value and type(targets.data) is np.ndarray and targets.data.dtype.kind in "iu":
        # integer labels held by a Value: a compiled step's integer argument
        targets = _one_hot(targets, shape, rows, axis, dtype)
    elif type(targets) is Value:
        _check_probabilities(targets.data, shape, rows, axis, dtype)
    else:
        labels = _integer_labels(namespace.to_numpy(targets) if namespace.is_foreign(targets) else targets)
        if labels is not None:
            targets = _one_hot(leaf(labels), shape, rows, axis, dtype)
            if namespace.is_foreign(logits.data):  # made in numpy, moved to where the logits live
                targets = leaf(namespace.move_like(targets.data, logits.data))
        else:
            targets = as_data(targets, "cross_entropy", copy=True)
            _check_probabilities(targets, shape, rows, axis, dtype)
            if type(targets) is np.ndarray and targets.dtype != dtype and dtype == np.float32:
                targets = targets.astype(np.float32)
            targets = leaf(targets)
    return apply(ops.CROSS_ENTROPY, logits, targets, axis=axis, reduction=reduction)


def _integer_labels(targets):
    """``targets`` as an integer array when they are integer labels (ints, integer arrays), else None."""
    if isinstance(targets, (bool, np.bool_)):
        raise TypeError(f"cross_entropy: targets must be integer labels or probabilities, got a boolean "
                        f"({targets!r})")
    if isinstance(targets, (int, np.integer)):
        return np.asarray(targets)
    if isinstance(targets, np.ndarray):
        if targets.dtype.kind == "b":
            raise TypeError("cross_entropy: targets are a boolean array; pass integer labels, or one-hot "
                            "rows as floats (targets.astype(float))")
        return targets if targets.dtype.kind in "iu" else None
    if isinstance(targets, (list, tuple)):
        try:
            array = np.asarray(targets)
        except (ValueError, TypeError):
            return None  # as_data names the problem
        return array if array.dtype.kind in "iu" else None
    return None


def _one_hot(labels, shape, rows, axis, dtype):
    """The one-hot rows of ``labels`` (a Value holding integers), recorded as an op."""
    if labels.shape != rows:
        raise ValueError(f"cross_entropy: logits have shape {shape}, so integer labels need shape {rows} (one "
                         f"label per row, classes along axis {axis}), but the labels have shape {labels.shape}")
    return apply(ops.ONE_HOT, labels, classes=shape[axis], axis=axis, dtype=np.dtype(dtype).name)


def _check_probabilities(targets, shape, rows, axis, dtype):
    """Targets of the logits' shape, finite, ≥ 0, each row summing to 1."""
    target_shape = numerics.shape(targets)
    if target_shape != shape:
        if target_shape == rows:
            raise ValueError(f"cross_entropy: targets of shape {target_shape} look like class labels, one per row "
                             f"of logits {shape}, but they hold floats ({describe(targets)}); pass labels as "
                             f"integers (targets.astype(int)), or probabilities of shape {shape}")
        raise ValueError(f"cross_entropy: logits have shape {shape} but targets have shape {target_shape}; targets "
                         f"must be integer labels of shape {rows} or probabilities of shape {shape}")
    values = np.asarray(namespace.to_numpy(targets))  # checked on the host: a device's numbers copied once
    if not np.all(np.isfinite(values)):
        where = tuple(int(k) for k in np.argwhere(~np.isfinite(values))[0])
        raise ValueError(f"cross_entropy: targets{list(where)} is {float(values[where])}; targets must be finite")
    if np.any(values < 0):
        where = tuple(int(k) for k in np.argwhere(values < 0)[0])
        raise ValueError(f"cross_entropy: targets{list(where)} is {float(values[where]):g}, a negative probability; "
                         "targets must be ≥ 0 (one-hot rows, or probabilities)")
    sums = np.sum(values, axis=axis)
    tolerance = _TOLERANCE.get(np.result_type(values, dtype), 1e-5)
    off = np.abs(sums - 1.0) > tolerance
    if np.any(off):
        where = tuple(int(k) for k in np.argwhere(off)[0])
        row = f"row {list(where)}" if where else "the row"
        raise ValueError(f"cross_entropy: {row} of the targets sums to {float(sums[where]):.6g}, not 1; "
                         f"probability targets must sum to 1 along axis {axis} (within {tolerance:g}); for "
                         "class labels pass integers")
