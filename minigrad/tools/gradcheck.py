"""Numerical gradient checking: reverse mode (and its second derivatives) against central differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..core._types import ArrayLike
from ..core.modes import no_grad
from ..core.value import Value

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "numerical_gradient"]


class GradcheckError(AssertionError):
    """Reverse mode and central differences disagree."""


def _leaves(values):
    """Fresh float64 leaves holding copies of the given inputs."""
    arrays = []
    for value in values:
        data = value.data if isinstance(value, Value) else value
        arrays.append(np.array(data, dtype=np.float64))
    return arrays


def _call(fn, arrays, requires_grad):
    inputs = [Value(array if array.ndim else float(array), requires_grad=requires_grad) for array in arrays]
    out = fn(*inputs)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}")
    return inputs, out


def _projected(out, cotangent):
    """u · f(x): the scalar whose gradient is the vector-Jacobian product."""
    return float(np.sum(np.asarray(out.data, dtype=np.float64) * cotangent))


def numerical_gradient(fn, arrays, cotangent, eps=1e-6):
    """Central differences of u · fn(*arrays) with respect to every element."""
    gradients = []
    with no_grad():
        for position, array in enumerate(arrays):
            gradient = np.zeros_like(array)
            for index in np.ndindex(array.shape):
                original = array[index]
                array[index] = original + eps
                plus = _projected(_call(fn, arrays, False)[1], cotangent)
                array[index] = original - eps
                minus = _projected(_call(fn, arrays, False)[1], cotangent)
                array[index] = original
                gradient[index] = (plus - minus) / (2.0 * eps)
            gradients.append(gradient)
    return gradients


def gradcheck(fn: Callable[..., Value], *values: ArrayLike | Value, eps: float = 1e-6, rtol: float = 1e-5,
              atol: float = 1e-8, seed: int = 0) -> bool:
    """Check ``fn``'s reverse-mode gradients against central differences.

    ``fn`` takes one Value per entry of ``values`` (Values, numbers or arrays;
    they are copied to float64) and returns a Value.  A non-scalar output is
    projected on a fixed random vector u, so every element of the
    vector-Jacobian product is checked.  Two checks, both in float64:

    1. every input element: ∂(u·f)/∂x[j] by central differences,
    2. a random direction d: (u·f(x + εd) − u·f(x − εd)) / 2ε  against  Σ grad·d.

    Returns True, or raises `GradcheckError` naming the input, the element
    and both values.
    """
    if not values:
        raise ValueError("gradcheck: give at least one input")
    rng = np.random.default_rng(seed)
    arrays = _leaves(values)
    inputs, out = _call(fn, arrays, True)
    cotangent = rng.standard_normal(np.shape(out.data))
    if not out.requires_grad:
        raise GradcheckError("gradcheck: fn's output does not depend on any input")
    if np.ndim(out.data) == 0:
        out.backward()
        cotangent = np.float64(1.0)
    else:
        out.backward(cotangent)
    analytic = [np.zeros_like(array) if leaf.grad is None else np.asarray(leaf.grad, dtype=np.float64)
                for array, leaf in zip(arrays, inputs)]
    numeric = numerical_gradient(fn, arrays, cotangent, eps)

    for position, (got, expected) in enumerate(zip(analytic, numeric)):
        close = np.isclose(got, expected, rtol=rtol, atol=atol)
        if not np.all(close):
            index = tuple(int(i) for i in np.argwhere(~close)[0])
            raise GradcheckError(
                f"gradcheck: input {position}, element {index}: reverse mode gives {got[index]!r}, "
                f"central differences give {expected[index]!r} (rtol={rtol}, atol={atol})")

    directions = [rng.standard_normal(array.shape) for array in arrays]
    with no_grad():
        shifted_plus = [array + eps * d for array, d in zip(arrays, directions)]
        shifted_minus = [array - eps * d for array, d in zip(arrays, directions)]
        plus = _projected(_call(fn, shifted_plus, False)[1], cotangent)
        minus = _projected(_call(fn, shifted_minus, False)[1], cotangent)
    numeric_directional = (plus - minus) / (2.0 * eps)
    analytic_directional = float(sum(np.sum(g * d) for g, d in zip(analytic, directions)))
    scale = rtol * 10 * sum(float(np.sum(np.abs(g * d))) for g, d in zip(analytic, directions))
    if not abs(numeric_directional - analytic_directional) <= atol * 10 + scale:
        raise GradcheckError(
            f"gradcheck: along a random direction, reverse mode gives {analytic_directional!r}, "
            f"central differences give {numeric_directional!r}")
    return True


def gradgradcheck(fn: Callable[..., Value], *values: ArrayLike | Value, eps: float = 1e-5, rtol: float = 1e-5,
                  atol: float = 1e-8, directions: int = 3, seed: int = 0) -> bool:
    """Check ``fn``'s second derivatives against central differences of its first derivatives.

    With u a fixed random cotangent of the output, g(x) = ∂(u·fn(x))/∂x (reverse
    mode) and w a random weighting of g, reverse over reverse gives
    ∂(w·g)/∂x = H w, and along random directions d, in float64:

        (w·g(x + εd) − w·g(x − εd)) / 2ε   against   Σ (H w)·d

    as HIPS autograd's ``check_grads(order=2)`` and PyTorch's ``gradgradcheck``
    check.  An op whose backward cannot be differentiated again raises its own
    error; a second derivative that is silently zero or wrong raises
    `GradcheckError` naming both numbers.  Returns True.
    """
    from ..core.functional import grad

    if not values:
        raise ValueError("gradgradcheck: give at least one input")
    rng = np.random.default_rng(seed)
    arrays = _leaves(values)
    inputs, out = _call(fn, arrays, True)
    if not out.requires_grad:
        raise GradcheckError("gradgradcheck: fn's output does not depend on any input")
    cotangent = rng.standard_normal(np.shape(out.data)) if np.ndim(out.data) else None
    weights = [rng.standard_normal(array.shape) for array in arrays]

    def first(arrays_now, create_graph):
        leaves, result = _call(fn, arrays_now, True)
        grads = grad(result, leaves, grad_outputs=cotangent, create_graph=create_graph, allow_unused=True)
        return leaves, grads

    leaves, grads = first(arrays, True)
    terms = [(g * w).sum() for g, w in zip(grads, weights)]
    projected = terms[0]
    for term in terms[1:]:
        projected = projected + term
    if not projected.requires_grad:
        analytic = [np.zeros_like(array) for array in arrays]
    else:
        analytic = [np.asarray(h, dtype=np.float64)
                    for h in grad(projected, leaves, allow_unused=True)]

    def weighted(arrays_now):
        _, grads_now = first(arrays_now, False)
        return float(sum(np.sum(np.asarray(g, dtype=np.float64) * w) for g, w in zip(grads_now, weights)))

    for number in range(directions):
        direction = [rng.standard_normal(array.shape) for array in arrays]
        plus = weighted([array + eps * d for array, d in zip(arrays, direction)])
        minus = weighted([array - eps * d for array, d in zip(arrays, direction)])
        numeric = (plus - minus) / (2.0 * eps)
        expected = float(sum(np.sum(h * d) for h, d in zip(analytic, direction)))
        scale = sum(float(np.sum(np.abs(h * d))) for h, d in zip(analytic, direction))
        if not abs(numeric - expected) <= atol * 10 + rtol * 10 * max(scale, abs(numeric)):
            raise GradcheckError(
                f"gradgradcheck: along random direction {number}, the second derivative (reverse over reverse) "
                f"gives {expected!r}, central differences of the first derivative give {numeric!r}")
    return True
