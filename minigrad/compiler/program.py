"""The generated program while it is built: straight-line statements over named values.

`Program.record` is where every call a tracer sees lands (see `minigrad.compiler.trace`):
it evaluates the call on the trace's numbers and returns a new tracer.  Nothing is
written until a value is needed (`materialize`), so a gradient that a rule computes
but no input needs is never written; `finish` gives array values their buffers, and
`lines_of` writes each statement as Python.
"""

from __future__ import annotations

import collections
import functools
import inspect
import keyword
import re

import numpy as np

from ..core import numerics
from .trace import (ATOM, BOUND, OPERATORS, CompileError, Tracer, float_text, function_call, getitem_call,
                    helper_call, values_of)

__all__ = ["Program", "identifier"]


# Names the generated module defines or imports; values never take them (nor keywords: see `identifier`).
RESERVED = {"np", "math", "fsum", "forward_backward", "replay", "abs", "float", "arguments", "ndarray", "leaf",
            "add_gradient", "BUFFERS_LOCK", "GRADIENT_LOCK", "FLOAT32", "FLOAT64", "Value", "grads", "earlier",
            "value", "grad", "len", "type", "zip", "OPTIMIZER", "RATE", "LR64", "LR32", "lr", "version",
            "next_version", "STAMP", "numerics", "slice", "Ellipsis"} | set(BOUND) | \
    {name for name in dir(numerics) if not name.startswith("_")}


def identifier(text):
    """``text`` as a Python identifier: ``w[0,1]`` → ``w_0_1``, ``(I @ w)`` → ``I_w``."""
    text = str(text)
    if text.isidentifier() and not keyword.iskeyword(text):
        return text
    parts = re.findall(r"[^\W\d]\w*|\d+", text)
    name = "_".join(parts)[:40].strip("_") or "value"
    if name[0].isdigit():
        name = f"v_{name}"
    if keyword.iskeyword(name):
        name += "_"
    return name


class _Written(str):
    """A static argument already written as Python (an index, between its brackets)."""


class _Storage:
    """The memory behind array values: one buffer, shared by a value and its views.

    ``layout`` is the memory order eager mode's array had ("C", "F", or its
    strides): a buffer keeps it, since the order in which numpy adds up a
    reduction (and so its last bits) follows the memory order."""

    __slots__ = ("shape", "dtype", "layout", "kind", "template", "vals", "buffer", "fresh", "end")

    def __init__(self, value, fresh=False):
        self.layout = "C" if value.flags.c_contiguous else "F" if value.flags.f_contiguous else value.strides
        self.shape, self.dtype, self.template = value.shape, value.dtype, value
        self.kind = (self.shape, self.dtype, self.layout)  # buffers of one kind are interchangeable
        self.vals, self.buffer, self.fresh, self.end = [], None, fresh, -1


class _Val:
    """One named value of the program (a local variable of the generated function)."""

    __slots__ = ("name", "value", "storage", "external", "direct", "statement", "last", "uses", "inline")

    def __init__(self, name, value, storage=None, external=False, direct=True):
        self.name, self.value, self.storage, self.external, self.direct = name, value, storage, external, direct
        self.statement, self.last, self.uses, self.inline = None, -1, 0, False
        if storage is not None:
            storage.vals.append(self)


class _Statement:
    """``targets = primitive(args)``, or a comment; each target is told it is computed here."""

    __slots__ = ("primitive", "targets", "args", "params", "comment", "scalar")

    def __init__(self, primitive=None, targets=(), args=(), params=None, comment=None, scalar=False):
        self.primitive, self.targets, self.args, self.params = primitive, list(targets), list(args), params or {}
        self.comment, self.scalar = comment, scalar
        for val in self.targets:
            val.statement = self


def _same_kind(a, b):
    return type(a) is type(b) and (type(a) is not np.ndarray or (a.shape == b.shape and a.dtype == b.dtype))


def _tracers(args):
    """The tracers among ``args``, lists and tuples looked into."""
    for arg in args:
        if isinstance(arg, Tracer):
            yield arg
        elif type(arg) in (list, tuple):
            yield from _tracers(arg)


class Program:
    """Statements, values, buffers and constants of one generated function.

    ``where`` names the step in errors; ``fold`` computes constants now and drops
    exact no-ops (x·1, −(−x)); ``context`` is the op whose rule is running (errors
    name it) and ``named_numbers`` the numbers its options name (``alpha``), which
    code written with ``fold=False`` shows by name."""

    def __init__(self, fold, where="compile"):
        self.fold, self.where = fold, where
        self.statements = []
        self.identifiers = set(RESERVED)
        self._counts = {}  # stem -> the last suffix given
        self.constants = {}      # module-level name -> object (arrays, named numbers)
        self._constant_names = {}  # id(array), or (stem, number) -> name
        self.buffers = []        # the storages given buf0, buf1, ...
        self._temporaries = 0
        self.masks = {}          # shape -> the name of a boolean buffer (the sigmoid's test)
        self.context = None      # the op whose rule is running
        self.stem = "value"      # the name of its output, for the names of what it computes
        self.named_numbers = {}
        self.rule_names = []     # what the running rule's next values are called (Op.backward_names)
        self.helpers = set()     # the numerics helpers the written lines call by name (imported)

    # -- names ----------------------------------------------------------------------------------

    def unique(self, stem):
        """A fresh identifier from ``stem`` (``H``, then ``H__2``, ...)."""
        stem = identifier(stem)
        name, count = stem, self._counts.get(stem, 1)
        while name in self.identifiers:
            count += 1
            name = f"{stem}__{count}"
        self._counts[stem] = count
        self.identifiers.add(name)
        return name

    def temporary(self):
        self._temporaries += 1
        return self.unique(f"t{self._temporaries}")

    def constant_name(self, value, stem, upper=True):
        """A module-level name for a constant: one per array, one per number and ``stem``."""
        key = (stem, value) if type(value) is float else id(value)
        if key not in self._constant_names:
            self._constant_names[key] = name = self.unique(stem.upper() if upper else stem)
            self.constants[name] = value
        return self._constant_names[key]

    def refuse(self, what):
        op = f" of op '{self.context}'" if self.context else ""
        return CompileError(f"{self.where}: a rule{op} did what a trace cannot record: {what}; a rule computes "
                            "with numpy calls, Python's operators and the helpers of minigrad.core.numerics, and "
                            "decides only on shapes, options and which inputs need a gradient")

    # -- values -----------------------------------------------------------------------------------

    def constant(self, value, name=None):
        """A constant tracer: a number or an array.  With ``fold=False`` and a name, the
        generated code names it (``alpha = 2.0``) where it is used."""
        value = bool(value) if isinstance(value, (bool, np.bool_)) else _as_value(value)
        tracer = Tracer(self, None, (), {}, value)
        if not self.fold:
            tracer.literal_name = self.named_numbers.get(value) if name is None and type(value) is float else name
        return tracer

    def external(self, name, value):
        """A value the generated function receives (an input, a parameter's data)."""
        return Tracer(self, None, (), {}, value, val=_Val(self.unique(name), value, external=True))

    def lift(self, arg):
        """A rule's argument as the program holds it: tracers as they are, lists and tuples of
        values item by item, numbers and arrays as constants, anything else (axes, shapes,
        None, dtypes) as it is: a static argument."""
        if isinstance(arg, Tracer):
            return arg
        if type(arg) in (list, tuple) and any(True for _ in _tracers(arg)):
            return type(arg)(self.lift(item) for item in arg)
        if isinstance(arg, (float, int, np.floating, np.integer, np.ndarray)) and not isinstance(arg, bool):
            return self.constant(arg)
        return arg

    # -- recording: the four doors of `minigrad.compiler.trace` -------------------------------------

    def record(self, primitive, args, params, value=None):
        """``primitive(*args, **params)``, evaluated now (unless its ``value`` is given): a new
        tracer (or a tuple of them)."""
        args = [self.lift(arg) for arg in args]
        if value is None:  # what the rule's own call gives, numpy scalars included
            value = primitive.evaluate(*[values_of(arg) for arg in args], **params)
        if type(value) is tuple:
            return self._unpack(primitive, args, params, value)
        scalar = isinstance(value, np.generic)
        value = _as_value(value)
        folded = self._folded(primitive, args, value) if self.fold else None
        if folded is not None:
            return folded
        tracer = Tracer(self, primitive, args, params, value)
        tracer.scalar = scalar
        # Named as the op names what its rule computes (Sigmoid.backward_names: slope_A), else by
        # what it is, in whose rule (multiply_A).
        stem = self.rule_names.pop(0) if self.rule_names else primitive.name.split('.')[0]
        tracer.label = f"{stem}_{self.stem}"
        return tracer

    def record_function(self, function, args, kwargs):
        """A numpy function called on a tracer (``np.expand_dims(grad, -2)``)."""
        value = function(*[values_of(arg) for arg in args], **kwargs)
        if type(value) in (int, tuple, bool):  # np.shape, np.ndim, np.size: facts of the shapes, not numbers
            return value
        return self.record(function_call(function, _kind(value, args)), args, kwargs, value)

    def record_helper(self, function, args, kwargs):
        """A helper of `minigrad.core.numerics` called with a tracer.  Its options (an axis, a
        count, α: arguments that are neither tracers nor arrays) are written as keywords."""
        values = [arg.value if isinstance(arg, Tracer) else arg for arg in args]
        form = numerics.array_form(function, *values) if not kwargs else None
        if form is not None:
            kind = "ufunc" if isinstance(form, np.ufunc) and form is not np.matmul else "out"
            return self.record(helper_call(function, kind, form), args, kwargs)
        value = function(*values, **kwargs)
        if function in numerics.FLOAT_PASS_THROUGH and type(value) is float:  # NOTE: as_float of a float: no call
            for arg in args:
                if isinstance(arg, Tracer) and value is arg.value:
                    return arg
        names = _positional_names(function)
        args = list(args)
        # NOTE: on floats, options stay positional: keywords would cost a scalar sigmoid half its time
        scalar = type(value) is float or (type(value) is tuple and type(value[0]) is float)
        while not scalar and 1 < len(args) <= len(names) and _is_option(args[-1]):
            kwargs = {names[len(args) - 1]: args.pop(), **kwargs}
        return self.record(helper_call(function, _kind(value, args)), args, kwargs, value)

    def record_getitem(self, tracer, index):
        """``tracer[index]``, the index as Python writes it between brackets (`numerics.format_index`,
        with arrays as named constants of the generated module)."""
        value = tracer.value[index]
        kind = _kind(value, [tracer])
        text = numerics.format_index(index, lambda array: self.constant_name(array, "index"))
        if type(index) is tuple and len(index) == 1:
            text += ","
        return self.record(getitem_call(kind), [tracer], {"index": index, "text": _Written(text)}, value)

    def _unpack(self, primitive, args, params, values):
        """A call with several results (`numerics.sigmoid_parts`), written at once as one statement;
        results it can write into buffers (`numerics.OUT_BUFFERS`) get them."""
        for arg in _tracers(args):
            self.materialize(arg)
        names = numerics.RESULT_NAMES.get(primitive.evaluate) or [f"part{k}" for k in range(len(values))]
        buffered, aliases = numerics.OUT_BUFFERS.get(primitive.evaluate, ((), {}))
        if not all(type(values[k]) is np.ndarray for k in buffered):
            buffered, aliases = (), {}
        storages, vals = {}, []  # id(array) -> its storage: results that are one array share one
        for position, (name, value) in enumerate(zip(names, values)):
            value = _as_value(value)
            storage = None
            if type(value) is np.ndarray and position not in aliases:
                storage = storages.setdefault(id(value), _Storage(value, fresh=position not in buffered))
            vals.append(_Val(self.unique(f"{name}_{self.stem}"), value, storage))
        for position, other in aliases.items():  # NOTE: it may be that result (F is r), so it holds its buffer
            vals[position].storage, vals[position].direct = vals[other].storage, False
            vals[other].storage.vals.append(vals[position])
        if buffered:  # a boolean buffer of x's shape, one per shape: calls use it only while they run
            mask = self.masks.setdefault(args[0].shape, f"mask{len(self.masks)}")
            params = dict(params, out=(tuple(vals[k] for k in buffered), mask))
        self.statements.append(_Statement(primitive, vals, args, params))
        return tuple(Tracer(self, None, (), {}, val.value, val=val) for val in vals)

    def _folded(self, primitive, args, value):
        """The same value with less work: constants computed now, ×1 and −(−x) dropped.

        Only rewrites that give the same bits are made (x·1 = x, x·(−1) = −x
        and −(−x) = x hold exactly in IEEE arithmetic)."""
        tracers = [arg for arg in args if isinstance(arg, Tracer)]
        if primitive.kind == "ufunc" and len(tracers) == len(args) and all(arg.is_constant for arg in tracers) \
                and not any(arg.literal_name for arg in tracers):
            return self.constant(value)
        if primitive.name == "multiply" and len(tracers) == 2:
            for constant, other in (tracers, tracers[::-1]):
                if not constant.is_constant or constant.literal_name or np.size(constant.value) != 1 \
                        or type(constant.value) is bool or not _same_kind(value, other.value):
                    continue
                number = float(np.asarray(constant.value).reshape(-1)[0])
                if number == 1.0:
                    return other
                if number == -1.0:
                    return self.record(OPERATORS["negative"], [other], {})
        if primitive.name == "negative" and tracers and tracers[0].primitive is not None \
                and tracers[0].primitive.name == "negative":
            inner = tracers[0].args[0]
            if isinstance(inner, Tracer) and _same_kind(value, inner.value):
                return inner
        return None

    # -- statements ----------------------------------------------------------------------------------

    def comment(self, text):
        self.statements.append(_Statement(comment=text))

    def materialize(self, tracer, name=None, exact=False):
        """Write the statements that compute ``tracer``; returns its `_Val` (None for a constant).
        ``name`` is made unique, unless ``exact`` (it already is)."""
        if tracer.val is not None:
            return tracer.val
        if tracer.primitive is None:
            return None
        for arg in _tracers(tracer.args):
            self.materialize(arg)
        value, kind = tracer.value, tracer.primitive.kind
        label = name or tracer.label
        name = name if exact else self.unique(label) if label else self.temporary()
        if type(value) is np.ndarray and kind == "view":
            base = next((arg.val for arg in _tracers(tracer.args) if arg.val is not None
                         and type(arg.value) is np.ndarray and np.may_share_memory(value, arg.value)), None)
            external = base is None or base.external
            val = _Val(name, value, None if external else base.storage, external, direct=False)
        else:
            val = _Val(name, value, _Storage(value, fresh=(kind == "alloc")) if type(value) is np.ndarray else None)
        self.statements.append(_Statement(tracer.primitive, [val], tracer.args, tracer.params, scalar=tracer.scalar))
        tracer.val = val
        return val

    # -- memory: liveness and buffers ------------------------------------------------------------------

    def finish(self, outputs):
        """Make every output (``(tracer, name)`` pairs) a fresh value, never a buffer; find
        where each value is last used, give array values buffers (reused once dead), and
        mark what is written inline.  Returns the outputs: values, or constant tracers."""
        final = []
        for tracer, name in outputs:
            val = self.materialize(tracer)
            if val is None and type(tracer.value) is not float:  # a constant output: a fresh copy each call
                val = self.materialize(self.record(function_call(np.array, "alloc"), [tracer], {}))
            if val is not None and type(val.value) is np.ndarray:
                statement, storage = val.statement, val.storage
                alone = val.direct and storage is not None and storage.vals == [val]
                # NOTE: numpy gives a 0-d result as a scalar unless it has a buffer to write into
                if alone and not storage.fresh and len(statement.targets) == 1 \
                        and statement.primitive.kind in ("ufunc", "out"):
                    storage.fresh = True
                elif not (alone and storage.fresh):
                    # NOTE: a view, a buffer shared with another value, or an input: the caller gets a copy
                    renamed = val.name == name
                    if renamed:
                        val.name = self.temporary()
                    val = self.materialize(self.record(function_call(np.array, "alloc"), [tracer], {}), name,
                                           exact=renamed)
            final.append(val if val is not None else tracer)
        # every use of a value: the statements' arguments, then the outputs (read after the last statement)
        uses = [(index, arg.val) for index, statement in enumerate(self.statements) for arg in _tracers(statement.args)]
        for index, val in uses + [(len(self.statements), item) for item in final]:
            if isinstance(val, _Val):
                val.last = index
                val.uses += 1
        for index, statement in enumerate(self.statements):
            for val in statement.targets:
                if val.storage is not None:
                    val.storage.end = max(val.storage.end, val.last, index)
        self._assign_buffers()
        self._mark_inline(set(id(item) for item in final if isinstance(item, _Val)))
        return final

    def _assign_buffers(self):
        free = collections.defaultdict(list)  # (shape, dtype, layout) -> numbers of free buffers
        released = set()  # the storages whose buffer went back to the pool, or on to a result
        for index, statement in enumerate(self.statements):
            if statement.comment is not None:
                continue
            needs = [val.storage for val in statement.targets
                     if val.storage is not None and val.direct and not val.storage.fresh and val.storage.buffer is None]
            used = [arg.val for arg in _tracers(statement.args) if arg.val is not None]
            dying = []
            if statement.primitive.kind == "ufunc":  # an elementwise result may take the buffer of an input dying here
                for val in used:
                    storage = val.storage
                    if storage is not None and storage.end == index and val.direct and storage.buffer is not None \
                            and storage not in released and storage not in dying:
                        dying.append(storage)
            for storage in needs:
                match = next((old for old in dying if old.kind == storage.kind), None)
                if match is not None:
                    dying.remove(match)
                    released.add(match)
                    storage.buffer = match.buffer
                elif free[storage.kind]:
                    storage.buffer = free[storage.kind].pop()
                else:
                    self.buffers.append(storage)
                    storage.buffer = len(self.buffers) - 1
            for val in used + statement.targets:
                storage = val.storage
                if storage is not None and storage.end <= index and storage.buffer is not None \
                        and storage not in released:
                    released.add(storage)
                    free[storage.kind].append(storage.buffer)

    def _mark_inline(self, outputs):
        """A float or a view used once, by the next statement that is written out (values
        written inline in between are transparent), is written inside that statement."""
        host = {}  # statement index -> index of the statement whose line it is written in
        written_next = None
        for index, statement in reversed(list(enumerate(self.statements))):
            if self._inlinable(statement, outputs, written_next, host):
                statement.targets[0].inline = True
                host[index] = written_next
            else:
                host[index] = index
                written_next = index

    def _inlinable(self, statement, outputs, written_next, host):
        if len(statement.targets) != 1:  # a comment, or a call with several results
            return False
        val = statement.targets[0]
        # used once, no output: its last use is its one user, which must be the next line written (if any)
        if val.uses != 1 or id(val) in outputs or host[val.last] != written_next:
            return False
        following = self.statements[val.last]
        argument = any(isinstance(arg, Tracer) and arg.val is val for arg in following.args)  # not in a list
        if len(following.targets) != 1 or not argument:
            return False
        return type(val.value) is float or (statement.primitive.kind == "view" and type(val.value) is np.ndarray)

    # -- writing ------------------------------------------------------------------------------------------

    def buffer_name(self, storage):
        return f"buf{storage.buffer}"

    def text_of(self, arg):
        """``(text, precedence)`` of an argument: a name, an inlined expression, a constant,
        or a static argument (a list of them written as a list)."""
        if type(arg) in (list, tuple) and any(True for _ in _tracers(arg)):
            texts = [self.text_of(item)[0] for item in arg]
            return (f"[{', '.join(texts)}]" if type(arg) is list else
                    f"({', '.join(texts)}{',' if len(texts) == 1 else ''})"), ATOM
        if not isinstance(arg, Tracer):
            return self.static_text(arg), ATOM
        if arg.val is not None:
            return self._expression(arg.val.statement) if arg.val.inline else (arg.val.name, ATOM)
        if arg.literal_name is not None:
            return self.constant_name(arg.value, arg.literal_name, upper=False), ATOM
        value = arg.value
        if type(value) is float:
            return float_text(value)
        if type(value) in (int, bool):
            return repr(value), ATOM
        return self.constant_name(value, "constant"), ATOM

    def _params_of(self, statement):
        """A statement's keyword arguments as Python writes them (the buffers given as ``out`` by
        their names)."""
        texts = {}
        for key, value in statement.params.items():
            if key == "out" and type(value) is tuple and value and type(value[0]) is tuple:
                vals, mask = value
                texts[key] = f"({', '.join([self.buffer_name(val.storage) for val in vals] + [mask])})"
            else:
                texts[key] = self.static_text(value)
        return texts

    def static_text(self, value):
        """A static argument (an axis, a shape, None, a slice, a dtype) as Python writes it; arrays
        in it are named constants of the generated module."""
        if isinstance(value, _Written):
            return str(value)
        if isinstance(value, np.ndarray):
            return self.constant_name(value, "index")
        if type(value) is float:
            return float_text(value)[0]
        if isinstance(value, np.dtype):
            return f"np.{value.name}"
        if isinstance(value, type) and issubclass(value, np.generic):
            return f"np.{value.__name__}"
        if isinstance(value, tuple):
            items = [self.static_text(item) for item in value]
            return f"({', '.join(items)}{',' if len(items) == 1 else ''})"
        if isinstance(value, slice):
            return f"slice({value.start!r}, {value.stop!r}, {value.step!r})"
        if isinstance(value, np.integer):
            return repr(int(value))
        return repr(value)

    def _expression(self, statement):
        target, primitive = statement.targets[0], statement.primitive
        args, params = [self.text_of(arg) for arg in statement.args], self._params_of(statement)
        self._calls(primitive)
        if type(target.value) is not np.ndarray:
            return primitive.write_float(args, params)
        out = None  # a ufunc's or a product's storage is its own, given a buffer unless it is fresh
        if primitive.kind in ("ufunc", "out") and target.storage.buffer is not None:
            out = self.buffer_name(target.storage)
        text, precedence = primitive.write(args, params, out)
        if out is None and statement.scalar:
            return f"np.asarray({text})", ATOM  # NOTE: without a buffer numpy returns a 0-d result as a scalar
        return text, precedence

    def lines_of(self, statement):
        """The Python lines of one statement (none for a value written inline)."""
        if statement.comment is not None:
            return [f"# {line}" if line else "#" for line in statement.comment.split("\n")]
        targets = statement.targets
        if len(targets) > 1:
            args = [self.text_of(arg) for arg in statement.args]
            if statement.primitive.evaluate is numerics.sigmoid_parts:
                lines = self._sigmoid_lines(statement, args)
                if lines:
                    return lines
            self._calls(statement.primitive)
            text, _ = statement.primitive.write(args, self._params_of(statement), None)
            return [f"{', '.join(val.name for val in targets)} = {text}"]
        return [] if targets[0].inline else [f"{targets[0].name} = {self._expression(statement)[0]}"]

    def _calls(self, primitive):
        """Note the numerics helper (if any) that a line is about to call by its name."""
        if primitive.helper is not None:
            self.helpers.add(primitive.helper)

    def _sigmoid_lines(self, statement, args):
        """`numerics.sigmoid_parts` with α = 1 without its tests: on a float, its three lines (αx
        is x: no Python call per scalar sigmoid); on an array with buffers, a call of the helper's
        common case, `numerics.sigmoid_parts_into`, with the buffers and x's dtype's constants.
        None where that does not apply."""
        x_text, x = args[0][0], statement.args[0]
        value, e, r = statement.targets
        if type(x.value) is float:  # the float case: α passed by position
            alpha = statement.args[1] if len(statement.args) > 1 else None
            if not x_text.isidentifier() or not isinstance(alpha, Tracer) or alpha.val is not None \
                    or alpha.literal_name or alpha.value != 1.0 or type(alpha.value) is not float:
                return None
            return [f"{e.name} = math.exp(-abs({x_text}))",
                    f"{r.name} = 1.0 / (1.0 + {e.name})",
                    f"{value.name} = {r.name} if {x_text} >= 0.0 else {e.name} * {r.name}"]
        params = statement.params
        if params.get("alpha") != 1.0 or type(params.get("out")) is not tuple \
                or type(x.value) is not np.ndarray or x.value.dtype.type not in numerics.EXP_FLOOR:
            return None
        kind, bits, (_, mask) = x.value.dtype.type, x.value.dtype.itemsize * 8, params["out"]
        floor = self.constant_name(numerics.EXP_FLOOR[kind], f"floor{bits}")
        one = self.constant_name(numerics.ONE[kind], f"one{bits}")
        self.helpers.add("sigmoid_parts_into")
        return [f"{value.name}, {e.name}, {r.name} = sigmoid_parts_into({x_text}, {self.buffer_name(e.storage)}, "
                f"{self.buffer_name(r.storage)}, {mask}, {floor}, {one})"]


@functools.cache
def _positional_names(function):
    """The names of a helper's parameters that may be passed by position (none past a ``*args``)."""
    parameters = inspect.signature(function).parameters.values()
    return tuple(parameter.name for parameter in parameters if parameter.kind == parameter.POSITIONAL_OR_KEYWORD)


def _is_option(arg):
    return not isinstance(arg, np.ndarray) and not any(True for _ in _tracers([arg]))


def _kind(value, args):
    """The kind of a call that gave ``value``: a view when it shares memory with an array argument."""
    shares = type(value) is np.ndarray and any(
        type(tracer.value) is np.ndarray and np.may_share_memory(value, tracer.value) for tracer in _tracers(args))
    return "view" if shares else "alloc"


def _as_value(value):
    """numpy's 0-d results as 0-d arrays (what a buffer holds), other values as they are."""
    return np.asarray(value) if isinstance(value, np.generic) else value
