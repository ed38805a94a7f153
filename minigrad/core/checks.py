"""Argument checks: one place for "must be finite and > 0" and its kin.

Every check takes the value, the argument's ``name`` and the ``caller``
(the function or command the user called), and returns the value converted
(a float, an int, the choice) or raises:

* TypeError when the value is not of the kind at all (a string for a
  learning rate, ``True`` for a count, a minigrad ``Value`` for a plain
  number);
* ValueError when it is of the kind but out of range (nan, 0, −1).

The message names all three: ``"SGD: lr must be finite and > 0, got nan"``.
Each error also carries ``.requirement`` (``"must be finite and > 0"``), so
the command line can restate it beside the text as typed
(``--alpha: must be finite and > 0, got 1e400``).

bool is refused wherever a number is asked for: ``True`` is an int to
Python, but never a learning rate or a count.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any, Optional

import numpy as np

__all__ = ["real", "finite_real", "positive_real", "non_negative_real", "fraction", "probability", "integer",
           "one_of", "flag"]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _refused(kind: type, caller: str, name: str, requirement: str, value: Any, *, typed: bool = False) -> Exception:
    shown = f"{type(value).__name__} {_shown(value)}" if typed else _shown(value)
    error = kind(f"{caller}: {name} {requirement}, got {shown}")
    error.requirement = requirement
    return error


def real(value: Any, name: str, caller: str) -> float:
    """A real number (int, float, numpy scalar; not bool, not a Value), as a float: nan and inf pass."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise _refused(TypeError, caller, name, "must be a real number", value, typed=True)
    return float(value)


def finite_real(value: Any, name: str, caller: str) -> float:
    """A finite real number, as a float."""
    number = real(value, name, caller)
    if not math.isfinite(number):
        raise _refused(ValueError, caller, name, "must be finite", value)
    return number


def positive_real(value: Any, name: str, caller: str) -> float:
    """A finite real number > 0, as a float (a gain, a learning rate, a time limit)."""
    number = real(value, name, caller)
    if not (number > 0.0 and math.isfinite(number)):
        raise _refused(ValueError, caller, name, "must be finite and > 0", value)
    return number


def non_negative_real(value: Any, name: str, caller: str) -> float:
    """A finite real number ≥ 0, as a float (a tolerance)."""
    number = real(value, name, caller)
    if not (number >= 0.0 and math.isfinite(number)):
        raise _refused(ValueError, caller, name, "must be finite and ≥ 0", value)
    return number


def fraction(value: Any, name: str, caller: str) -> float:
    """A real number in [0, 1), as a float (a momentum, Adam's betas)."""
    number = real(value, name, caller)
    if not 0.0 <= number < 1.0:
        raise _refused(ValueError, caller, name, "must be in [0, 1)", value)
    return number


def probability(value: Any, name: str, caller: str) -> float:
    """A real number in [0, 1], as a float (a dropout rate, a split)."""
    number = real(value, name, caller)
    if not 0.0 <= number <= 1.0:
        raise _refused(ValueError, caller, name, "must be in [0, 1]", value)
    return number


def integer(value: Any, name: str, caller: str, *, minimum: Optional[int] = None,
            maximum: Optional[int] = None) -> int:
    """An integer (int or numpy integer; not bool, not 2.0) in [minimum, maximum], as an int.

    The requirement reads "must be a positive integer" for ``minimum=1``,
    "must be an integer ≥ 0" for ``minimum=0``, "must be an integer from 0
    to 100" with both bounds.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise _refused(TypeError, caller, name, "must be an integer", value, typed=True)
    number = int(value)
    if maximum is not None and minimum is not None:
        requirement = f"must be an integer from {minimum:,} to {maximum:,}"
    elif minimum == 1:
        requirement = "must be a positive integer"
    elif minimum is not None:
        requirement = f"must be an integer ≥ {minimum:,}"
    else:
        requirement = f"must be an integer ≤ {maximum:,}"
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise _refused(ValueError, caller, name, requirement, value)
    return number


def one_of(value: Any, name: str, caller: str, choices: Iterable[Any]) -> Any:
    """``value`` when it equals one of ``choices`` (compared with ==, of the same type), else ValueError."""
    choices = tuple(choices)
    for choice in choices:
        if type(value) is type(choice) and value == choice:
            return choice
    raise _refused(ValueError, caller, name, f"must be one of {', '.join(map(repr, choices))}", value)


def flag(value: Any, name: str, caller: str) -> bool:
    """True or False (numpy's bools too), as a bool: not 1, not "yes"."""
    if not isinstance(value, (bool, np.bool_)):
        raise _refused(TypeError, caller, name, "must be True or False", value, typed=True)
    return bool(value)
