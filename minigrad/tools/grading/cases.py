"""The cases a learner's formula is tried on: graphs, their gradients and path tables.

`chapter_cases` builds the chapter's network for the given weights and
pattern and for ``random_cases`` random networks of the same sizes;
`graph_cases` calls a learner's ``loss_fn`` once per case.  Each `Case`
holds the values the learner's ``q`` gets, autodiff's gradient, and the
chain rule's path table.
"""

from __future__ import annotations

import inspect
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property
from typing import Optional

import numpy as np

from ...core import ops
from ...core.backward import topological_order
from ...core.value import Value, sse
from ...nn.modules import MLP, ScalarMLP, example_pattern, initial_arrays
from .paths import ACTIVATION_OPS, TINY, Table, path_table, sigmoid_gain

#: The parameters of the chapter's network that the MLP form checks, with their shapes' names.
CHAPTER_PARAMETERS = {"v": "(H, O)", "w": "(I, H)", "bias_output": "(O,)", "bias_hidden": "(H,)"}

# Gains of the random cases: away from 1, so that a missing α shows.
_ALPHA_RANGES = ((0.5, 0.9), (1.15, 3.0))


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



@dataclass
class Case:
    """One graph the learner's formula is tried on."""

    description: str
    values: dict            # what the learner's q holds
    param: Value
    autodiff: np.ndarray    # param.grad from backward, float64
    table: Table
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
                    per_path = per_path + 1.0 / np.maximum(group.one_minus_F(k), TINY)
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
    table = path_table(loss, param)
    param.grad = original
    return Case(description, values, param, autodiff, table, alpha, loss, topological_order(loss), activations)


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


def chapter_cases(model, wrt, inputs, desired, random_cases, seed):
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


def graph_cases(loss_fn, wrt, random_cases, seed, build):
    """The cases of a learner's ``loss_fn``, each built by ``build(loss_fn, args, description)``
    (`minigrad.tools.grading.learner.build_loss`: the time limit, and sys.exit reported)."""
    takes_rng = _takes_rng(loss_fn)
    count = 1 + random_cases if takes_rng else 1
    cases = []
    label = None
    for k in range(count):
        description = f"graph {k + 1} (loss_fn(rng {k}))" if takes_rng else "the graph of loss_fn()"
        built = build(loss_fn, (np.random.default_rng([seed, k]),) if takes_rng else (), description)
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
                       if node.ndim == 1 and node is not desired and (node.op in ACTIVATION_OPS or
                                                                      node.op is None and not node.requires_grad)}
        data = {name: node.data for name, node in values.items()}
        gains = {sigmoid_gain(node) for node in nodes if node.op is ops.SIGMOID}
        alpha = gains.pop() if len(gains) == 1 else None
        if alpha is not None:
            data.setdefault("alpha", alpha)
        if loss.op is ops.SSE and "E" not in data:
            data["E"] = np.asarray(desired.data) - np.asarray(loss.parents[1].data)
        data.update(extras)
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

