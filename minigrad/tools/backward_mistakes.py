"""The catalogue of mistakes in a hand-written backward rule, each one predicted from central differences.

`check_backward` knows the right numbers only numerically: the Jacobian J of
the learner's forward (central differences), so the right gradient for an
input is Jᵀg for the upstream gradient g.  Each mistake below is a way of
getting Jᵀg wrong that can be predicted from J, g and the forward alone;
`diagnose` tries them one at a time, simplest first, and keeps the first
that reproduces the learner's numbers in every case where they are wrong.

| code | what the rule did | predicted numbers |
|---|---|---|
| ``broadcast_not_undone`` | returned the output's shape for a broadcast input | the gradient before summing, whose sum is Jᵀg |
| ``broadcast_mean`` | undid broadcasting with a mean | Jᵀg / (copies) |
| ``transposes_swapped`` | a matmul rule with ``.T`` in the wrong places | another product of g, A, B and their transposes |
| ``sign_flipped`` | a minus sign lost or added | −Jᵀg |
| ``upstream_dropped`` | forgot to multiply by ``grad`` | Jᵀ1 |
| ``output_for_input`` | evaluated f′ at the output (``np.exp(out)`` for exp) | g · f′(y) |
| ``input_for_output`` | wrote f′ in terms of the output and fed it the input (``1 − x²`` for tanh) | g · f′(f⁻¹(x)) |
| ``factor_missing`` | left out a constant factor (the gain α, the 2 of a square) | c · Jᵀg |
| ``assigned_not_accumulated`` | wrote ``buffer[i] = ...`` where contributions add up | each element's last contribution only |
| ``state_between_calls`` | kept a buffer between calls (``+=`` into it) | right once, wrong the second time |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

__all__ = ["MISTAKES", "Mistake", "close", "diagnose"]


@dataclass(frozen=True)
class Mistake:
    """One entry of the catalogue: its ``code`` and what it tells the learner (``text``, with ``{input}``)."""

    code: str
    text: str


MISTAKES = {mistake.code: mistake for mistake in [
    Mistake("broadcast_not_undone",
            "broadcasting not undone: the gradient for {input} has the output's shape {yours_shape}, but {input} "
            "has shape {input_shape} (forward broadcast it); sum the gradient over the broadcast axes "
            "({axes}) so that it has {input}'s shape"),
    Mistake("broadcast_mean",
            "broadcasting undone with a mean: the gradient for {input} is the right one divided by {copies}, the "
            "number of copies broadcasting made; each copy adds its gradient, so sum (not average) over the "
            "broadcast axes"),
    Mistake("transposes_swapped",
            "transposes swapped in the matmul rule: the gradient for {input} is {found}; for C = A @ B the rules "
            "are ∂/∂A = grad @ B.T and ∂/∂B = A.T @ grad"),
    Mistake("sign_flipped",
            "sign flipped: the gradient for {input} is minus the right one (a lost or extra minus sign, e.g. "
            "the −1 of (d − a))"),
    Mistake("upstream_dropped",
            "upstream gradient dropped: the gradient for {input} is the local derivative alone; multiply it by "
            "the incoming grad (the chain rule: ∂L/∂x = ∂L/∂y · ∂y/∂x)"),
    Mistake("output_for_input",
            "output used instead of input: the gradient for {input} is grad · f′(y), the derivative evaluated at "
            "the output; evaluate it at the input (for exp: grad * np.exp(x), or grad * out, not "
            "grad * np.exp(out))"),
    Mistake("input_for_output",
            "input used instead of output: the gradient for {input} is a rule written in terms of the output "
            "(like 1 − y² for tanh, αy(1 − y) for the sigmoid) evaluated at the input; save the output in forward "
            "and use it"),
    Mistake("factor_missing",
            "a factor missing: the gradient for {input} is {ratio:.6g} × the right one, so a constant factor "
            "{missing:.6g} of the chain's inner derivative is left out (the gain α of F(αx)? the 2 of a square?)"),
    Mistake("assigned_not_accumulated",
            "gradient assigned instead of accumulated: where several outputs depend on one element of {input} "
            "the rule keeps only the last contribution (buffer[i] = ... or buffer[index] = grad); add them up "
            "(buffer[i] += ..., np.add.at(buffer, index, grad))"),
    Mistake("state_between_calls",
            "state kept between calls: backward gives the right gradient for {input} the first time and "
            "{factor} the second time it runs on the same forward; it adds into a buffer that outlives the call "
            "(on ctx, the class or a global); start from a fresh array in each call"),
]}


def close(yours, reference, tolerance):
    """Same shape, and max |yours − reference| ≤ tolerance · max(1, max |reference|)."""
    if yours is None or reference is None or np.shape(yours) != np.shape(reference):
        return False
    yours, reference = np.asarray(yours, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if not np.all(np.isfinite(yours)):
        return False
    scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
    return bool(np.max(np.abs(yours - reference), initial=0.0) <= tolerance * scale)


@dataclass
class Evidence:
    """What one case tells about one input: the learner's numbers (``yours``, and ``second`` from a second call
    on the same forward), the right ones (``right``, Jᵀg) and what each mistake predicts (``predicted``: code ->
    array, for the mistakes that apply to this case)."""

    yours: np.ndarray
    second: Optional[np.ndarray]
    right: np.ndarray
    predicted: dict
    facts: dict


def predictions(case, position, jacobian, upstream, extra):
    """{code: predicted numbers} for input ``position`` of ``case``, with the facts the texts name.

    ``jacobian``: (output size, input size); ``upstream``: g; ``extra``: the forward-based numbers
    (f′(y), f′(f⁻¹(x)) for a unary elementwise op) that the case computed, or {}.
    """
    data = case.inputs[position]
    shape = np.shape(data)
    out_shape = np.shape(case.output)
    g = np.asarray(upstream, dtype=np.float64).reshape(-1)
    right = (jacobian.T @ g).reshape(shape)
    found, facts = {}, {"input_shape": shape}
    if out_shape != shape and _broadcasts_to(shape, out_shape):
        # broadcast: what the gradient was before being summed back to the input's shape
        before = _before_sum(case, position, jacobian, g)
        if before is not None:
            found["broadcast_not_undone"] = before
            extra_axes = len(out_shape) - len(shape)
            axes = tuple(range(extra_axes)) + tuple(extra_axes + axis for axis, size in enumerate(shape)
                                                    if size == 1 and out_shape[extra_axes + axis] != 1)
            facts["axes"] = f"axis={axes[0]}" if len(axes) == 1 else f"axis={axes}"
        copies = int(np.prod(out_shape, dtype=np.int64)) // max(1, int(np.prod(shape, dtype=np.int64)))
        if copies > 1:
            found["broadcast_mean"] = right / copies
            facts["copies"] = copies
    for candidate, text in _matmul_candidates(case, position, upstream):
        found.setdefault("transposes_swapped", []).append((candidate, text))
    found["sign_flipped"] = -right
    found["upstream_dropped"] = (jacobian.T @ np.ones_like(g)).reshape(shape)
    if "at_output" in extra:
        found["output_for_input"] = np.asarray(upstream, dtype=np.float64).reshape(shape) * extra["at_output"]
    if "at_inverse" in extra:
        found["input_for_output"] = np.asarray(upstream, dtype=np.float64).reshape(shape) * extra["at_inverse"]
    found["assigned_not_accumulated"] = _last_contribution(jacobian, g).reshape(shape)
    return right, found, facts


def _broadcasts_to(shape, target):
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def _before_sum(case, position, jacobian, g):
    """For an input broadcast to the output: the per-output-element terms g_j ∂y_j/∂x_(the element j reads)."""
    shape = np.shape(case.inputs[position])
    out_shape = np.shape(case.output)
    # which input element each output element reads, under numpy's broadcasting
    index = np.broadcast_to(np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape), out_shape).reshape(-1)
    rows = np.arange(len(g))
    return (g * jacobian[rows, index]).reshape(out_shape)


def _matmul_candidates(case, position, upstream):
    """For a forward that is A @ B on two matrices: the products of g, A, B and transposes that a swapped rule
    gives for this input (the right one left out), with their formulas."""
    inputs = case.inputs
    if len(inputs) != 2 or any(np.ndim(item) != 2 for item in inputs) or np.ndim(case.output) != 2:
        return []
    a, b = (np.asarray(item, dtype=np.float64) for item in inputs)
    if a.shape[1] != b.shape[0] or not np.allclose(case.output, a @ b, rtol=1e-12, atol=1e-12):
        return []
    g = np.asarray(upstream, dtype=np.float64)
    other, other_name = (b, "B") if position == 0 else (a, "A")
    right = g @ b.T if position == 0 else a.T @ g
    found = []
    for left, left_name in ((g, "grad"), (g.T, "grad.T"), (other, other_name), (other.T, other_name + ".T")):
        for rightmost, right_name in ((g, "grad"), (g.T, "grad.T"), (other, other_name), (other.T, other_name + ".T")):
            if ("grad" in left_name) == ("grad" in right_name) or left.shape[1] != rightmost.shape[0]:
                continue
            product = left @ rightmost
            if product.shape == right.shape and np.allclose(product, right, rtol=1e-12, atol=1e-12):
                continue  # the right rule (or one equal to it here)
            found.append((product, f"{left_name} @ {right_name}"))
    return found


def _last_contribution(jacobian, g):
    """Each input element's last contribution g_j ∂y_j/∂x_i (the largest j whose partial is not zero)."""
    terms = jacobian * g[:, None]
    nonzero = np.abs(jacobian) > 1e-12 * max(1.0, float(np.max(np.abs(jacobian), initial=0.0)))
    last = np.where(nonzero.any(axis=0), jacobian.shape[0] - 1 - np.argmax(nonzero[::-1], axis=0), 0)
    picked = terms[last, np.arange(jacobian.shape[1])]
    return np.where(nonzero.any(axis=0), picked, 0.0)


def _constant_ratio(yours, right, tolerance):
    """c when yours = c · right elementwise (right not all zero), else None."""
    if np.shape(yours) != np.shape(right):
        return None
    right = np.asarray(right, dtype=np.float64)
    big = np.abs(right) > 1e-6 * max(1e-300, float(np.max(np.abs(right), initial=0.0)))
    if not big.any():
        return None
    ratio = float(np.median(np.asarray(yours)[big] / right[big]))
    if not np.isfinite(ratio) or abs(ratio - 1.0) < tolerance or abs(ratio + 1.0) < tolerance or ratio == 0.0:
        return None
    return ratio if close(yours, ratio * right, tolerance) else None


# The order mistakes are tried in: shapes first, then the simplest alterations.
ORDER = ["broadcast_not_undone", "broadcast_mean", "transposes_swapped", "sign_flipped", "upstream_dropped",
         "output_for_input", "input_for_output", "factor_missing", "assigned_not_accumulated"]


def diagnose(evidence, tolerance):
    """(code, facts) of the first mistake that reproduces the learner's numbers in every piece of ``evidence``
    (the cases where they are wrong), or (None, {})."""
    if evidence and all(item.second is not None and close(item.yours, item.right, tolerance)
                        and not close(item.second, item.right, tolerance) for item in evidence):
        ratios = [_constant_ratio(item.second, item.right, tolerance) for item in evidence]
        factor = "the right one times " + f"{ratios[0]:.6g}" if ratios[0] is not None else "other numbers"
        return "state_between_calls", {"factor": factor}
    for code in ORDER:
        facts = {}
        fits = True
        for item in evidence:
            if code == "factor_missing":
                ratio = _constant_ratio(item.yours, item.right, tolerance)
                if ratio is None or ("ratio" in facts and abs(ratio - facts["ratio"]) > tolerance * abs(ratio)):
                    fits = False
                    break
                facts.update(ratio=ratio, missing=1.0 / ratio)
                continue
            predicted = item.predicted.get(code)
            if code == "transposes_swapped":
                match = next((text for candidate, text in (predicted or []) if close(item.yours, candidate, tolerance)),
                             None)
                if match is None:
                    fits = False
                    break
                facts["found"] = match
                continue
            if predicted is None or close(predicted, item.right, tolerance) or not close(item.yours, predicted,
                                                                                         tolerance):
                fits = False
                break
        if fits and evidence:
            facts = {**evidence[0].facts, **facts}
            facts.setdefault("yours_shape", np.shape(evidence[0].yours))
            facts.update(input_shape=evidence[0].facts.get("input_shape"))
            return code, facts
    return None, {}
