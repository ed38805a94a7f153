"""A small loader over arrays: ``for inputs, labels in mg.data.batches(X, y, 32, seed=0): ...``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..core import checks
from ..core.creation import as_generator

__all__ = ["batches"]


def batches(inputs: Any, targets: Any = None, batch_size: int = 32, *, shuffle: bool = True, seed=None,
            drop_last: bool = False) -> Iterator[Any]:
    """Mini-batches of the rows of ``inputs`` (and the matching rows of ``targets``), one pass.

    Yields ``(inputs[rows], targets[rows])`` (just ``inputs[rows]`` when ``targets`` is None), in
    an order shuffled by ``seed`` (an int, a numpy Generator, or None for the generator
    `minigrad.manual_seed` seeds) or in order with ``shuffle=False``.  The last batch is smaller
    when ``batch_size`` does not divide the rows, or left out with ``drop_last=True``.  Each call
    is one epoch: call it again for the next (a Generator seed gives a new order each time).
    """
    inputs = np.asarray(inputs)
    if inputs.ndim == 0:
        raise ValueError("batches: inputs must have one row per pattern, got a single number")
    if targets is not None:
        targets = np.asarray(targets)
        if targets.ndim == 0 or len(targets) != len(inputs):
            raise ValueError(f"batches: inputs have {len(inputs)} rows but targets have shape {targets.shape}; "
                             "give one target row (or label) per pattern")
    batch_size = checks.integer(batch_size, "batch_size", "batches", minimum=1)
    shuffle, drop_last = checks.flag(shuffle, "shuffle", "batches"), checks.flag(drop_last, "drop_last", "batches")
    if shuffle:
        order = as_generator(seed, "batches").permutation(len(inputs))
    else:
        order = np.arange(len(inputs))
    return _batches(inputs, targets, order, int(batch_size), bool(drop_last))


def _batches(inputs, targets, order, size, drop_last):
    stop = len(order) - len(order) % size if drop_last else len(order)
    for start in range(0, stop, size):
        rows = order[start:start + size]
        yield inputs[rows] if targets is None else (inputs[rows], targets[rows])
