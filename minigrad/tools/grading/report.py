"""The report: a table of yours beside autodiff, the verdict and the diagnosis, as text and HTML."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..compare import relative_difference
from .learner import function_name
from .names import CHAPTER_BIASES

#: Rows a report prints (all of them are in ``report.rows``).
SHOWN_ROWS = 24


@dataclass(frozen=True)
class Row:
    """One element of the parameter in one case: your number, autodiff's, their relative difference, the verdict
    (``"ok"``, ``"WRONG"``, or ``"shape"`` when your array has another shape)."""

    element: str
    yours: Optional[float]
    autodiff: float
    relative: Optional[float]
    verdict: str


class DerivationReport:
    """The result of `check_derivation`.

    ``ok``: your formula agrees with autodiff in every case.  ``cases`` (their
    descriptions), ``cases_tried``, ``cases_failed``.  ``rows``: one `Row`
    per element of the parameter on ``rows_case``, the first case where yours
    differs (the given one when none does).  ``diagnosis``: what went wrong,
    naming the factor and its equation.  ``mistake``: a short code
    (``"sign"``, ``"factor_2"``, ``"factor_half"``, ``"alpha_missing"``,
    ``"alpha_squared"``, ``"slope_missing"``, ``"slope_F"``,
    ``"slope_one_minus_F"``, ``"slope_dropped"``, ``"transposed"``,
    ``"H_I_swapped"``, ``"wrong_layer"``, ``"missing_sum"``,
    ``"wrong_node"``, ``"bias_input"``, two joined by ``+``,
    ``"constant_factor"`` or ``"unknown"``), None when ok; ``also``: other
    codes that give the same numbers; ``equation``: the chapter's equation of
    the factor, or None; ``first_difference``: (case, element, yours,
    autodiff), None when ok.  ``str()`` is a table; ``_repr_html_()`` the
    same for notebooks.
    """

    def __init__(self, *, ok, wrt, loss_name, cases, cases_summary, cases_failed, rows, rows_case, diagnosis,
                 mistake, also, equation, first_difference, tolerance, worst_relative, description):
        self.ok = bool(ok)
        self.wrt = wrt
        self.loss_name = loss_name
        self.cases = list(cases)
        self.cases_tried = len(self.cases)
        self.cases_summary = cases_summary
        self.cases_failed = cases_failed
        self.rows = list(rows)
        self.rows_case = rows_case
        self.diagnosis = diagnosis
        self.mistake = mistake
        self.also = tuple(also)
        self.equation = equation
        self.first_difference = first_difference
        self.tolerance = tolerance
        self.worst_relative = worst_relative
        self.description = description

    def verdict(self):
        """One line: RIGHT, or WRONG in how many cases."""
        if self.ok:
            every = f"all {self.cases_tried} cases" if self.cases_tried != 1 else "the one case"
            return f"RIGHT: agrees with autodiff in {every} (tolerance {self.tolerance:.0e})"
        return f"WRONG in {self.cases_failed} of {self.cases_tried} cases (tolerance {self.tolerance:.0e})"

    def _cells(self):
        """The rows as text; past SHOWN_ROWS, the first rows and the first wrong ones, then a count."""
        rows = self.rows
        if len(rows) > SHOWN_ROWS:
            first = rows[:SHOWN_ROWS // 2]
            wrong = [row for row in rows[SHOWN_ROWS // 2:] if row.verdict != "ok"]
            rest = [row for row in rows[SHOWN_ROWS // 2:] if row.verdict == "ok"]
            keep = set(map(id, first + (wrong + rest)[:SHOWN_ROWS - len(first)]))
            rows = [row for row in rows if id(row) in keep]
        cells = [(row.element, "—" if row.yours is None else f"{row.yours: .12g}", f"{row.autodiff: .12g}",
                  "—" if row.relative is None else f"{row.relative:.1e}", row.verdict) for row in rows]
        if len(rows) < len(self.rows):
            cells.append((f"… {len(self.rows) - len(rows)} more rows in report.rows", "", "", "", ""))
        return cells

    def __str__(self):
        header = ("element", "yours", "autodiff", "relative", "verdict")
        cells = self._cells()
        widths = [max(len(header[k]), *(len(line[k]) for line in cells if not line[0].startswith("…")))
                  for k in range(5)]

        def line(items):
            return "  ".join(item.ljust(width) if k in (0, 4) else item.rjust(width)
                             for k, (item, width) in enumerate(zip(items, widths))).rstrip()

        out = [self.description, self.cases_summary, "",
               f"on {self.rows_case}:", line(header), "  ".join("-" * width for width in widths)]
        out += [line(items) for items in cells]
        out += ["", self.verdict()]
        if not self.ok:
            out.append(f"diagnosis: {self.diagnosis}")
        return "\n".join(out)

    def _repr_html_(self):
        body = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>"
                       for cells in self._cells())
        diagnosis = "" if self.ok else f"<p><b>diagnosis:</b> {html.escape(self.diagnosis)}</p>"
        return (f"<p>{html.escape(self.description)}<br>{html.escape(self.cases_summary)}</p>"
                f"<p>on {html.escape(self.rows_case)}:</p>"
                "<table><thead><tr><th>element</th><th>yours</th><th>autodiff</th><th>relative</th><th>verdict</th>"
                f"</tr></thead><tbody>{body}</tbody></table><p><b>{html.escape(self.verdict())}</b></p>{diagnosis}")

    def __repr__(self):
        state = "right" if self.ok else f"WRONG ({self.mistake})"
        cases = f"{self.cases_tried} case{'s' if self.cases_tried != 1 else ''}"
        return f"<DerivationReport ∂{self.loss_name}/∂{self.wrt}: {state}, {cases}>"



def cases_summary(cases, names):
    """'6 cases: the given network (α = 1) and 5 random networks of the same sizes (α = 0.72, …)'."""
    count = f"{len(cases)} case{'s' if len(cases) != 1 else ''}"
    if names.chapter and len(cases) > 1:
        alphas = ", ".join(f"{case.alpha:.4g}" for case in cases[1:])
        return (f"{count}: {cases[0].description} and {len(cases) - 1} random network{'s' if len(cases) > 2 else ''} "
                f"of the same sizes (α = {alphas})")
    return f"{count}: {'; '.join(case.description for case in cases)}"


def table_rows(grading, k):
    """The rows of case k, and its first differing element (case, element, yours, autodiff)."""
    case, y, tolerance = grading.cases[k], grading.yours[k], grading.tolerances[k]
    names = grading.names
    rows, first = [], None
    if y.shape != case.autodiff.shape:
        rows = [Row(names.element(flat), None, float(a), None, "shape")
                for flat, a in enumerate(case.autodiff.reshape(-1))]
        return rows, (case.description, rows[0].element, math.nan, rows[0].autodiff)
    relative = relative_difference(y, case.autodiff, case.scale).reshape(-1)
    for flat, (mine, a, r, t) in enumerate(zip(y.reshape(-1), case.autodiff.reshape(-1), relative,
                                                np.reshape(tolerance, -1))):
        good = r <= t
        rows.append(Row(names.element(flat), float(mine), float(a), float(r), "ok" if good else "WRONG"))
        if not good and first is None:
            first = (case.description, names.element(flat), float(mine), float(a))
    return rows, first


def shape_message(got, grading, fn):
    """What the wrong shape suggests, for a DerivationError."""
    names = grading.names
    expected = grading.cases[0].param.shape
    message = (f"your function {function_name(fn)} returned shape {got}; ∂{names.loss}/∂{names.wrt} has the shape "
               f"of {names.wrt}, {expected}")
    if got == ():
        return message + f": one number for each element of {names.wrt}, not a single number"
    if len(got) == 2 and got == expected[::-1]:
        return message + (f" — did you transpose? Yours is shaped like {names.wrt}.T, but its transpose does not "
                          "match autodiff either")
    if names.chapter and names.wrt in CHAPTER_BIASES and len(got) == 2:
        one, equation, factor, weight = CHAPTER_BIASES[names.wrt]
        return message + (f" — shaped like ∂SSE/∂{weight}: but {one} (Eq. {equation}), so the bias's gradient has "
                          f"no {factor} factor")
    if names.chapter and names.wrt in ("v", "w") and len(got) == 2:
        sizes = {name: np.shape(value) for name, value in grading.cases[0].values.items()}
        I, H, O = sizes["I"][0], sizes["H"][0], sizes["A"][0]
        hints = {"v": {(I, O): "outer(I, …): I_i where H_h belongs (Eq. 6.27)?"},
                 "w": {(H, H): "outer(H, …): H_h where I_i belongs (Eq. 6.27 one layer down)?",
                       (I, O): "outer(I, δ_o): the output nodes' δ where the hidden nodes' belongs (the sum over o "
                               "with v[h,o], Eq. 6.25)?"}}[names.wrt]
        if got in hints:
            return message + f" — shaped like {hints[got]} Its numbers do not match that mistake either"
    return message
