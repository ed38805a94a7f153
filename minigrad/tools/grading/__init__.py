"""Check your own derivation: a hand-derived gradient graded against autodiff.

The chapter derives ∂SSE/∂v[h,o] (Eq. 6.5–6.30) and leaves ∂SSE/∂w[i,h] "for
the next subsection".  `check_derivation` takes a learner's formula for one
of these gradients, written in numpy with the chapter's names, and sets it
beside minigrad's reverse mode::

    net = mg.nn.MLP([2, 2, 2], alpha=1.0, seed=0)

    def my_dSSE_dv(q):                      # q: one forward pass, in the chapter's names
        return -q.alpha * np.outer(q.H, q.E * q.A * (1 - q.A))

    report = mg.check_derivation(my_dSSE_dv, net, wrt="v")
    report.ok           # True / False
    report              # element, yours, autodiff, verdict (a table, also in Jupyter)
    report.diagnosis    # which factor of the chain rule went wrong, with its equation

**Not one lucky point.**  The formula runs on the given network and pattern
and on ``random_cases`` more (default 5): the same sizes, random weights,
biases, patterns and gains α.  A formula right at one point by accident (α
missing where α = 1) passes the first case and fails the others.

**What counts as equal.**  ``tolerance`` (default 1e-9) is relative, scaled as
`minigrad.tools.compare.relative_difference` is: against the size of the terms an
element sums (so a sum over output nodes that cancels is judged by its
terms), and widened where a sigmoid is within rounding of 1, where a formula
that computes 1 − F by subtraction loses digits the engine keeps.

**The diagnosis.**  When the numbers differ, the check reads the chain rule
off the recorded graph with `minigrad.explain` (every path from the loss to
every element, and every factor on it, with its op and equation), alters one
kind of factor, recomputes, and keeps the alterations that reproduce the
learner's numbers in *every* case.  The kinds of factor are told apart by
their op and place on the path:

    the loss's factor      ∂SSE/∂A_o = −E_o                 (sse, Eq. 6.17·6.21)
    each sigmoid's slope   α F (1 − F)                      (Eq. 6.23 at the output, 6.2 below)
    a weight on the path   ∂NdInpt_o/∂H_h = v[h,o]          (Eq. 6.25)
    the activation         ∂NdInpt_o/∂v[h,o] = H_h          (Eq. 6.27; I_i one layer down)

and the mistakes tried are: the sign; a stray 2 or ½; α missing or squared;
F(1 − F) missing or replaced by F or by 1 − F (or the whole slope missing);
a transposed result; H and I swapped; the sum over output nodes missing (one
output's path kept); another node's activation or slope; a bias given an input
factor; then any two of the factor mistakes together, and a constant factor.
If nothing reproduces the numbers the report says so, with the first
element that differs.

**The general form**, for any graph (deeper nets, other losses)::

    def loss_fn(rng):                       # or loss_fn(), for one fixed graph
        x = mg.Value(rng.uniform(-1, 1, 3), name="x", requires_grad=False)
        W = mg.Value(rng.uniform(-1, 1, (3, 2)), name="W")
        y = (x @ W).tanh();  y.name = "y"
        return ((y - 0.5) ** 2).sum()

    mg.check_derivation(lambda q: np.outer(q.x, 2 * (q.y - 0.5) * (1 - q.y ** 2)), loss_fn, wrt="W")

``fn`` receives every *named* node of the graph by name (plus ``alpha`` when
all sigmoids share one gain, and ``E`` under an SSE loss).  A ``loss_fn``
that takes an argument is called with a seeded `numpy.random.Generator` once
per case, so it can draw new values each time.

Bad learner functions (one that raises, ``sys.exit(0)`` included, one that
does not return within ``time_limit`` seconds, one that returns the wrong
shape, nan or something that is not numbers) raise `DerivationError`, a
ValueError whose message says what and where (file and line of the
learner's code).

The package: `cases` (the graphs and their gradients), `paths` (the chain
rule read off them), `learner` (calling the learner's function, with
`minigrad.tools.time_limit`), `mistakes` (the catalogue of mistakes),
`names` (how they are named), `report` (the table and its display).

Command line::

    python -m minigrad check my_derivation.py:my_dSSE_dv --weight v [--layers 2 2 2]

exits 0 when the formula is right and 1, with the diagnosis, when it is not.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...core import checks
from ...core.value import Value
from ...nn.modules import MLP, ScalarMLP
from ..compare import relative_difference
from ..time_limit import DEFAULT_TIME_LIMIT
from .cases import CHAPTER_PARAMETERS, ForwardValues, chapter_cases, graph_cases
from .learner import DerivationError, build_loss, call, function_name
from .mistakes import Grading, constant_ratio, diagnose
from .names import Names, agrees
from .report import DerivationReport, Row, cases_summary, shape_message, table_rows

__all__ = ["check_derivation", "DerivationReport", "DerivationError", "ForwardValues", "Row",
           "DEFAULT_TOLERANCE", "DEFAULT_RANDOM_CASES", "DEFAULT_TIME_LIMIT", "CHAPTER_PARAMETERS"]

#: Largest relative difference accepted (see the module docstring for how it is scaled).
DEFAULT_TOLERANCE = 1e-9

#: Random cases tried besides the given one.
DEFAULT_RANDOM_CASES = 5

_EPS = np.finfo(np.float64).eps


def check_derivation(fn: Callable[[Any], Any], model: Any, wrt: str | Value, *, inputs: Any = None,
                     desired: Any = None, random_cases: int = DEFAULT_RANDOM_CASES, seed: int = 0,
                     tolerance: float = DEFAULT_TOLERANCE,
                     time_limit: float | None = DEFAULT_TIME_LIMIT) -> DerivationReport:
    """Grade a hand-derived gradient ``fn`` against minigrad's reverse mode.

    **The chapter's network.**  ``model`` is a one-hidden-layer
    `minigrad.nn.MLP` (or `ScalarMLP`); ``wrt`` names the parameter:
    ``"v"``, ``"w"``, ``"bias_output"`` or ``"bias_hidden"`` (or is that
    Value of the model).  ``fn(q)`` gets one forward pass as a
    `ForwardValues` (``q.I``, ``q.w``, ``q.bias_hidden``,
    ``q.NdInpt_hidden``, ``q.H``, ``q.v``, ``q.bias_output``, ``q.NdInpt``,
    ``q.A`` (= ``q.F``), ``q.Desired``, ``q.E``, ``q.alpha``) and returns an
    array shaped like the parameter.  The cases: the model's weights and α
    with ``inputs`` and ``desired`` (default: `example_network`'s pattern
    for ``seed``), then ``random_cases`` random networks of the same sizes
    (random weights, biases, pattern, and α in [0.5, 3] away from 1), drawn
    from ``seed``.  The model and its ``.grad`` are not touched.

    **Any graph.**  ``model`` is a function that builds the loss from Values:
    ``loss_fn()`` (one case) or ``loss_fn(rng)``, called with a seeded
    `numpy.random.Generator` for each of 1 + ``random_cases`` cases; it
    returns the loss, or ``(loss, extras)`` with a dict of more values for
    ``q``.  ``wrt`` is the parameter's name (or the Value itself); ``fn(q)``
    gets every named node of the graph by name, ``alpha`` when all sigmoids
    share one gain, and ``E`` under an SSE loss.

    ``tolerance``: the largest relative difference accepted (default 1e-9,
    scaled by the size of the terms each element sums and widened where a
    sigmoid is within rounding of 1).  ``time_limit``: seconds ``fn`` may
    take on one case (default 5; None: no limit) before it is stopped and
    reported (`minigrad.tools.time_limit`).  Returns a `DerivationReport`.

    Raises `DerivationError` when ``fn`` raises (anything, ``SystemExit``
    included), does not return within ``time_limit``, returns something that is
    not numbers, nan or inf, arrays of different shapes in different cases,
    or an array of a shape that no usual mistake explains.
    """
    if not callable(fn):
        raise TypeError(f"check_derivation: fn must be a function of q, got {type(fn).__name__}")
    random_cases = checks.integer(random_cases, "random_cases", "check_derivation", minimum=0)
    seed = checks.integer(seed, "seed", "check_derivation", minimum=0)
    tolerance = checks.non_negative_real(tolerance, "tolerance", "check_derivation")
    if time_limit is not None:
        time_limit = checks.positive_real(time_limit, "time_limit", "check_derivation")
    chapter = isinstance(model, (MLP, ScalarMLP))
    if chapter:
        cases, wrt_name, sizes = chapter_cases(model, wrt, inputs, desired, random_cases, seed)
        description = (f"∂SSE/∂{wrt_name} for a {'-'.join(map(str, sizes))} sigmoid network: yours beside "
                       "minigrad's reverse mode")
    elif callable(model):
        if inputs is not None or desired is not None:
            raise TypeError("check_derivation: inputs and desired are for a network; a loss_fn builds its own")
        cases, wrt_name, _ = graph_cases(
            model, wrt, random_cases, seed,
            lambda loss_fn, args, case: build_loss(loss_fn, args, case, time_limit))
        description = None
    else:
        raise TypeError(f"check_derivation: the second argument must be a minigrad.nn.MLP or a function that "
                        f"builds the loss, got {type(model).__name__}")
    names = Names(cases[0], wrt_name, chapter)
    if description is None:
        description = (f"∂{names.loss}/∂{wrt_name} on the graph of {function_name(model)}: yours beside "
                       "minigrad's reverse mode")
    yours = [call(fn, case, time_limit) for case in cases]
    tolerances = [np.maximum(float(tolerance), 8 * _EPS * case.tolerance_factor) for case in cases]
    return _grade(Grading(cases, names, yours, tolerances), float(tolerance), description, fn)


def _grade(grading, tolerance, description, fn):
    cases, names, yours = grading.cases, grading.names, grading.yours
    shape = cases[0].param.shape
    shapes = sorted({y.shape for y in yours})
    if len(shapes) > 1:
        raise DerivationError(f"your function {function_name(fn)} returned arrays of different shapes in "
                              f"different cases: {', '.join(map(str, shapes))}", "shape")
    right = [y.shape == shape and agrees(y, case.autodiff, case.scale, t)
             for y, case, t in zip(yours, cases, grading.tolerances)]
    failed = right.count(False)
    shown = next((k for k, good in enumerate(right) if not good), 0)
    rows, first_difference = table_rows(grading, shown)
    worst = max(float(np.max(relative_difference(y, case.autodiff, case.scale), initial=0.0))
                for y, case in zip(yours, cases)) if yours[0].shape == shape else math.nan
    report = dict(wrt=names.wrt, loss_name=names.loss, cases=[case.description for case in cases],
                  cases_summary=cases_summary(cases, names), cases_failed=failed, rows=rows,
                  rows_case=cases[shown].description, tolerance=tolerance, worst_relative=worst,
                  description=description)
    if failed == 0:
        return DerivationReport(ok=True, diagnosis=f"right: agrees with autodiff in all {len(cases)} cases",
                                mistake=None, also=(), equation=None, first_difference=None, **report)

    found = diagnose(grading)
    also = ()
    if found:
        best = found[0]
        diagnosis, mistake, equation = best.text, best.code, best.equation
        also = tuple(dict.fromkeys(variant.code for variant in found[1:]
                                   if variant.code != best.code and (variant.rank < 20) == (best.rank < 20)))
        if also:
            diagnosis += f" (the same numbers also fit: {', '.join(also)})"
    elif yours[0].shape != shape:
        raise DerivationError(shape_message(yours[0].shape, grading, fn), "shape", cases[0].description)
    else:
        case_name, element, y, a = first_difference
        where = f"First difference: {element} on {case_name}: yours {y:.12g}, autodiff {a:.12g}"
        factor = constant_ratio(grading)
        if all(not np.any(y) for y in yours):
            diagnosis = f"yours is 0 in every element of every case: is the function still a placeholder? {where}"
            mistake = "unknown"
        elif factor is not None:
            diagnosis = (f"yours is {factor} × autodiff in every element of every case: a constant factor that no "
                         f"usual mistake explains. {where}")
            mistake = "constant_factor"
        else:
            diagnosis = f"no single usual mistake reproduces your numbers. {where}"
            mistake = "unknown"
        equation = None
    if right[0]:
        others = f"all {failed} others" if failed == len(cases) - 1 else f"{failed} of the other {len(cases) - 1}"
        diagnosis = (f"right on {cases[0].description}, but wrong on {others}: "
                     f"a formula must hold everywhere, not at one point. {diagnosis[0].upper()}{diagnosis[1:]}")
    return DerivationReport(ok=False, diagnosis=diagnosis, mistake=mistake, also=also, equation=equation,
                            first_difference=first_difference, **report)

