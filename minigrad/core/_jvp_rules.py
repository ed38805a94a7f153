"""TEMPORARY: forward-mode rules, to move beside each reverse rule in ops.py after issue 18's milestone 1."""

import numpy as np

from . import numerics, ops


def add(self, tangents, out, saved, a, b):
    ta, tb = tangents
    return ta + tb


def sub(self, tangents, out, saved, a, b):
    ta, tb = tangents
    return ta - tb


def mul(self, tangents, out, saved, a, b):
    ta, tb = tangents
    return ta * b + a * tb


def div(self, tangents, out, saved, a, b):
    ta, tb = tangents
    return numerics.quotient(ta - out * tb, b)


def neg(self, tangents, out, saved, a):
    return -tangents[0]


def pow_const(self, tangents, out, exponent, a):
    return tangents[0] * numerics.power_slope(a, exponent)


def pow_(self, tangents, out, saved, a, b):
    ta, tb = tangents
    return ta * numerics.power_slope(a, b) + tb * out * numerics.log(numerics.one_where_zero(a))


def exp(self, tangents, out, saved, a):
    return tangents[0] * out


def log(self, tangents, out, saved, a):
    return numerics.quotient(tangents[0], a)


def tanh(self, tangents, out, saved, a):
    return tangents[0] * ((1.0 - out) * (1.0 + out))


def relu(self, tangents, out, saved, a):
    if type(a) is float:
        return tangents[0] if a > 0.0 else 0.0
    return tangents[0] * (a > 0)


def sigmoid(self, tangents, out, saved, x):
    alpha, e, r = saved
    return tangents[0] * (alpha * (e * r * r))


def abs_(self, tangents, out, saved, a):
    return tangents[0] * numerics.sign(a)


def sqrt(self, tangents, out, saved, a):
    return numerics.quotient(tangents[0], 2.0 * out)


def maximum(self, tangents, out, saved, a, b):
    ta, tb = tangents
    return ta * numerics.tie_share(a, b, self.larger) + tb * numerics.tie_share(b, a, self.larger)


def clip(self, tangents, out, saved, a):
    low, high = saved
    return tangents[0] * numerics.clip_inside(a, low, high)


def sum_(self, tangents, out, saved, a):
    axis, keepdims = saved
    t = tangents[0]
    return t if type(t) is float else np.sum(t, axis=axis, keepdims=keepdims)


def mean(self, tangents, out, saved, a):
    axis, keepdims = saved
    t = tangents[0]
    return t if type(t) is float else np.mean(t, axis=axis, keepdims=keepdims)


def max_(self, tangents, out, saved, a):
    axis, keepdims = saved
    t = tangents[0]
    if type(a) is float:
        return t
    share = numerics.reduced_share(a, out, axis, keepdims)  # ties share the tangent as they share the gradient
    return np.sum(t * share, axis=axis, keepdims=keepdims)


def reshape(self, tangents, out, saved, a):
    return np.reshape(tangents[0], saved)


def transpose(self, tangents, out, saved, a):
    return np.transpose(tangents[0], saved)


def getitem(self, tangents, out, saved, a):
    return np.asarray(tangents[0])[saved]


def matmul(self, tangents, out, saved, a, b):
    ta, tb = tangents
    return numerics.matmul(ta, b) + numerics.matmul(a, tb)


def stack(self, tangents, out, saved, *inputs):
    return np.stack([np.asarray(t) for t in tangents], axis=saved)


def softmax(self, tangents, out, saved, a):
    t = tangents[0]
    return out * (t - np.sum(t * out, axis=saved, keepdims=True))


def log_softmax(self, tangents, out, saved, a):
    t = tangents[0]
    return t - np.sum(np.exp(out) * t, axis=saved, keepdims=True)


def cross_entropy(self, tangents, out, saved, logits, targets):
    axis, _, count, log_p = saved
    t_logits, t_targets = tangents
    moved = t_logits - np.sum(np.exp(log_p) * t_logits, axis=axis, keepdims=True)  # log_softmax's tangent
    return -np.sum(t_targets * log_p + targets * moved) / count


def mse(self, tangents, out, saved, desired, actual):
    error = saved
    td, ta = tangents
    return np.sum(error * (td - ta)) * (2.0 / max(np.size(error), 1))


def sse(self, tangents, out, saved, desired, actual):
    error = saved
    td, ta = tangents
    return np.sum(error * (td - ta))


def sse_scalars(self, tangents, out, saved, *pairs):
    errors = saved
    half = len(errors)
    return sum(e * (td - ta) for e, td, ta in zip(errors, tangents[:half], tangents[half:]))


_RULES = {
    ops.Add: add, ops.Sub: sub, ops.Mul: mul, ops.Div: div, ops.Neg: neg, ops.PowConst: pow_const, ops.Pow: pow_,
    ops.Exp: exp, ops.Log: log, ops.Tanh: tanh, ops.ReLU: relu, ops.Sigmoid: sigmoid, ops.Abs: abs_,
    ops.Sqrt: sqrt, ops.Maximum: maximum, ops.Clip: clip, ops.Sum: sum_, ops.Mean: mean, ops.Max: max_,
    ops.Reshape: reshape, ops.Transpose: transpose, ops.GetItem: getitem, ops.MatMul: matmul, ops.Stack: stack,
    ops.Softmax: softmax, ops.LogSoftmax: log_softmax, ops.CrossEntropy: cross_entropy,
    ops.MeanSquaredError: mse, ops.SummedSquaredError: sse, ops.SummedSquaredErrorOfScalars: sse_scalars,
}
for _kind, _rule in _RULES.items():
    _kind.jvp = _rule
