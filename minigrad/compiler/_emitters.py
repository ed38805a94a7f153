"""TEMPORARY: the ops' code emitters, moved out of `minigrad.core.ops` unchanged.

Each op class's ``emit_forward`` / ``emit_backward`` (code for `minigrad.compile`,
built with the compiler's `Emitter`) and ``written`` / ``chain`` (the comments
of generated code) live here, keyed by the op's class name, until the compiler
traces the ops' own rules instead.  Looked up along the op's class hierarchy.
"""

from __future__ import annotations

import re

import numpy as np

from ..core import numerics
from ..core.ops import Op, _bounds


def _in_names(text, names):
    """``text`` with its standalone one-letter symbols a, b, x replaced by ``names``
    (x is the sigmoid's input, the same as a)."""
    symbols = {"a": names.get("a", "a"), "b": names.get("b", "b"), "x": names.get("a", "x")}
    return re.sub(r"(?<![A-Za-z0-9_])[abx](?![A-Za-z0-9_])", lambda match: symbols[match.group(0)], text)


def _Op_emit_forward(self, x):
    """``forward`` as an expression of generated code, built with ``x``
    (a `minigrad.compiler.Emitter`): ``x.inputs``, Python's operators and
    x's primitives, computing exactly what ``forward`` computes."""
    raise NotImplementedError(f"compile: op '{self.name}' has no code emitter")


def _Op_emit_backward(self, x):
    """``backward`` as expressions: one per input, None where ``x.needs(k)`` is false
    (or where the op never gives one).  ``x.grad`` is ∂loss/∂out, ``x.output`` the op's result."""
    raise NotImplementedError(f"compile: op '{self.name}' has no code emitter")


def _Op_written(self, node, names):
    """The forward rule in the graph's names, for a comment: ``NdInpt = H_v + bias_output``.

    ``names`` maps ``a``, ``b`` (the inputs) and ``out`` to names.
    """
    return f"{names['out']} = {_in_names(self.formula, names)}"


def _Op_chain(self, position, node, names, grad):
    """∂loss/∂(input ``position``) as the chain rule writes it, for a comment:
    ``grad`` (the name of ∂loss/∂out) times this op's partial, in ``names``."""
    if self.passes_gradient(position, node):
        return grad
    return f"{grad} · {self.partial(position, node, **names)}"


def _Add_emit_forward(self, x):
    a, b = x.inputs
    return a + b


def _Add_emit_backward(self, x):
    return x.grad, x.grad


def _Sub_emit_forward(self, x):
    a, b = x.inputs
    return a - b


def _Sub_emit_backward(self, x):
    return x.grad, -x.grad


def _Sub_chain(self, position, node, names, grad):
    return grad if position == 0 else f"−{grad}"


def _Mul_emit_forward(self, x):
    a, b = x.inputs
    return a * b


def _Mul_emit_backward(self, x):
    a, b = x.inputs
    return x.grad * b, x.grad * a


def _Div_emit_forward(self, x):
    a, b = x.inputs
    return a / b  # numerics.quotient: numpy's inf/nan for a zero float divisor


def _Div_emit_backward(self, x):
    grad_a = x.grad / x.inputs[1]
    return grad_a, (-grad_a * x.output if x.needs(1) else None)


def _Neg_emit_forward(self, x):
    return -x.inputs[0]


def _Neg_emit_backward(self, x):
    return (-x.grad,)


def _Neg_chain(self, position, node, names, grad):
    return f"−{grad}"


def _PowConst_emit_forward(self, x):
    return x.power(x.inputs[0], x.constant(x.node.saved, "n"))


def _PowConst_emit_backward(self, x):
    exponent = x.node.saved
    if exponent == 2.0:
        return (x.grad * 2.0 * x.inputs[0],)
    return (x.grad * x.power_slope(x.inputs[0], x.constant(exponent, "n")),)


def _PowConst_written(self, node, names):
    return f"{names['out']} = {names.get('a', 'a')} ** {node.saved:g}"


def _Pow_emit_forward(self, x):
    a, b = x.inputs
    return x.power(a, b)


def _Pow_emit_backward(self, x):
    a, b = x.inputs
    grad_a = x.grad * x.power_slope(a, b) if x.needs(0) else None
    grad_b = x.grad * x.output * x.log(x.one_where_zero(a)) if x.needs(1) else None  # ln 1 where a = 0
    return grad_a, grad_b


def _Exp_emit_forward(self, x):
    return x.exp(x.inputs[0])


def _Exp_emit_backward(self, x):
    return (x.grad * x.output,)


def _Log_emit_forward(self, x):
    return x.log(x.inputs[0])


def _Log_emit_backward(self, x):
    return (x.grad / x.inputs[0],)


def _Tanh_emit_forward(self, x):
    return x.tanh(x.inputs[0])


def _Tanh_emit_backward(self, x):
    t = x.output
    return (x.grad * ((1.0 - t) * (1.0 + t)),)


def _ReLU_emit_forward(self, x):
    return x.relu(x.inputs[0])


def _ReLU_emit_backward(self, x):
    return (x.where_positive(x.inputs[0], x.grad),)


def _Sigmoid_emit_forward(self, x):
    value, e, r = x.sigmoid(x.inputs[0], x.node.saved[0])
    x.keep(e=e, r=r)
    return value


def _Sigmoid_emit_backward(self, x):
    alpha = x.node.saved[0]
    slope = x.name(x.name(x.kept("e") * x.kept("r"), "e_r") * x.kept("r"), "slope")  # F·(1 − F) = e·r²
    if alpha == 1.0 and x.fold:
        return (x.grad * slope,)
    return (x.grad * (x.constant(alpha, "alpha") * slope),)


def _Sigmoid_written(self, node, names):
    a, out = names.get("a", "x"), names["out"]
    return f"{out} = F({a}) = 1/(1 + exp(−α·{a})), α = {node.saved[0]:g};  stable: e = exp(−|α·{a}|), r = 1/(1 + e)"


def _Sigmoid_chain(self, position, node, names, grad):
    out = names["out"]
    return f"{grad} · α·{out}·(1 − {out}),  {out}·(1 − {out}) = e·r²"


def _Abs_emit_forward(self, x):
    return x.absolute(x.inputs[0])


def _Abs_emit_backward(self, x):
    return (x.grad * x.sign(x.inputs[0]),)


def _Sqrt_emit_forward(self, x):
    return x.sqrt(x.inputs[0])


def _Sqrt_emit_backward(self, x):
    return (x.grad / (2.0 * x.output),)


def _Maximum_emit_forward(self, x):
    a, b = x.inputs
    return x.maximum(a, b) if self.larger else x.minimum(a, b)


def _Maximum_emit_backward(self, x):
    a, b = x.inputs
    return (x.grad * x.tie_share(a, b, self.larger) if x.needs(0) else None,
            x.grad * x.tie_share(b, a, self.larger) if x.needs(1) else None)


def _Clip_emit_forward(self, x):
    low, high = x.node.saved
    return x.clip(x.inputs[0], low, high)


def _Clip_emit_backward(self, x):
    low, high = x.node.saved
    return (x.grad * x.clip_inside(x.inputs[0], low, high),)


def _Clip_written(self, node, names):
    low, high = _bounds(node)
    return f"{names['out']} = {names.get('a', 'a')} clipped to [{low}, {high}]"


def _Sum_emit_forward(self, x):
    axis, keepdims = x.node.saved
    return x.sum(x.inputs[0], axis, keepdims)


def _Sum_emit_backward(self, x):
    axis, keepdims = x.node.saved
    a = x.inputs[0]
    if a.is_float:
        return (x.grad,)
    return (x.expand_reduced(x.grad, a.shape, axis, keepdims),)


def _Sum_written(self, node, names):
    axis = node.saved[0]
    return f"{names['out']} = Σ {names.get('a', 'a')}" + ("" if axis is None else f" over axis {axis}")


def _Mean_emit_forward(self, x):
    axis, keepdims = x.node.saved
    return x.mean(x.inputs[0], axis, keepdims)


def _Mean_emit_backward(self, x):
    axis, keepdims = x.node.saved
    a = x.inputs[0]
    if a.is_float:
        return (x.grad,)
    size = int(np.prod(a.shape))
    count = size // max(int(np.prod(x.output.shape)), 1) if size else 1
    return (x.expand_reduced(x.grad, a.shape, axis, keepdims) / x.constant(count, "N"),)


def _Mean_written(self, node, names):
    axis = node.saved[0]
    return f"{names['out']} = (1/N) Σ {names.get('a', 'a')}" + ("" if axis is None else f" over axis {axis}")


def _Max_emit_forward(self, x):
    axis, keepdims = x.node.saved
    return x.extremum(x.inputs[0], axis, keepdims, self.larger)


def _Max_emit_backward(self, x):
    axis, keepdims = x.node.saved
    a = x.inputs[0]
    if a.is_float:
        return (x.grad,)
    return (x.expand_reduced(x.grad, a.shape, axis, keepdims) * x.reduced_share(a, x.output, axis, keepdims),)


def _Max_written(self, node, names):
    axis = node.saved[0]
    return f"{names['out']} = {self.name} {names.get('a', 'a')}" + ("" if axis is None else f" over axis {axis}")


def _Reshape_emit_forward(self, x):
    return x.reshape(x.inputs[0], x.node.saved)


def _Reshape_emit_backward(self, x):
    return (x.reshape(x.grad, x.inputs[0].shape),)


def _Reshape_written(self, node, names):
    return f"{names['out']} = {names.get('a', 'a')} reshaped to {node.saved}"


def _Transpose_emit_forward(self, x):
    return x.transpose(x.inputs[0], x.node.saved)


def _Transpose_emit_backward(self, x):
    axes = x.node.saved
    return (x.transpose(x.grad, None if axes is None else tuple(int(k) for k in np.argsort(axes))),)


def _GetItem_emit_forward(self, x):
    return x.getitem(x.inputs[0], x.node.saved)


def _GetItem_emit_backward(self, x):
    return (x.scatter(x.grad, x.inputs[0], x.node.saved),)


def _GetItem_written(self, node, names):
    return f"{names['out']} = {names.get('a', 'a')}[{numerics.format_index(node.saved)}]"


def _MatMul_emit_forward(self, x):
    a, b = x.inputs
    return x.matmul(a, b)


def _MatMul_emit_backward(self, x):
    a, b = x.inputs
    a_ndim, b_ndim, grad = len(a.shape), len(b.shape), x.grad
    if a_ndim == 1 and b_ndim == 1:
        return (grad * b if x.needs(0) else None, grad * a if x.needs(1) else None)
    if a_ndim == 1:  # promoted to a row, as in backward
        a, grad = x.getitem(a, (None, slice(None))), x.name(x.expand_dims(grad, -2), "row", of_grad=True)
    if b_ndim == 1:  # promoted to a column
        b, grad = x.getitem(b, (slice(None), None)), x.name(x.expand_dims(grad, -1), "column", of_grad=True)
    grad_a = grad_b = None
    if x.needs(0):
        grad_a = x.matmul(grad, x.swap_last_axes(b))
        if a_ndim == 1:
            grad_a = x.reshape(grad_a, grad_a.shape[:-2] + grad_a.shape[-1:])
    if x.needs(1):
        grad_b = x.matmul(x.swap_last_axes(a), grad)
        if b_ndim == 1:
            grad_b = x.getitem(grad_b, (Ellipsis, 0))
    return grad_a, grad_b


def _MatMul_chain(self, position, node, names, grad):
    return f"{grad} @ {names.get('b', 'b')}ᵀ" if position == 0 else f"{names.get('a', 'a')}ᵀ @ {grad}"


def _Stack_emit_forward(self, x):
    return x.stack(x.inputs, x.node.saved)


def _Stack_emit_backward(self, x):
    moved = x.moveaxis(x.grad, x.node.saved, 0)
    return tuple(x.getitem(moved, k) if x.needs(k) else None for k in range(len(x.inputs)))


def _Stack_written(self, node, names):
    return f"{names['out']} = [{', '.join(names.get(f'input {k}', '…') for k in range(len(node.parents)))}]"


def _Stack_chain(self, position, node, names, grad):
    return f"{grad}[{position}]" if node.saved == 0 else f"{grad} (axis {node.saved}, entry {position})"


def _Softmax_emit_forward(self, x):
    return x.softmax(x.inputs[0], x.node.saved)


def _Softmax_emit_backward(self, x):
    return (x.softmax_backward(x.grad, x.output, x.node.saved),)


def _Softmax_written(self, node, names):
    a = names.get("a", "a")
    return f"{names['out']} = exp({a}) / Σ exp({a}) over axis {node.saved}  (stable: {a} − max {a} first)"


def _Softmax_chain(self, position, node, names, grad):
    out = names["out"]
    return f"{out} · ({grad} − Σ {grad}·{out})"


def _LogSoftmax_emit_forward(self, x):
    return x.log_softmax(x.inputs[0], x.node.saved)


def _LogSoftmax_emit_backward(self, x):
    return (x.log_softmax_backward(x.grad, x.output, x.node.saved),)


def _LogSoftmax_written(self, node, names):
    a = names.get("a", "a")
    return f"{names['out']} = {a} − ln Σ exp({a}) over axis {node.saved}  (stable: {a} − max {a} first)"


def _LogSoftmax_chain(self, position, node, names, grad):
    return f"{grad} − exp({names['out']}) · Σ {grad}"


def _CrossEntropy_emit_forward(self, x):
    logits, targets = x.inputs
    axis, _, count, _ = x.node.saved
    log_p = x.log_softmax(logits, axis)
    x.keep(log_p=log_p)
    return x.cross_entropy_loss(log_p, targets, count)


def _CrossEntropy_emit_backward(self, x):
    logits, targets = x.inputs
    axis, _, count, _ = x.node.saved
    log_p = x.kept("log_p")
    return (x.cross_entropy_backward(x.grad, log_p, targets, axis, count) if x.needs(0) else None,
            -x.grad * log_p / x.constant(count, "N") if x.needs(1) else None)


def _CrossEntropy_written(self, node, names):
    axis, reduction, count, _ = node.saved
    a, b = names.get("a", "logits"), names.get("b", "targets")
    scale = f"(1/{count}) " if reduction == "mean" else ""
    return f"{names['out']} = −{scale}Σ {b} · log_softmax({a}), log_softmax over axis {axis}"


def _MeanSquaredError_emit_forward(self, x):
    desired, actual = x.inputs
    error = desired - actual
    x.keep(E=error)
    return x.mean_square(error)


def _MeanSquaredError_emit_backward(self, x):
    error = x.kept("E")
    scaled = x.grad * x.constant(2.0 / max(int(np.prod(error.shape)), 1), "two_over_N") * error
    return (scaled if x.needs(0) else None, -scaled if x.needs(1) else None)


def _MeanSquaredError_written(self, node, names):
    return f"E = {names.get('a', 'Desired')} − {names.get('b', 'A')};  {names['out']} = (1/N) Σ E²"


def _SummedSquaredError_emit_forward(self, x):
    desired, actual = x.inputs
    # NOTE: the code keeps −E = Actual − Desired: IEEE subtraction is antisymmetric and
    # (−E)² = E², so the SSE has the same bits, and ∂SSE/∂Actual = −E needs no negation.
    minus_error = actual - desired
    x.keep(minus_E=minus_error)
    if minus_error.is_float:
        return 0.5 * minus_error * minus_error
    return x.half_squared_norm(minus_error)


def _SummedSquaredError_emit_backward(self, x):
    minus_error = x.kept("minus_E")
    return (-(x.grad * minus_error) if x.needs(0) else None, x.grad * minus_error if x.needs(1) else None)


def _SummedSquaredError_written(self, node, names):
    return f"E = {names.get('a', 'Desired')} − {names.get('b', 'A')};  {names['out']} = ½ Σ E²  (Eq. 6.5, 6.6)"


def _SummedSquaredErrorOfScalars_emit_forward(self, x):
    half = len(x.inputs) // 2
    errors = [desired - actual for desired, actual in zip(x.inputs[:half], x.inputs[half:])]
    x.keep(E=errors)
    return x.half_sum_of_squares(errors)


def _SummedSquaredErrorOfScalars_emit_backward(self, x):
    errors = x.kept("E")
    half = len(errors)
    return [x.grad * e if x.needs(o) else None for o, e in enumerate(errors)] + \
           [-x.grad * e if x.needs(half + o) else None for o, e in enumerate(errors)]


def _SummedSquaredErrorOfScalars_written(self, node, names):
    half = len(node.parents) // 2
    return f"E_o = Desired_o − A_o for o < {half};  {names['out']} = ½ Σ_o E_o²  (Eq. 6.5, 6.6)"


EMITTERS = {
    'Op': {'emit_forward': _Op_emit_forward, 'emit_backward': _Op_emit_backward, 'written': _Op_written, 'chain': _Op_chain},
    'Add': {'emit_forward': _Add_emit_forward, 'emit_backward': _Add_emit_backward},
    'Sub': {'emit_forward': _Sub_emit_forward, 'emit_backward': _Sub_emit_backward, 'chain': _Sub_chain},
    'Mul': {'emit_forward': _Mul_emit_forward, 'emit_backward': _Mul_emit_backward},
    'Div': {'emit_forward': _Div_emit_forward, 'emit_backward': _Div_emit_backward},
    'Neg': {'emit_forward': _Neg_emit_forward, 'emit_backward': _Neg_emit_backward, 'chain': _Neg_chain},
    'PowConst': {'emit_forward': _PowConst_emit_forward, 'emit_backward': _PowConst_emit_backward, 'written': _PowConst_written},
    'Pow': {'emit_forward': _Pow_emit_forward, 'emit_backward': _Pow_emit_backward},
    'Exp': {'emit_forward': _Exp_emit_forward, 'emit_backward': _Exp_emit_backward},
    'Log': {'emit_forward': _Log_emit_forward, 'emit_backward': _Log_emit_backward},
    'Tanh': {'emit_forward': _Tanh_emit_forward, 'emit_backward': _Tanh_emit_backward},
    'ReLU': {'emit_forward': _ReLU_emit_forward, 'emit_backward': _ReLU_emit_backward},
    'Sigmoid': {'emit_forward': _Sigmoid_emit_forward, 'emit_backward': _Sigmoid_emit_backward, 'written': _Sigmoid_written, 'chain': _Sigmoid_chain},
    'Abs': {'emit_forward': _Abs_emit_forward, 'emit_backward': _Abs_emit_backward},
    'Sqrt': {'emit_forward': _Sqrt_emit_forward, 'emit_backward': _Sqrt_emit_backward},
    'Maximum': {'emit_forward': _Maximum_emit_forward, 'emit_backward': _Maximum_emit_backward},
    'Clip': {'emit_forward': _Clip_emit_forward, 'emit_backward': _Clip_emit_backward, 'written': _Clip_written},
    'Sum': {'emit_forward': _Sum_emit_forward, 'emit_backward': _Sum_emit_backward, 'written': _Sum_written},
    'Mean': {'emit_forward': _Mean_emit_forward, 'emit_backward': _Mean_emit_backward, 'written': _Mean_written},
    'Max': {'emit_forward': _Max_emit_forward, 'emit_backward': _Max_emit_backward, 'written': _Max_written},
    'Reshape': {'emit_forward': _Reshape_emit_forward, 'emit_backward': _Reshape_emit_backward, 'written': _Reshape_written},
    'Transpose': {'emit_forward': _Transpose_emit_forward, 'emit_backward': _Transpose_emit_backward},
    'GetItem': {'emit_forward': _GetItem_emit_forward, 'emit_backward': _GetItem_emit_backward, 'written': _GetItem_written},
    'MatMul': {'emit_forward': _MatMul_emit_forward, 'emit_backward': _MatMul_emit_backward, 'chain': _MatMul_chain},
    'Stack': {'emit_forward': _Stack_emit_forward, 'emit_backward': _Stack_emit_backward, 'written': _Stack_written, 'chain': _Stack_chain},
    'Softmax': {'emit_forward': _Softmax_emit_forward, 'emit_backward': _Softmax_emit_backward, 'written': _Softmax_written, 'chain': _Softmax_chain},
    'LogSoftmax': {'emit_forward': _LogSoftmax_emit_forward, 'emit_backward': _LogSoftmax_emit_backward, 'written': _LogSoftmax_written, 'chain': _LogSoftmax_chain},
    'CrossEntropy': {'emit_forward': _CrossEntropy_emit_forward, 'emit_backward': _CrossEntropy_emit_backward, 'written': _CrossEntropy_written},
    'MeanSquaredError': {'emit_forward': _MeanSquaredError_emit_forward, 'emit_backward': _MeanSquaredError_emit_backward, 'written': _MeanSquaredError_written},
    'SummedSquaredError': {'emit_forward': _SummedSquaredError_emit_forward, 'emit_backward': _SummedSquaredError_emit_backward, 'written': _SummedSquaredError_written},
    'SummedSquaredErrorOfScalars': {'emit_forward': _SummedSquaredErrorOfScalars_emit_forward, 'emit_backward': _SummedSquaredErrorOfScalars_emit_backward, 'written': _SummedSquaredErrorOfScalars_written},
}


def _lookup(op, kind):
    for cls in type(op).__mro__:
        found = EMITTERS.get(cls.__name__, {}).get(kind)
        if found is not None:
            return found
    return EMITTERS["Op"][kind]


def emit_forward(op, x):
    return _lookup(op, "emit_forward")(op, x)


def emit_backward(op, x):
    return _lookup(op, "emit_backward")(op, x)


def written(op, node, names):
    return _lookup(op, "written")(op, node, names)


def chain(op, position, node, names, grad):
    return _lookup(op, "chain")(op, position, node, names, grad)
