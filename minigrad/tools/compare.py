"""Reverse mode against the chapter: the same network differentiated twice.

`compare` takes a one-hidden-layer sigmoid network (or builds a seeded one),
differentiates its SSE for one pattern with minigrad's engine (the network's
own forward pass, made of the engine's primitive ops, then ``backward()``) and
with `minigrad.textbook` (the chapter's hand-derived formulas in numpy, which
share no code with the engine), and lists every weight element side by side.

The command line ``python -m minigrad compare --layers 2 2 2`` prints the
table and exits with status 1 when any row differs by more than the
tolerance (printed under the table).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import textbook
from ..nn.modules import MLP, ScalarMLP, example_network, example_pattern

__all__ = ["compare", "Comparison", "Row", "relative_difference", "element_name"]

#: Order of the rows: the chapter's order (hidden → output first), then one layer down.
PARAMETER_ORDER = ("v", "bias_output", "w", "bias_hidden")

_TINY = np.finfo(np.float64).tiny

# Chapter symbols written with a subscript (A_0) rather than brackets (v[1,0]).
_SUBSCRIPTED = {"I", "H", "A", "E", "NdInpt", "NdInpt_hidden", "Desired"}


def relative_difference(autodiff: Any, formula: Any, scale: Any = 0.0) -> Any:
    """|a − f| / max(|a|, |f|, scale, tiny), tiny the smallest normal float64.

    ``scale`` is the size of the terms that a value is the sum of (see
    `minigrad.textbook.gradient_scales`): when a sum over output nodes cancels
    to nearly nothing, its rounding error is still relative to its terms, and
    measuring it against the tiny result would call rounding a disagreement.
    Symmetric, at most 2 (opposite signs), 0 when both are exactly 0, and 1
    when exactly one of them is 0 and nothing was summed: an exact zero is
    compared exactly, never excused by an absolute floor.

    Numbers give a float; arrays (the derivation grader's) give an array,
    element by element, broadcast as numpy does.
    """
    if all(isinstance(x, (int, float, np.floating, np.integer)) for x in (autodiff, formula, scale)):
        a, f = float(autodiff), float(formula)
        return abs(a - f) / max(abs(a), abs(f), float(scale), _TINY)
    arrays = np.asarray(autodiff, dtype=np.float64), np.asarray(formula, dtype=np.float64)
    bound = np.maximum(np.maximum(np.abs(arrays[0]), np.abs(arrays[1])),
                       np.maximum(np.asarray(scale, dtype=np.float64), _TINY))
    return np.abs(arrays[0] - arrays[1]) / bound


@dataclass(frozen=True)
class Row:
    """One weight element: ∂SSE/∂(name) by reverse mode and by the formula."""

    name: str
    autodiff: float
    formula: float
    abs_diff: float
    rel_diff: float


class Comparison:
    """The result of `compare`: one `Row` per weight element.

    ``worst_relative`` is the largest ``rel_diff`` (see `relative_difference`);
    ``ok`` is ``worst_relative <= tolerance``.  ``str()`` is a plain-text
    table, ``_repr_html_()`` an HTML one for notebooks.
    """

    def __init__(self, rows, tolerance, description):
        self.rows = list(rows)
        self.tolerance = float(tolerance)
        self.description = description
        self.worst_relative = max((row.rel_diff for row in self.rows), default=0.0)

    @property
    def ok(self):
        return bool(self.worst_relative <= self.tolerance)

    def row(self, name):
        """The row for one element name, e.g. ``"v[1,0]"``."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"compare: no row named {name!r}; rows are {[row.name for row in self.rows]}")

    def _verdict(self):
        status = "OK" if self.ok else "MISMATCH"
        return (f"worst relative difference {self.worst_relative:.3e} "
                f"(tolerance {self.tolerance:.1e}): {status}")

    def __str__(self):
        header = ("weight", "autodiff ∂SSE/∂weight", "formula (textbook)", "|difference|", "relative")
        lines = [[row.name, f"{row.autodiff: .17g}", f"{row.formula: .17g}", f"{row.abs_diff:.3e}",
                  f"{row.rel_diff:.3e}"] for row in self.rows]
        widths = [max(len(header[k]), *(len(line[k]) for line in lines)) for k in range(len(header))]

        def format_line(cells):
            return "  ".join(cell.ljust(width) if k == 0 else cell.rjust(width)
                             for k, (cell, width) in enumerate(zip(cells, widths))).rstrip()

        out = [self.description, "", format_line(header), "  ".join("-" * width for width in widths)]
        out += [format_line(line) for line in lines]
        out += ["", self._verdict()]
        return "\n".join(out)

    def _repr_html_(self):
        cells = "".join(
            f"<tr><td><code>{html.escape(row.name)}</code></td><td>{row.autodiff:.17g}</td>"
            f"<td>{row.formula:.17g}</td><td>{row.abs_diff:.3e}</td><td>{row.rel_diff:.3e}</td></tr>"
            for row in self.rows)
        return (f"<p>{html.escape(self.description)}</p>"
                "<table><thead><tr><th>weight</th><th>autodiff ∂SSE/∂weight</th><th>formula (textbook)</th>"
                "<th>|difference|</th><th>relative</th></tr></thead>"
                f"<tbody>{cells}</tbody></table><p>{html.escape(self._verdict())}</p>")

    def __repr__(self):
        return f"<Comparison: {len(self.rows)} rows, {self._verdict()}>"


def _state_of(model):
    """``model.state_dict()`` in float64, and whether the model has biases."""
    if not isinstance(model, (MLP, ScalarMLP)):
        raise TypeError(f"compare: model must be a minigrad.nn.MLP or ScalarMLP, got {type(model).__name__}")
    if getattr(model, "activation", "sigmoid") != "sigmoid" or getattr(model, "output", "sigmoid") != "sigmoid":
        raise ValueError(f"compare: the chapter's formulas are for sigmoid layers; this model has activation "
                         f"{model.activation!r} and output {model.output!r}")
    if len(model.sizes) != 3:
        raise ValueError(
            f"compare: the chapter's formulas cover one hidden layer (sizes [I, H, O]); "
            f"this model has sizes {list(model.sizes)}")
    state = {name: np.asarray(array, dtype=np.float64) for name, array in model.state_dict().items()}
    has_bias = "bias_hidden" in state
    if has_bias != ("bias_output" in state):
        raise ValueError("compare: the model must have both bias vectors or neither")
    return state, has_bias


def _engine_gradients(state, sizes, alpha, has_bias, scalar, inputs, desired):
    """∂SSE/∂weights by minigrad's reverse mode, as ``{name: array}`` in the
    shapes of ``state``, on a fresh float64 network loaded from ``state`` (so
    the caller's model and its gradients are never touched)."""
    net = (ScalarMLP if scalar else MLP)(sizes, alpha=alpha, bias=has_bias)
    net.load_state_dict(state)
    net.loss(inputs, desired).backward()
    # NOTE: state_dict lists the parameters in `parameters()` order (a
    # ScalarMLP's grid of scalar weights is one entry, row-major), so the
    # gradients, flattened in that order, split back into the state's arrays.
    flat = np.concatenate([np.ravel(np.zeros(np.shape(value.data)) if value.grad is None
                                    else np.asarray(value.grad, dtype=np.float64))
                           for value in net.parameters()])
    sizes_in_order = [array.size for array in state.values()]
    if flat.size != sum(sizes_in_order):
        raise RuntimeError(f"compare: the network's parameters hold {flat.size} numbers, "
                           f"its state dict {sum(sizes_in_order)}")
    pieces = np.split(flat, np.cumsum(sizes_in_order)[:-1])
    return {name: piece.reshape(array.shape) for (name, array), piece in zip(state.items(), pieces)}


def element_name(name: str, index: tuple[int, ...]) -> str:
    """The display name of one element of a named array, as minigrad's tools write it.

    ``()`` → the name itself; a chapter symbol with one index gets a subscript
    (``A`` + (0,) → ``A_0``, ``NdInpt_hidden`` + (1,) → ``NdInpt_hidden_1``);
    anything else gets brackets (``v`` + (1, 0) → ``v[1,0]``, the chapter's
    v[h,o]; ``bias_output`` + (1,) → ``bias_output[1]``).
    """
    if index == ():
        return name
    if name in _SUBSCRIPTED and len(index) == 1:
        return f"{name}_{index[0]}"
    return f"{name}[{','.join(str(k) for k in index)}]"


def compare(model: MLP | ScalarMLP | None = None, inputs: Any = None, desired: Any = None, *,
            sizes: tuple[int, ...] = (2, 2, 2), alpha: float | None = None, seed: int = 0, bias: bool = True,
            scalar: bool = False, tolerance: float = 1e-10) -> Comparison:
    """∂SSE/∂(every weight element) by reverse mode and by the chapter's formulas.

    ``model``: a one-hidden-layer `minigrad.nn.MLP` or `ScalarMLP`, whose
    weights, α and biases are used (an ``alpha`` given too must equal the
    model's); without one, a seeded network of ``sizes``, ``alpha`` (default
    1.0), ``bias`` from `minigrad.nn.example_network`.
    ``inputs`` (one pattern) and ``desired`` default to that function's
    seeded pattern for ``seed``.  ``scalar`` differentiates the network
    built weight by weight from scalar Values instead of tensors and ``@``.

    The engine side is a fresh float64 network of the same kind, loaded with
    ``model.state_dict()`` by ``load_state_dict``, so the model and its
    ``.grad`` values are never changed.  The formula side is
    `minigrad.textbook.gradients` (vectorized forms).

    Returns a `Comparison`; rows are ordered v, bias_output, w, bias_hidden,
    elements in row-major order.  The relative difference of a row is
    `relative_difference`.
    """
    if model is None:
        sizes = tuple(int(n) for n in sizes)
        if len(sizes) != 3:
            raise ValueError(
                f"compare: the chapter's formulas cover one hidden layer: sizes must be [I, H, O], got {list(sizes)}")
        alpha = 1.0 if alpha is None else alpha
        model, _, _ = example_network(list(sizes), alpha=alpha, seed=seed, bias=bias)
    state, has_bias = _state_of(model)
    if alpha is not None and alpha != model.alpha:
        raise ValueError(f"compare: alpha={alpha!r} differs from the model's alpha={model.alpha!r}; "
                         "leave alpha out to use the model's")
    sizes, alpha = tuple(model.sizes), model.alpha
    inputs, desired = example_pattern(sizes, inputs, desired, seed=seed, bias=has_bias, caller="compare")

    autodiff = _engine_gradients(state, sizes, alpha, has_bias, scalar, inputs, desired)
    formula_arguments = dict(alpha=alpha, bias_hidden=state.get("bias_hidden"), bias_output=state.get("bias_output"))
    formula = textbook.gradients(inputs, desired, state["w"], state["v"], **formula_arguments)
    scales = textbook.gradient_scales(inputs, desired, state["w"], state["v"], **formula_arguments)

    rows = []
    for name in PARAMETER_ORDER:
        if name not in state:
            continue
        if name not in formula:
            raise KeyError(f"compare: textbook.gradients gave no {name!r}")
        got, expected = autodiff[name], np.asarray(formula[name], dtype=np.float64)
        if got.shape != expected.shape:
            raise ValueError(f"compare: {name}: autodiff has shape {got.shape}, the formula {expected.shape}")
        for index in np.ndindex(got.shape):
            a, f = float(got[index]), float(expected[index])
            rows.append(Row(element_name(name, index), a, f, abs(a - f),
                            relative_difference(a, f, scales[name][index])))

    built = "weight by weight from scalar Values" if scalar else "from tensors and @"
    description = (f"∂SSE/∂weight for a {'-'.join(str(n) for n in sizes)} sigmoid network, α = {alpha:g}, "
                   f"{'with' if has_bias else 'without'} biases; autodiff {built}, formula from "
                   f"minigrad.textbook (Eq. 6.30 and the w[i,h] formula)")
    return Comparison(rows, tolerance, description)
