"""train with integer class labels, and its stopping rule per loss (issue 19)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import MLP, ScalarMLP
from minigrad.nn.datasets import letters, xor


def test_labels_train_exactly_as_their_one_hot_rows():
    data = letters(noise=0.1, copies=4, seed=0)
    results = []
    for targets in (data.labels, data.targets):
        model = MLP([25, 8, 5], seed=0, output="linear")
        result = mg.train(model, data.inputs, targets, mode="batch", loss="cross_entropy", lr=0.5, epochs=6,
                          batch_size=5, quiet=True)
        results.append((result, model.state_dict()))
    (labelled, weights), (one_hot, reference) = results
    assert labelled.history == pytest.approx(one_hot.history, rel=1e-13)
    for name in weights:
        np.testing.assert_allclose(weights[name], reference[name], rtol=1e-13, atol=1e-15)
    assert labelled.epochs == 6


@pytest.mark.parametrize("model", [MLP([2, 3, 2], seed=0, output="linear"), ScalarMLP([2, 3, 2], seed=0)],
                         ids=["MLP", "ScalarMLP"])
def test_labels_online_match_one_hot_online(model):
    data = xor()
    state = model.state_dict()
    first = mg.train(model, data.inputs, data.labels, loss="cross_entropy", max_iterations=40, quiet=True)
    model.load_state_dict(state)
    second = mg.train(model, data.inputs, data.targets, loss="cross_entropy", max_iterations=40, quiet=True)
    assert first.history == pytest.approx(second.history, rel=1e-12) and first.iterations == 40


def test_cross_entropy_runs_every_epoch_unless_a_threshold_is_given():
    """The chapter's SSE threshold (0.04) must not stop a cross-entropy run."""
    data = xor()
    model = MLP([2, 4, 2], seed=1, output="linear")
    result = mg.train(model, data.inputs, data.labels, mode="batch", loss="cross_entropy", lr=2.0, epochs=400,
                      batch_size=4, quiet=True)
    assert result.threshold is None and result.epochs == 400 and result.final_loss < 0.04
    model = MLP([2, 4, 2], seed=1, output="linear")
    stopped = mg.train(model, data.inputs, data.labels, mode="batch", loss="cross_entropy", lr=2.0, epochs=400,
                       batch_size=4, quiet=True, threshold=0.04)
    assert stopped.converged and stopped.epochs < 400 and stopped.history[-2] >= 0.04 > stopped.final_loss
    assert mg.training.DEFAULT_THRESHOLDS == {"sse": 0.04, "mse": None, "cross_entropy": None}
    sse_run = mg.train(MLP([2, 2, 2], seed=0), data.inputs, data.targets, quiet=True)
    assert sse_run.threshold == 0.04 and sse_run.converged  # the chapter's rule is unchanged


def test_bad_labels_are_named():
    data = xor()
    model = MLP([2, 2, 2], seed=0, output="linear")
    with pytest.raises(ValueError, match=r"each must be in \[0, 2\).*targets\[2\] is 5"):
        mg.train(model, data.inputs, np.array([0, 1, 5, 1]), loss="cross_entropy", quiet=True)
    with pytest.raises(ValueError, match="integer class labels .* are targets for loss='cross_entropy'; loss='sse'"):
        mg.train(model, data.inputs, data.labels, quiet=True)
    with pytest.raises(ValueError, match="4 input patterns but 3 target patterns"):
        mg.train(model, data.inputs, data.labels[:3], loss="cross_entropy", quiet=True)
    with pytest.raises(ValueError, match="threshold must be a finite number > 0, None or 'default', got 'auto'"):
        mg.train(model, data.inputs, data.targets, threshold="auto", quiet=True)


def test_total_loss_takes_labels():
    data = xor()
    model = MLP([2, 3, 2], seed=2, output="linear")
    assert mg.training.total_loss(model, data.inputs, data.labels, "cross_entropy") == pytest.approx(
        mg.training.total_loss(model, data.inputs, data.targets, "cross_entropy"), rel=1e-15)


@pytest.mark.parametrize("make, data", [(lambda: MLP([25, 8, 5], seed=0, output="linear"),
                                          letters(noise=0.1, copies=2, seed=0)),
                                         (lambda: ScalarMLP([2, 3, 2], seed=0), xor())], ids=["MLP", "ScalarMLP"])
@pytest.mark.parametrize("mode", ["batch", "online"])
def test_compiled_training_takes_labels_with_eager_numbers(make, data, mode):
    """compile=True with integer labels: the labels are an integer input of the step, and every
    weight is eager mode's, bit for bit."""
    runs = []
    for compiled in (False, True):
        model = make()
        result = mg.train(model, data.inputs, data.labels, mode=mode, loss="cross_entropy", lr=0.5, quiet=True,
                          compile=compiled, seed=3, **({"epochs": 3, "batch_size": 2} if mode == "batch" else
                                                       {"max_iterations": 30}))
        runs.append((result.history, model.state_dict()))
    (eager_history, eager), (compiled_history, compiled) = runs
    assert compiled_history == eager_history
    for name in eager:
        np.testing.assert_array_equal(compiled[name], eager[name])
