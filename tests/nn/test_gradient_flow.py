"""mg.gradient_flow: each layer's gradient split into the chapter's factors (Sec. 6.3.2).

The factors multiply back to the gradient autodiff computed (to 1e-12), on the
chapter's 2-2-2 net (against minigrad.textbook too), on deeper sigmoid MLPs and
on Sequentials of Linear + Sigmoid/Tanh; the named saturated nodes are those
with the largest |NdInpt|; train(track_gradient_flow=True) records the report.
"""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, textbook
from minigrad.nn.gradient_flow import SATURATION


def assert_factors_give_the_gradients(report, net, inputs, targets):
    net.zero_grad()
    mg.sse(np.array(targets, ndmin=2), net(np.array(inputs, ndmin=2))).backward()
    weights = dict(net.named_parameters())
    for layer in report.layers:
        weight = weights[layer.weight]
        product = np.einsum("pi,ph,ph->ih", layer.inputs, layer.slope, layer.error)  # Σ_p A·F′·∂SSE/∂A
        scale = max(1.0, float(np.max(np.abs(weight.grad))))
        np.testing.assert_allclose(product, weight.grad, rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(layer.weight_gradient, weight.grad, rtol=0, atol=1e-12 * scale)
    return weights


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_chapter_net_factors_are_the_chapters_and_multiply_back(seed):
    net, inputs, desired = nn.example_network([2, 2, 2], alpha=1.7, seed=seed)
    report = mg.gradient_flow(net, inputs, desired)
    assert [layer.weight for layer in report.layers] == ["v", "w"]  # output layer first
    assert report.layers[0].nodes == ["A_0", "A_1"] and report.layers[1].nodes == ["H_0", "H_1"]
    assert_factors_give_the_gradients(report, net, inputs, desired)
    # the chapter's factors, from minigrad.textbook (which shares no code with the engine)
    output, hidden = report.layers
    actual = np.asarray(net(inputs).data)
    np.testing.assert_allclose(report.error[0], desired - actual, rtol=0, atol=1e-15)
    np.testing.assert_allclose(output.error[0], -(desired - actual), rtol=0, atol=1e-15)  # ∂SSE/∂A_o = −E_o
    np.testing.assert_allclose(output.slope[0], textbook.transfer_derivative(output.summed_inputs[0], alpha=1.7),
                               rtol=1e-13)
    np.testing.assert_allclose(hidden.error[0], output.delta[0] @ net.v.data.T, rtol=1e-13)  # through v[h, o]
    expected = textbook.gradients(inputs, desired, net.w.data, net.v.data, alpha=1.7,
                                  bias_hidden=net.bias_hidden.data, bias_output=net.bias_output.data)
    np.testing.assert_allclose(output.weight_gradient, expected["v"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(hidden.weight_gradient, expected["w"], rtol=0, atol=1e-13)
    np.testing.assert_allclose(hidden.bias_gradient, expected["bias_hidden"], rtol=0, atol=1e-13)
    assert all(np.all(layer.slope <= 1.7 / 4) for layer in report.layers)


def test_deeper_sigmoid_nets_over_many_patterns():
    rng = np.random.default_rng(3)
    inputs, targets = rng.random((7, 5)), rng.random((7, 3))
    mlp = nn.MLP([5, 6, 6, 6, 3], alpha=1.3, seed=4, init=2.0)
    report = mg.gradient_flow(mlp, inputs, targets)
    assert [layer.weight for layer in report.layers] == ["weight_4", "weight_3", "weight_2", "weight_1"]
    assert report.layers[1].nodes[0] == "H3_0"
    assert_factors_give_the_gradients(report, mlp, inputs, targets)
    sequential = nn.Sequential(nn.Linear(5, 4, seed=1), nn.Sigmoid(2.0), nn.Linear(4, 4, seed=2), nn.Tanh(),
                               nn.Linear(4, 3, seed=3), nn.Sigmoid())
    report = mg.gradient_flow(sequential, inputs, targets)
    assert [layer.activation for layer in report.layers] == ["sigmoid", "tanh", "sigmoid"]
    assert report.layers[2].slope_max == 0.5  # α/4 for α = 2
    assert_factors_give_the_gradients(report, sequential, inputs, targets)


def test_the_ratios_multiply_to_the_norms():
    rng = np.random.default_rng(5)
    net = nn.MLP([4, 5, 5, 2], seed=6, init=3.0)
    inputs, targets = rng.random((3, 4)), rng.random((3, 2))
    report = mg.gradient_flow(net, inputs, targets)
    for above, layer in zip(report.layers, report.layers[1:]):
        # ‖δ_l‖ = ‖δ_(l+1)‖ × weights factor × slope factor
        assert np.linalg.norm(layer.delta) == pytest.approx(
            np.linalg.norm(above.delta) * layer.weights_factor * layer.slope_factor, rel=1e-12)
    top = report.layers[0]
    assert np.linalg.norm(top.delta) == pytest.approx(np.linalg.norm(report.error) * top.slope_factor, rel=1e-12)


def test_the_named_saturated_nodes_are_those_with_the_largest_summed_inputs():
    net = nn.MLP([6, 12, 12, 12, 3], seed=7, init=5.0)
    rng = np.random.default_rng(8)
    inputs, targets = rng.random(6), np.array([1.0, 0.0, 0.0])
    report = mg.gradient_flow(net, inputs, targets)
    nodes = {(node, layer.weight): abs(float(layer.summed_inputs[0, k]))
             for layer in report.layers for k, node in enumerate(layer.nodes)}
    saturated = [(node.node, node.weight) for node in report.saturated]
    assert len(saturated) >= 3
    sizes = [nodes[key] for key in saturated]
    assert sizes == sorted(sizes, reverse=True)
    # α = 1 everywhere and one pattern: the saturated nodes are exactly the |NdInpt| above the threshold
    assert min(sizes) > max(size for key, size in nodes.items() if key not in saturated)
    first = report.saturated[0]
    layer = next(layer for layer in report.layers if layer.weight == first.weight)
    z = float(layer.summed_inputs[0, first.column])
    e = np.exp(-abs(z))
    assert first.slope_fraction == pytest.approx(e / (1 + e) ** 2, rel=1e-14) and first.slope_fraction > 0
    assert first.lost == pytest.approx(1 - 4 * e / (1 + e) ** 2, rel=1e-14)
    assert all(4 * node.slope_fraction < SATURATION for node in report.saturated)
    text = str(report)
    assert str(first) in text and f"at NdInpt = {z:.3g}" in text
    assert f"∂SSE/∂{first.weight}[·,{first.column}]" in text


def test_deep_saturation_keeps_real_numbers():
    net = nn.MLP([1, 1, 1], seed=0, bias=False)
    net.w.data = np.array([[40.0]])
    report = mg.gradient_flow(net, np.array([1.0]), np.array([0.0]))
    hidden = report.layers[1]
    assert hidden.slope[0, 0] == pytest.approx(np.exp(-40.0), rel=1e-12)  # F(1−F) = e/(1+e)², not 0
    assert report.saturated[0].node == "H_0" and "F(1−F) = 4.2e-18 at NdInpt = 40" in str(report)


def test_which_factor_dominates():
    net, inputs, desired = nn.example_network([2, 3, 2], seed=1)
    net.v.data = net.v.data * 1e-3  # tiny weights above the hidden layer
    report = mg.gradient_flow(net, inputs, desired)
    assert report.layers[1].dominant == "weights" and "the weights v shrink the gradient most" in str(report)
    net.v.data = net.v.data * 1e3
    net.w.data = net.w.data * 30.0  # saturate the hidden layer
    report = mg.gradient_flow(net, inputs, desired)
    assert report.layers[1].dominant == "slope"
    html = report._repr_html_()
    assert "<table" in html and "saturated nodes" in html


def test_bad_nets_and_shapes_are_refused():
    with pytest.raises(TypeError, match="ScalarMLP"):
        mg.gradient_flow(nn.ScalarMLP([2, 2, 2]), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="inputs must be patterns of 2"):
        mg.gradient_flow(nn.MLP([2, 2, 2]), np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match=r"targets must have shape \(1, 2\)"):
        mg.gradient_flow(nn.MLP([2, 2, 2]), np.zeros(2), np.zeros(3))
    with pytest.raises(TypeError, match="Sequential"):
        mg.gradient_flow(nn.Sequential(nn.Sigmoid()), np.zeros(2), np.zeros(2))


def test_train_records_the_report_every_n_updates():
    data = mg.datasets.xor()
    net = nn.MLP([2, 2, 2], seed=0)
    result = mg.train(net, data.inputs, data.targets, max_iterations=250, threshold=None, quiet=True,
                      track_gradient_flow=True, gradient_flow_every=100)
    assert result.gradient_flow_steps == [0, 100, 200, 250]
    last = mg.gradient_flow(net, data.inputs, data.targets)
    for mine, theirs in zip(result.gradient_flow[-1].layers, last.layers):
        np.testing.assert_array_equal(mine.weight_gradient, theirs.weight_gradient)
    first = result.gradient_flow[0]
    assert first.loss == pytest.approx(result.history[0], rel=1e-12)
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    ax = result.plot_gradient_flow()
    assert [line.get_label() for line in ax.get_lines()] == ["w", "v"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(),
                               [report.layers[0].slope_factor for report in result.gradient_flow])
    gradients = result.plot_gradient_flow(what="gradient")
    np.testing.assert_allclose(gradients.get_lines()[0].get_ydata(),
                               [report.layers[1].gradient_norm for report in result.gradient_flow])
    with pytest.raises(ValueError, match="track_gradient_flow"):
        mg.train(net, data.inputs, data.targets, loss="mse", track_gradient_flow=True, quiet=True)
    with pytest.raises(ValueError, match="nothing recorded"):
        mg.train(net, data.inputs, data.targets, max_iterations=1, quiet=True).plot_gradient_flow()
