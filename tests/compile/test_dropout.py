"""Dropout under `mg.compile`: each mask is an input of the compiled step, drawn afresh on every
call from the same generator in eager mode's order, so a compiled run equals the eager run of the
same seed bit for bit; a step traced in one mode (train, eval) serves only that mode."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def _model():
    mg.manual_seed(5)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Dropout(0.3), nn.Linear(6, 6), nn.ReLU(),
                         nn.Dropout(0.5, seed=np.random.default_rng(1)), nn.Linear(6, 3))


def _run(compiled, modes):
    """Train with SGD for len(modes) steps (True: train mode), eagerly or compiled: the losses and weights."""
    model = _model()
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    inputs, labels = rng.standard_normal((10, 4)), rng.integers(0, 3, 10)
    mg.manual_seed(7)  # the default generator, which the first Dropout draws from

    def loss(x, t):
        return mg.cross_entropy(model(x), t)

    step = mg.compile(loss, optimizer=optimizer)
    losses = []
    for training in modes:
        model.train(training)
        optimizer.zero_grad()
        if compiled:
            value = step(inputs, labels)
        else:
            value = loss(inputs, labels)
            value.backward()
            optimizer.step()
        losses.append(value.item())
    return losses, [parameter.data.copy() for parameter in model.parameters()], step


def test_a_compiled_run_with_dropout_equals_the_eager_run_of_the_same_seed():
    modes = [True, True, True, False, True, False, True]
    eager_losses, eager_weights, _ = _run(False, modes)
    losses, weights, step = _run(True, modes)
    assert losses == eager_losses
    assert all(np.array_equal(a, b) for a, b in zip(weights, eager_weights))
    assert step.traces == 2  # one trace per mode, each reused when the model returns to it
    assert len(set(eager_losses[:3])) == 3  # the masks differ from call to call


def test_the_masks_are_inputs_of_the_generated_code_and_eval_mode_has_none():
    model = _model()
    step = mg.compile(lambda x: model(x).sum())
    x = np.ones((3, 4))
    step(x)
    source = step.source
    assert "dropout_mask0 (array drawn on every call (3, 6) float64)" in source
    assert "dropout_mask1 (array drawn on every call (3, 6) float64)" in source
    model.eval()
    eager = model(x).sum().item()
    assert step(x).item() == eager
    assert "dropout_mask" not in step.source


def test_a_scalar_and_a_float32_dropout_compile_as_eager():
    for shape, dtype in (((), np.float64), ((5, 3), np.float32)):
        w = mg.Value(np.full(shape, 0.5, dtype=dtype), requires_grad=True)
        step = mg.compile(lambda: (nn.functional.dropout(w * 2.0, 0.4, seed=np.random.default_rng(3)) ** 2).sum())
        eager = (nn.functional.dropout(w * 2.0, 0.4, seed=np.random.default_rng(3)) ** 2).sum()
        eager.backward()
        expected, w.grad = w.grad, None
        assert step().item() == eager.item()
        assert np.array_equal(w.grad, expected) and np.asarray(w.grad).dtype == dtype


def test_check_true_and_onnx_refuse_a_training_mode_dropout_clearly(tmp_path):
    model = _model()
    with pytest.raises(mg.CompileError, match="check=True .* would draw other dropout masks.*model.eval"):
        mg.compile(lambda x: model(x).sum(), check=True)(np.ones((2, 4)))
    with pytest.raises(mg.TracingError, match="dropout in training mode inside onnx.export.*model.eval"):
        mg.onnx.export(model, (np.ones((2, 4)),), tmp_path / "model.onnx")
    model.eval()
    assert mg.compile(lambda x: model(x).sum(), check=True)(np.ones((2, 4))).item() == model(np.ones((2, 4))).sum().item()
