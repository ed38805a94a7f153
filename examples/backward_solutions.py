"""Reference solutions to the exercises of examples/backward_exercises.ipynb.

Try the exercises before reading on.

Each class is a `minigrad.Function`: ``forward(ctx, ...)`` on numpy arrays,
``backward(ctx, grad)`` returning one gradient per argument of forward, each
of its input's shape (None for an argument that is not differentiated).  The
test suite runs the notebook with these filled in, each checked by
``minigrad.check_backward``; so can you::

    python -m minigrad check-backward examples/backward_solutions.py:Tanh
"""

import numpy as np

import minigrad as mg


class Exp(mg.Function):
    """y = exp(x);  ∂y/∂x = exp(x) = y: the output is the derivative, so save it."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Tanh(mg.Function):
    """y = tanh(x);  ∂y/∂x = 1 − y², written in terms of the output."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1.0 - out ** 2)


class Sigmoid(mg.Function):
    """The chapter's F(x) = 1/(1 + exp(−αx)) (Eq. 6.1);  ∂F/∂x = α F (1 − F) (Eq. 6.2).

    α is an option (not an array): its gradient is None.
    """

    @staticmethod
    def forward(ctx, x, alpha):
        out = 1.0 / (1.0 + np.exp(-alpha * x))
        ctx.save_for_backward(out)
        ctx.alpha = alpha
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * ctx.alpha * out * (1.0 - out), None


def sum_to_shape(grad, shape):
    """Undo broadcasting: sum over the axes broadcasting added in front, and over those it stretched from 1."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


class Mul(mg.Function):
    """y = a · b, elementwise, with numpy's broadcasting;  ∂y/∂a = b, ∂y/∂b = a, each summed back to its shape."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return sum_to_shape(grad * b, np.shape(a)), sum_to_shape(grad * a, np.shape(b))


class MatMul(mg.Function):
    """C = A @ B;  ∂L/∂A = grad @ Bᵀ, ∂L/∂B = Aᵀ @ grad (each has its input's shape: check them)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad @ b.T, a.T @ grad


class SSE(mg.Function):
    """The chapter's SSE = ½ Σ_o (Desired_o − A_o)² (Eq. 6.5);  ∂SSE/∂A_o = −(Desired_o − A_o) = −E_o."""

    @staticmethod
    def forward(ctx, desired, actual):
        ctx.save_for_backward(desired, actual)
        return np.asarray(0.5 * np.sum((desired - actual) ** 2))

    @staticmethod
    def backward(ctx, grad):
        desired, actual = ctx.saved_tensors
        error = desired - actual
        return grad * error, grad * -error
