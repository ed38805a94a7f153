"""Calling the learner's function: each case's ``q``, a time limit, and what went wrong, said plainly."""

from __future__ import annotations

import linecache
import os
import traceback

import numpy as np

from ...core.value import Value
from ..time_limit import call_learner
from .cases import ForwardValues


class DerivationError(ValueError):
    """The learner's function could not be graded.

    ``reason`` is one of ``"raised"`` (it raised an exception, ``SystemExit``
    and ``KeyboardInterrupt`` included: ``original`` holds it),
    ``"timed_out"`` (it did not return within the time limit), ``"shape"`` (an array of the wrong shape that no usual mistake
    explains), ``"not_finite"`` (nan or inf) and ``"not_numeric"`` (None, a
    string, a Value, ...).  ``case`` describes the case it failed on.
    """

    def __init__(self, message, reason, case=None, original=None):
        super().__init__(message)
        self.reason = reason
        self.case = case
        self.original = original


def _copy_value(value):
    """A fresh float64 copy of an array (the learner may write into it), a float for a number."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float64, copy=True)
    return float(value) if isinstance(value, (float, np.floating)) else value


def _reason(error):
    """The exception's message, or what a message-less SystemExit or KeyboardInterrupt means."""
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r}), which ends a program, not a gradient; return the array instead"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C, or a KeyboardInterrupt raised by the function)"
    return str(error)


def build_loss(loss_fn, args, description, time_limit):
    """``loss_fn(*args)`` under the time limit.  Its own exceptions pass through as they are (a mistake in the
    graph is the caller's to see); ``SystemExit``, ``KeyboardInterrupt`` and a timeout are DerivationErrors."""
    name = function_name(loss_fn)
    outcome = call_learner(loss_fn, *args, seconds=time_limit, caller="check_derivation")
    if outcome.timed_out:
        raise DerivationError(f"loss_fn {name} did not return within {outcome.seconds:g} s on {description}",
                              "timed_out", description)
    error = outcome.error
    if isinstance(error, Exception):
        raise error
    if error is not None:
        raise DerivationError(f"loss_fn {name} raised {type(error).__name__} on {description}: {_reason(error)}",
                              "raised", description, error) from None
    return outcome.value


def function_name(fn):
    return getattr(fn, "__name__", None) or type(fn).__name__


def _where(fn, error):
    """'file.py:12' and the line's text for the innermost frame of the learner's code in the traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    code = getattr(fn, "__code__", None)
    own = [frame for frame in frames if code is not None and frame.filename == code.co_filename]
    frame = own[-1] if own else (frames[-1] if frames else None)
    if frame is None:
        return "", ""
    line = frame.line or linecache.getline(frame.filename, frame.lineno).strip()
    if "ipykernel_" in frame.filename or frame.filename.startswith("<ipython-input"):
        return f"line {frame.lineno} of its cell", line  # NOTE: Jupyter names a cell's code /tmp/ipykernel_*/123.py
    return f"{os.path.basename(frame.filename)}:{frame.lineno}", line


def call(fn, case, time_limit):
    """The learner's numbers for one case, as a float64 array, or a DerivationError.

    Anything ``fn`` raises is the learner's to see: ``SystemExit`` (a
    ``sys.exit(0)`` is an error, never a pass) and ``KeyboardInterrupt``
    included; past ``time_limit`` seconds it is stopped (`call_learner`).
    """
    name = function_name(fn)
    q = ForwardValues({key: _copy_value(value) for key, value in case.values.items()})
    outcome = call_learner(fn, q, seconds=time_limit, caller="check_derivation")
    if outcome.timed_out:
        where, line = _where(fn, outcome.stopped) if outcome.stopped is not None else ("", "")
        message = f"your function {name} did not return within {outcome.seconds:g} s on {case.description}"
        message += f" (stopped at {where}" + (f": {line}" if line else "") + ")" if where else ""
        message += ": an endless loop? The limit is check_derivation's time_limit (--time-limit on the command line)"
        raise DerivationError(message, "timed_out", case.description)
    if outcome.error is not None:
        error = outcome.error
        where, line = _where(fn, error)
        message = f"your function {name} raised {type(error).__name__}"
        message += f" at {where}" if where else ""
        message += f" on {case.description}: {_reason(error)}"
        if line:
            message += f"\n    {line}"
        raise DerivationError(message, "raised", case.description, error) from None
    result = outcome.value
    if result is None:
        raise DerivationError(f"your function {name} returned None on {case.description}: did you forget the "
                              "`return`?", "not_numeric", case.description)
    if isinstance(result, Value):
        raise DerivationError(f"your function {name} returned a minigrad Value; return plain numbers (a numpy "
                              "array) computed from q", "not_numeric", case.description)
    try:
        array = np.asarray(result)
    except (ValueError, TypeError) as error:
        raise DerivationError(f"your function {name} returned something that is not an array of numbers "
                              f"({type(result).__name__}: {error})", "not_numeric", case.description) from None
    if array.dtype.kind not in "iuf":
        kind = "complex numbers" if array.dtype.kind == "c" else f"{type(result).__name__} of dtype {array.dtype}"
        raise DerivationError(f"your function {name} returned {kind}, not real numbers", "not_numeric",
                              case.description)
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(k) for k in np.argwhere(bad)[0]) if array.ndim else ()
        value = array[index] if array.ndim else float(array)
        raise DerivationError(f"your function {name} returned {value} at element {index} on {case.description} "
                              "(a division by zero, or an overflow?)", "not_finite", case.description)
    return array

