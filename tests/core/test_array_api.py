"""The same Value on other Array API libraries (issue 22): array_api_strict (which refuses anything
outside the standard, and simulates devices and a float64-less backend) and PyTorch CPU tensors.

Every check runs the engine in the other library and compares with an independent answer: HIPS
autograd on the random graphs of tests/strategies.py, central differences (`minigrad.gradcheck`
through ``Value.to``), and minigrad's own numpy run for training, where both must agree to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings

import minigrad as mg
from minigrad.core import namespace
from strategies import evaluate, oracle_gradients, programs, run

xs = pytest.importorskip("array_api_strict", reason="array-api-strict is not installable here")
pytest.importorskip("array_api_compat", reason="array-api-compat is not installable here")
torch = pytest.importorskip("torch", reason="PyTorch is not installable here")

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                      HealthCheck.function_scoped_fixture])


class Space:
    """One library (and device) the tests run the engine in."""

    def __init__(self, name, library, make, device=None):
        self.name, self.library, self._make, self.device = name, library, make, device

    def __call__(self, array, dtype=np.float64):
        return self._make(np.array(array, dtype=dtype))

    def holds(self, data):
        """True when ``data`` is this library's array on this space's device."""
        return namespace.is_foreign(data) and namespace.library(data) == self.library and \
            str(namespace.device(data)) == str(self.device)

    def __repr__(self):
        return self.name


DEVICE1 = xs.Device("device1")
SPACES = [
    Space("array_api_strict", "array_api_strict", xs.asarray, xs.Device("CPU_DEVICE")),
    Space("array_api_strict device1", "array_api_strict", lambda a: xs.asarray(a, device=DEVICE1), DEVICE1),
    Space("torch cpu", "torch", torch.asarray, torch.device("cpu")),
]


@pytest.fixture(params=SPACES, ids=repr)
def space(request):
    return request.param


# ---------------------------------------------------------------------------
# Random graphs in each library against HIPS autograd
# ---------------------------------------------------------------------------


def _moved(operand, space):
    """A program's operand with its arrays (constants, frozen Values) in ``space``."""
    if isinstance(operand, list):
        return [_moved(item, space) for item in operand]
    if operand[0] != "const" or operand[1] not in ("array", "frozen"):
        return operand
    _, form, data = operand
    if type(data) is float:
        return ("const", "frozen", data)
    # NOTE: a bare array as the left operand is the library's own operator's to take, and
    # array_api_strict's refuses a Value (a TypeError, not NotImplemented): constants come as Values
    return ("const", "array", mg.Value(space(data), requires_grad=False))


def run_in(program, space):
    """(loss, leaves) of ``program`` run on leaves and constants in ``space`` (floats stay floats)."""
    leaves = [mg.Value(float(data)) if kind == "float" else mg.Value(space(data))
              for data, kind, _ in program.leaves]
    moved = [(op, [_moved(operand, space) for operand in operands], params)
             for op, operands, params in program.instructions]
    return _run_on(program, leaves, space), leaves


@settings(max_examples=60, **SETTINGS)
@given(program=programs())
def test_random_graphs_match_autograd_in_each_library(space, program):
    want_loss, want = oracle_gradients(program)
    loss, leaves = run_in(program, space)
    loss.backward()
    scale = 1.0 + sum(float(np.sum(np.abs(value))) for value in evaluate(program)[1])
    assert abs(loss.item() - want_loss) <= 1e-9 * scale
    for number, (leaf, w, (_, kind, _)) in enumerate(zip(leaves, want, program.leaves)):
        grad = leaf.grad
        if kind == "float":
            assert grad is None or type(grad) is float, f"leaf {number}: a float leaf got {type(grad).__name__}"
        elif grad is not None:
            assert space.holds(grad), f"leaf {number}: gradient {namespace.describe(grad)}, not in {space}"
            assert str(grad.dtype).endswith("float64")
        got = np.zeros(np.shape(w)) if grad is None else np.asarray(namespace.to_numpy(grad))
        assert np.shape(got) == np.shape(w), f"leaf {number}: gradient shape {np.shape(got)}, want {np.shape(w)}"
        bound = 1e-9 * (1.0 + float(np.max(np.abs(w), initial=0.0)))
        np.testing.assert_allclose(got, w, rtol=1e-9, atol=bound, err_msg=f"leaf {number} vs autograd ({space})")


@settings(max_examples=30, **SETTINGS)
@given(program=programs(max_steps=6))
def test_random_graphs_match_central_differences_through_to(space, program):
    """gradcheck on numpy leaves moved into the library by ``Value.to`` (an op whose gradient moves
    back) and the loss moved back: central differences of the library's own forward pass."""
    kinds = [kind for _, kind, _ in program.leaves]
    target = namespace.of(space(np.zeros(1)))

    def function(*values):
        leaves = [value.reshape(()) if kind == "array" and value.shape == () else value
                  for value, kind in zip(values, kinds)]
        moved = [leaf if type(leaf.data) is float else leaf.to(target) for leaf in leaves]
        if space.device == DEVICE1:
            moved = [leaf if type(leaf.data) is float else leaf.to(DEVICE1) for leaf in moved]
        return _run_on(program, moved, space).to(np)

    magnitude = sum(float(np.sum(np.abs(value))) for value in evaluate(program)[1])
    arrays = [np.asarray(data, dtype=np.float64) for data, _, _ in program.leaves]
    assert mg.gradcheck(function, *arrays, rtol=1e-6, atol=1e-8 + 1e-9 * magnitude)


#: Ops that make a numpy array of Python floats (numpy is the default library), which then may
#: not meet the library's arrays: such programs are left out, not their error.
FLOATS_TO_NUMPY = {"stack", "reshape", "transpose"}


def _run_on(program, leaves, space):
    moved = [(op, [_moved(operand, space) for operand in operands], params)
             for op, operands, params in program.instructions]
    original = program.instructions
    program.instructions = moved
    try:
        return run(program, leaves, "minigrad")[0]
    except namespace.MixedArraysError:
        assume(not FLOATS_TO_NUMPY & {op for op, _, _ in original})
        raise
    finally:
        program.instructions = original


# ---------------------------------------------------------------------------
# Where data lives: devices, mixing, moving
# ---------------------------------------------------------------------------


def test_results_and_gradients_stay_on_the_device():
    w = mg.Value(xs.asarray([[0.5, -1.0], [2.0, 0.25]], device=DEVICE1))
    x = mg.Value(xs.asarray([[1.0, 2.0]], device=DEVICE1), requires_grad=False)
    out = (x @ w).sigmoid()
    loss = mg.sse(xs.zeros((1, 2), dtype=xs.float64, device=DEVICE1), out)
    loss.backward()
    assert out.data.device == DEVICE1 and w.grad.device == DEVICE1 and loss.data.device == DEVICE1
    f = 1.0 / (1.0 + np.exp(-(np.array([[1.0, 2.0]]) @ np.array([[0.5, -1.0], [2.0, 0.25]]))))
    want = np.array([[1.0], [2.0]]) @ (f * f * (1.0 - f))  # ∂(½Σ F²)/∂w = xᵀ (F · F(1 − F))
    np.testing.assert_allclose(namespace.to_numpy(w.grad), want, rtol=1e-13)


def test_two_devices_in_one_op_is_an_error_naming_both():
    a = mg.Value(xs.asarray([1.0, 2.0], device=DEVICE1))
    b = mg.Value(xs.asarray([1.0, 2.0], device=xs.Device("device2")))
    with pytest.raises(namespace.MixedArraysError, match=r"add: mixes .*device1.* with .*device2"):
        a + b
    with pytest.raises(namespace.MixedArraysError, match=r"stack: mixes .*device1.* with .*device2"):
        mg.stack([a, b])


@pytest.mark.parametrize("make_other, named", [
    (lambda: np.array([1.0, 2.0]), "numpy array"),
    (lambda: xs.asarray([1.0, 2.0]), "array_api_strict array"),
])
def test_two_libraries_in_one_op_is_an_error_naming_both(make_other, named):
    t = mg.Value(torch.tensor([1.0, 2.0], dtype=torch.float64))
    other = mg.Value(make_other())
    for result in (lambda: t + other, lambda: other * t, lambda: t @ other, lambda: mg.maximum(other, t)):
        with pytest.raises(namespace.MixedArraysError, match=rf"mixes .*(torch.*{named}|{named}.*torch)"):
            result()
    with pytest.raises(namespace.MixedArraysError, match="torch"):
        t + make_other()  # a constant of another library is refused as well


def test_python_numbers_go_with_any_library(space):
    x = mg.Value(space([1.0, -2.0]))
    y = (2.0 * x + 1.0) ** 2.0 / 3.0 - mg.Value(0.5) * x
    y.sum().backward()
    assert space.holds(y.data) and space.holds(x.grad)
    np.testing.assert_allclose(namespace.to_numpy(x.grad), [4.0 * 3.0 / 3.0 - 0.5, 4.0 * -3.0 / 3.0 - 0.5])


def test_to_and_numpy_move_data_and_the_gradient_moves_back(space):
    target = namespace.of(space(np.zeros(1)))
    x = mg.Value(np.array([0.5, -1.5, 2.0]))
    moved = x.to(target)
    if space.device == DEVICE1:
        moved = moved.to(DEVICE1)
    assert space.holds(moved.data) and moved.op.name == "to"
    (moved.tanh() * 3.0).sum().backward()
    assert type(x.grad) is np.ndarray
    np.testing.assert_allclose(x.grad, 3.0 * (1.0 - np.tanh([0.5, -1.5, 2.0]) ** 2), rtol=1e-14)
    assert type(moved.numpy()) is np.ndarray
    np.testing.assert_array_equal(moved.numpy(), [0.5, -1.5, 2.0])
    with pytest.raises(TypeError, match="not a namespace"):
        x.to("cuda")


def test_value_takes_each_library_and_converts_integers(space):
    v = mg.Value(space([1, 2, 3], dtype=np.int64))
    assert space.holds(v.data) and str(v.dtype).endswith("float64") and v.shape == (3,)
    assert v.size == 3 and len(v) == 3 and v[1].item() == 2.0
    assert "array=" in repr(v) and "[1.0, 2.0, 3.0]" in repr(v)
    with pytest.raises(TypeError, match="boolean"):
        mg.Value(space([True, False], dtype=bool))


def test_a_float64_less_device_stays_float32():
    """array_api_strict's "no_float64" device has no float64 at all: nothing the engine does may
    ask for one (a float64 array there is an error), and results stay float32."""
    device = xs.Device("no_float64")
    rng = np.random.default_rng(1)
    w = mg.Value(xs.asarray(rng.standard_normal((3, 2)).astype(np.float32), device=device))
    x = mg.Value(xs.asarray([[1, 2, 3]], device=device), requires_grad=False)  # integers: the device's float
    assert x.dtype == xs.float32
    logits = (x @ w).tanh() * 2.0
    loss = mg.cross_entropy(logits, np.array([1])) + logits.softmax().max() + mg.mse(logits, logits * 0.5)
    loss.backward()
    assert loss.dtype == xs.float32 and w.grad.dtype == xs.float32 and w.grad.device == device
    wn = mg.Value(namespace.to_numpy(w.data))
    ln = (np.array([[1.0, 2.0, 3.0]], dtype=np.float32) @ wn).tanh() * 2.0
    (mg.cross_entropy(ln, np.array([1])) + ln.softmax().max() + mg.mse(ln, ln * 0.5)).backward()
    np.testing.assert_allclose(namespace.to_numpy(w.grad), wn.grad, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# Higher order, optimizers, nn: training in each library
# ---------------------------------------------------------------------------


def test_create_graph_in_each_library(space):
    """The gradient of a gradient, run in the library, against the same on numpy."""
    data = np.array([[0.3, -1.2, 2.0], [0.7, 0.1, -0.4]])

    def second(x):
        y = ((x.sigmoid() * x).sum(axis=1) + (x ** 3.0).max() + x[np.array([0, 0, 1])].abs().sum()).sum()
        (g,) = mg.grad(y, [x], create_graph=True)
        return (g * g).sum(), g

    x = mg.Value(space(data))
    z, g = second(x)
    z.backward()
    xn = mg.Value(data)
    zn, gn = second(xn)
    zn.backward()
    assert space.holds(g.data) and space.holds(x.grad)
    np.testing.assert_allclose(namespace.to_numpy(g.data), gn.data, rtol=1e-13)
    np.testing.assert_allclose(namespace.to_numpy(x.grad), xn.grad, rtol=1e-12, atol=1e-14)


def constant(array):
    """Inputs as a Value: array_api_strict's own operators refuse a Value on their right (a bare
    array @ Value is theirs to take), so its inputs come wrapped; torch's and numpy's defer."""
    return mg.Value(array, requires_grad=False)


def _train(model, inputs, targets, optimizer, steps, loss="sse"):
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        outputs = model(inputs)
        value = mg.sse(targets, outputs) if loss == "sse" else mg.cross_entropy(outputs, targets)
        value.backward()
        optimizer.step()
        losses.append(value.item())
    return losses


@pytest.mark.parametrize("make_optimizer", [lambda p: mg.optim.SGD(p, lr=0.5, momentum=0.5),
                                            lambda p: mg.optim.Adam(p, lr=0.05)], ids=["SGD", "Adam"])
def test_xor_trains_in_each_library_as_on_numpy(space, make_optimizer):
    data = mg.nn.datasets.xor()
    reference = mg.nn.MLP([2, 3, 2], seed=3)
    model = mg.nn.MLP([2, 3, 2], seed=3).to(namespace.of(space(np.zeros(1))))
    if space.device == DEVICE1:
        model.to(DEVICE1)
    assert all(space.holds(p.data) for p in model.parameters())
    want = _train(reference, data.inputs, data.targets, make_optimizer(reference), 60)
    got = _train(model, constant(space(data.inputs)), constant(space(data.targets)), make_optimizer(model), 60)
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert got[-1] < got[0]
    for p, q in zip(model.parameters(), reference.parameters()):
        assert space.holds(p.data)
        np.testing.assert_allclose(namespace.to_numpy(p.data), q.data, rtol=1e-9, atol=1e-12)
    state = model.state_dict()  # state files are numpy's: moved explicitly
    assert all(type(array) is np.ndarray for array in state.values())
    model.load_state_dict(reference.state_dict())
    assert all(space.holds(p.data) for p in model.parameters())


def test_digits_trains_in_each_library_as_on_numpy(space):
    pytest.importorskip("sklearn", reason="the digits need scikit-learn")
    train, _ = mg.nn.datasets.digits()
    inputs, labels = train.inputs[:256], train.labels[:256]
    reference = mg.nn.MLP([64, 32, 10], seed=0, activation="relu", output="linear")
    model = mg.nn.MLP([64, 32, 10], seed=0, activation="relu", output="linear").to(
        namespace.of(space(np.zeros(1))))
    if space.device == DEVICE1:
        model.to(DEVICE1)
    want = _train(reference, inputs, labels, mg.optim.SGD(reference, lr=0.5), 15, loss="cross_entropy")
    got = _train(model, constant(space(inputs)), labels, mg.optim.SGD(model, lr=0.5), 15, loss="cross_entropy")
    np.testing.assert_allclose(got, want, rtol=1e-10)
    assert got[-1] < 0.8 * got[0]


def test_compile_mixing_libraries_is_eager_s_error(space):
    """Compile runs in the data's library (tests/compile/test_compile_array_api.py); an argument, a
    Value argument or a parameter of another library meeting it is eager's MixedArraysError, naming both."""
    w_numpy = mg.Value(np.array([[0.5], [1.0]]))
    w = mg.Value(space([[0.5], [1.0]]))

    @mg.compile
    def loss(x, weight):
        return ((x @ weight).sigmoid() ** 2.0).sum()

    @mg.compile
    def reads(x):
        return ((x @ w).sigmoid() ** 2.0).sum()

    @mg.compile
    def scales(s):
        return (w * s).sum()

    x = space([[1.0, 2.0]])
    for call in (lambda: loss(mg.Value(x), w_numpy), lambda: loss(np.array([[1.0, 2.0]]), w),
                 lambda: reads(np.array([[1.0, 2.0]]))):
        named = rf"mixes .*({space.library}.*numpy|numpy.*{space.library})"
        with pytest.raises(namespace.MixedArraysError, match=named):
            call()
    assert w_numpy.grad is None and w.grad is None
    assert float(scales(2.0).numpy()) == 3.0 and space.holds(w.grad)  # ∂Σ 2w/∂w = 2, in the library
    np.testing.assert_array_equal(namespace.to_numpy(w.grad), [[2.0], [2.0]])


def test_module_to_takes_a_dtype_or_a_place(space):
    model = mg.nn.MLP([2, 3, 1], seed=0)
    model.to(namespace.of(space(np.zeros(1))))
    if space.device == DEVICE1:
        model.to(DEVICE1)
    model.to(np.float32)
    assert all(space.holds(p.data) and str(p.dtype).endswith("float32") for p in model.parameters())
    model.to(np)
    assert all(type(p.data) is np.ndarray and p.dtype == np.float32 for p in model.parameters())


@pytest.mark.parametrize("tool", ["draw", "explain", "explore", "onnx.export"])
def test_the_numpy_only_tools_say_so(space, tool):
    w = mg.Value(space([[0.5, -1.0], [2.0, 0.25]]), name="w")
    x = mg.Value(space([[1.0, 2.0]]), requires_grad=False)
    loss = ((x @ w).sigmoid() ** 2.0).sum()
    calls = {"draw": lambda: mg.draw(loss), "explain": lambda: mg.explain(loss, w, (0, 0)),
             "explore": lambda: mg.explore(loss),
             "onnx.export": lambda: mg.onnx.export(lambda a: (a @ w).sum(), (x,), "unused.onnx")}
    with pytest.raises(TypeError, match=rf"{tool}: works on numpy data only, but .*{space.library} array"):
        calls[tool]()
    numbers = ((mg.Value(x.numpy()) @ mg.Value(w.numpy())).sigmoid() ** 2.0).sum()  # moved explicitly
    assert "digraph" in mg.draw(numbers).source


def test_a_torch_tensor_that_records_torch_graph_gives_its_numbers_only():
    t = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    v = mg.Value(t)
    (v * v).sum().backward()
    assert not v.data.requires_grad and not v.grad.requires_grad and t.grad is None
    np.testing.assert_array_equal(v.grad.numpy(), [2.0, -4.0])
    t.data[0] = 5.0  # Value(t) copied the numbers
    assert v.data[0].item() == 1.0
