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
`explain` show them).  A pass uses its graph up, as PyTorch's does: a second
backward through the same nodes is refused (`FreedGraphError`) unless the
first passed ``retain_graph=True``.

`gradients` is the same walk with the running gradients in a dict, ``.grad``
untouched (`minigrad.grad`), which can also run each op's rule on Values
(``create_graph``, see `minigrad.core.differentiable`), so that the
gradients it returns are Values whose graphs can be differentiated again.

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

from . import namespace
from . import numerics
from ._types import Data
from .modes import AnomalyError, describe_node, state

if TYPE_CHECKING:
    from .value import Value

__all__ = ["backward", "gradients", "unbroadcast", "add_gradients", "topological_order", "backward_order",
           "StaleGraphError", "FreedGraphError"]

_ndarray = np.ndarray  # NOTE: a module global is one lookup; np.ndarray is two, in every node's test
# NOTE: re-entrant, so an op's backward may itself call backward() on a graph of its own (an inner
# gradient); other threads still wait for the whole outer pass.
_one_pass_at_a_time = threading.RLock()
_passes = itertools.count(1)
_in_progress: list[int] = []  # the marks of the passes under way: more than one only when nested
_ONE_NEEDS = (True,)
# NOTE: the `needs` of a two-input node, picked by two tests: cheaper than a new tuple, or indexing a table
# by bools, per node
_BOTH, _FIRST, _SECOND = (True, True), (True, False), (False, True)


class StaleGraphError(RuntimeError):
    """A Value in the graph changed (``.data`` assigned) after the graph recorded it."""


class FreedGraphError(RuntimeError):
    """A second backward through a graph that an earlier pass used up (it did not pass retain_graph=True)."""


# NOTE: a pass that keeps its graph counts with a positive mark, one that uses it up with a negative
# one, left on the nodes afterwards: a later pass that meets a negative mark it did not set refuses.


def backward(root: Value, seed: Data, data_clock: int, retain_graph: bool = False) -> None:
    """Fill ``.grad`` on every node of ``root``'s graph that needs one.

    ``seed`` is ∂root/∂root; ``data_clock`` is the clock of `minigrad.core.value`
    now (it moves on with every assignment to a Value's ``.data``): a node
    recorded before that has its parents checked for changes.  Without
    ``retain_graph`` the graph is used up: a later pass through it is refused.
    """
    _one_pass_at_a_time.acquire()  # NOTE: acquire/try/finally costs half what `with` does
    try:
        if _in_progress:  # called from inside an op's backward: the inner graph must be its own
            _refuse_shared_nodes(root)
        if not root.parents:  # backward on a leaf: d root / d root = 1
            root.grad = seed if root.grad is None else add_gradients(root.grad, seed)
        elif root.version > root._born:
            _stale(root, root)
        elif root._mark < 0:
            raise _freed(root)
        else:
            mark = next(_passes) if retain_graph else -next(_passes)
            _in_progress.append(mark)
            try:
                _walk(root, seed, data_clock, mark)
            finally:
                _in_progress.pop()
    finally:
        _one_pass_at_a_time.release()


def _count_consumers(root, mark, clear):
    """Step 1: on every node that needs a gradient, count the consumers in ``root``'s graph that
    will hand it one (``_pending``, valid while ``_mark`` is ``mark``); with ``clear``, empty the
    nodes' ``.grad`` and return the leaves reached, each with the ``.grad`` it held before."""
    root._mark = mark
    leaves = []
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if parent.requires_grad:
                seen = parent._mark
                if seen == mark:
                    parent._pending += 1
                    continue
                parent._mark = mark
                parent._pending = 1
                if parent.parents:
                    if seen < 0 and clear:  # an earlier pass used this part of the graph up
                        parent._mark = seen
                        for leaf, earlier in leaves:
                            leaf.grad = earlier
                        raise _freed(parent)
                    stack.append(parent)
                elif clear:
                    leaves.append((parent, parent.grad))
                if clear:
                    parent.grad = None
    return leaves


def _walk(root, seed, data_clock, mark):
    # 1. Count the consumers; clear this pass's gradients, keeping the leaves' aside.
    try:
        leaves = _count_consumers(root, mark, clear=True)
    except FreedGraphError:
        _unmark(root, mark)
        raise
    root.grad = seed

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
                parent_grads = node.op.backward(grad, node._data, node.saved,
                                                (_BOTH if b.requires_grad else _FIRST) if a.requires_grad else _SECOND,
                                                a._data, b._data)
            elif len(parents) == 1:
                parent_grads = node.op.backward(grad, node._data, node.saved, _ONE_NEEDS, parents[0]._data)
            else:
                parent_grads = node.op.backward(grad, node._data, node.saved,
                                                tuple(parent.requires_grad for parent in parents),
                                                *[parent._data for parent in parents])
            if anomaly or node._born < data_clock:  # NOTE: one test for two rare cases
                _check_node(node, parent_grads, anomaly, data_clock)
            for parent, parent_grad in zip(parents, parent_grads):
                if not parent.requires_grad:
                    continue
                data = parent._data
                # NOTE: the common cases (floats; arrays of the parent's shape and dtype)
                # are decided here without a call: it pays on small graphs.
                if parent_grad.__class__ is float:
                    if data.__class__ is not float:
                        parent_grad = unbroadcast(parent_grad, data)
                elif type(parent_grad) is not _ndarray or type(data) is not _ndarray \
                        or parent_grad.dtype is not data.dtype or parent_grad.shape != data.shape:
                    parent_grad = unbroadcast(parent_grad, data)
                running = parent.grad
                if running is not None:
                    total = running + parent_grad
                    parent.grad = total if total.__class__ is float or total.__class__ is _ndarray else \
                        total if namespace.is_foreign(total) else np.asarray(total)
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
        _unmark(root, mark)  # and leaves its graph usable
        raise

    # 3. Leaves accumulate across calls.
    for leaf, earlier in leaves:
        if earlier is not None:
            leaf.grad = add_gradients(earlier, leaf.grad)


def _check_node(node, parent_grads, anomaly, data_clock):
    """`_walk`'s rare checks of a node: its gradients inside detect_anomaly(), and its parents'
    versions where some ``.data`` was assigned since the node was recorded."""
    if anomaly:
        _check_backward(node, parent_grads)
    if node._born < data_clock:
        for parent in node.parents:
            if parent.version > node._born:
                _stale(parent, node)


def gradients(roots: list[Value], seeds: list[Any], inputs: list[Value] | None = None, create_graph: bool = False,
              retain_graph: bool = False) -> dict[Value, Any]:
    """∂(Σ_k seeds[k]·roots[k])/∂node for the nodes of the roots' graphs, in a dict, ``.grad`` untouched.

    The same walk as `backward`, with the counts and running gradients in
    dicts.  ``inputs``: only their gradients are kept, and only the paths that
    reach them walked; None keeps every node's.  With ``create_graph`` each
    op's rule runs on Values (`minigrad.core.differentiable.rule_on_values`),
    so every gradient is a Value whose graph can be differentiated again, and
    the graph is kept; otherwise it is used up unless ``retain_graph``.
    """
    from . import differentiable
    from . import value as _value

    _one_pass_at_a_time.acquire()  # the marks that say a graph is used up live on the nodes
    try:
        data_clock = _value._clock
        wanted = None if inputs is None else set(inputs)
        reaching = None if wanted is None else _reaching(roots, wanted)
        # 1. Count the consumers of every node that needs a gradient (and reaches an input).
        pending: dict[Value, int] = {}
        stack = []
        for root in roots:
            if root.parents and root._mark < 0:
                raise _freed(root)
            if root.parents and root.version > root._born:
                _stale(root, root)
            if root not in pending:
                pending[root] = 0
                stack.append(root)
        interior = []
        while stack:
            node = stack.pop()
            if node.parents:
                interior.append(node)
            for parent in node.parents:
                if not parent.requires_grad or (reaching is not None and parent not in reaching):
                    continue
                if parent in pending:
                    pending[parent] += 1
                    continue
                if parent.parents and parent._mark < 0:
                    raise _freed(parent)
                pending[parent] = 1
                stack.append(parent)

        # 2. Hand gradients down, each node once its gradient is complete.
        grads: dict[Value, Any] = {}
        for root, seed in zip(roots, seeds):
            grads[root] = seed if root not in grads else grads[root] + seed
        ready = [root for root in dict.fromkeys(roots) if pending[root] == 0]
        anomaly = state.anomaly
        while ready:
            node = ready.pop()
            if not node.parents:
                continue
            grad = grads[node] if wanted is None or node in wanted else grads.pop(node)
            if create_graph:
                parent_grads = differentiable.rule_on_values(node, grad)
            else:
                parent_grads = node.op.gradients(grad, node)  # type: ignore[union-attr]
            if anomaly or node._born < data_clock:
                _check_node(node, parent_grads, anomaly and not create_graph, data_clock)
            for parent, parent_grad in zip(node.parents, parent_grads):
                if parent_grad is None or parent not in pending:
                    continue
                if create_graph:
                    parent_grad = differentiable.unbroadcast_value(parent_grad, parent)
                else:
                    parent_grad = unbroadcast(parent_grad, parent._data)
                running = grads.get(parent)
                if running is None:
                    grads[parent] = parent_grad
                else:
                    grads[parent] = running + parent_grad if create_graph else add_gradients(running, parent_grad)
                count = pending[parent] - 1
                pending[parent] = count
                if count == 0:
                    ready.append(parent)
        if not (retain_graph or create_graph):
            used_up = -next(_passes)
            for node in interior:
                if node._mark not in _in_progress:  # NOTE: never a node an outer pass is still counting on
                    node._mark = used_up
        return grads
    finally:
        _one_pass_at_a_time.release()


def _reaching(roots, wanted):
    """The nodes of the roots' graphs from which a node of ``wanted`` can be reached (those included)."""
    reach = set()
    seen = set()
    for root in roots:
        for node in topological_order(root):
            if node not in seen:
                seen.add(node)
                if node in wanted or any(parent in reach for parent in node.parents):
                    reach.add(node)
    return reach


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
    if type(like) is not _ndarray and namespace.is_foreign(like):
        return _unbroadcast_foreign(grad, like)
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
    if type(grad) is not _ndarray:  # NOTE: numpy reduces a 1-d gradient for a 0-d input to a scalar
        grad = numerics.as_array(grad)
    return grad


def _unbroadcast_foreign(grad, like):
    """`unbroadcast` for an array of another Array API library, in its namespace (the standard's sum)."""
    shape = tuple(like.shape)
    if type(grad) is not float and tuple(grad.shape) == shape and grad.dtype == like.dtype:
        return grad  # the common case, decided without a call
    xp = namespace.of(grad, like)
    if type(grad) is float:
        return xp.full(shape, grad, dtype=like.dtype, device=namespace.device(like))
    if tuple(grad.shape) != shape:
        extra = grad.ndim - len(shape)
        if extra > 0:  # axes that broadcasting added in front
            grad = xp.sum(grad, axis=tuple(range(extra)))
        stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
        if stretched:  # axes of size 1 that broadcasting stretched
            grad = xp.sum(grad, axis=stretched, keepdims=True)
        if tuple(grad.shape) != shape:
            grad = xp.broadcast_to(grad, shape)  # a scalar gradient for an array input
    return grad if grad.dtype == like.dtype else xp.astype(grad, like.dtype)


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
    _one_pass_at_a_time.acquire()  # the counts live on the nodes, as backward's do
    # NOTE: the marks also say whether a pass used the graph up; this replay must not undo that
    marks = [(node, node._mark) for node in topological_order(root)]
    try:
        _count_consumers(root, next(_passes), clear=False)
        order = []
        ready = [root]
        while ready:
            node = ready.pop()
            order.append(node)
            for parent in node.parents:
                if parent.requires_grad and parent.parents:
                    parent._pending -= 1
                    if parent._pending == 0:
                        ready.append(parent)
    finally:
        for node, mark in marks:
            node._mark = mark
        _one_pass_at_a_time.release()
    return order


def add_gradients(running: Data, more: Data) -> Data:
    """running + more, keeping 0-d arrays arrays (numpy's 0-d sums are scalars): how a
    gradient received along several edges, or accumulated across calls, is summed."""
    total = running + more
    if type(total) is float or type(total) is _ndarray or namespace.is_foreign(total):
        return total
    return np.asarray(total)


def _refuse_shared_nodes(root):
    """A backward() started inside an op's backward may not reach a node that the pass under way is
    still counting on: it would clear that node's running gradient and count."""
    for node in topological_order(root):
        if node.parents and node._mark in _in_progress:
            raise RuntimeError(
                f"backward: called inside another backward pass (from an op's backward rule), on a graph that "
                f"reaches a node of the pass under way (a result of op '{node.op.name}', shape {node.shape}); "
                "compute the inner gradient on a graph of its own, built from detached Values")


def _freed(node):
    what = f"'{node.name}'" if node.name else f"made by op '{node.op.name}'"
    return FreedGraphError(
        f"backward: the graph through the Value {what} (shape {node.shape}) was already used up by an earlier "
        "backward() or minigrad.grad(); pass retain_graph=True to the first call to go through the same graph "
        "again (create_graph=True keeps it too), or compute the loss again")


def _unmark(root, mark):
    """Forget a pass that stopped half-way: the nodes it marked are usable again."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node._mark == mark:
            node._mark = 0
            stack.extend(node.parents)


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
        grad = None if grad is None else namespace.to_numpy(grad)
        if grad is not None and not np.all(np.isfinite(grad)):
            bad = "nan" if np.any(np.isnan(grad)) else "inf"
            raise AnomalyError(
                f"detect_anomaly: backward gradient for input {position} contains {bad}: {describe_node(node)}")
