"""TEMPORARY home of the dictionary walk (to move into backward.py after the lead's CORE SEMANTICS commit)."""

from __future__ import annotations

import numpy as np

from . import namespace
from .backward import _check_backward, _stale, add_gradients, unbroadcast
from .modes import state

FREED = -1  # `_mark` of a node whose graph a backward pass without retain_graph has used up


class FreedGraphError(RuntimeError):
    """backward through a graph a second time, when the first pass did not keep it (retain_graph)."""


def freed_error(node):
    what = f"'{node.name}'" if node.name else f"made by op '{node.op.name}'" if node.op is not None else ""
    return FreedGraphError(
        f"backward: the graph through the Value {what} was already used by an earlier backward() (or "
        "minigrad.grad) that did not keep it; pass retain_graph=True to the first call to go through the same "
        "graph again, or compute the loss again")


def gradients(roots, seeds, inputs=None, create_graph=False, retain_graph=False):
    """∂(Σ seed·root)/∂node for the nodes of the roots' graphs, in a dict, ``.grad`` untouched.

    ``inputs`` (a list of Values): only their gradients are kept (and only the
    paths that reach them walked); None keeps every node's.  With
    ``create_graph`` the op rules run on Values, so every gradient is a Value
    whose graph can be differentiated again.
    """
    from . import value as _value

    data_clock = _value._clock
    wanted = None if inputs is None else set(inputs)
    relevant = None if inputs is None else _reaching(roots, wanted)
    # 1. Count the consumers of every node (that needs a gradient and reaches an input).
    pending = {}
    stack = []
    for root in roots:
        if root.parents and root._mark == FREED:
            raise freed_error(root)
        if root not in pending:
            pending[root] = 0
            stack.append(root)
    interior = []
    while stack:
        node = stack.pop()
        if node.parents:
            interior.append(node)
        for parent in node.parents:
            if not parent.requires_grad or (relevant is not None and parent not in relevant):
                continue
            if parent in pending:
                pending[parent] += 1
                continue
            if parent.parents and parent._mark == FREED:
                raise freed_error(parent)
            pending[parent] = 1
            stack.append(parent)

    # 2. Hand gradients down, each node once its gradient is complete.
    grads = {}
    for root, seed in zip(roots, seeds):
        grads[root] = seed if root not in grads else grads[root] + seed
    ready = [root for root in dict.fromkeys(roots) if pending[root] == 0]
    anomaly = state.anomaly
    while ready:
        node = ready.pop()
        if not node.parents:
            continue
        grad = grads[node] if wanted is None or node in wanted else grads.pop(node)
        parent_grads = rule_on_values(node, grad) if create_graph else node.op.gradients(grad, node)
        if anomaly and not create_graph:
            _check_backward(node, parent_grads)
        if node._born < data_clock:
            for parent in node.parents:
                if parent.version > node._born:
                    _stale(parent, node)
        for parent, parent_grad in zip(node.parents, parent_grads):
            if parent_grad is None or parent not in pending:
                continue
            if create_graph:
                parent_grad = unbroadcast_value(node, parent_grad, parent)
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
        for node in interior:
            node._mark = FREED
    return grads


def _reaching(roots, wanted):
    """The nodes of the roots' graphs from which some node of ``wanted`` can be reached (wanted included)."""
    from .backward import topological_order

    reach = set()
    seen = set()
    for root in roots:
        for node in topological_order(root):
            if node in seen:
                continue
            seen.add(node)
            if node in wanted or any(parent in reach for parent in node.parents):
                reach.add(node)
    return reach


def rule_on_values(node, grad):
    """The node's op's backward rule run on Values (the gradient, the inputs, the output,
    and what forward saved, computed again from the inputs): gradients that are Values with graphs."""
    from .differentiable import HelperError
    from .function import FunctionError, FunctionOp
    from .value import Value

    op = node.op
    parents = node.parents
    needs = tuple(parent.requires_grad for parent in parents)
    saved = node.saved
    try:
        if isinstance(op, FunctionOp):
            # NOTE: what the Function saved is handed back as the Values of the inputs and the output
            saved._values = {id(parent._data): parent for parent in parents}
            saved._values[id(node._data)] = node
            try:
                grads = op.backward(grad, node, saved, needs, *parents)
            finally:
                saved._values = None
        else:
            options = op.forward_options(saved)
            if options is not None:
                saved = op.forward(*parents, **options)[1]
            grads = op.backward(grad, node, saved, needs, *parents)
    except FunctionError:
        raise
    except (TypeError, HelperError) as error:
        what = f"Function '{op.name}'" if isinstance(op, FunctionOp) else f"op '{op.name}'"
        raise TypeError(f"create_graph: the backward of {what} cannot be differentiated again ({error})") from None
    for position, (parent, parent_grad) in enumerate(zip(parents, grads)):
        if parent_grad is not None and parent.requires_grad and type(parent_grad) is not Value:
            raise TypeError(
                f"create_graph: the backward rule of op '{op.name}' gave input {position} a plain number or array, "
                "not a Value, so its second derivative would be silently lost; write the rule in numpy calls on "
                "its arguments (which are Values here)")
    return grads


def unbroadcast_value(node, grad, parent):
    """`unbroadcast` for a gradient that is a Value: sums (and a product with ones) that record the graph."""
    from .value import Value, leaf

    if type(grad) is not Value:
        grad = leaf(grad)
    shape = tuple(np.shape(parent._data)) if type(parent._data) is not float else ()
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    if grad.shape != shape:
        stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
        if stretched:
            grad = grad.sum(axis=stretched, keepdims=True)
        if grad.shape != shape:  # a smaller gradient for a larger input: spread it by a product with ones
            grad = grad * leaf(namespace.full(shape, 1.0, parent._data))
    return grad
