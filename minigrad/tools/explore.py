"""Step through a graph in the browser: the forward pass, then backward in the engine's order.

``explore(loss)`` returns an `Exploration`: one self-contained HTML page
(no network, no server) holding the graph as graphviz lays it out (the SVG of
`minigrad.draw`) and the graph's numbers.  In the page the reader

* steps forward through the forward pass, one op at a time (in
  `minigrad.topological_order`, an order the forward pass could have run);
* then steps backward through the backward pass in the order the engine runs
  it (`minigrad.backward_order`), watching each gradient appear: for the
  current node its op's formula, its local partials with their numbers, the
  incoming gradient, the product handed to each parent and, where several
  contributions meet, their running sum;
* clicks a weight to colour every chain-rule path from the loss to it, with
  the factors as `minigrad.explain` lists them and their sum beside ``.grad``.

Buttons and keys drive it (→ step, ← back, Home, End); scripts drive it with
``window.explorer`` (``step()``, ``back()``, ``reset()``, ``end()``,
``select(name)`` and ``state()``, see ``docs/explore.md``).

The numbers: if the graph has no gradients yet, ``loss.backward()`` is called
once (as `explain` does).  The page's backward numbers are then replayed from
the seed 1 with the ops' own backward rules, in the engine's order, summed as
the engine sums them, so they equal this pass's gradients to the last bit;
``.grad`` is read only to show it beside them (a leaf's ``.grad`` holds more
when it has accumulated over several passes).

Graphs of more than ``max_nodes`` drawn nodes get `draw`'s summary picture
and no stepping.  Every name and number reaches the page as escaped text.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import xml.etree.ElementTree as ElementTree
from importlib import resources
from typing import Any

import numpy as np

from ..core import namespace
from ..core.backward import add_gradients, backward_order, topological_order, unbroadcast
from ..core.forward import push_forward
from .compare import element_name
from .draw import DEFAULT_MAX_NODES, DotNotFoundError, check_layout, draw, parameter_names
from .explain import PathExplosionError, explain, graph_names, partial_formula
from ..core.files import write_atomically
from ..core.value import Value

__all__ = ["explore", "Exploration", "FULL_ELEMENTS", "MODES"]

#: What the page steps through: "reverse" (the forward pass, then backward), "forward" (forward mode: each
#: node's tangent ∂x/∂w for one weight w, with the values) or "both" (forward mode's sweep, then backward).
MODES = ("reverse", "forward", "both")

# Forward mode: tangents are embedded for at most this many parameter elements (one sweep each).
_TANGENT_ELEMENTS = 64

# Ops whose local derivatives are ±1: handing a tangent or a gradient on costs no multiplication.
_UNIT_PARTIALS = {"add", "sub", "neg", "sum", "reshape", "transpose", "getitem", "stack"}

#: Arrays with at most this many elements are embedded in full; bigger ones as shape, dtype, min and max.
FULL_ELEMENTS = 64

# Chain-rule explanations embedded for clicking: at most this many elements of
# one tensor parameter, this many in all, and this many paths each; none for a
# graph holding more numbers than this (explain's cost grows with them).
_ELEMENTS_PER_PARAMETER = 16
_EXPLAINED_ELEMENTS = 256
_PATHS_PER_ELEMENT = 200
_EXPLAINED_GRAPH_NUMBERS = 10_000

# How tall the page is inside a Jupyter notebook.
_NOTEBOOK_HEIGHT = 760


class Exploration:
    """The page `explore` made.

    ``html``: the whole page, one self-contained HTML file (a str);
    ``data``: the numbers it embeds (a dict, as the page reads them);
    ``save(path)`` writes the page; in Jupyter it shows inline.
    """

    def __init__(self, html_text, data):
        self.html = html_text
        self.data = data

    def save(self, path):
        """Write the page to ``path`` atomically (`minigrad.core.files.write_atomically`); returns the path."""
        return write_atomically(path, self.html.encode("utf-8"), caller="explore")

    def _repr_html_(self):
        # NOTE: an iframe keeps the page's ids, styles and script apart from the notebook's;
        # sandbox="allow-scripts" without allow-same-origin gives it no access to the notebook.
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" sandbox="allow-scripts" '
                f'style="width: 100%; height: {_NOTEBOOK_HEIGHT}px; border: 1px solid #ddd"></iframe>')

    def __repr__(self):
        data = self.data
        if data["summary"] is not None:
            return f"<Exploration of {data['lossName']}: {data['drawnNodes']} nodes, summary only>"
        return (f"<Exploration of {data['lossName']}: {len(data['forward'])} forward and "
                f"{len(data['backward'])} backward steps; .save(path) writes the page>")


def explore(loss: Value, *, params: Any = None, max_nodes: int = DEFAULT_MAX_NODES,
            rankdir: str = "TB", mode: str = "reverse", weight: Any = None) -> Exploration:
    """A page that steps through ``loss``'s graph: forward, then backward in the engine's order.

    ``mode="reverse"`` (the default) steps through the forward pass, then the
    backward pass.  ``mode="forward"`` steps through forward mode instead: with
    the values, each node's tangent ẋ = ∂x/∂w for one weight w (``weight``, a
    name such as ``"v[0,0]"``; by default the first element of v, Eq. 6.30's,
    else the first parameter), pushed op by op from w towards the loss by
    minigrad's own forward-mode rules (`minigrad.core.forward.push_forward`,
    the sweep `minigrad.jvp` runs).  ``mode="both"`` steps through that sweep,
    then the backward pass, and shows the two results side by side: the loss's
    tangent and w's gradient, the same number.  A cost ledger counts each
    mode's sweeps and multiplications for the whole gradient: forward mode
    needs one sweep per parameter element, reverse mode one.  Clicking another
    parameter (or ``window.explorer.select(name)``) picks another w.

    ``loss`` is a one-element Value with a recorded graph, before or after
    ``backward()`` (without gradients, ``loss.backward()`` is called once).
    ``params`` names leaves as in `draw` (``{name: Value}``, pairs, or a module
    with ``named_parameters()``); ``max_nodes``: beyond this many drawn nodes
    the page shows `draw`'s summary and does not step; ``rankdir``: "TB" (top to bottom, the
    default: the graph beside the side panel then fits its tall area at a readable size) or "LR".

    Needs graphviz's ``dot`` to lay the graph out (`DotNotFoundError` says how
    to install it).  Returns an `Exploration`; ``.save(path)`` writes the page.
    """
    if not isinstance(loss, Value):
        raise TypeError(f"explore: loss must be a Value, got {type(loss).__name__}")
    namespace.numpy_only([loss], "explore")
    if loss.size != 1:
        raise ValueError(f"explore: loss must have one element, it has shape {loss.shape}")
    if not loss.requires_grad:
        raise ValueError("explore: loss does not require grad (it was made from constants only, or under "
                         "no_grad()), so there is no backward pass to step through")
    check_layout(rankdir, max_nodes, "explore")
    if mode not in MODES:
        raise ValueError(f"explore: mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    given = parameter_names(params, "explore")

    order = topological_order(loss)
    if any(node.requires_grad and node.grad is None for node in order):
        loss.backward(retain_graph=True)  # the graph stays usable for the caller
    svg = _render(loss, [(name, value) for value, name in given.items()], max_nodes, rankdir)
    drawn = len(order) + sum(1 for node in order if node.op is not None)
    if drawn > max_nodes:
        data = _summary_data(loss, given, drawn, max_nodes)
    else:
        data = _graph_data(loss, order, given, drawn, mode, weight)
    data["mode"] = mode
    return Exploration(_page(_svg_for_page(svg, data), data), data)


# ---------------------------------------------------------------------------
# The numbers
# ---------------------------------------------------------------------------


def _summary_data(loss, given, drawn, max_nodes):
    name = given.get(loss) or loss.name or "loss"
    return {"lossName": name, "drawnNodes": drawn, "nodes": [], "forward": [], "backward": [],
            "explanations": {}, "tangents": None, "weight": None, "ledger": None,
            "summary": (f"{drawn} nodes (values and ops): more than max_nodes={max_nodes}, so this page shows "
                        f"the summary drawing and does not step. Explore a smaller graph, or pass "
                        f"max_nodes={drawn} to step through every node.")}


def _graph_data(loss, order, given, drawn, mode="reverse", weight=None):
    ids = {node: number for number, node in enumerate(order)}
    names = graph_names(loss, given)
    nodes = []
    for node in order:
        kind = "result" if node.op is not None else "parameter" if node.requires_grad else "constant"
        entry = {"id": ids[node], "name": names[node], "kind": kind,
                 "value": _value(node.data), "grad": None if node.grad is None else _value(node.grad),
                 "parents": [ids[parent] for parent in node.parents]}
        if node.op is not None:
            op = node.op
            entry.update(op=op.name, label=op.label(node), formula=op.formula,
                         arguments=op.argument_labels(node),
                         annotations=[[label, _value(data)] for label, data in op.annotations(node)])
        nodes.append(entry)
    steps, received = _backward_steps(loss, ids, names)
    data = {"lossName": names[loss], "root": ids[loss], "drawnNodes": drawn,
            "nodes": nodes, "forward": [ids[node] for node in order if node.op is not None],
            "backward": steps, "explanations": _explanations(loss, order, ids, names), "summary": None,
            "tangents": None, "weight": None, "ledger": None}
    if mode != "reverse":
        data["tangents"], data["weight"], data["ledger"] = _forward_mode(loss, order, ids, names, received, weight)
    return data


def _backward_steps(loss, ids, names):
    """backward's pass replayed from the seed: one step per node, in the engine's order."""
    data = loss.data
    seed = 1.0 if type(data) is float else np.ones(np.shape(data), dtype=data.dtype)
    received = {loss: seed}
    counts = {}  # parent -> contributions expected
    order = backward_order(loss)
    for node in order:
        for parent in node.parents:
            if parent.requires_grad:
                counts[parent] = counts.get(parent, 0) + 1
    seen = {}
    loss_name = names[loss]
    steps = []
    for node in order:
        grad = received[node]
        local = _local_partials(node)
        edges = []
        for position, (parent, handed) in enumerate(zip(node.parents, node.op.gradients(grad, node))):
            partial, formula, equation = partial_formula(node, position, names)
            edge = {"parent": ids[parent], "position": position, "partial": partial, "formula": formula,
                    "equation": equation, "local": None if local is None or local[position] is None
                    else _value(local[position])}
            if not parent.requires_grad:
                edge["constant"] = True
                edges.append(edge)
                continue
            handed = unbroadcast(handed, parent.data)
            previous = received.get(parent)
            total = handed
            if previous is not None:  # NOTE: summed as backward sums (running + contribution): its own numbers
                total = add_gradients(previous, handed)
            received[parent] = total
            seen[parent] = seen.get(parent, 0) + 1
            edge.update(constant=False, handed=_value(handed), previous=None if previous is None else _value(previous),
                        sum=_value(total), count=seen[parent], of=counts[parent],
                        complete=seen[parent] == counts[parent])
            edge["heldGrad"] = _value(parent.grad) if edge["complete"] and parent.grad is not None else None
            edges.append(edge)
        steps.append({"node": ids[node], "grad": _value(grad), "gradName": f"∂{loss_name}/∂{names[node]}",
                      "edges": edges})
    return steps, received


def _multiplications(node, parent):
    """Products of a local derivative with a carried number along the edge parent → node (a tangent forward,
    a gradient backward): one per element of the larger end, a matmul's inner length each; none where the
    local derivative is ±1 (add, sub, sum, ...)."""
    if node.op.name in _UNIT_PARTIALS:
        return 0
    count = max(node.size, parent.size)
    if node.op.name == "matmul":
        count = node.size * int(np.shape(node.parents[0].data)[-1])
    return int(count)


def _forward_mode(loss, order, ids, names, received, weight):
    """Forward mode for each parameter element (up to _TANGENT_ELEMENTS): every node's tangent, the loss's
    tangent beside the replayed backward's gradient, and the cost ledger."""
    parameters = [node for node in order if node.op is None and node.requires_grad]
    elements = [(param, index) for param in parameters for index in np.ndindex(*np.shape(param.data))]
    chosen = _chosen_element(elements, names, weight)
    kept = elements[:_TANGENT_ELEMENTS]
    if chosen not in kept:
        kept = kept[:-1] + [chosen]
    reverse_multiplications = sum(_multiplications(node, parent) for node in backward_order(loss)
                                  for parent in node.parents if parent.requires_grad)
    forward_multiplications = 0
    tangents = {}
    for param, index in elements:
        reached = _reached(order, param)
        sweep = sum(_multiplications(node, parent) for node in order if node.op is not None and node in reached
                    for parent in node.parents if parent in reached)
        forward_multiplications += sweep
        if (param, index) not in kept:
            continue
        seed = 1.0 if type(param.data) is float else np.zeros(np.shape(param.data), dtype=param.data.dtype)
        if type(seed) is not float:
            seed[index] = 1.0
        found = push_forward(order, {param: seed})  # NOTE: minigrad's forward mode: each op's own jvp rule
        name = element_name(names[param], index)
        gradient = np.asarray(received.get(param, 0.0), dtype=np.float64)
        tangents[name] = {
            "param": ids[param], "index": list(index), "name": name,
            "values": [_value(tangent) if node in reached else None for node, tangent in zip(order, found)],
            "loss": _plain(float(np.reshape(found[-1] if order[-1] is loss else found[order.index(loss)], ()))),
            "reverse": _plain(float(gradient[index] if gradient.ndim else gradient)),
            "multiplications": sweep}
    ledger = {"parameters": len(elements), "forwardSweeps": len(elements), "forwardMultiplications":
              forward_multiplications, "reverseSweeps": 1, "reverseMultiplications": reverse_multiplications,
              "embedded": len(tangents)}
    return tangents, element_name(names[chosen[0]], chosen[1]), ledger


def _chosen_element(elements, names, weight):
    """The (parameter, index) ``weight`` names (a Value, a name, or an element's name); by default v's first
    element (Eq. 6.30's), else the first parameter's."""
    if weight is None:
        for param, index in elements:
            if names[param] in ("v", "v[0,0]") or names[param].startswith("v["):
                return param, index
        return elements[0]
    for param, index in elements:
        if weight is param or (isinstance(weight, str) and weight in (names[param], element_name(names[param], index))):
            return param, index
    known = ", ".join(sorted({names[param] for param, _ in elements}))
    raise ValueError(f"explore: weight {weight!r} is not a parameter of this graph (its parameters: {known})")


def _reached(order, param):
    """The nodes whose value depends on ``param`` (param included): where its tangent can be non-zero."""
    reached = {param}
    for node in order:
        if node.op is not None and any(parent in reached for parent in node.parents):
            reached.add(node)
    return reached


def _local_partials(node):
    """∂node/∂(each parent) as numbers, when the node and all its parents are one-element; else None."""
    if node.size != 1 or any(parent.size != 1 for parent in node.parents):
        return None
    data = node.data
    one = 1.0 if type(data) is float else np.ones(np.shape(data), dtype=data.dtype)
    partials = node.op.gradients(one, node)
    return [None if value is None else unbroadcast(value, parent.data) for parent, value in zip(node.parents, partials)]


def _explanations(loss, order, ids, names):
    """{parameter id: [one explanation per element]}: what clicking a weight shows."""
    found = {}
    budget = _EXPLAINED_ELEMENTS
    numbers = sum(node.size for node in order)
    too_big = (f"not prepared: this graph holds {numbers:,} numbers and the page prepares chain rules for "
               f"graphs of at most {_EXPLAINED_GRAPH_NUMBERS:,}; minigrad.explain(loss, param, index) gives it")
    for param in order:
        if param.op is not None or not param.requires_grad:
            continue
        shape = np.shape(param.data)
        indices = [index for _, index in zip(range(_ELEMENTS_PER_PARAMETER), np.ndindex(*shape))]
        entries = []
        for index in indices:
            name = element_name(names[param], index)
            if numbers > _EXPLAINED_GRAPH_NUMBERS:
                entries.append({"index": list(index), "name": name, "error": too_big})
                continue
            if budget == 0:
                entries.append({"index": list(index), "name": name,
                                "error": f"not prepared (the page holds at most {_EXPLAINED_ELEMENTS} "
                                         f"explanations); minigrad.explain(loss, param, index) gives it"})
                continue
            budget -= 1
            entries.append(_explanation(loss, param, index, name, ids, names))
        size = int(np.prod(shape, dtype=np.int64))
        found[str(ids[param])] = {"elements": entries, "more": size - len(indices)}
    return found


def _explanation(loss, param, index, name, ids, names):
    try:
        explanation = explain(loss, param, index or None, max_paths=_PATHS_PER_ELEMENT)
    except PathExplosionError:
        return {"index": list(index), "name": name,
                "error": f"more than {_PATHS_PER_ELEMENT} chain-rule paths lead here; "
                         "minigrad.explain lists them all"}
    paths = []
    edges = set()
    for number, steps in enumerate(explanation.paths):
        for (child, _), (parent, _) in zip(steps, steps[1:]):
            edges.add((ids[parent], ids[child]))
        factors = [{"derivative": f"∂{numerator}/∂{denominator}", "formula": formula, "ops": " → ".join(op_names),
                    "equation": equation, "value": _plain(value), "text": f"{value:.6g}"}
                   for numerator, denominator, formula, op_names, equation, value in explanation.chain(number)]
        paths.append({"steps": " ← ".join(element_name(names[node], element) for node, element in steps),
                      "factors": factors, "product": _plain(explanation.products[number]),
                      "productText": f"{explanation.products[number]:.6g}"})
    return {"index": list(index), "name": name, "nodes": sorted(ids[node] for node in explanation.nodes),
            "edges": [list(edge) for edge in sorted(edges)], "paths": paths, "total": _plain(explanation.total),
            "totalText": f"{explanation.total:.12g}", "grad": _plain(explanation.grad),
            "gradText": f"{explanation.grad:.12g}", "agrees": bool(explanation.agrees()),
            "difference": f"{explanation.difference:.3e}"}


def _value(data):
    """A number or an array for the page: its text, shape, dtype and numbers (or min and max)."""
    array = np.asarray(data)
    entry = {"shape": list(array.shape), "dtype": str(array.dtype)}
    if array.ndim == 0:
        number = float(array)
        entry.update(data=_plain(number), text=f"{number:.6g}", short=f"{number:.4g}")
        return entry
    if array.size <= FULL_ELEMENTS:
        entry.update(data=_plain(array.astype(np.float64).tolist()),
                     text=np.array2string(array, precision=6, separator=", ", max_line_width=60))
        return entry
    finite = array[np.isfinite(array)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (math.nan, math.nan)
    entry.update(data=None, min=_plain(low), max=_plain(high),
                 text=f"shape {tuple(array.shape)} {array.dtype}, min {low:.6g}, max {high:.6g}")
    return entry


def _plain(x):
    """JSON has no nan or inf: they travel as the strings "nan", "inf", "-inf"."""
    if isinstance(x, list):
        return [_plain(item) for item in x]
    return x if math.isfinite(x) else str(x)


# ---------------------------------------------------------------------------
# The picture
# ---------------------------------------------------------------------------


def _render(loss, params, max_nodes, rankdir):
    """draw's SVG (with data and grad on every record), as text."""
    try:
        svg = draw(loss, params=params, max_nodes=max_nodes, rankdir=rankdir).pipe(format="svg")
    except DotNotFoundError as error:
        raise DotNotFoundError(f"explore: {error}") from None
    return svg.decode("utf-8")


def _svg_for_page(svg, data):
    """The SVG as an element of the page (no XML prolog), with the page's hooks on a stepped graph."""
    root = ElementTree.fromstring(svg)
    # NOTE: inline in HTML an <svg> needs no namespace: without it the page names no URL at all.
    for element in root.iter():
        element.tag = element.tag.rpartition("}")[2]
        for name in [name for name in element.attrib if name.startswith("{")]:
            del element.attrib[name]
    if data["summary"] is None:
        _mark(root, data)
    return ElementTree.tostring(root, encoding="unicode")


def _mark(root, data):
    """data-node / data-op on nodes, data-from / data-to on edges, classes on the texts that show
    data, grad and the SSE's errors; names as tooltips."""
    for group in list(root.iter("g")):
        kind = group.get("class")
        title = group.find("title")
        if title is None or kind not in ("node", "edge"):
            continue
        label = title.text or ""
        if kind == "edge":
            source, _, target = label.partition("->")
            group.set("data-from", source)
            group.set("data-to", target)
            group.remove(title)
            continue
        texts = group.findall("text")
        if label.endswith("_op"):
            number = int(label[4:-3])
            group.set("data-op", str(number))
            title.text = f"op {data['nodes'][number]['label']}"
            for text in texts[1:]:
                text.set("class", "mg-annotation")
            continue
        number = int(label[4:])
        group.set("data-node", str(number))
        group.set("data-kind", data["nodes"][number]["kind"])
        title.text = data["nodes"][number]["name"]
        cell = None
        for text in texts:
            content = text.text or ""
            if text.get("font-weight") == "bold":
                cell = "name"
            elif content.startswith("data "):
                cell = "data"
            elif content.startswith("grad "):
                cell = "grad"
            elif cell in (None, "name"):  # a constant's box: the lines under its name are data
                cell = "data"
            text.set("class", f"mg-{cell}")


# ---------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------


def _asset(name):
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _json_for_script(data):
    """JSON that cannot end its <script> element: <, > and & as \\u escapes."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _sha256(text):
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _page(svg, data):
    mode = data.get("mode", "reverse")
    if mode != "reverse" and data["summary"] is None:
        return _page_with(svg, data, """
  <section id="mg-sweeps" aria-label="forward and reverse, side by side"></section>""")
    return _page_with(svg, data, "")


def _page_with(svg, data, sweeps):
    script, style = _asset("explorer.js"), _asset("explorer.css")
    # NOTE: the policy allows no request of any kind, and only this page's own
    # script and style (by hash): markup that slipped past the escaping could not run.
    policy = (f"default-src 'none'; script-src 'sha256-{_sha256(script)}'; "
              f"style-src 'sha256-{_sha256(style)}'")
    title = html.escape(f"minigrad explore: {data['lossName']}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body data-mode="{html.escape(data.get("mode", "reverse"))}">
<header id="mg-bar">
  <span class="mg-brand">minigrad explore</span>
  <span class="mg-buttons">
    <button type="button" id="mg-reset" title="Start (Home)">« start</button>
    <button type="button" id="mg-back" title="Back (←)">◀ back</button>
    <button type="button" id="mg-step" title="Step (→)">step ▶</button>
    <button type="button" id="mg-end" title="Last step (End)">end »</button>
  </span>
  <span id="mg-status" aria-live="polite"></span>
  <span class="mg-zoom">
    <button type="button" id="mg-zoom-out" title="Zoom out">−</button>
    <button type="button" id="mg-zoom-fit" title="Fit the graph">fit</button>
    <button type="button" id="mg-zoom-in" title="Zoom in">+</button>
  </span>
</header>
<main id="mg-main">
  <section id="mg-graph" aria-label="the computation graph">{svg}</section>
  <aside id="mg-panel">
    <div id="mg-note" hidden></div>{sweeps}
    <section id="mg-step-panel"></section>
    <section id="mg-explain-panel"></section>
  </aside>
</main>
<script type="application/json" id="mg-data">{_json_for_script(data)}</script>
<script>{script}</script>
</body>
</html>
"""
