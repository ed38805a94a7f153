"""Random expression graphs: minigrad against the HIPS autograd package (an
independent autodiff) and against central differences, in float64; and the
same graphs in float32 (dtype kept, values close)."""

import numpy as np
from autograd import grad as autograd_grad
from hypothesis import HealthCheck, assume, given, settings

import minigrad as mg
from strategies import AutogradOps, MinigradOps, programs, run

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def minigrad_gradients(inputs, instructions, dtype=np.float64):
    leaves = [mg.Value(float(x)) if x.ndim == 0 and dtype == np.float64 else mg.Value(x.astype(dtype))
              for x in inputs]
    loss = run(inputs, instructions, MinigradOps(), leaves)
    loss.backward()
    return loss, [np.zeros(leaf.shape, dtype=leaf.dtype) if leaf.grad is None else leaf.grad for leaf in leaves]


def oracle_gradients(inputs, instructions):
    def loss(args):
        return run(inputs, instructions, AutogradOps(), list(args))

    return loss(tuple(inputs)), autograd_grad(loss)(tuple(inputs))


def away_from_relu_kinks(inputs, instructions):
    """Skip graphs where a relu input sits within 1e-4 of 0 (no derivative there)."""
    if not any(op == "relu" for op, _, _ in instructions):
        return True
    nodes = list(inputs)
    ops = AutogradOps()
    for op, operands, argument in instructions:
        if op == "relu" and np.min(np.abs(nodes[operands[0]])) < 1e-4:
            return False
        if op in ("add", "sub", "mul", "div", "powv") and len(operands) == 1:
            _, constant, first = argument[0]
            a, b = (constant, nodes[operands[0]]) if first else (nodes[operands[0]], constant)
            nodes.append(getattr(ops, op)(a, b))
        else:
            nodes.append(getattr(ops, op)(*(nodes[i] for i in operands), *argument))
    return True


@FAST
@given(programs())
def test_random_graphs_match_autograd(program):
    inputs, instructions = program
    assume(away_from_relu_kinks(inputs, instructions))
    want_loss, want = oracle_gradients(inputs, instructions)
    assume(np.isfinite(want_loss) and abs(want_loss) < 1e8)
    loss, got = minigrad_gradients(inputs, instructions)
    np.testing.assert_allclose(loss.item(), want_loss, rtol=1e-12, atol=1e-12)
    for g, w, x in zip(got, want, inputs):
        assert np.shape(g) == np.shape(x)
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-10)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(max_steps=5))
def test_random_graphs_match_central_differences(program):
    inputs, instructions = program
    assume(away_from_relu_kinks(inputs, instructions))

    def function(*leaves):
        return run(inputs, instructions, MinigradOps(), list(leaves))

    with mg.no_grad():
        value = function(*[mg.Value(x) for x in inputs]).item()
    assume(np.isfinite(value) and abs(value) < 1e6)
    assert mg.gradcheck(function, *inputs, rtol=1e-6, atol=1e-7)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(max_steps=5))
def test_random_graphs_in_float32_keep_dtype_and_values(program):
    inputs, instructions = program
    assume(away_from_relu_kinks(inputs, instructions))
    want_loss, want = oracle_gradients(inputs, instructions)
    assume(np.isfinite(want_loss) and abs(want_loss) < 1e4)
    loss, got = minigrad_gradients(inputs, instructions, dtype=np.float32)
    assert loss.dtype == np.float32
    for g, w in zip(got, want):
        assert np.asarray(g).dtype == np.float32
        scale = 1.0 + np.max(np.abs(w))
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-3 * scale)
