"""Hypothesis strategies: random expression graphs, evaluated twice.

A *program* is a list of instructions over a growing list of nodes; each
instruction names an op and the earlier nodes (or fresh constants) it uses, so
nodes are reused freely.  The same program runs on minigrad Values and on the
HIPS `autograd` package (an independent autodiff), and on plain numpy for
central differences.  Shapes are drawn from (), (n,), (m,n), (1,n), (m,1) and
combined by numpy's broadcasting.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import minigrad as mg

SHAPES = [(), (3,), (2, 3), (1, 3), (2, 1)]

UNARY = ["neg", "exp", "log", "tanh", "relu", "sigmoid", "square", "pow", "sum", "mean", "transpose",
         "reshape", "getitem", "matmul", "sse"]
BINARY = ["add", "sub", "mul", "div", "powv"]
OPS = UNARY + BINARY


class MinigradOps:
    """Each instruction on minigrad Values."""

    def neg(self, x): return -x
    def exp(self, x): return (x * 0.5).exp()
    def log(self, x): return (x * x + 0.5).log()
    def tanh(self, x): return x.tanh()
    def relu(self, x): return x.relu()
    def sigmoid(self, x, alpha): return x.sigmoid(alpha)
    def square(self, x): return x ** 2
    def pow(self, x, exponent): return (x * x + 1.0) ** exponent
    def sum(self, x, axis): return x.sum(axis=axis)
    def mean(self, x, axis): return x.mean(axis=axis)
    def transpose(self, x): return x.T
    def reshape(self, x, shape): return x.reshape(shape)
    def getitem(self, x, index): return x[index]
    def matmul(self, x, matrix): return x @ matrix
    def sse(self, x, desired): return mg.sse(desired, x)
    def add(self, a, b): return a + b
    def sub(self, a, b): return a - b
    def mul(self, a, b): return a * b
    def div(self, a, b): return a / (b * b + 1.0)
    def powv(self, a, b): return (a * a + 0.5) ** (b * 0.5)


class AutogradOps:
    """The same instructions on autograd.numpy."""

    def neg(self, x): return -x
    def exp(self, x): return anp.exp(x * 0.5)
    def log(self, x): return anp.log(x * x + 0.5)
    def tanh(self, x): return anp.tanh(x)
    def relu(self, x): return anp.maximum(x, 0.0)
    def sigmoid(self, x, alpha): return 1.0 / (1.0 + anp.exp(-alpha * x))
    def square(self, x): return x ** 2
    def pow(self, x, exponent): return (x * x + 1.0) ** exponent
    def sum(self, x, axis): return anp.sum(x, axis=axis)
    def mean(self, x, axis): return anp.mean(x, axis=axis)
    def transpose(self, x): return anp.transpose(x)
    def reshape(self, x, shape): return anp.reshape(x, shape)
    def getitem(self, x, index): return x[index]
    def matmul(self, x, matrix): return anp.matmul(x, matrix)
    def sse(self, x, desired): return 0.5 * anp.sum((desired - x) ** 2)
    def add(self, a, b): return a + b
    def sub(self, a, b): return a - b
    def mul(self, a, b): return a * b
    def div(self, a, b): return a / (b * b + 1.0)
    def powv(self, a, b): return (a * a + 0.5) ** (b * 0.5)


def _shape_after(op, shape, argument):
    probe = np.zeros(shape)
    return np.shape(getattr(AutogradOps(), op)(probe, *argument))


@st.composite
def programs(draw, max_inputs=3, max_steps=8):
    """(input arrays, instructions): instructions are (op, operand ids, extra argument)."""
    count = draw(st.integers(1, max_inputs))
    shapes = [draw(st.sampled_from(SHAPES)) for _ in range(count)]
    elements = st.floats(-2.0, 2.0, allow_nan=False, width=64)
    inputs = []
    for shape in shapes:
        array = np.asarray(draw(st.lists(elements, min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))))
        inputs.append(array.reshape(shape))
    node_shapes = list(shapes)
    instructions = []
    for _ in range(draw(st.integers(1, max_steps))):
        op = draw(st.sampled_from(OPS))
        first = draw(st.integers(0, len(node_shapes) - 1))
        shape = node_shapes[first]
        argument = ()
        if op in BINARY:
            use_constant = draw(st.booleans())
            if use_constant:
                constant_shape = draw(st.sampled_from(SHAPES))
                constant = draw(st.floats(-2.0, 2.0, allow_nan=False)) if constant_shape == () else \
                    np.full(constant_shape, draw(st.floats(-2.0, 2.0, allow_nan=False)))
                operands = (first,)
                argument = (("constant", constant, draw(st.booleans())),)
                other_shape = np.shape(constant)
            else:
                second = draw(st.integers(0, len(node_shapes) - 1))
                operands = (first, second)
                other_shape = node_shapes[second]
            try:
                out_shape = np.broadcast_shapes(shape, other_shape)
            except ValueError:
                continue
        else:
            operands = (first,)
            if op == "sigmoid":
                argument = (draw(st.sampled_from([0.5, 1.0, 2.0, 4.0])),)
            elif op == "pow":
                argument = (draw(st.sampled_from([-1.0, 0.5, 1.5, 3.0])),)
            elif op in ("sum", "mean"):
                axes = [None] + list(range(len(shape)))
                argument = (draw(st.sampled_from(axes)),)
            elif op == "reshape":
                argument = ((-1,),) if shape else ((1,),)
            elif op in ("transpose", "getitem") and shape == ():
                continue
            elif op == "getitem":
                argument = (draw(st.sampled_from([0, -1, slice(0, 1), Ellipsis])),)
            elif op == "matmul":
                if shape == ():
                    continue
                argument = (np.linspace(-1.0, 1.0, shape[-1] * 2).reshape(shape[-1], 2),)
            elif op == "sse":
                argument = (np.full(shape, 0.25) if shape else 0.25,)
            out_shape = _shape_after(op, shape, argument)
        instructions.append((op, operands, argument))
        node_shapes.append(tuple(out_shape))
    assume(instructions)
    return inputs, instructions


def run(program_inputs, instructions, ops, leaves):
    """Evaluate a program; returns the scalar loss: the sum of every node's sum."""
    nodes = list(leaves)
    for op, operands, argument in instructions:
        function = getattr(ops, op)
        if op in BINARY and len(operands) == 1:
            _, constant, constant_first = argument[0]
            a, b = (constant, nodes[operands[0]]) if constant_first else (nodes[operands[0]], constant)
            nodes.append(function(a, b))
            continue
        nodes.append(function(*(nodes[i] for i in operands), *argument))
    total = None
    for node in nodes[len(leaves):]:
        term = node.sum() if isinstance(node, mg.Value) else anp.sum(node)
        total = term if total is None else total + term
    return total
