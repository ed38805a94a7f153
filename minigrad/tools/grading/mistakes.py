"""The catalogue of mistakes: each one an alteration of the chain rule, evaluated on every case.

A mistake is kept when it reproduces the learner's numbers in every case;
`diagnose` returns them simplest first (see the table in
docs/check_derivation.md).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ...core import ops
from .names import CHAPTER_BIASES, Names, agrees
from .paths import TINY


@dataclass
class _Variant:
    """One way of getting the gradient wrong, with its numbers in every case
    (``arrays``) and the size of the terms each number sums (``scales``).
    ``rank`` orders explanations, simplest first; ``code`` names the mistake."""

    code: str
    rank: int
    text: str
    equation: Optional[str]
    arrays: list
    scales: list


@dataclass
class Grading:
    """The cases, their names, the learner's numbers and the tolerance of each element."""

    cases: list
    names: Names
    yours: list
    tolerances: list

    def reproduces(self, variant):
        """True when the variant equals the learner's numbers in every case."""
        for y, array, scale, tolerance in zip(self.yours, variant.arrays, variant.scales, self.tolerances):
            if np.shape(tolerance) != np.shape(array):
                tolerance = float(np.max(tolerance))
            if not agrees(y, array, scale, tolerance):
                return False
        return True


# -- factor alterations: the loss's factor times m; a slope α^a F^b (1 − F)^c -----

# code, (change of the exponent of α, of F, of 1 − F), rank
_SLOPE_MISTAKES = [
    ("alpha_missing", (-1, 0, 0), 3),
    ("alpha_squared", (1, 0, 0), 4),
    ("slope_missing", (0, -1, -1), 5),
    ("slope_F", (0, 0, -1), 6),
    ("slope_one_minus_F", (0, -1, 0), 7),
    ("slope_dropped", (-1, -1, -1), 8),
]
# code, multiplier of the loss's factor, rank
_LOSS_MISTAKES = [("sign", -1.0, 0), ("factor_2", 2.0, 1), ("factor_half", 0.5, 2)]


@dataclass(frozen=True)
class _Alteration:
    """Which factors change, and how: ``loss`` multiplies the loss's factor;
    ``slopes`` maps a sigmoid layer to the change of the exponents of
    (α, F, 1 − F) in its slope α F (1 − F)."""

    loss: float = 1.0
    slopes: tuple = ()   # ((layer, (da, db, dc)), ...)

    def __call__(self, group, values):
        k = group.column("loss")
        if self.loss != 1.0:
            values[:, k] *= self.loss
        for layer, (da, db, dc) in self.slopes:
            k = group.column("slope", layer)
            if k is None:
                return None
            alpha, F = group.alpha[:, k], group.F[:, k]
            values[:, k] = alpha ** (1 + da) * F ** (1 + db) * group.one_minus_F(k) ** (1 + dc)
        return values

    def combined(self, other):
        slopes = dict(self.slopes)
        for layer, delta in other.slopes:
            slopes[layer] = tuple(x + y for x, y in zip(slopes.get(layer, (0, 0, 0)), delta))
        return _Alteration(self.loss * other.loss, tuple(sorted(item for item in slopes.items() if any(item[1]))))


def _evaluate(alteration, cases):
    """The alteration's numbers in every case: (arrays, scales), or None where it does not apply."""
    arrays, scales = [], []
    for case in cases:
        total, scale = case.sums(alteration)
        if total is None:
            return None
        arrays.append(total)
        scales.append(scale)
    return arrays, scales


def _alteration_text(code, layer, names):
    """(sentence, equation) for one factor alteration."""
    if code == "sign":
        text = f"yours is −1 × autodiff: a sign error in {names.cite('loss', 0)}"
        if names.sse:
            text += (". E_o = Desired_o − A_o (Eq. 6.19), so ∂E_o/∂F_o = −1 (Eq. 6.21): either E was taken as "
                     "A − Desired, or that −1 was dropped")
        return text, names.factor("loss", 0)[1]
    if code in ("factor_2", "factor_half"):
        if not names.sse:
            number = "2" if code == "factor_2" else "½"
            return f"yours is {number} × autodiff: a stray {number} in {names.cite('loss', 0)}", \
                names.factor("loss", 0)[1]
        if code == "factor_2":
            return ("yours is 2 × autodiff: a stray factor 2. In SSE = ½ Σ_o E_o² (Eq. 6.5) the ½ cancels the 2 that "
                    "differentiating E_o² brings down, so ∂SSE/∂E_o = E_o (Eq. 6.16–6.17)"), "6.17"
        return ("yours is ½ × autodiff: a stray ½. ∂SSE/∂E_o = ½ · 2 E_o = E_o (Eq. 6.16–6.17): the ½ of the SSE "
                "(Eq. 6.5) is used up by the 2 from the square; it does not stay in the gradient"), "6.17"
    layers = names.case.table.slope_layers
    if layer == "all":
        return (f"the gain α is missing from every slope: {' and '.join(names.cite('slope', k) for k in layers)} "
                f"each carry an α, so autodiff has α^{len(layers)} where yours has none"), \
            "·".join(filter(None, (names.factor("slope", k)[1] for k in layers)))
    cited, equation = names.cite("slope", layer), names.factor("slope", layer)[1]
    F = names.slope_symbol(layer)
    texts = {
        "alpha_missing": f"the gain α is missing from {cited}: yours is autodiff / α",
        "alpha_squared": f"α is squared in {cited}, which has α once: yours is α × autodiff",
        "slope_missing": f"{F} (1 − {F}) is missing from {cited}: yours has α alone there",
        "slope_F": f"{cited} is α {F} in yours: the factor (1 − {F}) is missing",
        "slope_one_minus_F": f"{cited} is α (1 − {F}) in yours: the factor {F} is missing",
        "slope_dropped": (f"the whole slope {cited} is missing: the transfer function's derivative (Eq. 6.2) is a "
                          "factor wherever a path crosses a node"),
    }
    if len(layers) > 1 and code in ("alpha_missing", "alpha_squared"):
        # NOTE: α missing from one slope or from another gives the same numbers: say so, name both.
        slopes = " and ".join(names.cite("slope", k) for k in layers)
        equation = "·".join(filter(None, (names.factor("slope", k)[1] for k in layers)))
        texts = {"alpha_missing": f"one α is missing: {slopes} each carry an α, so autodiff has α^{len(layers)} "
                                  f"where yours has α^{len(layers) - 1}",
                 "alpha_squared": f"one α too many: {slopes} each carry one α, so autodiff has α^{len(layers)} "
                                  f"where yours has α^{len(layers) + 1}"}
    return texts[code], equation


def _single_alterations(grading):
    """[(alteration, variant or None)] for each single factor mistake."""
    layers = grading.cases[0].table.slope_layers
    specs = [(_Alteration(loss=m), code, rank, None) for code, m, rank in _LOSS_MISTAKES]
    for layer in layers:
        specs += [(_Alteration(slopes=((layer, delta),)), code, rank, layer) for code, delta, rank in _SLOPE_MISTAKES]
    if len(layers) > 1:
        specs.append((_Alteration(slopes=tuple((layer, (-1, 0, 0)) for layer in layers)), "alpha_missing", 3, "all"))
    singles = []
    for alteration, code, rank, layer in specs:
        numbers = _evaluate(alteration, grading.cases)
        if numbers is None:
            singles.append((alteration, None))
            continue
        text, equation = _alteration_text(code, layer, grading.names)
        singles.append((alteration, _Variant(code, rank, text, equation, *numbers)))
    return singles


def _pair_variants(singles, grading):
    """Two factor mistakes at once (a sign error and a missing α, ...)."""
    pairs = []
    for (first, one), (second, other) in itertools.combinations(singles, 2):
        if one is None or other is None or (first.loss != 1.0 and second.loss != 1.0):
            continue  # two constants on the loss's factor are one constant: constant_ratio names it
        numbers = _evaluate(first.combined(second), grading.cases)
        if numbers is not None:
            pairs.append(_Variant(f"{one.code}+{other.code}", 20 + one.rank + other.rank,
                                  f"two mistakes: {one.text}; and {other.text}",
                                  " and ".join(filter(None, (one.equation, other.equation))) or None, *numbers))
    return pairs


# -- structural mistakes -------------------------------------------------------------


def _transposed(grading):
    cases, names = grading.cases, grading.names
    if cases[0].param.ndim != 2:
        return []
    rows, columns = cases[0].param.shape
    if names.chapter:
        text, equation = {
            "v": ("yours is the transpose of autodiff: in ∂SSE/∂v[h,o] = −α E_o F_o (1 − F_o) H_h (Eq. 6.30) the "
                  "hidden activation H_h sets the row h and the output's E_o F_o (1 − F_o) the column o, as in v "
                  "(H×O: one row per hidden node, one column per output node)", "6.30"),
            "w": ("yours is the transpose of autodiff: in ∂SSE/∂w[i,h] the input I_i (∂NdInpt_hidden_h/∂w[i,h] = "
                  "I_i, Eq. 6.27 one layer down) sets the row i and the hidden node's slope and sum over o the "
                  "column h, as in w (I×H: one row per input, one column per hidden node)", "6.27 one layer down"),
        }[names.wrt]
    else:
        group, k = _activation_column(cases[0])
        equation = names.factor("activation", group.columns[k].layer)[1] if group is not None else None
        text = (f"yours is the transpose of autodiff: ∂{names.loss}/∂{names.wrt}[j,k] belongs at row j, column k, "
                f"where {names.wrt}[j,k] is ({names.wrt} is {rows}×{columns})")
        if group is not None:
            text += f"; the activation sets the row: {names.cite('activation', group.columns[k].layer)}"
    return [_Variant("transposed", 10, text, equation, [case.autodiff.T for case in cases],
                     [case.scale.T for case in cases])]


def _activation_column(case):
    """(group, k): the column of the activation that multiplies a 2-D parameter
    in ``activation @ param`` (one path structure, one activation node), else (None, None)."""
    if len(case.table.groups) != 1:
        return None, None
    group = case.table.groups[0]
    k = group.column("activation")
    if k is None or group.columns[k].node is None:
        return None, None
    factor = group.columns[k].factors[0]
    if factor.op is not ops.MATMUL or factor.position != 1 or group.columns[k].node.ndim != 1:
        return None, None
    return group, k


def _swapped_layers(grading):
    """outer(X, δ) with X another layer's activation: H and I swapped (any sizes)."""
    cases, names = grading.cases, grading.names
    if cases[0].param.ndim != 2:
        return []
    group, k = _activation_column(cases[0])
    if group is None:
        return []
    true_node, layer = group.columns[k].node, group.columns[k].layer
    true_name = names.node(true_node)
    variants = []
    for name, node in cases[0].activations.items():
        if node is true_node:
            continue
        arrays, scales = [], []
        for case in cases:
            case_group, case_k = _activation_column(case)
            if case_group is None or name not in case.activations:
                break
            activation = np.asarray(case_group.columns[case_k].node.data, dtype=np.float64)
            delta = np.asarray(case_group.columns[case_k].factors[0].child.grad, dtype=np.float64)
            other = np.asarray(case.activations[name].data, dtype=np.float64)
            # The size of the terms behind δ_j: a row of the scale over its activation.
            row = int(np.argmax(np.abs(activation)))
            terms = case.scale[row] / abs(activation[row]) if activation[row] != 0 else np.abs(delta)
            arrays.append(np.outer(other, delta))
            scales.append(np.outer(np.abs(other), terms))
        else:
            code = "H_I_swapped" if {name, true_name} == {"H", "I"} else "wrong_layer"
            text = f"you used {name} where {true_name} belongs: {names.cite('activation', layer)}"
            if names.chapter and code == "H_I_swapped":
                text += (": v[h,o] carries the hidden activation H_h; I_i is what w[i,h] carries, one layer down"
                         if names.wrt == "v" else
                         ": w[i,h] carries the input I_i; H_h is what v[h,o] carries, one layer up")
            variants.append(_Variant(code, 11, text, names.factor("activation", layer)[1], arrays, scales))
    return variants


def _bias_below(case):
    """(X, weight) of ``NdInpt = X @ weight + bias`` for a bias parameter, else (None, None)."""
    param = case.param
    for node in case.nodes:
        if node.op is ops.ADD and any(parent is param for parent in node.parents):
            other = node.parents[0] if node.parents[1] is param else node.parents[1]
            if other.op is ops.MATMUL and other.parents[0].ndim == 1:
                return other.parents[0], other.parents[1]
    return None, None


def _bias_variants(grading):
    """A bias given an input factor: its gradient times an activation of the layer below, one element
    per bias element, or in full (the weight's gradient, outer(X, ∂/∂bias))."""
    cases, names = grading.cases, grading.names
    if cases[0].param.ndim != 1:
        return []
    below = [_bias_below(case) for case in cases]
    if any(node is None for node, _ in below):
        return []
    X_name, weight_name = names.node(below[0][0]), below[0][1].name or "the weight"
    if names.chapter:
        one, equation, X_name, _ = CHAPTER_BIASES[names.wrt]
        reason = f"{one} (Eq. {equation}): a bias is a weight from a node whose activation is always 1"
    else:
        one, equation = f"∂(X @ {weight_name} + {names.wrt})/∂{names.wrt} = 1", None
        reason = f"{one}: a bias is a weight from a node whose activation is always 1"
    variants = [_Variant(
        "bias_input", 14,
        f"yours is ∂{names.loss}/∂{weight_name}, not ∂{names.loss}/∂{names.wrt}: {reason}, so its gradient has no "
        f"{X_name} factor and one number per element of {names.wrt}", equation,
        [np.outer(np.asarray(X.data, dtype=np.float64), case.autodiff) for case, (X, _) in zip(cases, below)],
        [np.outer(np.abs(np.asarray(X.data, dtype=np.float64)), case.scale) for case, (X, _) in zip(cases, below)])]
    fitted = _fit(grading, lambda case: (case.autodiff.reshape(-1), case.scale.reshape(-1)),
                  lambda case: np.asarray(_bias_below(case)[0].data, dtype=np.float64).reshape(-1), None)
    if fitted is not None:
        choice, arrays, scales = fitted
        used = _choices_text(choice, names, lambda c: names.node_element(below[0][0], c))
        variants.append(_Variant("bias_input", 14, f"the bias's gradient has a factor it does not have: {reason}; "
                                 f"yours multiplies by {used}", equation, arrays, scales))
    return variants


# -- per-element fits ------------------------------------------------------------------


def _fit(grading, rest_of, candidates_of, true_index):
    """For each element e, a candidate c with yours_e = R_e · X_c in every case.

    ``rest_of(case)``: (R, S) per element, the sum over the element's paths
    of the factors other than the one being replaced, and of their absolute
    values; ``candidates_of(case)``: the values X it may be replaced by;
    ``true_index``: the candidate the chain rule uses, per element (None: the
    chain rule has no such factor).  Returns (choice per element, arrays,
    scales) when every element has one and some element's choice is not the
    chain rule's; else None.
    """
    good, parts = None, []
    for case, y, tolerance in zip(grading.cases, grading.yours, grading.tolerances):
        R, S = rest_of(case)
        X = candidates_of(case)
        if y.shape != case.param.shape or X.size == 0 or (good is not None and good.shape[1] != X.size):
            return None
        y = y.reshape(-1, 1)
        predicted = R[:, None] * X[None, :]
        bound = np.maximum(np.maximum(np.abs(y), np.abs(predicted)), np.maximum(S[:, None] * np.abs(X), TINY))
        ok = np.abs(y - predicted) <= np.reshape(tolerance, (-1, 1)) * bound
        good = ok if good is None else good & ok
        parts.append((R, S, X))
    if not good.any(axis=1).all():
        return None
    choice = np.argmax(good, axis=1)
    if true_index is not None:
        choice = np.where(good[np.arange(len(choice)), true_index], true_index, choice)
        if np.array_equal(choice, true_index):
            return None
    shape = grading.cases[0].param.shape
    return (choice, [(R * X[choice]).reshape(shape) for R, _, X in parts],
            [(S * np.abs(X[choice])).reshape(shape) for _, S, X in parts])


def _rest(group, k, size):
    """Per element: Σ over its paths of the product of every factor but column k, and of |that|."""
    rest = np.prod(np.delete(group.values, k, axis=1), axis=1)
    return (np.bincount(group.element, weights=rest, minlength=size),
            np.bincount(group.element, weights=np.abs(rest), minlength=size))


def _element_index(group, k, size):
    """Column k's node element for each parameter element, when all its paths read the same one; else None."""
    index = np.full(size, -1, dtype=np.intp)
    for element, node_element in zip(group.element, group.node_element[:, k]):
        if node_element < 0 or index[element] not in (-1, node_element):
            return None
        index[element] = node_element
    return None if (index < 0).any() else index


def _choices_text(choice, names, candidate_name, true_index=None, limit=3):
    """What was used per element: 'H_1 for every element'; with the chain rule's
    own choice, 'H_2 where H_0 belongs, H_0 where H_1 belongs'; else
    'w[0,0]: A_1, w[0,1]: A_0, …'."""
    if len(choice) > 1 and len({int(c) for c in choice}) == 1:
        return f"{candidate_name(choice[0])} for every element"
    if true_index is not None:
        pairs = list(dict.fromkeys((int(t), int(c)) for t, c in zip(true_index, choice) if t != c))
        parts = [f"{candidate_name(c)} where {candidate_name(t)} belongs" for t, c in pairs[:limit]]
        return ", ".join(parts) + (", …" if len(pairs) > limit else "")
    parts = [f"{names.element(e)}: {candidate_name(choice[e])}" for e in range(min(limit, len(choice)))]
    return ", ".join(parts) + (", …" if len(choice) > limit else "")


def _wrong_node_variants(grading):
    """Another node's activation, or another node's slope, where the chain rule has this node's."""
    cases, names = grading.cases, grading.names
    table = cases[0].table
    if any(len(case.table.groups) != 1 for case in cases):
        return []
    group, size = table.groups[0], table.size
    variants = []
    for k, column in enumerate(group.columns):
        if column.role not in ("activation", "slope") or column.node is None or column.node.size < 2:
            continue
        index = _element_index(group, k, size)
        if index is None:
            continue

        def candidates(case, k=k, role=column.role):
            case_group = case.table.groups[0]
            data = np.asarray(case_group.columns[k].node.data, dtype=np.float64).reshape(-1)
            return data if role == "activation" else case_group.alpha[0, k] * data * (1.0 - data)

        fitted = _fit(grading, lambda case, k=k: _rest(case.table.groups[0], k, size), candidates, index)
        if fitted is None:
            continue
        choice, arrays, scales = fitted
        if column.role == "activation":
            def candidate_name(c, node=column.node):
                return names.node_element(node, c)
        else:
            def candidate_name(c, node=column.node):
                element = names.node_element(node, c)
                return f"α {element} (1 − {element})"
        used = _choices_text(choice, names, candidate_name, index)
        text = f"the wrong node's {column.role} in {names.cite(column.role, column.layer)}: {used}"
        variants.append(_Variant("wrong_node", 13, text, names.factor(column.role, column.layer)[1], arrays, scales))
    return variants


def _missing_sum_variants(grading):
    """One output's path kept, where the chain rule adds up the paths through every output node."""
    cases, names = grading.cases, grading.names
    table = cases[0].table
    outputs = len(table.outputs)
    if outputs < 2 or any(len(case.table.groups) != 1 or len(case.table.outputs) != outputs for case in cases):
        return []
    if np.bincount(table.groups[0].element, minlength=table.size).max() < 2:
        return []
    good, parts = None, []
    for case, y, tolerance in zip(cases, grading.yours, grading.tolerances):
        if y.shape != case.param.shape:
            return []
        group = case.table.groups[0]
        products = np.prod(group.values, axis=1)
        key = group.element * outputs + group.output
        total = np.bincount(key, weights=products, minlength=table.size * outputs).reshape(table.size, outputs)
        scale = np.bincount(key, weights=np.abs(products), minlength=table.size * outputs).reshape(table.size, outputs)
        y = y.reshape(-1, 1)
        bound = np.maximum(np.maximum(np.abs(y), np.abs(total)), np.maximum(scale, TINY))
        ok = np.abs(y - total) <= np.reshape(tolerance, (-1, 1)) * bound
        good = ok if good is None else good & ok
        parts.append((total, scale))
    if not good.any(axis=1).all():
        return []
    choice = np.argmax(good, axis=1)
    every = np.arange(table.size)
    arrays = [total[every, choice].reshape(cases[0].param.shape) for total, _ in parts]
    scales = [scale[every, choice].reshape(cases[0].param.shape) for _, scale in parts]
    kept = _choices_text(choice, names, lambda c: table.outputs[int(c)])
    if names.chapter:
        text = (f"the sum over output nodes is missing: {names.indexed()} reaches the SSE through H_h and then "
                f"through every output node o, one chain-rule path each, added up (Σ_o, with ∂NdInpt_o/∂H_h = "
                f"v[h,o], Eq. 6.25); yours keeps only the path through {kept}")
        equation = "6.25"
    else:
        text = (f"the sum over paths is missing: {names.wrt} reaches the {names.loss} through every output, one "
                f"chain-rule path each, added up; yours keeps only the path through {kept}")
        equation = None
    return [_Variant("missing_sum", 12, text, equation, arrays, scales)]


# -- a constant factor, the last named explanation ---------------------------------------


def constant_ratio(grading):
    """'c' or 'c α^p' when yours is that multiple of autodiff everywhere (c the same in every case), else None."""
    ratios = []
    for y, case, tolerance in zip(grading.yours, grading.cases, grading.tolerances):
        mask = np.abs(case.autodiff) > 0
        if y.shape != case.autodiff.shape or not mask.any():
            return None
        ratio = y[mask] / case.autodiff[mask]
        if not np.all(np.abs(ratio - ratio[0]) <= 4 * np.max(tolerance) * np.abs(ratio[0])) or ratio[0] == 0:
            return None
        ratios.append(float(ratio[0]))
    ratios = np.array(ratios)
    if np.allclose(ratios, ratios[0], rtol=1e-8, atol=0):
        return f"{ratios[0]:.6g}"
    alphas = np.array([math.nan if case.alpha is None else case.alpha for case in grading.cases])
    if np.isnan(alphas).any():
        return None
    for power in (1, -1, 2, -2, 3, -3):
        c = ratios / alphas ** power
        if np.allclose(c, c[0], rtol=1e-8, atol=0):
            return f"{c[0]:.6g} α^{power}"
    return None


def diagnose(grading):
    """Every variant that reproduces the learner's numbers in every case, simplest first."""
    singles = _single_alterations(grading)
    candidates = [variant for _, variant in singles if variant is not None]
    for builder in (_transposed, _swapped_layers, _missing_sum_variants, _wrong_node_variants, _bias_variants):
        candidates += builder(grading)
    found = [variant for variant in candidates if grading.reproduces(variant)]
    if not found:
        found = [variant for variant in _pair_variants(singles, grading) if grading.reproduces(variant)]
    return sorted(found, key=lambda variant: variant.rank)

