"""Names for the nodes of a graph and the arguments of a function, as every view gives them.

`graph_names` names each node of a loss's graph the way the chapter does
(SSE, A_o, NdInpt_o, H_h, NdInpt_hidden_h, I_i) where the graph is the
chapter's network, else by an expression of its parents' names: `explain`,
`draw`, `explore` and the generated code of `minigrad.compile` all use it.
`argument_names` names a function's positional arguments (the compiler's
inputs, the ONNX exporter's).
"""

from __future__ import annotations

import inspect
import re

import numpy as np

from . import namespace, ops
from .backward import topological_order

__all__ = ["graph_names", "graph_names_of", "input_multipliers", "sse_parent_role", "argument_names", "SSE_OPS"]

SSE_OPS = (ops.SSE, ops.SSE_SCALARS)


def argument_names(function, count, extra="input_{k}"):
    """A name for each of ``count`` positional arguments: the function's own parameter names;
    past them, ``*args``'s name with the position (``args_0``), else ``extra`` filled with k."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    star = next((p.name for p in parameters if p.kind == p.VAR_POSITIONAL), None)
    names = []
    for k in range(count):
        if k < len(positional):
            names.append(positional[k])
        else:
            names.append(f"{star}_{k - len(positional)}" if star else extra.format(k=k))
    return names


def graph_names(loss, given=None):
    """{node: display name} for every node of ``loss``'s graph, as `explain` names them.

    ``given`` ({Value: name}, e.g. draw's ``params``) wins; then a node's own
    ``name``; then its role in the chapter's network (SSE, A_o, NdInpt_o, H_h,
    NdInpt_hidden_h, I_i); else an expression of its parents' names.
    """
    nodes = topological_order(loss)[::-1]
    return graph_names_of(loss, nodes, input_multipliers(nodes), given)


def graph_names_of(loss, nodes, weight_names, given=None):
    """A display name for every node: its own ``name``, else one from its role
    in the chapter's network (SSE, A, NdInpt, H, NdInpt_hidden, I), else an
    expression of its parents' names.  ``given`` names win over all of them."""
    names = {}
    sigmoid_depth = 0
    role = {}
    # Roles, from the loss down (breadth-first, so the output layer comes first).
    if loss.op in SSE_OPS:
        parents = loss.parents
        for position, parent in enumerate(parents):
            if parent.name is None:
                is_actual, o = sse_parent_role(loss, position)
                stem = "A" if is_actual else "Desired"
                role.setdefault(parent, stem if o is None else f"{stem}_{o}")
    for node in nodes:  # nodes come loss-first
        if node.op is ops.SIGMOID:
            if node.name is None and node not in role:
                sigmoid_depth += 1
                role[node] = "H" if sigmoid_depth == 1 else f"H{sigmoid_depth}"
            own = node.name or role.get(node, "")
            source = node.parents[0]
            if source.name is None and source not in role:
                if own.startswith("A"):
                    role[source] = "NdInpt" + own[1:]
                elif own.startswith("H"):
                    role[source] = "NdInpt_hidden" + own[1:]
    for node in reversed(nodes):  # parents before children, for expressions
        if given and node in given:
            names[node] = given[node]
        elif node.name is not None:
            names[node] = node.name
        elif node in role:
            names[node] = role[node]
        elif node is loss:
            names[node] = "SSE" if node.op in SSE_OPS else "loss"
        elif node.op is None:
            names[node] = _leaf_name(node, weight_names)
        else:
            names[node] = _expression(node, names, weight_names)
    return names


def _leaf_name(node, weight_names):
    """An unnamed leaf: I (or I_i) when it multiplies the input→hidden weights, else its value."""
    for consumer, (name, index_text) in weight_names.items():
        if node in consumer:
            return "I" if index_text is None else f"I_{index_text}"
    data = namespace.to_numpy(node.data)  # another library's constant, on its device: its number read on the host
    if type(data) is float or np.size(data) == 1:
        return f"{float(np.asarray(data).reshape(-1)[0]):.4g}"
    return f"const{tuple(np.shape(data))}"


def _expression(node, names, weight_names):
    symbol = node.op.infix
    operands = []
    for parent in node.parents:
        if parent not in names:
            names[parent] = parent.name or _leaf_name(parent, weight_names)
        operands.append(names[parent])
    if symbol and len(operands) == 2:
        text = f"{operands[0]} {symbol} {operands[1]}" if symbol != "·" else f"{operands[0]}·{operands[1]}"
        text = f"({text})"
    else:
        text = f"{node.op.name}({', '.join(operands)})"
    return text if len(text) <= 40 else f"({node.op.name} …)"


def input_multipliers(nodes):
    """{(a, b) parents of a mul/matmul with a ``w`` weight: (weight name, i)} for naming inputs I_i."""
    found = {}
    for node in nodes:
        if node.op is None or not node.op.product:
            continue
        for parent in node.parents:
            name = parent.name or ""
            match = re.fullmatch(r"w\[(\d+),\d+\]", name)
            if match:
                found[node.parents] = (name, match.group(1))
            elif name == "w":
                found[node.parents] = (name, None)
    return found


def sse_parent_role(node, position):
    """(is_actual, o) for parent ``position`` of an SSE node: whether it is the
    actual (not the desired) side, and the output o it belongs to (None for
    the array form, whose element index says it)."""
    is_actual = node.op.equation(position, node) == ops.SSE.equations[1]
    if node.op is ops.SSE_SCALARS:
        return is_actual, node.op.output_index(position, node)
    return is_actual, None
