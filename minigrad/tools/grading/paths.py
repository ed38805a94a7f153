"""The chain rule of one case, read off its graph with `minigrad.explain`.

`path_table(loss, param)` calls ``explain`` for every element of the
parameter and sorts every factor of every path into kinds, by its op and
place on the path (the loss's own factor, a sigmoid's slope, a weight, the
activation), grouping the paths that share one sequence of kinds so that
the mistakes (`minigrad.tools.grading.mistakes`) can alter one kind at a
time with numpy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

from ...core import ops
from ...core.value import Value
from ..explain import explain

TINY = np.finfo(np.float64).tiny

# Transfer functions: the loss's own factor stops at the first of them (or at a product).
ACTIVATION_OPS = (ops.SIGMOID, ops.TANH, ops.RELU)


@dataclass
class Column:
    """One kind of factor, present on every path of a group.

    ``role``: ``"loss"`` (the product of the factors above the first sigmoid
    or product: −E_o for the SSE), ``"slope"`` (a sigmoid's α F (1 − F)),
    ``"weight"`` (a product's factor that is a weight, v[h,o]),
    ``"activation"`` (the product's factor that multiplies the parameter:
    H_h, I_i) or ``"other"``; ``layer`` counts the sigmoids above it.
    ``node``: the array node whose elements the factor reads (the sigmoid's
    output, the activation), when every path of the group reads the same one.
    ``factors``: the `Factor`s of the first path, for descriptions.
    """

    role: str
    layer: int
    node: Optional[Value]
    factors: list


@dataclass
class Group:
    """The paths that share one sequence of columns: ``element`` (n,) is the
    parameter element (flat) each path ends at, ``values`` (n, k) its
    factors, ``node_element`` (n, k) the element of the column's node (−1
    where none), ``F`` and ``alpha`` (n, k) the sigmoid's value and gain
    (nan elsewhere), ``output`` (n,) the output element each path leaves
    the loss through (an index into the table's ``outputs``)."""

    columns: list
    element: np.ndarray
    values: np.ndarray
    node_element: np.ndarray
    F: np.ndarray
    alpha: np.ndarray
    output: np.ndarray

    def column(self, role, layer=None):
        for k, column in enumerate(self.columns):
            if column.role == role and (layer is None or column.layer == layer):
                return k
        return None

    def one_minus_F(self, k):
        """1 − F for slope column k, from the engine's own slope (no cancellation)."""
        F, alpha, slope = self.F[:, k], self.alpha[:, k], self.values[:, k]
        with np.errstate(divide="ignore", invalid="ignore"):
            accurate = slope / (alpha * F)
        return np.where(F > 0, accurate, 1.0 - F)


@dataclass
class Table:
    """Every chain-rule path of one case: groups, output labels, sizes."""

    groups: list
    outputs: list
    size: int
    slope_layers: tuple


def _flat(node, index):
    shape = node.shape
    return int(np.ravel_multi_index(index, shape)) if shape else 0


def _partner(factor):
    """(node, flat element) of the other operand of a product factor; the element is −1 when unknown."""
    node, position = factor.child, factor.position
    other = node.parents[1 - position]
    if other.ndim == 0:
        return other, 0
    if factor.op is ops.MATMUL:
        a, b = node.parents
        if a.ndim > 2 or b.ndim > 2:
            return other, -1
        if position == 1:  # parent is b, partner a[..., k] with k = b's row
            k = factor.parent_index[0]
            index = (k,) if a.ndim == 1 else (factor.child_index[0], k)
        else:
            k = factor.parent_index[-1]
            index = (k,) if b.ndim == 1 else (k, factor.child_index[-1])
        return other, _flat(other, index)
    child_index = factor.child_index
    shape = other.shape
    if len(child_index) < len(shape):
        return other, -1
    tail = child_index[len(child_index) - len(shape):]
    return other, _flat(other, tuple(0 if size == 1 else k for k, size in zip(tail, shape)))


def sigmoid_gain(node):
    # NOTE: a sigmoid node's ``saved`` is (alpha, e, r) (see minigrad.core.ops.Sigmoid).
    return float(node.saved[0])


class _Term(NamedTuple):
    """One non-identity factor of one path (the loss's factors folded into one): see `Column`."""

    role: str
    layer: int
    value: float
    node: Optional[Value]
    element: int
    F: float
    alpha: float
    factors: list


def _path_terms(factors, param):
    """The `_Term`s of one path, the loss's own first, and the label of the output it leaves the loss through."""
    terms = []
    loss_value, loss_factors = 1.0, []
    output = None
    slopes = 0
    for factor in factors:
        if factor.is_identity:
            continue
        if factor.op is ops.SIGMOID:
            role = "slope"
        elif factor.op.product:
            role = "activation" if factor.parent is param else "weight"
        else:
            role = "other"
        if output is None and role == "other" and factor.op not in ACTIVATION_OPS:
            loss_value *= factor.value
            loss_factors.append(factor)
            continue
        if output is None:
            output = factor.child_name
        node, element, F, alpha = None, -1, math.nan, math.nan
        if role == "slope":
            slopes += 1
            node, element = factor.child, _flat(factor.child, factor.child_index)
            F = float(np.asarray(factor.child.data, dtype=np.float64).reshape(-1)[element])
            alpha = sigmoid_gain(factor.child)
        elif role == "activation":
            node, element = _partner(factor)
        terms.append(_Term(role, slopes, factor.value, node, element, F, alpha, [factor]))
    if output is None:
        output = factors[-1].parent_name if factors else ""
    return [_Term("loss", 0, loss_value, None, -1, math.nan, math.nan, loss_factors)] + terms, output


def path_table(loss, param):
    """Every path from ``loss`` to every element of ``param``, from `explain`, grouped by structure."""
    building = {}
    outputs = {}
    size = param.size
    for flat, index in enumerate(np.ndindex(*param.shape)):
        explanation = explain(loss, param, index)
        for factors in explanation.factors:
            terms, output = _path_terms(factors, param)
            shared = [term.node is not None and term.node.ndim > 0 and term.element >= 0 for term in terms]
            signature = tuple((term.role, term.layer, id(term.node) if node_shared else None)
                              for term, node_shared in zip(terms, shared))
            if signature not in building:
                columns = [Column(term.role, term.layer, term.node if node_shared else None, list(term.factors))
                           for term, node_shared in zip(terms, shared)]
                building[signature] = (columns, [])
            building[signature][1].append((flat, terms, outputs.setdefault(output, len(outputs))))
    groups = []
    for columns, rows in building.values():
        groups.append(Group(
            columns=columns,
            element=np.array([flat for flat, _, _ in rows], dtype=np.intp),
            values=np.array([[term.value for term in terms] for _, terms, _ in rows], dtype=np.float64),
            node_element=np.array([[term.element for term in terms] for _, terms, _ in rows], dtype=np.intp),
            F=np.array([[term.F for term in terms] for _, terms, _ in rows], dtype=np.float64),
            alpha=np.array([[term.alpha for term in terms] for _, terms, _ in rows], dtype=np.float64),
            output=np.array([output for _, _, output in rows], dtype=np.intp)))
    layers = sorted({column.layer for group in groups for column in group.columns if column.role == "slope"})
    return Table(groups, list(outputs), size, tuple(layers))

