"""Pictures of the computation graph that ``backward`` walks.

`to_dot(root)` returns graphviz DOT text: a pure function that needs neither
the graphviz package nor its ``dot`` program.  `draw(root)` wraps the same
text in a ``graphviz.Digraph``, which Jupyter shows inline and whose
``.pipe()`` / ``.render()`` give SVG, PNG or PDF; ``draw(root, path=...)``
also writes the file.  Only rendering needs graphviz's ``dot`` program; when
it is missing, rendering raises `DotNotFoundError`, which says how to
install it.

The command line ``python -m minigrad draw`` builds the chapter's network,
runs one forward and backward pass and writes the picture (see `run`).
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np

from ..core import checks
from ..core import namespace
from ..core.backward import topological_order
from ..core.value import Value
from ..core.files import write_atomically

__all__ = ["to_dot", "draw", "write_drawing", "Drawing", "DotNotFoundError", "DEFAULT_MAX_NODES", "FILE_FORMATS",
           "parameter_names", "check_layout"]

#: Beyond this many drawn nodes (values plus ops) the picture is a summary.
DEFAULT_MAX_NODES = 300

#: What ``draw(path=...)`` and the command line write; dot/gv are DOT text.
FILE_FORMATS = ("svg", "png", "pdf", "dot", "gv")

# Colours (the legend is in `to_dot`'s docstring).
_PARAMETER_FILL = "#cfe2f3"   # light blue
_VALUE_FILL = "#ffffff"
_ROOT_FILL = "#d9ead3"        # light green
_OP_FILL = "#eeeeee"
_CONSTANT_COLOR = "#808080"
_HIGHLIGHT_FILL = "#fde0c5"   # light orange
_HIGHLIGHT_COLOR = "#d95f02"  # dark orange
_BORDER_COLOR = "#404040"
_NOT_COMPUTED_COLOR = "#909090"

# The keyword options of to_dot (and of draw).
_OPTIONS = ("params", "rankdir", "show_data", "show_grad", "highlight", "max_nodes", "group")

# Tensors with at most this many elements show every value.
_SMALL_TENSOR = 6

_INSTALL_HINT = (
    "pip cannot install it (the graphviz Python package is only a wrapper): install graphviz with your "
    "system's package manager: Debian/Ubuntu `sudo apt-get install graphviz`, macOS `brew install graphviz`, "
    "Windows `winget install graphviz`, conda `conda install -c conda-forge graphviz`; in this repository "
    "`make demo` or `make test` installs it.  minigrad.to_dot(...) works without it.")


class DotNotFoundError(RuntimeError):
    """Rendering needs graphviz's ``dot`` program and it is not on PATH."""


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------


def to_dot(root: Value, *, params: Any = None, rankdir: str = "LR", show_data: bool = True, show_grad: bool = True,
           highlight: Any = None, max_nodes: int = DEFAULT_MAX_NODES, group: bool = True) -> str:
    """DOT text for the graph that ends at ``root`` (pure: no graphviz needed).

    Every Value is a record ``name | data | grad``; every op that made one is
    an ellipse with the op's name and arguments (``sigmoid α=1``, ``@``,
    ``sum axis=1``; the ``sse`` op also lists the errors ``E_o``).  Edges run
    from the inputs towards the loss; an edge into an op whose argument order
    matters is labelled with the argument's position (``0``, ``1``; for
    ``sse``: ``desired`` and ``actual``).  Scalars show ``%.4g`` numbers;
    tensors show shape, dtype and their values when they have at most six
    elements, else min and max.  A grad that backward has not computed reads
    "grad not computed", never 0.

    Colour legend:

    * light blue record: a parameter (a leaf that requires grad);
    * dashed grey box, grey text: a constant (an input, a target, a number),
      which never has a grad;
    * white record: an intermediate result; light green record: ``root``;
    * grey ellipse: an op;
    * orange fill, dark orange border and thick dark orange edges: the
      ``highlight`` nodes and the edges between them;
    * rounded grey frames: layers ("hidden layer", "output layer", or a
      module path such as ``layers.0``), found from the names.

    Options:

    * ``params``: ``{name: Value}`` (or ``[(name, Value)]``, or a module with
      ``named_parameters()``) naming leaves; it wins over ``Value.name``.
    * ``rankdir``: ``"LR"`` (left to right) or ``"TB"`` (top to bottom).
    * ``show_data``, ``show_grad``: leave out the data or grad fields.
    * ``highlight``: Values to colour, or anything with a ``.nodes`` attribute
      (what `minigrad.explain.explain` returns).
    * ``max_nodes``: beyond this many nodes (Values plus ops) the picture is
      a summary (the root, and the counts of each op) instead of a hairball.
    * ``group``: frame nodes by layer where their names allow it.

    Node ids come from a counter in traversal order, and the traversal is
    iterative, so the same graph always gives the same text, at any depth.
    """
    return "digraph minigrad {\n" + "".join(_dot_body(root, params=params, rankdir=rankdir, show_data=show_data,
                                             show_grad=show_grad, highlight=highlight, max_nodes=max_nodes,
                                             group=group)) + "}\n"


def draw(root: Value, path: str | os.PathLike[str] | None = None, *, format: str | None = None,
         **options: Any) -> Any:
    """The graph as a ``graphviz.Digraph``; with ``path``, also write it there.

    In Jupyter the returned object shows itself as a picture; ``.pipe("svg")``
    returns the bytes and ``.render(...)`` writes a file (both need graphviz's
    ``dot`` program and raise `DotNotFoundError` when it is missing).
    ``path``'s suffix (or ``format``) picks the file format: ``svg``, ``png``,
    ``pdf``, or ``dot`` / ``gv`` for the DOT text itself (no ``dot`` program
    needed).  The file is written atomically (`minigrad.core.files.write_atomically`):
    a missing folder, a read-only file or a folder as ``path`` is an OSError
    naming the path, and a failed render or write leaves any old file as it was.
    ``options`` are those of `to_dot`; its source is ``to_dot(root, **options)``.
    """
    namespace.numpy_only([root], "draw")
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise TypeError(f"draw: unknown option {unknown[0]!r}; the options are {', '.join(_OPTIONS)}")
    body = _dot_body(root, **options)
    graph = _drawing_class()(name="minigrad", body=body)
    if path is not None:
        chosen_format = file_format(path, format)
        if chosen_format in ("dot", "gv"):
            data = graph.source.encode("utf-8")
        else:
            data = graph.pipe(format=chosen_format)
        write_atomically(path, data, caller="draw")
    return graph


# ---------------------------------------------------------------------------
# Building the DOT text
# ---------------------------------------------------------------------------


def _dot_body(root, *, params=None, rankdir="LR", show_data=True, show_grad=True, highlight=None,
              max_nodes=DEFAULT_MAX_NODES, group=True):
    """The statements between the braces, one per line, as graphviz.Digraph keeps its body."""
    if not isinstance(root, Value):
        raise TypeError(f"to_dot: root must be a Value, got {type(root).__name__}")
    check_layout(rankdir, max_nodes, "to_dot")
    names = parameter_names(params, "to_dot")
    highlighted = _highlight_set(highlight)
    order = topological_order(root)

    lines = [
        f'\tgraph [rankdir={rankdir} fontname="Helvetica,Arial,sans-serif" fontsize=11 nodesep=0.25 ranksep=0.35]\n',
        '\tnode [fontname="Helvetica,Arial,sans-serif" fontsize=10]\n',
        f'\tedge [fontname="Helvetica,Arial,sans-serif" fontsize=9 color="{_BORDER_COLOR}" arrowsize=0.7]\n',
    ]
    drawn_nodes = len(order) + sum(1 for node in order if node.op is not None)
    if drawn_nodes > max_nodes:
        return lines + _summary_lines(root, order, names, drawn_nodes, max_nodes, show_data, show_grad)

    # Deterministic ids: a counter in traversal order.
    ids = {node: f"node{number}" for number, node in enumerate(order)}
    groups = _layer_groups(order, root, names) if group else {}

    statements = {}  # node -> its node statements (record, and op ellipse if any)
    for node in order:
        node_id = ids[node]
        is_highlighted = node in highlighted
        statements[node] = [_value_statement(node, node_id, names.get(node, node.name), node is root,
                                             is_highlighted, show_data, show_grad)]
        if node.op is not None:
            statements[node].append(_op_statement(node, node_id, is_highlighted))

    # Framed layers first, then the rest.  Layers are ordered by their first
    # computed node: a later layer's parameters are often visited (and so
    # numbered) before the earlier layer's results.
    first_node, first_result = {}, {}
    for position, node in enumerate(order):
        layer = groups.get(node)
        if layer is not None:
            first_node.setdefault(layer, position)
            if node.parents:
                first_result.setdefault(layer, position)
    cluster_order = sorted(first_node, key=lambda layer: (first_result.get(layer, len(order)), first_node[layer]))
    for number, layer in enumerate(cluster_order):
        lines.append(f"\tsubgraph cluster_{number} {{\n")
        lines.append(f'\t\tgraph [label={_quote(layer)} style="rounded" color="#b0b0b0" fontcolor="#606060"]\n')
        for node in order:
            if groups.get(node) == layer:
                lines.extend("\t\t" + statement for statement in statements[node])
        lines.append("\t}\n")
    for node in order:
        if groups.get(node) is None:
            lines.extend("\t" + statement for statement in statements[node])

    for node in order:
        if node.op is None:
            continue
        node_id = ids[node]
        is_highlighted = node in highlighted
        lines.append(f"\t{node_id}_op -> {node_id}{_edge_attributes(None, is_highlighted)}\n")
        labels = node.op.argument_labels(node)
        for parent, label in zip(node.parents, labels):
            edge_highlighted = is_highlighted and parent in highlighted
            lines.append(f"\t{ids[parent]} -> {node_id}_op{_edge_attributes(label, edge_highlighted)}\n")
    return lines


def _value_statement(node, node_id, name, is_root, is_highlighted, show_data, show_grad):
    """A Value as an HTML-like record: name | data | grad (a constant as a dashed box)."""
    if _is_constant(node):
        text = []
        if name is not None:
            text.append(f"<b>{_escape(name)}</b>")
        text.append(_lines_html(_describe_data(node.data)))
        color = _HIGHLIGHT_COLOR if is_highlighted else _CONSTANT_COLOR
        return (f'{node_id} [label=<{"<br/>".join(text)}> shape=box style="dashed,rounded" color="{color}" '
                f'fontcolor="{_CONSTANT_COLOR}" margin="0.08,0.04"]\n')

    cells = []
    if name is not None:
        cells.append(f"<td><b>{_escape(name)}</b></td>")
    if show_data:
        cells.append(f"<td>{_lines_html(_describe_data(node.data), prefix='data ')}</td>")
    if show_grad:
        if node.grad is None:
            cells.append(f'<td><font color="{_NOT_COMPUTED_COLOR}"><i>grad not computed</i></font></td>')
        else:
            cells.append(f"<td>{_lines_html(_describe_data(node.grad), prefix='grad ')}</td>")
    if not cells:
        cells.append("<td> </td>")
    if is_highlighted:
        fill, border = _HIGHLIGHT_FILL, _HIGHLIGHT_COLOR
    elif is_root:
        fill, border = _ROOT_FILL, _BORDER_COLOR
    elif node.is_leaf:
        fill, border = _PARAMETER_FILL, _BORDER_COLOR
    else:
        fill, border = _VALUE_FILL, _BORDER_COLOR
    border_width = 2 if is_highlighted else 1
    table = (f'<table border="0" cellborder="{border_width}" cellspacing="0" cellpadding="4" '
             f'bgcolor="{fill}" color="{border}"><tr>{"".join(cells)}</tr></table>')
    return f"{node_id} [label=<{table}> shape=plain]\n"


def _op_statement(node, node_id, is_highlighted):
    """The op that made ``node``: its label and annotations (the SSE's errors E_o), in an ellipse."""
    text = [_escape(node.op.label(node))]
    for label, data in node.op.annotations(node):
        if type(data) is float:
            text.append(_escape(f"{label} = {data:.4g}"))
        else:
            text.append(_lines_html(_describe_data(data), prefix=f"{label} "))
    if is_highlighted:
        colors = f'fillcolor="{_HIGHLIGHT_FILL}" color="{_HIGHLIGHT_COLOR}" penwidth=2'
    else:
        colors = f'fillcolor="{_OP_FILL}" color="{_BORDER_COLOR}"'
    return f'{node_id}_op [label=<{"<br/>".join(text)}> shape=ellipse style=filled {colors} margin="0.05,0.02"]\n'


def _edge_attributes(label, is_highlighted):
    attributes = []
    if label is not None:
        attributes.append(f"label={_quote(label)}")
    if is_highlighted:
        attributes.append(f'color="{_HIGHLIGHT_COLOR}" penwidth=2.5')
    return f" [{' '.join(attributes)}]" if attributes else ""


def _summary_lines(root, order, names, drawn_nodes, max_nodes, show_data, show_grad):
    """Too many nodes: the root's record and one box of counts instead of a hairball."""
    op_counts = Counter(node.op.name for node in order if node.op is not None)
    parameters = sum(1 for node in order if node.is_leaf and node.requires_grad)
    constants = sum(1 for node in order if _is_constant(node))
    ops_text = ", ".join(f"{count} × {label}" for label, count in sorted(op_counts.items(),
                                                                       key=lambda item: (-item[1], item[0])))
    text = [
        f"{drawn_nodes} nodes: too many to draw readably (max_nodes={max_nodes})",
        f"{len(order)} values ({parameters} parameters, {constants} constants) and {sum(op_counts.values())} ops",
    ]
    text.extend(_wrap(f"ops: {ops_text}", 90) if ops_text else [])
    text.append(f"draw a smaller graph, or pass max_nodes={drawn_nodes} to draw every node")
    root_id = "node0"
    return [
        "\t" + _value_statement(root, root_id, names.get(root, root.name), True, False, show_data, show_grad),
        f'\tsummary [label=<{"<br/>".join(_escape(line) for line in text)}> shape=note style=filled '
        f'fillcolor="#fff8dc" color="{_BORDER_COLOR}"]\n',
        f'\tsummary -> {root_id} [style=dashed label="collapsed"]\n',
    ]


# ---------------------------------------------------------------------------
# Names, layers, highlight
# ---------------------------------------------------------------------------


def check_layout(rankdir: str, max_nodes: int, caller: str) -> None:
    """The layout options a picture of the graph takes (`to_dot`, `minigrad.explore`)."""
    checks.one_of(rankdir, "rankdir", caller, ("LR", "TB"))
    checks.integer(max_nodes, "max_nodes", caller, minimum=1)


def parameter_names(params: Any, caller: str) -> dict[Value, str]:
    """{Value: name} from a mapping, a list of pairs or a module (first name wins): how
    `to_dot` and `minigrad.explore` read ``params``."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        params = params.named_parameters()
    items = params.items() if hasattr(params, "items") else params
    names: dict[Value, str] = {}
    for name, value in items:
        if not isinstance(value, Value):
            raise TypeError(f"{caller}: params must map names to Values; {name!r} maps to {type(value).__name__}")
        names.setdefault(value, str(name))
    return names


def _highlight_set(highlight):
    """The Values to colour: a Value, a collection of them, or an object with ``.nodes``."""
    if highlight is None:
        return set()
    if isinstance(highlight, Value):
        return {highlight}
    nodes = getattr(highlight, "nodes", highlight)
    try:
        chosen = set(nodes)
    except TypeError:
        raise TypeError(
            f"to_dot: highlight must be Values or an object with .nodes, got {type(highlight).__name__}") from None
    for item in chosen:
        if not isinstance(item, Value):
            raise TypeError(f"to_dot: highlight must hold Values, got a {type(item).__name__}")
    return chosen


# The chapter's names for the parts of each layer of a one-hidden-layer net.
_CHAPTER_LAYERS = {
    "w": "hidden layer", "bias_hidden": "hidden layer", "NdInpt_hidden": "hidden layer", "H": "hidden layer",
    "v": "output layer", "bias_output": "output layer", "NdInpt": "output layer", "A": "output layer",
}
_NUMBERED_NAME = re.compile(r"^(weight|bias|NdInpt_hidden|H)(\d+)$")


def _layer_of_name(name):
    """The layer a name belongs to, or None: ``w[0,1]`` → "hidden layer",
    ``weight_2`` → "layer 2", ``layers.0.weight`` → "layers.0"."""
    if name is None:
        return None
    if "." in name:
        return name.rsplit(".", 1)[0]
    stem = re.sub(r"\[[^\]]*\]$", "", name)       # w[0,1] -> w
    stem = re.sub(r"_\d+$", "", stem)              # H_1 -> H, weight_2 -> weight (handled below)
    if stem in _CHAPTER_LAYERS:
        return _CHAPTER_LAYERS[stem]
    numbered = re.match(r"^(?:weight|bias)_(\d+)", name)
    if numbered:
        return f"layer {numbered.group(1)}"
    numbered = _NUMBERED_NAME.match(stem)
    if numbered:
        return f"layer {numbered.group(2)}"
    return None


def _layer_groups(order, root, names):
    """{node: layer} for the nodes whose layer the names reveal.

    A named node belongs to the layer of its name; an unnamed result belongs
    to the layer of its parameter arguments if any have one (``x @ v`` is in
    v's layer even though x comes from the hidden layer), else to that of its
    other arguments.  Constants and the root stay outside every frame.
    """
    groups = {}
    for node in order:  # parents come first
        if _is_constant(node):
            continue
        layer = _layer_of_name(names.get(node, node.name))
        if layer is None and node.parents:
            from_parameters = [groups[parent] for parent in node.parents if parent.is_leaf and parent in groups]
            from_others = [groups[parent] for parent in node.parents if parent in groups]
            candidates = from_parameters or from_others
            layer = candidates[-1] if candidates else None
        if layer is not None:
            groups[node] = layer
    groups.pop(root, None)
    return groups


# ---------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------


def _is_constant(node):
    return node.is_leaf and not node.requires_grad


def _number(x):
    return f"{float(x):.4g}"


def _describe_data(data):
    """Lines of text for a scalar or tensor: the number, or shape/dtype and a summary."""
    if type(data) is float or np.ndim(data) == 0:
        return [_number(data)]
    array = np.asarray(data)
    shape = "(" + ", ".join(str(size) for size in array.shape) + ("," if array.ndim == 1 else "") + ")"
    head = f"{shape} {array.dtype}"
    if array.size == 0:
        return [head, "empty"]
    if array.size <= _SMALL_TENSOR:
        if array.ndim == 1:
            return [head, _row(array)]
        rows = array.reshape(-1, array.shape[-1])
        return [head] + [_row(row) for row in rows]
    # NOTE: min and max of the finite elements; nan and inf are counted, since
    # one nan would otherwise hide the range of all the others.
    finite = array[np.isfinite(array)]
    parts = [f"min {_number(finite.min())}, max {_number(finite.max())}"] if finite.size else []
    for word, count in (("nan", np.isnan(array).sum()), ("inf", np.isinf(array).sum())):
        if count:
            parts.append(f"{count} {word}")
    return [head, ", ".join(parts)]


def _row(values):
    return "[" + ", ".join(_number(value) for value in values) + "]"


def _lines_html(lines, prefix=""):
    return "<br/>".join(_escape((prefix if index == 0 else "") + line) for index, line in enumerate(lines))


def _escape(text):
    """Text for an HTML-like label: &, <, >, and quotes as entities."""
    return html.escape(str(text), quote=True).replace("&#x27;", "&#39;")


def _quote(text):
    """A double-quoted DOT string."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _wrap(text, width):
    lines, current = [], ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    return lines + [current]


# ---------------------------------------------------------------------------
# Rendering and files
# ---------------------------------------------------------------------------


@contextmanager
def _naming_the_missing_dot(graphviz):
    """Turn graphviz's ExecutableNotFound into a DotNotFoundError that says how to install it."""
    try:
        yield
    except graphviz.ExecutableNotFound:
        raise DotNotFoundError(f"rendering needs graphviz's `dot` program, which is not on PATH. "
                               f"{_INSTALL_HINT}") from None


@lru_cache(maxsize=None)
def _drawing_class():
    """graphviz.Digraph whose renders name the fix when ``dot`` is missing (made on first use,
    so that importing minigrad does not import graphviz)."""
    try:
        import graphviz
    except ImportError:
        raise ImportError("draw needs the graphviz Python package: pip install graphviz "
                          "(minigrad.to_dot works without it)") from None

    class Drawing(graphviz.Digraph):
        """A picture of a minigrad graph: a graphviz.Digraph whose ``.source`` is `to_dot`'s text.

        Jupyter shows it inline.  Without graphviz's ``dot`` program, rendering
        raises `DotNotFoundError` saying how to install it, and in a notebook
        the cell shows that one line instead of a traceback.
        """

        def pipe(self, *args, **kwargs):
            with _naming_the_missing_dot(graphviz):
                return super().pipe(*args, **kwargs)

        def render(self, *args, **kwargs):
            with _naming_the_missing_dot(graphviz):
                return super().render(*args, **kwargs)

        def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
            try:
                return super()._repr_mimebundle_(include, exclude, **kwargs)
            except DotNotFoundError as error:
                return {"text/plain": f"minigrad.draw: {error}"}

    Drawing.__module__, Drawing.__qualname__ = __name__, "Drawing"
    return Drawing


def __getattr__(name):
    # `minigrad.tools.draw.Drawing` is made on first use, so importing minigrad does not import graphviz.
    if name == "Drawing":
        return _drawing_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def file_format(path, format, format_option="format="):
    """The file format: ``format``, else ``path``'s suffix (``format_option`` is named in the error)."""
    if format is None:
        suffix = os.path.splitext(os.fspath(path))[1].lower().lstrip(".")
        if not suffix:
            raise ValueError(f"draw: cannot tell the format of {os.fspath(path)!r}; give it a suffix "
                             f"({', '.join(FILE_FORMATS)}) or pass {format_option}")
        format = suffix
    format = format.lower()
    if format not in FILE_FORMATS:
        raise ValueError(f"draw: unsupported format {format!r}; use one of {', '.join(FILE_FORMATS)}")
    return format


def write_drawing(root: Value, path: str | os.PathLike[str], *, format: str | None = None, **options: Any) -> str:
    """Write the picture of ``root``'s graph to ``path``, or its DOT text when ``dot`` is missing.

    ``draw(root, path, format=format, **options)``; when graphviz's ``dot``
    program is missing (`DotNotFoundError`), the DOT text goes to ``path``
    with its suffix changed to ``.dot`` instead.  Returns the path written
    (a string): ``path`` itself, or the ``.dot`` one.  Any other failure
    (``dot`` failing, an unwritable path) is raised.  The command line and
    ``examples/demo.py`` write their pictures with it.
    """
    path = os.fspath(path)
    try:
        draw(root, path, format=format, **options)
        return path
    except DotNotFoundError:
        dot_path = os.path.splitext(path)[0] + ".dot"
        draw(root, dot_path, format="dot", **options)
        return dot_path
