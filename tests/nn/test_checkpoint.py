"""save_checkpoint / load_checkpoint: weights, optimizer and schedule in one file; training resumes exactly."""

import json
import zipfile

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.optim import SGD, AdamW
from minigrad.optim.lr_scheduler import OneCycleLR, StepLR


def steps(model, optimizer, scheduler, batches, inputs, labels):
    for rows in batches:
        optimizer.zero_grad()
        mg.cross_entropy(model(inputs[rows]), labels[rows]).backward()
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize("kind", ["AdamW", "SGD"])
def test_a_resumed_run_is_bit_for_bit_the_run_that_never_stopped(tmp_path, kind):
    rng = np.random.default_rng(0)
    inputs, labels = rng.random((40, 5)), rng.integers(0, 3, 40)
    order = [rng.permutation(40)[:8] for _ in range(12)]

    def fresh():
        model = nn.Sequential(nn.Linear(5, 6, seed=1, init="he"), nn.ReLU(), nn.Linear(6, 3, seed=2))
        optimizer = AdamW(model, lr=0.01) if kind == "AdamW" else SGD(model, lr=0.1, momentum=0.9, nesterov=True)
        scheduler = OneCycleLR(optimizer, max_lr=0.05, total_steps=12) if kind == "AdamW" else \
            StepLR(optimizer, step_size=3, gamma=0.5)
        return model, optimizer, scheduler
    model, optimizer, scheduler = fresh()
    steps(model, optimizer, scheduler, order[:6], inputs, labels)
    path = nn.save_checkpoint(tmp_path / "run.npz", model, optimizer, scheduler, epoch=6, note="half way")
    steps(model, optimizer, scheduler, order[6:], inputs, labels)

    resumed_model, resumed_optimizer, resumed_scheduler = fresh()
    extra = nn.load_checkpoint(path, resumed_model, resumed_optimizer, resumed_scheduler)
    assert extra == {"epoch": 6, "note": "half way"} and resumed_optimizer.steps == 6
    steps(resumed_model, resumed_optimizer, resumed_scheduler, order[6:], inputs, labels)
    for (name, value), (_, other) in zip(model.named_parameters(), resumed_model.named_parameters()):
        np.testing.assert_array_equal(value.data, other.data, err_msg=name)
    assert resumed_scheduler.get_last_lr() == scheduler.get_last_lr()
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert "model/layers[0].weight.npy" in names and "checkpoint.json" in names
        assert not any(name.endswith(".pkl") for name in names)
        json.loads(archive.read("checkpoint.json"))


def test_a_checkpoint_that_does_not_fit_changes_nothing(tmp_path):
    model = nn.MLP([2, 3, 2], seed=0)
    optimizer = SGD(model, lr=0.1, momentum=0.9)
    model.loss([1.0, 0.0], [1.0, 0.0]).backward()
    optimizer.step()
    path = nn.save_checkpoint(tmp_path / "a.npz", model, optimizer)
    other = nn.MLP([2, 4, 2], seed=1)
    before = other.state_dict()
    with pytest.raises(ValueError, match=r"parameter 'w' has shape \(2, 4\) in the model but \(2, 3\) in the file"):
        nn.load_checkpoint(path, other, SGD(other, lr=0.1, momentum=0.9))
    for name, array in other.state_dict().items():
        np.testing.assert_array_equal(array, before[name])
    with pytest.raises(ValueError, match="the optimizer state was saved from SGD, not AdamW"):
        target = nn.MLP([2, 3, 2], seed=5)
        kept = target.state_dict()
        nn.load_checkpoint(path, target, AdamW(target))
    np.testing.assert_array_equal(target.w.data, kept["w"])  # the model was put back
    with pytest.raises(ValueError, match="unexpected member 'optimizer/0/momentum_buffer.npy' .*pass the optimizer"):
        nn.load_checkpoint(path, nn.MLP([2, 3, 2]))
    model.save(tmp_path / "weights.npz")
    with pytest.raises(ValueError, match="has no checkpoint.json: not a checkpoint"):
        nn.load_checkpoint(tmp_path / "weights.npz", model)
    nn.save_checkpoint(tmp_path / "b.npz", model)
    with pytest.raises(ValueError, match="holds no optimizer state"):
        nn.load_checkpoint(tmp_path / "b.npz", model, optimizer)
    with pytest.raises(TypeError, match="extra values must be numbers"):
        nn.save_checkpoint(tmp_path / "c.npz", model, extra=object())
