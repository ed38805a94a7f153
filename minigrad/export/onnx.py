"""`minigrad.onnx.export`: a model, or the graph of any function, as an ONNX file.

    import minigrad as mg
    net = mg.nn.MLP([2, 2, 2], alpha=2.0, seed=0)
    mg.onnx.export(net, (np.zeros(2),), "net.onnx")                # a Module: its forward
    mg.onnx.export(net.loss, (inputs, desired), "loss.onnx")       # any function of Values

Export traces the way `minigrad.compile` does: it calls the function once on
Values holding the example inputs (inside ``tracing()``, so Python that
depends on a traced number, ``if x > 0`` or ``float(v)``, is refused rather
than frozen into the file), walks the recorded graph in topological order and
writes one ONNX operator, or a few, for each node.  The example inputs become
the graph's inputs; the parameters the function reaches (leaves that require
grad) and its constants become initializers; what the function returns (one
Value, or a tuple or list of them) becomes the graph's outputs.

Shapes are fixed at the example's (export again for another batch size) and
dtypes follow the data: float64 is ONNX's DOUBLE, float32 its FLOAT, a Python
float a 0-d DOUBLE.  Where numpy promotes (a float32 array times a float64
one), the exporter casts the inputs to the result's dtype, which is what
numpy computes in.

Every op of the table has its ONNX translation in `_EMITTERS` below, keyed by
the op's name (`MAPPED_OPS` lists them); an op without one, or a case that ONNX
cannot express (a boolean index), raises `UnsupportedOp` naming the op.  Two
translations take a longer way than the obvious operator, for onnxruntime's
sake (see their notes): the sigmoid is written as Eq. 6.1, and a matmul with a
1-D operand makes the vector a matrix first.  The model is checked with ``onnx.checker.check_model`` (with
shape inference) before it is written, atomically.

The ``onnx`` package is imported only when a model is built, so ``import
minigrad`` never needs it; ``pip install 'minigrad[onnx]'`` installs it and
onnxruntime.
"""

from __future__ import annotations

import os
import re

import numpy as np

from .._version import __version__
from ..core import namespace
from ..core.backward import topological_order
from ..core.files import write_atomically
from ..core.modes import TracingError, enable_grad, tracing
from ..core.names import argument_names
from ..core.numerics import format_index
from ..core.value import Value, as_data, leaf

__all__ = ["export", "to_onnx", "ExportError", "UnsupportedOp", "MAPPED_OPS", "OPSET"]

#: The ONNX operator set the exporter writes (axes of ReduceMean/ReduceMax are inputs from 18 on).
OPSET = 18

# NOTE: opset 18 arrived with IR version 8 (onnx 1.13); writing that rather
# than the installed onnx package's newest IR keeps the files readable by
# older runtimes.
_IR_VERSION = 8

_INT64_MIN = -(2 ** 63)  # Slice's "through the beginning" when stepping backwards


class ExportError(RuntimeError):
    """The function's graph cannot be written as ONNX (nothing is written)."""


class UnsupportedOp(ExportError):
    """An op of the graph has no ONNX translation, or this use of it has none.

    ``op_name`` is the op's name in the table (``"getitem"``)."""

    def __init__(self, op_name, message):
        super().__init__(message)
        self.op_name = op_name


def _import_onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError(
            "minigrad.onnx.export needs the onnx package, which minigrad does not install by default: "
            "pip install 'minigrad[onnx]' (onnx, and onnxruntime to run the file), or pip install onnx") from error
    return onnx


# ---------------------------------------------------------------------------
# The public functions
# ---------------------------------------------------------------------------


def export(fn_or_model, example_inputs, path, *, input_names=None, output_names=None):
    """Write the graph of ``fn_or_model`` on ``example_inputs`` to ``path`` as ONNX.

    ``fn_or_model`` is a `minigrad.nn.Module` (its forward is exported) or any
    function of Values.  ``example_inputs`` is a tuple of arguments (numbers,
    lists, numpy arrays or Values); anything that is not a tuple is the one
    argument.  The graph's inputs are named by ``input_names``, else by the
    Values' names, else by the function's parameter names (``input_0`` … for
    ``*args``); its outputs by ``output_names``, else by the result's names,
    else ``output`` (``output_0`` … for several).  Parameters are named as
    `Module.named_parameters` names them, else by their Value names.

    The model is checked with ``onnx.checker.check_model`` (full check) and
    written atomically (`minigrad.core.files.write_atomically`).  Returns ``path``
    as a string.

    Errors: `UnsupportedOp` for an op (or an index) with no ONNX translation,
    `minigrad.TracingError` for Python that depends on a traced number,
    TypeError / ValueError for bad arguments, ImportError when onnx is not
    installed; the file errors of `write_atomically`.  On any error nothing is
    written and an existing file is left as it was.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"onnx.export: path must be a file name (str or os.PathLike), got {type(path).__name__}")
    model = to_onnx(fn_or_model, example_inputs, input_names=input_names, output_names=output_names)
    return write_atomically(path, model.SerializeToString(), caller="onnx.export")


def to_onnx(fn_or_model, example_inputs, *, input_names=None, output_names=None):
    """The checked ``onnx.ModelProto`` that `export` writes (arguments as for `export`)."""
    onnx = _import_onnx()
    namespace.numpy_only(example_inputs if isinstance(example_inputs, (tuple, list)) else [example_inputs],
                         "onnx.export")
    traced = _trace(fn_or_model, example_inputs)
    namespace.numpy_only(traced.outputs, "onnx.export")  # parameters the function reads
    graph = _Graph(onnx)
    graph.build(traced, input_names, output_names)
    model = onnx.helper.make_model(
        graph.proto(traced.title), opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        producer_name="minigrad", producer_version=__version__,
        doc_string=f"{traced.title}, exported by minigrad.onnx.export")
    model.ir_version = _IR_VERSION
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as error:  # NOTE: the checker raises several types (ValidationError, InferenceError)
        raise ExportError(f"onnx.export({traced.title}): the graph built is not valid ONNX, which is a bug in "
                          f"minigrad's exporter (please report it with the function): {error}") from error
    return model


# ---------------------------------------------------------------------------
# Tracing
# ---------------------------------------------------------------------------


class _Traced:
    """What one call recorded: the input leaves, the outputs, every node in order, parameter names."""

    def __init__(self, title, inputs, outputs, nodes, parameter_names):
        self.title, self.inputs, self.outputs, self.nodes, self.parameter_names = \
            title, inputs, outputs, nodes, parameter_names


def _is_module(thing):
    """A `minigrad.nn.Module` (known by its methods: the exporter does not import nn)."""
    return callable(getattr(thing, "named_parameters", None)) and callable(getattr(thing, "forward", None))


def _trace(fn_or_model, example_inputs):
    if _is_module(fn_or_model):
        function, module = fn_or_model, fn_or_model
        title, signature_of = type(module).__name__, module.forward
    elif callable(fn_or_model):
        function = signature_of = fn_or_model
        owner = getattr(fn_or_model, "__self__", None)
        module = owner if _is_module(owner) else None
        title = getattr(function, "__qualname__", type(function).__name__)
    else:
        raise TypeError(f"onnx.export: expected a minigrad.nn.Module or a function of Values, "
                        f"got {type(fn_or_model).__name__}")
    arguments = example_inputs if type(example_inputs) is tuple else (example_inputs,)
    names = argument_names(signature_of, len(arguments))
    inputs = []  # one graph input each

    def wrap(argument, name, where):
        if isinstance(argument, np.ndarray) and argument.dtype.kind in "iu":  # class labels: an int64 input
            inputs.append(leaf(argument.astype(np.int64), requires_grad=True, name=name))
            return inputs[-1]
        if isinstance(argument, Value):
            data, name = argument.data, argument.name or name
        else:
            data = as_data(argument, f"onnx.export: {where}")
        inputs.append(Value(data, name=name, requires_grad=True))
        return inputs[-1]

    traced_arguments = []
    for position, argument in enumerate(arguments):
        if isinstance(argument, (list, tuple)) and argument and all(isinstance(item, Value) for item in argument):
            # NOTE: a list of Values stays a list (a ScalarMLP's pattern of scalar inputs), one graph input each;
            # a list of numbers is one array, as Value([...]) makes it.
            items = [wrap(item, f"{names[position]}_{k}", f"example input {position}[{k}]")
                     for k, item in enumerate(argument)]
            traced_arguments.append(type(argument)(items))
        else:
            traced_arguments.append(wrap(argument, names[position], f"example input {position}"))

    try:
        with tracing(), enable_grad(), np.errstate(all="ignore"):
            result = function(*traced_arguments)
    except TracingError as error:
        raise TracingError(f"onnx.export({title}) traces the function once, as minigrad.compile does, and the "
                           f"ONNX graph could not follow a Python decision on a traced number: {error}") from None
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    if not outputs or not all(isinstance(output, Value) for output in outputs):
        got = type(result).__name__
        if isinstance(result, (tuple, list)):
            got = f"a {got} of " + (", ".join(sorted({type(item).__name__ for item in result})) or "nothing")
        raise TypeError(f"onnx.export({title}): the function must return a Value or a tuple or list of Values, "
                        f"got {got}")

    nodes, seen = [], set()
    for output in outputs:
        for node in topological_order(output):
            if node not in seen:
                seen.add(node)
                nodes.append(node)
    input_data = {id(value.data) for value in inputs if type(value.data) is not float}
    for node in nodes:
        if not node.parents and not node.requires_grad and id(node.data) in input_data:
            raise ExportError(f"onnx.export({title}): a constant holds an example input's numbers (.detach() or "
                              "the input's .data used inside the function), so the file would keep this example's "
                              "numbers for every input; compute with the Value itself")
    parameter_names = {}
    if module is not None:
        parameter_names = {id(value): name for name, value in module.named_parameters()}
    return _Traced(title, inputs, outputs, nodes, parameter_names)


# ---------------------------------------------------------------------------
# The graph being built
# ---------------------------------------------------------------------------


def _identifier(name):
    """``w[0,1]`` → ``w_0_1``: ONNX names are C identifiers."""
    text = re.sub(r"\W+", "_", str(name)).strip("_") or "value"
    return f"_{text}" if text[0].isdigit() else text


class _Graph:
    """ONNX nodes, initializers, inputs and outputs, with unique names."""

    def __init__(self, onnx):
        self.onnx, self.helper = onnx, onnx.helper
        self.nodes, self.initializers, self.input_infos, self.output_infos = [], [], [], []
        self.used = set()
        self.tensor = {}    # minigrad node -> ONNX name of its data, in its own dtype
        self.casts = {}     # (ONNX name, dtype) -> ONNX name of the cast
        self.constants = {}  # (minigrad leaf, dtype) -> initializer name
        self.int_lists = {}  # tuple of ints -> int64 initializer name
        self.scalars = {}    # (stem, number, dtype) -> 0-d initializer name
        self.constants_source = set()  # the leaves that are constants (not inputs, not parameters)

    # -- names and small tensors ---------------------------------------------------------------

    def unique(self, stem):
        stem = _identifier(stem)
        name, number = stem, 0
        while name in self.used:
            number += 1
            name = f"{stem}_{number}"
        self.used.add(name)
        return name

    def initializer(self, array, stem):
        name = self.unique(stem)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def ints(self, values):
        """A 1-D int64 initializer (axes, shapes, Slice bounds), shared when repeated."""
        key = tuple(int(v) for v in values)
        if key not in self.int_lists:
            self.int_lists[key] = self.initializer(np.array(key, dtype=np.int64), "ints")
        return self.int_lists[key]

    def scalar(self, number, dtype, stem):
        """A 0-d initializer of ``dtype``, shared by every use of the same number under the same name."""
        key = (stem, float(number), np.dtype(dtype))
        if key not in self.scalars:
            self.scalars[key] = self.initializer(np.asarray(number, dtype=dtype), stem)
        return self.scalars[key]

    def op(self, op_type, inputs, out=None, stem=None, **attributes):
        """Append one ONNX node; returns its output's name (``out`` when given)."""
        out = out or self.unique(stem or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=self.unique(f"{out}_{op_type}"),
                                                **attributes))
        return out

    def chain(self, steps, first, out):
        """Apply ``steps`` [(op_type, extra inputs, attributes)] in turn to ``first``, the last one into ``out``."""
        if not steps:
            return self.op("Identity", [first], out)
        current = first
        for number, (op_type, extra, attributes) in enumerate(steps):
            current = self.op(op_type, [current, *extra], out if number == len(steps) - 1 else None, **attributes)
        return current

    def element_type(self, dtype):
        dtype = np.dtype(dtype)
        if dtype == np.float64:
            return self.onnx.TensorProto.DOUBLE
        if dtype == np.float32:
            return self.onnx.TensorProto.FLOAT
        if dtype == np.int64:  # class labels
            return self.onnx.TensorProto.INT64
        raise ExportError(f"onnx.export: dtype {dtype} has no ONNX counterpart here "
                          "(minigrad holds float64 or float32, and int64 class labels)")

    def value(self, node, dtype):
        """The ONNX name holding ``node``'s data in ``dtype`` (a Cast, or a converted constant, when it differs)."""
        own = node.dtype
        if own == dtype:
            return self.tensor[node]
        if node in self.constants_source:
            key = (node, np.dtype(dtype))
            if key not in self.constants:
                self.constants[key] = self.initializer(np.asarray(node.data).astype(dtype), self.tensor[node])
            return self.constants[key]
        key = (self.tensor[node], np.dtype(dtype))
        if key not in self.casts:
            self.casts[key] = self.op("Cast", [self.tensor[node]], stem=f"{self.tensor[node]}_cast",
                                      to=self.element_type(dtype))
        return self.casts[key]

    # -- the whole graph ------------------------------------------------------------------------

    def build(self, traced, input_names, output_names):
        outputs, inputs = traced.outputs, traced.inputs
        given_outputs = _given_names(output_names, len(outputs), "output_names")
        input_names = _given_names(input_names, len(inputs), "input_names") or [value.name for value in inputs]
        for value, name in zip(inputs, input_names):
            self.tensor[value] = self.unique(name)
            self.input_infos.append(self._info(self.tensor[value], value))
        # Outputs are named next, so that no other tensor takes their names.
        if given_outputs is None:
            defaults = ["output"] if len(outputs) == 1 else [f"output_{k}" for k in range(len(outputs))]
            output_names = [output.name or default for output, default in zip(outputs, defaults)]
        else:
            output_names = given_outputs
        output_tensors = [self.unique(name) for name in output_names]
        if given_outputs is not None and output_tensors != [_identifier(name) for name in given_outputs]:
            raise ValueError(f"onnx.export: output_names {given_outputs!r} reuse an input's name "
                             f"(the inputs: {[self.tensor[value] for value in inputs]!r})")
        final = {}  # the node whose result an output tensor can be written to directly
        for output, name in zip(outputs, output_tensors):
            if output.parents and output not in final:
                final[output] = name

        is_input = set(inputs)
        for node in traced.nodes:
            if node.parents or node in is_input:
                continue
            if node.requires_grad:
                stem = traced.parameter_names.get(id(node)) or node.name or "parameter"
            else:
                stem = node.name or "constant"
                self.constants_source.add(node)
            self.tensor[node] = self.initializer(np.asarray(node.data), stem)

        for node in traced.nodes:
            if not node.parents:
                continue
            emit = _EMITTERS.get(node.op.name)
            if emit is None:
                raise UnsupportedOp(node.op.name, f"onnx.export({traced.title}): op '{node.op.name}' has no ONNX "
                                    f"translation (the mapped ops: {', '.join(sorted(MAPPED_OPS))})")
            out = final.get(node) or self.unique(node.name or node.op.name)
            own = node.op.name in _OWN_DTYPES
            args = [self.value(parent, parent.dtype if own else node.dtype) for parent in node.parents]
            try:
                self.tensor[node] = emit(self, node, args, out)
            except UnsupportedOp as error:
                raise UnsupportedOp(error.op_name, f"onnx.export({traced.title}): {error}") from None

        for output, name in zip(outputs, output_tensors):
            if self.tensor[output] != name:
                self.op("Identity", [self.tensor[output]], name)
            self.output_infos.append(self._info(name, output))

    def _info(self, name, value):
        return self.helper.make_tensor_value_info(name, self.element_type(value.dtype), list(value.shape))

    def proto(self, title):
        return self.helper.make_graph(self.nodes, _identifier(title), self.input_infos, self.output_infos,
                                      self.initializers)


def _given_names(names, count, what):
    if names is None:
        return None
    if isinstance(names, str) or not all(isinstance(name, str) and name for name in names):
        raise TypeError(f"onnx.export: {what} must be a list of non-empty strings, got {names!r}")
    names = list(names)
    if len(names) != count:
        raise ValueError(f"onnx.export: {what} has {len(names)} names for {count} {what.split('_')[0]}s")
    cleaned = [_identifier(name) for name in names]
    if len(set(cleaned)) != len(cleaned):
        raise ValueError(f"onnx.export: {what} {names!r} are not distinct (as ONNX names: {cleaned!r})")
    return names


# ---------------------------------------------------------------------------
# One emitter per op: (graph, node, ONNX names of its parents in the node's dtype, output name) -> output name
# ---------------------------------------------------------------------------


def _elementwise(op_type):
    def emit(graph, node, args, out):
        return graph.op(op_type, args, out)
    emit.__doc__ = f"→ {op_type}"
    return emit


def _pow_const(graph, node, args, out):
    """aⁿ → Pow(a, n), n a 0-d constant of a's dtype."""
    return graph.op("Pow", [args[0], graph.scalar(node.saved, node.dtype, "exponent")], out)


def _sigmoid(graph, node, args, out):
    """F(x) = 1/(1 + exp(−αx)) (Eq. 6.1) → Mul(x, −α) (Neg for α = 1), Exp, Add 1, Reciprocal.

    # NOTE: not ONNX's Sigmoid: onnxruntime computes it through tanh, which
    # loses the relative accuracy of small outputs (at x = −30 a relative
    # error of 1e−3 in float64, and 0 from x = −18 on in float32).  Written
    # as Eq. 6.1 it keeps minigrad's numbers, which compute the same
    # expression (`numerics.sigmoid_parts`); only where F is subnormal
    # (αx < −709 in float64, −88 in float32) does exp overflow and F read 0.
    """
    alpha = node.saved[0]
    if alpha == 1.0:
        negated = graph.op("Neg", [args[0]], stem="minus_x")
    else:
        negated = graph.op("Mul", [args[0], graph.scalar(-alpha, node.dtype, "minus_alpha")], stem="minus_alpha_x")
    e = graph.op("Exp", [negated], stem="exp_minus_alpha_x")
    denominator = graph.op("Add", [e, graph.scalar(1.0, node.dtype, "one")], stem="one_plus_exp")
    return graph.op("Reciprocal", [denominator], out)


def _axes(axis, ndim):
    """The reduced axes as non-negative ints (None: all)."""
    if axis is None:
        return None
    axes = axis if isinstance(axis, tuple) else (axis,)
    return [int(a) % ndim for a in axes]


def _reduction(op_type):
    def emit(graph, node, args, out):
        axis, keepdims = node.saved[0], node.saved[1]
        ndim = node.parents[0].ndim
        axes = _axes(axis, ndim)
        if ndim == 0 or axes == []:  # NOTE: ONNX reads empty axes as "all"; numpy's axis=() reduces nothing
            return graph.op("Identity", [args[0]], out)
        # NOTE: onnxruntime's ReduceMax and ReduceMin skip a nan that numpy's max and min would return.
        inputs = [args[0]] if axes is None else [args[0], graph.ints(axes)]
        return graph.op(op_type, inputs, out, keepdims=int(bool(keepdims)))
    emit.__doc__ = f"→ {op_type} (axes an input, keepdims)"
    return emit


def _reshape(graph, node, args, out):
    """→ Reshape to the recorded shape (allowzero: a 0 in it means 0, as in numpy)."""
    return graph.op("Reshape", [args[0], graph.ints(node.saved)], out, allowzero=1)


def _transpose(graph, node, args, out):
    """→ Transpose(perm); numpy's default reverses the axes."""
    ndim = node.parents[0].ndim
    perm = list(range(ndim))[::-1] if node.saved is None else [int(a) for a in node.saved]
    if perm == list(range(ndim)):
        return graph.op("Identity", [args[0]], out)
    return graph.op("Transpose", [args[0]], out, perm=perm)


def _getitem(graph, node, args, out):
    """a[index] → Slice (ints and slices), Squeeze (ints), Unsqueeze (None); integer arrays → Gather.

    With integer arrays (numpy's advanced indexing) the indexed axes are moved
    together (Transpose, as numpy does when they are not adjacent), merged into
    one (Reshape) and gathered with the flat positions, computed now from the
    constant index arrays (Gather).
    """
    index = node.saved
    shape = node.parents[0].shape
    items = []
    for item in (index if type(index) is tuple else (index,)):
        if isinstance(item, (bool, np.bool_)) or isinstance(item, (list, np.ndarray)) and \
                np.asarray(item).dtype.kind not in "iu":
            raise UnsupportedOp("getitem", f"getitem: index [{format_index(index)}] holds booleans or a "
                                "non-integer array; ONNX export takes ints, slices, None, Ellipsis and integer arrays")
        if isinstance(item, (list, np.ndarray)):
            item = np.asarray(item, dtype=np.int64)
        elif isinstance(item, np.integer):
            item = int(item)
        items.append(item)
    consumed = sum(1 for item in items if item is not None and item is not Ellipsis)
    ellipsis = [k for k, item in enumerate(items) if item is Ellipsis]
    fill = [slice(None)] * (len(shape) - consumed)
    items = items[:ellipsis[0]] + fill + items[ellipsis[0] + 1:] if ellipsis else items + fill
    if any(isinstance(item, np.ndarray) for item in items):
        if any(item is None for item in items):
            raise UnsupportedOp("getitem", f"getitem: index [{format_index(index)}] mixes integer arrays with "
                                "None, which the exporter does not translate; add the axis with reshape instead")
        plan = _advanced_index(graph, items, shape, node.shape)
        return graph.chain(plan, args[0], out)

    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = position = 0
    for item in items:
        if item is None:
            unsqueeze.append(position)
            position += 1
            continue
        if type(item) is int:
            start = item + shape[axis] if item < 0 else item
            starts, ends, axes, steps = starts + [start], ends + [start + 1], axes + [axis], steps + [1]
            squeeze.append(axis)
        else:
            _add_slice(item, axis, shape[axis], starts, ends, axes, steps)
            position += 1
        axis += 1
    plan = _slice_step(graph, starts, ends, axes, steps)
    if squeeze:
        plan.append(("Squeeze", [graph.ints(squeeze)], {}))
    if unsqueeze:
        plan.append(("Unsqueeze", [graph.ints(unsqueeze)], {}))
    return graph.chain(plan, args[0], out)


def _add_slice(item, axis, size, starts, ends, axes, steps):
    """Slice's bounds for one slice item; nothing when it takes the whole axis."""
    start, stop, step = item.indices(size)
    if (start, stop, step) != (0, size, 1):
        # NOTE: slice.indices gives −1 for "before index 0" when stepping backwards,
        # which ONNX would read as "the last element": INT64_MIN says what is meant.
        starts.append(_INT64_MIN if start < 0 else start)
        ends.append(_INT64_MIN if stop < 0 else stop)
        axes.append(axis)
        steps.append(step)


def _slice_step(graph, starts, ends, axes, steps):
    if not axes:
        return []
    return [("Slice", [graph.ints(starts), graph.ints(ends), graph.ints(axes), graph.ints(steps)], {})]


def _advanced_index(graph, items, shape, result_shape):
    """The plan for an index with integer arrays (ints count as 0-d arrays there, as in numpy)."""
    starts, ends, axes, steps = [], [], [], []
    sliced, advanced, arrays = [], [], []
    for axis, item in enumerate(items):
        if isinstance(item, slice):
            _add_slice(item, axis, shape[axis], starts, ends, axes, steps)
            sliced.append(len(range(*item.indices(shape[axis]))))
        else:
            advanced.append(axis)
            arrays.append(np.asarray(item, dtype=np.int64) % shape[axis] if shape[axis] else np.asarray(item))
            sliced.append(shape[axis])
    plan = _slice_step(graph, starts, ends, axes, steps)
    first = advanced[0]
    if advanced != list(range(first, first + len(advanced))):
        # NOTE: numpy puts the indexed axes first when other axes separate them.
        others = [axis for axis in range(len(items)) if axis not in advanced]
        plan.append(("Transpose", [], {"perm": advanced + others}))
        sliced = [sliced[axis] for axis in advanced + others]
        first = 0
    merged = sliced[first:first + len(advanced)]
    try:
        flat = np.ravel_multi_index(tuple(np.broadcast_arrays(*arrays)), merged)
    except ValueError as error:
        raise UnsupportedOp("getitem", f"getitem: the integer arrays of this index do not translate "
                            f"({error})") from None
    if len(advanced) > 1:
        plan.append(("Reshape", [graph.ints(sliced[:first] + [int(np.prod(merged))] + sliced[first + len(advanced):])],
                     {"allowzero": 1}))
    plan.append(("Gather", [graph.initializer(flat.astype(np.int64), "indices")], {"axis": first}))
    expected = tuple(sliced[:first]) + flat.shape + tuple(sliced[first + len(advanced):])
    if expected != tuple(result_shape):  # NOTE: a guard: never write a graph whose shape differs from numpy's
        raise UnsupportedOp("getitem", f"getitem: this index would give shape {expected} in ONNX but {result_shape} "
                            "in numpy; it is not exported")
    return plan


def _matmul(graph, node, args, out):
    """a @ b → MatMul; a 1-D operand is made a matrix first (a row on the left, a column on the right,
    as numpy promotes it) and the added axis squeezed away after.

    # NOTE: written out because onnxruntime (1.32) fuses Transpose into MatMul
    # wrongly when the other operand is 1-D: ``b.T @ c`` gave ``c @ b``.
    """
    a, b = args
    a_ndim, b_ndim = node.parents[0].ndim, node.parents[1].ndim
    if a_ndim >= 2 and b_ndim >= 2:
        return graph.op("MatMul", [a, b], out)
    squeeze = []
    if a_ndim == 1:
        a = graph.op("Unsqueeze", [a, graph.ints([0])], stem="row")
        squeeze.append(-2 if b_ndim >= 2 else 0)
    if b_ndim == 1:
        b = graph.op("Unsqueeze", [b, graph.ints([1])], stem="column")
        squeeze.append(-1)
    product = graph.op("MatMul", [a, b], stem="matmul_promoted")
    return graph.op("Squeeze", [product, graph.ints(squeeze)], out)


def _stack(graph, node, args, out):
    """[a₀, a₁, …] → Unsqueeze each at the new axis, then Concat."""
    axis = int(node.saved) % node.ndim
    expanded = [graph.op("Unsqueeze", [arg, graph.ints([axis])], stem="stacked") for arg in args]
    return graph.op("Concat", expanded, out, axis=axis)


def _sse(graph, node, args, out):
    """½ Σ (Desired − Actual)² (Eq. 6.5) → Sub, ReduceSumSquare (Mul for 0-d), Mul ½."""
    error = graph.op("Sub", args, stem="E")
    if node.parents[0].ndim == 0 and node.parents[1].ndim == 0:
        squares = graph.op("Mul", [error, error], stem="E_squared")
    else:
        squares = graph.op("ReduceSumSquare", [error], stem="sum_E_squared", keepdims=0)
    return graph.op("Mul", [squares, graph.scalar(0.5, node.dtype, "half")], out)


def _sse_scalars(graph, node, args, out):
    """½ Σ_o (Desired_o − A_o)² over scalars → Sub and Mul per output, Sum, Mul ½."""
    half = len(args) // 2
    squares = []
    for o, (desired, actual) in enumerate(zip(args[:half], args[half:])):
        error = graph.op("Sub", [desired, actual], stem=f"E_{o}")
        squares.append(graph.op("Mul", [error, error], stem=f"E_{o}_squared"))
    total = graph.op("Sum", squares, stem="sum_E_squared")
    return graph.op("Mul", [total, graph.scalar(0.5, node.dtype, "half")], out)


def _clip(graph, node, args, out):
    """a limited to [lo, hi] → Clip(a, lo, hi), a bound of None left out (an empty input name)."""
    bounds = ["" if bound is None else graph.scalar(bound, node.dtype, name)
              for bound, name in zip(node.saved, ("low", "high"))]
    while bounds and bounds[-1] == "":
        bounds.pop()
    return graph.op("Clip", [args[0], *bounds], out)


def _along_axis(op_type):
    def emit(graph, node, args, out):
        return graph.op(op_type, args, out, axis=int(node.saved))
    emit.__doc__ = f"→ {op_type}(axis)"
    return emit


def _mse(graph, node, args, out):
    """(1/N) Σ (Desired − Actual)² → Sub, ReduceSumSquare (Mul for 0-d), Div N."""
    error = graph.op("Sub", args, stem="E")
    if node.parents[0].ndim == 0 and node.parents[1].ndim == 0:
        return graph.op("Mul", [error, error], out)
    squares = graph.op("ReduceSumSquare", [error], stem="sum_E_squared", keepdims=0)
    return graph.op("Div", [squares, graph.scalar(node.parents[0].size, node.dtype, "N")], out)


def _cross_entropy(graph, node, args, out):
    """−(1/N) Σ targets · log_softmax(logits) → LogSoftmax(axis), Mul, Where (a zero target adds 0, even
    against a logit of −inf), ReduceSum, Neg, Div N ("mean"; N = 1 for "sum" is left out)."""
    axis, _, count, _ = node.saved
    log_p = graph.op("LogSoftmax", [args[0]], stem="log_p", axis=int(axis))
    if node.parents[0].dtype != node.dtype:
        log_p = graph.op("Cast", [log_p], stem="log_p_cast", to=graph.element_type(node.dtype))
    targets = graph.value(node.parents[1], node.dtype)
    terms = graph.op("Mul", [targets, log_p], stem="targets_log_p")
    zero = graph.scalar(0.0, node.dtype, "zero")
    is_zero = graph.op("Equal", [targets, zero], stem="target_is_zero")
    terms = graph.op("Where", [is_zero, zero, terms], stem="terms")
    total = graph.op("ReduceSum", [terms], stem="sum_terms", keepdims=0)
    if count == 1:
        return graph.op("Neg", [total], out)
    negated = graph.op("Neg", [total], stem="minus_sum")
    return graph.op("Div", [negated, graph.scalar(count, node.dtype, "N")], out)


def _one_hot(graph, node, args, out):
    """The one-hot rows of int64 labels → Unsqueeze(labels, axis), Equal against the classes
    0 … C−1 laid along ``axis``, Cast to the dtype (onnxruntime's OneHot has no float64 output)."""
    classes, axis, dtype = node.saved
    after = len(node.shape) - 1 - axis  # the axes after the classes' one
    classes_along = graph.initializer(np.arange(classes, dtype=np.int64).reshape((classes,) + (1,) * after),
                                      "classes")
    labels = graph.op("Unsqueeze", [args[0], graph.ints([axis])], stem="labels_along")
    equal = graph.op("Equal", [labels, classes_along], stem="is_class")
    return graph.op("Cast", [equal], out, to=graph.element_type(dtype))


#: op name -> its ONNX translation.
_EMITTERS = {
    "add": _elementwise("Add"),
    "sub": _elementwise("Sub"),
    "mul": _elementwise("Mul"),
    "div": _elementwise("Div"),
    "neg": _elementwise("Neg"),
    "pow_const": _pow_const,
    "pow": _elementwise("Pow"),
    "exp": _elementwise("Exp"),
    "log": _elementwise("Log"),
    "tanh": _elementwise("Tanh"),
    "relu": _elementwise("Relu"),
    "sigmoid": _sigmoid,
    "abs": _elementwise("Abs"),
    "sqrt": _elementwise("Sqrt"),
    "maximum": _elementwise("Max"),
    "minimum": _elementwise("Min"),
    "clip": _clip,
    "sum": _reduction("ReduceSum"),
    "mean": _reduction("ReduceMean"),
    "max": _reduction("ReduceMax"),
    "min": _reduction("ReduceMin"),
    "reshape": _reshape,
    "transpose": _transpose,
    "getitem": _getitem,
    "matmul": _matmul,
    "stack": _stack,
    "softmax": _along_axis("Softmax"),
    "log_softmax": _along_axis("LogSoftmax"),
    "sse": _sse,
    "sse_scalars": _sse_scalars,
    "mse": _mse,
    "cross_entropy": _cross_entropy,
    "one_hot": _one_hot,
}

# NOTE: these emitters get their inputs in the inputs' own dtypes, not the result's:
# cross_entropy takes log_softmax in the logits' dtype, as minigrad does (float32
# logits against float64 targets), and promotes only the product; one_hot its int64 labels.
_OWN_DTYPES = frozenset({"cross_entropy", "one_hot"})

#: The names of the ops `export` translates.
MAPPED_OPS = frozenset(_EMITTERS)
