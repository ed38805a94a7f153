"""Two per-thread switches: whether ops record the graph, and whether they
check every number they make for nan and inf.

Both are with-blocks (and decorators) that change only the calling thread,
so one thread may evaluate under ``no_grad()`` while another trains.
"""

from __future__ import annotations

import functools
import sys
import threading
import types
import weakref

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly", "is_anomaly_enabled", "AnomalyError",
           "TracingError", "is_tracing", "record_draw", "record_guard"]


class _ThreadState(threading.local):
    """This thread's flags, and the values the open with-blocks replaced (innermost last)."""

    def __init__(self):
        self.recording = True
        self.anomaly = False
        self.tracing = False  # inside minigrad.compile's trace (see `tracing`); no op reads it
        self.drawn = None     # inside a trace that takes random inputs: [(leaf Value, draw)] (`record_draw`)
        self.guards = None    # inside a trace: [(object, attribute, value)] the trace depends on (`record_guard`)
        self.replaced = []


state = _ThreadState()

#: {node: file:line where it was made}, kept only for nodes made under detect_anomaly().
origins: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# NOTE: True while no thread is inside any switch.  Every op reads this one
# global (a thread-local read costs as much as a float multiply) and consults
# its own thread's flags only while it is False.
plain = True
_open_switches = 0
_count_lock = threading.Lock()


class _Switch:
    """Set one flag of this thread's state for the length of a with-block.

    The value it replaces is kept on the thread, not on the switch, so one
    switch object may be shared by several threads (a decorator, a module
    level ``NO_GRAD = no_grad()``).
    """

    def __init__(self, flag, value):
        self.flag = flag
        self.value = value

    def __enter__(self):
        global plain, _open_switches
        if state.tracing and self.flag == "recording" and not self.value:
            raise TracingError(
                f"no_grad() inside a function being compiled, at {user_site()}: what it computes would be "
                "recorded as constants, frozen at this call's numbers; compute it outside the compiled function "
                "and pass it in as an argument")
        with _count_lock:
            _open_switches += 1
            plain = False
        state.replaced.append(getattr(state, self.flag))
        setattr(state, self.flag, self.value)
        return self

    def __exit__(self, *exc_info):
        global plain, _open_switches
        setattr(state, self.flag, state.replaced.pop())
        with _count_lock:
            _open_switches -= 1
            plain = _open_switches == 0
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def switched(*args, **kwargs):
            with self:
                return function(*args, **kwargs)

        return switched


def no_grad() -> _Switch:
    """Ops inside this block record no graph (this thread only).

    Their results have ``requires_grad=False`` and no parents: what
    evaluation and weight updates want.
    """
    return _NO_GRAD


def enable_grad() -> _Switch:
    """Turn recording back on inside a ``no_grad()`` block."""
    return _ENABLE_GRAD


def is_grad_enabled() -> bool:
    """True when ops in this thread record the graph."""
    return state.recording


def detect_anomaly() -> _Switch:
    """Stop at the first nan or inf, in forward or backward (this thread only).

    Inside it every op checks its output as it is made and every backward
    rule the gradients it hands on; the first nan or inf raises
    `AnomalyError` naming the op, the shapes of its inputs and the file and
    line where the node was made.  Outside it nothing is checked.
    """
    return _DETECT_ANOMALY


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` in this thread."""
    return state.anomaly


# One object each is enough: what a switch replaces is kept on the thread.
_NO_GRAD = _Switch("recording", False)
_ENABLE_GRAD = _Switch("recording", True)
_DETECT_ANOMALY = _Switch("anomaly", True)


class AnomalyError(FloatingPointError):
    """A nan or inf appeared inside `detect_anomaly()`."""


class TracingError(RuntimeError):
    """`minigrad.compile` met Python that depends on a traced Value's numbers
    (``if x > 0``, ``float(v)``, ``bool(v)``): the compiled step would keep
    this one call's answer for every later call, so it refuses instead."""


def is_tracing() -> bool:
    """True while this thread runs a function for `minigrad.compile` to trace."""
    return state.tracing


class tracing:
    """``with tracing():`` marks this thread as tracing (minigrad.compile's
    runs of the user's function); the Value methods that would turn a traced
    number into Python control flow read the flag and refuse.

    ``tracing(draws=True)`` (minigrad.compile's) also collects, in ``.drawn``,
    the random inputs the function drew (`record_draw`: dropout's masks),
    which the compiled step draws again on every call; without it a random
    draw is refused.  ``.guards`` collects the attributes the trace depends
    on (`record_guard`: a module's training flag).
    """

    def __init__(self, draws=False):
        self.draws, self.drawn, self.guards = draws, [], []

    def __enter__(self):
        self.replaced = state.tracing, state.drawn, state.guards
        state.tracing, state.drawn, state.guards = True, (self.drawn if self.draws else None), self.guards
        return self

    def __exit__(self, *exc_info):
        state.tracing, state.drawn, state.guards = self.replaced
        return False


def record_draw(value, draw):
    """Inside ``tracing(draws=True)``: ``value`` (a leaf) stands for a random input that
    ``draw()`` makes afresh on every call of the compiled step (False where the trace takes
    none: the caller refuses)."""
    if state.drawn is None:
        return False
    state.drawn.append((value, draw))
    return True


def record_guard(owner, attribute, value):
    """Inside a trace: the traced code holds only while ``owner.attribute == value``."""
    if state.guards is not None:
        state.guards.append((owner, attribute, value))


def refuse_while_tracing(what):
    """Raise `TracingError` for ``what`` (``"bool()"``, ``"float()"``, ...) on a traced Value,
    naming the line of the caller's code that did it."""
    raise TracingError(
        f"{what} on a Value being traced by minigrad.compile, at {user_site()}: the compiled step would keep "
        "this call's answer for every later call (Python control flow or a number taken out of the graph). "
        "Keep it out of the compiled function, pass the number in as an argument, or express it with ops "
        "(relu, sigmoid, arithmetic) instead of Python branches")


def user_site():
    """``file:line (in function)`` of the innermost frame outside this module and minigrad/value.py."""
    here = __file__.rsplit("/", 1)[0] if "/" in __file__ else ""
    skipped = (__file__, f"{here}/value.py")
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename in skipped:
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno} (in {frame.f_code.co_name})"


def creation_site() -> str:
    """File and line of the first frame outside minigrad: where a node was made."""
    frame: types.FrameType | None = sys._getframe(1)
    package_dir = __file__.rsplit("/", 1)[0] if "/" in __file__ else ""
    while frame is not None and frame.f_code.co_filename.startswith(package_dir):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def describe_node(node, op=None, parents=None):
    """``op 'mul' (input shapes (2,), ()), created at file:line``: how anomaly errors name a node."""
    op = op or node.op
    parents = node.parents if parents is None else parents
    shapes = ", ".join(str(parent.shape) for parent in parents)
    where = origins.get(node) or "<unknown>"
    return f"op '{op.name}' (input shapes {shapes}), created at {where}"
