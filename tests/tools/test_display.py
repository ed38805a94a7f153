"""How minigrad's objects show themselves: in a terminal (repr, str) and in
Jupyter (_repr_html_, _repr_latex_, _repr_mimebundle_), and the progress bar."""

import io

import matplotlib
import numpy as np
import pytest

import minigrad as mg
import minigrad.tools.draw as drawing_module
import minigrad.nn.training as training_module

matplotlib.use("Agg")


# ---------------------------------------------------------------------------
# Value
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("value, text", [
    (mg.Value(2.0), "Value(2.0)"),
    (mg.Value(2), "Value(2.0)"),
    (mg.Value(0.1), "Value(0.1)"),
    (mg.Value(1 / 3), f"Value({1 / 3!r})"),
    (mg.Value(-1e-300, name="w"), "Value(-1e-300, name='w')"),
    (mg.Value(1.5, requires_grad=False), "Value(1.5, requires_grad=False)"),
    (mg.Value([0.5, -0.3]), "Value([0.5, -0.3], dtype=float64)"),
    (mg.Value(np.array([[1.0], [2.5]], dtype=np.float32), name="v"), "Value([[1.0], [2.5]], dtype=float32, name='v')"),
    (mg.Value(np.array(2.5)), "Value(2.5, shape=(), dtype=float64)"),
    (mg.Value(np.zeros((64, 32), dtype=np.float32)), "Value(shape=(64, 32), dtype=float32)"),
])
def test_value_repr_is_short_and_exact(value, text):
    assert repr(value) == text


def test_value_repr_shows_grad_and_op():
    x = mg.Value(3.0, name="x")
    y = x * x
    y.backward()
    assert repr(x) == "Value(3.0, name='x', grad=6.0)"
    assert repr(y) == "Value(9.0, grad=1.0, op=mul)"
    big = mg.Value(np.ones(10))
    (big * 2.0).sum().backward()
    assert repr(big) == "Value(shape=(10,), dtype=float64, grad=...)"


# ---------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------


def test_module_repr_is_a_parameter_table():
    net = mg.nn.MLP([3, 4, 2], alpha=2.0, seed=0)
    lines = repr(net).splitlines()
    assert lines[0] == "MLP(sizes=[3, 4, 2], alpha=2.0): 26 numbers in 4 parameters"
    assert lines[1].split() == ["parameter", "shape", "dtype", "numbers"]
    assert [line.split()[0] for line in lines[2:]] == ["w", "bias_hidden", "v", "bias_output"]
    assert lines[2].split()[-1] == "12" and "(3, 4)" in lines[2] and "float64" in lines[2]
    scalar = mg.nn.ScalarMLP([2, 2, 1], bias=False)
    assert repr(scalar).splitlines()[0] == "ScalarMLP(sizes=[2, 2, 1], alpha=1.0): 6 numbers in 2 parameters"
    assert net.parameter_table()[2] == ("v", (4, 2), "float64", 8)


def test_module_html_table_escapes_names():
    class Odd(mg.nn.Module):
        def __init__(self):
            self.weights = {"<b>bold</b>": mg.Value([1.0, 2.0])}

    page = Odd()._repr_html_()
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold</b>" not in page
    assert "<table>" in page and "<td style='text-align:right'>2</td>" in page


# ---------------------------------------------------------------------------
# TrainResult
# ---------------------------------------------------------------------------


XOR_INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_TARGETS = [[0, 1], [1, 0], [1, 0], [0, 1]]


def test_train_result_repr_is_one_line_however_long_the_history():
    result = mg.train(mg.nn.MLP([2, 2, 2], seed=0), XOR_INPUTS, XOR_TARGETS, max_iterations=3000, quiet=True)
    text = repr(result)
    assert "\n" not in text and len(text) < 160 and len(result.history) == 3001
    assert text.startswith("<TrainResult: ") and "3001 checks in .history>" in text


def test_train_result_plot_draws_the_loss_curve():
    result = mg.train(mg.nn.MLP([2, 2, 2], seed=0), XOR_INPUTS, XOR_TARGETS, max_iterations=50, quiet=True)
    ax = result.plot()
    line, = ax.get_lines()[:1]
    np.testing.assert_array_equal(line.get_xdata(), result.steps)
    np.testing.assert_array_equal(line.get_ydata(), result.history)
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "updates"


# ---------------------------------------------------------------------------
# Explanation
# ---------------------------------------------------------------------------


def test_explanation_shows_a_table_and_the_chain_rule_as_math():
    net, inputs, desired = mg.nn.example_network([2, 2, 2], scalar=True)
    result = mg.explain(net.loss(inputs, desired), net.w[0][1])
    page = result._repr_html_()
    assert page.count("<table>") == len(result.paths) == 2
    assert "∂SSE/∂A_0" in page and "Eq. 6.17·6.21" in page and "α·H_1·(1 − H_1)" in page
    assert f"{result.total:.17g}" in page and "agrees" in page
    latex = result._repr_latex_()
    assert latex.startswith("$$\\begin{aligned}") and latex.endswith("\\end{aligned}$$")
    assert "$$" + result.to_latex().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in page


def test_explanation_html_escapes_names():
    x = mg.Value(2.0, name="<script>x</script>")
    loss = (x * x).sum()
    page = mg.explain(loss, x)._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page


# ---------------------------------------------------------------------------
# Drawings
# ---------------------------------------------------------------------------


def test_the_drawing_class_has_a_real_name():
    picture = mg.draw(mg.Value(2.0, name="x") * 3.0)
    assert type(picture) is drawing_module.Drawing
    assert type(picture).__module__ == "minigrad.tools.draw" and type(picture).__qualname__ == "Drawing"
    assert "graphviz" in [base.__module__.split(".")[0] for base in type(picture).__mro__]


def test_without_dot_a_notebook_cell_shows_one_line_not_a_traceback(monkeypatch, tmp_path):
    picture = mg.draw(mg.Value(2.0, name="x") * 3.0)
    monkeypatch.setenv("PATH", str(tmp_path))
    bundle = picture._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    text = bundle["text/plain"]
    assert "\n" not in text and text.startswith("minigrad.draw: rendering needs graphviz's `dot` program")
    assert "pip cannot install it" in text and "conda install -c conda-forge graphviz" in text
    with pytest.raises(mg.DotNotFoundError) as raised:
        picture.pipe(format="svg")
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


# ---------------------------------------------------------------------------
# Progress bars
# ---------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_in_a_terminal_in_a_notebook_and_nowhere_else(monkeypatch):
    tqdm = pytest.importorskip("tqdm")
    monkeypatch.setattr(training_module, "_in_notebook", lambda: False)
    monkeypatch.setattr(training_module.sys, "stderr", io.StringIO())
    assert training_module._progress_bar(10, False, "online training") is None    # a pipe or a log
    monkeypatch.setattr(training_module.sys, "stderr", _Terminal())
    bar = training_module._progress_bar(10, False, "online training")
    assert isinstance(bar, tqdm.tqdm) and bar.total == 10
    bar.close()
    assert training_module._progress_bar(10, True, "online training") is None     # quiet=True
    monkeypatch.setattr(training_module.sys, "stderr", io.StringIO())
    monkeypatch.setattr(training_module, "_in_notebook", lambda: True)
    bar = training_module._progress_bar(10, False, "epochs")                       # a notebook, no terminal
    assert isinstance(bar, tqdm.tqdm)
    bar.close()


def test_outside_jupyter_in_notebook_is_false():
    assert training_module._in_notebook() is False
