"""`minigrad.onnx.export`: every op of the table written as ONNX, the file
accepted by ``onnx.checker`` and run by onnxruntime to minigrad's numbers
(float64 to 1e-12 relative, float32 to 1e-6): one case per op, the chapter's
2-2-2 net (tensor and scalar), an MLP with each activation, the losses, and
random expression graphs over the mapped ops; then the errors."""

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # onnxruntime
from hypothesis import HealthCheck, given, settings

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import minigrad as mg  # noqa: E402
from minigrad.core.value import leaf  # noqa: E402
from minigrad.export.onnx import MAPPED_OPS, ExportError, UnsupportedOp  # noqa: E402
from strategies import ENGINE_OPS_EXERCISED, OPS as INSTRUCTIONS, make_leaves, programs, run  # noqa: E402

RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-6}


def _session(path):
    """A checked file, opened by onnxruntime on the CPU (one thread: sessions start fast)."""
    onnx.checker.check_model(str(path), full_check=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _run(path, *inputs):
    session = _session(path)
    feeds = {info.name: np.asarray(value.data if isinstance(value, mg.Value) else value)
             for info, value in zip(session.get_inputs(), inputs)}
    assert len(feeds) == len(session.get_inputs())
    return session.run(None, feeds)


def _assert_reproduces(got, want, rtol=None, atol=0.0):
    """onnxruntime's arrays against minigrad's Values: dtype, shape and numbers."""
    want = list(want) if isinstance(want, (list, tuple)) else [want]
    assert len(got) == len(want)
    for number, (array, value) in enumerate(zip(got, want)):
        assert array.dtype == value.dtype and array.shape == value.shape, \
            f"output {number}: {array.dtype}{array.shape} from onnxruntime, {value.dtype}{value.shape} from minigrad"
        tolerance = RTOL[value.dtype] if rtol is None else rtol
        np.testing.assert_allclose(array, value.data, rtol=tolerance, atol=atol, err_msg=f"output {number}")


def _inputs(dtype, *shapes, low=-2.0, high=2.0, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, shape).astype(dtype) for shape in shapes]


# ---------------------------------------------------------------------------
# One case per op of the table
# ---------------------------------------------------------------------------

# op name -> (function, example inputs for a dtype).  Each function uses its op
# in the ways that take different ONNX paths; it may use other ops besides.
CASES = {
    "add": (lambda a, b: (a + b, a + 1.5), lambda t: _inputs(t, (2, 3), (3,))),
    "sub": (lambda a, b: (a - b, 2.0 - a), lambda t: _inputs(t, (2, 3), (2, 1))),
    "mul": (lambda a, b: (a * b, a * 0.25), lambda t: _inputs(t, (2, 3), (1, 3))),
    "div": (lambda a, b: (a / b, 1.0 / b), lambda t: _inputs(t, (2, 3), (3,), low=0.5, high=2.0)),
    "neg": (lambda a: -a, lambda t: _inputs(t, (2, 3))),
    "pow_const": (lambda a: (a ** 3, a ** 2.0, (a * a + 1.0) ** -0.5), lambda t: _inputs(t, (2, 3))),
    "pow": (lambda a, b: a ** b, lambda t: _inputs(t, (2, 3), (3,), low=0.5, high=2.0)),
    "exp": (lambda a: a.exp(), lambda t: _inputs(t, (2, 3))),
    "log": (lambda a: a.log(), lambda t: _inputs(t, (2, 3), low=0.1, high=3.0)),
    "tanh": (lambda a: a.tanh(), lambda t: _inputs(t, (2, 3))),
    "relu": (lambda a: a.relu(), lambda t: _inputs(t, (2, 3))),
    # Deep in saturation too: F(−30) = 9.4e−14 must keep its relative accuracy.
    "sigmoid": (lambda a: (a.sigmoid(), a.sigmoid(alpha=2.5), (a * 15.0).sigmoid()), lambda t: _inputs(t, (2, 3))),
    "abs": (lambda a: (a.abs(), abs(a * 2.0)), lambda t: _inputs(t, (2, 3))),
    "sqrt": (lambda a: a.sqrt(), lambda t: _inputs(t, (2, 3), low=0.1, high=3.0)),
    "maximum": (lambda a, b: (mg.maximum(a, b), mg.maximum(0.5, a)),
                lambda t: _inputs(t, (2, 3), (3,))),
    "minimum": (lambda a, b: (mg.minimum(a, b), mg.minimum(a, -0.25)),
                lambda t: _inputs(t, (2, 3), (2, 1))),
    "clip": (lambda a: (a.clip(-0.5, 1.0), a.clip(lo=0.0), a.clip(hi=0.25)), lambda t: _inputs(t, (2, 3))),
    "max": (lambda a: (a.max(), a.max(axis=0), a.max(axis=-1, keepdims=True)), lambda t: _inputs(t, (2, 3))),
    "min": (lambda a: (a.min(), a.min(axis=(0, 1)), a.min(axis=1)), lambda t: _inputs(t, (2, 3))),
    # Logits far apart too: the softmaxes subtract the max first.
    "softmax": (lambda a: (a.softmax(), (a * 300.0).softmax(axis=0)), lambda t: _inputs(t, (2, 3))),
    "log_softmax": (lambda a: (a.log_softmax(), (a * 300.0).log_softmax(axis=0)), lambda t: _inputs(t, (2, 3))),
    "sum": (lambda a: (a.sum(), a.sum(axis=0), a.sum(axis=-1, keepdims=True), a.sum(axis=(0, 1))),
            lambda t: _inputs(t, (2, 3))),
    "mean": (lambda a: (a.mean(), a.mean(axis=1), a.mean(axis=0, keepdims=True)), lambda t: _inputs(t, (2, 3))),
    "reshape": (lambda a: (a.reshape(3, 2), a.reshape(-1), a[0, :1].reshape(())), lambda t: _inputs(t, (2, 3))),
    "transpose": (lambda a: (a.T, a.reshape(1, 2, 3).transpose(2, 0, 1)), lambda t: _inputs(t, (2, 3))),
    "getitem": (lambda a: (a[1], a[-1, ::-1], a[:, 1:], a[None, 0], a[..., -1], a[::-1, ::-2],
                           a[[1, 0, 1]], a[:, np.array([2, 0, 2])], a[np.array([0, 1]), np.array([2, 2])],
                           a[0, [2, 0]], a[-1, 0]),
                lambda t: _inputs(t, (2, 3))),
    "matmul": (lambda a, b, c: (a @ b, c @ b, b.T @ c), lambda t: _inputs(t, (2, 3), (3, 4), (3,))),
    "stack": (lambda a, b: (mg.stack([a, b]), mg.stack([a, b, a], axis=-1)), lambda t: _inputs(t, (2, 3), (2, 3))),
    "sse": (lambda desired, actual: mg.sse(desired, actual.sigmoid()), lambda t: _inputs(t, (4, 2), (4, 2))),
    "mse": (lambda desired, actual: (mg.mse(desired, actual.tanh()), mg.mse(desired[0, 0], 0.5)),
            lambda t: _inputs(t, (4, 2), (4, 2))),
    "cross_entropy": (lambda logits, targets: (
        mg.cross_entropy(logits, targets.softmax()),                          # probabilities, an input
        mg.cross_entropy(logits * 40.0, [0, 2, 1, 1], reduction="sum"),       # labels: a one-hot constant
        mg.cross_entropy(logits, targets.softmax(axis=0), axis=0)),
        lambda t: _inputs(t, (4, 3), (4, 3))),
    # Integer labels: an int64 graph input (the labels are wrapped below as export wraps them).
    "one_hot": (lambda logits, labels: (mg.cross_entropy(logits, labels), mg.cross_entropy(logits.T, labels, axis=0)),
                lambda t: [*_inputs(t, (4, 3)), np.array([2, 0, 1, 2])]),
    # Scalars are Python floats (float64) whatever the case's dtype.
    "sse_scalars": (lambda d0, a0, a1: mg.sse([d0, 0.5], [a0.sigmoid(), a1.tanh()]),
                    lambda t: [0.25, -1.5, 0.75]),
}


def _ops_in(outputs):
    values = list(outputs) if isinstance(outputs, (tuple, list)) else [outputs]
    return {node.op.name for value in values for node in mg.topological_order(value) if node.op is not None}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("op", [op.name for op in mg.OPS])
def test_every_op_of_the_table_exports_and_runs_to_minigrads_numbers(op, dtype, tmp_path):
    assert op in CASES, f"op '{op}' has no case here: add one to CASES (and its mapping to minigrad/onnx_export.py)"
    function, make_inputs = CASES[op]
    inputs = make_inputs(dtype)
    want = function(*[leaf(x, requires_grad=True) if np.asarray(x).dtype.kind == "i" else mg.Value(x)
                      for x in inputs])
    assert op in _ops_in(want), f"the case for '{op}' does not use it"
    path = tmp_path / f"{op}.onnx"
    if op not in MAPPED_OPS:  # an op of the table without a translation is refused by name
        with pytest.raises(UnsupportedOp, match=f"'{op}'") as caught:
            mg.onnx.export(function, tuple(inputs), path)
        assert caught.value.op_name == op and not path.exists()
        return
    assert mg.onnx.export(function, tuple(inputs), path) == str(path)
    _assert_reproduces(_run(path, *inputs), want)


def test_an_op_outside_the_table_is_refused_by_name_and_nothing_is_written(tmp_path):
    class Cube(mg.Op):
        name = "cube"

        def forward(self, a):
            return a ** 3, None

    path = tmp_path / "model.onnx"
    path.write_bytes(b"old")
    with pytest.raises(UnsupportedOp, match="op 'cube' has no ONNX translation") as caught:
        mg.onnx.export(lambda x: mg.apply(Cube(), x).exp(), (np.ones(3),), path)
    assert caught.value.op_name == "cube"
    assert path.read_bytes() == b"old"


def test_indices_onnx_cannot_take_are_refused_naming_getitem():
    x = np.arange(6.0).reshape(2, 3)
    with pytest.raises(UnsupportedOp, match="getitem.*boolean") as caught:
        mg.onnx.to_onnx(lambda a: a[np.array([True, False])], (x,))
    assert caught.value.op_name == "getitem"
    with pytest.raises(UnsupportedOp, match="getitem.*None"):
        mg.onnx.to_onnx(lambda a: a[None, np.array([0, 1])], (x,))


# ---------------------------------------------------------------------------
# The chapter's network, MLPs, losses
# ---------------------------------------------------------------------------


def test_the_chapters_2_2_2_net_one_pattern_and_a_batch(tmp_path):
    net, inputs, desired = mg.nn.example_network()
    path = mg.onnx.export(net, (inputs,), tmp_path / "net.onnx")
    model = onnx.load(path)
    assert [i.name for i in model.graph.input] == ["x"] and [o.name for o in model.graph.output] == ["output"]
    assert {i.name for i in model.graph.initializer} >= {"w", "bias_hidden", "v", "bias_output"}
    _assert_reproduces(_run(path, inputs), net(inputs))
    batch = np.random.default_rng(1).random((5, 2))
    path = mg.onnx.export(net, batch, tmp_path / "batch.onnx")  # one argument need not be in a tuple
    _assert_reproduces(_run(path, batch), net(batch))
    # Its loss, the chapter's SSE (Eq. 6.5), with the desired outputs as a second input.
    path = mg.onnx.export(net.loss, (inputs, desired), tmp_path / "loss.onnx")
    assert [i.name for i in onnx.load(path).graph.input] == ["inputs", "desired"]
    _assert_reproduces(_run(path, inputs, desired), net.loss(inputs, desired))


def test_the_chapters_net_weight_by_weight(tmp_path):
    net, inputs, desired = mg.nn.example_network(scalar=True)
    tensor_net, _, _ = mg.nn.example_network()
    path = mg.onnx.export(net, (inputs,), tmp_path / "scalar.onnx")
    model = onnx.load(path)
    assert [o.name for o in model.graph.output] == ["A_0", "A_1"]  # the chapter's names
    assert "w_0_1" in {i.name for i in model.graph.initializer}    # w[0,1]
    got = _run(path, inputs)
    _assert_reproduces(got, net(inputs))
    np.testing.assert_allclose(np.array(got), tensor_net(inputs).data, rtol=1e-12)
    # The scalar SSE (sse_scalars): a list of scalar Values is one graph input each.
    pattern = [mg.Value(float(x), name=f"I_{i}") for i, x in enumerate(inputs)]
    path = mg.onnx.export(lambda x: net.loss(x, desired), (pattern,), tmp_path / "scalar_loss.onnx")
    assert [i.name for i in onnx.load(path).graph.input] == ["I_0", "I_1"]
    _assert_reproduces(_run(path, *pattern), net.loss(inputs, desired))


MLPS = [("sigmoid", "sigmoid", 2.5), ("sigmoid", "linear", 0.5), ("tanh", "tanh", 1.0), ("tanh", "linear", 1.0),
        ("relu", "linear", 1.0), ("relu", "sigmoid", 3.0)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("activation, output, alpha", MLPS, ids=[f"{a}-{o}" for a, o, _ in MLPS])
def test_an_mlp_with_each_activation(activation, output, alpha, dtype, tmp_path):
    net = mg.nn.MLP([3, 5, 4, 2], alpha=alpha, activation=activation, output=output, seed=3, dtype=dtype)
    batch = np.random.default_rng(4).uniform(-3, 3, (6, 3)).astype(dtype)
    path = mg.onnx.export(net, (batch,), tmp_path / "mlp.onnx")
    model = onnx.load(path)
    names = {i.name for i in model.graph.initializer}
    assert {"weight_1", "bias_1", "weight_2", "bias_2", "weight_3", "bias_3"} <= names
    elem_type = onnx.TensorProto.DOUBLE if dtype == np.float64 else onnx.TensorProto.FLOAT
    assert model.graph.input[0].type.tensor_type.elem_type == elem_type
    # NOTE: an output near 0 is a difference of terms near 1 (weights, inputs and activations are O(1)),
    # so its error is bounded relative to 1, not to itself: the absolute part of the tolerance.
    _assert_reproduces(_run(path, batch), net(batch), atol=RTOL[np.dtype(dtype)])


def test_dtypes_follow_numpys_promotion(tmp_path):
    net = mg.nn.MLP([2, 3, 3], seed=0, dtype=np.float32)
    x = np.array([[0.25, -0.5], [1.0, 0.5]], dtype=np.float32)
    targets = np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])

    def function(x, targets):
        out = net(x) * 0.1 + np.array([1.0])     # a float64 constant meeting float32 stays float32
        return out, out.sum() + mg.Value(np.array(2.0)), mg.cross_entropy(out, targets)  # 0-d float64: promoted

    path = mg.onnx.export(function, (x, targets), tmp_path / "m.onnx")
    want = function(mg.Value(x), mg.Value(targets))
    assert [value.dtype for value in want] == [np.float32, np.float64, np.float64]
    _assert_reproduces(_run(path, x, targets), want, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_the_losses_of_a_classifier(dtype, tmp_path):
    net = mg.nn.MLP([4, 6, 3], activation="tanh", output="linear", seed=5, dtype=dtype)
    rng = np.random.default_rng(6)
    batch = rng.uniform(-1, 1, (8, 4)).astype(dtype)
    labels = rng.integers(0, 3, 8)
    one_hot = np.eye(3, dtype=dtype)[labels]

    def losses(x, targets):  # labels from the closure become a one-hot constant; targets are an input
        logits = net(x)
        return (mg.cross_entropy(logits, labels), mg.cross_entropy(logits, targets, reduction="sum"),
                mg.mse(targets, logits.softmax()), mg.sse(targets, logits.sigmoid(alpha=2.0)))

    path = mg.onnx.export(losses, (batch, one_hot), tmp_path / "losses.onnx",
                          output_names=["cross_entropy", "cross_entropy_sum", "mse", "sse"])
    model = onnx.load(path)
    assert [o.name for o in model.graph.output] == ["cross_entropy", "cross_entropy_sum", "mse", "sse"]
    assert all(len(o.type.tensor_type.shape.dim) == 0 for o in model.graph.output)  # each a scalar
    want = losses(mg.Value(batch), mg.Value(one_hot))
    _assert_reproduces(_run(path, batch, one_hot), want)


# ---------------------------------------------------------------------------
# Random expression graphs over the mapped ops
# ---------------------------------------------------------------------------

MAPPED_INSTRUCTIONS = [name for name in INSTRUCTIONS if ENGINE_OPS_EXERCISED.get(name, "pow_const") in MAPPED_OPS]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
_FOLDER = tempfile.TemporaryDirectory(prefix="minigrad-onnx-")


def _check_program(program):
    """Every node of the program (and the loss over them) from the file equals minigrad's."""
    frozen = np.float64 if program.dtype == "float64" else np.float32

    def function(*leaves):
        loss, nodes = run(program, list(leaves), "minigrad", frozen)
        return (loss, *nodes)

    leaves = make_leaves(program)
    want = function(*leaves)
    path = mg.onnx.export(function, tuple(leaf.data for leaf in leaves), Path(_FOLDER.name) / "graph.onnx")
    got = _run(path, *leaves)
    # NOTE: float32 anywhere upstream (mixed programs) leaves float32's precision in float64 results too;
    # the absolute part scales with the numbers the graph adds up, as in the oracle tests.
    rtol = 1e-12 if program.dtype == "float64" else 1e-6
    scale = 1.0 + sum(float(np.sum(np.abs(value.data))) for value in want[1:])
    _assert_reproduces(got, want, rtol=rtol, atol=rtol * scale)


def test_the_random_graphs_use_every_mapped_op_the_strategies_make():
    made = {ENGINE_OPS_EXERCISED[name] for name in MAPPED_INSTRUCTIONS if name in ENGINE_OPS_EXERCISED}
    assert made == MAPPED_OPS & set(ENGINE_OPS_EXERCISED.values())


@settings(max_examples=100, **SETTINGS)
@given(programs(ops=MAPPED_INSTRUCTIONS))
def test_random_float64_graphs_reproduce_minigrad(program):
    _check_program(program)


@settings(max_examples=60, **SETTINGS)
@given(programs(ops=MAPPED_INSTRUCTIONS, dtypes=("float32", "mixed")))
def test_random_float32_and_mixed_graphs_reproduce_minigrad(program):
    _check_program(program)


# ---------------------------------------------------------------------------
# Errors and the package boundary
# ---------------------------------------------------------------------------


def test_bad_arguments_are_named(tmp_path):
    x = np.ones(2)
    with pytest.raises(TypeError, match="Module or a function"):
        mg.onnx.export("net", (x,), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="onnx.export: example input 1"):
        mg.onnx.export(lambda a, b: a + b, (x, "two"), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="must return a Value or a tuple or list of Values, got float"):
        mg.onnx.export(lambda a: 1.0, (x,), tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="path must be a file name"):
        mg.onnx.export(lambda a: a.exp(), (x,), None)
    with pytest.raises(ValueError, match="input_names has 2 names for 1 inputs"):
        mg.onnx.export(lambda a: a.exp(), (x,), tmp_path / "m.onnx", input_names=["a", "b"])
    with pytest.raises(ValueError, match="not distinct"):
        mg.onnx.export(lambda a: (a.exp(), a.tanh()), (x,), tmp_path / "m.onnx", output_names=["y", "y"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mg.onnx.export(lambda a: a.exp(), (x,), tmp_path / "missing" / "m.onnx")
    assert not list(tmp_path.iterdir())


def test_python_that_depends_on_a_traced_number_is_refused(tmp_path):
    def branchy(a):
        return a.exp() if a.sum() > 0 else a.tanh()

    with pytest.raises(mg.TracingError, match="onnx.export"):
        mg.onnx.export(branchy, (np.ones(2),), tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="constant holds an example input"):
        mg.onnx.export(lambda a: a.detach() * a, (np.ones(2),), tmp_path / "m.onnx")


def test_names_and_several_outputs(tmp_path):
    x = mg.Value([1.0, 2.0], name="pattern")
    path = mg.onnx.export(lambda a, b: (a * b, a, mg.Value(3.0, requires_grad=False)), (x, 2.0), tmp_path / "m.onnx",
                          output_names=["product", "same", "three"])
    model = onnx.load(path)
    assert [i.name for i in model.graph.input] == ["pattern", "b"]
    assert [o.name for o in model.graph.output] == ["product", "same", "three"]
    assert [list(d.dim_value for d in i.type.tensor_type.shape.dim) for i in model.graph.input] == [[2], []]
    got = _run(path, x, 2.0)
    np.testing.assert_array_equal(got[0], [2.0, 4.0])
    np.testing.assert_array_equal(got[1], [1.0, 2.0])
    assert got[2].shape == () and got[2] == 3.0


def test_output_names_keep_clear_of_input_names(tmp_path):
    x = mg.Value([1.0, 2.0], name="x")
    model = mg.onnx.to_onnx(lambda a: (a, a.exp()), (x, ))  # the input itself is an output
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == ["x_1", "output_1"]
    with pytest.raises(ValueError, match="reuse an input's name"):
        mg.onnx.to_onnx(lambda a: a.exp(), (x,), output_names=["x"])


def test_a_graph_the_checker_refuses_is_a_clear_error_and_nothing_is_written(monkeypatch, tmp_path):
    from minigrad.export import onnx as onnx_export

    def broken(graph, node, args, out):
        return graph.op("NoSuchOperator", args, out)

    monkeypatch.setitem(onnx_export._EMITTERS, "exp", broken)
    with pytest.raises(ExportError, match="not valid ONNX.*bug in minigrad's exporter"):
        mg.onnx.export(lambda a: a.exp(), (np.ones(2),), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_export_without_the_onnx_package_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ImportError, match=r"minigrad\[onnx\]"):
        mg.onnx.export(lambda a: a.exp(), (np.ones(2),), tmp_path / "m.onnx")


def test_importing_minigrad_does_not_import_onnx():
    code = "import sys, minigrad; minigrad.onnx.export; print('onnx' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr
