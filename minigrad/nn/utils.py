"""Gradient utilities, in PyTorch's habit: ``nn.utils.clip_grad_norm_(model.parameters(), 1.0)``."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..core.value import Value

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale the gradients in place so their total norm is at most ``max_norm``; return the total
    norm before clipping, as PyTorch does:

        total = ‖(‖g₁‖, ‖g₂‖, ...)‖        (the p-norm of all gradients as one vector, p = ``norm_type``)
        g ← g · min(1, max_norm / (total + 1e-6))

    ``norm_type`` may be inf (the largest |g|).  ``parameters``: a Value, a list of Values or a `Module`; those whose ``.grad`` is None are
    skipped (no gradients: the norm is 0).  ``error_if_nonfinite`` raises when the total is nan or inf.
    """
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        parameters = parameters.parameters()
    if isinstance(parameters, Value):
        parameters = [parameters]
    try:
        parameters = list(parameters)
    except TypeError:
        raise TypeError(f"clip_grad_norm_: parameters must be a Value, a list of Values or a Module, "
                        f"got {type(parameters).__name__}") from None
    for position, parameter in enumerate(parameters):
        if not isinstance(parameter, Value):
            raise TypeError(f"clip_grad_norm_: parameters[{position}] is a {type(parameter).__name__}, not a Value")
    for name, number in (("max_norm", max_norm), ("norm_type", norm_type)):
        if isinstance(number, bool) or not isinstance(number, numbers.Real) or math.isnan(number) or number <= 0:
            raise ValueError(f"clip_grad_norm_: {name} must be a number > 0, got {number!r}")
    with_gradients = [parameter for parameter in parameters if parameter.grad is not None]
    if not with_gradients:
        return 0.0
    norm_type = float(norm_type)
    norms = [np.linalg.norm(np.ravel(parameter.grad), ord=norm_type) for parameter in with_gradients]
    total = float(np.linalg.norm(np.array(norms), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of the gradients is {total}; "
                           "pass error_if_nonfinite=False to clip anyway")
    factor = min(1.0, float(max_norm) / (total + 1e-6))
    for parameter in with_gradients:
        gradient = parameter.grad
        if type(gradient) is np.ndarray:
            parameter.grad = np.asarray(gradient * gradient.dtype.type(factor))  # keeps dtype and 0-d shape
        else:
            parameter.grad = float(gradient) * factor
    return total
