"""Hypothesis strategies: random expression graphs, evaluated three ways.

A *program* is a list of instructions over a growing list of nodes.  Each
instruction names an op of the table below and its operands: earlier nodes
(reused freely), fresh leaves, or constants (Python numbers, float64 arrays,
or Values that need no gradient), on either side of a binary op.  Leaves are
Python floats (minigrad's scalar path), 0-d arrays or arrays of the shapes
(), (n,), (m,n), (1,n), (m,1), in float64, float32 or a mix of both; shapes
combine by numpy's broadcasting.

The same program runs on minigrad Values, on the HIPS `autograd` package (an
independent autodiff, always in float64) and, for central differences, on
minigrad's forward pass.  Between them the instructions exercise every op of
`minigrad.core.ops.OPS` (see `ENGINE_OPS_EXERCISED`).

# NOTE: ops with a restricted domain or a kink are guarded so every graph is
# smooth where it is evaluated: log, sqrt and fractional powers take x·x + c,
# division takes b·b + 1; relu and abs are skipped when their input is within
# 1e-4 of 0, maximum/minimum when the two sides (nearly) tie, max/min when two
# elements (nearly) tie for the extreme, and clip when its input is (nearly)
# at a bound: there the derivative is a convention (tests/test_losses_and_new_ops.py
# checks minigrad's against autograd's), and central differences see the kink.
# cross_entropy takes integer labels, or the softmax of an operand as probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import autograd.numpy as anp
import numpy as np
from autograd import grad as autograd_grad
from autograd.scipy.special import logsumexp
from hypothesis import strategies as st

import minigrad as mg

SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1)]

#: Largest value a drawn node may reach; beyond it the instruction is redrawn.
LIMIT = 1e4


@dataclass
class Program:
    """Leaves and instructions; ``dtype`` is "float64", "float32" or "mixed".

    ``leaves``: (float64 data, kind, dtype) with kind "float" (a Python float)
    or "array"; float32 leaves' data are already rounded to float32.
    ``instructions``: (op, operands, params); an operand is ("node", i) or
    ("const", form, data) with form "number", "array" or "frozen" (a Value
    with requires_grad=False); a list operand (stack, the scalar sse) holds such
    operands.  Op "leaf" appends leaf number params[0] to the nodes.
    """

    leaves: list = field(default_factory=list)
    instructions: list = field(default_factory=list)
    dtype: str = "float64"

    def __repr__(self):
        lines = [f"Program(dtype={self.dtype!r},"]
        for number, (data, kind, dtype) in enumerate(self.leaves):
            lines.append(f"  leaf {number}: {kind} {dtype} {np.array2string(np.asarray(data), precision=17, separator=', ')}")
        for number, instruction in enumerate(self.instructions):
            lines.append(f"  {number}: {instruction!r}")
        return "\n".join(lines) + ")"


# ---------------------------------------------------------------------------
# The instructions on each backend
# ---------------------------------------------------------------------------


class BinaryInstructions:
    """The binary instructions, written once with Python's operators: each
    backend's own `+ - * / **` does the work, so nothing is shared but syntax."""

    def add(self, a, b): return a + b
    def sub(self, a, b): return a - b
    def mul(self, a, b): return a * b
    def div(self, a, b): return a / (b * b + 1.0)
    def powv(self, a, b): return (a * a + 0.5) ** (b * 0.5)


class MinigradOps(BinaryInstructions):
    """Each instruction on minigrad Values (constants as given)."""

    def neg(self, x): return -x
    def exp(self, x): return (x * 0.5).exp()
    def log(self, x): return (x * x + 0.5).log()
    def tanh(self, x): return x.tanh()
    def relu(self, x): return x.relu()
    def sigmoid(self, x, alpha): return x.sigmoid(alpha)
    def pow(self, x, exponent): return x ** exponent                      # integer exponents: any base
    def pow_guarded(self, x, exponent): return (x * x + 1.0) ** exponent  # fractional or negative ones
    def sum(self, x, axis, keepdims): return x.sum(axis=axis, keepdims=keepdims)
    def mean(self, x, axis, keepdims): return x.mean(axis=axis, keepdims=keepdims)
    def transpose(self, x, axes): return x.T if axes == "T" else x.transpose(*axes)
    def reshape(self, x, shape): return x.reshape(shape)
    def getitem(self, x, index): return x[index]
    def matmul(self, a, b): return a @ b
    def sse(self, desired, actual): return mg.sse(desired, actual)
    def stack(self, items, axis): return mg.stack(items, axis=axis)
    def abs(self, x): return x.abs()
    def sqrt(self, x): return (x * x + 0.5).sqrt()
    def maximum(self, a, b): return mg.maximum(a, b)
    def minimum(self, a, b): return mg.minimum(a, b)
    def clip(self, x, lo, hi): return x.clip(lo, hi)
    def max(self, x, axis, keepdims): return x.max(axis=axis, keepdims=keepdims)
    def min(self, x, axis, keepdims): return x.min(axis=axis, keepdims=keepdims)
    def softmax(self, x, axis): return x.softmax(axis)
    def log_softmax(self, x, axis): return x.log_softmax(axis)
    def mse(self, desired, actual): return mg.mse(desired, actual)

    def cross_entropy(self, logits, targets, axis, reduction, kind):
        if kind == "probabilities":
            targets = mg.softmax(targets, axis)
        return mg.cross_entropy(logits, targets, reduction=reduction, axis=axis)


class AutogradOps(BinaryInstructions):
    """The same instructions on autograd.numpy, written independently."""

    def neg(self, x): return -x
    def exp(self, x): return anp.exp(x * 0.5)
    def log(self, x): return anp.log(x * x + 0.5)
    def tanh(self, x): return anp.tanh(x)
    def relu(self, x): return anp.maximum(x, 0.0)
    # 1/(1 + exp(−αx)) = (1 + tanh(αx/2))/2, which never overflows.
    def sigmoid(self, x, alpha): return 0.5 * (1.0 + anp.tanh(0.5 * alpha * x))
    def pow(self, x, exponent): return x ** exponent
    def pow_guarded(self, x, exponent): return (x * x + 1.0) ** exponent
    def sum(self, x, axis, keepdims): return anp.sum(x, axis=axis, keepdims=keepdims)
    def mean(self, x, axis, keepdims): return anp.mean(x, axis=axis, keepdims=keepdims)
    def transpose(self, x, axes):
        if axes == "T" or not axes:
            return anp.transpose(x)
        # NOTE: autograd's transpose gradient mishandles negative axes; give it positive ones.
        return anp.transpose(x, tuple(axis % anp.ndim(x) for axis in axes))
    def reshape(self, x, shape): return anp.reshape(x, shape)
    def getitem(self, x, index): return x[index]
    def matmul(self, a, b): return anp.matmul(a, b)

    def sse(self, desired, actual):
        if isinstance(actual, list):
            return 0.5 * sum((d - a) ** 2 for d, a in zip(desired, actual))
        return 0.5 * anp.sum((desired - actual) ** 2)

    def stack(self, items, axis): return anp.stack(items, axis=axis)
    def abs(self, x): return anp.abs(x)
    def sqrt(self, x): return anp.sqrt(x * x + 0.5)
    def maximum(self, a, b): return anp.maximum(a, b)
    def minimum(self, a, b): return anp.minimum(a, b)
    def clip(self, x, lo, hi): return anp.clip(x, lo, hi)
    def max(self, x, axis, keepdims): return anp.max(x, axis=axis, keepdims=keepdims)
    def min(self, x, axis, keepdims): return anp.min(x, axis=axis, keepdims=keepdims)
    # From scipy's logsumexp (autograd's own), not from a max shift: written independently of minigrad.
    def log_softmax(self, x, axis): return x - logsumexp(x, axis=axis, keepdims=True)
    def softmax(self, x, axis): return anp.exp(self.log_softmax(x, axis))
    def mse(self, desired, actual): return anp.mean((desired - actual) ** 2)

    def cross_entropy(self, logits, targets, axis, reduction, kind):
        axis = axis % anp.ndim(logits)
        classes = anp.shape(logits)[axis]
        if kind == "labels":
            targets = np.moveaxis(np.eye(classes)[np.asarray(targets).astype(int)], -1, axis)
        else:
            targets = self.softmax(targets, axis)
        total = -anp.sum(targets * self.log_softmax(logits, axis))
        return total / (anp.size(logits) // classes) if reduction == "mean" else total


BINARY = ("add", "sub", "mul", "div", "powv")
BINARY_FUNCTIONS = ("maximum", "minimum")
ELEMENTWISE = ("neg", "exp", "log", "tanh", "relu", "sigmoid", "pow", "pow_guarded", "abs", "sqrt", "clip")
OPS = BINARY + BINARY_FUNCTIONS + ELEMENTWISE + (
    "sum", "mean", "max", "min", "transpose", "reshape", "getitem", "matmul", "sse", "stack", "softmax",
    "log_softmax", "cross_entropy", "mse")

#: Which instructions make which engine op (name of the `Op`), for the coverage test.
ENGINE_OPS_EXERCISED = {
    "add": "add", "sub": "sub", "mul": "mul", "div": "div", "neg": "neg", "powv": "pow", "pow": "pow_const",
    "exp": "exp", "log": "log", "tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid", "sum": "sum",
    "mean": "mean", "reshape": "reshape", "transpose": "transpose", "getitem": "getitem",
    "matmul": "matmul", "sse": "sse", "stack": "stack", "abs": "abs", "sqrt": "sqrt", "maximum": "maximum",
    "minimum": "minimum", "clip": "clip", "max": "max", "min": "min", "softmax": "softmax",
    "log_softmax": "log_softmax", "cross_entropy": "cross_entropy", "mse": "mse",
}


# ---------------------------------------------------------------------------
# Running a program
# ---------------------------------------------------------------------------


def _constant(operand, backend, dtype):
    _, form, data = operand
    if backend == "minigrad" and form == "frozen":
        if type(data) is float:
            return mg.Value(data, requires_grad=False)
        return mg.Value(np.asarray(data, dtype=dtype), requires_grad=False)
    return data


def _resolve(operand, nodes, backend, dtype):
    if isinstance(operand, list):
        return [_resolve(item, nodes, backend, dtype) for item in operand]
    if operand[0] == "node":
        return nodes[operand[1]]
    return _constant(operand, backend, dtype)


def make_leaves(program):
    """Fresh minigrad leaves: Python floats for kind "float", arrays otherwise."""
    leaves = []
    for data, kind, leaf_dtype in program.leaves:
        if kind == "float":
            leaves.append(mg.Value(float(data)))
        else:
            leaves.append(mg.Value(np.asarray(data, dtype=leaf_dtype)))
    return leaves


def run(program, leaves, backend="minigrad", dtype=np.float64):
    """Evaluate a program on given leaves; returns (loss, nodes).

    The loss is the sum of every op node's sum, so every node gets a gradient.
    ``backend`` is "minigrad" (Values) or "autograd" (autograd.numpy, or plain
    numpy arrays).  ``dtype`` is the dtype of frozen-Value constants.
    """
    ops = MinigradOps() if backend == "minigrad" else AutogradOps()
    nodes = []
    total = None
    for op, operands, params in program.instructions:
        if op == "leaf":
            nodes.append(leaves[params[0]])
            continue
        arguments = [_resolve(operand, nodes, backend, dtype) for operand in operands]
        out = getattr(ops, op)(*arguments, *params)
        nodes.append(out)
        term = out.sum() if isinstance(out, mg.Value) else anp.sum(out)
        total = term if total is None else total + term
    return total, nodes


def evaluate(program):
    """The program on plain float64 numpy arrays: (loss, node values)."""
    loss, nodes = run(program, [np.asarray(data, dtype=np.float64) for data, _, _ in program.leaves], "autograd")
    return float(loss), [np.asarray(node, dtype=np.float64) for node in nodes]


# ---------------------------------------------------------------------------
# Drawing a program
# ---------------------------------------------------------------------------


def _index_candidates(shape):
    """Valid indices for an array of ``shape`` (ndim ≥ 1): basic and integer-array."""
    first, last = shape[0], shape[-1]
    candidates = [0, -1, slice(0, 1), slice(None, None, -1), Ellipsis, None,
                  np.array([first - 1, 0, first - 1]),       # repeated rows: gradients must add up
                  [0], (Ellipsis, -1), (Ellipsis, np.array([0, last - 1, 0]))]
    if len(shape) >= 2:
        second = shape[1]
        candidates += [(0, -1), (slice(None), 0), (slice(None), np.array([second - 1, 0, 0])),
                       (np.array([0, first - 1]), np.array([second - 1, second - 1])),
                       (np.array([[0], [first - 1]]), np.array([[0, second - 1]])), (slice(None, None, -1), None)]
    return candidates


def _reshape_candidates(shape):
    size = int(np.prod(shape))
    candidates = [(-1,), (1, -1), (-1, 1), (size,)]
    if size == 1:
        candidates += [(), (1, 1, 1)]
    if len(shape) >= 2:
        candidates.append(tuple(reversed(shape)))
    return candidates


def _transpose_candidates(ndim):
    if ndim <= 1:
        return ["T", ()]
    if ndim == 2:
        return ["T", (), (1, 0), (0, 1), (-1, 0), (0, -1)]
    return ["T", (), (2, 0, 1), (0, 2, 1), (-1, 0, 1)]


@st.composite
def _array(draw, shape, dtype):
    width = 32 if dtype == "float32" else 64
    elements = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False, width=width)
    values = draw(st.lists(elements, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.asarray(values, dtype=np.float64).reshape(shape)


class _Builder:
    """Keeps the program, each node's numpy value (for shapes and magnitudes) and kind."""

    def __init__(self, draw, dtype):
        self.draw = draw
        self.program = Program(dtype=dtype)
        self.values = []
        self.kinds = []  # "float" (a Python float in minigrad) or "array"

    def leaf_dtype(self):
        if self.program.dtype == "mixed":
            return self.draw(st.sampled_from(["float64", "float32"]))
        return self.program.dtype

    def new_leaf(self, shape, kind=None):
        dtype = self.leaf_dtype()
        if kind is None:
            kind = self.draw(st.sampled_from(["float", "array"])) if shape == () else "array"
        if kind == "float":
            dtype = "float64"  # a Python float is float64
        data = self.draw(_array(shape, dtype))
        self.program.leaves.append((data if shape else float(data), kind, dtype))
        self.program.instructions.append(("leaf", (), (len(self.program.leaves) - 1,)))
        self.values.append(np.asarray(data, dtype=np.float64))
        self.kinds.append(kind)
        return ("node", len(self.values) - 1)

    def node(self):
        return self.draw(st.integers(0, len(self.values) - 1))

    def nodes_of_shape(self, shape):
        return [i for i, value in enumerate(self.values) if value.shape == shape]

    def constant(self, shape):
        """A constant operand of ``shape``: a number, an array or a frozen Value."""
        number = self.draw(st.floats(-2.0, 2.0, allow_nan=False, width=32))
        if shape == ():
            form = self.draw(st.sampled_from(["number", "number", "frozen", "array"]))
            if form == "number" and self.draw(st.booleans()) and number == int(number):
                return ("const", "number", int(number))  # a Python int, made a float by the engine
            return ("const", form, np.asarray(number) if form == "array" else float(number))
        form = self.draw(st.sampled_from(["array", "frozen"]))
        return ("const", form, self.draw(_array(shape, "float32")))  # exact in float32 too

    def operand_value(self, operand):
        if operand[0] == "node":
            return self.values[operand[1]]
        return np.asarray(operand[2], dtype=np.float64)

    def operand_kind(self, operand):
        if operand[0] == "node":
            return self.kinds[operand[1]]
        return "float" if operand[1] in ("number", "frozen") and np.ndim(operand[2]) == 0 else "array"

    def partner(self, shape):
        """An operand whose shape broadcasts with ``shape``: a node, a fresh leaf or a constant."""
        choice = self.draw(st.sampled_from(["node", "leaf", "constant"]))
        fits = [s for s in SHAPES + [shape] if broadcastable(s, shape) and len(s) <= 2]
        if choice == "node":
            candidates = [i for i, value in enumerate(self.values) if broadcastable(value.shape, shape)]
            return ("node", self.draw(st.sampled_from(candidates)))
        if choice == "leaf":
            return self.new_leaf(self.draw(st.sampled_from(fits)))
        return self.constant(self.draw(st.sampled_from(fits)))

    def same_shape_operand(self, shape, allow_leaf=True):
        choices = ["node", "constant"] + (["leaf"] if allow_leaf else [])
        choice = self.draw(st.sampled_from(choices))
        if choice == "node":
            return ("node", self.draw(st.sampled_from(self.nodes_of_shape(shape))))
        if choice == "leaf":
            return self.new_leaf(shape)
        return self.constant(shape)

    def add(self, op, operands, params):
        """Append the instruction if its result is finite and moderate; returns whether it was."""
        arguments = []
        for operand in operands:
            if isinstance(operand, list):
                arguments.append([self.operand_value(item) for item in operand])
            else:
                arguments.append(self.operand_value(operand))
        with np.errstate(all="ignore"):
            out = np.asarray(getattr(AutogradOps(), op)(*arguments, *params), dtype=np.float64)
        if not np.all(np.isfinite(out)) or np.max(np.abs(out), initial=0.0) > LIMIT or out.ndim > 3:
            return False
        if _near_a_kink(op, arguments, params):
            return False
        self.program.instructions.append((op, tuple(operands), tuple(params)))
        self.values.append(out)
        self.kinds.append(self.result_kind(op, operands))
        return True

    def result_kind(self, op, operands):
        if op in ("reshape", "transpose", "getitem", "matmul", "stack", "softmax", "log_softmax", "cross_entropy"):
            return "array"
        if op == "sse" and isinstance(operands[1], list):
            return "float"
        kinds = {self.operand_kind(operand) for operand in operands}
        return "float" if kinds == {"float"} else "array"


def _close(a, b):
    """Where a and b are within rounding of each other (float32's, after a few ops)."""
    return np.abs(a - b) <= 1e-4 * (1.0 + np.abs(a) + np.abs(b))


def _near_a_kink(op, arguments, params):
    """True where an op's derivative is a convention, not a limit: a kink (or a tie) within rounding."""
    if op in ("relu", "abs"):
        return np.min(np.abs(arguments[0]), initial=np.inf) < 1e-4
    if op in ("maximum", "minimum"):
        return bool(np.any(_close(*np.broadcast_arrays(*arguments))))
    if op == "clip":
        return any(bound is not None and np.any(_close(arguments[0], bound)) for bound in params)
    if op in ("max", "min"):
        x, axis = arguments[0], params[0]
        axes = tuple(range(x.ndim)) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
        axes = tuple(a % x.ndim for a in axes) if x.ndim else ()
        rows = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim))).reshape(
            -1, int(np.prod([x.shape[a] for a in axes], dtype=int))) if x.ndim else x.reshape(1, 1)
        if rows.shape[1] < 2:
            return False
        ordered = np.sort(rows, axis=1)
        pair = (ordered[:, -1], ordered[:, -2]) if op == "max" else (ordered[:, 0], ordered[:, 1])
        return bool(np.any(_close(*pair)))
    return False


def broadcastable(a, b):
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _draw_instruction(builder, op):
    """Draw one instruction of ``op`` on the builder's nodes; False when none fits."""
    draw = builder.draw
    first = builder.node()
    shape = builder.values[first].shape
    x = ("node", first)
    if op in BINARY or op in BINARY_FUNCTIONS:
        other = builder.partner(shape)
        operands = [other, x] if draw(st.booleans()) else [x, other]
        return builder.add(op, operands, ())
    if op in ("neg", "exp", "log", "tanh", "relu", "abs", "sqrt"):
        return builder.add(op, [x], ())
    if op == "clip":
        bounds = [(-1.0, 1.0), (0.0, 0.5), (-0.5, None), (None, 0.25), (-2.0, 2.0), (0.5, 0.5)]
        return builder.add(op, [x], draw(st.sampled_from(bounds)))
    if op == "sigmoid":
        return builder.add(op, [x], (draw(st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0, 1, 3])),))
    if op == "pow":
        exponents = [2, 2.0, 3.0, 1.0, 3, 0.0, 0]
        return builder.add(op, [x], (draw(st.sampled_from(exponents)),))
    if op == "pow_guarded":
        return builder.add(op, [x], (draw(st.sampled_from([-1.0, 0.5, 1.5, -0.5, 2.5, -2])),))
    if op in ("sum", "mean", "max", "min"):
        axes = [None] + list(range(-len(shape), len(shape)))
        if len(shape) >= 2:
            axes.append((0, 1))
        return builder.add(op, [x], (draw(st.sampled_from(axes)), draw(st.booleans())))
    if op == "reshape":
        return builder.add(op, [x], (draw(st.sampled_from(_reshape_candidates(shape))),))
    if op == "transpose":
        return builder.add(op, [x], (draw(st.sampled_from(_transpose_candidates(len(shape)))),))
    if op == "getitem":
        if shape == ():
            return False
        return builder.add(op, [x], (draw(st.sampled_from(_index_candidates(shape))),))
    if op == "matmul":
        return _draw_matmul(builder, x, shape)
    if op == "sse":
        return _draw_sse(builder, x, shape)
    if op in ("softmax", "log_softmax"):
        if shape == ():
            return False
        return builder.add(op, [x], (draw(st.integers(-len(shape), len(shape) - 1)),))
    if op == "cross_entropy":
        return _draw_cross_entropy(builder, x, shape)
    if op == "mse":
        other = builder.same_shape_operand(shape)
        operands = [other, x] if draw(st.booleans()) else [x, other]
        return builder.add(op, operands, ())
    if op == "stack":
        count = draw(st.integers(1, 3))
        items = [x] + [builder.same_shape_operand(shape) for _ in range(count - 1)]
        items = draw(st.permutations(items))
        axis = draw(st.integers(-len(shape) - 1, len(shape)))
        return builder.add(op, [list(items)], (axis,))
    raise AssertionError(f"unknown op {op}")


def _draw_matmul(builder, x, shape):
    """x @ partner or partner @ x, the partner a node, a fresh leaf or a constant."""
    draw = builder.draw
    if shape == ():
        return False
    x_on_left = draw(st.booleans())
    inner = shape[-1] if x_on_left else (shape[0] if len(shape) == 1 else shape[-2])
    outer = draw(st.sampled_from([1, 2]))
    partner_shapes = [(inner,), (inner, outer)] if x_on_left else [(inner,), (outer, inner)]
    candidates = [i for i, value in enumerate(builder.values)
                  if value.shape in partner_shapes or (len(value.shape) >= 2 and
                                                       (value.shape[-2] if x_on_left else value.shape[-1]) == inner)]
    choice = draw(st.sampled_from(["node", "leaf", "constant"] if candidates else ["leaf", "constant"]))
    if choice == "node":
        partner = ("node", draw(st.sampled_from(candidates)))
    elif choice == "leaf":
        partner = builder.new_leaf(draw(st.sampled_from(partner_shapes)), kind="array")
    else:
        partner = builder.constant(draw(st.sampled_from(partner_shapes)))
        if partner[1] == "number":
            return False
    operands = [x, partner] if x_on_left else [partner, x]
    shapes = [builder.operand_value(operand).shape for operand in operands]
    try:
        np.matmul(np.zeros(shapes[0]), np.zeros(shapes[1]))
    except ValueError:
        return False
    return builder.add("matmul", operands, ())


def _draw_sse(builder, x, shape):
    """sse(desired, actual) on same-shaped operands, or on lists of scalar Values."""
    draw = builder.draw
    scalars = [i for i, kind in enumerate(builder.kinds) if kind == "float"]
    if builder.kinds[x[1]] == "float" and draw(st.sampled_from([True, True, False])):
        count = draw(st.integers(1, 3))
        actual = [x] + [("node", draw(st.sampled_from(scalars))) for _ in range(count - 1)]
        desired = [("node", draw(st.sampled_from(scalars))) if draw(st.booleans()) else
                   ("const", "number", draw(st.floats(-2.0, 2.0, width=32))) for _ in range(count)]
        return builder.add("sse", [desired, actual], ())
    other = builder.same_shape_operand(shape)
    operands = [other, x] if draw(st.booleans()) else [x, other]
    return builder.add("sse", operands, ())


def _draw_cross_entropy(builder, x, shape):
    """cross_entropy(x, targets) with integer labels (a constant) or the softmax of an operand."""
    draw = builder.draw
    if shape == ():
        return False
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    reduction = draw(st.sampled_from(["mean", "sum"]))
    if draw(st.booleans()):
        rows = shape[:axis % len(shape)] + shape[axis % len(shape) + 1:]
        count = int(np.prod(rows, dtype=int))
        labels = draw(st.lists(st.integers(0, shape[axis] - 1), min_size=count, max_size=count))
        targets = ("const", "labels", np.asarray(labels, dtype=np.int64).reshape(rows))
        return builder.add("cross_entropy", [x, targets], (axis, reduction, "labels"))
    targets = builder.same_shape_operand(shape)
    return builder.add("cross_entropy", [x, targets], (axis, reduction, "probabilities"))


@st.composite
def programs(draw, max_inputs=3, max_steps=8, dtypes=("float64",), ops=OPS):
    """A random `Program` of up to ``max_steps`` ops over up to ``max_inputs`` leaves."""
    builder = _Builder(draw, draw(st.sampled_from(list(dtypes))))
    for _ in range(draw(st.integers(1, max_inputs))):
        builder.new_leaf(draw(st.sampled_from(SHAPES + [()])))  # scalars twice as likely
    steps = draw(st.integers(1, max_steps))
    made = 0
    for _ in range(3 * steps):
        if made == steps:
            break
        made += _draw_instruction(builder, draw(st.sampled_from(list(ops))))
    if made == 0:  # always at least one op: a sum of the first leaf
        builder.add("sum", [("node", 0)], (None, False))
    return builder.program


# ---------------------------------------------------------------------------
# The checks (shared by tests/test_oracle.py and tests/fuzz.py)
# ---------------------------------------------------------------------------


def minigrad_gradients(program):
    """(loss Value, leaves, gradients) from minigrad's reverse mode."""
    leaves = make_leaves(program)
    frozen = np.float64 if program.dtype == "float64" else np.float32
    loss, _ = run(program, leaves, "minigrad", frozen)
    loss.backward()
    grads = [leaf.grad if leaf.grad is not None else 0.0 if type(leaf.data) is float else
             np.zeros(leaf.shape, dtype=leaf.dtype) for leaf in leaves]
    return loss, leaves, grads


def oracle_gradients(program):
    """(loss, gradients) from HIPS autograd, in float64 on the same leaf values."""
    inputs = tuple(np.asarray(data, dtype=np.float64) for data, _, _ in program.leaves)

    def loss(args):
        return run(program, list(args), "autograd")[0]

    return float(loss(inputs)), [np.asarray(g) for g in autograd_grad(loss)(inputs)]


def check_against_autograd(program):
    """Loss and every leaf's gradient agree with autograd; shapes, kinds and dtypes kept."""
    want_loss, want = oracle_gradients(program)
    loss, leaves, got = minigrad_gradients(program)
    has_float32 = program.dtype != "float64"  # float32 leaves or float32 frozen constants
    # float64: agreement to rounding; float32 inputs: to float32 precision.
    rtol = 2e-3 if has_float32 else 1e-9
    loss_scale = 1.0 + sum(float(np.sum(np.abs(value))) for value in evaluate(program)[1])
    assert abs(loss.item() - want_loss) <= rtol * loss_scale, f"loss {loss.item()!r}, autograd {want_loss!r}"
    for number, (leaf, g, w, (_, kind, dtype)) in enumerate(zip(leaves, got, want, program.leaves)):
        if kind == "float":
            assert type(g) is float, f"leaf {number}: a Python-float leaf got a {type(g).__name__} gradient"
        else:
            # NOTE: a 0-d leaf's gradient may be a numpy scalar (0-d + 0-d is one in numpy).
            assert isinstance(g, (np.ndarray, np.generic)) and g.dtype == np.dtype(dtype), \
                f"leaf {number}: {dtype} leaf got gradient {type(g).__name__} {getattr(g, 'dtype', '')}"
        assert np.shape(g) == np.shape(w), f"leaf {number}: gradient shape {np.shape(g)}, want {np.shape(w)}"
        scale = 1.0 + float(np.max(np.abs(w), initial=0.0))
        np.testing.assert_allclose(g, w, rtol=rtol, atol=rtol * scale, err_msg=f"leaf {number} vs autograd")


def check_against_central_differences(program):
    """float64 reverse mode against central differences (`minigrad.gradcheck`), leaf kinds kept."""
    arrays = [np.asarray(data, dtype=np.float64) for data, _, _ in program.leaves]
    kinds = [kind for _, kind, _ in program.leaves]

    def function(*values):
        # gradcheck hands 0-d inputs over as Python floats; a reshape makes them 0-d arrays again.
        leaves = [value.reshape(()) if kind == "array" and value.shape == () else value
                  for value, kind in zip(values, kinds)]
        return run(program, leaves, "minigrad")[0]

    # NOTE: central differences lose about |f|·2e-16/ε to rounding, so the
    # absolute tolerance grows with the size of the terms of the loss.
    magnitude = sum(float(np.sum(np.abs(value))) for value in evaluate(program)[1])
    assert mg.gradcheck(function, *arrays, rtol=1e-6, atol=1e-8 + 1e-9 * magnitude)
