"""Calling a learner's function with a time limit, catching everything it raises.

A grader (`check_derivation`, ``python -m minigrad check``) calls code it
did not write.  `call_learner` runs ``fn(*args)`` and returns an `Outcome`:
what it returned, or what it raised (any exception, ``SystemExit`` and
``KeyboardInterrupt`` included, so ``sys.exit(0)`` is reported, never taken
for success), or that it did not return within ``seconds``.

How the limit is enforced:

* **In the main thread** (a script, the command line, a notebook), an
  interval timer (``signal.setitimer``, SIGALRM) raises an exception inside
  the function when the time is up, and again every 50 ms until the
  function has unwound (a bare ``except:`` that swallows one and carries on
  gets the next).  The function runs in the caller's own thread: thread-local state
  such as `minigrad.no_grad` is the caller's.  A timer someone else had set
  is put back, less the time used.
* **Elsewhere** (another thread, or a platform without SIGALRM), the function
  runs in a daemon thread; when the time is up, CPython's
  ``PyThreadState_SetAsyncExc`` raises the same exception in that thread at
  its next bytecode.

Either way a busy Python loop stops: it is reported as timed out, and the
grader goes on.  What no in-process limit can stop: a loop that catches
``BaseException`` every time and loops again, and a long call into C (one
enormous numpy product).  For those, `when_stuck` sets what happens a
second after the limit: the command line prints the verdict and ends its
own process, so ``python -m minigrad check`` never hangs.  ``os._exit``
ends the process too early to report anything; a grader that must
withstand deliberate attack runs the learner in a sandbox of its own.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

from ..core import checks

__all__ = ["call_learner", "Outcome", "when_stuck", "DEFAULT_TIME_LIMIT"]

#: Seconds a learner's function may take on one case before it is stopped.
DEFAULT_TIME_LIMIT = 5.0

# After the limit, the timer fires again this often until the function has unwound.
_REPEAT = 0.05

# How long the thread fallback keeps raising in a thread that will not stop.
_GRACE = 1.0


class _Expired(BaseException):
    """Raised inside the learner's code when its time is up (a BaseException, so ``except Exception`` lets it
    through)."""


@dataclass
class Outcome:
    """What one call did: ``value`` when it returned; ``error`` (the exception, with its traceback) when it
    raised; ``timed_out`` when it did not return within ``seconds``, with ``stopped`` the exception that stopped it
    (its traceback says where; None when the thread fallback could not stop it).  ``elapsed``: seconds it ran."""

    value: Any = None
    error: Optional[BaseException] = None
    timed_out: bool = False
    stopped: Optional[BaseException] = None
    seconds: Optional[float] = None
    elapsed: float = 0.0

    @property
    def returned(self) -> bool:
        return self.error is None and not self.timed_out


def call_learner(fn: Callable[..., Any], *args: Any, seconds: Optional[float] = DEFAULT_TIME_LIMIT,
                 caller: str = "call_learner") -> Outcome:
    """Run ``fn(*args)``, stopped after ``seconds`` (None: no limit); never raises what ``fn`` raises.

    ``caller`` names the function in the error for a bad ``seconds``.
    """
    if seconds is not None:
        seconds = checks.positive_real(seconds, "time_limit", caller)
    start = time.perf_counter()
    if seconds is None:
        outcome = _unlimited(fn, args)
    elif threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        outcome = _with_timer(fn, args, seconds)
    else:
        outcome = _in_thread(fn, args, seconds)
    outcome.seconds = seconds
    outcome.elapsed = time.perf_counter() - start
    return outcome


def _unlimited(fn, args):
    try:
        return Outcome(value=fn(*args))
    except BaseException as error:  # the learner's code: SystemExit and KeyboardInterrupt are theirs too
        return Outcome(error=error)


def _with_timer(fn, args, seconds):
    boundary = sys._getframe()
    state = {"done": False, "expired": False}

    def on_alarm(signum, frame):
        if state["done"] or frame is boundary:
            return  # NOTE: in this very frame, the function has returned (it runs inside _called)
        state["expired"] = True
        raise _Expired

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds, _REPEAT)
    start = time.monotonic()
    result = [None, None, None]  # value, error, the _Expired that stopped it
    with _watchdog(seconds):
        try:
            result[0] = _called(fn, args)
        except _Expired as expired:
            result[2] = expired
        except BaseException as error:  # the learner's code: SystemExit and KeyboardInterrupt are theirs too
            result[1] = error
        state["done"] = True
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous_handler)
    if previous_delay > 0:
        remaining = previous_delay - (time.monotonic() - start)
        signal.setitimer(signal.ITIMER_REAL, max(remaining, 1e-6), previous_interval)
    if state["expired"]:  # whatever it did after the first interruption (caught it, raised another), time was up
        return Outcome(timed_out=True, stopped=result[2])
    return Outcome(value=result[0], error=result[1])


def _called(fn, args):
    """``fn(*args)`` one frame down, so that the alarm handler can tell the learner's time (this frame and
    below, a C function such as time.sleep included) from the grader's (the caller's frame)."""
    return fn(*args)


def _in_thread(fn, args, seconds):
    box = {}

    def run():
        try:
            box["value"] = fn(*args)
        except _Expired as expired:
            box["stopped"] = expired
        except BaseException as error:  # the learner's code
            box["error"] = error

    thread = threading.Thread(target=run, name=f"learner {getattr(fn, '__name__', 'function')}", daemon=True)
    with _watchdog(seconds):
        thread.start()
        thread.join(seconds)
        if thread.is_alive():
            deadline = time.monotonic() + _GRACE
            while thread.is_alive() and time.monotonic() < deadline:
                if hasattr(ctypes, "pythonapi"):  # CPython's; elsewhere the thread is only left behind
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident),
                                                               ctypes.py_object(_Expired))
                thread.join(_REPEAT)
            # NOTE: a thread that still runs (a long C call, or a loop that catches BaseException) is left
            # running as a daemon: it cannot be killed, and the outcome is reported all the same.
            return Outcome(timed_out=True, stopped=box.get("stopped"))
    if "stopped" in box:
        return Outcome(timed_out=True, stopped=box["stopped"])
    return Outcome(value=box.get("value"), error=box.get("error"))


#: What to do when a function has not unwound _GRACE seconds after its limit (see `when_stuck`).
_WHEN_STUCK: contextvars.ContextVar = contextvars.ContextVar("minigrad_when_stuck", default=None)


@contextlib.contextmanager
def when_stuck(action: Callable[[float], None]):
    """Within this block, call ``action(seconds)`` from a watchdog thread when a learner's function has not
    unwound ``_GRACE`` seconds after its limit: it catches BaseException and loops again, or is stuck in C.

    The command line passes an action that prints the verdict and ends the process (``os._exit``), so
    ``python -m minigrad check`` never hangs; in a notebook or a library call nothing is set, and such a
    function runs on.
    """
    token = _WHEN_STUCK.set(action)
    try:
        yield
    finally:
        _WHEN_STUCK.reset(token)


@contextlib.contextmanager
def _watchdog(seconds):
    action = _WHEN_STUCK.get()
    if action is None:
        yield
        return
    timer = threading.Timer(seconds + _GRACE, action, args=(seconds,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
