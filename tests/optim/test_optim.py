"""minigrad.optim: learning-rate checks, and SGD / Adam against hand-computed steps."""

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import MLP
from minigrad.optim import SGD, Adam, Optimizer


def parameter(data, grad=None):
    value = mg.Value(data)
    value.grad = None if grad is None else (grad if isinstance(grad, float) else np.asarray(grad, value.dtype))
    return value


@pytest.mark.parametrize("optimizer", [SGD, Adam])
@pytest.mark.parametrize("lr", [-0.1, 0.0, math.nan, math.inf, -math.inf])
def test_bad_learning_rates_are_value_errors(optimizer, lr):
    with pytest.raises(ValueError, match=r"lr \(the learning rate\) must be finite and > 0"):
        optimizer([parameter(1.0)], lr=lr)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
@pytest.mark.parametrize("lr", ["0.1", None, True, [0.1], 1j])
def test_non_number_learning_rates_are_type_errors(optimizer, lr):
    with pytest.raises(TypeError, match="lr .* must be a real number"):
        optimizer([parameter(1.0)], lr=lr)


def test_other_settings_are_checked():
    with pytest.raises(ValueError, match="momentum must be in"):
        SGD([parameter(1.0)], lr=0.1, momentum=1.0)
    with pytest.raises(ValueError, match=r"betas\[1\] must be in"):
        Adam([parameter(1.0)], betas=(0.9, 1.5))
    with pytest.raises(TypeError, match="betas must be a pair"):
        Adam([parameter(1.0)], betas=0.9)
    with pytest.raises(ValueError, match="eps must be finite and > 0"):
        Adam([parameter(1.0)], eps=0.0)
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[1\] is a float"):
        SGD([parameter(1.0), 2.0], lr=0.1)
    with pytest.raises(ValueError, match=r"params\[0\] has requires_grad=False"):
        SGD([mg.Value(1.0, requires_grad=False)], lr=0.1)


def test_sgd_step_by_hand():
    weights = parameter([1.0, -2.0], [0.5, 0.25])
    scalar = parameter(3.0, -1.0)
    optimizer = SGD([weights, scalar], lr=0.1)
    optimizer.step()
    assert np.allclose(weights.data, [1.0 - 0.05, -2.0 - 0.025], rtol=0, atol=1e-15)
    assert type(scalar.data) is float and scalar.data == pytest.approx(3.1, abs=1e-15)
    assert optimizer.steps == 1


def test_sgd_momentum_by_hand():
    value = parameter([1.0], [1.0])
    optimizer = SGD([value], lr=0.1, momentum=0.9)
    optimizer.step()  # buffer = 1.0;               p = 1 - 0.1
    value.grad = np.array([0.5])
    optimizer.step()  # buffer = 0.9 * 1 + 0.5 = 1.4; p = 0.9 - 0.14
    assert value.data[0] == pytest.approx(0.76, abs=1e-15)


def test_adam_first_step_moves_each_weight_by_lr_against_the_gradient_sign():
    value = parameter([1.0, 1.0, 1.0], [3.0, -0.001, 0.0])
    Adam([value], lr=0.01).step()
    # m̂ = g, v̂ = g², so the step is lr · g / (|g| + ε): about lr for every nonzero g.
    expected = [1.0 - 0.01 * 3.0 / (3.0 + 1e-8), 1.0 + 0.01 * 0.001 / (0.001 + 1e-8), 1.0]
    assert np.allclose(value.data, expected, rtol=0, atol=1e-15)
    assert np.allclose(value.data, [0.99, 1.01, 1.0], rtol=0, atol=1e-6)


def test_adam_matches_the_published_rule_over_several_steps():
    lr, beta1, beta2, eps = 0.05, 0.8, 0.95, 1e-6
    gradients = [np.array([0.3, -1.2]), np.array([-0.5, 0.4]), np.array([0.1, 2.0]), np.array([0.0, -0.7])]
    value = parameter([0.5, -0.25])
    optimizer = Adam([value], lr=lr, betas=(beta1, beta2), eps=eps)
    expected = np.array([0.5, -0.25])
    m = np.zeros(2)
    v = np.zeros(2)
    for t, g in enumerate(gradients, start=1):  # Kingma & Ba (2015), Algorithm 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g ** 2
        expected = expected - lr * (m / (1 - beta1 ** t)) / (np.sqrt(v / (1 - beta2 ** t)) + eps)
        value.grad = g
        optimizer.step()
        assert np.allclose(value.data, expected, rtol=1e-14, atol=1e-15), t
    # Step 1 by hand: m̂ = g, v̂ = g², so each weight moved by lr·g/(|g| + ε).
    first = np.array([0.5, -0.25]) - lr * gradients[0] / (np.abs(gradients[0]) + eps)
    assert np.allclose(first, [0.5 - 0.05 * 0.3 / 0.300001, -0.25 + 0.05 * 1.2 / 1.200001], rtol=1e-15)


def test_parameters_without_a_gradient_are_skipped():
    used, unused = parameter([1.0], [1.0]), parameter([2.0])
    for optimizer in (SGD([used, unused], lr=0.5), Adam([used, unused], lr=0.5)):
        optimizer.step()
        assert unused.data[0] == 2.0
    assert used.data[0] < 1.0


def test_updates_keep_dtype_and_build_no_graph():
    model = MLP([2, 3, 2], seed=0, dtype=np.float32)
    for optimizer in (SGD(model, lr=0.5, momentum=0.5), Adam(model.parameters(), lr=0.01)):
        loss = model.loss(np.array([0.0, 1.0], dtype=np.float32), np.array([1.0, 0.0], dtype=np.float32))
        optimizer.zero_grad()
        loss.backward()
        before = model.w.data.copy()
        optimizer.step()
        for value in model.parameters():
            assert value.dtype == np.float32 and value.is_leaf and value.requires_grad and value.op is None
        assert not np.array_equal(model.w.data, before)
        optimizer.zero_grad()
        assert all(value.grad is None for value in model.parameters())


def test_module_and_list_and_duplicates():
    model = MLP([2, 2, 2], seed=0)
    assert SGD(model, lr=0.1).params == model.parameters()
    value = parameter([1.0], [1.0])
    optimizer = SGD([value, value], lr=0.1)  # listed twice, updated once
    optimizer.step()
    assert value.data[0] == pytest.approx(0.9, abs=1e-15)
    assert repr(optimizer) == "SGD(lr=0.1, 1 parameters)"
    assert issubclass(SGD, Optimizer) and issubclass(Adam, Optimizer)


def test_sgd_is_the_chapters_rule_on_a_network():
    """One SGD step with η = 0.5 is v ← v − η ∂SSE/∂v for every weight."""
    model = MLP([2, 2, 2], seed=3)
    model.loss([1.0, 0.0], [1.0, 0.0]).backward()
    expected = {name: value.data - 0.5 * value.grad for name, value in model.named_parameters()}
    SGD(model, lr=0.5).step()
    for name, value in model.named_parameters():
        assert np.array_equal(value.data, expected[name]), name
