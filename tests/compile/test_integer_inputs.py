"""Integer arrays are inputs of a compiled step: cross-entropy's class labels are traced as an
integer input (the one_hot op), not baked in and not turned into floats, in `mg.compile`,
`mg.train(compile=True)` and `mg.onnx.export` (an int64 graph input)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import MLP
from minigrad.nn.datasets import letters


def _net(seed=0):
    rng = np.random.default_rng(seed)
    w = mg.Value(rng.uniform(-1, 1, (5, 4)), requires_grad=True, name="w")
    b = mg.Value(rng.uniform(-1, 1, 4), requires_grad=True, name="b")
    return rng, w, b


def test_labels_are_an_integer_input_equal_to_eager_on_every_batch():
    rng, w, b = _net()
    x = rng.standard_normal((8, 5))

    def loss(x, labels):
        return mg.cross_entropy((x @ w + b).tanh(), labels)

    step = mg.compile(loss)
    traces = []
    for call in range(4):
        labels = rng.integers(0, 4, 8)
        w.grad = b.grad = None
        want = loss(x, labels)
        want.backward()
        expected = (w.grad.copy(), b.grad.copy())
        w.grad = b.grad = None
        got = step(x, labels)
        assert got.item() == want.item(), call
        assert np.array_equal(w.grad, expected[0]) and np.array_equal(b.grad, expected[1]), call
        traces.append(step.latest)
    assert all(trace is traces[0] for trace in traces)  # one trace serves every batch of labels
    source = step.source
    assert "labels (array (8,) int64)" in source and "one_hot(labels, classes=4, axis=1" in source
    assert "CONSTANT" not in source  # the one-hot rows are made from each call's labels


def test_a_label_out_of_range_is_refused_on_the_call_that_brings_it():
    rng, w, b = _net()
    step = mg.compile(lambda x, labels: mg.cross_entropy(x @ w, labels))
    x = rng.standard_normal((3, 5))
    step(x, np.array([0, 1, 3]))
    with pytest.raises(ValueError, match=r"cross_entropy: label 4 \(labels\[1\]\) is out of range for 4 classes"):
        step(x, np.array([0, 4, 3]))
    with pytest.raises(ValueError, match=r"label -1 \(labels\[0\]\) is out of range"):
        step(x, np.array([-1, 0, 3]))
    with pytest.raises(ValueError, match=r"integer labels need shape \(3,\).*labels have shape \(2,\)"):
        step(x, np.array([0, 1]))


def test_another_integer_dtype_or_shape_is_another_trace_with_the_same_numbers():
    rng, w, b = _net(1)
    step = mg.compile(lambda x, labels: mg.cross_entropy(x @ w + b, labels, reduction="sum"))
    x = rng.standard_normal((6, 5))
    labels = rng.integers(0, 4, 6)
    results = []
    for given in (labels, labels.astype(np.int32), labels.astype(np.uint8)):
        w.grad = b.grad = None
        results.append((step(x, given).item(), w.grad.copy()))
        assert "int" in step.source.splitlines()[0]
    assert all(loss == results[0][0] and np.array_equal(grad, results[0][1]) for loss, grad in results)
    assert np.dtype(np.uint8).name.upper() in step.source  # each trace checks its own dtype


def test_labels_along_another_axis_compile_as_eager():
    rng = np.random.default_rng(2)
    logits = mg.Value(rng.standard_normal((3, 4, 2)), requires_grad=True)
    step = mg.compile(lambda labels: mg.cross_entropy(logits, labels, axis=1))
    labels = rng.integers(0, 4, (3, 2))
    want = mg.cross_entropy(logits, labels, axis=1)
    want.backward()
    expected = logits.grad.copy()
    logits.grad = None
    assert step(labels).item() == want.item()
    assert np.array_equal(logits.grad, expected)


def test_train_compiled_with_labels_gives_eager_weights_bit_for_bit():
    data = letters(noise=0.1, copies=3, seed=0)
    runs = []
    for compile in (False, True):
        model = MLP([25, 8, 5], seed=0, output="linear")
        result = mg.train(model, data.inputs, data.labels, mode="batch", loss="cross_entropy", lr=0.5,
                          epochs=4, batch_size=5, quiet=True, compile=compile)
        runs.append((result.history, model.state_dict()))
    (eager_history, eager), (compiled_history, compiled) = runs
    assert compiled_history == eager_history
    for name in eager:
        assert np.array_equal(compiled[name], eager[name]), name


@pytest.mark.slow  # onnxruntime
def test_onnx_export_takes_labels_as_an_int64_input(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    rng, w, b = _net(3)

    def loss(x, labels):
        return mg.cross_entropy(x @ w + b, labels)

    x = rng.standard_normal((7, 5))
    path = tmp_path / "loss.onnx"
    mg.onnx.export(loss, (x, rng.integers(0, 4, 7)), path)
    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [(i.name, i.type) for i in session.get_inputs()] == [("x", "tensor(double)"), ("labels", "tensor(int64)")]
    for _ in range(3):
        labels = rng.integers(0, 4, 7)
        got = session.run(None, {"x": x, "labels": labels})[0]
        np.testing.assert_allclose(got, loss(x, labels).item(), rtol=1e-12)


def test_an_integer_array_used_as_numbers_is_floats_as_in_eager_mode():
    w = mg.Value(np.full(3, 1.1, dtype=np.float32), requires_grad=True)

    def loss(counts):
        return (w * counts).sum()

    step = mg.compile(loss)
    for counts in (np.array([1, 2, 3]), np.array([4, 5, 6])):
        w.grad = None
        got = step(counts)
        grad = w.grad
        w.grad = None
        want = loss(counts)
        want.backward()
        assert got.dtype == want.dtype == np.float32 and got.item() == want.item()
        assert np.array_equal(grad, w.grad)
    assert "array (3,) float32" in step.source.splitlines()[0]  # converted, as eager converts it
