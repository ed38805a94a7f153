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
`minigrad.compare.relative_difference` is: against the size of the terms an
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

Bad learner functions (one that raises, returns the wrong shape, nan or
something that is not numbers) raise `DerivationError`, a ValueError whose
message says what and where (file and line of the learner's code).

Command line::

    python -m minigrad check my_derivation.py:my_dSSE_dv --weight v [--layers 2 2 2]

exits 0 when the formula is right and 1, with the diagnosis, when it is not.
"""

from __future__ import annotations

import html
import inspect
import itertools
import linecache
import math
import os
import threading
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from collections.abc import Callable
from typing import Any, NamedTuple, Optional

import numpy as np

from ..core import ops
from ..core.backward import topological_order
from .compare import element_name
from .explain import explain
from ..nn.modules import MLP, ScalarMLP, example_network, example_pattern, initial_arrays
from ..core.value import Value, sse

__all__ = ["check_derivation", "DerivationReport", "DerivationError", "ForwardValues", "Row",
           "DEFAULT_TOLERANCE", "DEFAULT_RANDOM_CASES", "CHAPTER_PARAMETERS"]

#: Largest relative difference accepted (see the module docstring for how it is scaled).
DEFAULT_TOLERANCE = 1e-9

#: Random cases tried besides the given one.
DEFAULT_RANDOM_CASES = 5

#: Rows a report prints (all of them are in ``report.rows``).
SHOWN_ROWS = 24

#: The parameters of the chapter's network that the MLP form checks, with their shapes' names.
CHAPTER_PARAMETERS = {"v": "(H, O)", "w": "(I, H)", "bias_output": "(O,)", "bias_hidden": "(H,)"}

_EPS = np.finfo(np.float64).eps
_TINY = np.finfo(np.float64).tiny

# Transfer functions: the loss's own factor stops at the first of them (or at a product).
_ACTIVATION_OPS = (ops.SIGMOID, ops.TANH, ops.RELU)

# Gains of the random cases: away from 1, so that a missing α shows.
_ALPHA_RANGES = ((0.5, 0.9), (1.15, 3.0))


class DerivationError(ValueError):
    """The learner's function could not be graded.

    ``reason`` is one of ``"raised"`` (it raised an exception: ``original``
    holds it), ``"shape"`` (an array of the wrong shape that no usual mistake
    explains), ``"not_finite"`` (nan or inf) and ``"not_numeric"`` (None, a
    string, a Value, ...).  ``case`` describes the case it failed on.
    """

    def __init__(self, message, reason, case=None, original=None):
        super().__init__(message)
        self.reason = reason
        self.case = case
        self.original = original


class ForwardValues:
    """One forward pass, by name: ``q.H`` or ``q["H"]``, each a plain numpy
    array (a fresh copy for every call) or a float (``alpha``).

    For the chapter's network: ``I`` (I,), ``w`` (I, H), ``bias_hidden`` (H,),
    ``NdInpt_hidden`` (H,), ``H`` (H,), ``v`` (H, O), ``bias_output`` (O,),
    ``NdInpt`` (O,), ``A`` (O,) with ``F`` the same array (A_o = F_o),
    ``Desired`` (O,), ``E`` = Desired − A (O,), ``alpha``.  A network without
    biases has zero bias vectors.  A name that is not there is an
    AttributeError that lists the names that are.
    """

    __slots__ = ("_values",)

    def __init__(self, values):
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name):
        values = object.__getattribute__(self, "_values")
        if name in values:
            return values[name]
        raise AttributeError(f"q has no {name!r}; it has {', '.join(values)}")

    def __setattr__(self, name, value):
        raise AttributeError("q is read-only: compute into a variable of your own")

    def __getitem__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"q has no {name!r}; it has {', '.join(self._values)}") from None

    def __contains__(self, name):
        return name in self._values

    def __iter__(self):
        return iter(self._values)

    def keys(self):
        return self._values.keys()

    def __dir__(self):
        return list(self._values)

    def __repr__(self):
        parts = [f"{name}={value:g}" if isinstance(value, float) else f"{name}{np.shape(value)}"
                 for name, value in self._values.items()]
        return f"ForwardValues({', '.join(parts)})"


# ---------------------------------------------------------------------------
# The chain rule of one case, read off its graph with explain
# ---------------------------------------------------------------------------


@dataclass
class _Column:
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
class _Group:
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
class _Table:
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


def _sigmoid_gain(node):
    # NOTE: a sigmoid node's ``saved`` is (alpha, e, r) (see minigrad.core.ops.Sigmoid).
    return float(node.saved[0])


class _Term(NamedTuple):
    """One non-identity factor of one path (the loss's factors folded into one): see `_Column`."""

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
        if output is None and role == "other" and factor.op not in _ACTIVATION_OPS:
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
            alpha = _sigmoid_gain(factor.child)
        elif role == "activation":
            node, element = _partner(factor)
        terms.append(_Term(role, slopes, factor.value, node, element, F, alpha, [factor]))
    if output is None:
        output = factors[-1].parent_name if factors else ""
    return [_Term("loss", 0, loss_value, None, -1, math.nan, math.nan, loss_factors)] + terms, output


def _path_table(loss, param):
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
                columns = [_Column(term.role, term.layer, term.node if node_shared else None, list(term.factors))
                           for term, node_shared in zip(terms, shared)]
                building[signature] = (columns, [])
            building[signature][1].append((flat, terms, outputs.setdefault(output, len(outputs))))
    groups = []
    for columns, rows in building.values():
        groups.append(_Group(
            columns=columns,
            element=np.array([flat for flat, _, _ in rows], dtype=np.intp),
            values=np.array([[term.value for term in terms] for _, terms, _ in rows], dtype=np.float64),
            node_element=np.array([[term.element for term in terms] for _, terms, _ in rows], dtype=np.intp),
            F=np.array([[term.F for term in terms] for _, terms, _ in rows], dtype=np.float64),
            alpha=np.array([[term.alpha for term in terms] for _, terms, _ in rows], dtype=np.float64),
            output=np.array([output for _, _, output in rows], dtype=np.intp)))
    layers = sorted({column.layer for group in groups for column in group.columns if column.role == "slope"})
    return _Table(groups, list(outputs), size, tuple(layers))


@dataclass
class _Case:
    """One graph the learner's formula is tried on."""

    description: str
    values: dict            # what the learner's q holds
    param: Value
    autodiff: np.ndarray    # param.grad from backward, float64
    table: _Table
    alpha: Optional[float]
    loss: Value
    nodes: list              # the graph, parents first
    activations: dict = field(default_factory=dict)  # name -> 1-D node, for the swapped-layer variants

    def sums(self, alter=None):
        """(Σ over paths of the products, Σ of their absolute values) per element, shaped like the
        parameter; ``alter(group, values)`` may change a copy of a group's factor values first."""
        total = np.zeros(self.table.size)
        scale = np.zeros(self.table.size)
        for group in self.table.groups:
            values = group.values if alter is None else alter(group, group.values.copy())
            if values is None:
                return None, None
            products = np.prod(values, axis=1)
            total += np.bincount(group.element, weights=products, minlength=self.table.size)
            scale += np.bincount(group.element, weights=np.abs(products), minlength=self.table.size)
        shape = self.param.shape
        return total.reshape(shape), scale.reshape(shape)

    @cached_property
    def scale(self):
        """Per element: Σ over its paths of |product|, the size of the terms its gradient adds up."""
        return self.sums()[1]

    @cached_property
    def tolerance_factor(self):
        """Per element: how many ε a formula that forms 1 − F by subtraction may be off by:
        Σ over the path's sigmoids of 1/(1 − F), the largest over its paths."""
        condition = np.ones(self.table.size)
        for group in self.table.groups:
            per_path = np.ones(len(group.element))
            for k, column in enumerate(group.columns):
                if column.role == "slope":
                    per_path = per_path + 1.0 / np.maximum(group.one_minus_F(k), _TINY)
            np.maximum.at(condition, group.element, per_path)
        return condition.reshape(self.param.shape)


def _finish_case(description, loss, param, values, alpha, activations):
    """Backward and the path table for one recorded graph."""
    if not isinstance(loss, Value) or loss.size != 1:
        raise TypeError(f"check_derivation: the loss must be a one-element Value, got {loss!r}")
    original = param.grad
    param.zero_grad()
    loss.backward()
    if param.grad is None:
        raise ValueError("check_derivation: the loss does not depend on the parameter (its .grad stayed None)")
    autodiff = np.array(param.grad, dtype=np.float64).reshape(param.shape)
    table = _path_table(loss, param)
    param.grad = original
    return _Case(description, values, param, autodiff, table, alpha, loss, topological_order(loss), activations)


# -- the chapter's network ------------------------------------------------------


def _chapter_graph(state, alpha, inputs, desired, has_bias):
    """The chapter's network for one pattern, every node named as in the chapter."""
    I = Value(inputs, name="I", requires_grad=False)
    w, v = Value(state["w"], name="w"), Value(state["v"], name="v")
    NdInpt_hidden = I @ w
    params = {"w": w, "v": v}
    if has_bias:
        params["bias_hidden"] = Value(state["bias_hidden"], name="bias_hidden")
        NdInpt_hidden = NdInpt_hidden + params["bias_hidden"]
    NdInpt_hidden.name = "NdInpt_hidden"
    H = NdInpt_hidden.sigmoid(alpha)
    H.name = "H"
    NdInpt = H @ v
    if has_bias:
        params["bias_output"] = Value(state["bias_output"], name="bias_output")
        NdInpt = NdInpt + params["bias_output"]
    NdInpt.name = "NdInpt"
    A = NdInpt.sigmoid(alpha)
    A.name = "A"
    Desired = Value(desired, name="Desired", requires_grad=False)
    loss = sse(Desired, A)
    loss.name = "SSE"
    hidden_size, output_size = state["v"].shape
    values = {
        "I": I.data, "w": w.data,
        "bias_hidden": params["bias_hidden"].data if has_bias else np.zeros(hidden_size),
        "NdInpt_hidden": NdInpt_hidden.data, "H": H.data, "v": v.data,
        "bias_output": params["bias_output"].data if has_bias else np.zeros(output_size),
        "NdInpt": NdInpt.data, "A": A.data, "F": A.data, "Desired": Desired.data,
        "E": Desired.data - A.data, "alpha": float(alpha),
    }
    return loss, params, values, {"I": I, "H": H, "A": A}


def _random_state(sizes, has_bias, rng):
    """Weights and biases for a random case: Glorot-scaled, so no sigmoid sits deep in saturation."""
    (w, bias_hidden), (v, bias_output) = initial_arrays(sizes, bias=has_bias, init="scaled", seed=rng)
    state = {"w": w, "v": v}
    if has_bias:
        state.update(bias_hidden=bias_hidden, bias_output=bias_output)
    return state


def _random_alpha(rng):
    low, high = _ALPHA_RANGES[int(rng.random() < 0.75)]
    return float(rng.uniform(low, high))


def _chapter_cases(model, wrt, inputs, desired, random_cases, seed):
    if not isinstance(model, (MLP, ScalarMLP)):
        raise TypeError(f"check_derivation: expected a minigrad.nn.MLP or ScalarMLP, or a loss function; "
                        f"got {type(model).__name__}")
    sizes = tuple(model.sizes)
    if len(sizes) != 3:
        raise ValueError(f"check_derivation: the chapter's names cover one hidden layer (sizes [I, H, O]); this "
                         f"network has sizes {list(sizes)}: use the general form, check_derivation(fn, loss_fn, "
                         "wrt=...)")
    activation, output = getattr(model, "activation", "sigmoid"), getattr(model, "output", "sigmoid")
    if activation != "sigmoid" or output != "sigmoid":
        raise ValueError(f"check_derivation: the chapter's network has sigmoid layers; this one has activation "
                         f"{activation!r} and output {output!r}: use the general form, check_derivation(fn, "
                         "loss_fn, wrt=...)")
    if isinstance(wrt, Value):
        named = {id(value): name for name, value in model.named_parameters()}
        wrt = named.get(id(wrt), wrt)
    if wrt not in CHAPTER_PARAMETERS:
        raise ValueError(f"check_derivation: wrt must name one of the network's parameters: "
                         f"{', '.join(CHAPTER_PARAMETERS)}; got {wrt!r}")
    state = {name: np.asarray(array, dtype=np.float64) for name, array in model.state_dict().items()}
    has_bias = "bias_hidden" in state
    if wrt.startswith("bias") and not has_bias:
        raise ValueError(f"check_derivation: wrt={wrt!r}, but this network has no biases (build it with bias=True)")
    alpha = float(model.alpha)
    inputs, desired = example_pattern(sizes, inputs, desired, seed=seed, bias=has_bias, caller="check_derivation")

    settings = [("the given network", state, alpha, inputs, desired)]
    for k in range(1, random_cases + 1):
        rng = np.random.default_rng([seed, k])
        case_alpha = _random_alpha(rng)
        case_state = _random_state(sizes, has_bias, rng)
        settings.append((f"random network {k}", case_state, case_alpha, rng.uniform(-1.0, 1.0, sizes[0]),
                         rng.uniform(0.0, 1.0, sizes[2])))
    cases = [_chapter_case(f"{description} (α = {case_alpha:.4g})", case_state, case_alpha, case_inputs,
                           case_desired, has_bias, wrt)
             for description, case_state, case_alpha, case_inputs, case_desired in settings]
    return cases, wrt, sizes


# NOTE: reading the chain rule off a graph (explain, element by element) is
# nearly all of a check's time, and a learner checks the same network again
# after each fix: cases are kept, keyed by every number that defines them.
# Nothing in a case is handed out: the learner's q holds copies.
_CASE_CACHE: OrderedDict = OrderedDict()
_CASE_CACHE_SIZE = 256
_CASE_CACHE_LOCK = threading.Lock()


def _chapter_case(description, state, alpha, inputs, desired, has_bias, wrt):
    key = (description, wrt, has_bias, float(alpha), inputs.tobytes(), desired.tobytes(),
           tuple((name, array.shape, array.tobytes()) for name, array in sorted(state.items())))
    with _CASE_CACHE_LOCK:
        if key in _CASE_CACHE:
            _CASE_CACHE.move_to_end(key)
            return _CASE_CACHE[key]
    loss, params, values, activations = _chapter_graph(state, alpha, inputs, desired, has_bias)
    case = _finish_case(description, loss, params[wrt], values, alpha, activations)
    with _CASE_CACHE_LOCK:
        _CASE_CACHE[key] = case
        while len(_CASE_CACHE) > _CASE_CACHE_SIZE:
            _CASE_CACHE.popitem(last=False)
    return case


# -- any graph ------------------------------------------------------------------


def _takes_rng(loss_fn):
    try:
        parameters = inspect.signature(loss_fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]
    return len(positional) >= 1 or any(p.kind is p.VAR_POSITIONAL for p in parameters)


def _graph_cases(loss_fn, wrt, random_cases, seed):
    takes_rng = _takes_rng(loss_fn)
    count = 1 + random_cases if takes_rng else 1
    cases = []
    label = None
    for k in range(count):
        built = loss_fn(np.random.default_rng([seed, k])) if takes_rng else loss_fn()
        loss, extras = built if isinstance(built, tuple) and len(built) == 2 else (built, {})
        if not isinstance(loss, Value):
            raise TypeError(f"check_derivation: loss_fn must return a Value (or (Value, dict)), got "
                            f"{type(loss).__name__}")
        nodes = topological_order(loss)
        param = _find_parameter(nodes, wrt)
        label = param.name or "param"
        values, ambiguous = {}, set()
        for node in nodes:
            if node.name is None:
                continue
            if node.name in values and values[node.name] is not node:
                ambiguous.add(node.name)
            values[node.name] = node
        values = {name: node for name, node in values.items() if name not in ambiguous}
        desired = loss.parents[0] if loss.op is ops.SSE else None
        activations = {name: node for name, node in values.items()
                       if node.ndim == 1 and node is not desired and (node.op in _ACTIVATION_OPS or
                                                                      node.op is None and not node.requires_grad)}
        data = {name: node.data for name, node in values.items()}
        gains = {_sigmoid_gain(node) for node in nodes if node.op is ops.SIGMOID}
        alpha = gains.pop() if len(gains) == 1 else None
        if alpha is not None:
            data.setdefault("alpha", alpha)
        if loss.op is ops.SSE and "E" not in data:
            data["E"] = np.asarray(desired.data) - np.asarray(loss.parents[1].data)
        data.update(extras)
        description = f"graph {k + 1} (loss_fn(rng {k}))" if takes_rng else "the graph of loss_fn()"
        cases.append(_finish_case(description, loss, param, data, alpha, activations))
    return cases, label, None


def _find_parameter(nodes, wrt):
    if isinstance(wrt, Value):
        for node in nodes:
            if node is wrt:
                return node
        raise ValueError("check_derivation: wrt is not in the graph that loss_fn built (pass its name, or build "
                         "the loss from this very Value)")
    if not isinstance(wrt, str):
        raise TypeError(f"check_derivation: wrt must be a Value or the name of one, got {type(wrt).__name__}")
    found = [node for node in nodes if node.name == wrt]
    if not found:
        names = sorted({node.name for node in nodes if node.name is not None and node.requires_grad})
        raise ValueError(f"check_derivation: no node named {wrt!r} in the graph; named nodes that need a "
                         f"gradient: {', '.join(names) or 'none'}")
    if len(found) > 1:
        raise ValueError(f"check_derivation: {len(found)} nodes are named {wrt!r}; names must be unique")
    if not found[0].requires_grad:
        raise ValueError(f"check_derivation: {wrt!r} does not require grad, so it has no gradient")
    return found[0]


# ---------------------------------------------------------------------------
# Calling the learner's function
# ---------------------------------------------------------------------------


def _copy_value(value):
    """A fresh float64 copy of an array (the learner may write into it), a float for a number."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float64, copy=True)
    return float(value) if isinstance(value, (float, np.floating)) else value


def _function_name(fn):
    return getattr(fn, "__name__", None) or type(fn).__name__


def _where(fn, error):
    """'file.py:12' and the line's text for the innermost frame of the learner's code in the traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    code = getattr(fn, "__code__", None)
    own = [frame for frame in frames if code is not None and frame.filename == code.co_filename]
    frame = own[-1] if own else (frames[-1] if frames else None)
    if frame is None:
        return "", ""
    line = frame.line or linecache.getline(frame.filename, frame.lineno).strip()
    if "ipykernel_" in frame.filename or frame.filename.startswith("<ipython-input"):
        return f"line {frame.lineno} of its cell", line  # NOTE: Jupyter names a cell's code /tmp/ipykernel_*/123.py
    return f"{os.path.basename(frame.filename)}:{frame.lineno}", line


def _call(fn, case):
    """The learner's numbers for one case, as a float64 array, or a DerivationError."""
    name = _function_name(fn)
    q = ForwardValues({key: _copy_value(value) for key, value in case.values.items()})
    try:
        result = fn(q)
    except Exception as error:  # the learner's code: any exception is theirs to see, briefly
        where, line = _where(fn, error)
        message = f"your function {name} raised {type(error).__name__}"
        message += f" at {where}" if where else ""
        message += f" on {case.description}: {error}"
        if line:
            message += f"\n    {line}"
        raise DerivationError(message, "raised", case.description, error) from None
    if result is None:
        raise DerivationError(f"your function {name} returned None on {case.description}: did you forget the "
                              "`return`?", "not_numeric", case.description)
    if isinstance(result, Value):
        raise DerivationError(f"your function {name} returned a minigrad Value; return plain numbers (a numpy "
                              "array) computed from q", "not_numeric", case.description)
    try:
        array = np.asarray(result)
    except (ValueError, TypeError) as error:
        raise DerivationError(f"your function {name} returned something that is not an array of numbers "
                              f"({type(result).__name__}: {error})", "not_numeric", case.description) from None
    if array.dtype.kind not in "iuf":
        kind = "complex numbers" if array.dtype.kind == "c" else f"{type(result).__name__} of dtype {array.dtype}"
        raise DerivationError(f"your function {name} returned {kind}, not real numbers", "not_numeric",
                              case.description)
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(k) for k in np.argwhere(bad)[0]) if array.ndim else ()
        value = array[index] if array.ndim else float(array)
        raise DerivationError(f"your function {name} returned {value} at element {index} on {case.description} "
                              "(a division by zero, or an overflow?)", "not_finite", case.description)
    return array


# ---------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------


def _relative(yours, reference, scale):
    """|y − r| / max(|y|, |r|, scale, tiny), elementwise: `minigrad.compare.relative_difference`."""
    bound = np.maximum(np.maximum(np.abs(yours), np.abs(reference)), np.maximum(scale, _TINY))
    return np.abs(yours - reference) / bound


def _agrees(yours, reference, scale, tolerance):
    if reference is None or np.shape(yours) != np.shape(reference):
        return False
    return bool(np.all(_relative(yours, reference, scale) <= tolerance))


# ---------------------------------------------------------------------------
# Names of the factors
# ---------------------------------------------------------------------------

# The chapter's factors, symbolically, by (role, layer).
_CHAPTER_COLUMNS = {
    ("loss", 0): ("∂SSE/∂A_o = −E_o", "6.17·6.21"),
    ("slope", 1): ("∂A_o/∂NdInpt_o = α F_o (1 − F_o)", "6.23"),
    ("slope", 2): ("∂H_h/∂NdInpt_hidden_h = α H_h (1 − H_h)", "6.2"),
    ("weight", 1): ("∂NdInpt_o/∂H_h = v[h,o]", "6.25"),
}
_CHAPTER_ACTIVATIONS = {"v": ("∂NdInpt_o/∂v[h,o] = H_h", "6.27"),
                        "w": ("∂NdInpt_hidden_h/∂w[i,h] = I_i", "6.27 one layer down")}
# bias: (its factor, equation, the factor its weight has instead, that weight)
_CHAPTER_BIASES = {"bias_output": ("∂NdInpt_o/∂bias_output_o = 1", "6.27", "H_h", "v"),
                   "bias_hidden": ("∂NdInpt_hidden_h/∂bias_hidden_h = 1", "6.27 one layer down", "I_i", "w")}
_CHAPTER_SLOPE_SYMBOLS = {1: "F_o", 2: "H_h"}
_CHAPTER_INDICES = {"v": "[h,o]", "w": "[i,h]", "bias_output": "_o", "bias_hidden": "_h"}


class _Names:
    """How a diagnosis names things: the chapter's symbols on the chapter's
    network (∂A_o/∂NdInpt_o), explain's own names with the first path's
    indices on any other graph (∂y_0/∂(x @ W)[0])."""

    def __init__(self, case, wrt, chapter):
        self.case = case
        self.wrt = wrt
        self.chapter = chapter
        self.sse = case.loss.op in (ops.SSE, ops.SSE_SCALARS)
        self.loss = "SSE" if self.sse else "loss"

    def _column(self, role, layer):
        for group in self.case.table.groups:
            for column in group.columns:
                if column.role == role and column.layer == layer:
                    return column
        return None

    def factor(self, role, layer):
        """(text, equation or None) for one kind of factor."""
        if self.chapter:
            if role == "activation" and self.wrt in _CHAPTER_ACTIVATIONS:
                return _CHAPTER_ACTIVATIONS[self.wrt]
            if (role, layer) in _CHAPTER_COLUMNS:
                return _CHAPTER_COLUMNS[(role, layer)]
        column = self._column(role, layer)
        if column is None or not column.factors:
            return f"∂{self.loss}/∂{self.case.table.outputs[0]}", None
        formula = " · ".join(factor.formula.split(" = ")[0] for factor in column.factors)
        equations = "·".join(factor.equation for factor in column.factors if factor.equation) or None
        if role == "loss":
            return f"∂{self.loss}/∂{self.case.table.outputs[0]} = {formula}", equations
        return f"∂{column.factors[0].child_name}/∂{column.factors[-1].parent_name} = {formula}", equations

    def cite(self, role, layer):
        text, equation = self.factor(role, layer)
        return f"{text} (Eq. {equation})" if equation else text

    def slope_symbol(self, layer):
        if self.chapter:
            return _CHAPTER_SLOPE_SYMBOLS.get(layer, "F")
        column = self._column("slope", layer)
        return column.factors[0].child_name if column is not None else "F"

    def node(self, node):
        return node.name or "the activation"

    def node_element(self, node, flat):
        if node.ndim == 0:
            return self.node(node)
        return element_name(self.node(node), tuple(int(k) for k in np.unravel_index(int(flat), node.shape)))

    def element(self, flat):
        shape = self.case.param.shape
        return element_name(self.wrt, tuple(int(k) for k in np.unravel_index(int(flat), shape)) if shape else ())

    def indexed(self):
        """``v[h,o]`` on the chapter's network, else the parameter's name."""
        return self.wrt + _CHAPTER_INDICES.get(self.wrt, "") if self.chapter else self.wrt


# ---------------------------------------------------------------------------
# Mistakes: each one an alteration of the chain rule, evaluated on every case
# ---------------------------------------------------------------------------


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
class _Grading:
    """The cases, their names, the learner's numbers and the tolerance of each element."""

    cases: list
    names: _Names
    yours: list
    tolerances: list

    def reproduces(self, variant):
        """True when the variant equals the learner's numbers in every case."""
        for y, array, scale, tolerance in zip(self.yours, variant.arrays, variant.scales, self.tolerances):
            if np.shape(tolerance) != np.shape(array):
                tolerance = float(np.max(tolerance))
            if not _agrees(y, array, scale, tolerance):
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
            continue  # two constants on the loss's factor are one constant: _constant_ratio names it
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
        one, equation, X_name, _ = _CHAPTER_BIASES[names.wrt]
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
        bound = np.maximum(np.maximum(np.abs(y), np.abs(predicted)), np.maximum(S[:, None] * np.abs(X), _TINY))
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
        bound = np.maximum(np.maximum(np.abs(y), np.abs(total)), np.maximum(scale, _TINY))
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


def _constant_ratio(grading):
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


def _diagnose(grading):
    """Every variant that reproduces the learner's numbers in every case, simplest first."""
    singles = _single_alterations(grading)
    candidates = [variant for _, variant in singles if variant is not None]
    for builder in (_transposed, _swapped_layers, _missing_sum_variants, _wrong_node_variants, _bias_variants):
        candidates += builder(grading)
    found = [variant for variant in candidates if grading.reproduces(variant)]
    if not found:
        found = [variant for variant in _pair_variants(singles, grading) if grading.reproduces(variant)]
    return sorted(found, key=lambda variant: variant.rank)


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# check_derivation
# ---------------------------------------------------------------------------


def check_derivation(fn: Callable[[Any], Any], model: Any, wrt: str | Value, *, inputs: Any = None,
                     desired: Any = None, random_cases: int = DEFAULT_RANDOM_CASES, seed: int = 0,
                     tolerance: float = DEFAULT_TOLERANCE) -> DerivationReport:
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
    sigmoid is within rounding of 1).  Returns a `DerivationReport`.

    Raises `DerivationError` when ``fn`` raises, returns something that is
    not numbers, nan or inf, arrays of different shapes in different cases,
    or an array of a shape that no usual mistake explains.
    """
    if not callable(fn):
        raise TypeError(f"check_derivation: fn must be a function of q, got {type(fn).__name__}")
    if isinstance(random_cases, bool) or not isinstance(random_cases, (int, np.integer)) or random_cases < 0:
        raise ValueError(f"check_derivation: random_cases must be an integer ≥ 0, got {random_cases!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"check_derivation: seed must be an integer ≥ 0, got {seed!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < math.inf:
        raise ValueError(f"check_derivation: tolerance must be a finite number ≥ 0, got {tolerance!r}")
    chapter = isinstance(model, (MLP, ScalarMLP))
    if chapter:
        cases, wrt_name, sizes = _chapter_cases(model, wrt, inputs, desired, int(random_cases), int(seed))
        description = (f"∂SSE/∂{wrt_name} for a {'-'.join(map(str, sizes))} sigmoid network: yours beside "
                       "minigrad's reverse mode")
    elif callable(model):
        if inputs is not None or desired is not None:
            raise TypeError("check_derivation: inputs and desired are for a network; a loss_fn builds its own")
        cases, wrt_name, _ = _graph_cases(model, wrt, int(random_cases), int(seed))
        description = None
    else:
        raise TypeError(f"check_derivation: the second argument must be a minigrad.nn.MLP or a function that "
                        f"builds the loss, got {type(model).__name__}")
    names = _Names(cases[0], wrt_name, chapter)
    if description is None:
        description = (f"∂{names.loss}/∂{wrt_name} on the graph of {_function_name(model)}: yours beside "
                       "minigrad's reverse mode")
    yours = [_call(fn, case) for case in cases]
    tolerances = [np.maximum(float(tolerance), 8 * _EPS * case.tolerance_factor) for case in cases]
    return _grade(_Grading(cases, names, yours, tolerances), float(tolerance), description, fn)


def _grade(grading, tolerance, description, fn):
    cases, names, yours = grading.cases, grading.names, grading.yours
    shape = cases[0].param.shape
    shapes = sorted({y.shape for y in yours})
    if len(shapes) > 1:
        raise DerivationError(f"your function {_function_name(fn)} returned arrays of different shapes in "
                              f"different cases: {', '.join(map(str, shapes))}", "shape")
    right = [y.shape == shape and _agrees(y, case.autodiff, case.scale, t)
             for y, case, t in zip(yours, cases, grading.tolerances)]
    failed = right.count(False)
    shown = next((k for k, good in enumerate(right) if not good), 0)
    rows, first_difference = _rows(grading, shown)
    worst = max(float(np.max(_relative(y, case.autodiff, case.scale), initial=0.0))
                for y, case in zip(yours, cases)) if yours[0].shape == shape else math.nan
    report = dict(wrt=names.wrt, loss_name=names.loss, cases=[case.description for case in cases],
                  cases_summary=_cases_summary(cases, names), cases_failed=failed, rows=rows,
                  rows_case=cases[shown].description, tolerance=tolerance, worst_relative=worst,
                  description=description)
    if failed == 0:
        return DerivationReport(ok=True, diagnosis=f"right: agrees with autodiff in all {len(cases)} cases",
                                mistake=None, also=(), equation=None, first_difference=None, **report)

    found = _diagnose(grading)
    also = ()
    if found:
        best = found[0]
        diagnosis, mistake, equation = best.text, best.code, best.equation
        also = tuple(dict.fromkeys(variant.code for variant in found[1:]
                                   if variant.code != best.code and (variant.rank < 20) == (best.rank < 20)))
        if also:
            diagnosis += f" (the same numbers also fit: {', '.join(also)})"
    elif yours[0].shape != shape:
        raise DerivationError(_shape_message(yours[0].shape, grading, fn), "shape", cases[0].description)
    else:
        case_name, element, y, a = first_difference
        where = f"First difference: {element} on {case_name}: yours {y:.12g}, autodiff {a:.12g}"
        factor = _constant_ratio(grading)
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


def _cases_summary(cases, names):
    """'6 cases: the given network (α = 1) and 5 random networks of the same sizes (α = 0.72, …)'."""
    count = f"{len(cases)} case{'s' if len(cases) != 1 else ''}"
    if names.chapter and len(cases) > 1:
        alphas = ", ".join(f"{case.alpha:.4g}" for case in cases[1:])
        return (f"{count}: {cases[0].description} and {len(cases) - 1} random network{'s' if len(cases) > 2 else ''} "
                f"of the same sizes (α = {alphas})")
    return f"{count}: {'; '.join(case.description for case in cases)}"


def _rows(grading, k):
    """The rows of case k, and its first differing element (case, element, yours, autodiff)."""
    case, y, tolerance = grading.cases[k], grading.yours[k], grading.tolerances[k]
    names = grading.names
    rows, first = [], None
    if y.shape != case.autodiff.shape:
        rows = [Row(names.element(flat), None, float(a), None, "shape")
                for flat, a in enumerate(case.autodiff.reshape(-1))]
        return rows, (case.description, rows[0].element, math.nan, rows[0].autodiff)
    relative = _relative(y, case.autodiff, case.scale).reshape(-1)
    for flat, (mine, a, r, t) in enumerate(zip(y.reshape(-1), case.autodiff.reshape(-1), relative,
                                                np.reshape(tolerance, -1))):
        good = r <= t
        rows.append(Row(names.element(flat), float(mine), float(a), float(r), "ok" if good else "WRONG"))
        if not good and first is None:
            first = (case.description, names.element(flat), float(mine), float(a))
    return rows, first


def _shape_message(got, grading, fn):
    """What the wrong shape suggests, for a DerivationError."""
    names = grading.names
    expected = grading.cases[0].param.shape
    message = (f"your function {_function_name(fn)} returned shape {got}; ∂{names.loss}/∂{names.wrt} has the shape "
               f"of {names.wrt}, {expected}")
    if got == ():
        return message + f": one number for each element of {names.wrt}, not a single number"
    if len(got) == 2 and got == expected[::-1]:
        return message + (f" — did you transpose? Yours is shaped like {names.wrt}.T, but its transpose does not "
                          "match autodiff either")
    if names.chapter and names.wrt in _CHAPTER_BIASES and len(got) == 2:
        one, equation, factor, weight = _CHAPTER_BIASES[names.wrt]
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
