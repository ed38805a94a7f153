"""Grading a learner's own backward rule: `check_backward`.

    report = mg.check_backward(Softplus, inputs=(np.linspace(-2, 2, 5),))
    print(report)            # ok, or which mistake reproduces your numbers

The learner writes an op as a `minigrad.Function` (forward and backward on
numpy arrays).  ``check_backward`` checks its backward against central
differences of its own forward: for each case, the Jacobian J of forward
(float64, step h = 1e-6·max(1, |x|)) and a random upstream gradient g give
the right gradient Jᵀg for every input, and the learner's backward must
return it, of the input's shape, to ``tolerance`` (relative to the largest
number, at least 1).

The cases: the given inputs, random ones drawn from their range, and other
shapes: for one input, (), (4,) and (2, 3); for several, each input with its
first axis dropped or made 1, so that forward broadcasts it (a shape forward
refuses with an ordinary exception is listed as skipped, not failed).  Each
case's backward runs twice on the same forward, which catches a buffer kept
between calls.

When the rule is wrong, `minigrad.tools.backward_mistakes` names the
mistake: each known mistake is predicted from J, g and the forward, and the
first that reproduces the learner's numbers in every wrong case is
reported; where none does, the report gives the mismatch and the case and
element where it is worst.

The learner's code (forward and backward) runs under a time limit
(`minigrad.tools.time_limit`), and whatever it raises, ``SystemExit`` and
``KeyboardInterrupt`` included, is reported as a failure, never a pass.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from ..core import checks
from ..core.function import Function, FunctionError
from . import backward_mistakes
from .backward_mistakes import MISTAKES, Evidence, close, diagnose
from .compare import element_name
from .time_limit import DEFAULT_TIME_LIMIT, call_learner

__all__ = ["check_backward", "BackwardReport", "DEFAULT_TOLERANCE"]

#: Largest difference accepted, relative to max(1, the largest right number).
DEFAULT_TOLERANCE = 1e-6

#: Random cases drawn for each set of shapes (the given inputs are one more).
DEFAULT_RANDOM_CASES = 2

# Central differences: x ± h with h = _STEP · max(1, |x|).
_STEP = 1e-6

# An input bigger than this is too big to difference element by element.
_MAX_ELEMENTS = 400


@dataclass
class Case:
    """One set of arguments for the learner's forward: ``arguments`` as forward takes them (arrays are inputs,
    anything else is passed as it is), ``inputs`` (the arrays), ``upstream`` (g), ``output`` (forward's)."""

    description: str
    arguments: list
    positions: list
    upstream: Any = None
    output: Any = None

    @property
    def inputs(self):
        return [self.arguments[k] for k in self.positions]


@dataclass
class CaseResult:
    """What one case gave: ``right`` and ``yours`` (one array per input checked, None where backward returned
    none), ``second`` (a second call's), ``ok``, and ``error`` (what went wrong when it was not a wrong number)."""

    case: Case
    right: list = field(default_factory=list)
    yours: list = field(default_factory=list)
    second: list = field(default_factory=list)
    ok: bool = False
    error: Optional[str] = None


class BackwardReport:
    """The result of `check_backward`.

    ``ok``: backward agrees with central differences in every case; ``results``: one `CaseResult` per case;
    ``skipped``: (shapes, forward's message) for shapes forward refused; ``mistakes``: {input name: code of the
    mistake that reproduces your numbers, or None}; ``diagnosis``: what went wrong, in words; ``worst``: where
    your numbers are furthest from the right ones (a dict), or None.
    """

    def __init__(self, name, names, results, skipped, mistakes, diagnosis, worst, error):
        self.name = name
        self.names = names
        self.results = results
        self.skipped = skipped
        self.mistakes = mistakes
        self.diagnosis = diagnosis
        self.worst = worst
        self.error = error
        self.ok = error is None and all(result.ok for result in results)

    @property
    def mistake(self):
        """The one mistake's code when every wrong input has the same one (else the first found, or None)."""
        found = [code for code in self.mistakes.values() if code is not None]
        return found[0] if found else None

    def __bool__(self):
        return self.ok

    def __str__(self):
        tried = len(self.results)
        failed = sum(1 for result in self.results if not result.ok)
        lines = []
        if self.ok:
            shapes = list(dict.fromkeys(result.case.description.split(";")[0].removeprefix("shapes ")
                                        for result in self.results))
            lines.append(f"check_backward({self.name}): ok — backward agrees with central differences of forward "
                         f"on {tried} cases (shapes {'; '.join(shapes)}), twice each")
        elif self.error is not None:
            lines.append(f"check_backward({self.name}): FAILED — {self.error}")
        else:
            lines.append(f"check_backward({self.name}): WRONG on {failed} of {tried} cases")
        lines += [f"  {line}" for line in self.diagnosis]
        if self.worst is not None:
            worst = self.worst
            lines.append(f"  worst: {worst['element']} on {worst['case']}: yours {worst['yours']:.10g}, "
                         f"central differences {worst['right']:.10g} (difference {worst['difference']:.3g})")
            lines.append(f"  inputs there: {worst['inputs']}")
        for shapes, message in self.skipped:
            lines.append(f"  skipped {shapes}: forward refused them ({message})")
        return "\n".join(lines)

    def __repr__(self):
        return f"<BackwardReport for {self.name}: {'ok' if self.ok else 'WRONG'}>"

    def _repr_html_(self):
        colour = "#1a7f37" if self.ok else "#c62828"
        lines = str(self).splitlines()
        rest = "".join(f"<li>{html.escape(line.strip())}</li>" for line in lines[1:])
        return (f'<div style="border-left: 4px solid {colour}; padding: 4px 10px"><b>{html.escape(lines[0])}</b>'
                f"<ul>{rest}</ul></div>")


def check_backward(function: type, inputs: Any, *, wrt: Any = None, random_cases: int = DEFAULT_RANDOM_CASES,
                   seed: int = 0, tolerance: float = DEFAULT_TOLERANCE, exact_shapes: bool = True,
                   time_limit: Optional[float] = DEFAULT_TIME_LIMIT, names: Any = None) -> BackwardReport:
    """Check ``function``'s backward (a `minigrad.Function` subclass) against central differences of its forward.

    ``inputs``: forward's arguments after ctx, as a tuple (one array alone is one argument): numpy arrays are
    the inputs differentiated, anything else (a gain α, an axis) is passed as it is; give a 0-d array
    (``np.array(2.0)``) for a scalar input.  ``wrt``: positions of the arrays to check (default all).
    ``random_cases``: random cases per set of shapes; ``seed``: their seed; ``tolerance``: largest difference,
    relative to max(1, the largest right number).  ``exact_shapes``: a gradient must have its input's shape
    (the engine sums a broadcast gradient back for you, `minigrad.unbroadcast`; the exercise asks the rule to
    do it itself); ``time_limit``: seconds for each call of your code.  ``names``: a name per argument for
    the report (default a, b, c, ...).

    Returns a `BackwardReport`; ``print(report)`` says ok, or which mistake reproduces your numbers.
    """
    if not (isinstance(function, type) and issubclass(function, Function)) or function is Function:
        raise TypeError(f"check_backward: give a subclass of minigrad.Function (the class, not an instance), got "
                        f"{function!r:.60}")
    arguments = list(inputs) if isinstance(inputs, (tuple, list)) else [inputs]
    positions = [k for k, item in enumerate(arguments) if _is_input(item)]
    if not positions:
        raise TypeError("check_backward: inputs holds no numpy array; give the arrays forward takes, e.g. "
                        "inputs=(np.linspace(-2, 2, 5),) (np.array(2.0) for a scalar)")
    for k in positions:
        array = arguments[k]
        if array.dtype.kind not in "fiu" or not np.all(np.isfinite(array)):
            raise ValueError(f"check_backward: inputs[{k}] must hold finite real numbers, got dtype {array.dtype}")
        if array.size > _MAX_ELEMENTS:
            raise ValueError(f"check_backward: inputs[{k}] has {array.size} elements; central differences take two "
                             f"forward calls per element, so give at most {_MAX_ELEMENTS}")
        arguments[k] = array.astype(np.float64)
    checked = list(positions) if wrt is None else [wrt] if isinstance(wrt, int) else list(wrt)
    for k in checked:
        if k not in positions:
            raise ValueError(f"check_backward: wrt holds {k!r}, which is not the position of an array in inputs "
                             f"(arrays at {positions})")
    random_cases = checks.integer(random_cases, "random_cases", "check_backward", minimum=0)
    tolerance = checks.positive_real(tolerance, "tolerance", "check_backward")
    labels = list(names) if names is not None else [chr(ord("a") + k) for k in range(len(arguments))]
    if len(labels) != len(arguments):
        raise ValueError(f"check_backward: {len(labels)} names for {len(arguments)} arguments")
    checker = _Checker(function, labels, checked, tolerance, exact_shapes, time_limit)
    elementwise = True
    if len(positions) > 1:
        try:
            out, _ = checker.forward(None, arguments)
            broadcast = np.broadcast_shapes(*(arguments[k].shape for k in positions))
            elementwise = np.shape(out) == broadcast
        except (_LearnerError, ValueError):
            elementwise = False  # the given case reports forward's error
    return checker.run(_cases(arguments, positions, random_cases, np.random.default_rng(seed), elementwise))


# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------


def _is_input(item):
    """A float array is an input; integer and bool arrays (indices, masks) and all else are passed as they are."""
    return isinstance(item, np.ndarray) and item.dtype.kind == "f"


def _shape_sets(arguments, positions, elementwise):
    """The given shapes, then other shapes: a list of {position: shape}.

    One input: (), (4,), (2, 3).  Several, for a forward whose output has the inputs' broadcast shape: each
    input with its first axis dropped or made 1 (so that forward broadcasts it).  Several, for any other
    forward (matmul, a loss): every axis length n made n + 1 in all inputs at once, so that the lengths that
    must agree still do.
    """
    given = {k: arguments[k].shape for k in positions}
    sets = [given]
    if len(positions) == 1:
        (k,) = positions
        sets += [{k: shape} for shape in ((), (4,), (2, 3))]
    elif not elementwise:
        sets.append({k: tuple(size + 1 for size in shape) for k, shape in given.items()})
    else:
        for k in positions:
            shape = given[k]
            if len(shape) >= 1:
                sets.append({**given, k: shape[1:]})
                if shape[0] != 1:
                    sets.append({**given, k: (1,) + shape[1:]})
        if len({given[k] for k in positions}) == 1:
            sets += [{k: (2, 3) for k in positions}, {k: () for k in positions}]
    unique = []
    for item in sets:
        if item not in unique:
            unique.append(item)
    return unique


def _shapes_text(shapes, labels):
    return ", ".join(f"{labels[k]} {tuple(shape)}" for k, shape in shapes.items())


def _cases(arguments, positions, random_cases, rng, elementwise):
    """The given case, random ones of its shapes, and random ones of other shapes: (shapes text, [Case])."""
    ranges = {}
    for k in positions:
        low, high = float(np.min(arguments[k], initial=0.0)), float(np.max(arguments[k], initial=0.0))
        if arguments[k].size:
            low, high = float(arguments[k].min()), float(arguments[k].max())
        if high - low < 0.1:
            low, high = low - 0.5, high + 0.5
            if arguments[k].size and arguments[k].min() > 0:
                low = max(low, float(arguments[k].min()) / 2)
            if arguments[k].size and arguments[k].max() < 0:
                high = min(high, float(arguments[k].max()) / 2)
        ranges[k] = (low, high)
    groups = []
    for number, shapes in enumerate(_shape_sets(arguments, positions, elementwise)):
        cases = []
        if number == 0:
            cases.append(Case("the given inputs", list(arguments), positions))
        for draw in range(random_cases if number == 0 else max(1, random_cases)):
            drawn = list(arguments)
            for k, shape in shapes.items():
                drawn[k] = rng.uniform(*ranges[k], size=shape)
            cases.append(Case(f"random inputs {draw + 1}", drawn, positions))
        groups.append((shapes, cases))
    return groups


# ---------------------------------------------------------------------------
# Running the learner's code
# ---------------------------------------------------------------------------


class _LearnerError(Exception):
    """The learner's code raised, timed out or returned something that is not a gradient."""

    def __init__(self, message, stage=None, ordinary=False):
        super().__init__(message)
        self.stage = stage  # "forward" or "backward"
        self.ordinary = ordinary  # an Exception (a shape forward refuses), not SystemExit or a timeout


def _described(error):
    if isinstance(error, SystemExit):
        return f"it called sys.exit({error.code!r}), which ends a program, not a gradient"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (KeyboardInterrupt)"
    return f"{type(error).__name__}: {error}"


class _Checker:
    def __init__(self, function, labels, checked, tolerance, exact_shapes, time_limit):
        self.function = function
        self.op = function.op
        self.name = function.op.name
        self.labels = labels
        self.checked = checked
        self.tolerance = tolerance
        self.exact_shapes = exact_shapes
        self.time_limit = time_limit

    def call(self, what, fn, *args):
        outcome = call_learner(fn, *args, seconds=self.time_limit, caller="check_backward")
        if outcome.timed_out:
            raise _LearnerError(f"your {what} did not return within {outcome.seconds:g} s (an endless loop?)", what)
        if outcome.error is not None:
            raise _LearnerError(f"your {what} raised {_described(outcome.error)}", what,
                                ordinary=isinstance(outcome.error, Exception))
        return outcome.value

    def forward(self, case, arguments):
        """(output as float64, ctx) of the learner's forward on copies of ``arguments``."""
        layout, inputs, needs = [], [], []
        for item in arguments:
            if _is_input(item):
                layout.append(("input", len(inputs)))
                inputs.append(item.copy())
                needs.append(True)
            else:
                layout.append(("option", item))
                needs.append(False)

        def run():
            return self.op.forward(*inputs, layout=tuple(layout), needs=tuple(needs))

        return self.call("forward", run)

    def backward(self, ctx, upstream, arity):
        """The learner's gradients, one per argument, as returned (checked for count and kind)."""
        grad = upstream if type(upstream) is float else upstream.copy()
        returned = self.call("backward", self.function.backward, ctx, grad)
        if not isinstance(returned, (tuple, list)):
            returned = (returned,)
        if len(returned) != arity:
            raise _LearnerError(f"your backward returned {len(returned)} gradient{'' if len(returned) == 1 else 's'} "
                                f"but forward takes {arity} argument{'' if arity == 1 else 's'}; return one per "
                                "argument (None where none)")
        grads = []
        for position, gradient in enumerate(returned):
            if gradient is None:
                grads.append(None)
                continue
            try:
                array = np.array(gradient, dtype=np.float64)  # a copy: the rule may write into it again
            except (TypeError, ValueError):
                raise _LearnerError(f"your backward returned {type(gradient).__name__} for "
                                    f"{self.labels[position]}, not numbers") from None
            grads.append(array)
        return grads

    def jacobian(self, case, position):
        """∂(forward)/∂(input ``position``) by central differences: (output size, input size)."""
        base = case.arguments[position]
        columns = []
        for index in range(base.size):
            step = _STEP * max(1.0, abs(float(base.reshape(-1)[index])))
            values = []
            for sign in (1.0, -1.0):
                moved = list(case.arguments)
                shifted = base.copy().reshape(-1)
                shifted[index] += sign * step
                moved[position] = shifted.reshape(base.shape)
                out, _ = self.forward(case, moved)
                values.append(np.asarray(out, dtype=np.float64).reshape(-1))
            columns.append((values[0] - values[1]) / (2.0 * step))
        size = int(np.size(case.output))
        return np.stack(columns, axis=1) if columns else np.zeros((size, 0))

    def derivative_at(self, case, points):
        """f′ at ``points`` for a one-input elementwise forward (central differences), or None where undefined."""
        try:
            step = _STEP * np.maximum(1.0, np.abs(points))
            arguments = list(case.arguments)
            values = []
            for sign in (1.0, -1.0):
                arguments[case.positions[0]] = points + sign * step
                out, _ = self.forward(case, arguments)
                values.append(np.asarray(out, dtype=np.float64))
            found = (values[0] - values[1]) / (2.0 * step)
        except _LearnerError:
            return None
        return found if np.all(np.isfinite(found)) else None

    def inverse_at(self, case, targets):
        """f⁻¹(targets) by bisection for a one-input monotone elementwise forward, or None outside its range."""
        arguments = list(case.arguments)
        position = case.positions[0]

        def f(points):
            arguments[position] = points
            return np.asarray(self.forward(case, arguments)[0], dtype=np.float64)

        try:
            low, high = np.full(targets.shape, -40.0), np.full(targets.shape, 40.0)
            at_low, at_high = f(low), f(high)
            rising = at_high > at_low
            if not np.all(np.where(rising, (at_low < targets) & (targets < at_high),
                                   (at_high < targets) & (targets < at_low))):
                return None
            for _ in range(80):
                middle = (low + high) / 2
                below = (f(middle) < targets) == rising
                low, high = np.where(below, middle, low), np.where(below, high, middle)
        except _LearnerError:
            return None
        return (low + high) / 2

    def extra(self, case):
        """For a one-input elementwise forward: f′(y) and f′(f⁻¹(x)), the numbers two mistakes give."""
        if len(case.positions) != 1 or np.shape(case.output) != np.shape(case.inputs[0]):
            return {}
        found = {}
        x = case.inputs[0]
        at_output = self.derivative_at(case, np.asarray(case.output, dtype=np.float64))
        if at_output is not None:
            found["at_output"] = at_output
        inverse = self.inverse_at(case, np.asarray(x, dtype=np.float64))
        if inverse is not None:
            at_inverse = self.derivative_at(case, inverse)
            if at_inverse is not None:
                found["at_inverse"] = at_inverse
        return found

    # -- one case ---------------------------------------------------------------------

    def run_case(self, case, rng):
        result = CaseResult(case)
        out, ctx = self.forward(case, case.arguments)
        case.output = out
        shape = np.shape(out)
        case.upstream = float(rng.standard_normal()) if type(out) is float else rng.standard_normal(shape)
        first = self.backward(ctx, case.upstream, len(case.arguments))
        second = self.backward(ctx, case.upstream, len(case.arguments))
        for k in self.checked:
            if first[k] is None:
                raise _LearnerError(f"your backward returned None for {self.labels[k]}, which needs a gradient "
                                    f"(on {case.description})")
        jacobians = {k: self.jacobian(case, k) for k in self.checked}
        result.jacobians = jacobians
        result.ok = True
        for k in self.checked:
            g = np.asarray(case.upstream, dtype=np.float64).reshape(-1)
            right = (jacobians[k].T @ g).reshape(np.shape(case.arguments[k]))
            yours, again = first[k], second[k]
            if not self.exact_shapes:
                yours, again = (self._summed(item, right.shape) for item in (yours, again))
            result.right.append(right)
            result.yours.append(yours)
            result.second.append(again)
            if not (close(yours, right, self.tolerance) and close(again, right, self.tolerance)):
                result.ok = False
        return result

    @staticmethod
    def _summed(gradient, shape):
        if gradient is None or gradient.shape == shape:
            return gradient
        try:
            if np.broadcast_shapes(gradient.shape, shape) != gradient.shape:
                return gradient
        except ValueError:
            return gradient
        from ..core.backward import unbroadcast

        return np.asarray(unbroadcast(gradient, np.zeros(shape)))

    # -- all of them --------------------------------------------------------------------

    def run(self, groups):
        rng = np.random.default_rng(12345)
        results, skipped = [], []
        error = None
        for number, (shapes, cases) in enumerate(groups):
            shapes_text = _shapes_text(shapes, self.labels)
            for case in cases:
                case.description = f"shapes {shapes_text}; {case.description}"
                try:
                    results.append(self.run_case(case, rng))
                except _LearnerError as problem:
                    if problem.ordinary and number > 0 and problem.stage == "forward":
                        skipped.append((shapes_text, str(problem).split("raised ", 1)[-1]))
                        break
                    error = f"{problem} (on {case.description})"
                    break
            if error is not None:
                break
        if error is not None:
            return BackwardReport(self.name, self.labels, results, skipped, {}, [], None, error)
        mistakes, diagnosis = {}, []
        for column, k in enumerate(self.checked):
            wrong = [result for result in results if not (close(result.yours[column], result.right[column],
                                                                 self.tolerance)
                                                           and close(result.second[column], result.right[column],
                                                                     self.tolerance))]
            if not wrong:
                mistakes[self.labels[k]] = None
                continue
            evidence = []
            for result in wrong:
                extra = self.extra_safely(result.case) if len(result.case.positions) == 1 else {}
                right, predicted, facts = backward_mistakes.predictions(result.case, result.case.positions.index(k),
                                                                        result.jacobians[k], result.case.upstream,
                                                                        extra)
                evidence.append(Evidence(result.yours[column], result.second[column], right, predicted, facts))
            code, facts = diagnose(evidence, self.tolerance)
            mistakes[self.labels[k]] = code
            if code is None:
                shapes = [(np.shape(item.yours), np.shape(item.right)) for item in evidence
                          if np.shape(item.yours) != np.shape(item.right)]
                shape = (f"; its shape is {shapes[0][0]} where {self.labels[k]} has shape {shapes[0][1]}"
                         if shapes else "")
                diagnosis.append(f"{self.labels[k]}: wrong, and no mistake in the catalogue reproduces your numbers "
                                 f"(wrong on {len(wrong)} of {len(results)} cases{shape})")
            else:
                facts = {"input": self.labels[k], "yours_shape": np.shape(evidence[0].yours), **facts}
                facts["input_shape"] = tuple(facts.get("input_shape") or ())
                facts["yours_shape"] = tuple(facts["yours_shape"])
                diagnosis.append(f"{self.labels[k]}: " + MISTAKES[code].text.format_map(_Defaults(facts)))
        worst = self._worst(results)
        return BackwardReport(self.name, self.labels, results, skipped, mistakes, diagnosis, worst, None)

    def extra_safely(self, case):
        try:
            return self.extra(case)
        except _LearnerError:
            return {}

    def _worst(self, results):
        """The element where yours is furthest from the right number (same shapes only)."""
        best = None
        for result in results:
            for column, k in enumerate(self.checked):
                for yours in (result.yours[column], result.second[column]):
                    right = result.right[column]
                    if yours is None or yours.shape != right.shape or right.size == 0:
                        continue
                    difference = np.abs(yours - right)
                    difference = np.where(np.isfinite(difference), difference, np.inf)
                    index = np.unravel_index(int(np.argmax(difference)), right.shape)
                    if best is None or difference[index] > best["difference"]:
                        best = {"difference": float(difference[index]), "case": result.case.description,
                                "element": element_name(self.labels[k], index) if index else self.labels[k],
                                "yours": float(yours[index]), "right": float(right[index]),
                                "inputs": "; ".join(f"{self.labels[j]} = "
                                                    + np.array2string(np.asarray(result.case.arguments[j]),
                                                                      precision=4, separator=", ")
                                                    for j in result.case.positions)}
        if best is None or best["difference"] <= self.tolerance * max(1.0, abs(best["right"])):
            return None
        return best


class _Defaults(dict):
    def __missing__(self, key):
        return "?"
