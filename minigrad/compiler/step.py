"""`minigrad.compile`: trace a step once, replay it as generated numpy code.

    step = minigrad.compile(net.loss)     # any function returning a one-element Value
    loss = step(inputs, desired)          # traces on the first call, replays after
    optimizer.step()                      # parameters hold .grad as loss.backward() leaves them
    print(step.source)                    # the generated forward and backward

Tracing runs the function once, eagerly; then every op's own rules run
again on tracers (`minigrad.compiler.trace`), in eager's order, and the
generated code makes the calls they made, on the same numbers, so replays
give eager's loss and gradients bit for bit (it only skips the bookkeeping,
and keeps arrays in buffers: `minigrad.compiler.program`; the text:
`minigrad.compiler.source`).  An op needs nothing of its own to be compiled:
its rules are its code.  Data of another Array API library: `_write_rules`.

What a call does, what a trace specializes on, what it freezes and what it
refuses with `TracingError`: docs/compile.md.
"""

from __future__ import annotations

import collections
import contextlib
import gc
import inspect
import linecache
import re
import threading
import time
import types
import warnings
import weakref

import numpy as np

from ..core import functional, namespace
from ..core.backward import _one_pass_at_a_time as _gradient_lock
from ..core.backward import add_gradients as add_gradient, backward_order, topological_order, unbroadcast
from ..core.modes import TracingError, enable_grad, is_grad_enabled, state, tracing
from ..core.names import argument_names, graph_names
from ..core.value import Value, as_data, leaf, traced_options
from .program import Program, identifier
from .source import compile_source, module_source, replay_source
from .trace import CompileError, Tracer

__all__ = ["compile", "CompiledStep", "Trace", "TracingError", "CompileError", "CompileCheckError"]

_ndarray = np.ndarray  # NOTE: one global lookup in the replay's type tests, run on every call

# NOTE: compiled steps add their gradients under backward's own lock
# (`_gradient_lock`), so compiled steps and eager backward passes sharing
# parameters in several threads add every contribution exactly once.


class CompileCheckError(AssertionError):
    """``check=True``: the compiled step and eager mode disagree beyond rounding."""


# ---------------------------------------------------------------------------
# Tracing: run the function once on Values standing for its arguments
# ---------------------------------------------------------------------------


class _Node:
    """A recorded node, copied out of the traced graph (what the ops' rules are run again from),
    so the graph itself can be dropped before the code is generated."""

    __slots__ = ("op", "parents", "saved", "_data", "requires_grad", "name", "options", "_mark", "_pending")

    def __init__(self, source, parents, requires_grad):
        self.op, self.parents, self.saved, self._data = source.op, parents, source.saved, source._data
        self.requires_grad, self.name = requires_grad, source.name
        self._mark = 0  # backward_order counts on the nodes, as backward does
        self.options = traced_options.get(source, {})  # what its forward rule was given besides its inputs

    @property
    def dtype(self):  # what an op's display facts may read (Cast's label)
        return np.result_type(self._data)


class _Slot:
    """One traced input: an argument, or an entry of a list or tuple argument."""

    __slots__ = ("name", "kind", "requires_grad", "cast", "draw")

    def __init__(self, name, kind, requires_grad=False, draw=None):
        self.name, self.kind, self.requires_grad = name, kind, requires_grad
        self.cast = None  # np.float32: a float64 array eager mode casts, cast on every call
        self.draw = draw  # kind "drawn": makes this input afresh on every call (a dropout mask)


def _spec(data):
    """What a trace specializes on in one piece of data (its part of the cache key)."""
    if type(data) is float:
        return float
    if type(data) is _ndarray:
        # NOTE: the memory order of a matrix decides the order of numpy's sums, so it is part of the key
        return data.shape, data.dtype, data.strides if data.ndim > 1 else None
    return "foreign", namespace.library(data), tuple(data.shape), str(data.dtype), str(namespace.device(data))


def _signature(argument, key, data, where):
    """Append ``argument``'s part of the cache key to ``key`` and its traced entries to ``data``."""
    kind = type(argument)
    if kind is _ndarray or kind is float or namespace.is_foreign(argument):
        key.append(_spec(argument))
        data.append(argument)
    elif kind is Value:
        key.append((Value, _spec(argument._data), argument.requires_grad))
        data.append(argument)
    elif kind is list or kind is tuple:
        key.append((kind, len(argument)))
        for item in argument:
            _signature(item, key, data, where)
        key.append(None)
    elif isinstance(argument, (np.floating, np.ndarray)):  # numpy scalars, array subclasses: as eager reads them
        _signature(as_data(argument, where), key, data, where)
    else:
        try:
            hash(argument)
        except TypeError:
            raise CompileError(f"{where}: an argument of type {kind.__name__} cannot be traced; pass numbers, "
                               "numpy arrays, Values, or lists and tuples of them (other arguments must be "
                               "hashable: the step is specialized on them)") from None
        key.append(("static", kind, argument))


class Trace:
    """One specialization of a compiled step: generated code for one signature.

    ``source`` is the generated module; ``signature`` the cache key;
    ``parameters`` the ``(name, Value)`` pairs the function reached by itself
    (their ``.data`` is read on every call); ``seconds`` how long tracing
    (``trace``), writing the code (``generate``) and compiling it
    (``compile``) took.
    """

    def __init__(self, generation, source, program, namespace, generating):
        """Compile ``source``, written since ``generating``, into ``namespace``."""
        compiling = time.perf_counter()
        self._filename = compile_source(source, generation.step.__name__, program, namespace)
        slots, done = generation.slots, time.perf_counter()
        self.signature, self._slots = generation.key, slots
        self._leaves, self._specs = generation.leaves, generation.specs
        self.source, self._root_name = source, generation.root_name
        self.seconds = {"trace": generation.traced_seconds, "generate": compiling - generating,
                        "compile": done - compiling, "total": done - generation.started}
        self.function = namespace["forward_backward"]
        self.replay = namespace.get("replay")  # the generated fast path, for flat arguments
        self._lock = namespace["BUFFERS_LOCK"]  # NOTE: the one lock of this trace's buffers, also replay's
        self._casts = [(index, slot.cast) for index, slot in enumerate(slots) if slot.cast is not None or
                       slot.kind == "convert"]
        self._grad_slots = generation.grad_slots
        self._draws = [slot.draw for slot in slots if slot.kind == "drawn"]
        self.guards = ()  # (object, attribute, value): the trace holds only while each still reads so

    @property
    def parameters(self):
        return [(name, value) for (name, value, grad) in self._leaves if grad]

    def run(self, data):
        """Replay on the traced entries ``data`` (arrays, floats, Values): ``(loss, [(Value, grad), ...])``,
        or None when a parameter no longer fits the trace."""
        inputs = [item._data if type(item) is Value else item for item in data]
        inputs += [draw() for draw in self._draws]  # dropout masks, drawn in eager mode's order
        for index, dtype in self._casts:
            inputs[index] = as_data(inputs[index], "compile") if dtype is None else \
                np.asarray(inputs[index], dtype=dtype)
        leaves = [value._data for _, value, _ in self._leaves]
        if any(_spec(payload) != spec for payload, spec in zip(leaves, self._specs)):
            return None
        with self._lock:  # NOTE: the buffers are this trace's; one call at a time uses them
            loss, grads = self.function(*inputs, *leaves)
        targets = [data[index] for index in self._grad_slots] + [value for _, value in self.parameters]
        return loss, list(zip(targets, grads))

    def __repr__(self):
        return f"<Trace of {len(self._slots)} inputs, {len(self.parameters)} parameters>"


_EXACT_UNDER_CAST = {"reshape", "transpose", "getitem", "stack", "neg"}


class CompiledStep:
    """A function compiled by `compile`: call it as the function itself (see `compile`).

    Gradient arrays are handed over, never reused: each call's are new.
    """

    def __init__(self, function, check=False, fold=True, cache_size=8, optimizer=None):
        if not callable(function):
            raise TypeError(f"compile: expected a function, got {type(function).__name__}")
        if optimizer is not None and not (callable(getattr(optimizer, "step", None)) and hasattr(optimizer, "params")):
            raise TypeError(f"compile: optimizer must be a minigrad.optim.Optimizer (SGD, Adam), "
                            f"got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
            raise ValueError(f"compile: cache_size must be a positive integer, got {cache_size!r}")
        self.function, self.check, self.fold, self.cache_size = function, bool(check), bool(fold), cache_size
        self.traces = 0          # how many times the function has been traced
        self._cache = collections.OrderedDict()
        self._guarded = {}  # (id, attribute) -> the object some trace depends on: the values are in the key
        self._latest = self._fast = None
        self._lock = threading.Lock()
        self._warned = False
        self.__name__ = getattr(function, "__name__", type(function).__name__)
        self.__doc__ = getattr(function, "__doc__", None)

    @property
    def latest(self):
        """The `Trace` used by the most recent call (None before the first)."""
        return self._latest

    @property
    def source(self):
        """The generated module of the most recent call's trace: forward and backward, readable Python."""
        if self._latest is None:
            raise RuntimeError(f"compile: {self.__name__} has not been called yet, so there is no code; "
                               "call it (or step.trace(...)) first")
        return self._latest.source

    def clear(self):
        """Forget every trace (the next call traces again): after replacing a parameter
        Value, rather than assigning its ``.data``, which a trace sees by itself."""
        with self._lock:
            self._cache.clear()
            self._latest = self._fast = None

    def trace(self, *args, **kwargs):
        """Trace for these arguments (or reuse the trace that fits them) without
        running the step; returns the `Trace` (its ``source`` is the generated code)."""
        return self._entry(self._key(args, kwargs)[0], args, kwargs)

    def __call__(self, *args, **kwargs):
        if state.tracing:
            raise TracingError(f"compile: {self.__name__} (a compiled step) was called inside a function being "
                               "traced; its result would be a constant.  Call the function it compiles instead")
        fast = self._fast
        if fast is not None and not kwargs:
            loss = fast(*args)  # the latest trace's generated replay: None unless everything fits it
            if loss is not None:
                return loss
        key, data = self._key(args, kwargs)
        entry = self._entry(key, args, kwargs)
        result = entry.run(data)
        if result is None:  # a parameter changed its kind, shape or dtype: trace again
            entry = self._entry(key, args, kwargs, stale=entry)
            result = entry.run(data)
        loss, grads = result
        if self.check:
            self._compare_with_eager(args, kwargs, loss, grads)
        with _gradient_lock:
            for value, grad in grads:
                earlier = value.grad
                value.grad = grad if earlier is None else add_gradient(earlier, grad)
            if self.optimizer is not None:
                self.optimizer.step()
        if not self.check and not self._guarded:  # NOTE: the replay checks the arguments, not the guards
            self._fast = entry.replay
        return leaf(loss, requires_grad=False, name=entry._root_name)

    def __get__(self, instance, owner=None):
        """As a method decorator: ``@minigrad.compile`` on a Module's method binds like a method
        (the instance is an argument the step is specialized on)."""
        return self if instance is None else types.MethodType(self, instance)

    def __repr__(self):
        return f"<compiled {self.__name__}: {len(self._cache)} trace(s) cached, {self.traces} made>"

    # -- the cache ------------------------------------------------------------------------------

    def _key(self, args, kwargs):
        key, data = [], []
        where = f"compile({self.__name__})"
        for argument in args:
            _signature(argument, key, data, where)
        for name in sorted(kwargs):
            key.append(name)
            _signature(kwargs[name], key, data, where)
        if self._guarded:  # a module's training flag: a trace in train mode does not serve eval mode
            key.append(tuple(getattr(owner, attribute) for (_, attribute), owner in self._guarded.items()))
        return tuple(key), data

    def _entry(self, key, args, kwargs, stale=None):
        with self._lock:
            entry = self._cache.get(key)
            if entry is not None and entry is not stale:
                self._cache.move_to_end(key)
                self._latest = entry
                return entry
        entry = _trace(self, args, kwargs, key)
        with self._lock:
            self.traces += 1
            guarded = len(self._guarded)
            for owner, attribute, _ in entry.guards:  # a module read for the first time: its flag joins the key
                self._guarded.setdefault((id(owner), attribute), owner)
            if len(self._guarded) > guarded:
                self._fast = None
                key = self._key(args, kwargs)[0]
            self._cache[key] = entry
            self._cache.move_to_end(key)
            if len(self._cache) > self.cache_size:
                _, evicted = self._cache.popitem(last=False)
                linecache.cache.pop(evicted._filename, None)
                if not self._warned:
                    self._warned = True
                    warnings.warn(f"compile: {self.__name__} has been traced {self.traces} times, more than its "
                                  f"cache holds ({self.cache_size}); each new signature (shapes, dtypes, int and "
                                  "other static arguments) traces again, so a value that changes every call "
                                  "defeats the cache", RuntimeWarning, stacklevel=3)
            self._latest = entry
        return entry

    # -- check=True -------------------------------------------------------------------------------

    def _compare_with_eager(self, args, kwargs, loss, grads):
        """Run the function eagerly beside the replay (``.grad`` untouched) and compare loss and gradients."""
        eager_loss = self.function(*args, **kwargs)
        eager = functional.grad(eager_loss, [value for value, _ in grads], allow_unused=True)
        dtype = np.asarray(namespace.to_numpy(loss)).dtype  # another library's numbers: compared on the host
        rtol = 1e-12 if dtype == np.float64 else 1e-5
        _check_close("the loss", loss, eager_loss.data, rtol, self.__name__)
        for (value, grad), expected in zip(grads, eager):
            label = f"∂loss/∂{value.name or 'a parameter of shape ' + str(value.shape)}"
            _check_close(label, grad, expected, rtol, self.__name__)


def _check_close(label, got, expected, rtol, name):
    """``check=True`` for one quantity: the same kind and shape, and |got − expected| ≤ rtol·|expected|."""
    start = f"compile(check=True) for {name}: {label}"
    if expected is None:
        raise CompileCheckError(f"{start} exists in the compiled step but eager backward gave none")
    got, expected = namespace.to_numpy(got), namespace.to_numpy(expected)
    got_array, expected_array = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if got_array.shape != expected_array.shape or (type(got) is float) != (type(expected) is float):
        raise CompileCheckError(f"{start} is {type(got).__name__} of shape {got_array.shape} compiled but "
                                f"{type(expected).__name__} of shape {expected_array.shape} eager")
    bad = ~np.isclose(got_array, expected_array, rtol=rtol, atol=1e-300, equal_nan=True)
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise CompileCheckError(
            f"{start}{list(where) if where else ''} is {got_array[where]!r} compiled but {expected_array[where]!r} "
            f"eager (allowed relative difference {rtol:g}); step.source shows the generated code")


def compile(function=None, *, optimizer=None, check=False, fold=True, cache_size=8):
    """Compile ``function`` (which returns a one-element Value) into a `CompiledStep`.

    Each call of the result runs forward and backward as generated numpy
    code, returns the loss as a Value that needs no gradient, and leaves
    ``.grad`` exactly as ``loss.backward()`` would (docs/compile.md: what a
    call does, and what a trace specializes on).

    ``check=True`` also runs the function eagerly on every call and raises
    `CompileCheckError` on any difference beyond rounding (1e-12 relative in
    float64, 1e-5 in float32).  ``fold=False`` keeps constants (the seed 1,
    −1, α) by name beside their formulas instead of folding them away.
    ``cache_size`` bounds the traces kept (least recently used goes first).
    Usable as a decorator, with or without arguments.

    ``optimizer`` (a `minigrad.optim.Optimizer`): each call also takes its
    step once the gradients are added, with ``optimizer.step()``'s numbers
    (plain SGD, ``w ← w − η ∂SSE/∂w``, is written into the generated code).
    """
    if function is None:
        return lambda function: CompiledStep(function, check, fold, cache_size, optimizer)
    return CompiledStep(function, check, fold, cache_size, optimizer)


def _trace(step, args, kwargs, key, cast=frozenset(), floats=frozenset()):
    """Trace ``step.function`` for these arguments and generate its code: a `Trace`."""
    started = time.perf_counter()
    where = f"compile({step.__name__})"
    positional_names = argument_names(step.function, len(args), extra="arg{k}")
    slots, wrappers = [], []

    def wrap(argument, name):
        kind = type(argument)
        if kind is list or kind is tuple:
            return kind(wrap(item, f"{name}_{index}") for index, item in enumerate(argument))
        if kind is Value:
            data, slot = argument._data, _Slot(argument.name or name, "value", argument.requires_grad)
        elif kind is _ndarray and argument.dtype.kind in "iu" and len(slots) not in floats:  # integer labels
            data, slot = argument, _Slot(name, "integer")
        elif kind is _ndarray and argument.dtype != np.float64 and argument.dtype != np.float32:
            data, slot = as_data(argument, where), _Slot(name, "convert")
        elif kind is float or kind is _ndarray or namespace.is_foreign(argument):
            data, slot = argument, _Slot(name, "float" if kind is float else "array")
        elif isinstance(argument, (np.floating, np.ndarray)):  # numpy scalars, array subclasses
            return wrap(as_data(argument, where), name)
        else:
            return argument  # static: the trace is specialized on it
        if len(slots) in cast:
            data, slot.cast = data.astype(np.float32), np.float32
        wrapper = leaf(data, requires_grad=True, name=slot.name)  # recorded through every op; needs come from the slots
        slots.append(slot)
        wrappers.append(wrapper)
        return wrapper

    traced_args = [wrap(argument, name) for argument, name in zip(args, positional_names)]
    traced_kwargs = {name: wrap(kwargs[name], name) for name in sorted(kwargs)}
    recording = contextlib.nullcontext() if is_grad_enabled() else enable_grad()
    # two libraries meeting: eager's MixedArraysError
    with tracing(draws=True) as traced, recording, np.errstate(all="ignore"):
        root = step.function(*traced_args, **traced_kwargs)
    # NOTE: traced_options keeps the options of the nodes recorded just now (weakly), for the copy below
    del traced_args, traced_kwargs
    if traced.drawn and step.check:
        raise CompileError(f"{where}: check=True runs the function eagerly beside each call, which would draw other "
                           "dropout masks than the compiled step's; check with the model in eval mode (model.eval())")
    for number, (mask, draw) in enumerate(traced.drawn):  # random inputs: drawn by the step on every call
        slots.append(_Slot(mask.name if len(traced.drawn) == 1 else f"{mask.name}{number}", "drawn", draw=draw))
        wrappers.append(mask)
    if type(root) is not Value or root.size != 1:
        got = f"shape {root.shape}; reduce it first (e.g. .sum())" if type(root) is Value else type(root).__name__
        raise CompileError(f"{where}: the function must return a one-element Value (the loss), got {got}")
    traced_seconds = time.perf_counter() - started

    # -- what each leaf is, and which nodes need a gradient ---------------------------------------
    nodes = topological_order(root)
    foreign = any(namespace.is_foreign(item._data) for item in nodes + wrappers)  # whose code is written
    slot_of = {id(wrapper): index for index, wrapper in enumerate(wrappers)}
    needs, raw = {}, set()
    parameters, constants = [], []
    for node in nodes:
        index = slot_of.get(id(node))
        if node.parents:
            needs[node] = any(needs[parent] for parent in node.parents)
            if any(parent in raw for parent in node.parents) and all(
                    parent in raw or (not parent.parents and not needs[parent] and id(parent) not in slot_of)
                    for parent in node.parents):
                raw.add(node)
        elif index is not None:
            needs[node] = slots[index].requires_grad
            if slots[index].kind != "value":
                raw.add(node)  # a plain number or array in eager mode, not a Value
        else:
            needs[node] = node.requires_grad
            (parameters if node.requires_grad else constants).append(node)
    if not needs[root]:
        raise CompileError(f"{where}: the loss does not depend on any Value that requires grad (only on "
                           "constants and arguments that need no gradient), so there is nothing to differentiate")
    _refuse_baked_data(nodes, constants, slot_of, where)
    recast = _dtype_casts(nodes, raw, slot_of, slots, where)
    # NOTE: an integer array that meets any op but one that takes integers (one_hot) is floats, as in eager mode
    as_floats = {slot_of[id(parent)] for node in nodes if node.parents and not getattr(node.op, "integer_inputs", False)
                 for parent in node.parents if id(parent) in slot_of and slots[slot_of[id(parent)]].kind == "integer"}
    if recast or as_floats:
        return _trace(step, args, kwargs, key, cast | recast, floats | as_floats)

    # -- names (the chapter's where the graph is the chapter's network) ----------------------------
    given = {wrapper: slot.name for wrapper, slot in zip(wrappers, slots)}
    # The Module a bound method belongs to (or that is the function): anything with named_parameters()
    # (the compiler does not import minigrad.nn).
    owner = step.function.__self__ if inspect.ismethod(step.function) else step.function
    named = getattr(owner, "named_parameters", None)
    module_names = {id(value): name for name, value in named()} if callable(named) else {}
    for number, parameter in enumerate(parameters):
        given[parameter] = parameter.name or module_names.get(id(parameter)) or f"parameter{number}"
    display = graph_names(root, given)

    # -- a copy of the graph, so the graph itself can go before the code is written ---------------
    copies = {}
    for node in nodes:
        copies[node] = _Node(node, tuple(copies[parent] for parent in node.parents), needs[node])
    copy_root = copies[root]
    copy_nodes = [copies[node] for node in nodes]
    copy_names = {copies[node]: display[node] for node in nodes}
    input_nodes = [copies.get(wrapper) for wrapper in wrappers]
    trace_inputs = [wrapper._data for wrapper in wrappers]
    parameter_pairs = [(copies[parameter], parameter) for parameter in parameters]
    constant_refs = [(copies[constant], weakref.ref(constant)) for constant in constants]
    del root, nodes, copies, display, wrappers, parameters, constants, node, needs, raw, given
    # NOTE: a constant Value still alive now is held by the caller, who may assign its .data:
    # it is read on every call.  The rest were made by ops from plain numbers: frozen.
    live = [(copy, ref()) for copy, ref in constant_refs if ref() is not None]

    generation = Generation(step, key, started, traced_seconds, slots, input_nodes, trace_inputs, parameter_pairs,
                            live, copy_root, copy_nodes, copy_names)
    trace = _write_rules(generation) if foreign else _generate(generation)
    trace.guards = tuple(traced.guards)
    return trace


def _refuse_baked_data(nodes, constants, slot_of, where):
    """A constant holding the very array of a traced Value: its ``.data`` was read inside the
    function (or ``.detach()`` used), which would freeze this call's numbers.

    # NOTE: arrays only.  Python shares equal float objects (a literal 1.0 in the function may be
    # the very float passed as an argument), so a float's identity proves nothing; check=True
    # catches a float read out of .data at the first call after it changes.
    """
    traced = set()
    for node in nodes:
        data = node._data
        if type(data) is _ndarray and (node.parents or node.requires_grad or id(node) in slot_of):
            traced.update({id(data), id(data.base)} if data.base is not None else {id(data)})
    for constant in constants:
        data = constant._data
        if type(data) is _ndarray and (id(data) in traced or (data.base is not None and id(data.base) in traced)):
            raise TracingError(f"{where}: a constant in the traced graph holds the numbers of a traced Value "
                               "(its .data read inside the function, or .detach()); the compiled step would "
                               "keep this call's numbers.  Use the Value itself in the computation")


def _dtype_casts(nodes, raw, slot_of, slots, where):
    """The float64 array arguments that eager mode would cast to float32 (a plain array meeting
    a float32 Value takes its dtype): traced again as float32, cast on every call."""
    casts, kept = set(), set()
    for node in nodes:
        if not node.parents or node in raw:
            continue
        first = next((parent for parent in node.parents
                      if parent not in raw and (parent.parents or parent.requires_grad)), None)
        float32 = first is not None and type(first._data) is _ndarray and first._data.dtype == np.float32
        for parent in node.parents:
            if parent in raw and type(parent._data) is _ndarray and parent._data.dtype == np.float64:
                (casts if float32 else kept).update(_raw_sources(parent, slot_of, float32, where))
    clash = casts & kept
    if clash:
        names = ", ".join(slots[index].name for index in sorted(clash))
        raise CompileError(f"{where}: the float64 array argument(s) {names} meet both float32 and float64 Values; "
                           "eager mode would cast them to float32 in some ops only.  Pass them as float32 (or "
                           "float64) arrays of the dtype you mean")
    return frozenset(casts)


def _raw_sources(node, slot_of, casting, where):
    """The argument slots a plain-array value is made of."""
    sources, stack = set(), [node]
    while stack:
        item = stack.pop()
        if id(item) in slot_of:  # an argument (a leaf)
            sources.add(slot_of[id(item)])
        elif item.parents and casting and item.op.name not in _EXACT_UNDER_CAST:
            raise CompileError(f"{where}: arguments combined by '{item.op.name}' meet a float32 Value; eager mode "
                               "computes that in float64 and rounds after, which a trace cannot repeat. Pass "
                               "float32 arrays")
        stack.extend(item.parents)
    return sources


# ---------------------------------------------------------------------------
# Writing the code: the ops' own rules, run on tracers
# ---------------------------------------------------------------------------


class Generation:
    """What writing one trace's code needs (from `_trace`: the traced arguments' slots, their
    nodes and data; the parameters' and live constants' (node, Value) pairs; the copied graph
    and its display names), and what the writer makes along the way."""

    def __init__(self, step, key, started, traced_seconds, slots, input_nodes, trace_inputs, parameter_pairs, live,
                 root, nodes, display):
        self.step, self.key, self.started, self.traced_seconds = step, key, started, traced_seconds
        self.where = f"compile({step.__name__})"
        self.program = Program(step.fold, self.where)
        self.slots, self.input_nodes, self.trace_inputs = slots, input_nodes, trace_inputs
        self.parameter_pairs, self.live = parameter_pairs, live
        self.root, self.nodes, self.display = root, nodes, display
        # Which inputs get a gradient: the arguments' slots that need one, then every parameter.
        self.grad_slots = [index for index, node in enumerate(input_nodes) if node is not None and node.requires_grad]
        self.grad_leaves = [input_nodes[index] for index in self.grad_slots] + [node for node, _ in parameter_pairs]
        self.specs = [_spec(node._data) for node, _ in parameter_pairs + live]
        self.names = {}        # node -> its name in the code
        self.tracer_of = {}    # node -> the tracer of its data
        self.saved_of = {}     # node -> what its forward rule saved, traced
        self.input_tracers = []  # the tracer of each of inputs(), in order

    def inputs(self):
        """The generated function's inputs, as ``(node, stem, data)``: every traced argument (node None
        where the graph never reached it), then the parameters, then the constant Values the caller
        holds (read on every call)."""
        arguments = [(node, slot.name, data) for slot, node, data in
                     zip(self.slots, self.input_nodes, self.trace_inputs)]
        return arguments + [(node, self.display[node], node._data) for node, _ in self.parameter_pairs + self.live]

    @property
    def leaves(self):
        """``(name, Value, requires grad)`` of each leaf input (parameters, then live constants), once named."""
        return [(self.names[node], value, node.requires_grad) for node, value in self.parameter_pairs + self.live]


def _generate(generation):
    """The generated module for one trace, compiled and checked against eager backward: a `Trace`."""
    # NOTE: the rules run on the trace's numbers as they are recorded; eager mode's warnings
    # (log of 0, ...) were for the trace to give, not for the code writer.
    # NOTE: the cyclic garbage collector is paused while the code is written: the hundreds of
    # thousands of small objects made for a big scalar graph would set it off again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with np.errstate(all="ignore"):
            return _write(generation)
    finally:
        if collecting:
            gc.enable()


def _write(generation):
    generating = time.perf_counter()
    program, root = generation.program, generation.root
    root_name = generation.root_name = identifier(generation.display[root])
    names, tracer_of = generation.names, generation.tracer_of

    for node, stem, data in generation.inputs():
        tracer = program.external(stem, data)
        generation.input_tracers.append(tracer)
        if node is not None:
            tracer_of[node], names[node] = tracer, tracer.val.name

    program.comment("-- forward " + "-" * 60)
    for node in generation.nodes:
        if node in tracer_of:
            continue
        if not node.parents:  # a constant made from a plain number or array: frozen here
            data = node._data
            tracer_of[node] = program.constant(data if type(data) is float else np.array(data))
            names[node] = generation.display[node]
            continue
        _forward(generation, node)

    program.comment("-- backward " + "-" * 59)
    data = root._data
    seed = 1.0 if type(data) is float else np.array(1.0, dtype=data.dtype).reshape(np.shape(data))
    seed_name = f"d{root_name}_d{root_name}"
    if type(seed) is _ndarray:
        program.constant_name(seed, seed_name, upper=False)  # ∂root/∂root, by that name where it is read
    grad_of = {root: program.constant(seed, seed_name)}
    for node in backward_order(root):
        _backward(generation, node, grad_of)

    # -- outputs: the loss and the gradients of the leaves that require grad ----------------------------
    final = program.finish([(tracer_of[root], root_name)] +
                           [(grad_of[node], f"d{root_name}_d{names[node]}") for node in generation.grad_leaves])
    namespace = {}
    plain = len(generation.key) == len(generation.slots) and all(
        slot.kind in ("float", "array", "integer", "value") and slot.cast is None for slot in generation.slots)
    replay = replay_source(generation, namespace) if plain else None
    source = module_source(generation, final, replay)
    return Trace(generation, source, program, namespace, generating)


def _enter(program, node, name):
    """Tell the program whose rule runs now: errors name the op, values take its output's name, and
    (``fold=False``) the numbers its options name are written by those names."""
    program.context, program.stem = node.op.name, name
    program.named_numbers = {value: key for key, value in node.options.items() if type(value) is float}


def _forward(generation, node):
    """Run the node's forward rule on its inputs' tracers and write it, under its formula."""
    program, names, tracer_of = generation.program, generation.names, generation.tracer_of
    name = program.unique(generation.display[node] if node is not generation.root else generation.root_name)
    _enter(program, node, name)
    inputs = [tracer_of[parent] for parent in node.parents]
    program.comment(_formula_comment(node, _symbols(node, inputs, name, names)))
    result, saved = node.op.forward(*inputs, **node.options)
    result = program.lift(result)
    if isinstance(result, Tracer) and result.val is not None and result.val.statement is not None \
            and len(result.val.statement.targets) > 1 and result.val.name != name:
        result.val.name = name  # the op's output among a helper's several results takes the node's name
    # What forward saved for backward is named: E where the op's partials name it (the SSE's
    # error), else after the helper that made it (log_softmax_loss).
    errors = any("{E}" in partial for partial in node.op.partials)
    for position, item in enumerate(_saved_tracers(saved)):
        if item.val is None and errors:
            item.label = node.op.saved_error if position == 0 else f"{node.op.saved_error}_{position}"
    if not (_same(result, node._data) and _same(saved, node.saved)):
        raise CompileError(f"{generation.where}: op '{node.op.name}' does not give again what the graph recorded "
                           "when its forward rule runs with the same inputs: a Value computed outside the function "
                           "(compute it inside, from the parameters), or a forward rule that is not a function of "
                           "its inputs and options")
    val = program.materialize(result, name, exact=True)
    tracer_of[node] = result
    names[node] = val.name if val is not None else name
    generation.saved_of[node] = saved


def _same(traced, recorded):
    """The traced value (or saved structure) is what eager mode recorded: the same numbers, kinds
    and options."""
    if isinstance(traced, Tracer):
        value = traced.value
        if type(recorded) is not type(value) and not (type(value) is _ndarray and isinstance(recorded, np.generic)):
            return False
        return (type(value) is float and (value == recorded or value != value)) or (
            type(value) is not float and np.shape(value) == np.shape(recorded) and
            np.asarray(value).dtype == np.asarray(recorded).dtype and
            bool(np.array_equal(value, recorded, equal_nan=True)))
    if type(traced) in (list, tuple):
        return type(recorded) is type(traced) and len(traced) == len(recorded) and all(
            _same(a, b) for a, b in zip(traced, recorded))
    if callable(getattr(traced, "comparable", None)):  # a user Function's ctx: what it saved
        return type(traced) is type(recorded) and _same(traced.comparable(), recorded.comparable())
    if isinstance(traced, _ndarray) or isinstance(recorded, _ndarray):
        return bool(np.array_equal(traced, recorded))
    return traced == recorded or (traced != traced and recorded != recorded)


def _saved_tracers(saved):
    if isinstance(saved, Tracer):
        yield saved
    elif type(saved) in (list, tuple):
        for item in saved:
            yield from _saved_tracers(item)


def _backward(generation, node, grad_of):
    """Run the node's backward rule on tracers, undo broadcasting with eager's own
    `unbroadcast`, and add each parent's share, under the chain rule as a comment."""
    program, names, tracer_of, root_name = generation.program, generation.names, generation.tracer_of, \
        generation.root_name
    _enter(program, node, names[node])
    inputs = [tracer_of[parent] for parent in node.parents]
    needs = tuple(parent.requires_grad for parent in node.parents)
    program.rule_names = list(node.op.backward_names)
    contributions = list(node.op.backward(grad_of[node], tracer_of[node], generation.saved_of[node], needs,
                                          *inputs))
    program.rule_names = []
    symbols = _symbols(node, inputs, names[node], names)
    errors = list(_saved_tracers(generation.saved_of[node])) if "E" in str(node.op.partials) else []
    for position, parent in enumerate(node.parents):
        if not parent.requires_grad:
            continue
        if contributions[position] is None:
            raise CompileError(f"{generation.where}: op '{node.op.name}''s backward rule gave no gradient for "
                               f"input {position}, which needs one")
        if errors:
            error = errors[position % len(errors)]
            symbols["E"] = error.val.name.removeprefix("minus_") if error.val is not None else "E"  # −E saved: E
        running = grad_of.get(parent)
        program.comment(_chain_comment(node, position, symbols, names, running is not None,
                                       None if node is generation.root else f"∂{root_name}/∂{names[node]}"))
        grad = unbroadcast(program.lift(contributions[position]), parent._data)
        if running is not None:
            grad = running + grad
        program.materialize(program.lift(grad), f"d{root_name}_d{names[parent]}")
        grad_of[parent] = program.lift(grad)


_SYMBOL = re.compile(r"(?<![A-Za-z0-9_])[abx](?![A-Za-z0-9_])")


def _in_names(text, symbols):
    """``text`` with its standalone one-letter symbols a, b, x (the sigmoid's input) in ``symbols``."""
    named = {"a": symbols.get("a", "a"), "b": symbols.get("b", "b"), "x": symbols.get("a", "x")}
    return _SYMBOL.sub(lambda match: named[match.group(0)], text)


def _formula_comment(node, symbols):
    """The forward rule in the graph's names, from the op's ``formula`` and ``label``."""
    op = node.op
    text = f"{symbols['out']} = {_in_names(op.formula, symbols)}" if op.formula else \
        f"{symbols['out']} = {op.name}({', '.join(symbols.get(f'input {k}', '…') for k in range(len(node.parents)))})"
    label = op.label(node)
    return text if label in (op.symbol, op.name) else f"{text}  ({label})"


def _chain_comment(node, position, symbols, names, adding, grad):
    """∂root/∂parent as the chain rule writes it, from the op's ``partials`` and ``equations``;
    ``grad`` names ∂root/∂node (None at the root, where it is 1)."""
    op, parent = node.op, names[node.parents[position]]
    root_name = names[node] if grad is None else grad.split("/")[0][1:]
    if op.partials and op.passes_gradient(position, node):
        chain = grad or "1"
    elif op.product and op.infix == "@" and len(node.parents) == 2:  # a matrix product: the partner, transposed
        partner = symbols.get("b" if position == 0 else "a", "…")
        chain = (f"{grad or '1'} @ {partner}ᵀ") if position == 0 else f"{partner}ᵀ @ {grad or '1'}"
    else:
        partial = op.partial(position, node, **symbols) if op.partials else f"∂{names[node]}/∂{parent}"
        chain = f"{grad} · {partial}" if grad else partial
    equation = op.equation(position, node) if op.partials else None
    return f"∂{root_name}/∂{parent} {'+=' if adding else '='} {chain}" + (f"  (Eq. {equation})" if equation else "")


def _symbols(node, inputs, name, names):
    """Names for an op's comment: a, b (its inputs), out, E, and input k for stack."""
    texts = [tracer.val.name if tracer.val is not None else str(names.get(parent, "constant"))
             for parent, tracer in zip(node.parents, inputs)]
    symbols = {"out": name, "E": "E", **dict(zip("ab", texts))}
    symbols.update((f"input {index}", text) for index, text in enumerate(texts))
    return symbols


# -- Writing the code for another Array API library ----------------------------------------------

def _held(data):
    """What a Value holds of numpy's result, as eager keeps it: a 0-d array, not a numpy scalar."""
    return np.asarray(data) if isinstance(data, np.generic) else data


def _write_rules(generation):
    """The generated module for data of another Array API library (torch, array_api_strict, CuPy, ...):
    each node's own forward and backward rules called in eager's order, with plain assignments
    (the standard has no ``out=``), so it is eager bit for bit in that library, on that device.

    # NOTE: numpy's code inlines the rules' numpy calls into buffers; a foreign namespace's is the
    # rules called one by one: they already dispatch on the data's namespace.
    """
    generating = time.perf_counter()
    step, root, display = generation.step, generation.root, generation.display
    names, globals_ = generation.names, {"unbroadcast": unbroadcast, "namespace": namespace, "held": _held}
    scope = Program(fold=True)  # for its fresh names, as replay_source takes them
    scope.identifiers |= set(globals_)
    unique = scope.unique

    inputs = []
    for node, stem, _ in generation.inputs():
        inputs.append(unique(stem))
        if node is not None:
            names[node] = inputs[-1]
    root_name = generation.root_name = names.get(root) or unique(display[root])
    lines = [f"def forward_backward({', '.join(inputs)}):", "    # -- forward " + "-" * 56]
    saved_names, rule_of = {}, {}
    for number, node in enumerate(generation.nodes):
        if node in names:
            continue
        if not node.parents:  # a constant made from a plain number or array: frozen here
            names[node] = unique(f"CONSTANT_{display[node]}")
            globals_[names[node]] = node._data
            continue
        name = root_name if node is root else unique(display[node])
        names[node] = name
        rule = f"RULE{number}"
        globals_[rule], globals_[f"OPTIONS{number}"] = node.op, node.options
        rule_of[node], saved_names[node] = rule, unique(f"saved_{name}")
        arguments = ", ".join([names[parent] for parent in node.parents] + [f"**OPTIONS{number}"])
        lines.append(f"    # {node.op.name}: {getattr(node.op, 'formula', '')}".rstrip(": "))
        lines.append(f"    {name}, {saved_names[node]} = {rule}.forward({arguments})")
        if type(node._data) is _ndarray:
            lines.append(f"    {name} = held({name})")
    lines.append("    # -- backward " + "-" * 55)
    seed = f"d{root_name}_d{root_name}"
    data = root._data
    if type(data) is float:
        lines.append(f"    {seed} = 1.0")
    else:
        lines.append(f"    {seed} = namespace.of({root_name}).ones({tuple(data.shape)!r}, dtype={root_name}.dtype, "
                     f"device=namespace.device({root_name}))")
    grad_of = {root: seed}
    for node in backward_order(root):
        needs = tuple(parent.requires_grad for parent in node.parents)
        parts = unique(f"parts_{names[node]}")
        arguments = ", ".join([grad_of[node], names[node], saved_names[node], repr(needs)] +
                              [names[parent] for parent in node.parents])
        lines.append(f"    {parts} = {rule_of[node]}.backward({arguments})")
        for position, parent in enumerate(node.parents):
            if not parent.requires_grad:
                continue
            share = f"unbroadcast({parts}[{position}], {names[parent]})"
            running = grad_of.get(parent)
            target = unique(f"d{root_name}_d{names[parent]}")
            lines.append(f"    {target} = {share}" if running is None else f"    {target} = {running} + {share}")
            if type(parent._data) is _ndarray:
                lines.append(f"    {target} = held({target})")
            grad_of[parent] = target
    lines.append(f"    return {root_name}, [{', '.join(grad_of[node] for node in generation.grad_leaves)}]")
    source = "\n".join([f'"""minigrad.compile of {step.__name__}: the ops\' rules on data of another Array API '
                        'library, called in eager\'s order."""', ""] + lines) + "\n"
    return Trace(generation, source, scope, globals_, generating)

