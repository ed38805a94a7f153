"""minigrad.compile: the generated code gives eager mode's loss and gradients.

Every check compares a compiled step with eager backward on the same numbers:
random graphs over every op of `minigrad.core.ops.OPS` (replayed with the inputs changed between calls),
training runs, the chapter's network against `minigrad.textbook`, and the
rules a trace lives by (retracing, refusing Python control flow, accumulating
gradients, threads, memory).  No test times anything.
"""

import os
import re
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import textbook
from minigrad.nn import MLP, ScalarMLP, example_network
from minigrad.optim import SGD, Adam
from strategies import Program, make_leaves, programs, run

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def assert_same(got, want, what="value"):
    """The same kind (float, or array of the same shape and dtype) and the same numbers, bit for bit
    (nan where eager has nan)."""
    if want is None:
        assert got is None, f"{what}: eager gives no gradient, compiled gives {got!r}"
        return
    if isinstance(want, np.generic):  # eager sometimes leaves a numpy scalar where compile keeps a 0-d array
        want = np.asarray(want)
    assert type(got) is type(want), f"{what}: {type(got).__name__}, eager {type(want).__name__}"
    if type(want) is np.ndarray:
        assert got.shape == want.shape and got.dtype == want.dtype, \
            f"{what}: {got.dtype}{got.shape}, eager {want.dtype}{want.shape}"
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    np.testing.assert_array_equal(got, want, err_msg=what, strict=True)  # nan where eager has nan


def eager_run(program, leaves):
    frozen = np.float64 if program.dtype == "float64" else np.float32
    loss, _ = run(program, leaves, "minigrad", frozen)
    loss.backward()
    return loss


def moved(data, step):
    """New numbers of the same kind for a leaf: a replay must read them."""
    if type(data) is float:
        return data * 0.75 + 0.125 * step
    return (data * 0.75 + 0.125 * step).astype(data.dtype)


# ---------------------------------------------------------------------------
# Random graphs: every op, broadcasting, indexing, reuse, scalars mixed with arrays
# ---------------------------------------------------------------------------


@settings(max_examples=120, **SETTINGS)
@given(programs(dtypes=("float64", "float32", "mixed")), st.sampled_from(["arguments", "parameters", "mixed"]),
       st.booleans())
def test_random_graphs_compiled_equal_eager_over_several_calls(program, how, fold):
    """Leaves passed as arguments, reached as parameters (a closure), or some of each; each
    replay sees new numbers, assigned to the same Values."""
    frozen = np.float64 if program.dtype == "float64" else np.float32
    eager_leaves, leaves = make_leaves(program), make_leaves(program)
    passed = [how == "arguments" or (how == "mixed" and k % 2 == 0) for k in range(len(leaves))]

    def function(*arguments):
        supplied = iter(arguments)
        values = [next(supplied) if passed[k] else leaf for k, leaf in enumerate(leaves)]
        return run(program, values, "minigrad", frozen)[0]

    step = mg.compile(function, fold=fold)
    for call in range(3):
        if call:
            for eager_leaf, leaf in zip(eager_leaves, leaves):
                eager_leaf.data = leaf.data = moved(leaf.data, call)
                eager_leaf.grad = leaf.grad = None
        want = eager_run(program, eager_leaves)
        loss = step(*[leaf for k, leaf in enumerate(leaves) if passed[k]])
        assert not loss.requires_grad
        assert_same(loss.data, want.data, "loss")
        for number, (leaf, eager_leaf) in enumerate(zip(leaves, eager_leaves)):
            assert_same(leaf.grad, eager_leaf.grad, f"call {call}: leaf {number}'s gradient")


def test_every_op_is_compiled_from_its_own_rules_with_no_code_of_its_own_in_the_compiler():
    """The random graphs exercise every op of the table (sse_scalars in the scalar nets below; one_hot
    under cross_entropy's integer labels, traced as an input in tests/compile/test_integer_inputs.py), and no
    module of the compiler imports the op table or spells an op's rule: the rules are traced."""
    from minigrad.core.ops import OPS
    from strategies import ENGINE_OPS_EXERCISED
    assert set(ENGINE_OPS_EXERCISED.values()) | {"sse_scalars", "one_hot"} == {op.name for op in OPS}
    for path in (ROOT / "minigrad" / "compiler").glob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(from \S*ops import|from \S+ import .*\bops\b|import \S*\bops\b)", text, re.M), \
            path.name
        assert "emit_forward" not in text and "Emitter" not in text and "sigmoid_parts(" not in text, path.name
        # the array sigmoid's arithmetic is numerics' own (sigmoid_parts_into), not restated here; only
        # the scalar sigmoid's three lines are written out (docs/compile.md, Performance)
        assert "count_nonzero" not in text and "reciprocal(add(" not in text and "np.exp(" not in text, path.name


def _softplus_op():
    """A user's op: softplus, ln(1 + eˣ), written only as an `Op` with numpy rules."""
    from minigrad.core.ops import Op

    class Softplus(Op):
        """out = ln(1 + exp(a)).   ∂out/∂a = 1/(1 + exp(−a))."""

        name, formula, partials = "softplus", "ln(1 + exp(a))", ("1/(1 + exp(−{a}))",)

        def forward(self, a, beta=1.0):
            return np.logaddexp(0.0, beta * a) / beta, beta

        def backward(self, grad, out, beta, needs, a):
            return (grad / (1.0 + np.exp(-beta * a)),)

    return Softplus()


def test_a_users_op_with_no_compiler_code_compiles_and_equals_eager_bit_for_bit(rng):
    softplus = _softplus_op()
    weights = mg.Value(rng.standard_normal((3, 2)), name="weights")
    inputs, desired = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))

    def loss(inputs, desired):
        return mg.sse(desired, mg.apply(softplus, inputs @ weights, beta=2.0))

    step = mg.compile(loss)
    compiled = step(inputs, desired)
    got = weights.grad
    weights.grad = None
    eager = loss(inputs, desired)
    eager.backward()
    assert compiled.data.tobytes() == eager.data.tobytes()
    assert got.dtype == weights.grad.dtype and got.tobytes() == weights.grad.tobytes()
    assert "np.logaddexp(" in step.source and "= ln(1 + exp(inputs_weights))" in step.source  # its own calls
    # its gradient, against central differences in float64
    def number(w):
        return float(loss(inputs, desired).data) if w is None else \
            float(mg.sse(desired, mg.apply(softplus, inputs @ mg.Value(w), beta=2.0)).data)
    step_size = 1e-6
    numeric = np.zeros_like(weights.data)
    for index in np.ndindex(*weights.shape):
        up, down = weights.data.copy(), weights.data.copy()
        up[index] += step_size
        down[index] -= step_size
        numeric[index] = (number(up) - number(down)) / (2 * step_size)
    np.testing.assert_allclose(got, numeric, rtol=1e-7, atol=1e-9)


def test_a_rule_that_branches_on_a_traced_number_is_refused_naming_the_op():
    from minigrad.core.ops import Op

    class Branching(Op):
        name, formula, partials = "branching", "|a|", ("sign({a})",)

        def forward(self, a):
            return np.abs(a), None

        def backward(self, grad, out, saved, needs, a):
            return (grad if a > 0 else -grad,)  # branches on the numbers: eager only

    w = mg.Value(2.0)
    with pytest.raises(mg.CompileError, match="op 'branching'.*a test of a traced number"):
        mg.compile(lambda: mg.apply(Branching(), w * 1.5))()


@settings(max_examples=40, **SETTINGS)
@given(programs(max_steps=6))
def test_random_graphs_with_plain_array_arguments(program):
    """Leaves that need no gradient passed as numpy arrays and floats: inputs of the code, not constants."""
    arrays = [np.asarray(data, dtype=np.float64) if kind == "array" else float(data)
              for data, kind, _ in program.leaves]
    parameter = mg.Value(1.5)  # something to differentiate

    def function(*values):
        return run(program, list(values), "minigrad")[0] * parameter

    step = mg.compile(function)
    for call in range(3):
        if call:
            arrays = [moved(data, call) if type(data) is float else moved(data, call) for data in arrays]
        parameter.grad = None
        eager = function(*[mg.Value(a, requires_grad=False) for a in arrays])
        eager.backward()
        want = parameter.grad
        parameter.grad = None
        loss = step(*arrays)
        assert_same(loss.data, eager.data, what="loss")
        assert_same(parameter.grad, want, what="the parameter's gradient")


def test_a_view_of_a_zero_d_sigmoid_keeps_its_buffer_alive():
    """Found by the random graphs: sigmoid's parts of a 0-d array came back as numpy scalars, so a view
    of F (here Fᵀ) was taken for an input of the code and F's buffer was reused while the view lived."""
    program = Program(leaves=[(0.0, "array", "float64")],
                      instructions=[("leaf", (), (0,)), ("add", (("node", 0), ("node", 0)), ()),
                                    ("sigmoid", (("node", 0),), (0.25,)), ("transpose", (("node", 2),), ("T",)),
                                    ("stack", ([("node", 0)],), (0,)), ("neg", (("node", 3),), ())])
    parameter = mg.Value(1.5)

    def function(x):
        return run(program, [x], "minigrad")[0] * parameter

    step = mg.compile(function)
    for number in (0.0, 0.4, -2.0):
        x = np.array(number)
        parameter.grad = None
        eager = function(mg.Value(x, requires_grad=False))
        eager.backward()
        want = parameter.grad
        parameter.grad = None
        assert_same(step(x).data, eager.data, what="loss")
        assert_same(parameter.grad, want, what="∂loss/∂parameter")


# ---------------------------------------------------------------------------
# The chapter's network
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("scalar", [False, True], ids=["tensor", "scalar"])
@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_the_chapters_network_bit_for_bit(scalar, alpha):
    eager_net, inputs, desired = example_network((2, 3, 2), alpha=alpha, seed=3, scalar=scalar)
    net, _, _ = example_network((2, 3, 2), alpha=alpha, seed=3, scalar=scalar)
    eager = eager_net.loss(inputs, desired)
    eager.backward()
    if scalar:
        step = mg.compile(lambda I, Desired: mg.sse(list(Desired), net(list(I))))
        loss = step(list(inputs), list(desired))
        assert type(loss.data) is float
    else:
        loss = mg.compile(net.loss)(inputs, desired)
    assert loss.data == eager.data
    for (name, value), (_, eager_value) in zip(net.named_parameters(), eager_net.named_parameters()):
        assert type(value.grad) is type(eager_value.grad)
        assert np.array_equal(value.grad, eager_value.grad), name


def test_the_generated_backward_computes_eq_6_30_and_the_w_formula():
    """What docs/compile.md shows: the generated backward for the chapter's 2-2-2 net beside
    `textbook.gradients` (Eq. 6.30 for v, its input→hidden counterpart for w)."""
    for seed in range(5):
        net, inputs, desired = example_network((2, 2, 2), alpha=1.0, seed=seed)
        mg.compile(lambda I, Desired: net.loss(I, Desired))(inputs, desired)
        by_hand = textbook.gradients(inputs, desired, net.w.data, net.v.data, alpha=1.0,
                                     bias_hidden=net.bias_hidden.data, bias_output=net.bias_output.data)
        scales = textbook.gradient_scales(inputs, desired, net.w.data, net.v.data, alpha=1.0,
                                          bias_hidden=net.bias_hidden.data, bias_output=net.bias_output.data)
        for name, want in by_hand.items():
            got = getattr(net, name).grad
            # NOTE: ∂SSE/∂w sums over o terms of both signs; judge it against their size (see README)
            assert np.all(np.abs(got - want) <= 1e-12 * np.maximum(scales[name], np.abs(want))), name


def test_the_documented_code_is_what_the_command_line_prints():
    printed = subprocess.run([sys.executable, "-m", "minigrad", "compile", "--layers", "2", "2", "2"],
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert printed.returncode == 0, printed.stderr
    source = printed.stdout
    assert "def forward_backward(I, Desired, w, bias_hidden, v, bias_output):" in source
    for text in ["# H = F(NdInpt_hidden)", "(Eq. 6.2)", "# ∂SSE/∂A = −E = E·(−1)  (Eq. 6.17·6.21)",
                 "# ∂SSE/∂v = Hᵀ @ ∂SSE/∂H_v", "minus_E = subtract(A, Desired, buf", "slope_A = multiply(e_r_A, r_A, buf"]:
        assert text in source, text
    assert "OPTIMIZER" not in source
    with_update = subprocess.run([sys.executable, "-m", "minigrad", "compile", "--eta", "0.5"],
                                 capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert with_update.returncode == 0, with_update.stderr
    for name in ("w", "bias_hidden", "v", "bias_output"):
        assert f"subtract({name}, multiply({name}_value.grad, LR64, SCALED" in with_update.stdout
        assert f"{name}_value._version = version" in with_update.stdout
    documented = (ROOT / "docs" / "compile.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(# -- backward.*?)```", documented, re.S)
    assert block, "docs/compile.md shows the generated backward"
    backward = re.search(r"\n(    # -- backward.*?\n    return [^\n]*\n)", source, re.S).group(1)
    assert block.group(1) == textwrap.dedent(backward), \
        "docs/compile.md's generated backward is out of date: paste `python -m minigrad compile --layers 2 2 2`'s"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"## The derivation, generated.*?```python\n(.*?)```", readme, re.S).group(1)
    lines = [line.split("  # Eq.")[0].rstrip() for line in quoted.splitlines() if line.strip()]
    assert len(lines) >= 12
    for line in lines:
        assert "    " + line in source, f"README quotes a line the command does not print: {line}"


def test_the_command_line_prints_scalar_and_unfolded_code_and_refuses_bad_arguments():
    def command(*arguments):
        return subprocess.run([sys.executable, "-m", "minigrad", "compile", *arguments], capture_output=True,
                              text=True, timeout=120, cwd=ROOT)

    scalar = command("--layers", "2", "2", "2", "--scalar")
    assert scalar.returncode == 0, scalar.stderr
    assert "def forward_backward(I_0, I_1, Desired_0, Desired_1," in scalar.stdout
    # the rule's own helper on floats, its three lines written out (α = 1)
    assert "e_A_0 = math.exp(-abs(NdInpt_0))\n    r_A_0 = 1.0 / (1.0 + e_A_0)\n    " \
           "A_0 = r_A_0 if NdInpt_0 >= 0.0 else e_A_0 * r_A_0\n" in scalar.stdout
    unfolded = command("--layers", "2", "3", "1", "--alpha", "2", "--no-fold", "--seed", "4")
    assert unfolded.returncode == 0 and "alpha = 2.0" in unfolded.stdout
    for arguments, message in [(("--layers", "2"), "at least two sizes"),
                               (("--layers", "200", "200", "200", "--scalar"), "--scalar builds every weight"),
                               (("--alpha", "-1"), "--alpha: must be finite and > 0"),
                               (("--fold",), "unrecognized arguments")]:
        refused = command(*arguments)
        assert refused.returncode == 2 and refused.stdout == ""
        assert refused.stderr.startswith("minigrad compile: ") and message in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1


def test_fold_false_names_the_constants_and_computes_the_same():
    net, inputs, desired = example_network((2, 2, 2), alpha=2.0, seed=1)
    twin, _, _ = example_network((2, 2, 2), alpha=2.0, seed=1)
    folded, kept = mg.compile(net.loss), mg.compile(twin.loss, fold=False)
    folded(inputs, desired)
    kept(inputs, desired)
    assert "alpha = 2.0" in kept.source and "dSSE_dSSE" in kept.source
    assert "alpha" not in folded.source.split("def forward_backward")[1].split("def replay")[0].replace(
        "α", "").replace("alpha *", "").replace("alpha=", "")
    for a, b in zip(net.parameters(), twin.parameters()):
        assert np.array_equal(a.grad, b.grad)


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# compile(..., optimizer=): the optimizer's step taken by each call
# ---------------------------------------------------------------------------


def eager_and_fused(optimizer_for, dtype=np.float64, net_for=None):
    """Two equal nets: one trained eagerly, one by a step compiled with its optimizer."""
    net_for = net_for or (lambda: MLP([3, 4, 2], seed=2, dtype=dtype))
    nets = [net_for() for _ in range(2)]
    optimizers = [optimizer_for(net) for net in nets]
    return nets, optimizers, mg.compile(nets[1].loss, optimizer=optimizers[1])


def train_both(nets, optimizers, step, inputs, desired, steps=20, between=None):
    """Train nets[0] eagerly and nets[1] by ``step``, which takes the optimizer's step itself
    when it was compiled with one."""
    for number in range(steps):
        if between is not None:
            between(number)
        for net, opt, compiled in zip(nets, optimizers, (False, True)):
            opt.zero_grad()
            if compiled:
                loss = step(inputs, desired)
            else:
                loss = net.loss(inputs, desired)
                loss.backward()
            if not compiled or step.optimizer is None:
                opt.step()
            assert all(p.grad is not None for p in net.parameters())
    return loss


def assert_same_parameters(nets):
    for (name, a), (_, b) in zip(nets[0].named_parameters(), nets[1].named_parameters()):
        assert type(a.data) is type(b.data) and np.shape(a.data) == np.shape(b.data), name
        assert np.asarray(a.data).dtype == np.asarray(b.data).dtype, name
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
        np.testing.assert_array_equal(a.grad, b.grad, err_msg=f"{name}.grad")


@pytest.mark.parametrize("optimizer", [SGD, Adam])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_twenty_steps_compiled_give_eagers_weights(optimizer, dtype):
    """The optimizer's step taken after each compiled call, as after loss.backward()."""
    rng = np.random.default_rng(0)
    inputs, desired = rng.random((8, 3)), (rng.random((8, 2)) > 0.5).astype(float)
    nets = [MLP([3, 4, 2], seed=2, dtype=dtype) for _ in range(2)]
    optimizers = [optimizer(net, lr=0.3 if optimizer is SGD else 0.05) for net in nets]
    step = mg.compile(nets[1].loss)
    train_both(nets, optimizers, step, inputs, desired)
    assert step.traces == 1
    assert_same_parameters(nets)
    assert all(a.data.dtype == dtype for a in nets[1].parameters())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_step_compiled_with_sgd_gives_eagers_weights_bit_for_bit(dtype):
    rng = np.random.default_rng(0)
    inputs, desired = rng.random((8, 3)).astype(dtype), (rng.random((8, 2)) > 0.5).astype(dtype)
    nets, optimizers, step = eager_and_fused(lambda net: SGD(net, lr=0.3), dtype)
    train_both(nets, optimizers, step, inputs, desired)
    assert step.traces == 1
    assert "p ← p − lr·.grad" in step.source
    assert optimizers[0].steps == optimizers[1].steps == 20
    assert_same_parameters(nets)


def test_a_changed_learning_rate_and_momentum_are_followed_call_by_call():
    rng = np.random.default_rng(1)
    inputs, desired = rng.random((8, 3)), (rng.random((8, 2)) > 0.5).astype(float)
    nets, optimizers, step = eager_and_fused(lambda net: SGD(net, lr=0.5), np.float32)

    def schedule(number):
        for opt in optimizers:
            opt.lr = 0.5 / (1 + number)  # a decaying learning rate
            opt.momentum = 0.9 if 8 <= number < 14 else 0.0  # momentum for a while: SGD's own step
    train_both(nets, optimizers, step, inputs, desired, between=schedule)
    assert step.traces == 1
    assert_same_parameters(nets)


def test_adam_and_parameters_the_function_does_not_reach_run_the_optimizers_own_step():
    rng = np.random.default_rng(2)
    inputs, desired = rng.random((8, 3)), (rng.random((8, 2)) > 0.5).astype(float)
    nets, optimizers, step = eager_and_fused(lambda net: Adam(net, lr=0.05))
    train_both(nets, optimizers, step, inputs, desired)
    assert "OPTIMIZER.step()" in step.source
    assert_same_parameters(nets)
    # an SGD that also holds a Value the loss never reaches: SGD's own step (which skips it)
    nets = [MLP([3, 4, 2], seed=3) for _ in range(2)]
    extras = [mg.Value(np.ones(3), name="extra") for _ in range(2)]
    optimizers = [SGD(net.parameters() + [extra], lr=0.2) for net, extra in zip(nets, extras)]
    step = mg.compile(nets[1].loss, optimizer=optimizers[1])
    train_both(nets, optimizers, step, inputs, desired, steps=5)
    assert "OPTIMIZER.step()" in step.source and "lr·.grad" not in step.source
    assert_same_parameters(nets)
    np.testing.assert_array_equal(extras[1].data, np.ones(3))


def test_a_scalar_network_and_zero_d_parameters_keep_their_kinds_under_the_fused_step():
    data = mg.datasets.xor()
    nets = [example_network(scalar=True, seed=5)[0] for _ in range(2)]
    optimizers = [SGD(net, lr=0.5) for net in nets]
    # floats as arguments (not lists): the replay, with the update written out, runs
    step = mg.compile(lambda x0, x1, d0, d1: mg.sse([d0, d1], nets[1]([x0, x1])), optimizer=optimizers[1])
    assert len(nets[1].parameters()) <= 16  # written out; more run SGD's own step
    for number in range(10):
        x0, x1 = data.inputs[number % 4].tolist()
        d0, d1 = data.targets[number % 4].tolist()
        for net, opt, compiled in zip(nets, optimizers, (False, True)):
            opt.zero_grad()
            if compiled:
                step(x0, x1, d0, d1)
            else:
                mg.sse([d0, d1], net([x0, x1])).backward()
                opt.step()
    assert "- lr * " in step.source
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        assert type(a.data) is type(b.data) is float and a.data == b.data
    scale = [mg.Value(np.array(0.5), name="scale") for _ in range(2)]
    optimizers = [SGD([value], lr=0.1) for value in scale]
    step = mg.compile(lambda x: (scale[1] * x).sigmoid().sum(), optimizer=optimizers[1])
    x = np.array([0.5, -1.0, 2.0])
    for _ in range(4):
        for value, opt, compiled in zip(scale, optimizers, (False, True)):
            opt.zero_grad()
            if compiled:
                step(x)
            else:
                (value * x).sigmoid().sum().backward()
                opt.step()
    assert type(scale[1].data) is np.ndarray and scale[1].data.ndim == 0
    assert scale[0].data == scale[1].data


def test_the_fused_step_stamps_the_parameters_so_old_graphs_are_stale():
    net = MLP([2, 3, 1], seed=0)
    optimizer = SGD(net, lr=0.1)
    step = mg.compile(net.loss, optimizer=optimizer)
    inputs, desired = np.ones((2, 2)), np.ones((2, 1))
    step(inputs, desired)  # traces (SGD's own step)
    old = net.loss(inputs, desired)
    step(inputs, desired)  # replays (the update in the generated code)
    with pytest.raises(mg.StaleGraphError, match="changed after"):
        old.backward()
    # and data assigned between calls is read, and checked against the trace
    weight = net.parameters()[0]
    weight.data = np.zeros_like(weight.data)
    optimizer.zero_grad()
    step(inputs, desired)
    expected = 0.0 - 0.1 * weight.grad
    np.testing.assert_array_equal(weight.data, expected)
    weight.data = np.zeros((5, 5))  # no longer fits the trace: traced again, then refused by matmul
    with pytest.raises(ValueError, match="matmul"):
        step(inputs, desired)


def test_the_fused_step_writes_the_weights_in_place_as_sgd_does():
    """Both write each array in place (the same object, new numbers, a new version), and an array the
    caller made read-only is replaced by a new one instead, by both."""
    rng = np.random.default_rng(4)
    inputs, desired = rng.random((4, 3)), rng.random((4, 2))
    nets, optimizers, step = eager_and_fused(lambda net: SGD(net, lr=0.3))
    arrays = [[p.data for p in net.parameters()] for net in nets]
    train_both(nets, optimizers, step, inputs, desired, steps=3)
    for net, held in zip(nets, arrays):
        assert all(p.data is array for p, array in zip(net.parameters(), held))
    assert_same_parameters(nets)
    frozen = []
    for net in nets:  # made read-only in place, after a fused step stamped it: the stamp must not hide it
        array = net.parameters()[0].data
        array.setflags(write=False)
        frozen.append(array)
    train_both(nets, optimizers, step, inputs, desired, steps=2)
    for net, array in zip(nets, frozen):
        assert net.parameters()[0].data is not array and net.parameters()[0].data.flags.writeable
    assert_same_parameters(nets)


def test_views_and_assigned_arrays_are_not_changed_by_in_place_steps():
    """A step writes the parameter's own array: an array assigned to .data is copied first, and a
    view of the parameter detached (or made under no_grad()) is a copy, so a graph that used it
    keeps the numbers it was recorded with."""
    given = np.array([1.0, 2.0])
    a, b = mg.Value(np.zeros(2)), mg.Value(np.zeros(2))
    a.data = given
    b.data = given
    optimizer = SGD([a, b], lr=0.1)
    (a * 2.0).sum().backward()
    optimizer.step()
    np.testing.assert_array_equal(given, [1.0, 2.0])
    np.testing.assert_array_equal(b.data, [1.0, 2.0])
    np.testing.assert_array_equal(a.data, [0.8, 1.8])
    w = mg.Value(np.array([[1.0, 2.0], [3.0, 4.0]]), name="w")
    x = mg.Value(np.array([[5.0, 6.0], [7.0, 8.0]]), name="x")
    transposed = w.T.detach()
    with mg.no_grad():
        row = w[0]
    loss = (x * transposed).sum() + (x[1] * row).sum()
    optimizer = SGD([w], lr=0.5)
    (w * w).sum().backward()
    optimizer.step()  # w changes in place; transposed and row keep the numbers loss was recorded with
    loss.backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 3.0], [2.0 + 1.0, 4.0 + 2.0]])


def test_a_value_detached_from_a_parameter_follows_its_steps():
    """detach() shares the parameter's array, which a step writes in place: a graph that used the
    detached Value is stale after the step, as one that used the parameter is."""
    w = mg.Value(np.array([0.5, -1.0]), name="w")
    other = mg.Value(np.array([2.0, 3.0]), name="other")
    optimizer = SGD([w], lr=0.1)
    frozen = w.detach()
    loss = (other * frozen).sum()
    (w * w).sum().backward()
    optimizer.step()
    assert frozen.version == w.version > 0
    with pytest.raises(mg.StaleGraphError, match="changed after"):
        loss.backward()
    fresh = (other * w.detach()).sum()
    fresh.backward()
    np.testing.assert_array_equal(other.grad, w.data)


def test_two_threads_queued_on_one_fused_step_both_update_as_sgd_would():
    """Both threads finish forward and backward, then wait for backward's lock: each update
    starts from the weights the other left, as two calls of SGD.step() in turn would."""
    from minigrad.core.backward import _one_pass_at_a_time as gradient_lock

    def run(fused):
        weight = mg.Value(np.ones(3))
        unreached = [] if fused else [mg.Value(0.0)]  # a Value the loss never reaches: SGD's own step
        optimizer = SGD([weight] + unreached, lr=0.1)
        step = mg.compile(lambda x: mg.sse(np.zeros(3), x * weight), optimizer=optimizer)
        step(np.ones(3))  # traces; the calls below replay
        optimizer.zero_grad()
        weight.data = np.ones(3)
        gradient_lock.acquire()
        try:
            threads = [threading.Thread(target=step, args=(np.ones(3),)) for _ in range(2)]
            for thread in threads:
                thread.start()
            time.sleep(0.2)  # both compute their gradients, then wait for the lock
        finally:
            gradient_lock.release()
        for thread in threads:
            thread.join()
        return weight.data, optimizer.steps

    fused, own = run(True), run(False)
    assert fused[1] == own[1] == 3
    np.testing.assert_array_equal(fused[0], own[0])


def test_a_numpy_learning_rate_keeps_float_parameters_float():
    def run(compiled):
        w, b = mg.Value(0.3), mg.Value(-0.2)
        optimizer = SGD([w, b], lr=0.5)

        def loss(x, y):
            return mg.sse(y, (x * w + b).sigmoid())

        step = mg.compile(loss, optimizer=optimizer)
        for number in range(4):
            optimizer.lr = np.float64(0.5) * np.exp(-0.1 * number)  # a schedule computed with numpy
            optimizer.zero_grad()
            if compiled:
                step(0.7, 0.9)
            else:
                loss(0.7, 0.9).backward()
                optimizer.step()
        return w.data, b.data

    for eager, compiled in zip(run(False), run(True)):
        assert type(eager) is type(compiled) is float and eager == compiled


def test_a_fortran_order_parameter_keeps_its_layout_and_its_trace():
    rng = np.random.default_rng(1)
    inputs, desired = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    weights = []
    for _ in range(2):
        weight = mg.Value(np.zeros((4, 3)))
        weight.data = np.asfortranarray(rng.standard_normal((4, 3)) if not weights else weights[0].data)
        weights.append(weight)
    optimizers = [SGD([weight], lr=0.1) for weight in weights]
    step = mg.compile(lambda x, y: mg.sse(y, (x @ weights[1].T).sigmoid()), optimizer=optimizers[1])
    for _ in range(4):
        for weight, optimizer, compiled in zip(weights, optimizers, (False, True)):
            optimizer.zero_grad()
            if compiled:
                step(inputs, desired)
            else:
                mg.sse(desired, (inputs @ weight.T).sigmoid()).backward()
                optimizer.step()
    assert step.traces == 1
    assert weights[1].data.flags.f_contiguous and weights[0].data.flags.f_contiguous
    np.testing.assert_array_equal(weights[0].data, weights[1].data)


def test_compile_refuses_an_optimizer_that_is_not_one():
    net = MLP([2, 2, 1], seed=0)
    with pytest.raises(TypeError, match="optimizer must be a minigrad.optim.Optimizer"):
        mg.compile(net.loss, optimizer="sgd")
    with pytest.raises(TypeError, match="optimizer must be"):
        mg.compile(optimizer=net.parameters())(net.loss)


def test_check_true_with_an_optimizer_checks_the_gradients_then_steps():
    """check=True runs eager beside every call (so the replay is not used), then SGD's own step."""
    rng = np.random.default_rng(3)
    inputs, desired = rng.random((4, 3)), rng.random((4, 2))
    nets = [MLP([3, 4, 2], seed=2) for _ in range(2)]
    optimizers = [SGD(net, lr=0.3) for net in nets]
    step = mg.compile(nets[1].loss, optimizer=optimizers[1], check=True)
    train_both(nets, optimizers, step, inputs, desired, steps=3)
    assert_same_parameters(nets)


@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_twenty_steps_on_the_other_losses_compiled_give_eagers_weights(loss, dtype):
    """Softmax cross-entropy of a linear-output (and relu) net, and the MSE, with Adam."""
    rng = np.random.default_rng(1)
    inputs = rng.random((8, 3))
    labels = rng.integers(0, 3, 8)
    desired = np.eye(3)[labels]
    nets = [MLP([3, 5, 3], seed=2, dtype=dtype, activation="relu", output="linear") for _ in range(2)]
    optimizers = [Adam(net, lr=0.05) for net in nets]

    def batch_loss(net, x, targets):
        outputs = net(x)
        if loss == "mse":
            return mg.mse(targets, outputs)
        return mg.cross_entropy(outputs, targets) + 0.01 * outputs.abs().max()  # abs, max: more new ops

    step = mg.compile(lambda x, targets: batch_loss(nets[1], x, targets))
    for _ in range(20):
        for net, opt, compiled in zip(nets, optimizers, (False, True)):
            opt.zero_grad()
            if compiled:
                step(inputs, desired)
            else:
                batch_loss(net, inputs, desired).backward()
            opt.step()
    assert step.traces == 1
    for (name, a), (_, b) in zip(nets[0].named_parameters(), nets[1].named_parameters()):
        assert a.data.dtype == b.data.dtype == dtype
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


@pytest.mark.parametrize("scalar", [False, True], ids=["tensor", "scalar"])
@pytest.mark.parametrize("mode", ["online", "batch"])
def test_train_with_compile_gives_eagers_weights(scalar, mode):
    data = mg.datasets.xor()
    nets = [example_network(scalar=scalar, seed=4)[0] for _ in range(2)]
    results = [mg.train(net, data.inputs, data.targets, mode=mode, max_iterations=60, epochs=8, batch_size=3,
                        threshold=None, quiet=True, compile=compiled) for net, compiled in zip(nets, (False, True))]
    assert results[0].history == results[1].history
    for a, b in zip(nets[0].state_dict().values(), nets[1].state_dict().values()):
        np.testing.assert_array_equal(a, b)


def test_train_refuses_a_compile_flag_that_is_not_a_boolean():
    data = mg.datasets.xor()
    with pytest.raises(TypeError, match="compile must be True or False"):
        mg.train(example_network()[0], data.inputs, data.targets, compile="yes")


def test_a_float32_model_fed_float64_arrays_keeps_eagers_float32_numbers():
    """Eager mode casts a float64 array meeting a float32 Value to float32; so does the trace."""
    rng = np.random.default_rng(1)
    inputs, desired = rng.random((5, 2)), rng.random((5, 2))
    nets = [MLP([2, 3, 2], seed=0, dtype=np.float32) for _ in range(2)]
    eager = nets[0].loss(inputs, desired)
    eager.backward()
    loss = mg.compile(nets[1].loss)(inputs, desired)
    assert loss.data.dtype == eager.data.dtype == np.float32
    assert loss.data == eager.data
    for a, b in zip(nets[0].parameters(), nets[1].parameters()):
        assert b.grad.dtype == np.float32 and np.array_equal(a.grad, b.grad)


# ---------------------------------------------------------------------------
# Gradients: accumulation, handing over, kinds
# ---------------------------------------------------------------------------


def test_gradients_accumulate_across_calls_as_backward_does():
    eager_net, inputs, desired = example_network(seed=2)
    net, _, _ = example_network(seed=2)
    step = mg.compile(net.loss)
    for _ in range(3):
        eager_net.loss(inputs, desired).backward()
        step(inputs, desired)
    for a, b in zip(eager_net.parameters(), net.parameters()):
        assert np.array_equal(a.grad, b.grad)


def test_gradients_the_caller_holds_are_never_overwritten():
    net, inputs, desired = example_network(seed=2)
    step = mg.compile(net.loss)
    step(inputs, desired)
    held = net.v.grad
    kept = held.copy()
    losses = [step(inputs, desired)]
    net.zero_grad()
    losses.append(step(inputs * 0.5, desired))
    assert net.v.grad is not held and np.array_equal(held, kept)
    assert losses[0].data is not losses[1].data and losses[0].data != losses[1].data


def test_the_returned_loss_is_a_value_whose_backward_has_already_run():
    net, inputs, desired = example_network()
    loss = mg.compile(net.loss)(inputs, desired)
    assert isinstance(loss, mg.Value) and not loss.requires_grad and loss.name == "SSE"
    assert type(loss.data) is np.ndarray and loss.data.shape == ()
    with pytest.raises(RuntimeError, match="does not require grad"):
        loss.backward()


def test_floats_stay_floats_and_zero_d_arrays_stay_arrays():
    x, y = mg.Value(0.5), mg.Value(np.array(2.0))
    step = mg.compile(lambda: (x * y).sigmoid() + x.tanh())
    loss = step()
    eager = (x.detach() * y.detach()).sigmoid()  # no gradient, only the kind of the loss
    assert type(x.grad) is float and type(y.grad) is np.ndarray and y.grad.shape == ()
    assert type(loss.data) is type(eager.data) is np.ndarray


def test_a_value_argument_that_requires_grad_gets_its_gradient():
    w = mg.Value(np.array([[0.5, -1.0], [2.0, 0.25]]), name="w")
    x = mg.Value(np.array([1.0, 3.0]), name="x")
    step = mg.compile(lambda x: (x @ w).tanh().sum())
    step(x)
    eager_x, eager_w = mg.Value(x.data), mg.Value(w.data)
    (eager_x @ eager_w).tanh().sum().backward()
    assert np.array_equal(x.grad, eager_x.grad) and np.array_equal(w.grad, eager_w.grad)
    frozen = mg.Value(np.array([1.0, 3.0]), requires_grad=False)
    step(frozen)  # a new signature: this argument needs no gradient
    assert frozen.grad is None and step.traces == 2


# ---------------------------------------------------------------------------
# What a trace specializes on
# ---------------------------------------------------------------------------


def test_a_new_shape_or_dtype_traces_again_and_the_cache_is_bounded():
    net = MLP([2, 3, 1], seed=0)
    step = mg.compile(net.loss, cache_size=2)
    step(np.ones(2), np.ones(1))
    step(np.ones(2), np.ones(1))
    assert step.traces == 1
    step(np.ones((4, 2)), np.ones((4, 1)))
    with pytest.warns(RuntimeWarning, match="traced 3 times, more than its cache holds"):
        step(np.ones((4, 2), dtype=np.float32), np.ones((4, 1)))  # a new dtype: a third trace, one evicted
    assert step.traces == 3 and "2 trace(s) cached" in repr(step)
    step(np.ones(2), np.ones(1))  # the evicted one: traced again
    assert step.traces == 4


def test_ints_are_specialized_on_by_value():
    w = mg.Value(np.array([1.0, 2.0]))
    step = mg.compile(lambda power: (w ** power).sum())
    step(2)
    step(2)
    step(3)
    assert step.traces == 2
    assert np.array_equal(w.grad, 2 * (2 * w.data) + 3 * w.data ** 2)


def test_a_parameter_whose_data_changes_kind_or_shape_is_traced_again():
    w = mg.Value(np.array([1.0, 2.0]))
    step = mg.compile(lambda: (w * w).sum())
    step()
    w.data = np.array([1.0, 2.0, 3.0])  # a new shape
    w.grad = None
    step()
    assert step.traces == 2 and np.array_equal(w.grad, [2.0, 4.0, 6.0])
    w.data, w.grad = np.array([1.0, 2.0, 3.0], dtype=np.float32), None
    step()
    assert step.traces == 3 and w.grad.dtype == np.float32


def test_parameter_assignments_are_seen_and_clear_forgets_replaced_parameters():
    net, inputs, desired = example_network(seed=1)
    step = mg.compile(lambda I, D: net.loss(I, D))
    first = step(inputs, desired).data
    net.v.data = net.v.data * 2.0  # what an optimizer does: seen by the next call
    assert step(inputs, desired).data != first
    old = net.v
    net.v = mg.Value(old.data.copy(), name="v")  # a new Value: the trace still holds the old one
    step.clear()
    net.zero_grad()
    step(inputs, desired)
    assert net.v.grad is not None and old.grad is not None


def test_a_constant_value_the_caller_keeps_is_read_on_every_call():
    scale = mg.Value(2.0, requires_grad=False)
    w = mg.Value(np.array([1.0, -1.0]))
    step = mg.compile(lambda: (w * scale).sum())
    step()
    scale.data = 3.0
    w.grad = None
    step()
    assert np.array_equal(w.grad, [3.0, 3.0])


# ---------------------------------------------------------------------------
# Python control flow on traced numbers is refused, naming the line
# ---------------------------------------------------------------------------

W = mg.Value(np.array([0.5, -0.25]), name="W")


def branch(x):
    total = (x * W).sum()
    if total > 0:  # refused
        return total
    return -total


def to_float(x):
    total = (x * W).sum()
    return total * float(total)  # refused


def truth(x):
    total = (x * W).sum()
    return total if total else -total  # refused


def item(x):
    return (x * W).sum() * (x * W).sum().item()  # refused


def to_numpy(x):
    return (x * W).sum() * float((x * W).numpy().sum())  # refused


def inside_no_grad(x):
    with mg.no_grad():  # refused
        scale = (x * W).sum()
    return (x * W).sum() * scale


@pytest.mark.parametrize("function, what", [(branch, "comparison"), (to_float, "float()"), (truth, "bool()"),
                                            (item, "item()"), (to_numpy, "numpy()"), (inside_no_grad, "no_grad()")])
def test_control_flow_on_traced_numbers_is_refused_naming_the_line(function, what):
    with pytest.raises(mg.TracingError) as caught:
        mg.compile(function)(np.array([1.0, 2.0]))
    message = str(caught.value)
    assert what in message and f"(in {function.__name__})" in message
    line = int(re.search(rf"{re.escape(Path(__file__).name)}:(\d+)", message).group(1))
    assert Path(__file__).read_text(encoding="utf-8").splitlines()[line - 1].endswith("# refused")


def test_the_same_checks_on_values_outside_the_trace_are_allowed():
    threshold = mg.Value(0.5, requires_grad=False)  # no gradient: not part of what is traced

    def function(x):
        scale = 2.0 if threshold > 0 else 1.0
        return (x * W).sum() * scale

    assert mg.compile(function)(np.array([1.0, 2.0])).data == 0.0
    assert list(W > 0.0) == [True, False] and float(W.sum()) == 0.25  # outside a trace nothing is refused


def test_reading_data_of_a_traced_value_inside_the_function_is_refused():
    def detached(x):
        return ((x * W) * W.detach()).sum()

    with pytest.raises(mg.TracingError, match="holds the numbers of a traced Value"):
        mg.compile(detached)(np.array([1.0, 2.0]))


def test_check_true_catches_numbers_frozen_by_a_trace():
    w = mg.Value(np.array([1.0, 2.0]), name="w")
    step = mg.compile(lambda: (w * float(np.sum(w.data))).sum(), check=True)  # .data read: frozen at the trace
    step()
    w.data = np.array([3.0, 4.0])
    with pytest.raises(mg.CompileCheckError, match="the loss is .* compiled but .* eager"):
        step()
    assert np.array_equal(w.grad, [3.0, 3.0])  # the failed call changed no gradient


def test_check_true_passes_on_a_faithful_step_and_leaves_eagers_gradients_out():
    net, inputs, desired = example_network(seed=5)
    step = mg.compile(net.loss, check=True)
    step(inputs, desired)
    step(inputs, desired)
    twin, _, _ = example_network(seed=5)
    for _ in range(2):
        twin.loss(inputs, desired).backward()
    for a, b in zip(net.parameters(), twin.parameters()):
        assert np.array_equal(a.grad, b.grad)


def test_bad_functions_and_arguments_are_clear_errors():
    w = mg.Value(np.array([1.0, 2.0]))
    with pytest.raises(mg.CompileError, match="must return a one-element Value"):
        mg.compile(lambda: w.data.sum())()
    with pytest.raises(mg.CompileError, match="got shape \\(2,\\)"):
        mg.compile(lambda: w * 2.0)()
    with pytest.raises(mg.CompileError, match="nothing to differentiate"):
        mg.compile(lambda x: (x * 2.0).sum())(np.ones(2))
    with pytest.raises(mg.CompileError, match="an argument of type dict"):
        mg.compile(lambda d: (w * d["a"]).sum())({"a": 1.0})
    with pytest.raises(TypeError, match="expected a function"):
        mg.compile(3)
    with pytest.raises(ValueError, match="cache_size must be a positive integer"):
        mg.compile(lambda: w.sum(), cache_size=0)
    with pytest.raises(RuntimeError, match="has not been called yet"):
        mg.compile(lambda: w.sum()).source
    inner = mg.compile(lambda: (w * w).sum())
    with pytest.raises(mg.TracingError, match="called inside a function being traced"):
        mg.compile(lambda: inner() * 2.0)()


def test_a_compiled_method_binds_like_a_method():
    class Model(mg.nn.Module):
        def __init__(self, scale):
            self.w = mg.Value(np.array([1.0, 2.0]) * scale, name="w")

        @mg.compile
        def loss(self, x):
            return (self.w * x).sum()

    a, b = Model(1.0), Model(3.0)
    assert a.loss(np.ones(2)).data == 3.0 and b.loss(np.full(2, 2.0)).data == 18.0
    assert np.array_equal(a.w.grad, [1.0, 1.0]) and np.array_equal(b.w.grad, [2.0, 2.0])
    assert Model.loss.traces == 2  # one trace per instance: the instance is an argument


def test_lists_of_numbers_are_traced_entry_by_entry():
    net, inputs, desired = example_network(scalar=True, seed=2)
    step = mg.compile(lambda I, Desired: mg.sse(list(Desired), net(list(I))))
    step(list(inputs), list(desired))
    step([0.25, 0.75], list(desired))  # new numbers, the same trace
    assert step.traces == 1
    assert "I_0" in step.source and "Desired_1" in step.source


# ---------------------------------------------------------------------------
# Threads and memory
# ---------------------------------------------------------------------------


def test_threads_each_running_their_own_compiled_step():
    def train(seed, out):
        rng = np.random.default_rng(seed)
        inputs, desired = rng.random((6, 2)), rng.random((6, 1))
        net = MLP([2, 3, 1], seed=seed)
        opt, step = SGD(net, lr=0.5), mg.compile(net.loss)
        for _ in range(200):
            opt.zero_grad()
            step(inputs, desired)
            opt.step()
        out[seed] = [p.data.copy() for p in net.parameters()]

    together, alone = {}, {}
    threads = [threading.Thread(target=train, args=(seed, together)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for seed in range(4):
        train(seed, alone)
        for a, b in zip(together[seed], alone[seed]):
            np.testing.assert_array_equal(a, b)


def test_one_compiled_step_shared_by_threads_adds_every_gradient_exactly_once():
    net, inputs, desired = example_network(seed=6)
    step = mg.compile(net.loss)
    step(inputs, desired)
    net.zero_grad()
    calls = 50

    def work():
        for _ in range(calls):
            step(inputs, desired)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    single, _, _ = example_network(seed=6)
    single.loss(inputs, desired).backward()
    for a, b in zip(net.parameters(), single.parameters()):
        np.testing.assert_allclose(a.grad, 4 * calls * b.grad, rtol=1e-12)


def resident_mib():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads RSS from Linux /proc")
def test_memory_stays_flat_over_thousands_of_compiled_steps():
    rng = np.random.default_rng(0)
    inputs, desired = rng.random((32, 64)), (rng.random((32, 10)) > 0.5).astype(float)
    net = MLP([64, 32, 10], init="scaled", seed=0)
    opt, step = SGD(net, lr=0.1), mg.compile(net.loss)

    def steps(count):
        for _ in range(count):
            opt.zero_grad()
            step(inputs, desired)
            opt.step()

    steps(500)
    before = resident_mib()
    steps(3000)
    assert resident_mib() - before < 2.0
    assert step.traces == 1


def test_generated_code_is_shown_in_tracebacks():
    x = mg.Value(np.array([1.0, 2.0]))
    step = mg.compile(lambda: (x * x).sum())
    step()
    assert re.search(r"<minigrad.compile <lambda> #\d+>", step.latest.function.__code__.co_filename)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step()  # the replay warns about nothing eager mode would not


def test_a_float_argument_equal_to_a_literal_in_the_function_is_not_taken_for_baked_data():
    # Python shares equal float constants within a module: y below may be the very object 1.0.
    step = mg.compile(lambda x, y: x * x + 1.0 + y)
    x = mg.Value(3.0)
    loss = step(x, 1.0)
    assert loss.data == 11.0 and x.grad == 6.0


def test_a_value_computed_outside_the_function_with_options_is_refused_not_miscompiled():
    w = mg.Value([0.5, -1.0, 2.0], name="w")
    outside = w.sigmoid(alpha=3.0)  # recorded before the trace: its options are not the trace's to see
    with pytest.raises(mg.CompileError, match="op 'sigmoid' does not give again what the graph recorded"):
        mg.compile(lambda x: (outside * x).sum())(np.ones(3))
    step = mg.compile(lambda x: (w.sigmoid(alpha=3.0) * x).sum())  # computed inside: fine, and eager's numbers
    loss = step(np.ones(3))
    compiled, w.grad = w.grad, None
    eager = (w.sigmoid(alpha=3.0) * np.ones(3)).sum()
    eager.backward()
    assert float(loss.data) == float(eager.data) and compiled.tobytes() == w.grad.tobytes()


def test_a_users_rule_may_ask_numpy_for_shapes_and_sizes():
    from minigrad.core.ops import Op

    class MeanOfAll(Op):
        """out = a / size(a), elementwise: np.size is a fact of the shape, known at the trace."""

        name, formula, partials = "mean_of_all", "a / n", ("1/n",)

        def forward(self, a):
            return a / np.size(a), None

        def backward(self, grad, out, saved, needs, a):
            return (np.reshape(grad, np.shape(a)) / np.size(a),)

    w = mg.Value(np.arange(6.0).reshape(2, 3) / 7.0, name="w")
    step = mg.compile(lambda x: (mg.apply(MeanOfAll(), w * x) ** 2).sum())
    loss = step(np.full((2, 3), 1.5))
    compiled, w.grad = w.grad, None
    eager = (mg.apply(MeanOfAll(), w * np.full((2, 3), 1.5)) ** 2).sum()
    eager.backward()
    assert float(loss.data) == float(eager.data) and compiled.tobytes() == w.grad.tobytes()
    np.testing.assert_allclose(compiled, 2 * (w.data * 1.5 / 6) * 1.5 / 6, rtol=1e-14)  # d/dw Σ (1.5w/6)²


@pytest.mark.parametrize("dtype, low", [(np.float64, -800.0), (np.float32, -95.0)])
def test_a_sigmoid_below_the_overflow_floor_replays_through_the_helper_bit_for_bit(dtype, low):
    # The generated code calls sigmoid_parts' common case, sigmoid_parts_into, with its buffers; an x
    # at or below the floor (exp(−x) would overflow) takes the helper's other branch, with no retrace.
    rng = np.random.default_rng(3)
    w = mg.Value(rng.normal(size=(3, 4)).astype(dtype))
    bias = mg.Value(rng.normal(size=4).astype(dtype))

    def loss(x, desired):
        return mg.sse(desired, (x @ w + bias).sigmoid())

    step = mg.compile(loss)
    desired = rng.random((5, 4)).astype(dtype)
    x = rng.normal(size=(5, 3)).astype(dtype)
    step(x, desired)
    assert re.search(r"= sigmoid_parts_into\(\w+, buf\d+, buf\d+, mask\d+, FLOOR(64|32), ONE(64|32)\)",
                     step.latest.source)
    for inputs in (x, np.full((5, 3), low, dtype=dtype), np.where(np.arange(15).reshape(5, 3) % 2, low, 1.0)):
        inputs = inputs.astype(dtype)
        w.grad = bias.grad = None
        compiled = step(inputs, desired)
        compiled_grads = (w.grad.copy(), bias.grad.copy())
        w.grad = bias.grad = None
        eager = loss(inputs, desired)
        eager.backward()
        assert compiled.data.tobytes() == eager.data.tobytes()
        assert compiled_grads[0].tobytes() == w.grad.tobytes() and compiled_grads[1].tobytes() == bias.grad.tobytes()
    assert step.traces == 1


def test_the_sse_writes_the_minus_e_it_saves_and_no_negation():
    I, Desired = np.array([0.3, 0.9]), np.array([1.0, 0.0])
    v = mg.Value(np.array([[0.5, -0.2], [0.1, 0.4]]))

    def loss(inputs, desired):
        return mg.sse(desired, (inputs @ v).sigmoid())

    step = mg.compile(loss)
    step(I, Desired)
    source = step.latest.source
    assert "minus_E = subtract(" in source
    backward = source.split("# -- backward")[1].split("def replay")[0]
    assert "negative(" not in backward
    assert "slope_" in backward and "e_r_" in backward and "multiply_" not in backward


def test_a_float_sigmoid_written_out_gives_the_helpers_bits_at_the_extremes():
    w = mg.Value(0.75)

    def loss(x):
        return ((w * x).sigmoid() - 0.25) ** 2

    step = mg.compile(loss)
    for x in (0.3, -800.0, 800.0, 0.0, -0.0, -40.0, 1e-300):
        w.grad = None
        compiled = step(x)
        compiled_grad = w.grad
        w.grad = None
        eager = loss(x)
        eager.backward()
        assert (compiled.item(), compiled_grad) == (eager.item(), w.grad) or np.isnan(eager.item())
        assert np.copysign(1.0, compiled_grad) == np.copysign(1.0, w.grad)
    assert "math.exp(-abs(" in step.latest.source and "sigmoid_parts(" not in step.latest.source.split("def replay")[0]


@pytest.mark.parametrize("function, traced_at, called_at", [
    (lambda x: x.relu(), 2.0, -3.0),                   # relu's float branch hands back x when x > 0
    (lambda x: x.clip(None, 0.25), 0.0, 0.5),          # clip hands back x inside its bounds
    (lambda x: x.clip(-0.25, None), 0.0, -0.5),
    (lambda x: x ** mg.Value(2.0, name="b"), 3.0, 0.0),  # pow's ∂/∂b: ln(a), with a = 0 made 1 (one_where_zero)
])
def test_a_float_helper_that_hands_back_its_argument_for_some_values_is_still_called(function, traced_at,
                                                                                     called_at):
    # A helper that returned its very argument at the trace (relu(2.0) is the float 2.0 itself) was
    # taken for no call at all, so a later call outside that range gave the wrong loss and gradient.
    p = mg.Value(1.5, name="p")
    step = mg.compile(lambda x: function(x) * p)
    x = mg.Value(traced_at, requires_grad=True)
    step(x)
    x, p.grad = mg.Value(called_at, requires_grad=True), None
    loss = step(x)
    compiled = (loss.data, x.grad, p.grad)
    x_eager, p.grad = mg.Value(called_at, requires_grad=True), None
    eager_loss = function(x_eager) * p
    eager_loss.backward()
    assert compiled == (eager_loss.data, x_eager.grad, p.grad)
    inner = function(mg.Value(called_at)).data
    assert compiled[0] == inner * 1.5 and compiled[2] == inner  # ∂(f(x)·p)/∂p = f(x)


def test_a_value_named_as_a_ufunc_the_module_imports_takes_another_name():
    """The generated module imports numpy's common ufuncs by name (``reciprocal``, for the sigmoid's
    common case): a Value called so is renamed there, and the step gives σ and σ(1 − σ)."""
    w = mg.Value(np.array([0.5, -1.0, 2.0]), name="reciprocal")
    step = mg.compile(lambda: w.sigmoid().sum())
    sigma = 1.0 / (1.0 + np.exp(-w.data))
    for _ in range(2):  # the trace, then the replay
        w.grad = None
        assert step().data == pytest.approx(sigma.sum(), rel=1e-15)
        np.testing.assert_allclose(w.grad, sigma * (1.0 - sigma), rtol=1e-14)
    assert "def forward_backward(reciprocal__2):" in step.source
