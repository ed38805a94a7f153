"""mg.compile on another Array API library (issue 22): array_api_strict (its simulated devices and
its float64-less device) and PyTorch CPU tensors.

The generated code calls the ops' own rules in eager's order, in the data's library: compiled and
eager must agree bit for bit (``assert_array_equal``, not a tolerance), on the random graphs of
tests/strategies.py and in training, with the results and gradients in that library, on that device.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import minigrad as mg
from minigrad.core import namespace
from strategies import programs, run

xs = pytest.importorskip("array_api_strict", reason="array-api-strict is not installable here")
pytest.importorskip("array_api_compat", reason="array-api-compat is not installable here")
torch = pytest.importorskip("torch", reason="PyTorch is not installable here")

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                      HealthCheck.function_scoped_fixture])
DEVICE1, DEVICE2 = xs.Device("device1"), xs.Device("device2")
SPACES = {
    "array_api_strict": lambda a: xs.asarray(a),
    "array_api_strict device1": lambda a: xs.asarray(a, device=DEVICE1),
    "torch cpu": torch.asarray,
}


@pytest.fixture(params=list(SPACES))
def space(request):
    return SPACES[request.param]


def same(got, want, what):
    """Bit for bit, in the same library, on the same device."""
    assert type(got) is type(want), f"{what}: {type(got).__name__}, eager {type(want).__name__}"
    if type(want) is float:
        assert got == want or (got != got and want != want), f"{what}: {got!r} vs eager {want!r}"
        return
    assert str(namespace.device(got)) == str(namespace.device(want)) and got.dtype == want.dtype, what
    np.testing.assert_array_equal(namespace.to_numpy(got), namespace.to_numpy(want), err_msg=what)


def _leaves(program, space):
    return [mg.Value(float(data)) if kind == "float" else mg.Value(space(np.asarray(data, dtype=np.float64)))
            for data, kind, _ in program.leaves]


def _in_space(program, space):
    """The program with its array constants moved into ``space`` (as Values: array_api_strict's
    operators refuse a Value on their right)."""
    def move(operand):
        if isinstance(operand, list):
            return [move(item) for item in operand]
        if operand[0] != "const" or operand[1] not in ("array", "frozen") or type(operand[2]) is float:
            return operand
        return ("const", "array", mg.Value(space(np.asarray(operand[2], dtype=np.float64)), requires_grad=False))
    program.instructions = [(op, [move(operand) for operand in operands], params)
                            for op, operands, params in program.instructions]
    return program


@settings(max_examples=40, **SETTINGS)
@given(program=programs(max_steps=6))
def test_random_graphs_compiled_equal_eager_bit_for_bit_in_each_library(space, program):
    program = _in_space(program, space)
    eager_leaves, leaves = _leaves(program, space), _leaves(program, space)
    try:
        want, _ = run(program, eager_leaves, "minigrad")
    except namespace.MixedArraysError:  # ops that make a numpy array of Python floats: eager's own refusal
        assume(False)
    want.backward()
    step = mg.compile(lambda *values: run(program, list(values), "minigrad")[0])
    for call in range(2):
        for leaf in leaves:
            leaf.grad = None
        loss = step(*leaves)
        same(loss.data, want.data, "loss")
        for number, (leaf, eager_leaf) in enumerate(zip(leaves, eager_leaves)):
            if eager_leaf.grad is None:
                assert leaf.grad is None, f"leaf {number}"
            else:
                same(leaf.grad, eager_leaf.grad, f"call {call}: leaf {number}'s gradient")


def test_the_generated_code_calls_the_rules_without_out_buffers(space):
    w = mg.Value(space(np.array([[0.5], [-1.0]])), name="w")

    @mg.compile(check=True)
    def loss(x):
        return ((x @ w).sigmoid() ** 2.0).sum()

    x = mg.Value(space(np.array([[1.0, 2.0]])), requires_grad=False)
    value = loss(x)
    source = loss.latest.source
    assert "out=" not in source and "np." not in source and ".forward(x, w" in source
    f = 1.0 / (1.0 + np.exp(-(np.array([[1.0, 2.0]]) @ np.array([[0.5], [-1.0]]))))
    np.testing.assert_allclose(namespace.to_numpy(value.data), np.sum(f ** 2), rtol=1e-15)
    np.testing.assert_allclose(namespace.to_numpy(w.grad), np.array([[1.0], [2.0]]) @ (2 * f * f * (1 - f)),
                               rtol=1e-14)  # ∂Σ F²/∂w = xᵀ (2F · F(1 − F))
    assert str(namespace.device(w.grad)) == str(namespace.device(w.data))


def test_retraces_on_a_shape_change_and_a_device_change():
    w = mg.Value(xs.asarray(np.array([[0.5], [-1.0]]), device=DEVICE1), name="w")
    step = mg.compile(lambda x: (x @ w).tanh().sum())
    step(mg.Value(xs.asarray(np.ones((1, 2)), device=DEVICE1)))
    step(mg.Value(xs.asarray(np.ones((3, 2)), device=DEVICE1)))
    assert len(step._cache) == 2
    w.data = xs.asarray(np.array([[0.5], [-1.0]]), device=DEVICE2)
    w.grad = None
    loss = step(mg.Value(xs.asarray(np.ones((3, 2)), device=DEVICE2)))
    assert len(step._cache) == 3 and loss.data.device == DEVICE2 and w.grad.device == DEVICE2


def test_mixing_libraries_or_devices_is_eager_s_error():
    w = mg.Value(xs.asarray(np.array([[0.5], [-1.0]]), device=DEVICE1))
    step = mg.compile(lambda x: (x @ w).sum())
    with pytest.raises(namespace.MixedArraysError, match=r"matmul: mixes .*device2.* with .*device1|device1.*device2"):
        step(mg.Value(xs.asarray(np.ones((1, 2)), device=DEVICE2)))
    with pytest.raises(namespace.MixedArraysError, match="numpy"):
        step(np.ones((1, 2)))
    with pytest.raises(namespace.MixedArraysError, match="torch"):
        step(mg.Value(torch.ones((1, 2), dtype=torch.float64)))
    assert w.grad is None


def test_a_float64_less_device_compiles_in_float32():
    device = xs.Device("no_float64")
    w = mg.Value(xs.asarray(np.array([[0.5, -1.0], [2.0, 0.25]], dtype=np.float32), device=device))
    x = mg.Value(xs.asarray(np.array([[1.0, 2.0]], dtype=np.float32), device=device), requires_grad=False)

    def loss():
        logits = (x @ w).tanh() * 2.0
        return mg.cross_entropy(logits, np.array([1])) + mg.mse(logits, logits * 0.5)

    want = loss()
    want.backward()
    eager_grad, w.grad = w.grad, None
    got = mg.compile(loss, check=True)()
    assert got.dtype == xs.float32 and w.grad.dtype == xs.float32 and w.grad.device == device
    same(got.data, want.data, "loss")
    same(w.grad, eager_grad, "gradient")


def _train(model, inputs, targets, optimizer, steps, compiled, loss="sse"):
    def step(inputs, targets):
        outputs = model(inputs)
        return mg.sse(targets, outputs) if loss == "sse" else mg.cross_entropy(outputs, targets)

    run_step = mg.compile(step, optimizer=optimizer) if compiled else None
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        if compiled:
            value = run_step(inputs, targets)
        else:
            value = step(inputs, targets)
            value.backward()
            optimizer.step()
        losses.append(namespace.to_numpy(value.data))
    return losses


@pytest.mark.parametrize("make_optimizer", [lambda p: mg.optim.SGD(p, lr=0.5, momentum=0.5),
                                            lambda p: mg.optim.Adam(p, lr=0.05)], ids=["SGD", "Adam"])
def test_xor_trains_compiled_as_eager_in_each_library(space, make_optimizer):
    data = mg.nn.datasets.xor()
    runs = []
    for compiled in (False, True):
        model = mg.nn.MLP([2, 3, 2], seed=3).to(namespace.of(space(np.zeros(1))))
        if namespace.device(space(np.zeros(1))) == DEVICE1:
            model.to(DEVICE1)
        inputs = mg.Value(space(data.inputs), requires_grad=False)
        targets = mg.Value(space(data.targets), requires_grad=False)
        runs.append((_train(model, inputs, targets, make_optimizer(model), 40, compiled), model))
    (want, eager_model), (got, model) = runs
    np.testing.assert_array_equal(got, want)
    assert got[-1] < got[0]
    for p, q in zip(model.parameters(), eager_model.parameters()):
        same(p.data, q.data, "parameter after training")


def test_digits_train_compiled_as_eager_in_each_library(space):
    pytest.importorskip("sklearn", reason="the digits need scikit-learn")
    train, _ = mg.nn.datasets.digits()
    runs = []
    for compiled in (False, True):
        model = mg.nn.MLP([64, 32, 10], seed=0, activation="relu", output="linear").to(
            namespace.of(space(np.zeros(1))))
        if namespace.device(space(np.zeros(1))) == DEVICE1:
            model.to(DEVICE1)
        inputs = mg.Value(space(train.inputs[:256]), requires_grad=False)
        # NOTE: one-hot targets: integer labels as a traced argument are another change's (they arrive as floats)
        targets = mg.Value(space(np.eye(10)[train.labels[:256]]), requires_grad=False)
        runs.append(_train(model, inputs, targets, mg.optim.SGD(model, lr=0.5), 10, compiled, loss="cross_entropy"))
    np.testing.assert_array_equal(runs[1], runs[0])
    assert runs[1][-1] < 0.8 * runs[1][0]
