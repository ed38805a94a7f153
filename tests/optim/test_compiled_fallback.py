"""A compiled step with an optimizer takes the same step as eager for every SGD setting (issue 19):
the fused update covers plain SGD only, anything else runs SGD's own step."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import MLP
from minigrad.optim import SGD, AdamW
from minigrad.optim.lr_scheduler import StepLR


@pytest.mark.parametrize("settings", [{"weight_decay": 0.1}, {"momentum": 0.9, "nesterov": True},
                                      {"maximize": True}, "groups"], ids=str)
def test_compiled_steps_equal_eager_steps(settings):
    rng = np.random.default_rng(0)
    inputs, targets = rng.random((6, 3)), rng.random((6, 2))
    nets = [MLP([3, 4, 2], seed=1) for _ in range(2)]

    def make(net):
        if settings == "groups":
            return SGD([{"params": [net.w, net.bias_hidden]}, {"params": [net.v, net.bias_output], "lr": 0.05}],
                       lr=0.5)
        return SGD(net, lr=0.5, **settings)
    optimizers = [make(net) for net in nets]
    step = mg.compile(lambda x, t: nets[1].loss(x, t), optimizer=optimizers[1])
    for _ in range(5):
        optimizers[0].zero_grad()
        nets[0].loss(inputs, targets).backward()
        optimizers[0].step()
        optimizers[1].zero_grad()
        step(inputs, targets)
    for name, value in nets[0].named_parameters():
        np.testing.assert_array_equal(value.data, getattr(nets[1], name).data, err_msg=name)


def test_a_schedule_is_followed_by_a_compiled_step_and_adamw_runs_its_own_step():
    rng = np.random.default_rng(1)
    inputs, targets = rng.random((6, 3)), rng.random((6, 2))
    nets = [MLP([3, 4, 2], seed=2) for _ in range(2)]
    for make in (lambda net: SGD(net, lr=0.5), lambda net: AdamW(net, lr=0.01)):
        optimizers = [make(net) for net in nets]
        schedules = [StepLR(optimizer, step_size=2, gamma=0.5) for optimizer in optimizers]
        step = mg.compile(lambda x, t: nets[1].loss(x, t), optimizer=optimizers[1])
        for _ in range(6):
            optimizers[0].zero_grad()
            nets[0].loss(inputs, targets).backward()
            optimizers[0].step()
            optimizers[1].zero_grad()
            step(inputs, targets)
            for schedule in schedules:
                schedule.step()
        for name, value in nets[0].named_parameters():
            np.testing.assert_array_equal(value.data, getattr(nets[1], name).data, err_msg=name)
        assert optimizers[1].lr == 0.5 ** 3 * optimizers[1].param_groups[0]["initial_lr"]
