"""What a recorded graph promises: it is refused once its inputs change, a
constant array cannot change a gradient behind its back, concurrent passes
over shared nodes add up exactly, and 0-d arrays stay 0-d arrays."""

import sys
import threading

import numpy as np
import pytest

import minigrad as mg
from hypothesis import HealthCheck, given, settings
from minigrad.optim import SGD, Adam
from strategies import make_leaves, programs, run


# ---------------------------------------------------------------------------
# Stale graphs
# ---------------------------------------------------------------------------


def test_backward_after_an_optimizer_step_is_refused_naming_the_value_and_the_op():
    w = mg.Value([1.0, 2.0], name="w")
    x = np.array([3.0, 4.0])
    loss = ((w * x) * w).sum()
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(w.grad, 2 * x * np.array([1.0, 2.0]))   # ∂(x w²)/∂w = 2 x w
    SGD([w], lr=0.1).step()
    before = w.grad.copy()
    with pytest.raises(mg.StaleGraphError, match=r"the Value 'w' \(a leaf\) was changed after op 'mul' recorded it"):
        loss.backward()
    np.testing.assert_array_equal(w.grad, before)   # nothing half-added


@pytest.mark.parametrize("change", ["assign", "augmented", "assign a float"])
def test_every_assignment_to_data_makes_the_graph_stale(change):
    w = mg.Value(np.array([1.0, -2.0]), name="w")
    loss = (w.tanh() * w).sum()
    if change == "assign":
        w.data = np.array([5.0, 6.0])
    elif change == "augmented":
        w.data -= 0.5            # the setter runs: numpy's in-place subtract, then assignment
    else:
        w.data = w.data * 0.0 + 1.0
    with pytest.raises(mg.StaleGraphError, match="'w'"):
        loss.backward()


def test_a_changed_intermediate_or_root_is_refused_too():
    w = mg.Value(2.0, name="w")
    hidden = w * 3.0
    hidden.name = "hidden"
    loss = hidden * hidden
    hidden.data = 10.0
    with pytest.raises(mg.StaleGraphError, match=r"'hidden' \(a result of op 'mul'\).*op 'mul'"):
        loss.backward()
    root = (w * w).exp()
    root.data = 1.0
    with pytest.raises(mg.StaleGraphError, match="the graph's root"):
        root.backward()


def test_a_graph_recorded_after_the_change_is_fine_and_versions_only_grow():
    w = mg.Value([1.0, 2.0], name="w")
    assert w.version == 0
    optimizer = SGD([w], lr=0.5)
    versions = []
    for _ in range(3):
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        np.testing.assert_allclose(w.grad, 2 * w.data, rtol=0, atol=0)
        optimizer.step()
        versions.append(w.version)
    assert versions == sorted(versions) and len(set(versions)) == 3 and versions[0] > 0


def test_a_constant_array_changed_after_recording_does_not_change_the_gradient():
    w = mg.Value([1.0, 1.0], name="w")
    x = np.array([3.0, 4.0])
    loss = (w * x).sum() + (x @ w)
    x[:] = 100.0                     # the user's own array, mutated in place
    loss.backward()
    np.testing.assert_array_equal(w.grad, [6.0, 8.0])
    batch = np.ones((2, 2))
    out = (mg.Value(np.eye(2), name="v") @ batch).sum()
    batch *= 7.0
    out.backward()                   # matmul's backward reads the constant: it kept a copy


# ---------------------------------------------------------------------------
# Threads
# ---------------------------------------------------------------------------


@pytest.fixture
def often_switching_threads():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def _run(threads):
    errors = []

    def guarded(function):
        def run():
            try:
                function()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
        return run

    workers = [threading.Thread(target=guarded(function)) for function in threads]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []


def test_threads_sharing_a_model_accumulate_every_contribution_exactly(often_switching_threads):
    net = mg.nn.MLP([3, 5, 2], seed=0)
    rng = np.random.default_rng(1)
    patterns = [(rng.random((4, 3)), rng.random((4, 2))) for _ in range(8)]
    expected = {name: np.zeros_like(value.data) for name, value in net.named_parameters()}
    for inputs, desired in patterns:
        net.zero_grad()
        net.loss(inputs, desired).backward()
        for name, value in net.named_parameters():
            expected[name] += value.grad
    net.zero_grad()

    def work(inputs, desired):
        def run():
            for _ in range(5):
                net.loss(inputs, desired).backward()
        return run

    _run([work(*pattern) for pattern in patterns])
    for name, value in net.named_parameters():
        np.testing.assert_allclose(value.grad, 5 * expected[name], rtol=1e-12, atol=1e-15, err_msg=name)


def test_threads_sharing_intermediate_nodes_and_scalar_leaves(often_switching_threads):
    w = mg.Value(0.3, name="w")
    shared = (w * 2.0).sigmoid()          # one intermediate node, used by every thread's loss
    slope = 2.0 * shared.data * (1.0 - shared.data)
    counts = [50, 70, 90, 110]

    def work(power, count):
        def run():
            for _ in range(count):
                (shared ** power).backward(retain_graph=True)  # `shared`'s graph serves every pass
        return run

    _run([work(float(k + 1), count) for k, count in enumerate(counts)])
    expected = sum(count * (k + 1) * shared.data ** k * slope for k, count in enumerate(counts))
    assert w.grad == pytest.approx(expected, rel=1e-12)


def test_separate_graphs_in_threads_give_each_its_own_exact_gradients(often_switching_threads):
    results = {}

    def work(seed):
        def run():
            net, inputs, desired = mg.nn.example_network([2, 3, 2], seed=seed)
            for _ in range(20):
                net.zero_grad()
                net.loss(inputs, desired).backward()
            results[seed] = (net, inputs, desired, {n: v.grad.copy() for n, v in net.named_parameters()})
        return run

    _run([work(seed) for seed in range(6)])
    for net, inputs, desired, grads in results.values():
        net.zero_grad()
        net.loss(inputs, desired).backward()
        for name, value in net.named_parameters():
            np.testing.assert_array_equal(grads[name], value.grad)


# ---------------------------------------------------------------------------
# 0-d arrays
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", [SGD, Adam])
def test_zero_d_arrays_stay_arrays_through_backward_and_optimizer_steps(dtype, optimizer):
    w = mg.Value(np.array(0.5, dtype=dtype), name="w")
    step = optimizer([w], lr=0.1)
    for _ in range(3):
        loss = (w * w * 3.0).exp()
        loss.backward(retain_graph=True)
        loss.backward()              # accumulates: grad + grad is still an array
        assert type(w.grad) is np.ndarray and w.grad.shape == () and w.grad.dtype == dtype
        assert type(loss.grad) is np.ndarray and loss.grad.shape == ()
        step.step()
        step.zero_grad()
        assert type(w.data) is np.ndarray and w.data.shape == () and w.data.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_zero_d_input_broadcast_against_an_array_gets_a_zero_d_array_gradient(dtype):
    # Regression: unbroadcast summed the (2,) gradient of a 0-d input into a numpy scalar.
    a = mg.Value(np.array(2.0, dtype=dtype))
    b = mg.Value(np.array([1.0, 3.0], dtype=dtype))
    middle = a * b
    (middle * a).sum().backward()
    assert type(a.grad) is np.ndarray and a.grad.shape == () and a.grad.dtype == dtype
    assert a.grad == 2 * 2.0 * (1.0 + 3.0)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(programs(dtypes=("float64", "float32", "mixed")))
def test_every_array_node_of_a_random_graph_gets_an_array_gradient(program):
    leaves = make_leaves(program)
    loss, _ = run(program, leaves)
    if not isinstance(loss, mg.Value) or not loss.requires_grad:
        return
    loss.backward()
    for node in mg.topological_order(loss):
        if node.requires_grad and type(node.data) is np.ndarray:
            assert type(node.grad) is np.ndarray and node.grad.shape == node.shape, (node.op, type(node.grad))
            assert node.grad.dtype == node.dtype
        elif node.requires_grad:
            assert type(node.grad) is float


def test_assigning_a_numpy_scalar_keeps_a_zero_d_value_an_array_and_a_float_a_float():
    array_value = mg.Value(np.array(1.0))
    array_value.data = np.float64(2.0)
    assert type(array_value.data) is np.ndarray and array_value.data.shape == ()
    float_value = mg.Value(1.0)
    float_value.data = np.float64(2.0)
    assert type(float_value.data) is float and float_value.data == 2.0


# ---------------------------------------------------------------------------
# backward() inside an op's backward, inside a trace; data that changes shape
# ---------------------------------------------------------------------------


class _SquareByInnerGradient(mg.Op):
    """out = a², whose backward asks minigrad for d(a²)/da on a graph of its own (a user op
    that needs an inner gradient): a backward pass inside a backward pass."""

    name, formula, partials = "square_by_inner_gradient", "a²", ("2·{a}",)

    def forward(self, a):
        return a * a, None

    def backward(self, grad, out, saved, needs, a):
        inner = mg.Value(a)
        (inner * inner).sum().backward()
        return (grad * inner.grad,)


def test_backward_inside_an_ops_backward_runs_instead_of_hanging():
    x = mg.Value(3.0)
    y = mg.apply(_SquareByInnerGradient(), x) * 5.0
    done = []
    worker = threading.Thread(target=lambda: (y.backward(), done.append(True)), daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert done == [True], "backward inside an op's backward hung (backward's lock is not re-entrant)"
    assert x.grad == 5.0 * 2 * 3.0


def test_backward_inside_an_ops_backward_is_exact_beside_other_threads():
    # Other threads still take turns with the whole outer pass: every contribution added once.
    w = mg.Value(np.array([1.0, -2.0, 0.5]))
    op = _SquareByInnerGradient()

    def work():
        for _ in range(50):
            mg.apply(op, w).sum().backward()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    np.testing.assert_array_equal(w.grad, 200 * 2 * np.array([1.0, -2.0, 0.5]))


def test_an_inner_backward_that_reaches_the_outer_graph_is_refused():
    x = mg.Value(np.array([1.0, 2.0]))
    h = x * 2.0

    class Meddling(_SquareByInnerGradient):
        name = "meddling"

        def backward(self, grad, out, saved, needs, a):
            h.backward(np.ones(h.shape))  # a node of the pass under way
            return (grad,)

    loss = mg.apply(Meddling(), h).sum()
    with pytest.raises(RuntimeError, match=r"inside another backward pass .* \(a result of op 'mul', shape \(2,\)\)"):
        loss.backward()
    assert x.grad is None   # the failed pass gave the leaf back what it held


def test_backward_inside_a_compiled_function_is_refused_naming_the_line():
    w = mg.Value(np.array([1.0, 2.0]))

    def step(x):
        loss = (w * x).sum()
        loss.backward()  # refused
        return loss

    compiled = mg.compile(step)
    with pytest.raises(mg.TracingError, match=r"backward\(\) inside a function being traced .*test_graph_semantics"):
        compiled(np.array([3.0, 4.0]))
    assert w.grad is None   # nothing was added, not even once


@pytest.mark.parametrize("new", [np.ones((2, 3)), np.ones(2), np.ones(3, dtype=np.float32), 1.0])
def test_data_of_a_new_shape_or_dtype_forgets_the_old_gradient(new):
    w = mg.Value(np.array([1.0, 2.0, 3.0]))
    (w * w).sum().backward()
    w.data = new
    assert w.grad is None
    (w * 1.0).sum().backward()
    np.testing.assert_array_equal(w.grad, np.ones_like(np.asarray(new)))   # all 1s: nothing stale broadcast in
    before = np.array(w.data, copy=True)
    SGD([w], lr=0.5).step()
    assert np.shape(w.data) == np.shape(new)   # the step keeps the new shape
    np.testing.assert_array_equal(w.data, before - 0.5)


def test_data_of_the_same_shape_keeps_the_gradient():
    w = mg.Value(np.array([1.0, 2.0, 3.0]))
    (w * w).sum().backward()
    w.data = np.array([0.0, 0.0, 0.0])
    np.testing.assert_array_equal(w.grad, [2.0, 4.0, 6.0])   # accumulation across assignments, as before


def _every_slot(value):
    return {slot: getattr(value, slot) for slot in mg.Value.__slots__ if slot != "__weakref__"}


def test_every_node_has_every_slot_set_by_the_one_initializer():
    made = mg.Value([1.0, 2.0], name="w")
    result = made * 2.0
    constant = result.parents[1]
    detached = made.detach()
    with mg.no_grad():
        untracked = made * 2.0
    with mg.detect_anomaly():
        watched = made * 3.0
    for node in (made, result, constant, detached, untracked, watched):
        slots = _every_slot(node)   # no AttributeError: nothing is set only sometimes
        assert slots["_version"] == 0 and slots["_mark"] == 0 and node.version == 0
    assert detached._source is made and result._source is None
    assert watched._origin and "test_graph_semantics" in watched._origin and result._origin is None
