"""Values made from a shape, in PyTorch's habit: ``zeros``, ``ones``, ``full``,
``rand``, ``randn``, ``uniform``.

Each takes ``shape`` (an int or a tuple of ints; ``()`` gives a 0-d array),
``dtype`` (float64 by default, or float32), ``requires_grad`` (False by
default, as in PyTorch: pass True for a parameter) and ``name``.  The random
ones also take ``seed``: an int, a ``numpy.random.Generator`` (drawn from,
so successive calls differ), or None for the default generator, which
`manual_seed` seeds (as ``torch.manual_seed`` does; fresh entropy until then).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Union

import numpy as np

from ._types import DType, Seed
from .value import Value

Shape = Union[int, Sequence[int]]

__all__ = ["zeros", "ones", "full", "rand", "randn", "uniform", "manual_seed", "default_generator", "as_generator"]

_DTYPES = {np.dtype(np.float64): np.float64, np.dtype(np.float32): np.float32}


def zeros(shape: Shape, *, dtype: DType = np.float64, requires_grad: bool = False, name: str | None = None) -> Value:
    """A Value of zeros."""
    return _made("zeros", np.zeros, shape, dtype, requires_grad, name)


def ones(shape: Shape, *, dtype: DType = np.float64, requires_grad: bool = False, name: str | None = None) -> Value:
    """A Value of ones."""
    return _made("ones", np.ones, shape, dtype, requires_grad, name)


def full(shape: Shape, fill_value: float, *, dtype: DType = np.float64, requires_grad: bool = False,
         name: str | None = None) -> Value:
    """A Value with every element ``fill_value`` (a real number)."""
    if isinstance(fill_value, (bool, np.bool_)) or not isinstance(fill_value, numbers.Real):
        raise TypeError(f"full: fill_value must be a real number, got {type(fill_value).__name__} {fill_value!r}")
    return _made("full", lambda shape, dtype: np.full(shape, fill_value, dtype=dtype), shape, dtype,
                 requires_grad, name)


def rand(shape: Shape, *, seed: Seed = None, dtype: DType = np.float64, requires_grad: bool = False,
         name: str | None = None) -> Value:
    """Uniform on [0, 1)."""
    generator = _generator(seed, "rand")
    return _made("rand", lambda shape, dtype: generator.random(shape).astype(dtype), shape, dtype,
                 requires_grad, name)


def randn(shape: Shape, *, seed: Seed = None, dtype: DType = np.float64, requires_grad: bool = False,
          name: str | None = None) -> Value:
    """Standard normal: mean 0, standard deviation 1."""
    generator = _generator(seed, "randn")
    return _made("randn", lambda shape, dtype: generator.standard_normal(shape).astype(dtype), shape, dtype,
                 requires_grad, name)


def uniform(shape: Shape, low: float = -1.0, high: float = 1.0, *, seed: Seed = None, dtype: DType = np.float64,
            requires_grad: bool = False, name: str | None = None) -> Value:
    """Uniform on [low, high) (by default [−1, 1), the range of the chapter's initial weights)."""
    for label, bound in (("low", low), ("high", high)):
        if isinstance(bound, (bool, np.bool_)) or not isinstance(bound, numbers.Real) or not np.isfinite(bound):
            raise ValueError(f"uniform: {label} must be a finite real number, got {bound!r}")
    if not low < high:
        raise ValueError(f"uniform: low must be below high, got low={low!r}, high={high!r}")
    generator = _generator(seed, "uniform")
    return _made("uniform", lambda shape, dtype: generator.uniform(low, high, shape).astype(dtype), shape, dtype,
                 requires_grad, name)


def _made(where, make, shape, dtype, requires_grad, name):
    shape = _shape(shape, where)
    dtype = _dtype(dtype, where)
    return Value(make(shape, dtype), name=name, requires_grad=requires_grad)


def _shape(shape, where):
    entries = (shape,) if isinstance(shape, numbers.Integral) and not isinstance(shape, (bool, np.bool_)) else shape
    try:
        entries = tuple(entries)
    except TypeError:
        raise TypeError(f"{where}: shape must be an int or a tuple of ints, got {type(shape).__name__}") from None
    for size in entries:
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, numbers.Integral):
            raise TypeError(f"{where}: shape must be an int or a tuple of ints, got {shape!r}")
        if size < 0:
            raise ValueError(f"{where}: shape {shape!r} has a negative size")
    return tuple(int(size) for size in entries)


def _dtype(dtype, where):
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in _DTYPES:
        raise TypeError(f"{where}: dtype must be float64 or float32, got {dtype!r}")
    return _DTYPES[resolved]


_default = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the default generator: what ``seed=None`` draws from in creation (``rand``, ...),
    in layer initialisation (``nn.Linear``, ``nn.MLP``) and in ``nn.Dropout``'s masks, so one
    call makes a whole run repeat.  ``seed`` is a non-negative int.  Returns the generator."""
    global _default
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _default = np.random.default_rng(int(seed))
    return _default


def default_generator() -> np.random.Generator:
    """The generator that ``seed=None`` draws from (seeded by `manual_seed`)."""
    return _default


def as_generator(seed, where: str = "seed") -> np.random.Generator:
    """``seed`` as a numpy Generator: a Generator itself, a fresh one for a non-negative int, the
    default generator (`manual_seed`) for None; anything else a TypeError naming ``where``."""
    return _generator(seed, where)


def _generator(seed, where):
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return _default
    if isinstance(seed, numbers.Integral) and not isinstance(seed, (bool, np.bool_)) and seed >= 0:
        return np.random.default_rng(seed)
    raise TypeError(f"{where}: seed must be a non-negative int, a numpy Generator or None, got {seed!r}")
