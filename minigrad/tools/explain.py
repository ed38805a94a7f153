"""The chain rule, read off the recorded graph.

``explain(loss, param, index)`` walks the graph that the forward pass recorded,
from ``loss`` down to one element of ``param``, lists every path between them
and, on each path, every local derivative: the op, its formula (from the op's
``partials``, written with the chapter's names where the graph has them) and
its value.  The sum over paths of the products of the factors is the chain
rule; it is shown beside ``param.grad[index]`` from ``backward()``.

On the chapter's network the factors for ``v[h,o]`` are Eq. 6.28 term by term:

    ∂SSE/∂A_o            = −E_o = E_o·(−1)    (sse,      Eq. 6.17·6.21)
    ∂A_o/∂NdInpt_o       = α F_o (1 − F_o)    (sigmoid,  Eq. 6.23)
    ∂NdInpt_o/∂v[h,o]    = H_h                (mul or matmul, Eq. 6.27; through add: 1)

and ``w[i,h]`` has one such path through every output node o, summed, with
two more factors below NdInpt_o:

    ∂NdInpt_o/∂H_h              = v[h,o]             (from Eq. 6.25)
    ∂H_h/∂NdInpt_hidden_h       = α H_h (1 − H_h)    (sigmoid, Eq. 6.2 at a hidden node)
    ∂NdInpt_hidden_h/∂w[i,h]    = I_i                (Eq. 6.27 one layer down)

Works on graphs of scalar Values (a network built weight by weight) and on
tensor graphs: there each step is a pair (node, element index) and the factor
is the Jacobian entry ∂node[element]/∂parent[element'], obtained from the op's
own ``backward`` with a one-hot gradient, so every op is covered exactly as
backward sees it.

Command line::

    python -m minigrad explain --layers 2 2 2 --weight v --index 1 0 [--scalar] [--latex]

builds the seeded network from tensors and ``@`` (``--scalar``: weight by
weight from scalar Values, whose nodes carry the chapter's names) and prints
the explanation.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..core import namespace
from ..core import ops
from ..core.backward import topological_order, unbroadcast
from ..core.names import SSE_OPS as _SSE_OPS, graph_names, graph_names_of as _graph_names, \
    input_multipliers as _input_multipliers, sse_parent_role as _sse_parent_role
from .compare import element_name, relative_difference
from ..core.value import Value

__all__ = ["explain", "Explanation", "Factor", "PathExplosionError", "graph_names", "partial_formula"]

DEFAULT_MAX_PATHS = 10_000


class PathExplosionError(RuntimeError):
    """More paths lead from the loss to the element than ``max_paths``."""


@dataclass(frozen=True)
class Factor:
    """One local derivative on a path: ∂child[child_index]/∂parent[parent_index].

    ``op`` is the child's `Op` and ``op_name`` its name; ``partial`` is the
    op's own text for this parent (``op.partials``); ``formula`` is that
    formula in the graph's names (e.g. ``−E_0 = E_0·(−1)``, ``α·A_0·(1 − A_0)``,
    ``H_1``); ``equation`` is the chapter's equation number, or None.
    """

    child: Value
    child_index: tuple
    parent: Value
    parent_index: tuple
    op: object
    position: int
    partial: str
    formula: str
    equation: Optional[str]
    value: float
    child_name: str
    parent_name: str

    @property
    def op_name(self):
        return self.op.name

    @property
    def is_identity(self):
        """True for a factor that is 1 by the op's nature (add, reshape, ...): folded
        into the next factor when the chain is printed, as the chapter does."""
        return self.op.passes_gradient(self.position, self.child)


class Explanation:
    """Every chain-rule path from ``loss`` to ``param[index]``.

    ``paths``: one list per path of ``(node, element_index)`` steps from the
    loss down to the parameter, both included (``element_index`` is ``()`` for
    a scalar node).  ``factors``: one list of `Factor` per path (one factor
    per edge, loss side first).  ``products``: each path's product.
    ``nodes``: the set of Values on any path (what ``draw(highlight=...)``
    reads).  ``total``: the sum of the products (math.fsum); ``grad``:
    ``param.grad[index]`` as computed by backward; ``difference``:
    ``total − grad``.
    """

    def __init__(self, loss, param, index, paths, factors, names):
        self.loss = loss
        self.param = param
        self.index = index
        self.paths = paths
        self.factors = factors
        self.products = [math.prod(factor.value for factor in chain) for chain in factors]
        self.total = math.fsum(self.products)
        self.grad = float(np.asarray(param.grad)[index]) if index != () else float(np.asarray(param.grad))
        self.difference = self.total - self.grad
        self.nodes = {node for path in paths for node, _ in path}
        self._names = names

    @property
    def relative_difference(self):
        """|total − grad| / max(|total|, |grad|, Σ|products|, tiny): `minigrad.compare.relative_difference`,
        with the paths' products as the terms of the sum."""
        return relative_difference(self.total, self.grad, math.fsum(abs(product) for product in self.products))

    def agrees(self, tolerance=1e-12):
        """True when the sum over paths equals ``param.grad[index]`` to ``tolerance`` (relative)."""
        return self.relative_difference <= tolerance

    @property
    def target_name(self):
        return element_name(self._names[self.param], self.index)

    @property
    def loss_name(self):
        return self._names[self.loss]

    # -- text ------------------------------------------------------------------

    def chain(self, path_number):
        """The factors of one path with identity factors (add, ...) folded into
        the next one, as the chapter writes the chain: list of
        ``(numerator, denominator, formula, ops, equation, value)``."""
        folded = []
        pending = []
        for factor in self.factors[path_number]:
            if factor.is_identity:
                pending.append(factor)
                continue
            top = pending[0] if pending else factor
            ops = [f.op_name for f in pending] + [factor.op_name]
            value = math.prod(f.value for f in pending) * factor.value
            folded.append((top.child_name, factor.parent_name, factor.formula, ops, factor.equation, value))
            pending = []
        if pending:
            value = math.prod(f.value for f in pending)
            folded.append((pending[0].child_name, pending[-1].parent_name, "1", [f.op_name for f in pending],
                           None, value))
        return folded

    def __str__(self):
        count = len(self.paths)
        lines = [f"∂{self.loss_name}/∂{self.target_name} on the recorded graph: "
                 f"{count} path{'s' if count != 1 else ''}"]
        for number in range(count):
            steps = " ← ".join(element_name(self._names[node], index) for node, index in self.paths[number])
            lines += ["", f"path {number + 1}: {steps}"]
            rows = []
            for numerator, denominator, formula, ops, equation, value in self.chain(number):
                rows.append((f"∂{numerator}/∂{denominator}", f"= {formula}", " → ".join(ops),
                             f"Eq. {equation}" if equation else "", f"= {value: .12g}"))
            rows.append(("product", "", "", "", f"= {self.products[number]: .12g}"))
            widths = [max(len(row[k]) for row in rows) for k in range(5)]
            for row in rows:
                lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        grad_label = f"{self._names[self.param]}.grad" + (f"[{', '.join(map(str, self.index))}]" if self.index else "")
        labels = (f"sum over {count} path{'s' if count != 1 else ''}", f"{grad_label} (backward)", "difference")
        width = max(map(len, labels))
        lines += ["",
                  f"{labels[0].ljust(width)} = {self.total: .17g}",
                  f"{labels[1].ljust(width)} = {self.grad: .17g}",
                  f"{labels[2].ljust(width)} = {self.difference: .3e}"
                  f"  ({'agrees' if self.agrees() else 'DISAGREES'} to 1e-12 relative)"]
        return "\n".join(lines)

    def __repr__(self):
        count = len(self.paths)
        return (f"<Explanation ∂{self.loss_name}/∂{self.target_name}: {count} path{'s' if count != 1 else ''}, "
                f"total {self.total:.6g}, grad {self.grad:.6g}>")

    def _repr_html_(self):
        """Jupyter: one table per path (factor, formula, ops, equation, value), the
        sum beside ``.grad``, and the chain rule as math (MathJax)."""
        def cell(text, align="left"):
            return f"<td style='text-align:{align}'>{html.escape(str(text))}</td>"

        count = len(self.paths)
        parts = [f"<div><p><b>∂{html.escape(self.loss_name)}/∂{html.escape(self.target_name)}</b> on the "
                 f"recorded graph: {count} path{'s' if count != 1 else ''}</p>"]
        for number in range(count):
            steps = " ← ".join(element_name(self._names[node], index) for node, index in self.paths[number])
            rows = []
            for numerator, denominator, formula, ops, equation, value in self.chain(number):
                rows.append("<tr>" + cell(f"∂{numerator}/∂{denominator}") + cell(f"= {formula}")
                            + cell(" → ".join(ops)) + cell(f"Eq. {equation}" if equation else "")
                            + cell(f"{value:.12g}", "right") + "</tr>")
            rows.append("<tr><td colspan='4'><i>product</i></td>" + cell(f"{self.products[number]:.12g}", "right")
                        + "</tr>")
            parts.append(f"<p>path {number + 1}: {html.escape(steps)}</p><table>{''.join(rows)}</table>")
        verdict = "agrees" if self.agrees() else "DISAGREES"
        parts.append(f"<p>sum over {count} path{'s' if count != 1 else ''} = {self.total:.17g}<br>"
                     f"<code>.grad</code> (backward) = {self.grad:.17g}<br>"
                     f"difference = {self.difference:.3e} ({verdict} to 1e-12 relative)</p>")
        parts.append(f"<p>$${html.escape(self.to_latex())}$$</p></div>")
        return "".join(parts)

    def _repr_latex_(self):
        return f"$${self.to_latex()}$$"

    def to_latex(self):
        """The chain-rule equation in the chapter's notation, with the numbers.

        ∂SSE/∂param = Σ over paths of the product of the factors (identity
        factors folded), written three times, as Eq. 6.28–6.30 are: as partial
        derivatives, as formulas, as numbers; then the sum beside ``.grad``.
        A LaTeX ``aligned`` block.
        """
        chains = [self.chain(number) for number in range(len(self.paths))]
        symbols = " + ".join(
            " ".join(rf"\frac{{\partial {_latex_name(n)}}}{{\partial {_latex_name(d)}}}" for n, d, *_ in chain)
            for chain in chains)
        formulas = " + ".join(
            r" \cdot ".join(_latex_formula(formula.split(" = ")[-1]) for _, _, formula, *_ in chain)
            for chain in chains)
        numbers = " + ".join(
            "(" + r" \cdot ".join(f"({value:.6g})" if value < 0 else f"{value:.6g}" for *_, value in chain) + ")"
            for chain in chains)
        left = rf"\frac{{\partial {_latex_name(self.loss_name)}}}{{\partial {_latex_name(self.target_name)}}}"
        lines = [rf"{left} &= {symbols}", rf"&= {formulas}", rf"&= {numbers}", rf"&= {self.total:.12g}",
                 rf"\texttt{{.grad}} &= {self.grad:.12g}"]
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------


def _latex_name(name):
    """``v[1,0]`` → ``v_{1,0}``; ``NdInpt_hidden_1`` → ``\\mathit{NdInpt}^{hidden}_{1}``."""
    match = re.fullmatch(r"(.*?)(?:_(\d+)|\[([\d,]+)\])", name)
    stem, sub = (match.group(1), match.group(2) or match.group(3)) if match else (name, None)
    if stem.startswith("NdInpt_hidden"):
        stem = r"\mathit{NdInpt}^{hidden}"
    elif stem == "NdInpt":
        stem = r"\mathit{NdInpt}"
    elif stem == "SSE":
        stem = r"\mathit{SSE}"
    elif len(stem) > 1:
        stem = r"\mathit{" + stem.replace("_", r"\_") + "}"
    return f"{stem}_{{{sub}}}" if sub else stem


def _latex_formula(text):
    """The factor's text formula as LaTeX."""
    out = text.replace("α", r"\alpha ").replace("·", " ").replace("−", "-").replace("²", "^2")
    return re.sub(r"[A-Za-z_]+(?:_\d+|\[[\d,]+\])", lambda match: _latex_name(match.group(0)), out)


def partial_formula(node, position, names):
    """``(partial, formula, equation)`` for ∂node/∂(parent ``position``), as `explain` writes a factor.

    ``partial`` is the op's own text; ``formula`` the same in ``names``
    (`graph_names`); ``equation`` the chapter's number, or None.  On scalar
    nodes this is explain's factor; arrays are named whole (``H``, not ``H_h``).
    """
    return _formula(node, (), node.parents[position], (), position, names)


# ---------------------------------------------------------------------------
# Formulas of the factors
# ---------------------------------------------------------------------------


def _is_activation(name):
    return bool(re.fullmatch(r"(H\d*|I|A)(_\d+)?", name))


def _is_output_activation(name):
    return bool(re.fullmatch(r"A(_\d+)?", name))


def _formula(node, child_index, parent, parent_index, position, names):
    """(partial, formula in the graph's names, chapter equation) for one factor.

    The op's own partial (its template in ``op.partials``), filled with the
    names of the elements it involves; the chapter's equation from the op,
    refined where the names say which layer a factor belongs to.
    """
    op = node.op
    partial = op.partial(position, node)
    equation = op.equation(position, node)
    symbols = {"out": element_name(names[node], child_index)}
    if op in _SSE_OPS:
        is_actual, o = _sse_parent_role(node, position)
        if o is None and parent_index:  # the array form: the element's index
            o = ",".join(map(str, parent_index))
        symbols["E"] = "E" if o is None else f"E_{o}"
    elif op is ops.SIGMOID:
        # Eq. 6.23 is Eq. 6.2 at an output node (A_o = F_o); at a hidden node
        # (H_h), or any other sigmoid, the slope is Eq. 6.2 itself.
        if _is_output_activation(names[node]):
            equation = "6.23"
    elif op.product:  # mul, matmul: the partial for one operand is the other
        other = node.parents[1 - position]
        other_index = _matmul_partner_index(node, child_index, parent_index, position) \
            if op is ops.MATMUL and parent_index else _broadcast_index(other, child_index)
        other_name = element_name(names[other], other_index) if other_index is not None else names[other]
        symbols["a" if position == 1 else "b"] = other_name
        if parent.is_leaf and _is_activation(other_name):
            # ∂NdInpt/∂weight is the activation it multiplies: Eq. 6.27 at the
            # output layer (H_h), the same step one layer down for w (I_i).
            equation = "6.27 one layer down" if other_name.startswith("I") else "6.27"
        elif _is_activation(element_name(names[parent], parent_index)) and re.match(r"v(\[|$)", names[other]):
            equation = "6.25"  # ∂NdInpt_o/∂H_h = v[h,o], from NdInpt_o = Σ_h v[h,o] H_h
    elif len(node.parents) >= 1:
        for symbol, parent_position in (("a", 0), ("b", 1)):
            if parent_position < len(node.parents):
                other = node.parents[parent_position]
                other_index = _broadcast_index(other, child_index)
                symbols[symbol] = element_name(names[other], other_index) if other_index is not None \
                    else names[other]
    return partial, op.partial(position, node, **symbols), equation


def _broadcast_index(other, child_index):
    """The element of an elementwise op's other operand that meets child_index (numpy broadcasting)."""
    shape = np.shape(other.data)
    if not shape:
        return ()
    tail = child_index[len(child_index) - len(shape):] if len(child_index) >= len(shape) else None
    if tail is None:
        return None
    return tuple(0 if size == 1 else k for k, size in zip(tail, shape))


def _matmul_partner_index(node, child_index, parent_index, position):
    """For out = a @ b (1-D or 2-D operands): the element of the other operand
    that multiplies parent[parent_index] in out[child_index]."""
    a, b = node.parents
    a_dim, b_dim = np.ndim(a.data), np.ndim(b.data)
    if a_dim > 2 or b_dim > 2:
        return None
    if position == 1:  # parent is b; partner is a[..., k] with k = b's row
        k = parent_index[0]
        return (k,) if a_dim == 1 else (child_index[0], k)
    k = parent_index[-1]  # parent is a; partner is b[k, j]
    return (k,) if b_dim == 1 else (k, child_index[-1])


# ---------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------


def _one_hot(data, index, fill):
    if type(data) is float:
        return fill
    seed = np.zeros(np.shape(data), dtype=np.asarray(data).dtype)
    seed[index] = fill
    return seed


def _jacobian_rows(node, index):
    """For each parent: (∂node[index]/∂parent, mask of the elements it depends on).

    The values come from the op's own backward with a one-hot gradient, reduced
    to the parent's shape exactly as backward does.
    # NOTE: the mask comes from a NaN-hot gradient: NaN·0 is NaN, so an element
    # that the op connects is marked even where its derivative happens to be 0
    # (an input I_i = 0), and such a path is listed with its factor 0.
    """
    values = node.op.gradients(_one_hot(node.data, index, 1.0), node)
    with np.errstate(invalid="ignore"):
        marks = node.op.gradients(_one_hot(node.data, index, math.nan), node)
    rows = []
    for parent, value, mark in zip(node.parents, values, marks):
        if value is None or not parent.requires_grad:
            rows.append(None)
            continue
        value = unbroadcast(value, parent.data)
        with np.errstate(invalid="ignore"):
            mark = unbroadcast(mark, parent.data) if mark is not None else value
        connected = np.isnan(mark) | (np.asarray(value) != 0)
        rows.append((np.asarray(value, dtype=np.float64), connected))
    return rows


def _normalize_index(param, index):
    shape = np.shape(param.data)
    if index is None or index == ():
        if shape and int(np.prod(shape)) != 1:
            raise IndexError(f"explain: param has shape {shape}; give the index of one element")
        return tuple(0 for _ in shape)
    if isinstance(index, (int, np.integer)):
        index = (int(index),)
    index = tuple(int(k) for k in index)
    if not shape:
        raise IndexError(f"explain: param is a scalar Value; its index must be None or (), got {index}")
    if len(index) != len(shape):
        raise IndexError(f"explain: index {index} has {len(index)} entries but param has shape {shape}")
    normalized = []
    for k, size in zip(index, shape):
        if not -size <= k < size:
            raise IndexError(f"explain: index {index} is out of range for param of shape {shape}")
        normalized.append(k % size)
    return tuple(normalized)


def explain(loss: Value, param: Value, index: int | tuple[int, ...] | None = None, *,
            max_paths: int = DEFAULT_MAX_PATHS) -> Explanation:
    """Every chain-rule path from ``loss`` down to ``param[index]``, factor by factor.

    ``loss`` is a one-element Value with a recorded graph; ``param`` a Value
    in that graph (usually a weight: a leaf), ``index`` the element (an int or
    a tuple; None or () for a scalar Value).  If ``param.grad`` is None,
    ``loss.backward()`` is called once; otherwise the existing ``.grad`` is
    used (if it has accumulated over several backward calls, ``.total`` and
    ``.grad`` will differ, which is the point of showing both).

    Raises ValueError when ``param`` is not in the graph of ``loss`` (or needs
    no gradient), IndexError for an index that does not fit ``param``, and
    `PathExplosionError` when more than ``max_paths`` paths lead there.
    Returns an `Explanation`.
    """
    if not isinstance(loss, Value) or not isinstance(param, Value):
        raise TypeError("explain: loss and param must be Values")
    namespace.numpy_only([loss], "explain")
    if loss.size != 1:
        raise ValueError(f"explain: loss must have one element, it has shape {loss.shape}")
    if not param.requires_grad:
        raise ValueError(f"explain: param {param.name or ''} does not require grad, so it has no gradient")
    target_index: tuple[int, ...] = _normalize_index(param, index)
    nodes = topological_order(loss)[::-1]  # loss first, each node before its parents
    if param not in set(nodes):
        raise ValueError(
            f"explain: param {param.name or repr(param)} is not in the graph of loss "
            "(no path from the loss reaches it; was the loss computed from this very Value?)")
    if param.grad is None:
        loss.backward(retain_graph=True)  # the graph stays usable for the caller

    # Which nodes can reach param (each node comes before its parents in `nodes`).
    reaches = {param}
    for node in reversed(nodes):
        if node is not param and any(parent in reaches for parent in node.parents):
            reaches.add(node)

    weight_names = _input_multipliers(nodes)
    names = _graph_names(loss, nodes, weight_names)
    loss_index = () if type(loss.data) is float else tuple(0 for _ in np.shape(loss.data))
    target = (param, target_index)

    # Post-order walk over (node, element) states, each state's paths to the
    # target built once from its parents' (memo), iteratively.
    suffixes: dict[tuple[Value, tuple[int, ...]], list[tuple]] = {target: [()]}
    edges: dict[tuple[Value, tuple[int, ...]], list] = {}
    stack = [((loss, loss_index), False)]
    while stack:
        state, expanded = stack.pop()
        if state in suffixes:
            continue
        node, element = state
        if not expanded:
            found = []
            if node is not param and node.parents:
                for position, (parent, row) in enumerate(zip(node.parents, _jacobian_rows(node, element))):
                    if row is None or parent not in reaches:
                        continue
                    values, connected = row
                    candidates = [target_index] if parent is param else \
                        ([()] if values.ndim == 0 else [tuple(int(k) for k in j) for j in np.argwhere(connected)])
                    for parent_index in candidates:
                        if not connected[parent_index]:
                            continue
                        partial, formula, equation = _formula(node, element, parent, parent_index, position, names)
                        factor = Factor(node, element, parent, parent_index, node.op, position, partial, formula,
                                        equation, float(values[parent_index]), element_name(names[node], element),
                                        element_name(names[parent], parent_index))
                        found.append(((parent, parent_index), factor))
            edges[state] = found
            stack.append((state, True))
            for parent_state, _ in found:
                if parent_state not in suffixes:
                    stack.append((parent_state, False))
            continue
        paths = []
        for parent_state, factor in edges.pop(state):
            for suffix in suffixes[parent_state]:
                paths.append(((state, factor),) + suffix)
                if len(paths) > max_paths:
                    raise PathExplosionError(
                        f"explain: more than {max_paths} paths lead from the loss to "
                        f"{element_name(names[param], target_index)}; pass a larger max_paths or explain a smaller graph")
        suffixes[state] = paths

    found_paths = suffixes[(loss, loss_index)]
    steps = [[step for step, _ in path] + [target] for path in found_paths]
    factors = [[factor for _, factor in path] for path in found_paths]
    return Explanation(loss, param, target_index if np.ndim(param.data) else (), steps, factors, names)
