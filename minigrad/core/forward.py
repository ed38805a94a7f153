"""Forward mode: push tangents through a recorded graph, op by op.

Given a tangent ẋ for some leaves, every node's tangent is its op's
forward-mode rule (``op.jvp``, written beside its reverse rule in
`minigrad.core.ops`) applied to its parents' tangents:

    ẏ = Σ_k ∂y/∂x_k · ẋ_k          (a Jacobian-vector product, one op at a time)

One sweep, in topological order, gives the directional derivative of every
output along one direction: forward mode costs one sweep per input
direction, where reverse mode costs one backward sweep per output.

Broadcasting is undone in one place here as in reverse mode: a rule may
return a tangent of any shape that broadcasts to its output's, and
`_fit` spreads it over the output's shape and dtype.
"""

from __future__ import annotations

import numpy as np

from .backward import topological_order

__all__ = ["push_forward", "zero_tangent"]

_ndarray = np.ndarray  # NOTE: one global lookup in the tangent test, made at every node of a jvp


def zero_tangent(data):
    """The tangent of something that does not move: 0.0 for a float, zeros of an array's shape and dtype."""
    return 0.0 if type(data) is float else np.zeros(np.shape(data), dtype=data.dtype)


def push_forward(outputs, tangents):
    """The tangents of ``outputs`` (Values) given ``tangents`` (a dict Value -> tangent data).

    Nodes that no tangent reaches are skipped; an output that none reaches gets zeros.
    """
    order = _order(outputs)
    known = dict(tangents)
    for node in order:
        if node in known or node.op is None:
            continue
        parents = node.parents
        moving = [known.get(parent) for parent in parents]
        if all(tangent is None for tangent in moving):
            continue
        moving = [zero_tangent(parent._data) if tangent is None else tangent
                  for parent, tangent in zip(parents, moving)]
        tangent = node.op.jvp(moving, node._data, node.saved, *[parent._data for parent in parents])
        known[node] = _fit(tangent, node._data)
    return [known.get(output, None) if output in known else zero_tangent(output._data) for output in outputs]


def _order(outputs):
    """Every node of the outputs' graphs, each after its parents."""
    if len(outputs) == 1:
        return topological_order(outputs[0])
    seen, order = set(), []
    for output in outputs:
        for node in topological_order(output):
            if node not in seen:
                seen.add(node)
                order.append(node)
    return order


def _fit(tangent, like):
    """A tangent with the output's shape and dtype (a float for a float output)."""
    if type(like) is float:
        return float(np.reshape(tangent, ())) if type(tangent) is not float else tangent
    if type(tangent) is _ndarray and tangent.shape == like.shape and tangent.dtype is like.dtype:
        return tangent
    tangent = np.asarray(tangent, dtype=like.dtype)
    if tangent.shape != like.shape:
        tangent = np.broadcast_to(tangent, like.shape)
    return tangent
