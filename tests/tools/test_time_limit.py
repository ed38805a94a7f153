"""minigrad.tools.time_limit: a learner's function is called, never trusted.

Whatever it raises comes back as the outcome (SystemExit and KeyboardInterrupt
too), a busy loop is stopped at the limit in the main thread (SIGALRM) and in
any other thread (an asynchronous exception), a timer set by someone else
survives, and a function that will not stop triggers the `when_stuck` action.
"""

import signal
import sys
import threading
import time

import pytest

from minigrad.tools.time_limit import DEFAULT_TIME_LIMIT, call_learner, when_stuck


def busy_loop():
    total = 0
    while True:
        total += 1


def catches_once():
    """A bare except swallows the first interruption and loops on: the timer fires again."""
    try:
        busy_loop()
    except BaseException:  # noqa: B036 - the learner's habit under test
        pass
    busy_loop()


def stubborn(caught):
    while True:
        try:
            busy_loop()
        except BaseException:  # noqa: B036
            caught.append(1)
            if len(caught) > 4:
                return "gave up"


def in_a_thread(function, *args, **options):
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("outcome", call_learner(function, *args, **options)))
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return box["outcome"]


def test_a_value_is_returned():
    outcome = call_learner(lambda x, y: x + y, 2, 3)
    assert outcome.returned and outcome.value == 5 and outcome.error is None and not outcome.timed_out
    assert outcome.seconds == DEFAULT_TIME_LIMIT and 0 <= outcome.elapsed < DEFAULT_TIME_LIMIT


@pytest.mark.parametrize("run", [call_learner, in_a_thread], ids=["main thread", "other thread"])
@pytest.mark.parametrize("error", [SystemExit(0), KeyboardInterrupt(), GeneratorExit(), ValueError("bad")],
                         ids=lambda error: type(error).__name__)
def test_everything_raised_is_the_outcome(run, error):
    def raises():
        raise error

    outcome = run(raises)
    assert outcome.error is error and not outcome.returned and not outcome.timed_out
    assert outcome.error.__traceback__ is not None  # so the grader can say where


def test_sys_exit_is_an_error_not_a_return():
    outcome = call_learner(sys.exit, 0)
    assert isinstance(outcome.error, SystemExit) and outcome.error.code == 0 and not outcome.returned


@pytest.mark.parametrize("function", [busy_loop, catches_once, time.sleep], ids=["loop", "catches once", "sleep"])
@pytest.mark.parametrize("run", [call_learner, in_a_thread], ids=["main thread", "other thread"])
def test_a_function_that_does_not_return_is_stopped(run, function):
    args = (60,) if function is time.sleep else ()
    start = time.monotonic()
    outcome = run(function, *args, seconds=0.2)
    assert outcome.timed_out and not outcome.returned and outcome.error is None and outcome.seconds == 0.2
    assert time.monotonic() - start < 30  # stopped, not run to its end (a minute, or forever)
    if function is busy_loop:
        assert outcome.stopped is not None and outcome.stopped.__traceback__ is not None


def test_what_it_does_after_the_limit_does_not_count():
    caught = []
    outcome = call_learner(stubborn, caught, seconds=0.2)
    assert outcome.timed_out and outcome.value is None and len(caught) == 5


def test_the_timer_and_handler_of_the_caller_are_put_back():
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.6)
        assert call_learner(lambda: 1, seconds=5).value == 1
        assert call_learner(busy_loop, seconds=0.1).timed_out
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 0 < remaining < 0.6
        time.sleep(0.8)
        assert fired == [signal.SIGALRM]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_nothing_fires_after_a_quick_return():
    for _ in range(20):
        assert call_learner(lambda: 2, seconds=0.01).value == 2
    time.sleep(0.1)  # an alarm left armed would raise in here
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_when_stuck_acts_on_a_function_that_will_not_stop():
    stuck = []

    def never_stops():
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                busy_loop()
            except BaseException:  # noqa: B036
                continue
        return "done"

    with when_stuck(stuck.append):
        outcome = call_learner(never_stops, seconds=0.2)
    assert stuck == [0.2] and outcome.timed_out
    with when_stuck(stuck.append):
        assert call_learner(lambda: 1, seconds=0.2).value == 1
    time.sleep(1.5)
    assert stuck == [0.2]  # a function that returned in time cancels its watchdog


@pytest.mark.parametrize("seconds, error", [(0, ValueError), (-1, ValueError), (float("nan"), ValueError),
                                             (float("inf"), ValueError), ("5", TypeError), (True, TypeError)])
def test_a_bad_limit_is_refused(seconds, error):
    with pytest.raises(error, match=r"grade: time_limit must be"):
        call_learner(lambda: 1, seconds=seconds, caller="grade")


def test_no_limit():
    assert call_learner(lambda: 7, seconds=None).value == 7
    assert isinstance(call_learner(sys.exit, 3, seconds=None).error, SystemExit)
