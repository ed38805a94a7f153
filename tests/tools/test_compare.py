"""minigrad.compare: reverse mode against the chapter's formulas, row by row."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import minigrad
from minigrad import cli, nn, textbook
from minigrad.tools import explain as explain_module
from minigrad.tools.compare import Comparison, compare, element_name, relative_difference
from minigrad.nn import MLP, ScalarMLP
from readme_text import assert_matches_readme

ROOT = pathlib.Path(__file__).resolve().parents[2]


def configurations(count, seed=0):
    rng = np.random.default_rng(seed)
    for k in range(count):
        sizes = tuple(int(n) for n in rng.integers(1, 9, size=3))
        yield k, sizes, float(rng.choice([0.5, 1.0, 2.0, 4.0])), bool(k % 2)


@pytest.mark.parametrize("scalar", [False, True], ids=["tensor", "scalar"])
def test_reverse_mode_equals_the_formulas_on_random_networks(scalar):
    worst = 0.0
    for k, sizes, alpha, bias in configurations(120, seed=int(scalar)):
        result = compare(sizes=sizes, alpha=alpha, seed=k, bias=bias, scalar=scalar)
        I, H, O = sizes
        expected_rows = H * O + I * H + (H + O if bias else 0)
        assert len(result.rows) == expected_rows
        assert result.worst_relative <= 1e-12, (sizes, alpha, bias, str(result))
        assert result.ok
        worst = max(worst, result.worst_relative)
    assert worst <= 1e-12


def test_every_alpha_and_the_largest_network():
    for alpha in (0.5, 1.0, 2.0, 4.0):
        for bias in (True, False):
            result = compare(sizes=(8, 8, 8), alpha=alpha, seed=3, bias=bias)
            assert result.worst_relative <= 1e-12


def test_rows_hold_the_formula_values_and_names():
    result = compare(sizes=(2, 3, 2), alpha=2.0, seed=5)
    model, inputs, desired = nn.example_network([2, 3, 2], alpha=2.0, seed=5)
    formulas = textbook.gradients(inputs, desired, model.w.data, model.v.data, alpha=2.0,
                                  bias_hidden=model.bias_hidden.data, bias_output=model.bias_output.data)
    names = [row.name for row in result.rows]
    assert names[:6] == ["v[0,0]", "v[0,1]", "v[1,0]", "v[1,1]", "v[2,0]", "v[2,1]"]
    assert names[6:8] == ["bias_output[0]", "bias_output[1]"]
    assert names[8] == "w[0,0]" and names[-1] == "bias_hidden[2]"
    assert result.row("v[2,1]").formula == formulas["v"][2, 1]
    assert result.row("w[1,2]").formula == formulas["w"][1, 2]
    assert result.row("bias_hidden[0]").formula == formulas["bias_hidden"][0]
    model.loss(inputs, desired).backward()
    assert result.row("w[1,2]").autodiff == model.w.grad[1, 2]
    scales = textbook.gradient_scales(inputs, desired, model.w.data, model.v.data, alpha=2.0,
                                      bias_hidden=model.bias_hidden.data, bias_output=model.bias_output.data)
    for row in result.rows:
        name, index = row.name.split("[")
        index = tuple(int(k) for k in index.rstrip("]").split(","))
        assert row.abs_diff == abs(row.autodiff - row.formula)
        assert row.rel_diff == relative_difference(row.autodiff, row.formula, scales[name][index])


def test_relative_difference_definition():
    assert relative_difference(1e-3, 2e-3, scale=0.1) == pytest.approx(1e-2)  # against the terms' size
    assert relative_difference(1e-3, 2e-3, scale=1e-9) == pytest.approx(0.5)  # a small scale changes nothing
    assert relative_difference(0.0, 0.0) == 0.0
    assert relative_difference(1e-300, 0.0) == 1.0
    assert relative_difference(-2.0, 2.0) == 2.0
    assert relative_difference(1.0, 1.0 + 1e-12) == pytest.approx(1e-12, rel=1e-3)
    assert relative_difference(3.0, 4.0) == relative_difference(4.0, 3.0) == 0.25


def test_given_model_weights_pattern_and_gradients_untouched():
    model = MLP([3, 4, 2], alpha=0.5, seed=9)
    sentinel = np.full((3, 4), 7.0)
    model.w.grad = sentinel.copy()
    inputs, desired = np.array([0.2, 0.0, 1.0]), np.array([0.0, 1.0])
    result = compare(model, inputs, desired)
    np.testing.assert_array_equal(model.w.grad, sentinel)
    assert model.v.grad is None and model.bias_hidden.grad is None
    formulas = textbook.gradients(inputs, desired, model.w.data, model.v.data, alpha=0.5,
                                  bias_hidden=model.bias_hidden.data, bias_output=model.bias_output.data)
    assert result.row("v[3,1]").formula == formulas["v"][3, 1]
    assert result.worst_relative <= 1e-12
    assert "α = 0.5" in result.description


def test_given_scalar_model_without_bias():
    tensor_model = MLP([2, 3, 2], alpha=4.0, bias=False, seed=1)
    model = ScalarMLP.from_mlp(tensor_model)
    result = compare(model)
    assert [row.name for row in result.rows if row.name.startswith("bias")] == []
    assert result.worst_relative <= 1e-12
    assert all(value.grad is None for value in model.parameters())
    # Same weights, same seeded pattern: the same numbers as the tensor model.
    assert [row.formula for row in compare(tensor_model).rows] == [row.formula for row in result.rows]


def test_float32_model_is_compared_in_float64():
    model = MLP([2, 2, 2], seed=0, dtype=np.float32)
    assert compare(model).worst_relative <= 1e-12


def test_refuses_what_the_chapter_does_not_cover():
    with pytest.raises(ValueError, match="one hidden layer"):
        compare(sizes=(2, 3, 3, 2))
    with pytest.raises(ValueError, match="one hidden layer"):
        compare(MLP([2, 3, 3, 2], seed=0))
    with pytest.raises(TypeError, match="MLP or ScalarMLP"):
        compare(object())
    with pytest.raises(ValueError, match="inputs must be one pattern"):
        compare(sizes=(2, 2, 2), inputs=np.ones((4, 2)))


def test_str_and_html_show_every_row():
    result = compare()
    assert isinstance(result, Comparison)
    text, page = str(result), result._repr_html_()
    for row in result.rows:
        assert row.name in text and f"<code>{row.name}</code>" in page
        assert f"{row.autodiff: .17g}".strip() in text
    assert "worst relative difference" in text and "tolerance 1.0e-10" in text and "OK" in text
    assert page.count("<tr>") == len(result.rows) + 1
    assert "Comparison" in repr(result)


def test_mismatch_is_reported():
    result = Comparison([], 1e-10, "empty")
    assert result.ok and result.worst_relative == 0.0


# -- command line -------------------------------------------------------------------


def test_cli_prints_the_table_and_exits_zero(capsys):
    status = cli.main(["compare", "--layers", "2", "2", "2", "--alpha", "1.0", "--seed", "0"])
    out = capsys.readouterr().out
    assert status == 0
    assert "v[1,0]" in out and "w[0,1]" in out and "bias_output[0]" in out
    assert "tolerance 1.0e-10" in out and ": OK" in out
    assert out.strip() == str(compare()).strip()


def test_cli_scalar_and_no_bias(capsys):
    assert cli.main(["compare", "--layers", "3", "2", "1", "--alpha", "2", "--no-bias", "--scalar"]) == 0
    out = capsys.readouterr().out
    assert "weight by weight" in out and "bias" not in out.split("\n", 2)[2]


def test_cli_exits_non_zero_on_a_wrong_formula(capsys, monkeypatch):
    right = textbook.gradient_v

    def wrong(*args, **kwargs):
        return right(*args, **kwargs) * (1 + 1e-6)

    monkeypatch.setattr(textbook, "gradient_v", wrong)
    status = cli.main(["compare", "--layers", "2", "2", "2"])
    out = capsys.readouterr().out
    assert status == 1
    assert "MISMATCH" in out and "worst relative difference 1.000e-06" in out


def test_cli_tolerance_option(capsys, monkeypatch):
    right = textbook.gradient_w
    monkeypatch.setattr(textbook, "gradient_w", lambda *a, **k: right(*a, **k) * (1 + 1e-9))
    assert cli.main(["compare", "--tolerance", "1e-8"]) == 0
    assert cli.main(["compare", "--tolerance", "1e-10"]) == 1
    capsys.readouterr()


def test_cli_rejects_other_layer_counts(capsys):
    assert cli.main(["compare", "--layers", "2", "3", "3", "1"]) == 2
    assert "exactly one hidden layer" in capsys.readouterr().err


def test_python_dash_m_minigrad_compare():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    completed = subprocess.run([sys.executable, "-m", "minigrad", "compare", "--layers", "2", "2", "2",
                                "--alpha", "1.0", "--seed", "0"], capture_output=True, text=True, env=env,
                               cwd=ROOT, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "v[1,0]" in completed.stdout and ": OK" in completed.stdout
    assert minigrad.__name__ == "minigrad"


def test_scalar_rows_hold_the_engine_gradients_element_by_element():
    # The engine side loads the model's state_dict into a fresh network and
    # splits its gradients back into the state's arrays: every row must hold
    # exactly the gradient backward() gives that element on a copy of the model.
    tensor_model = MLP([3, 2, 2], alpha=2.0, seed=12)
    model = ScalarMLP.from_mlp(tensor_model)
    inputs, desired = np.array([0.4, -0.3, 0.8]), np.array([1.0, 0.0])
    result = compare(model, inputs, desired, scalar=True)
    assert all(value.grad is None for value in model.parameters())
    copy = ScalarMLP.from_mlp(tensor_model)
    copy.loss(inputs, desired).backward()
    expected = {"w": [[item.grad for item in line] for line in copy.w],
                "v": [[item.grad for item in line] for line in copy.v],
                "bias_hidden": [item.grad for item in copy.bias_hidden],
                "bias_output": [item.grad for item in copy.bias_output]}
    for name, grads in expected.items():
        grads = np.array(grads)
        for index in np.ndindex(grads.shape):
            assert result.row(element_name(name, index)).autodiff == grads[index], (name, index)
    assert len(result.rows) == 3 * 2 + 2 + 2 * 2 + 2


def test_model_loaded_with_load_state_dict_is_compared_with_its_own_weights():
    source = MLP([2, 3, 1], alpha=1.5, seed=3)
    model = MLP([2, 3, 1], alpha=1.5, seed=99).load_state_dict(source.state_dict())
    inputs, desired = np.array([0.5, 1.0]), np.array([0.25])
    result = compare(model, inputs, desired)
    state = source.state_dict()
    formulas = textbook.gradients(inputs, desired, state["w"], state["v"], alpha=1.5,
                                  bias_hidden=state["bias_hidden"], bias_output=state["bias_output"])
    assert result.row("w[1,2]").formula == formulas["w"][1, 2]
    assert result.row("bias_output[0]").formula == formulas["bias_output"][0]
    source.loss(inputs, desired).backward()
    assert result.row("v[2,0]").autodiff == source.v.grad[2, 0]
    assert result.worst_relative <= 1e-12


def test_one_element_name_and_one_relative_difference():
    assert element_name("v", (1, 0)) == "v[1,0]"
    assert element_name("bias_output", (1,)) == "bias_output[1]"
    assert element_name("A", (0,)) == "A_0" and element_name("NdInpt_hidden", (2,)) == "NdInpt_hidden_2"
    assert element_name("w", ()) == "w"
    assert explain_module.element_name is element_name
    assert explain_module.relative_difference is relative_difference
    assert not hasattr(explain_module, "_element_name")


def test_readme_shows_the_current_compare_output():
    # docs/chapter.md pastes this command's output; regenerate it when the numbers change.
    readme = (ROOT / "docs" / "chapter.md").read_text(encoding="utf-8")
    command = "$ python -m minigrad compare --layers 2 2 2 --alpha 1.0 --seed 0\n"
    start = readme.index(command) + len(command)
    pasted = readme[start:readme.index("\n```", start)]
    assert_matches_readme(str(compare(sizes=(2, 2, 2), alpha=1.0, seed=0)), pasted)


def test_a_sum_that_cancels_is_judged_by_the_size_of_its_terms():
    # Found by a random sweep: ∂SSE/∂w[2,1] here is 9.9e-7 while the terms of
    # its sum over the 8 output nodes are far larger; scalar and tensor
    # engines round that sum differently, by 1.2e-18.  Against the result
    # alone that read as a 1.3e-12 "disagreement"; against the terms it is
    # rounding, as it should be.
    result = compare(sizes=(6, 6, 8), alpha=0.5, seed=709, bias=True, scalar=True)
    row = result.row("w[2,1]")
    assert row.abs_diff < 1e-17 and abs(row.autodiff) < 1e-6
    assert row.abs_diff / max(abs(row.autodiff), abs(row.formula)) > 1e-12  # the naive measure
    assert row.rel_diff < 1e-15 and result.worst_relative <= 1e-12


def test_gradient_scales_bound_the_gradients_and_match_single_products():
    rng = np.random.default_rng(3)
    I, desired = rng.random(4), np.array([1.0, 0.0, 1.0])
    w, v = rng.uniform(-1, 1, (4, 5)), rng.uniform(-1, 1, (5, 3))
    bias_hidden, bias_output = rng.uniform(-1, 1, 5), rng.uniform(-1, 1, 3)
    grads = textbook.gradients(I, desired, w, v, alpha=2.0, bias_hidden=bias_hidden, bias_output=bias_output)
    scales = textbook.gradient_scales(I, desired, w, v, alpha=2.0, bias_hidden=bias_hidden, bias_output=bias_output)
    for name in ("v", "bias_output"):  # single products: the scale is the size
        np.testing.assert_allclose(scales[name], np.abs(grads[name]), rtol=1e-15)
    for name in ("w", "bias_hidden"):  # sums: never smaller than the result
        assert np.all(scales[name] >= np.abs(grads[name]) * (1 - 1e-15))


def test_an_alpha_that_contradicts_the_model_is_an_error():
    model, inputs, desired = nn.example_network([2, 2, 2], alpha=2.0)
    with pytest.raises(ValueError, match=r"compare: alpha=4.0 differs from the model's alpha=2.0"):
        compare(model, inputs, desired, alpha=4.0)
    assert compare(model, inputs, desired, alpha=2.0).ok and compare(model, inputs, desired).ok
