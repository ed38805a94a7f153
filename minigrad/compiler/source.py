"""The generated module's text (header, buffers, constants, ``forward_backward``) and ``replay``, its
fast path (docs/compile.md); `compile_source` turns the text into functions."""

from __future__ import annotations

import builtins
import itertools
import linecache
import threading

import numpy as np

from ..core.backward import _one_pass_at_a_time as GRADIENT_LOCK
from ..core.backward import add_gradients
from ..core.value import Value, leaf, next_version
from .program import Program
from .trace import BOUND, Tracer

__all__ = ["module_source", "replay_source", "compile_source"]

_FLOAT64, _FLOAT32 = np.dtype(np.float64), np.dtype(np.float32)  # what generated code tests dtypes against with `is`


def _describe(slot, data):
    kind = "Value" if slot.kind == "value" else "number" if type(data) is float else "array"
    drawn = " drawn on every call" if slot.kind == "drawn" else ""
    facts = "" if type(data) is float else f" {tuple(data.shape)} {np.dtype(slot.cast or data.dtype).name}"
    return f"{slot.name} ({kind}{drawn}{facts})"


def _literal(items, program):
    """``ndarray.tolist()``'s numbers as Python text (nan and inf as ``math`` names them)."""
    if type(items) is not list:
        return program.static_text(items)
    return f"[{', '.join(_literal(item, program) for item in items)}]"


def module_source(generation, final, replay):
    """The whole generated module.  ``generation`` holds the program, the step, the slots and
    the input tracers (`minigrad.compiler.step.Generation`); ``final`` the finished outputs."""
    program = generation.program
    body = ["    " + line for statement in program.statements for line in program.lines_of(statement)]
    texts = [program.text_of(item)[0] if isinstance(item, Tracer) else item.name for item in final]
    body.append(f"    return {texts[0]}, ({', '.join(texts[1:])}{',' if len(texts) == 2 else ''})")
    inputs = [tracer.val.name for tracer in generation.input_tracers]
    described = ", ".join(_describe(slot, tracer.value) for slot, tracer in
                          zip(generation.slots, generation.input_tracers)) or "no arguments"
    step = generation.step
    function_name = getattr(step.function, "__qualname__", step.__name__)
    if "<locals>" in function_name:
        function_name = step.__name__
    helpers = sorted(program.helpers)  # the numerics helpers the body calls by name (known once it is written)
    lines = [f'"""minigrad.compile: {function_name}, traced for {described}.',
             "",
             "forward_backward: forward, then backward in the order minigrad.core.backward walks the graph: each",
             "op's own rules (minigrad.core.ops), traced, so the same numpy (or math) calls on the same numbers",
             "as eager mode, and the same results, bit for bit.  Arrays are written into the buffers below, each",
             "reused once the value it held is dead: a buffer passed as the last argument of a numpy call is",
             "where the call writes its result (out).  The loss and the gradients returned are new arrays every",
             "call.",
             '"""',
             "import math",
             "",
             "import numpy as np",
             f"from numpy import {', '.join(name for name in BOUND if name not in ('dot', 'vdot'))}",
             "",
             "from minigrad.core.numerics import dot, vdot  # numpy's C functions, without their wrappers"]
    if helpers:
        lines.append(f"from minigrad.core.numerics import {', '.join(helpers)}  # the ops' named helpers")
    lines.append("")
    if program.buffers or program.masks:
        lines.append("# Buffers, allocated once for this trace (in the memory order eager mode's arrays have).")
        for number, storage in enumerate(program.buffers):
            if storage.layout in ("C", "F"):
                order = ', order="F"' if storage.layout == "F" and len(storage.shape) > 1 else ""
                lines.append(f"buf{number} = np.empty({storage.shape!r}, dtype=np.{storage.dtype.name}{order})")
            else:
                lines.append(f"# buf{number}: {storage.dtype.name} {storage.shape}, strides {storage.layout} "
                             "(np.empty_like of eager's array)")
        for shape, name in program.masks.items():
            lines.append(f"{name} = np.empty({shape!r}, dtype=bool)")
        lines.append("")
    if program.constants:
        lines.append("# Constants.")
        for name, value in program.constants.items():
            if type(value) in (float, int):
                lines.append(f"{name} = {program.static_text(value)}")
            elif value.size <= 8:
                lines.append(f"{name} = np.array({_literal(value.tolist(), program)}, dtype=np.{value.dtype.name})")
            else:
                lines.append(f"# {name}: a {value.dtype.name} array of shape {value.shape}, frozen at the trace")
        lines.append("")
    root_name = generation.root_name
    grads = ", ".join(f"∂{root_name}/∂{generation.names[node]}" for node in generation.grad_leaves)
    lines += ["", f"def forward_backward({', '.join(inputs)}):",
              f'    """{root_name}' + (f" and {grads}." if grads else ".") + '"""'] + body
    if replay:
        lines.extend(["", ""] + replay)
    return "\n".join(lines) + "\n"


def replay_source(generation, namespace):
    """``replay(*arguments)``: one call of the step, for arguments that fit this trace
    (None when they, or a parameter, do not).  Fills ``namespace`` with what it reads."""
    program, slots = generation.program, generation.slots
    # NOTE: replay has a scope of its own: it may reuse forward_backward's names, not the module's globals.
    scope = Program(fold=True)
    scope.identifiers |= set(program.constants) | set(program.masks.values()) | {
        f"buf{number}" for number in range(len(program.buffers))}
    names = [scope.unique(slot.name) for slot in slots]
    lines = ["def replay(*arguments):",
             '    """One call: check that the arguments and parameters fit this trace, run forward_backward,',
             '    and add the gradients to .grad as backward does.  None when something does not fit."""',
             f"    if len(arguments) != {len(slots)}:",
             "        return None"]
    if slots:
        lines.append(f"    {', '.join(names)}{',' if len(names) == 1 else ''} = arguments")

    def refuse(condition):
        lines.extend([f"    if {condition}:", "        return None"])

    def test(name, data):
        if type(data) is float:
            return f"type({name}) is not float"
        dtype = data.dtype.name.upper()
        if data.dtype not in (_FLOAT64, _FLOAT32):  # integer labels
            namespace[dtype] = data.dtype
        strides = f" or {name}.strides != {data.strides!r}" if data.ndim > 1 else ""
        return (f"type({name}) is not ndarray or {name}.dtype is not {dtype} "
                f"or {name}.shape != {data.shape!r}{strides}")

    datas = []
    for slot, name, tracer in zip(slots, names, generation.input_tracers):
        data = name
        if slot.kind == "value":
            refuse(f"type({name}) is not Value or {name}.requires_grad is not {slot.requires_grad}")
            data = scope.unique(f"{name}_data")
            lines.append(f"    {data} = {name}._data")
        refuse(test(data, tracer.value))
        datas.append(data)
    optimizer = generation.step.optimizer
    reached = {id(value) for _, value, grad in generation.leaves if grad}
    written = set()  # what replay's update writes: every parameter, when the function reaches them all
    if optimizer is not None and optimizer.fused_update() is not None and len(optimizer.params) <= 16 and \
            all(id(parameter) in reached for parameter in optimizer.params):
        written = {id(parameter) for parameter in optimizer.params}
    parameters, read = [], {}
    for name, value, grad in generation.leaves:
        holder = scope.unique(f"{name}_value")
        namespace[holder] = value
        data = scope.unique(name)
        lines.append(f"    {data} = {holder}._data")
        example = value._data
        check = test(data, example)
        if id(value) in written:  # NOTE: data this replay's update wrote last call fits; the test is skipped
            if type(example) is np.ndarray:  # but not whether it may still be written (flags can change in place)
                check = f"({check}) or not {data}.flags.writeable"
            check = f"{holder}._version != STAMP and {check}"
        refuse(check)
        datas.append(data)
        if grad:
            parameters.append(holder)
            read[id(value)] = (holder, data, example)
    # NOTE: acquire/try/finally costs half what `with lock:` does; the replay takes two locks a call.
    lines += ["    BUFFERS_LOCK.acquire()  # the buffers are this trace's: one call at a time",
              "    try:",
              f"        loss, grads = forward_backward({', '.join(datas)})",
              "    finally:",
              "        BUFFERS_LOCK.release()",
              "    GRADIENT_LOCK.acquire()  # backward's lock: leaves shared with other threads add up exactly",
              "    try:"]
    targets = [names[index] for index in generation.grad_slots]
    everything = targets + parameters
    if len(everything) <= 16:
        additions = [("        ", holder, f"grads[{number}]") for number, holder in enumerate(everything)]
    else:
        namespace["PARAMETERS"] = tuple(namespace[holder] for holder in parameters)
        first = f"({','.join(targets)},) + " if targets else ""
        lines.append(f"        for value, grad in zip({first}PARAMETERS, grads):")
        additions = [("            ", "value", "grad")]
    for indent, holder, grad in additions:
        lines += [f"{indent}earlier = {holder}.grad",
                  f"{indent}{holder}.grad = {grad} if earlier is None else add_gradient(earlier, {grad})"]
    if optimizer is not None:
        covered = [read[id(parameter)] for parameter in optimizer.params] if written else []
        lines += _update_source(optimizer, covered, generation.root_name, namespace, scope)
    lines += ["    finally:",
              "        GRADIENT_LOCK.release()",
              f"    return leaf(loss, False, {generation.root_name!r})"]
    lines.insert(3, f"    # The parameters ({', '.join(parameters) or 'none'}) are Values, read on every call.")
    if written:
        lines.insert(4, "    global STAMP  # the version the update below stamps on the data it writes")
    return lines


def _update_source(optimizer, covered, root_name, namespace, scope):
    """The lines of replay that take the optimizer's step once the gradients are added: its
    ``fused_update`` written out for the ``(holder, data, example)`` of each parameter it
    ``covered`` (the same arithmetic as its ``step()``), else ``optimizer.step()``."""
    namespace["OPTIMIZER"] = optimizer
    if not covered:
        return ["        OPTIMIZER.step()  # the optimizer's own step, on the .grad just added to"]
    array_update, number_update, guard = optimizer.fused_update()
    rates = sorted({example.dtype.name for _, _, example in covered if type(example) is np.ndarray})
    namespace["RATE"] = [optimizer.lr]
    for dtype in rates:
        namespace[f"LR{dtype[-2:]}"] = np.array(optimizer.lr, dtype=dtype)
    assigned = " or ".join(f"{holder}._data is not {data}" for holder, data, _ in covered)
    name = type(optimizer).__name__
    lines = [f"        # The optimizer's own update ({name}.fused_update): p ← p − lr·.grad (the chapter's",
             f"        # w ← w − η·∂{root_name}/∂w), arrays in place; lr is read on every call.  When the step",
             "        # is no longer that, or another thread assigned a parameter: its own step().",
             f"        if {guard} or {assigned}:",
             "            OPTIMIZER.step()",
             "        else:",
             "            lr = float(OPTIMIZER.lr)"]
    if rates:
        refresh = "; ".join(["RATE[0] = lr"] + [f"LR{dtype[-2:]}[()] = lr" for dtype in rates])
        lines += ["            if lr != RATE[0]:  # lr changed: the 0-d arrays the gradients are multiplied by follow",
                  f"                {refresh}"]
    lines.append("            version = next_version()  # one stamp for every parameter written")
    scratch = {}
    for holder, data, example in covered:
        if type(example) is float:
            value = number_update.format(data=data, grad=f"{holder}.grad", lr="lr")
            lines.append(f"            {holder}._data = {value}")
        else:
            kind = (example.shape, example.dtype.name)
            if kind not in scratch:
                scratch[kind] = scope.unique("SCALED")
                namespace[scratch[kind]] = np.empty(example.shape, dtype=example.dtype)
            update = array_update.format(data=data, grad=f"{holder}.grad", rate=f"LR{example.dtype.name[-2:]}",
                                         scratch=scratch[kind])
            lines.append(f"            {update}")
        lines.append(f"            {holder}._version = version")
    lines += ["            OPTIMIZER.steps += 1",
              "            STAMP = version  # the parameters' data fit this trace while they hold this stamp"]
    namespace["STAMP"] = -1
    return lines


_module_numbers = itertools.count(1)


def compile_source(source, name, program, namespace):
    """Compile the module text into ``namespace``; returns its filename.  The lines are
    registered with linecache under it, so a traceback through generated code shows them."""
    filename = f"<minigrad.compile {name} #{next(_module_numbers)}>"
    code = builtins.compile(source, filename, "exec")
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace.update({"__name__": "minigrad_compiled", "ndarray": np.ndarray, "Value": Value, "leaf": leaf,
                      "next_version": next_version, "add_gradient": add_gradients, "FLOAT64": _FLOAT64,
                      "FLOAT32": _FLOAT32, "BUFFERS_LOCK": threading.Lock(), "GRADIENT_LOCK": GRADIENT_LOCK})
    for constant, value in program.constants.items():
        if type(value) is np.ndarray and value.size > 8:
            namespace[constant] = value
    for number, storage in enumerate(program.buffers):
        if storage.layout not in ("C", "F"):
            namespace[f"buf{number}"] = np.empty_like(storage.template)
    exec(code, namespace)  # noqa: S102 - the source was written above, from the ops' own rules
    return filename
