"""gradgradcheck: second derivatives (reverse over reverse) against central differences of the first,
along random directions."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import minigrad as mg
from strategies import programs, run


def test_passes_on_the_chapters_layer_and_a_vector_output():
    rng = np.random.default_rng(0)
    w, x = rng.standard_normal((3, 2)), rng.standard_normal(3)
    assert mg.gradgradcheck(lambda x, w: mg.sse(np.array([1.0, 0.0]), (x @ w).sigmoid(2.0)), x, w)
    assert mg.gradgradcheck(lambda x: x.tanh() * x.exp(), x)  # a vector output: projected on a random u


class SlopeKeptAsAConstant(mg.Function):
    """ln(1 + eˣ) whose backward is right (first order) but keeps the slope as a ctx attribute, a
    constant to a second derivative: create_graph cannot see that, gradgradcheck does."""

    @staticmethod
    def forward(ctx, x):
        ctx.slope = 1.0 / (1.0 + np.exp(-x))
        return np.logaddexp(0.0, x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.slope


def test_a_silently_wrong_second_derivative_is_caught():
    x = np.array([0.5, -1.0, 2.0])
    assert mg.gradcheck(lambda v: SlopeKeptAsAConstant.apply(v), x)
    with pytest.raises(mg.GradcheckError, match="gradgradcheck: along random direction 0, the second derivative"):
        mg.gradgradcheck(lambda v: SlopeKeptAsAConstant.apply(v), x)


def test_a_function_of_constants_only_is_refused():
    with pytest.raises(mg.GradcheckError, match="does not depend on any input"):
        mg.gradgradcheck(lambda v: mg.Value(1.0, requires_grad=False) * 2.0, np.array([1.0]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(programs(max_steps=5))
def test_random_graphs_over_every_op_pass(program):
    arrays = [np.asarray(data, dtype=np.float64) for data, _, _ in program.leaves]
    kinds = [kind for _, kind, _ in program.leaves]

    def function(*values):
        leaves = [value.reshape(()) if kind == "array" and value.shape == () else value
                  for value, kind in zip(values, kinds)]
        return run(program, leaves, "minigrad")[0]

    # NOTE: differences of first derivatives lose about |g|·1e-16/ε: tolerances grow with the terms' size
    assert mg.gradgradcheck(function, *arrays, rtol=1e-5, atol=1e-6)
