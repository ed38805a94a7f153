"""Tests for minigrad.explore (minigrad/exploring.py) and minigrad.backward_order, without a browser:
the engine's order, the page as one safe offline file, its numbers against the engine's, the command line.
The page in a real browser: tests/test_explore_browser.py."""

import base64
import hashlib
import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import minigrad as mg
from minigrad import cli, nn
from minigrad.core.backward import backward_order
from minigrad.tools.explain import explain
from minigrad.tools.explore import FULL_ELEMENTS, Exploration, explore
from minigrad.core.ops import OPS
from strategies import make_leaves, programs, run

# CI's `make test` installs graphviz, so there a missing `dot` is a failure, not a skip.
if os.environ.get("CI") and shutil.which("dot") is None:
    raise RuntimeError("CI is set but graphviz's dot program is missing: `make test` should have installed it")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot program is not installed")

HOSTILE = '<img src=x onerror="window.__pwned=1">'
CLOSER = "</script><script>window.__pwned=2</script>"


def chapter_net(scalar=True, sizes=(2, 2, 2)):
    net, inputs, desired = nn.example_network(list(sizes), scalar=scalar)
    return net, net.loss(inputs, desired)


def page_json(page_html):
    """The data block of a page, parsed as the browser parses it."""
    match = re.search(r'<script type="application/json" id="mg-data">(.*?)</script>', page_html, re.DOTALL)
    assert match, "the page has no data block"
    return json.loads(match.group(1))


def number(value):
    """A page number back to a float (nan and inf travel as strings)."""
    return float(value)


def assert_same(entry, data):
    """A page value entry holds exactly these numbers (full arrays up to FULL_ELEMENTS)."""
    array = np.asarray(data, dtype=np.float64)
    assert entry["shape"] == list(array.shape)
    if array.ndim == 0:
        assert number(entry["data"]) == float(array) or math.isnan(float(array))
    else:
        got = np.vectorize(number)(np.asarray(entry["data"], dtype=object)).astype(np.float64)
        np.testing.assert_array_equal(got.reshape(array.shape), array)


# ---------------------------------------------------------------------------
# backward_order: the order the engine really runs
# ---------------------------------------------------------------------------


@pytest.fixture
def recorded(monkeypatch):
    """The ops whose backward rule the engine calls, with the output each one gets, in the order
    it calls them (`as_calls` gives the same for a list of nodes)."""
    calls = []
    for op in OPS:
        def recording(grad, out, *rest, op=op):
            calls.append((op, id(out)))
            return type(op).backward(op, grad, out, *rest)
        monkeypatch.setattr(op, "backward", recording)
    return calls


def as_calls(nodes):
    return [(node.op, id(node.data)) for node in nodes]


def chapter_graphs():
    return [chapter_net(scalar=True)[1], chapter_net(scalar=False)[1], chapter_net(True, (3, 4, 2))[1]]


def test_backward_order_is_the_order_the_engine_calls_the_ops(recorded):
    x = mg.Value(1.5, name="x")
    y = x * x                                  # one parent twice
    diamond = (y + x).tanh() * (y - 2.0) + y   # a node reached by several paths, and a constant
    graphs = chapter_graphs() + [diamond, (x * 3.0).sum()]
    for loss in graphs:
        expected = backward_order(loss)
        del recorded[:]
        loss.backward()
        assert recorded == as_calls(expected)
        assert len(set(expected)) == len(expected)
        assert expected[0] is loss and all(node.parents for node in expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(programs(max_steps=10, dtypes=("float64", "mixed")))
def test_backward_order_matches_the_engine_on_random_graphs(recorded, program):
    loss, _ = run(program, make_leaves(program))
    expected = backward_order(loss)
    del recorded[:]
    loss.backward()
    assert recorded == as_calls(expected)


def test_backward_order_leaves_the_graph_and_its_gradients_alone():
    net, loss = chapter_net()
    assert backward_order(loss) == backward_order(loss)  # structure only: the same every time
    assert all(node.grad is None for node in mg.topological_order(loss))
    loss.backward()
    grads = {name: value.grad for name, value in net.named_parameters()}
    backward_order(loss)
    assert {name: value.grad for name, value in net.named_parameters()} == grads


def test_backward_order_of_a_leaf_is_empty_and_of_a_long_chain_does_not_recurse():
    assert backward_order(mg.Value(2.0)) == []
    x = mg.Value(0.5)
    node = x
    for _ in range(20_000):
        node = node * 1.0
    assert len(backward_order(node)) == 20_000


# ---------------------------------------------------------------------------
# The page: one file, offline, safe
# ---------------------------------------------------------------------------


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self, text):
        super().__init__()
        self.tags = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def assert_offline_and_inert(page_html):
    tags = Tags(page_html).tags
    names = [tag for tag, _ in tags]
    # Nothing that loads anything: no src, href or xlink:href on any element, no external tags.
    for tag, attributes in tags:
        for attribute in attributes:
            assert attribute not in ("src", "href", "xlink:href", "srcset", "action", "formaction"), (tag, attribute)
            assert not attribute.startswith("on"), (tag, attribute)  # no inline event handlers
    for tag in ("img", "iframe", "link", "object", "embed", "image", "use", "foreignobject", "a", "base"):
        assert tag not in names, tag
    assert names.count("script") == 2  # the data block and the page's own script
    assert "http://" not in page_html and "https://" not in page_html and "//cdn" not in page_html
    # The page's own policy forbids every request, and allows only its own script and style.
    policy = next(attributes["content"] for tag, attributes in tags
                  if tag == "meta" and attributes.get("http-equiv") == "Content-Security-Policy")
    assert policy.startswith("default-src 'none'; ")
    return tags, policy


@needs_dot
def test_the_page_is_one_offline_file_whose_policy_admits_its_own_script_only():
    net, loss = chapter_net()
    page = explore(loss, params=net)
    tags, policy = assert_offline_and_inert(page.html)
    for kind, tag in (("script", "script"), ("style", "style")):
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", page.html, re.DOTALL)
        assert len(bodies) == 1
        digest = base64.b64encode(hashlib.sha256(bodies[0].encode("utf-8")).digest()).decode("ascii")
        assert f"{kind}-src 'sha256-{digest}'" in policy
    assert page.html.startswith("<!DOCTYPE html>") and "<?xml" not in page.html and "<!DOCTYPE svg" not in page.html
    assert page.html.count("<svg") == 1


@needs_dot
def test_hostile_names_reach_the_page_as_text_only():
    a = mg.Value(2.0, name=HOSTILE)
    b = mg.Value(3.0, name=CLOSER)
    c = mg.Value(0.5, name="& \"quotes\" 'and' \u2028 line")
    loss = ((a * b).sigmoid() + c).tanh()
    loss.name = "<b>loss</b>"
    page = explore(loss)
    assert_offline_and_inert(page.html)
    assert "<img" not in page.html and "<b>loss" not in page.html
    # `</script>` in a name cannot close the data block: it is \u003c/script\u003e there.
    assert page.html.count("</script>") == 2
    data = page_json(page.html)
    assert data == page.data
    names = {node["name"] for node in data["nodes"]}
    assert {HOSTILE, CLOSER, "<b>loss</b>"} <= names
    # In the SVG the names are escaped text, shown as themselves.
    assert html.escape(HOSTILE, quote=False) in page.html
    assert f"<title>{html.escape(CLOSER, quote=False)}</title>" in page.html


@needs_dot
def test_the_notebook_view_is_an_isolated_iframe_holding_the_page():
    page = explore(chapter_net()[1])
    view = page._repr_html_()
    assert view.startswith("<iframe ") and view.endswith("></iframe>")
    tags = Tags(view).tags
    assert [tag for tag, _ in tags] == ["iframe"]
    attributes = tags[0][1]
    assert attributes["srcdoc"] == page.html
    assert attributes["sandbox"] == "allow-scripts"  # no allow-same-origin: no access to the notebook
    assert "<script" not in view


@needs_dot
def test_save_writes_the_page_atomically(tmp_path):
    page = explore(chapter_net()[1])
    path = tmp_path / "explore.html"
    assert page.save(path) == str(path)
    assert path.read_text(encoding="utf-8") == page.html
    with pytest.raises(FileNotFoundError, match="explore: cannot write"):
        page.save(tmp_path / "missing" / "explore.html")
    assert sorted(os.listdir(tmp_path)) == ["explore.html"]


# ---------------------------------------------------------------------------
# The numbers: the engine's own
# ---------------------------------------------------------------------------


@needs_dot
@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "tensor"])
def test_the_data_holds_the_engines_forward_values_order_and_gradients(scalar):
    net, loss = chapter_net(scalar=scalar)
    loss.backward()
    page = explore(loss, params=net)
    data = page_json(page.html)
    assert data == page.data  # the JSON round trip loses nothing
    order = mg.topological_order(loss)
    assert [node["id"] for node in data["nodes"]] == list(range(len(order)))
    for entry, node in zip(data["nodes"], order):
        assert_same(entry["value"], node.data)
        assert entry["kind"] == ("result" if node.op else "parameter" if node.requires_grad else "constant")
        assert entry["parents"] == [order.index(parent) for parent in node.parents]
    # Forward: every result once, each after its inputs; backward: the engine's order.
    assert [order[k] for k in data["forward"]] == [node for node in order if node.op is not None]
    assert [order[step["node"]] for step in data["backward"]] == backward_order(loss)

    received = {}
    for step in data["backward"]:
        node = order[step["node"]]
        assert_same(step["grad"], node.grad)  # this pass's gradient, to the last bit
        handed = node.op.gradients(node.grad, node)
        for edge in step["edges"]:
            parent = order[edge["parent"]]
            assert parent is node.parents[edge["position"]]
            if not parent.requires_grad:
                assert edge["constant"] is True
                continue
            assert_same(edge["handed"], mg.unbroadcast(handed[edge["position"]], parent.data))
            received.setdefault(parent, []).append(edge)
    # Where several contributions meet, their running sum ends at the parent's .grad.
    for parent, edges in received.items():
        assert [edge["count"] for edge in edges] == list(range(1, len(edges) + 1))
        assert all(edge["of"] == len(edges) for edge in edges)
        assert [edge["complete"] for edge in edges] == [False] * (len(edges) - 1) + [True]
        assert_same(edges[-1]["sum"], parent.grad)
        total = sum(np.asarray([number(x) for x in np.ravel(edge["handed"]["data"])]) for edge in edges)
        np.testing.assert_allclose(total, np.ravel(parent.grad), rtol=1e-12, atol=1e-15)
    assert set(received) == {node for node in order if node.requires_grad and node is not loss}


@needs_dot
def test_local_partials_on_scalar_nodes_are_the_ops_own_numbers_in_the_chapters_names():
    net, loss = chapter_net(scalar=True)
    data = explore(loss, params=net).data
    order = mg.topological_order(loss)
    edges = {(data["nodes"][step["node"]]["name"], data["nodes"][edge["parent"]]["name"]): (step, edge)
             for step in data["backward"] for edge in step["edges"]}
    step, edge = edges[("SSE", "A_0")]
    assert (edge["formula"], edge["equation"]) == ("−E_0 = E_0·(−1)", "6.17·6.21")
    step, edge = edges[("A_0", "NdInpt_0")]
    assert (edge["formula"], edge["equation"]) == ("α·A_0·(1 − A_0)", "6.23")
    a0 = next(node for node in order if node.name == "A_0").data
    assert number(edge["local"]["data"]) == pytest.approx(a0 * (1 - a0), rel=1e-14)
    assert number(edge["handed"]["data"]) == pytest.approx(number(step["grad"]["data"]) * a0 * (1 - a0), rel=1e-14)
    step, edge = edges[("H_1", "NdInpt_hidden_1")]
    assert (edge["formula"], edge["equation"]) == ("α·H_1·(1 − H_1)", "6.2")
    step, edge = edges[("(v[1,0]·H_1)", "v[1,0]")]
    assert (edge["formula"], edge["equation"]) == ("H_1", "6.27")
    step, edge = edges[("(v[1,0]·H_1)", "H_1")]
    assert (edge["formula"], edge["equation"]) == ("v[1,0]", "6.25")
    assert data["backward"][0]["gradName"] == "∂SSE/∂SSE"


@needs_dot
def test_before_backward_explore_runs_it_once_and_after_it_leaves_gradients_alone():
    net, loss = chapter_net()
    explore(loss, params=net)
    grads = {name: value.grad for name, value in net.named_parameters()}
    assert all(grad is not None for grad in grads.values())
    explore(loss, params=net)  # gradients are there: no second backward, nothing accumulates
    assert {name: value.grad for name, value in net.named_parameters()} == grads
    net2, loss2 = chapter_net()
    loss2.backward()
    assert {name: value.grad for name, value in net2.named_parameters()} == grads


@needs_dot
def test_accumulated_leaf_gradients_are_shown_beside_this_passs_sum():
    net, loss = chapter_net()
    loss.backward(retain_graph=True)
    loss.backward()  # leaves now hold two passes
    data = explore(loss, params=net).data
    w01 = dict(net.named_parameters())["w[0,1]"]
    edge = next(edge for step in data["backward"] for edge in step["edges"]
                if data["nodes"][edge["parent"]]["name"] == "w[0,1]")
    assert number(edge["heldGrad"]["data"]) == w01.grad
    assert number(edge["sum"]["data"]) == pytest.approx(w01.grad / 2, rel=1e-15)


@needs_dot
@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "tensor"])
def test_every_weight_carries_what_explain_finds(scalar):
    net, loss = chapter_net(scalar=scalar)
    data = explore(loss, params=net).data
    order = mg.topological_order(loss)
    parameters = [node for node in order if node.is_leaf and node.requires_grad]
    assert sorted(map(int, data["explanations"])) == sorted(order.index(node) for node in parameters)
    for param in parameters:
        entries = data["explanations"][str(order.index(param))]["elements"]
        indices = list(np.ndindex(*param.shape))
        assert [tuple(entry["index"]) for entry in entries] == indices
        for entry, index in zip(entries, indices):
            explanation = explain(loss, param, index or None)
            assert {order[k] for k in entry["nodes"]} == explanation.nodes
            assert (entry["total"], entry["grad"], entry["agrees"]) == (explanation.total, explanation.grad, True)
            assert len(entry["paths"]) == len(explanation.paths)
            assert [[factor["formula"] for factor in path["factors"]] for path in entry["paths"]] == \
                [[row[2] for row in explanation.chain(number)] for number in range(len(explanation.paths))]


@needs_dot
@settings(max_examples=25, deadline=None)
@given(programs(max_steps=6, dtypes=("float64", "mixed")))
def test_on_random_graphs_the_handed_on_contributions_sum_to_each_gradient(program):
    loss, _ = run(program, make_leaves(program))
    data = page_json(explore(loss).html)
    order = mg.topological_order(loss)
    assert [order[step["node"]] for step in data["backward"]] == backward_order(loss)
    last = {}
    for step in data["backward"]:
        for edge in step["edges"]:
            if not edge["constant"]:
                last[order[edge["parent"]]] = edge
    for parent, edge in last.items():
        assert edge["complete"]
        if parent.size <= FULL_ELEMENTS:
            assert_same(edge["sum"], parent.grad)


# ---------------------------------------------------------------------------
# The picture's hooks, big graphs, errors
# ---------------------------------------------------------------------------


@needs_dot
def test_the_svg_marks_every_node_op_and_edge_for_the_script():
    net, loss = chapter_net()
    page = explore(loss, params=net)
    tags = Tags(page.html).tags
    marked = {int(attributes["data-node"]) for tag, attributes in tags if "data-node" in attributes}
    ops = {int(attributes["data-op"]) for tag, attributes in tags if "data-op" in attributes}
    data = page.data
    assert marked == set(range(len(data["nodes"])))
    assert ops == set(data["forward"])
    edges = [attributes for tag, attributes in tags if "data-from" in attributes]
    assert len(edges) == sum(len(node["parents"]) for node in data["nodes"]) + len(data["forward"])
    # The bold name in each record is the node's name in the data.
    for node in data["nodes"]:
        if node["kind"] == "parameter":
            assert f"<title>{html.escape(node['name'], quote=False)}</title>" in page.html
    grad_texts = len(re.findall(r'class="mg-grad"', page.html))
    assert grad_texts == sum(1 for node in data["nodes"] if node["kind"] != "constant")


@needs_dot
def test_a_big_graph_gets_the_summary_and_no_steps():
    xs = [mg.Value(float(k), name=f"x{k}") for k in range(100)]
    loss = mg.Value(0.0)
    for x in xs:
        loss = loss + x * x  # 301 values and 200 ops
    page = explore(loss)
    data = page_json(page.html)
    assert data["summary"].startswith("501 nodes (values and ops): more than max_nodes=300, so this page shows "
                                      "the summary drawing and does not step")
    assert data["nodes"] == data["forward"] == data["backward"] == []
    assert "too many to draw readably" in page.html
    assert len(page.html) < 50_000
    assert "summary" in repr(page)
    every = explore(loss, max_nodes=501)  # up to the limit: every node
    assert every.data["summary"] is None and len(every.data["backward"]) == 200


@needs_dot
def test_params_name_the_leaves_as_draw_does():
    weight = mg.Value(0.5)
    loss = (weight * 3.0).sigmoid()
    data = explore(loss, params={"my weight": weight}).data
    assert data["nodes"][0]["name"] == "my weight"
    assert "my weight" in data["explanations"]["0"]["elements"][0]["name"]


@needs_dot
def test_nan_and_inf_travel_as_text_and_params_may_be_an_iterator():
    x = mg.Value(np.array([0.0, 1.0, 2.0], dtype=np.float32))
    with np.errstate(all="ignore"):
        loss = (x.log() * 0.0 + x).sum()  # ln 0 = −inf, and −inf · 0 = nan on the way back
        page = explore(loss, params=iter([("x", x)]))
    data = page_json(page.html)  # strict JSON: no NaN or Infinity tokens
    assert data["nodes"][0]["name"] == "x"
    log = next(node for node in data["nodes"] if node.get("op") == "log")
    assert log["value"]["data"][0] == "-inf" and log["value"]["dtype"] == "float32"
    assert "nan" in json.dumps(data["explanations"])


def test_bad_arguments_are_refused_before_any_work():
    x = mg.Value([1.0, 2.0])
    with pytest.raises(TypeError, match="explore: loss must be a Value"):
        explore(3.0)
    with pytest.raises(ValueError, match=r"explore: loss must have one element, it has shape \(2,\)"):
        explore(x * 2.0)
    with pytest.raises(ValueError, match="explore: loss does not require grad"):
        explore(mg.Value(1.0, requires_grad=False) * 2.0)
    loss = (x * 2.0).sum()
    with pytest.raises(ValueError, match="explore: rankdir must be one of 'LR', 'TB', got"):
        explore(loss, rankdir="RL")
    for bad in (0, -1):
        with pytest.raises(ValueError, match="explore: max_nodes must be a positive integer"):
            explore(loss, max_nodes=bad)
    for bad in (2.5, True):
        with pytest.raises(TypeError, match="explore: max_nodes must be an integer"):
            explore(loss, max_nodes=bad)
    with pytest.raises(TypeError, match="explore: params must map names to Values"):
        explore(loss, params={"x": 1.0})
    assert x.grad is None  # nothing ran


def test_without_dot_explore_says_how_to_install_in_one_line(monkeypatch, tmp_path):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(mg.DotNotFoundError) as caught:
        explore(chapter_net()[1])
    message = str(caught.value)
    assert message.startswith("explore: rendering needs graphviz's `dot` program") and "\n" not in message
    assert "apt-get install graphviz" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_the_package_exports_explore():
    assert mg.explore is explore and mg.Exploration is Exploration and mg.backward_order is backward_order
    assert {"explore", "Exploration", "backward_order"} <= set(mg.__all__)


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------


def one_line_error(capsys):
    err = capsys.readouterr().err
    assert err.endswith("\n") and err.count("\n") == 1, err
    return err.strip()


@needs_dot
def test_command_line_writes_the_page(tmp_path, capsys):
    out = tmp_path / "explore.html"
    assert cli.main(["explore", "--layers", "2", "2", "2", "--out", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    data = page_json(out.read_text(encoding="utf-8"))
    names = [node["name"] for node in data["nodes"]]
    assert {"w[0,1]", "v[1,0]", "A_0", "H_1", "SSE"} <= set(names)  # scalar net: the chapter's names
    assert len(data["forward"]) == len(data["backward"]) == 21
    assert cli.main(["explore", "--tensor", "--rankdir", "TB", "--out", str(out)]) == 0
    assert {"w", "v", "SSE"} <= {node["name"] for node in page_json(out.read_text(encoding="utf-8"))["nodes"]}


@pytest.mark.parametrize("arguments, message", [
    (["--out", "page.svg"], "--out: the page is HTML; give a file name ending in .html, got 'page.svg'"),
    (["--out", " "], "--out: must name a file, got ' '"),
    (["--max-nodes", "0"], "--max-nodes: must be a positive integer, got 0"),
    (["--layers", "2"], "--layers needs at least two sizes (inputs ... outputs), got [2]"),
    (["--rankdir", "RL"], "--rankdir: invalid choice: 'RL' (choose from 'LR', 'TB')"),
    (["--scalar", "--tensor"], "--tensor: not allowed with argument --scalar"),
    (["--colour"], "unrecognized arguments: --colour"),
    (["--layers", "1000", "1000", "2"], "--layers 1000 1000 2 has 1,003,002 weights and biases; "
                                        "explore takes at most 1,000,000"),
])
def test_command_line_refuses_bad_arguments_in_one_line(arguments, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["explore"] + arguments) == 2
    assert one_line_error(capsys) == f"minigrad explore: {message}"
    assert os.listdir(tmp_path) == []


@needs_dot
def test_command_line_into_a_missing_folder_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "missing" / "explore.html"
    assert cli.main(["explore", "--out", str(out)]) == 2
    assert one_line_error(capsys) == (f"minigrad explore: cannot write {str(out)!r}: folder {str(out.parent)!r} "
                                      "does not exist; nothing was written")


def test_command_line_without_dot_is_a_one_line_error(monkeypatch, tmp_path, capsys):
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert cli.main(["explore", "--out", str(tmp_path / "explore.html")]) == 1
    assert one_line_error(capsys).startswith("minigrad explore: rendering needs graphviz's `dot` program")
    assert not (tmp_path / "explore.html").exists()


@needs_dot
def test_python_dash_m_minigrad_explore(tmp_path):
    result = subprocess.run([sys.executable, "-m", "minigrad", "explore", "--layers", "2", "2", "2", "--out",
                             "explore.html"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert page_json((tmp_path / "explore.html").read_text(encoding="utf-8"))["lossName"] == "SSE"


# -- forward mode (issue 21): the page's numbers, without a browser ----------------------------------------


def test_forward_mode_tangents_are_jvps_and_end_on_the_gradient():
    net, inputs, desired = nn.example_network([2, 2, 2])
    loss = net.loss(inputs, desired)
    page = mg.explore(loss, params=net, mode="both")
    data = page.data
    assert data["mode"] == "both" and data["weight"] == "v[0,0]"
    assert len(data["tangents"]) == 12  # one forward sweep per parameter element
    order = mg.topological_order(loss)
    names = {value: name for name, value in net.named_parameters()}
    for name, entry in data["tangents"].items():
        param = order[entry["param"]]
        index = tuple(entry["index"])
        tangents = [np.zeros_like(value.data) for value in (net.w, net.bias_hidden, net.v, net.bias_output)]
        tangents[[net.w, net.bias_hidden, net.v, net.bias_output].index(param)][index] = 1.0

        def f(w, bias_hidden, v, bias_output):
            hidden = (inputs @ w + bias_hidden).sigmoid(net.alpha)
            return mg.sse(desired, (hidden @ v + bias_output).sigmoid(net.alpha))

        _, expected = mg.jvp(f, (net.w.data, net.bias_hidden.data, net.v.data, net.bias_output.data), tuple(tangents))
        assert entry["loss"] == pytest.approx(float(expected), rel=1e-12, abs=1e-16)
        assert entry["reverse"] == pytest.approx(float(param.grad[index]), rel=1e-12, abs=1e-16)
        assert name.startswith(names[param] + "[")
        # the weight's own tangent is one-hot; a node it does not reach has none (null: it is 0)
        one_hot = np.zeros_like(param.data)
        one_hot[index] = 1.0
        np.testing.assert_array_equal(entry["values"][entry["param"]]["data"], one_hot)
        assert entry["values"][order.index(next(node for node in order if node.op is None and not node.requires_grad))] \
            is None
    ledger = data["ledger"]
    assert (ledger["parameters"], ledger["forwardSweeps"], ledger["reverseSweeps"]) == (12, 12, 1)
    assert ledger["forwardMultiplications"] > ledger["reverseMultiplications"] > 0


def test_forward_mode_refuses_a_bad_mode_or_weight():
    net, inputs, desired = nn.example_network([2, 2, 2])
    loss = net.loss(inputs, desired)
    with pytest.raises(ValueError, match="mode must be one of 'reverse', 'forward', 'both'"):
        mg.explore(loss, mode="sideways")
    with pytest.raises(ValueError, match="weight 'u' is not a parameter"):
        mg.explore(loss, params=net, mode="forward", weight="u")
    assert mg.explore(loss, params=net, mode="forward", weight="w[1,0]").data["weight"] == "w[1,0]"
    assert mg.explore(loss, params=net).data["tangents"] is None  # reverse: today's page
