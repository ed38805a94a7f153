"""The bad-input catalogue (beyond tests/test_errors.py): every bad input is a
clear error naming what is wrong, and leaves no partial state behind; nan and
inf propagate as numpy does; files are read without pickle and written
atomically; training in two threads at once equals training one after the
other.  Regression tests for the bugs the fuzzer found are at the top."""

import os
import pathlib
import pickle
import re
import sys
import threading

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import MLP, ScalarMLP
from minigrad.optim import SGD, Adam

quiet = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def snapshot(model):
    return {name: (np.array(value.data, copy=True), None if value.grad is None else np.array(value.grad, copy=True))
            for name, value in model.named_parameters()}


def assert_unchanged(model, before):
    after = snapshot(model)
    assert after.keys() == before.keys()
    for name, (data, grad) in before.items():
        assert np.array_equal(after[name][0], data), f"{name} data changed"
        assert (grad is None and after[name][1] is None) or np.array_equal(after[name][1], grad), f"{name} grad changed"


# -- regression tests: engine bugs found by fuzzing and by this catalogue -------------------


def test_transpose_with_negative_axes_gradient():
    """Found by tests/fuzz.py: Transpose.backward inverts the permutation with
    np.argsort(axes), which is wrong for negative axes."""
    x = mg.Value(np.zeros((2, 1)))
    x.transpose(-1, 0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 1)))  # got [[2], [2]]: silently wrong
    x = mg.Value(np.arange(6.0).reshape(2, 3))
    weights = mg.Value(np.arange(6.0).reshape(3, 2), requires_grad=False)
    (x.transpose(-1, 0) * weights).sum().backward()          # got a ValueError from broadcasting
    np.testing.assert_array_equal(x.grad, weights.data.T)


def test_power_zero_gradient_at_zero():
    """Found by tests/fuzz.py: d(x**0)/dx = 0 everywhere, but PowConst.backward
    computes 0 · 0**-1 = 0 · inf = nan (with a RuntimeWarning) at x = 0."""
    x = mg.Value(0.0)
    (x ** 0).backward()
    assert x.grad == 0.0
    y = mg.Value(np.array([0.0, 2.0]))
    (y ** 0.0).sum().backward()
    np.testing.assert_array_equal(y.grad, [0.0, 0.0])


@quiet
def test_relu_of_nan_propagates_on_the_scalar_path():
    """Found by this catalogue: relu(nan) is nan on the array path (np.maximum)
    but 0.0 on the scalar path (``nan > 0.0`` is False), so a nan disappears."""
    assert np.isnan(mg.Value(np.array([np.nan])).relu().data[0])
    assert np.isnan(mg.Value(np.nan).relu().data)


@quiet
def test_power_of_minus_inf_matches_numpy_on_the_scalar_path():
    """Found by this catalogue: (−inf) ** 0.5 is nan in numpy (and on the array
    path) but inf on the scalar path (Python's float power)."""
    assert np.isnan((mg.Value(np.array([-np.inf])) ** 0.5).data[0])
    assert np.isnan((mg.Value(-np.inf) ** 0.5).data)


@quiet
def test_failed_backward_leaves_earlier_leaf_gradients_intact():
    """Found by this catalogue: backward clears each leaf's accumulated gradient
    before the pass and restores it (plus the new one) only at the end, so a
    backward that stops half-way (here at detect_anomaly's error) loses it."""
    x = mg.Value(np.array([0.0, 4.0]))
    x.grad = np.array([5.0, 5.0])  # accumulated by an earlier backward
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError):
        (x ** 0.5 + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])  # got [1, 1]: the half-finished pass


# -- shapes: every binary op, either side, Values or constants ---------------------------

BINARY = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
          "div": lambda a, b: a / b, "pow": lambda a, b: a ** b}


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("left, right", [("value", "array"), ("array", "value"), ("value", "value")])
def test_every_binary_op_names_itself_and_both_shapes(name, left, right):
    a = mg.Value(np.ones((2, 3))) if left == "value" else np.ones((2, 3))
    b = mg.Value(np.ones(4)) if right == "value" else np.ones(4)
    with pytest.raises(ValueError, match=rf"^{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast together$"):
        BINARY[name](a, b)
    for value in (a, b):
        if isinstance(value, mg.Value):
            assert value.grad is None and value.shape in ((2, 3), (4,))


def test_matmul_stack_and_sse_mismatches():
    with pytest.raises(ValueError, match=r"matmul: shapes \(4, 5\) and \(2, 3\) do not fit: the inner dimensions 5 and 2"):
        np.ones((4, 5)) @ mg.Value(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"stack: all inputs must have one shape, got \[\(2,\), \(3,\)\]"):
        mg.stack([mg.Value(np.ones(2)), mg.Value(np.ones(3))])
    with pytest.raises(ValueError, match="stack: needs at least one Value"):
        mg.stack([])
    with pytest.raises(ValueError, match=r"sse: desired has shape \(\) but actual has shape \(1,\)"):
        mg.sse(mg.Value(1.0), mg.Value(np.ones(1)))
    with pytest.raises(ValueError, match=r"sse: a list of Values must hold Python-float scalars, but actual\[1\] holds an array of shape \(2,\)"):
        mg.sse([0.0, 0.0], [mg.Value(1.0), mg.Value(np.ones(2))])


# -- types: ints, bools, strings, None, objects, complex, object arrays ----------------

BAD = [("a string", "2.0", r"got str '2.0'"), ("None", None, "got NoneType"), ("an object", object(), "got object"),
       ("complex", 1 + 2j, "got complex"), ("a bool", True, "boolean"), ("a numpy bool", np.bool_(False), "boolean"),
       ("a complex array", np.array([1 + 1j]), "complex"), ("an object array", np.array([1.0, None], dtype=object),
                                                             "dtype object"),
       ("a string array", np.array(["1"]), "dtype <U1"), ("a list of Values", [mg.Value(1.0)], "list of Values")]


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("what, bad, message", BAD, ids=[item[0] for item in BAD])
def test_every_binary_op_refuses_non_numbers_on_the_right(name, what, bad, message):
    x = mg.Value(np.ones(2))
    with pytest.raises(TypeError, match=rf"^{name}: .*{message}"):
        BINARY[name](x, bad)
    assert x.grad is None


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("what, bad, message", [item for item in BAD if not isinstance(item[1], (str, list))],
                         ids=[item[0] for item in BAD if not isinstance(item[1], (str, list))])
def test_every_binary_op_refuses_non_numbers_on_the_left(name, what, bad, message):
    with pytest.raises(TypeError, match=rf"^{name}: .*{message}"):
        BINARY[name](bad, mg.Value(np.ones(2)))


@pytest.mark.parametrize("what, bad, message", BAD, ids=[item[0] for item in BAD])
def test_matmul_sse_stack_and_backward_refuse_non_numbers(what, bad, message):
    x = mg.Value(np.ones(2))
    with pytest.raises(TypeError, match=rf"^matmul: .*{message}"):
        x @ bad
    with pytest.raises(TypeError, match=rf"^sse: .*{message}"):
        mg.sse(bad, x)
    with pytest.raises(TypeError, match=rf"^stack: .*{message}"):
        mg.stack([x, bad])
    if bad is not None:  # gradient=None means "seed with 1"
        loss = (x * 2.0).sum()
        with pytest.raises(TypeError, match=rf"^backward: .*{message}"):
            loss.backward(bad)
        assert x.grad is None


def test_ints_are_numbers_everywhere():
    x = mg.Value(np.ones(2))
    assert (x + 1).data.tolist() == [2.0, 2.0] and (2 ** mg.Value(3)).data == 8.0
    assert (x ** np.array([2, 3])).dtype == np.float64
    assert mg.Value(1.0).sigmoid(2).data == mg.Value(1.0).sigmoid(2.0).data


# -- nan and inf: propagate as numpy does, on the scalar path as on the array path -------

UNARY = {
    "neg": (lambda x: -x, np.negative), "exp": (lambda x: x.exp(), np.exp), "log": (lambda x: x.log(), np.log),
    "tanh": (lambda x: x.tanh(), np.tanh), "relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0.0)),
    "sigmoid": (lambda x: x.sigmoid(), lambda x: 1.0 / (1.0 + np.exp(-x))),
    "square": (lambda x: x ** 2, np.square), "sqrt": (lambda x: x ** 0.5, np.sqrt),
    "reciprocal": (lambda x: 1.0 / x, lambda x: 1.0 / x), "times zero": (lambda x: x * 0.0, lambda x: x * 0.0),
    "sum": (lambda x: x.sum(), np.sum), "mean": (lambda x: x.mean(), np.mean),
}


@quiet
@pytest.mark.parametrize("special", [np.nan, np.inf, -np.inf, 0.0], ids=["nan", "inf", "-inf", "zero"])
@pytest.mark.parametrize("name", list(UNARY))
def test_nan_and_inf_propagate_as_numpy_does(name, special):
    function, reference = UNARY[name]
    with np.errstate(all="ignore"):
        want = reference(np.array([special]))
    array_out = function(mg.Value(np.array([special]))).data
    np.testing.assert_array_equal(np.ravel(array_out), np.ravel(want))  # nan == nan here
    scalar_out = function(mg.Value(float(special))).data
    np.testing.assert_array_equal(np.ravel(scalar_out), np.ravel(want))


@quiet
def test_nan_input_gives_nan_gradients_not_an_error():
    x = mg.Value(np.array([np.nan, 1.0]))
    (x * x).sum().backward()
    assert np.isnan(x.grad[0]) and x.grad[1] == 2.0


# -- backward -------------------------------------------------------------------------------


def test_backward_without_a_path_to_a_leaf():
    c = mg.Value(np.ones(2), requires_grad=False)
    with pytest.raises(RuntimeError, match="backward: this Value does not require grad"):
        (c * 3.0).sum().backward()
    x = mg.Value(2.0)
    with mg.no_grad():
        y = x * 3.0
    with pytest.raises(RuntimeError, match=r"made from constants only, or under no_grad\(\)"):
        y.backward()
    assert x.grad is None


def test_backward_twice_accumulates_leaves_exactly_and_overwrites_intermediates():
    x = mg.Value(np.array([1.0, -2.0]))
    middle = x * x
    loss = middle.sum()
    loss.backward()
    first_leaf, first_middle = x.grad.copy(), middle.grad.copy()
    loss.backward()
    np.testing.assert_array_equal(x.grad, 2 * first_leaf)
    np.testing.assert_array_equal(middle.grad, first_middle)


def test_failed_backward_seed_leaves_every_gradient_as_it_was():
    x = mg.Value(np.array([1.0, 2.0]))
    x.grad = np.array([5.0, 5.0])
    y = x * 2.0
    with pytest.raises(ValueError, match=r"backward: the root has shape \(2,\); pass gradient="):
        y.backward()
    with pytest.raises(ValueError, match=r"backward: gradient has shape \(3,\) but the root has shape \(2,\)"):
        y.backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


# -- sigmoid's gain and the optimizers' settings ------------------------------------------


@pytest.mark.parametrize("alpha", [0.0, -1.0, -0.0, np.nan, np.inf, -np.inf, np.float32(-2.0), -3])
def test_sigmoid_gain_must_be_finite_and_positive(alpha):
    with pytest.raises(ValueError, match=r"sigmoid: alpha \(the gain\) must be finite and > 0, got"):
        mg.Value(np.ones(2)).sigmoid(alpha)
    with pytest.raises(ValueError, match=r"sigmoid: alpha"):
        mg.Value(1.0).sigmoid(alpha)


@pytest.mark.parametrize("alpha, message", [("1", "got str"), (None, "got NoneType"), (True, "got bool"),
                                            (1j, "got complex"), (np.array([1.0]), "numpy array"),
                                            (mg.Value(1.0), "not a Value")])
def test_sigmoid_gain_must_be_a_plain_real_number(alpha, message):
    with pytest.raises(TypeError, match=rf"sigmoid: alpha must be .*{message}"):
        mg.Value(1.0).sigmoid(alpha)


@pytest.mark.parametrize("optimizer", [SGD, Adam])
@pytest.mark.parametrize("lr", [np.float64(-0.5), np.float32(np.nan), -1, np.inf])
def test_optimizers_refuse_numpy_and_int_bad_rates_and_touch_nothing(optimizer, lr):
    model = MLP([2, 2, 1], seed=0)
    before = snapshot(model)
    with pytest.raises(ValueError, match=rf"{optimizer.__name__}: lr \(the learning rate\) must be finite and > 0"):
        optimizer(model, lr=lr)
    assert_unchanged(model, before)


def test_optimizer_settings_nan():
    with pytest.raises(ValueError, match="SGD: momentum must be in"):
        SGD([mg.Value(1.0)], lr=0.1, momentum=float("nan"))
    with pytest.raises(ValueError, match="Adam: eps must be finite and > 0"):
        Adam([mg.Value(1.0)], eps=float("nan"))
    with pytest.raises(ValueError, match=r"Adam: betas\[0\] must be in"):
        Adam([mg.Value(1.0)], betas=(float("nan"), 0.9))


# -- load_state_dict ------------------------------------------------------------------------


@pytest.mark.parametrize("edit, error, message", [
    (lambda s: (s.pop("w"), s.update(x=np.zeros((2, 2)))), ValueError,
     r"missing parameter\(s\) 'w'; unexpected parameter\(s\) 'x' \(the model has 'w', 'bias_hidden'"),
    (lambda s: s.update(w=np.zeros((2, 2, 1))), ValueError, r"'w' has shape \(2, 2\) in the model but \(2, 2, 1\)"),
    (lambda s: s.update(v=1.0), ValueError, r"'v' has shape \(2, 1\) in the model but \(\)"),
    (lambda s: s.update(bias_output=np.array([1 + 1j])), TypeError, r"'bias_output' has dtype complex128"),
    (lambda s: s.update(bias_output=np.array([None], dtype=object)), TypeError, r"'bias_output' has dtype object"),
    (lambda s: s.update(w=[[1.0, 2.0], [3.0]]), ValueError, r"'w' is not an array of numbers"),
], ids=["missing and extra", "extra axis", "scalar for matrix", "complex", "object", "ragged"])
@pytest.mark.parametrize("net", [MLP, ScalarMLP])
def test_load_state_dict_refuses_and_changes_nothing(net, edit, error, message):
    model = net([2, 2, 1], seed=0)
    (model.loss(np.array([0.5, -0.5]), np.array([1.0])) if net is MLP else
     model.loss([0.5, -0.5], [1.0])).backward()  # gradients too must survive a refusal
    before = snapshot(model)
    state = MLP([2, 2, 1], seed=1).state_dict()
    edit(state)
    with pytest.raises(error, match=message):
        model.load_state_dict(state)
    assert_unchanged(model, before)


def test_load_state_dict_needs_a_mapping():
    with pytest.raises(TypeError, match="load_state_dict: expected a mapping of names to arrays, got list"):
        MLP([2, 2, 1]).load_state_dict([("w", np.zeros((2, 2)))])


# -- files: load refuses what it cannot trust, save never leaves half a file -----------------


class Payload:
    """Unpickling this would create the marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def payload_files(folder):
    marker = folder / "code-ran"
    files = {}
    files["npz with a pickled object"] = folder / "object.npz"
    np.savez(files["npz with a pickled object"], w=np.array([Payload(marker)], dtype=object))
    files["npy with a pickled object"] = folder / "object.npy"
    np.save(files["npy with a pickled object"], np.array([Payload(marker)], dtype=object))
    files["raw pickle"] = folder / "raw.npz"
    files["raw pickle"].write_bytes(pickle.dumps({"w": Payload(marker)}))
    return marker, files


@pytest.mark.parametrize("kind", ["npz with a pickled object", "npy with a pickled object", "raw pickle"])
def test_pickle_bearing_files_are_refused_and_no_code_runs(tmp_path, kind):
    marker, files = payload_files(tmp_path)
    pickle.loads(pickle.dumps(Payload(tmp_path / "control")))  # the payload does work when unpickled
    assert (tmp_path / "control").exists()
    model = MLP([2, 2, 1], seed=0)
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"load: .*" + re.escape(files[kind].name)):
        model.load(files[kind])
    assert not marker.exists(), "unpickling ran code"
    assert_unchanged(model, before)


def test_other_unreadable_files_are_refused(tmp_path):
    import zipfile
    good = tmp_path / "good.npz"
    MLP([2, 2, 1], seed=3).save(good)
    data = good.read_bytes()
    cases = {"truncated.npz": data[: len(data) - 40], "empty.npz": b"", "noise.npz": os.urandom(300),
             "header-only.npz": data[:30]}
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    with zipfile.ZipFile(tmp_path / "zip-of-text.npz", "w") as archive:
        archive.writestr("w.npy", "not an array")
    model = MLP([2, 2, 1], seed=0)
    before = snapshot(model)
    for name in list(cases) + ["zip-of-text.npz"]:
        with pytest.raises(ValueError, match=r"load: .*" + re.escape(name)):
            model.load(tmp_path / name)
        assert_unchanged(model, before)
    with pytest.raises(ValueError, match=r"load: .*not a readable"):
        model.load(tmp_path)  # a folder
    with pytest.raises(FileNotFoundError, match=r"load: .*missing.npz' does not exist"):
        model.load(tmp_path / "missing.npz")
    assert_unchanged(model, before)


def test_save_failures_leave_the_old_file_byte_identical(tmp_path, monkeypatch):
    path = tmp_path / "weights.npz"
    MLP([2, 2, 1], seed=0).save(path)
    old = path.read_bytes()
    newer = MLP([2, 2, 1], seed=1)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        newer.save(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist; nothing was written"):
        newer.save(tmp_path / "missing" / "weights.npz")

    def broken(handle, arrays):
        handle.write(b"PK half a file")
        raise OSError("disk full")

    monkeypatch.setattr(nn, "_write_npz", broken)
    with pytest.raises(OSError, match="disk full"):
        newer.save(path)
    monkeypatch.undo()
    path.chmod(0o444)
    try:
        with pytest.raises(PermissionError, match="read-only; it was left as it was"):
            newer.save(path)
    finally:
        path.chmod(0o644)
    assert path.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.npz"]  # no temporary files left
    restored = MLP([2, 2, 1], seed=2).load(path)
    assert all(np.array_equal(a, b) for a, b in zip(restored.state_dict().values(),
                                                     MLP([2, 2, 1], seed=0).state_dict().values()))


# -- threads ----------------------------------------------------------------------------


def train(seed, log, steps=150, evaluate_every=10):
    """XOR-like training of one MLP with SGD; every few steps an evaluation under no_grad."""
    rng = np.random.default_rng(seed)
    inputs = rng.uniform(-1.0, 1.0, (8, 2))
    desired = (inputs[:, :1] * inputs[:, 1:] > 0).astype(float)
    model = MLP([2, 3, 1], seed=seed)
    optimizer = SGD(model, lr=0.5, momentum=0.5)
    for step in range(steps):
        optimizer.zero_grad()
        loss = model.loss(inputs, desired)
        loss.backward()
        optimizer.step()
        log.append(loss.item())
        if step % evaluate_every == 0:
            with mg.no_grad():
                evaluation = model.loss(inputs, desired)
                assert not evaluation.requires_grad and evaluation.parents == ()
            log.append(evaluation.item())
    return model.state_dict()


def test_two_threads_training_two_models_equal_one_after_the_other():
    sequential_logs = ([], [])
    sequential = [train(1, sequential_logs[0], evaluate_every=10), train(2, sequential_logs[1], evaluate_every=3)]

    threaded_logs = ([], [])
    threaded = [None, None]
    errors = []
    start = threading.Barrier(2)

    def worker(index, seed):
        try:
            start.wait(10)
            threaded[index] = train(seed, threaded_logs[index], evaluate_every=3 if index else 10)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often, so no_grad in one meets ops in the other
    try:
        threads = [threading.Thread(target=worker, args=(index, seed)) for index, seed in enumerate((1, 2))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        sys.setswitchinterval(previous)
    assert not errors, errors
    for index in range(2):
        assert threaded[index].keys() == sequential[index].keys()
        for name in sequential[index]:
            np.testing.assert_array_equal(threaded[index][name], sequential[index][name])
    assert threaded_logs == sequential_logs  # every training and evaluation loss, bit for bit
