"""Bad arguments to networks, optimizers and training (minigrad.nn,
minigrad.optim, minigrad.nn.training): every one is an error naming the class or
function and the value at fault, raised before anything changes, so the model
(weights and gradients) is left as it was."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import MLP, ScalarMLP
from minigrad.optim import SGD, Adam
from model_state import assert_unchanged, snapshot


# -- optimizers' settings --------------------------------------------------------------------------


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


# -- load_state_dict -------------------------------------------------------------------------------


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


# -- layer sizes: checked as given, before int() could hide a mistake -----------------------------


BAD_SIZES = [
    ([2.5, 2], TypeError, "sizes must be positive integers, but sizes[0] is 2.5 (float) in [2.5, 2]"),
    ([True, 2], TypeError, "sizes must be positive integers, but sizes[0] is True (bool) in [True, 2]"),
    ([2, np.True_], TypeError, "sizes must be positive integers, but sizes[1] is np.True_ (bool) in"),
    ([2, 3.0, 1], TypeError, "sizes must be positive integers, but sizes[1] is 3.0 (float) in [2, 3.0, 1]"),
    ([2, np.float64(3.0)], TypeError, "sizes[1] is np.float64(3.0) (float64)"),
    ([2, "3"], TypeError, "sizes must be positive integers, but sizes[1] is '3' (str) in [2, '3']"),
    ([2, None], TypeError, "sizes must be positive integers, but sizes[1] is None (NoneType) in [2, None]"),
    ([2, 0], ValueError, "sizes must be positive integers, but sizes[1] is 0 in [2, 0]"),
    ([2, -3, 1], ValueError, "sizes must be positive integers, but sizes[1] is -3 in [2, -3, 1]"),
    ([2], ValueError, "sizes must be at least two positive integers (inputs, ..., outputs), got [2]"),
    ([], ValueError, "sizes must be at least two positive integers (inputs, ..., outputs), got []"),
    ("22", TypeError, "sizes must be a list of positive integers (inputs, ..., outputs), got str '22'"),
    (3, TypeError, "sizes must be a list of positive integers (inputs, ..., outputs), got int"),
]


@pytest.mark.parametrize("build, caller", [
    (lambda sizes: MLP(sizes), "MLP"), (lambda sizes: ScalarMLP(sizes), "ScalarMLP"),
    (lambda sizes: mg.nn.example_network(sizes), "example_network"),
    (lambda sizes: mg.nn.example_network(sizes, scalar=True), "example_network"),
    (lambda sizes: mg.nn.initial_arrays(sizes), "initial_arrays"),
], ids=["MLP", "ScalarMLP", "example_network", "example_network scalar", "initial_arrays"])
@pytest.mark.parametrize("sizes, error, message", BAD_SIZES, ids=[repr(case[0]) for case in BAD_SIZES])
def test_sizes_must_be_positive_integers_and_the_bad_entry_is_named(build, caller, sizes, error, message):
    # MLP used to call int() on each size first, so MLP([2.5, 2]) built a 2-2 net.
    with pytest.raises(error) as raised:
        build(sizes)
    assert str(raised.value).startswith(f"{caller}: "), str(raised.value)
    assert message in str(raised.value)


def test_linear_checks_its_sizes_too():
    with pytest.raises(TypeError, match=r"^Linear: sizes must be positive integers, but sizes\[0\] is 2\.5 \(float\)"):
        mg.nn.Linear(2.5, 3)
    with pytest.raises(ValueError, match=r"^Linear: sizes must be positive integers, but sizes\[1\] is 0"):
        mg.nn.Linear(2, 0)


def test_numpy_integer_sizes_are_accepted_and_stored_as_ints():
    for sizes in (np.array([2, 3, 1]), (np.int64(2), np.int32(3), 1), range(2, 5)):
        for net in (MLP(sizes, seed=0), ScalarMLP(sizes, seed=0)):
            assert net.sizes == tuple(int(size) for size in sizes)
            assert all(type(size) is int for size in net.sizes)


# -- inputs of the wrong width ---------------------------------------------------------------------


@pytest.mark.parametrize("inputs, message", [
    (np.ones(5), "MLP: expected 2 inputs per pattern (the first layer size), got 5 (input shape (5,))"),
    (np.ones((4, 5)), "MLP: expected 2 inputs per pattern (the first layer size), got 5 (input shape (4, 5))"),
    (np.ones((4, 1)), "MLP: expected 2 inputs per pattern (the first layer size), got 1 (input shape (4, 1))"),
    ([1.0, 2.0, 3.0], "MLP: expected 2 inputs per pattern (the first layer size), got 3 (input shape (3,))"),
    (mg.Value(np.ones((3, 3))), "MLP: expected 2 inputs per pattern (the first layer size), got 3 "
                                "(input shape (3, 3))"),
    (2.0, "MLP: expected 2 inputs per pattern (the first layer size), got a single number (input shape ())"),
    (np.array(2.0), "MLP: expected 2 inputs per pattern (the first layer size), got a single number "
                    "(input shape ())"),
], ids=["vector", "batch", "narrow batch", "list", "Value", "number", "0-d array"])
def test_an_mlp_fed_the_wrong_number_of_inputs_says_how_many_it_expects(inputs, message):
    # These used to surface as "matmul: shapes (5,) and (2, 3) do not fit", naming no model.
    model = MLP([2, 3, 1], seed=0)
    with pytest.raises(ValueError) as raised:
        model(inputs)
    assert str(raised.value) == message
    with pytest.raises(ValueError) as raised:
        model.loss(inputs, np.ones(1))
    assert str(raised.value) == message


@pytest.mark.parametrize("inputs, message", [
    (np.ones(5), "ScalarMLP: expected 2 inputs per pattern (the first layer size), got 5 (input shape (5,))"),
    ([0.5], "ScalarMLP: expected 2 inputs per pattern (the first layer size), got 1 (input shape (1,))"),
    ([mg.Value(0.5)] * 3, "ScalarMLP: expected 2 inputs per pattern (the first layer size), got 3 "
                          "(input shape (3,))"),
    (np.ones((4, 2)), "ScalarMLP: takes one pattern at a time, a vector of 2 inputs, got input shape (4, 2)"),
    ([[0.0, 1.0], [1.0, 0.0]], "ScalarMLP: takes one pattern at a time, a vector of 2 inputs, "
                               "got input shape (2, 2)"),
    (np.array(1.0), "ScalarMLP: takes one pattern at a time, a vector of 2 inputs, got input shape ()"),
], ids=["vector", "short list", "Values", "batch", "nested list", "0-d array"])
def test_a_scalar_mlp_fed_the_wrong_inputs_says_the_same(inputs, message):
    model = ScalarMLP([2, 3, 1], seed=0)
    with pytest.raises(ValueError) as raised:
        model(inputs)
    assert str(raised.value) == message


def test_inputs_of_the_right_width_still_work_in_every_form():
    model = MLP([2, 3, 1], seed=0)
    scalar = ScalarMLP.from_mlp(model)
    expected = model(np.array([0.25, 0.75])).data
    np.testing.assert_array_equal(model([0.25, 0.75]).data, expected)
    np.testing.assert_array_equal(model(mg.Value([0.25, 0.75])).data, expected)
    assert model(np.ones((4, 2))).shape == (4, 1)
    assert scalar([0.25, mg.Value(0.75)])[0].data == pytest.approx(float(expected[0]), rel=1e-15)


# -- train, total_sse and accuracy: the data must fit the model ------------------------------------

XOR_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_TARGETS = np.array([[0.0], [1.0], [1.0], [0.0]])


@pytest.mark.parametrize("model, inputs, targets, message", [
    (lambda: MLP([2, 3, 1], seed=0), XOR_INPUTS, np.ones((4, 3)),
     "train: targets have shape (4, 3), width 3, but the MLP [2, 3, 1] has output width 1 "
     "(inputs have shape (4, 2))"),
    (lambda: MLP([2, 3, 2], seed=0), XOR_INPUTS, XOR_TARGETS,
     "train: targets have shape (4, 1), width 1, but the MLP [2, 3, 2] has output width 2 "
     "(inputs have shape (4, 2))"),
    (lambda: MLP([2, 3, 1], seed=0), np.ones((4, 3)), XOR_TARGETS,
     "train: inputs have shape (4, 3), width 3, but the MLP [2, 3, 1] has input width 2 (its first layer size)"),
    (lambda: ScalarMLP([2, 3, 1], seed=0), XOR_INPUTS, np.ones((4, 2)),
     "train: targets have shape (4, 2), width 2, but the ScalarMLP [2, 3, 1] has output width 1 "
     "(inputs have shape (4, 2))"),
    (lambda: mg.nn.Sequential(mg.nn.Linear(2, 3, seed=0), mg.nn.Sigmoid()), XOR_INPUTS, XOR_TARGETS,
     "train: targets have shape (4, 1), width 1, but the model (Sequential) has output width 3 "
     "(inputs have shape (4, 2))"),
], ids=["too wide", "too narrow", "inputs", "scalar net", "any module"])
def test_train_names_both_shapes_when_the_data_does_not_fit_the_model(model, inputs, targets, message):
    # A width mismatch used to surface as "sse: desired has shape (3,) ..." from inside the first update.
    model = model()
    before = snapshot(model)
    with pytest.raises(ValueError) as raised:
        mg.train(model, inputs, targets, max_iterations=5, quiet=True)
    assert str(raised.value) == message
    assert_unchanged(model, before)


@pytest.mark.parametrize("inputs, targets, error, message", [
    (XOR_INPUTS, np.where(XOR_TARGETS == 1.0, np.nan, 0.0), ValueError,
     "train: targets must be finite, but targets[1, 0] is nan"),
    (np.where(XOR_INPUTS == 1.0, np.inf, 0.0), XOR_TARGETS, ValueError,
     "train: inputs must be finite, but inputs[1, 1] is inf"),
    ([["0", "1"], ["a", "b"]], XOR_TARGETS[:2], TypeError,
     "train: inputs must be an array of numbers (could not convert string to float: 'a')"),
    (XOR_INPUTS, [[0.0], [1.0], [1.0], [0.0, 1.0]], TypeError, "train: targets must be an array of numbers ("),
], ids=["nan target", "inf input", "strings", "ragged"])
def test_train_refuses_data_that_is_not_finite_numbers(inputs, targets, error, message):
    # nan targets used to train silently to a nan SSE.
    model = MLP([2, 3, 1], seed=0)
    before = snapshot(model)
    with pytest.raises(error) as raised:
        mg.train(model, inputs, targets, max_iterations=5, quiet=True)
    assert str(raised.value).startswith(message), str(raised.value)
    assert_unchanged(model, before)


def test_total_sse_and_accuracy_refuse_data_that_does_not_fit_instead_of_broadcasting():
    from minigrad.nn.training import accuracy, total_sse

    model = MLP([2, 3, 2], seed=0)
    # (4, 1) targets against (4, 2) outputs used to broadcast into a wrong sum.
    with pytest.raises(ValueError) as raised:
        total_sse(model, XOR_INPUTS, XOR_TARGETS)
    assert str(raised.value) == "total_sse: targets have shape (4, 1) but the model's outputs have shape (4, 2)"
    with pytest.raises(ValueError) as raised:
        accuracy(model, XOR_INPUTS, [0, 1, 1])
    assert str(raised.value) == "accuracy: expected one label per pattern, shape (4,), got labels of shape (3,)"
    with pytest.raises(ValueError) as raised:
        accuracy(model, XOR_INPUTS, np.zeros((4, 1), dtype=int))  # would broadcast to 4×4 comparisons
    assert str(raised.value) == "accuracy: expected one label per pattern, shape (4,), got labels of shape (4, 1)"
    assert accuracy(model, XOR_INPUTS[1], 1) in (0.0, 1.0)  # one pattern, one label
    assert total_sse(model, XOR_INPUTS[1], [1.0, 0.0]) >= 0.0
