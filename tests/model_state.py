"""A model's parameters and gradients, kept aside, to show an error left the model as it was."""

import numpy as np


def snapshot(model):
    return {name: (np.array(value.data, copy=True), None if value.grad is None else np.array(value.grad, copy=True))
            for name, value in model.named_parameters()}


def assert_unchanged(model, before):
    after = snapshot(model)
    assert after.keys() == before.keys()
    for name, (data, grad) in before.items():
        assert np.array_equal(after[name][0], data), f"{name} data changed"
        assert (grad is None and after[name][1] is None) or np.array_equal(after[name][1], grad), f"{name} grad changed"
