"""Reverse mode: walk the recorded graph from the loss back to the leaves.

The algorithm (Kahn's, iterative: a graph a million ops deep is fine):

1. Count, on every node that needs a gradient, how many of its consumers in
   this graph will hand it one.
2. Start at the root with the seed.  Take a node whose consumers have all
   delivered (its gradient is then complete), ask its op for the gradient of
   each parent, undo broadcasting (`unbroadcast`, the one place it is done)
   and add the result to what the parent has received.  A parent whose count
   drops to zero is ready.
3. Leaves add this pass's gradient to what they held before (they accumulate
   across calls, as in PyTorch); a pass that fails half-way gives them back
   what they held.

Every node keeps this pass's gradient in ``.grad`` afterwards (drawings and
`explain` show them).

# NOTE: the counts and running gradients live on the nodes (`_mark` says
# which pass counted `_pending`; `.grad`) rather than in dicts: it makes backward a third faster on scalar
# graphs.  Passes therefore take turns (one lock), so several threads may
# call backward on graphs that share parameters or intermediate nodes and
# every contribution is added exactly once; forward passes never wait.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from . import numerics
from ._types import Data
from .modes import AnomalyError, describe_node, state

if TYPE_CHECKING:
    from .value import Value

__all__ = ["backward", "unbroadcast", "add_gradients", "topological_order", "backward_order", "StaleGraphError"]

_ndarray = np.ndarray
_one_pass_at_a_time = threading.Lock()
_passes = itertools.count(1)
_ONE_NEEDS = (True,)
# NOTE: the `needs` of a two-input node, by (a needs, b needs): indexing costs less than a new tuple per node
_PAIRS = (((False, False), (False, True)), ((True, False), (True, True)))


class StaleGraphError(RuntimeError):
    """A Value in the graph changed (``.data`` assigned) after the graph recorded it."""


def backward(root: Value, seed: Data, data_clock: int) -> None:
    """Fill ``.grad`` on every node of ``root``'s graph that needs one.

    ``seed`` is ∂root/∂root; ``data_clock`` is the clock of `minigrad.core.value`
    now (it moves on with every assignment to a Value's ``.data``): a node
    recorded before that has its parents checked for changes.
    """
    _one_pass_at_a_time.acquire()  # NOTE: acquire/try/finally costs half what `with` does
    try:
        if not root.parents:  # backward on a leaf: d root / d root = 1
            root.grad = seed if root.grad is None else add_gradients(root.grad, seed)
        elif root.version > root._born:
            _stale(root, root)
        else:
            _walk(root, seed, data_clock)
    finally:
        _one_pass_at_a_time.release()


def _walk(root, seed, data_clock):
    # 1. Count the consumers of every node that needs a gradient; clear the
    #    gradients of this pass's nodes, keeping the leaves' aside.
    mark = next(_passes)
    root._mark = mark
    root.grad = seed
    leaves = []
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent.requires_grad:
                if parent._mark == mark:
                    parent._pending += 1
                    continue
                parent._mark = mark
                parent._pending = 1
                if parent.parents:
                    stack.append(parent)
                else:
                    leaves.append((parent, parent.grad))
                parent.grad = None

    # 2. Hand gradients down, each node once its gradient is complete.
    anomaly = state.anomaly
    ready = [root]
    pop, push = ready.pop, ready.append  # NOTE: bound once: two lookups saved per node
    try:
        while ready:
            node = pop()
            grad = node.grad
            # NOTE: the rule gets the inputs' data as arguments; one and two parents are spelled out
            # (no list built, and one parent always needs a gradient, or the node would need none).
            parents = node.parents
            if len(parents) == 2:
                a, b = parents
                parent_grads = node.op.backward(grad, node._data, node.saved, _PAIRS[a.requires_grad][b.requires_grad],
                                                a._data, b._data)
            elif len(parents) == 1:
                parent_grads = node.op.backward(grad, node._data, node.saved, _ONE_NEEDS, parents[0]._data)
            else:
                parent_grads = node.op.backward(grad, node._data, node.saved,
                                                tuple(parent.requires_grad for parent in parents),
                                                *[parent._data for parent in parents])
            if anomaly or node._born < data_clock:  # NOTE: one test for two rare cases
                if anomaly:
                    _check_backward(node, parent_grads)
                if node._born < data_clock:  # some .data was assigned since this node was recorded
                    for parent in node.parents:
                        if parent.version > node._born:
                            _stale(parent, node)
            for parent, parent_grad in zip(parents, parent_grads):
                if not parent.requires_grad:
                    continue
                data = parent._data
                # NOTE: the common cases (floats; arrays of the parent's shape and dtype)
                # are decided here without a call: it pays on small graphs.
                if type(parent_grad) is float:
                    if type(data) is not float:
                        parent_grad = unbroadcast(parent_grad, data)
                elif type(parent_grad) is not _ndarray or type(data) is not _ndarray \
                        or parent_grad.dtype is not data.dtype or parent_grad.shape != data.shape:
                    parent_grad = unbroadcast(parent_grad, data)
                running = parent.grad
                if running is not None:
                    total = running + parent_grad
                    parent.grad = total if type(total) is float or type(total) is _ndarray else np.asarray(total)
                elif type(parent_grad) is _ndarray and not parent.parents and (
                        parent_grad is grad or parent_grad.base is not None):
                    parent.grad = parent_grad.copy()  # NOTE: a leaf owns its gradient, never another's or a view
                else:
                    parent.grad = parent_grad
                if parent.parents:  # a leaf is never handed on: its count is not kept
                    count = parent._pending - 1
                    parent._pending = count
                    if count == 0:
                        push(parent)
    except BaseException:
        for leaf, earlier in leaves:  # a pass stopped half-way gives the leaves back what they held
            leaf.grad = earlier
        raise

    # 3. Leaves accumulate across calls.
    for leaf, earlier in leaves:
        if earlier is not None:
            leaf.grad = add_gradients(earlier, leaf.grad)


def unbroadcast(grad: Any, like: Data) -> Data:
    """The one place where broadcasting is undone.

    A gradient computed for a broadcast result is summed over the axes that
    broadcasting added or stretched, so that it has the shape of ``like``
    (the input's data), and its dtype: float32 inputs get float32 gradients,
    float inputs get floats, 0-d arrays get 0-d arrays.  (`minigrad.compile` runs
    this very function on its tracer, so compiled code undoes broadcasting alike.)
    """
    if isinstance(like, float):
        return grad if type(grad) is float else numerics.as_float(grad)
    if type(grad) is _ndarray and grad.dtype is like.dtype and grad.shape == like.shape:
        return grad
    if type(grad) is not _ndarray:
        grad = numerics.as_array(grad)  # a number as a 0-d array (a stand-in as it is)
    shape = like.shape
    if grad.shape != shape:
        # NOTE: np.add.reduce is ndarray.sum without its Python-level wrapper.
        extra = grad.ndim - len(shape)
        if extra > 0:  # axes that broadcasting added in front
            grad = np.add.reduce(grad, 0 if extra == 1 else tuple(range(extra)))
        if grad.shape != shape:  # axes of size 1 that broadcasting stretched
            stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
            if stretched:
                grad = np.add.reduce(grad, axis=stretched, keepdims=True)
            if grad.shape != shape:
                grad = np.broadcast_to(grad, shape)  # a scalar gradient for an array input
    if grad.dtype is not like.dtype:
        grad = grad.astype(like.dtype)
    return grad


def topological_order(root: Value) -> list[Value]:
    """Every node of ``root``'s graph, each after all of its parents (root last).

    Iterative depth-first search, visiting parents in argument order, so the
    order is the same for the same graph (drawings and `explain` rely on it).
    Constants are included; backward visits only the nodes that need a gradient.
    """
    order = []
    started = set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in started:  # NOTE: marked when expanded, not when pushed, so a
            continue         # parent pushed late still lands before its children
        started.add(node)
        stack.append((node, True))
        for parent in reversed(node.parents):  # reversed: the first argument is visited first
            if parent not in started:
                stack.append((parent, False))
    return order


def backward_order(root: Value) -> list[Value]:
    """The nodes whose gradient backward hands on, in the order it does so (root first).

    Step 2 of `backward` replayed without numbers: the same consumer counts,
    the same ready stack (last in, first out), parents in argument order.
    The order depends only on the graph's structure, so every pass over the
    same graph walks it.  Leaves and constants are not in it (they receive
    gradients and hand none on); a root without parents gives ``[]``.
    """
    if not root.parents:
        return []
    pending: dict[Value, int] = {}
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent.requires_grad:
                if parent in pending:
                    pending[parent] += 1
                    continue
                pending[parent] = 1
                if parent.parents:
                    stack.append(parent)
    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.parents:
            if parent.requires_grad:
                pending[parent] -= 1
                if pending[parent] == 0 and parent.parents:
                    ready.append(parent)
    return order


def add_gradients(running: Data, more: Data) -> Data:
    """running + more, keeping 0-d arrays arrays (numpy's 0-d sums are scalars): how a
    gradient received along several edges, or accumulated across calls, is summed."""
    total = running + more
    if type(total) is float or type(total) is _ndarray:
        return total
    return np.asarray(total)


def _stale(value, consumer):
    name = f"'{value.name}'" if value.name else f"of shape {value.shape}"
    kind = "leaf" if value.is_leaf else f"result of op '{value.op.name}'"
    user = "the graph's root" if value is consumer else f"op '{consumer.op.name}'"
    raise StaleGraphError(
        f"backward: the Value {name} (a {kind}) was changed after {user} recorded it (its .data was assigned, "
        "e.g. by an optimizer step), so this graph mixes old and new numbers; compute the loss again from the "
        "current values, then call backward on the new graph")


def _check_backward(node, grads):
    for position, grad in enumerate(grads):
        if grad is not None and not np.all(np.isfinite(grad)):
            bad = "nan" if np.any(np.isnan(grad)) else "inf"
            raise AnomalyError(
                f"detect_anomaly: backward gradient for input {position} contains {bad}: {describe_node(node)}")
