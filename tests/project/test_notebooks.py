"""The notebooks under examples/ run from a clean kernel without errors, and
say what the README says they show."""

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # runs every notebook

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def execute(name, tmp_path, monkeypatch):
    """Run examples/NAME in a fresh python3 kernel, from a scratch folder; return its text outputs."""
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own inline backend draws the plots
    notebook = nbformat.read(EXAMPLES / name, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{name}: {output.get('ename')}: {output.get('evalue')}"
            if output.output_type == "stream":
                texts.append(output.text)
            elif "data" in output:
                texts.append(output.data.get("text/plain", ""))
    return notebook, "\n".join(texts)


def test_every_example_notebook_is_tested():
    assert {path.name for path in EXAMPLES.glob("*.ipynb")} <= set(NOTEBOOKS) | {"exercises.ipynb",
                                                                                "backward_exercises.ipynb"}


NOTEBOOKS = ["chapter6.ipynb", "neuron.ipynb", "digits.ipynb", "higher_order.ipynb"]


def test_the_chapter_notebook(tmp_path, monkeypatch):
    notebook, text = execute("chapter6.ipynb", tmp_path, monkeypatch)
    assert "largest difference: " in text
    difference = float(text.split("largest difference: ")[1].split()[0])
    assert difference < 1e-15                                              # Eq. 6.30 by hand = autodiff
    assert "): OK>" in text and "<Explanation ∂SSE/∂w[0,1]: 2 paths" in text
    assert "converged (SSE < 0.04) after" in text
    kinds = {key for cell in notebook.cells for output in cell.get("outputs", []) for key in output.get("data", {})}
    assert {"image/png", "image/svg+xml", "text/html", "text/latex"} <= kinds   # plots, drawing, tables, math
    pages = [output["data"]["text/html"] for cell in notebook.cells for output in cell.get("outputs", [])
             if "text/html" in output.get("data", {}) and "<iframe" in output["data"]["text/html"]]
    assert len(pages) == 1 and "window.explorer" in pages[0]                     # the explorer, inline


def test_the_neuron_notebook(tmp_path, monkeypatch):
    _, text = execute("neuron.ipynb", tmp_path, monkeypatch)
    for weight in ("w_0", "w_1", "b"):
        line = next(line for line in text.splitlines() if line.startswith(f"{weight}: backward"))
        backward, by_hand = line.split("backward")[1].split("by hand")
        assert float(backward) == pytest.approx(float(by_hand), abs=1e-15)
    assert "sigmoid  F(x) = 1/(1 + exp(−αx))" in text and "True" in text


def test_the_digits_notebook(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    _, text = execute("digits.ipynb", tmp_path, monkeypatch)
    held_out = float(text.split("held-out accuracy ")[1].split("%")[0])
    assert held_out > 90.0
    # the softmax / cross-entropy variant beside the chapter's, same seed and epochs
    for title in ("sigmoid / SSE", "softmax / cross-entropy"):
        line = next(line for line in text.splitlines() if line.startswith(title))
        assert float(line.split("held-out accuracy ")[1].split("%")[0]) > 90.0


BACKWARD_EXERCISES = ["Exp", "Tanh", "Sigmoid", "Mul", "MatMul", "SSE"]


def backward_exercise_cells(notebook):
    return [cell for cell in notebook.cells if "exercise" in cell.metadata.get("tags", [])]


def check_outputs(notebook):
    return [output for cell in notebook.cells if "check" in cell.metadata.get("tags", [])
            for output in cell.get("outputs", [])]


def test_the_backward_exercises_ship_unsolved_and_each_check_fails(tmp_path, monkeypatch):
    notebook, text = execute("backward_exercises.ipynb", tmp_path, monkeypatch)
    cells = backward_exercise_cells(notebook)
    assert [cell.source.split("class ")[1].split("(")[0] for cell in cells] == BACKWARD_EXERCISES
    reports = [output.data["text/plain"] for output in check_outputs(notebook)]
    assert reports == [f"<BackwardReport for {name}: WRONG>" for name in BACKWARD_EXERCISES]  # never a pass
    assert "raised NotImplementedError: Exercise 1" in "".join(output.data["text/html"]
                                                               for output in check_outputs(notebook))
    assert "upstream gradient dropped" in text  # the worked example's diagnosis


def test_the_backward_exercises_pass_with_the_reference_solutions(tmp_path, monkeypatch):
    notebook = nbformat.read(EXAMPLES / "backward_exercises.ipynb", as_version=4)
    for cell, name in zip(backward_exercise_cells(notebook), BACKWARD_EXERCISES):
        cell.source = f"from backward_solutions import {name}"
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    reports = [output.data["text/plain"] for output in check_outputs(notebook)]
    assert reports == [f"<BackwardReport for {name}: ok>" for name in BACKWARD_EXERCISES]


def test_the_higher_order_notebook(tmp_path, monkeypatch):
    _, text = execute("higher_order.ipynb", tmp_path, monkeypatch)
    difference = float(text.split("largest difference: ")[1].split()[0])
    assert difference < 1e-15                                       # the Hessian in v by hand = autodiff
    line = next(line for line in text.splitlines() if line.startswith("SSE ") and "one Newton step" in line)
    before = float(line.split()[1].rstrip(":"))
    after_sgd, after_newton = (float(part.split("-> ")[1].split(",")[0]) for part in line.split("step")[1:3])
    assert after_newton < after_sgd < before                        # one Newton step beside one SGD step
    newton, sgd = (int(line.split("after ")[1].split()[0]) for line in text.splitlines()
                   if line.startswith(("Newton: converged", "SGD:    converged")))
    assert newton < sgd / 5
