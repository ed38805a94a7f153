"""Threads: graph recording is switched per thread, so one shared no_grad()
object keeps each thread's state, and two threads training two models at once
get bit for bit what training one after the other gives."""

import sys
import threading

import numpy as np

import minigrad as mg
from minigrad.nn import MLP
from minigrad.optim import SGD


def test_one_no_grad_object_shared_by_threads_keeps_each_threads_state():
    shared = mg.no_grad()
    inside, entered, release = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with shared:
            inside.set()
            entered.wait()
            seen["first inside"] = mg.is_grad_enabled()
        seen["first after"] = mg.is_grad_enabled()
        release.set()

    def second():
        inside.wait()
        with shared:
            entered.set()
            release.wait(timeout=5)
        seen["second after"] = mg.is_grad_enabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"first inside": False, "first after": True, "second after": True}


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
