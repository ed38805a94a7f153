"""Tests for minigrad.tools.draw (minigrad.draw, minigrad.to_dot): the DOT text, real renders by
graphviz's `dot`, the files written, the command line."""

import argparse
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest

import minigrad as mg
from minigrad import cli, nn
import minigrad.tools.draw as draw_module
from minigrad.tools.draw import DotNotFoundError, draw, to_dot
from minigrad.nn import MLP

# CI's `make test` installs graphviz, so there a missing `dot` is a failure, not a skip.
if os.environ.get("CI") and shutil.which("dot") is None:
    raise RuntimeError("CI is set but graphviz's dot program is missing: `make test` should have installed it")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot program is not installed")

HIGHLIGHT_FILL = "#fde0c5"
HIGHLIGHT_COLOR = "#d95f02"
PARAMETER_FILL = "#cfe2f3"
NOT_COMPUTED = "grad not computed"


# ---------------------------------------------------------------------------
# Helpers: read the DOT text back
# ---------------------------------------------------------------------------


def node_lines(dot):
    """{node id: its statement} for every node statement."""
    return {match.group(1): match.group(0)
            for match in re.finditer(r"^\s*(node\d+(?:_op)?|summary) \[.*$", dot, re.MULTILINE)}


def edge_lines(dot):
    return [line.strip() for line in dot.splitlines() if " -> " in line]


def value_ids(dot):
    return [node for node in node_lines(dot) if re.fullmatch(r"node\d+", node)]


def op_ids(dot):
    return [node for node in node_lines(dot) if node.endswith("_op")]


def statement_of(dot, name):
    """The node statement whose label shows ``name`` in bold (a named Value)."""
    found = [line for line in node_lines(dot).values() if f"<b>{name}</b>" in line]
    assert len(found) == 1, f"{name}: {len(found)} statements"
    return found[0]


def svg_texts(svg_bytes):
    """All text in an SVG made by dot, parsed as XML."""
    root = ElementTree.fromstring(svg_bytes)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return ["".join(element.itertext()) for element in root.iter("{http://www.w3.org/2000/svg}text")]


def chapter_scalar_net(seed=0):
    """The chapter's 2-2-2 net weight by weight, its inputs and targets (as the CLI builds it)."""
    net, inputs, desired = nn.example_network([2, 2, 2], alpha=1.0, seed=seed, bias=True, scalar=True)
    return net, net.loss(inputs, desired)


def named_parameter(net, name):
    return dict(net.named_parameters())[name]


# ---------------------------------------------------------------------------
# The chapter's scalar network
# ---------------------------------------------------------------------------


def test_scalar_network_counts_every_value_op_and_edge():
    net, loss = chapter_scalar_net()
    dot = to_dot(loss)
    # Leaves: 8 weights, 4 biases, 2 inputs, 2 targets.  Ops: per unit 2 ×, 2 +, 1 sigmoid
    # for 4 units, plus the sse.  Edges: one op -> result each, plus one per argument.
    assert len(value_ids(dot)) == 16 + 21
    assert len(op_ids(dot)) == 21
    argument_edges = 4 * (2 * 2 + 2 + 2 + 1) + 4
    assert len(edge_lines(dot)) == 21 + argument_edges


def test_scalar_network_shows_the_chapter_names_and_the_errors():
    net, loss = chapter_scalar_net()
    dot = to_dot(loss)
    for name in ["w[0,1]", "w[1,0]", "v[1,0]", "v[0,1]", "bias_hidden[0]", "bias_output[1]",
                 "NdInpt_hidden_1", "H_0", "H_1", "NdInpt_0", "NdInpt_1", "A_0", "A_1"]:
        statement_of(dot, name)
    assert dot.count("sigmoid α=1>") == 4
    errors = loss.saved
    sse_line = [line for line in node_lines(dot).values() if "label=<sse<br/>" in line]
    assert len(sse_line) == 1
    assert f"E_0 = {errors[0]:.4g}" in sse_line[0] and f"E_1 = {errors[1]:.4g}" in sse_line[0]


def test_grad_field_says_not_computed_before_backward_and_shows_numbers_after():
    net, loss = chapter_scalar_net()
    before = to_dot(loss)
    computed_values = 37 - 4  # every Value but the four constants
    assert before.count(NOT_COMPUTED) == computed_values
    assert "grad 0<" not in before and "grad 0.0" not in before

    loss.backward()
    after = to_dot(loss)
    assert NOT_COMPUTED not in after
    v10 = named_parameter(net, "v[1,0]")
    assert f"<td>data {v10.data:.4g}</td><td>grad {v10.grad:.4g}</td>" in statement_of(after, "v[1,0]")
    assert "<td>grad 1</td>" in after  # the loss's own seed


def test_constants_are_dashed_boxes_without_grad_and_parameters_are_blue():
    net, loss = chapter_scalar_net()
    loss.backward()
    dot = to_dot(loss)
    dashed = [line for line in node_lines(dot).values() if "dashed" in line]
    assert len(dashed) == 4  # two inputs, two targets
    assert all("grad" not in line and "shape=box" in line for line in dashed)
    parameters = [line for line in node_lines(dot).values() if PARAMETER_FILL in line]
    assert len(parameters) == 12
    assert all(re.search(r"<b>(w|v|bias_hidden|bias_output)\[", line) for line in parameters)


def test_layers_are_framed_hidden_then_output_and_the_loss_stays_outside():
    net, loss = chapter_scalar_net()
    dot = to_dot(loss)
    clusters = re.findall(r"subgraph cluster_\d+ \{\n\t\tgraph \[label=\"([^\"]+)\"", dot)
    assert clusters == ["hidden layer", "output layer"]
    hidden, output = dot.split("subgraph cluster_1")[0], dot.split("subgraph cluster_1")[1].split("\t}\n")[0]
    assert "<b>H_1</b>" in hidden and "<b>w[1,1]</b>" in hidden and "<b>v[1,0]</b>" not in hidden
    assert "<b>A_0</b>" in output and "<b>v[1,0]</b>" in output and "<b>bias_output[0]</b>" in output
    assert "label=<sse" not in hidden + output
    assert "subgraph" not in to_dot(loss, group=False)


def test_same_graph_gives_the_same_text_with_counter_ids():
    first = to_dot(chapter_scalar_net()[1])
    assert first == to_dot(chapter_scalar_net()[1])  # rebuilt from scratch: new objects, same text
    assert set(value_ids(first)) == {f"node{number}" for number in range(37)}
    assert not re.search(r"\d{6,}", "".join(node_lines(first)))  # no id() in node ids


def assert_parents_numbered_first(dot):
    """Every argument edge ``nodeA -> nodeB_op`` has A < B: ids follow a topological order."""
    edges = re.findall(r"^\s*node(\d+) -> node(\d+)_op", dot, re.MULTILINE)
    assert edges
    for parent, child in edges:
        assert int(parent) < int(child), f"node{parent} -> node{child}_op"


def test_node_numbers_follow_the_graph_parents_first():
    # A later argument that is also an ancestor of an earlier one (x in sigmoid(x) * x,
    # b in (b * c) + b) must still be numbered before the nodes made from it.
    x = mg.Value(0.5, requires_grad=True, name="x")
    swish = x.sigmoid() * x
    dot = to_dot(swish)
    assert_parents_numbered_first(dot)
    assert "<b>x</b>" in node_lines(dot)["node0"]
    b = mg.Value(2.0, requires_grad=True, name="b")
    c = mg.Value(3.0, name="c")
    assert_parents_numbered_first(to_dot(b * c + b))
    assert_parents_numbered_first(to_dot(chapter_scalar_net()[1]))
    net = MLP([2, 3, 2], seed=0)
    assert_parents_numbered_first(to_dot(net.loss(np.array([0.0, 1.0]), np.array([1.0, 0.0]))))


def test_the_module_is_minigrad_drawing_and_the_package_exports_the_functions(tmp_path):
    # Regression: the module used to be minigrad/draw.py, shadowed by the package's `draw` function.
    import importlib

    assert importlib.import_module("minigrad.tools.draw") is draw_module
    assert mg.draw is draw_module.draw and mg.to_dot is draw_module.to_dot
    assert mg.DotNotFoundError is draw_module.DotNotFoundError
    assert not hasattr(mg.draw, "to_dot")
    net, loss = chapter_scalar_net()
    assert mg.to_dot(loss, params=net) == draw_module.to_dot(loss, params=net)
    path = tmp_path / "graph.dot"
    mg.draw(loss, path, params=net)
    assert path.read_text(encoding="utf-8") == draw_module.to_dot(loss, params=net)


# ---------------------------------------------------------------------------
# Tensor graphs, op labels, argument positions
# ---------------------------------------------------------------------------


def test_tensor_network_shows_shapes_dtypes_and_matmul_argument_positions():
    net = MLP([2, 2, 2], alpha=1.0, seed=0)
    loss = net.loss(np.array([0.0, 1.0]), np.array([1.0, 0.0]))
    dot = to_dot(loss, params=dict(net.named_parameters()))
    assert len(value_ids(dot)) == 4 + 2 + 7 and len(op_ids(dot)) == 7  # @, +, sigmoid twice; sse
    w = statement_of(dot, "w")
    assert "data (2, 2) float64" in w
    assert f"[{net.w.data[0, 0]:.4g}, {net.w.data[0, 1]:.4g}]" in w  # small tensors show their values
    assert "data (2,) float64" in statement_of(dot, "bias_hidden")
    assert dot.count("label=<@>") == 2
    matmul_edges = [line for line in edge_lines(dot) if re.search(r"label=\"[01]\"", line)]
    assert len(matmul_edges) == 4
    assert sorted(re.findall(r'label="(desired|actual)"', dot)) == ["actual", "desired"]
    plus = [node for node, line in node_lines(dot).items() if "label=<+>" in line]
    into_plus = [line for line in edge_lines(dot) for node in plus if re.search(rf"-> {node}\b", line)]
    assert len(into_plus) == 4 and not any("label" in line for line in into_plus)  # + is commutative


def test_op_labels_carry_their_arguments_and_big_tensors_are_summarised():
    x = mg.Value(np.arange(12.0).reshape(3, 4) - 5.5, name="x")
    y = ((x ** 2).sum(axis=1) - 1.0).sigmoid(alpha=0.5).mean()
    dot = to_dot(y)
    for label in ["**2", "sum axis=1", "sigmoid α=0.5", "mean", "−"]:
        assert f"label=<{label}>" in dot
    assert "data (3, 4) float64<br/>min -5.5, max 5.5" in statement_of(dot, "x")
    z = mg.Value([np.nan, np.inf, -np.inf, 1.0, 2.0, 3.0, 4.0], name="z")
    assert "min 1, max 4, 1 nan, 2 inf" in statement_of(to_dot(z.sum()), "z")
    subtraction_edges = [line for line in edge_lines(dot) if 'label="' in line]
    assert len(subtraction_edges) == 2  # x − 1 is not commutative: both arguments numbered


def test_float32_tensors_show_their_dtype():
    x = mg.Value(np.ones(3, dtype=np.float32), name="x")
    assert "data (3,) float32" in statement_of(to_dot((x * x).sum()), "x")


def test_repeated_argument_draws_two_edges_into_one_op():
    x = mg.Value(3.0, name="x")
    dot = to_dot(x * x)
    assert len(value_ids(dot)) == 2
    x_id = [node for node, line in node_lines(dot).items() if "<b>x</b>" in line][0]
    assert edge_lines(dot).count(f"{x_id} -> node1_op") == 2


def test_names_are_escaped_for_html_labels():
    tricky = 'a{b}|c<d>"e"&f'
    x = mg.Value(2.0, name=tricky)
    dot = to_dot(x * 3.0)
    assert "a{b}|c&lt;d&gt;&quot;e&quot;&amp;f" in dot
    assert tricky not in dot


# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------


def test_params_map_names_leaves_and_wins_over_value_names():
    weight = mg.Value([[1.0, 2.0]], name="weight")
    unnamed = mg.Value([3.0])
    dot = to_dot((unnamed @ weight).sum(), params={"layers.0.weight": weight, "scale": unnamed})
    assert "<b>layers.0.weight</b>" in dot and "<b>scale</b>" in dot and "<b>weight</b>" not in dot
    assert 'label="layers.0"' in dot  # grouped by module path
    net = MLP([2, 3, 1], seed=1)
    loss = net.loss(np.array([0.5, 0.5]), np.array([1.0]))
    assert to_dot(loss, params=net) == to_dot(loss, params=net.named_parameters())
    with pytest.raises(TypeError, match="params"):
        to_dot(loss, params={"w": 1.0})


def test_show_data_and_show_grad_leave_out_fields_and_rankdir_is_passed_on():
    net, loss = chapter_scalar_net()
    loss.backward()
    no_data = to_dot(loss, show_data=False, rankdir="TB")
    assert "rankdir=TB" in no_data and "<td>data " not in no_data and "<td>grad " in no_data
    no_grad = to_dot(loss, show_grad=False)
    assert "rankdir=LR" in no_grad and "<td>grad " not in no_grad and "<td>data " in no_grad
    with pytest.raises(ValueError, match="rankdir"):
        to_dot(loss, rankdir="RL")
    with pytest.raises(TypeError, match="root"):
        to_dot(loss.data)


def chain_rule_nodes_by_hand(net, loss):
    """The nodes from the loss down to v[1,0]: v[1,0], v[1,0]·H_1, the sum, NdInpt_0, A_0, SSE."""
    v10 = named_parameter(net, "v[1,0]")
    a0 = loss.parents[2]
    ndinpt0 = a0.parents[0]
    weighted_sum = ndinpt0.parents[0]
    product = weighted_sum.parents[1]
    assert (a0.name, ndinpt0.name, product.parents[0]) == ("A_0", "NdInpt_0", v10)
    return {loss, a0, ndinpt0, weighted_sum, product, v10}


def check_highlight(dot, count):
    """``count`` highlighted Values with their ops, and the edges between them, in colour."""
    filled = [line for line in node_lines(dot).values() if HIGHLIGHT_FILL in line]
    assert len([line for line in filled if "shape=plain" in line]) == count
    assert len([line for line in filled if "shape=ellipse" in line]) == count - 1  # the parameter has no op
    coloured_edges = [line for line in edge_lines(dot) if HIGHLIGHT_COLOR in line]
    assert len(coloured_edges) == 2 * (count - 1)  # op -> result, and the highlighted argument -> op


def test_highlight_colours_exactly_the_given_nodes_and_the_edges_between_them():
    net, loss = chapter_scalar_net()
    path = chain_rule_nodes_by_hand(net, loss)
    dot = to_dot(loss, highlight=path)
    check_highlight(dot, 6)
    assert HIGHLIGHT_FILL in statement_of(dot, "v[1,0]") and HIGHLIGHT_FILL in statement_of(dot, "A_0")
    assert HIGHLIGHT_FILL not in statement_of(dot, "A_1") and HIGHLIGHT_FILL not in statement_of(dot, "v[0,0]")
    assert to_dot(loss, highlight=list(path)) == dot


def test_highlight_accepts_anything_with_nodes():
    net, loss = chapter_scalar_net()

    class Paths:
        def __init__(self, nodes):
            self.nodes = nodes

    path = chain_rule_nodes_by_hand(net, loss)
    assert to_dot(loss, highlight=Paths(path)) == to_dot(loss, highlight=path)
    with pytest.raises(TypeError, match="highlight"):
        to_dot(loss, highlight=[1, 2])


def test_highlight_with_explain():
    import minigrad.tools.explain as explain_module

    net, loss = chapter_scalar_net()
    v10 = named_parameter(net, "v[1,0]")
    explanation = explain_module.explain(loss, v10, None)
    dot = to_dot(loss, highlight=explanation)
    assert set(explanation.nodes) >= {loss, v10}
    check_highlight(dot, len(set(explanation.nodes)))
    assert HIGHLIGHT_FILL in statement_of(dot, "v[1,0]") and HIGHLIGHT_FILL not in statement_of(dot, "v[0,0]")


def test_max_nodes_gives_a_summary_not_a_hairball():
    net, loss = chapter_scalar_net()
    dot = to_dot(loss, max_nodes=20)
    assert len(node_lines(dot)) == 2  # the loss and one summary box
    assert "58 nodes: too many to draw readably (max_nodes=20)" in dot
    assert "37 values (12 parameters, 4 constants) and 21 ops" in dot
    assert "ops: 8 × add, 8 × mul, 4 × sigmoid, 1 × sse" in dot and "max_nodes=58" in dot
    assert len(value_ids(to_dot(loss, max_nodes=58))) == 37
    with pytest.raises(ValueError, match="max_nodes"):
        to_dot(loss, max_nodes=0)


def test_a_deep_chain_needs_no_recursion():
    x = mg.Value(0.5, name="x")
    y = x
    for _ in range(5000):
        y = y * 1.0001
    assert len(value_ids(to_dot(y, max_nodes=20000))) == 10001
    assert "10001 values" in to_dot(y)


# ---------------------------------------------------------------------------
# draw(): graphviz objects and files
# ---------------------------------------------------------------------------


def test_draw_returns_a_digraph_whose_source_is_to_dot():
    import graphviz

    net, loss = chapter_scalar_net()
    graph = draw(loss, params=net, rankdir="TB")
    assert isinstance(graph, graphviz.Digraph)
    assert graph.source == to_dot(loss, params=net, rankdir="TB")
    with pytest.raises(TypeError, match="unknown option 'colour'"):
        draw(loss, colour="red")


@needs_dot
def test_draw_writes_an_svg_that_dot_rendered_with_the_labels(tmp_path):
    net, loss = chapter_scalar_net()
    loss.backward()
    path = tmp_path / "graph.svg"
    draw(loss, path)
    texts = svg_texts(path.read_bytes())
    v10 = named_parameter(net, "v[1,0]")
    for expected in ["v[1,0]", "w[0,1]", "NdInpt_0", "H_1", "A_0", "sse", "sigmoid α=1",
                     f"E_0 = {loss.saved[0]:.4g}", f"grad {v10.grad:.4g}", "hidden layer", "output layer"]:
        assert expected in texts, expected
    assert sorted(os.listdir(tmp_path)) == ["graph.svg"]  # no temporary file left behind


@needs_dot
def test_draw_pipes_png_and_writes_pdf_and_dot_files(tmp_path):
    x = mg.Value([1.0, -2.0], name="x")
    y = (x * x).sum()
    graph = draw(y)
    assert graph.pipe(format="png").startswith(b"\x89PNG")
    draw(y, tmp_path / "picture.pdf")
    assert (tmp_path / "picture.pdf").read_bytes().startswith(b"%PDF")
    draw(y, tmp_path / "picture.gv", highlight={x})
    assert (tmp_path / "picture.gv").read_text(encoding="utf-8") == to_dot(y, highlight={x})
    draw(y, tmp_path / "no-suffix", format="svg")
    assert "x" in svg_texts((tmp_path / "no-suffix").read_bytes())
    with pytest.raises(ValueError, match="format"):
        draw(y, tmp_path / "picture.bmp")
    with pytest.raises(ValueError, match="suffix"):
        draw(y, tmp_path / "picture")


@needs_dot
def test_highlight_and_escaped_names_survive_a_real_render():
    net, loss = chapter_scalar_net()
    svg = draw(loss, highlight=chain_rule_nodes_by_hand(net, loss)).pipe(format="svg")
    assert HIGHLIGHT_COLOR.encode() in svg and HIGHLIGHT_FILL.encode() in svg
    tricky = 'a{b}|c<d>"e"&f'
    svg = draw(mg.Value(2.0, name=tricky) * 3.0).pipe(format="svg")
    assert tricky in svg_texts(svg)


# ---------------------------------------------------------------------------
# Without graphviz's dot program
# ---------------------------------------------------------------------------


def hide_dot(monkeypatch, tmp_path):
    """PATH without graphviz: every program lookup fails."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def test_without_dot_to_dot_works_and_rendering_says_how_to_install(monkeypatch, tmp_path):
    hide_dot(monkeypatch, tmp_path)
    net, loss = chapter_scalar_net()
    assert "v[1,0]" in to_dot(loss)
    graph = draw(loss)
    with pytest.raises(DotNotFoundError, match="apt-get install graphviz"):
        graph.pipe(format="svg")
    with pytest.raises(DotNotFoundError, match="make demo"):
        graph.render(outfile=str(tmp_path / "graph.svg"))
    with pytest.raises(DotNotFoundError):
        draw(loss, tmp_path / "graph.svg")
    assert not (tmp_path / "graph.svg").exists()
    draw(loss, tmp_path / "graph.dot")  # DOT text needs no dot program
    assert (tmp_path / "graph.dot").read_text(encoding="utf-8") == to_dot(loss)


def test_write_drawing_falls_back_to_the_dot_text_only_when_dot_is_missing(monkeypatch, tmp_path):
    net, loss = chapter_scalar_net()
    assert draw_module.write_drawing(loss, tmp_path / "graph.dot", params=net) == str(tmp_path / "graph.dot")
    assert (tmp_path / "graph.dot").read_text(encoding="utf-8") == to_dot(loss, params=net)
    hide_dot(monkeypatch, tmp_path)
    written = draw_module.write_drawing(loss, tmp_path / "picture.svg", params=net, rankdir="TB")
    assert written == str(tmp_path / "picture.dot") and not (tmp_path / "picture.svg").exists()
    assert (tmp_path / "picture.dot").read_text(encoding="utf-8") == to_dot(loss, params=net, rankdir="TB")

    def dot_fails(self, *args, **kwargs):
        raise RuntimeError("dot crashed")

    monkeypatch.setattr(draw_module._drawing_class(), "pipe", dot_fails)
    with pytest.raises(RuntimeError, match="dot crashed"):  # only a missing dot falls back
        draw_module.write_drawing(loss, tmp_path / "other.svg")
    assert not (tmp_path / "other.svg").exists() and not (tmp_path / "other.dot").exists()


# ---------------------------------------------------------------------------
# Writing files: clear errors, the old file intact, no temporary file left
# ---------------------------------------------------------------------------


def test_draw_into_a_missing_folder_is_a_clear_error(tmp_path):
    net, loss = chapter_scalar_net()
    path = tmp_path / "no" / "such" / "graph.dot"
    with pytest.raises(FileNotFoundError) as raised:
        draw(loss, path)
    assert str(raised.value) == (f"draw: cannot write {str(path)!r}: folder {str(path.parent)!r} does not exist; "
                                 "nothing was written")
    assert os.listdir(tmp_path) == []


def test_draw_over_a_read_only_file_or_onto_a_folder_leaves_everything_as_it_was(tmp_path):
    net, loss = chapter_scalar_net()
    path = tmp_path / "graph.dot"
    draw(loss, path)
    old = path.read_bytes()
    loss.backward()  # a different picture: the gradients are now computed
    assert to_dot(loss).encode("utf-8") != old
    path.chmod(0o444)
    try:
        with pytest.raises(PermissionError) as raised:
            draw(loss, path)
        assert str(raised.value) == f"draw: {str(path)!r} is read-only; it was left as it was"
        assert path.read_bytes() == old
    finally:
        path.chmod(0o644)
    (tmp_path / "folder.gv").mkdir()
    with pytest.raises(IsADirectoryError, match=r"draw: '.*folder\.gv' is a folder, not a file name"):
        draw(loss, tmp_path / "folder.gv")
    assert sorted(os.listdir(tmp_path)) == ["folder.gv", "graph.dot"]
    assert os.listdir(tmp_path / "folder.gv") == []


def test_draw_keeps_the_old_file_when_the_write_fails(tmp_path, monkeypatch):
    net, loss = chapter_scalar_net()
    path = tmp_path / "graph.dot"
    draw(loss, path)
    old = path.read_bytes()
    loss.backward()

    def broken_replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError) as raised:
        draw(loss, path)
    assert str(raised.value) == f"draw: writing {str(path)!r} failed (disk full); the old file was left as it was"
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["graph.dot"]  # the temporary file is gone


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def run_draw(argv):
    return cli.main(["draw", *argv])


def test_command_line_writes_dot_text_of_the_scalar_net_by_default(tmp_path, capsys):
    out = tmp_path / "net.dot"
    assert run_draw(["--layers", "2", "2", "2", "--seed", "0", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("digraph minigrad {") and "<b>v[1,0]</b>" in text and NOT_COMPUTED not in text
    loss, options = _forward_backward(scalar=True)
    assert text == to_dot(loss, **options)
    assert "wrote" in capsys.readouterr().out


def _forward_backward(scalar, layers=(2, 2, 2)):
    net, inputs, desired = nn.example_network(list(layers), 1.0, 0, True, scalar)
    loss = net.loss(inputs, desired)
    loss.backward()
    return loss, {"params": net.named_parameters()}


def test_command_line_format_tensor_and_highlight(tmp_path):
    out = tmp_path / "graph.txt"
    assert run_draw(["--tensor", "--format", "dot", "--out", str(out), "--rankdir", "TB"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "<b>v</b>" in text and "label=<@>" in text and "rankdir=TB" in text
    big = tmp_path / "big.dot"
    run_draw(["--layers", "8", "8", "2", "--out", str(big)])
    assert "<b>w</b>" in big.read_text(encoding="utf-8")  # bigger nets default to tensors
    marked = tmp_path / "marked.dot"
    run_draw(["--highlight", "v[1,0]", "--out", str(marked)])
    check_highlight(marked.read_text(encoding="utf-8"), 6)
    marked_tensor = tmp_path / "marked_tensor.dot"
    run_draw(["--tensor", "--highlight", "v[1,0]", "--out", str(marked_tensor)])
    assert HIGHLIGHT_FILL in statement_of(marked_tensor.read_text(encoding="utf-8"), "v")


def one_line_error(capsys):
    """What the command printed to stderr: exactly one line, no traceback, nothing on stdout."""
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.endswith("\n") and captured.err.count("\n") == 1, captured.err
    assert "Traceback" not in captured.err
    return captured.err.strip()


@pytest.mark.parametrize("arguments, message", [
    (["--out", "{tmp}/graph"], "minigrad draw: cannot tell the format of '{tmp}/graph'; give it a suffix "
                               "(svg, png, pdf, dot, gv) or pass --format"),
    (["--out", "{tmp}/graph.bmp"], "minigrad draw: unsupported format 'bmp'; use one of svg, png, pdf, dot, gv"),
    (["--highlight", "u[0,0]"], "minigrad draw: --highlight u[0,0]: no parameter named 'u[0,0]'; choose from "
                                "w[0,0], w[0,1], w[1,0], w[1,1], bias_hidden[0], bias_hidden[1], v[0,0], v[0,1], "
                                "v[1,0], v[1,1], bias_output[0], bias_output[1]"),
    (["--highlight", "v[9,9]"], "minigrad draw: --highlight v[9,9]: no parameter named 'v[9,9]'; choose from "
                                "w[0,0], w[0,1], w[1,0], w[1,1], bias_hidden[0], bias_hidden[1], v[0,0], v[0,1], "
                                "v[1,0], v[1,1], bias_output[0], bias_output[1]"),
    (["--tensor", "--highlight", "v[9,9]"],
     "minigrad draw: --highlight v[9,9]: index (9, 9) is out of range for param of shape (2, 2)"),
    (["--tensor", "--highlight", "v[1]"],
     "minigrad draw: --highlight v[1]: index (1,) has 1 entries but param has shape (2, 2)"),
    (["--tensor", "--highlight", "v[1,,0]"],
     "minigrad draw: --highlight v[1,,0]: 'v[1,,0]' is not a parameter name with an index such as 'v[1,0]'"),
    (["--layers", "2"], "minigrad draw: --layers needs at least two sizes (inputs ... outputs), got [2]"),
    (["--layers", "2", "0", "2"], "minigrad draw: --layers: must be a positive integer, got 0"),
    (["--max-nodes", "0"], "minigrad draw: --max-nodes: must be a positive integer, got 0"),
    (["--out", "{tmp}/missing/graph.dot"], "minigrad draw: cannot write '{tmp}/missing/graph.dot': "
                                           "folder '{tmp}/missing' does not exist; nothing was written"),
    (["--out", "{tmp}/folder.dot"], "minigrad draw: '{tmp}/folder.dot' is a folder, not a file name"),
])
def test_command_line_bad_arguments_are_one_line_errors_with_exit_code_2(tmp_path, capsys, arguments, message):
    # Exit code 2 and "minigrad <command>: ..." on stderr, as compare and explain do.
    (tmp_path / "folder.dot").mkdir()
    arguments = [argument.replace("{tmp}", str(tmp_path)) for argument in arguments]
    if "--out" not in arguments:
        arguments += ["--out", str(tmp_path / "graph.dot")]
    assert run_draw(arguments) == 2
    assert one_line_error(capsys) == message.replace("{tmp}", str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["folder.dot"]  # nothing written, no temporary file


def test_command_line_leaves_a_read_only_out_file_as_it_was(tmp_path, capsys):
    out = tmp_path / "graph.dot"
    out.write_bytes(b"an older picture")
    out.chmod(0o444)
    try:
        assert run_draw(["--out", str(out)]) == 2
        assert one_line_error(capsys) == f"minigrad draw: {str(out)!r} is read-only; it was left as it was"
        assert out.read_bytes() == b"an older picture"
        assert sorted(os.listdir(tmp_path)) == ["graph.dot"]
    finally:
        out.chmod(0o644)


def test_command_line_reports_too_many_chain_rule_paths_as_a_usage_error(monkeypatch, tmp_path, capsys):
    from minigrad.tools.explain import PathExplosionError

    def too_many(loss, net, parameter_name):
        raise PathExplosionError("explain: more than 10000 paths lead to w[0,0]; pass max_paths= to allow more")

    monkeypatch.setattr(cli, "_chain_rule_nodes", too_many)
    assert run_draw(["--highlight", "w[0,0]", "--out", str(tmp_path / "graph.dot")]) == 2
    assert one_line_error(capsys) == ("minigrad draw: --highlight w[0,0]: more than 10000 paths lead to w[0,0]; "
                                      "pass max_paths= to allow more")
    assert os.listdir(tmp_path) == []


def test_command_line_without_dot_into_a_missing_folder_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    hide_dot(monkeypatch, tmp_path)  # rendering fails, and so does the DOT fallback: the folder is missing
    out = tmp_path / "missing" / "graph.svg"
    assert run_draw(["--out", str(out)]) == 2
    assert one_line_error(capsys) == (f"minigrad draw: cannot write {str(out.with_suffix('.dot'))!r}: "
                                      f"folder {str(out.parent)!r} does not exist; nothing was written")


@needs_dot
def test_command_line_renders_svg(tmp_path):
    out = tmp_path / "graph.svg"
    assert run_draw(["--out", str(out), "--alpha", "0.5"]) == 0
    texts = svg_texts(out.read_bytes())
    assert "A_1" in texts and "sigmoid α=0.5" in texts


def test_command_line_writes_dot_instead_when_dot_is_missing(monkeypatch, tmp_path, capsys):
    hide_dot(monkeypatch, tmp_path)
    out = tmp_path / "graph.svg"
    assert run_draw(["--out", str(out)]) == 0
    assert not out.exists()
    assert (tmp_path / "graph.dot").read_text(encoding="utf-8").startswith("digraph minigrad {")
    message = capsys.readouterr().err
    assert "graph.dot" in message and "apt-get install graphviz" in message


def test_python_dash_m_minigrad_draw(tmp_path):
    out = tmp_path / "graph.dot"
    result = subprocess.run([sys.executable, "-m", "minigrad", "draw", "--layers", "2", "2", "2", "--alpha", "1.0",
                             "--seed", "0", "--format", "dot", "--out", str(out)],
                            capture_output=True, text=True, timeout=60,
                            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert result.returncode == 0, result.stderr
    assert "<b>NdInpt_0</b>" in out.read_text(encoding="utf-8")
    # The reviewer's cases: explain's IndexError and a missing --out folder used to print tracebacks.
    for arguments, message in [
            (["--tensor", "--highlight", "v[9,9]"],
             "minigrad draw: --highlight v[9,9]: index (9, 9) is out of range for param of shape (2, 2)\n"),
            (["--out", str(tmp_path / "missing" / "x.svg")],
             f"minigrad draw: cannot write {str(tmp_path / 'missing' / 'x.svg')!r}: "
             f"folder {str(tmp_path / 'missing')!r} does not exist; nothing was written\n")]:
        result = subprocess.run([sys.executable, "-m", "minigrad", "draw", "--out", str(out), *arguments],
                                capture_output=True, text=True, timeout=60,
                                cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
        assert (result.returncode, result.stdout, result.stderr) == (2, "", message)
