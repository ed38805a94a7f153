"""minigrad.explain: the chain rule read off the recorded graph.

The factors are checked against the chapter's terms (Eq. 6.17·6.21, 6.23,
6.27), computed here from the network's weights with plain numpy, on networks
built weight by weight from scalar Values and from tensors with @.
"""

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import cli, nn
from minigrad.tools.explain import Explanation, PathExplosionError, explain
from minigrad.nn import ScalarMLP
from readme_text import assert_matches_readme


def chapter_quantities(model, inputs, desired):
    """H, A (= F), E of one pattern, from the model's weights, in plain numpy."""
    alpha = model.alpha
    w, v = model.w.data, model.v.data
    bias_hidden = model.bias_hidden.data if model.bias_hidden is not None else 0.0
    bias_output = model.bias_output.data if model.bias_output is not None else 0.0
    H = 1.0 / (1.0 + np.exp(-alpha * (inputs @ w + bias_hidden)))
    A = 1.0 / (1.0 + np.exp(-alpha * (H @ v + bias_output)))
    return H, A, desired - A


def network(sizes=(2, 2, 2), alpha=1.0, seed=0, bias=True, scalar=False):
    tensor_model, inputs, desired = nn.example_network(list(sizes), alpha=alpha, seed=seed, bias=bias)
    model = ScalarMLP.from_mlp(tensor_model) if scalar else tensor_model
    return model, tensor_model, inputs, desired


def weight(model, name, index, scalar):
    parameter = getattr(model, name)
    if not scalar:
        return parameter, index
    for k in index:
        parameter = parameter[k]
    return parameter, None


def essential(chain):
    """The factors that are not identities (adds fold away, as in the chapter)."""
    return [factor for factor in chain if not factor.is_identity]


@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "tensor"])
@pytest.mark.parametrize("alpha", [1.0, 2.5])
def test_v_factors_are_eq_6_28(scalar, alpha):
    model, tensor_model, inputs, desired = network((3, 4, 2), alpha=alpha, seed=4, scalar=scalar)
    H, A, E = chapter_quantities(tensor_model, inputs, desired)
    h, o = 2, 1
    param, index = weight(model, "v", (h, o), scalar)
    result = explain(model.loss(inputs, desired), param, index)
    assert len(result.paths) == 1
    chain = result.factors[0]
    identities = [factor for factor in chain if factor.is_identity]
    assert identities and all(f.op_name == "add" and f.value == 1.0 for f in identities)
    loss_factor, sigmoid_factor, weight_factor = essential(chain)

    assert loss_factor.op_name == ("sse_scalars" if scalar else "sse") and loss_factor.equation == "6.17·6.21"
    assert loss_factor.formula == f"−E_{o} = E_{o}·(−1)" and loss_factor.partial == "−E = E·(−1)"
    assert loss_factor.value == pytest.approx(-E[o], rel=1e-14)

    assert sigmoid_factor.op_name == "sigmoid" and sigmoid_factor.equation == "6.23"
    assert sigmoid_factor.formula == f"α·A_{o}·(1 − A_{o})" and sigmoid_factor.partial == "α·F·(1 − F)"
    assert sigmoid_factor.value == pytest.approx(alpha * A[o] * (1 - A[o]), rel=1e-13)

    assert weight_factor.op_name == ("mul" if scalar else "matmul") and weight_factor.equation == "6.27"
    assert weight_factor.formula == f"H_{h}"
    assert weight_factor.value == pytest.approx(H[h], rel=1e-14)

    eq_6_30 = -alpha * E[o] * A[o] * (1 - A[o]) * H[h]
    assert result.total == pytest.approx(eq_6_30, rel=1e-12)
    assert abs(result.total - result.grad) <= 1e-12 * abs(result.grad)
    assert result.agrees()
    names = [name for name, *_ in result.chain(0)]
    assert names == ["SSE", f"A_{o}", f"NdInpt_{o}"]
    assert [denominator for _, denominator, *_ in result.chain(0)] == [f"A_{o}", f"NdInpt_{o}", f"v[{h},{o}]"]


@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "tensor"])
def test_w_has_one_path_per_output_node(scalar):
    alpha = 2.0
    model, tensor_model, inputs, desired = network((2, 3, 3), alpha=alpha, seed=1, scalar=scalar)
    H, A, E = chapter_quantities(tensor_model, inputs, desired)
    v = tensor_model.v.data
    i, h = 1, 2
    param, index = weight(model, "w", (i, h), scalar)
    result = explain(model.loss(inputs, desired), param, index)
    assert len(result.paths) == 3
    outputs_seen = []
    for chain, product in zip(result.factors, result.products):
        factors = essential(chain)
        assert [f.op_name for f in factors] == ["sse_scalars" if scalar else "sse", "sigmoid", "mul" if scalar else "matmul", "sigmoid",
                                                 "mul" if scalar else "matmul"]
        o = int(factors[0].formula.split("_")[1].split(" ")[0])
        outputs_seen.append(o)
        assert factors[0].value == pytest.approx(-E[o], rel=1e-14)
        assert factors[1].value == pytest.approx(alpha * A[o] * (1 - A[o]), rel=1e-13)
        assert factors[2].formula == f"v[{h},{o}]" and factors[2].equation == "6.25"
        assert factors[2].value == v[h, o]
        # The hidden sigmoid's slope is Eq. 6.2 at a hidden node; 6.23 is the output node's.
        assert factors[3].formula == f"α·H_{h}·(1 − H_{h})" and factors[3].equation == "6.2"
        assert factors[3].value == pytest.approx(alpha * H[h] * (1 - H[h]), rel=1e-13)
        assert factors[4].formula == f"I_{i}" and factors[4].equation == "6.27 one layer down"
        assert factors[4].value == inputs[i]
        assert product == pytest.approx(math.prod(f.value for f in chain), rel=1e-15)
    assert sorted(outputs_seen) == [0, 1, 2]
    formula = -alpha * H[h] * (1 - H[h]) * inputs[i] * np.sum(alpha * E * A * (1 - A) * v[h, :])
    assert result.total == pytest.approx(formula, rel=1e-12)
    assert abs(result.total - result.grad) <= 1e-12 * abs(result.grad)


@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "tensor"])
def test_biases(scalar):
    model, tensor_model, inputs, desired = network((2, 2, 3), seed=2, scalar=scalar)
    H, A, E = chapter_quantities(tensor_model, inputs, desired)
    param, index = weight(model, "bias_output", (1,), scalar)
    result = explain(model.loss(inputs, desired), param, index)
    assert len(result.paths) == 1
    assert result.total == pytest.approx(-E[1] * A[1] * (1 - A[1]), rel=1e-12)
    assert result.chain(0)[-1][2] == "1"  # ∂NdInpt_1/∂bias_output[1] = 1, through add
    param, index = weight(model, "bias_hidden", (0,), scalar)
    result = explain(model.loss(inputs, desired), param, index)
    assert len(result.paths) == 3 and result.agrees()


@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "tensor"])
def test_total_equals_grad_for_every_element(scalar):
    for seed, (sizes, alpha, bias) in enumerate([((1, 1, 1), 0.5, True), ((3, 2, 4), 4.0, False),
                                                 ((4, 3, 2), 1.0, True)]):
        model, tensor_model, inputs, desired = network(sizes, alpha=alpha, seed=seed, bias=bias, scalar=scalar)
        loss = model.loss(inputs, desired)
        names = ["w", "v"] + (["bias_hidden", "bias_output"] if bias else [])
        for name in names:
            shape = getattr(tensor_model, name).shape
            for element in np.ndindex(shape):
                param, index = weight(model, name, element, scalar)
                result = explain(loss, param, index)
                assert abs(result.total - result.grad) <= 1e-12 * max(abs(result.grad), 1e-300), (name, element)


def test_backward_is_called_once_and_only_when_needed():
    model, _, inputs, desired = network()
    loss = model.loss(inputs, desired)
    first = explain(loss, model.v, (0, 0))
    grad = model.v.grad.copy()
    second = explain(loss, model.v, (0, 0))
    np.testing.assert_array_equal(model.v.grad, grad)  # not accumulated a second time
    assert first.total == second.total == first.grad


def test_accumulated_grad_is_shown_as_a_disagreement():
    model, _, inputs, desired = network()
    loss = model.loss(inputs, desired)
    loss.backward(retain_graph=True)
    loss.backward()  # leaves accumulate: v.grad is now twice the gradient
    result = explain(loss, model.v, (1, 0))
    assert result.grad == pytest.approx(2 * result.total, rel=1e-15)
    assert not result.agrees() and "DISAGREES" in str(result)


def test_zero_input_keeps_its_path_with_factor_zero():
    model, _, _, desired = network()
    inputs = np.array([0.0, 0.7])
    result = explain(model.loss(inputs, desired), model.w, (0, 1))
    assert len(result.paths) == 2
    assert all(chain[-1].value == 0.0 and chain[-1].formula == "I_0" for chain in result.factors)
    assert result.total == 0.0 == result.grad


def test_nodes_paths_and_text():
    model, _, inputs, desired = network(scalar=True)
    loss = model.loss(inputs, desired)
    result = explain(loss, model.w[0][1])
    assert isinstance(result, Explanation)
    assert loss in result.nodes and model.w[0][1] in result.nodes
    assert model.w[1][1] not in result.nodes and model.v[0][0] not in result.nodes
    for path in result.paths:
        assert path[0] == (loss, ()) and path[-1] == (model.w[0][1], ())
        assert all(isinstance(node, mg.Value) and index == () for node, index in path)
    names = {node.name for node in result.nodes if node.name}
    assert {"A_0", "A_1", "NdInpt_0", "NdInpt_1", "H_1", "NdInpt_hidden_1", "w[0,1]"} <= names
    assert "H_0" not in names
    text = str(result)
    assert "2 paths" in text and "∂SSE/∂A_0" in text and "∂NdInpt_hidden_1/∂w[0,1]" in text
    assert "Eq. 6.23" in text and "Eq. 6.17·6.21" in text and "agrees" in text
    assert f"{result.grad: .17g}" in text
    latex = result.to_latex()
    assert latex.startswith("\\begin{aligned}") and latex.endswith("\\end{aligned}")
    assert r"\frac{\partial \mathit{SSE}}{\partial w_{0,1}}" in latex and r"\alpha" in latex
    assert f"{result.total:.12g}" in latex


def test_tensor_paths_track_elements():
    model, _, inputs, desired = network((2, 3, 2), seed=6)
    result = explain(model.loss(inputs, desired), model.w, (1, 2))
    for path in result.paths:
        assert path[-1] == (model.w, (1, 2))
        hidden = [index for node, index in path if node.op is not None and node.op.name == "sigmoid"]
        assert hidden[-1] == (2,)  # through H_2 only
    assert model.w in result.nodes and model.v not in result.nodes  # v is an operand, not a step
    assert "NdInpt_hidden_2" in str(result) and "(I @ w)[2]" in str(result)


def test_a_hand_built_expression():
    x = mg.Value(3.0, name="x")
    y = mg.Value(-2.0, name="y")
    loss = (x * y + x * x).tanh()
    result = explain(loss, x)
    assert len(result.paths) == 3  # x·y, and both operands of x·x
    expected = (1 - math.tanh(-6 + 9) ** 2) * (-2 + 2 * 3)
    assert result.total == pytest.approx(expected, rel=1e-14)
    assert result.agrees()


def test_clear_errors():
    model, _, inputs, desired = network()
    loss = model.loss(inputs, desired)
    with pytest.raises(IndexError, match=r"out of range for param of shape \(2, 2\)"):
        explain(loss, model.v, (2, 0))
    with pytest.raises(IndexError, match="has 1 entries"):
        explain(loss, model.v, 1)
    with pytest.raises(IndexError, match="give the index"):
        explain(loss, model.v)
    with pytest.raises(ValueError, match="not in the graph of loss"):
        explain(loss, mg.Value([[1.0]], name="stranger"), (0, 0))
    scalar_model, _, _, _ = network(scalar=True)
    with pytest.raises(IndexError, match="scalar Value"):
        explain(scalar_model.loss(inputs, desired), scalar_model.v[0][0], (0, 0))
    with pytest.raises(ValueError, match="one element"):
        explain(mg.Value([1.0, 2.0]) * 2, model.v, (0, 0))


def test_path_explosion_is_refused():
    x = mg.Value(1.0, name="x")
    y = x
    for _ in range(12):
        y = y * y  # each step doubles the paths: 2**12 in all
    with pytest.raises(PathExplosionError, match="more than 1000 paths"):
        explain(y, x, max_paths=1000)
    assert len(explain(y, x, max_paths=5000).paths) == 2 ** 12


# -- command line -------------------------------------------------------------------


@pytest.mark.parametrize("extra", [[], ["--scalar"], ["--latex"]])
def test_cli_prints_the_explanation(capsys, extra):
    status = cli.main(["explain", "--layers", "2", "2", "2", "--weight", "v", "--index", "1", "0", *extra])
    out = capsys.readouterr().out
    assert status == 0
    assert "∂SSE/∂v[1,0]" in out and "∂A_0/∂NdInpt_0" in out and "= H_1" in out and "agrees" in out
    scalar = "--scalar" in extra
    model, inputs, desired = nn.example_network([2, 2, 2], scalar=scalar)
    model.loss(inputs, desired).backward()
    grad = model.v[1][0].grad if scalar else model.v.grad[1, 0]
    assert f"{grad: .17g}" in out
    if "--latex" in extra:
        assert "\\begin{aligned}" in out


def test_cli_w_and_errors(capsys):
    assert cli.main(["explain", "--weight", "w", "--index", "0", "1", "--layers", "2", "3", "2"]) == 0
    assert "2 paths" in capsys.readouterr().out
    assert cli.main(["explain", "--weight", "v", "--index", "5", "0"]) == 2
    assert "out of range" in capsys.readouterr().err
    assert cli.main(["explain", "--weight", "v", "--index", "1"]) == 2
    assert "needs 2 index values" in capsys.readouterr().err
    assert cli.main(["explain", "--layers", "2", "2", "2", "2"]) == 2
    assert "three" in capsys.readouterr().err


# -- regressions ------------------------------------------------------------------


@pytest.mark.parametrize("scalar", [True, False], ids=["scalar", "tensor"])
def test_single_output_keeps_the_subscript_on_the_error(scalar):
    # Regression: the list-form sse of a one-output scalar net has two parents
    # (Desired_0, A_0), like the tensor form, and lost its subscript: −E = E·(−1).
    model, tensor_model, inputs, desired = network((2, 2, 1), seed=0, scalar=scalar)
    H, A, E = chapter_quantities(tensor_model, inputs, desired)
    param, index = weight(model, "v", (1, 0), scalar)
    result = explain(model.loss(inputs, desired), param, index)
    loss_factor = essential(result.factors[0])[0]
    assert loss_factor.formula == "−E_0 = E_0·(−1)" and loss_factor.equation == "6.17·6.21"
    assert loss_factor.partial == "−E = E·(−1)"
    assert loss_factor.value == pytest.approx(-E[0], rel=1e-14)
    assert result.total == pytest.approx(-1.0 * E[0] * A[0] * (1 - A[0]) * H[1], rel=1e-12)


def test_cli_single_output_scalar_net(capsys):
    assert cli.main(["explain", "--layers", "2", "2", "1", "--scalar", "--weight", "w", "--index", "0", "1"]) == 0
    out = capsys.readouterr().out
    assert "∂SSE/∂A_0" in out and "= −E_0 = E_0·(−1)" in out and "−E = E·(−1)" not in out
    model, inputs, desired = nn.example_network([2, 2, 1], scalar=True)
    model.loss(inputs, desired).backward()
    assert f"{model.w[0][1].grad: .17g}" in out and "agrees" in out


def test_desired_values_that_need_a_gradient_get_the_desired_partial():
    # A list-form sse with three outputs: parents Desired_0..2, A_0..2.  The
    # factor for Desired_1 is ∂SSE/∂Desired_1 = E_1 (Eq. 6.17), not −E_1.
    desired = [mg.Value(d, name=f"Desired_{o}") for o, d in enumerate((1.0, 0.25, 0.5))]
    actual = [mg.Value(a, name=f"A_{o}") for o, a in enumerate((0.5, 0.75, 0.125))]
    loss = mg.sse(desired, actual)
    result = explain(loss, desired[1])
    (factor,) = result.factors[0]
    assert factor.formula == "E_1" and factor.equation == "6.17" and factor.partial == "E"
    assert factor.value == 0.25 - 0.75
    (factor,) = explain(loss, actual[2]).factors[0]
    assert factor.formula == "−E_2 = E_2·(−1)" and factor.value == -(0.5 - 0.125)


def test_hidden_sigmoid_cites_eq_6_2_and_output_sigmoid_eq_6_23(capsys):
    assert cli.main(["explain", "--layers", "2", "2", "2", "--weight", "w", "--index", "1", "0"]) == 0
    out = capsys.readouterr().out
    hidden = [line for line in out.splitlines() if "α·H_0·(1 − H_0)" in line]
    output = [line for line in out.splitlines() if "α·A_" in line]
    assert len(hidden) == 2 and all("Eq. 6.2 " in line and "6.23" not in line for line in hidden)
    assert len(output) == 2 and all("Eq. 6.23" in line for line in output)
    x = mg.Value(0.3, name="x")
    (factor,) = explain(x.sigmoid(2.0), x).factors[0]   # a sigmoid outside the chapter's network
    assert factor.equation == "6.2" and factor.value == pytest.approx(2.0 * 0.5 * (1 + math.tanh(0.3)) * 0.5
                                                                      * (1 - math.tanh(0.3)), rel=1e-14)


def test_walks_the_engine_topological_order():
    import minigrad.tools.explain as explain_module
    from minigrad import topological_order

    assert explain_module.topological_order is topological_order
    assert not hasattr(explain_module, "_topological")
    # A chain deeper than Python's recursion limit is walked without recursion.
    x = mg.Value(0.5, name="x")
    y = x
    for _ in range(3000):
        y = y * 1.0 + 0.0
    result = explain(y, x)
    assert len(result.paths) == 1 and result.total == 1.0 == result.grad


def test_readme_shows_the_current_explain_output(capsys):
    # docs/chapter.md pastes this command's output; regenerate it when the numbers change.
    import pathlib

    readme = (pathlib.Path(__file__).resolve().parents[2] / "docs" / "chapter.md").read_text(encoding="utf-8")
    command = "$ python -m minigrad explain --layers 2 2 2 --weight v --index 1 0 --scalar\n"
    start = readme.index(command) + len(command)
    pasted = readme[start:readme.index("\n```", start)]
    assert cli.main(command.split()[4:]) == 0
    assert_matches_readme(capsys.readouterr().out, pasted)


@pytest.mark.parametrize("swap", [False, True], ids=["sigmoid(y)*y", "y*sigmoid(y)"])
def test_an_argument_that_is_also_an_ancestor_of_another(swap):
    # y is both an argument of the product and the parent of sigmoid(y): the
    # walk must list both paths whichever argument comes first (the graph
    # order has to put y before sigmoid(y) either way).
    x = mg.Value(0.7, name="x")
    y = x * 2.0
    s = y.sigmoid()
    loss = y * s if swap else s * y
    result = explain(loss, x)
    assert len(result.paths) == 2
    F = 1.0 / (1.0 + math.exp(-1.4))
    expected = (F + 1.4 * F * (1 - F)) * 2.0      # d/dx [σ(2x)·2x] = (σ + 2x σ(1 − σ))·2
    assert result.total == pytest.approx(expected, rel=1e-14)
    assert result.agrees()
