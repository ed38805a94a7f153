"""Shared benchmark machinery: interleaved timing, medians, ratio tables.

Every benchmark times minigrad and its peers in ONE process, interleaved
(A B C A B C ...), and reports medians, so a slow moment on a noisy machine
hurts every candidate alike.  A peer whose results differ from minigrad's is
refused before it is timed.
"""

from __future__ import annotations

import gc
import importlib
import statistics
import time


def available(module_name):
    """The imported module, or None (the caller prints a skip note)."""
    try:
        return importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - any import failure means "not installed here"
        return None


def interleaved_medians(candidates, repeats, gc_enabled=True, warmup=1):
    """Median seconds per call of each zero-argument callable, timed in turn."""
    samples = {name: [] for name in candidates}
    was_enabled = gc.isenabled()
    try:
        (gc.enable if gc_enabled else gc.disable)()
        for _ in range(warmup):
            for function in candidates.values():
                function()
        for _ in range(repeats):
            for name, function in candidates.items():
                start = time.perf_counter()
                function()
                samples[name].append(time.perf_counter() - start)
    finally:
        (gc.enable if was_enabled else gc.disable)()
    return {name: statistics.median(values) for name, values in samples.items()}


def print_table(title, header, rows):
    """A plain-text table: header is a list of column names, rows lists of cells."""
    cells = [header] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  " + "  ".join(cell.rjust(width) if column else cell.ljust(width)
                               for column, (cell, width) in enumerate(zip(row, widths))))
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))


def close(a, b, rtol=1e-9, atol=1e-12):
    import numpy as np

    return bool(np.allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=rtol, atol=atol))
