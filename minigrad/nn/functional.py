"""The functional forms of the layers and losses, in PyTorch's habit (``import minigrad.nn.functional as F``).

Each is the op or loss minigrad already has, under the name a PyTorch user
reaches for: ``F.sigmoid(x, alpha)`` is ``x.sigmoid(alpha)`` (the chapter's
F(x) = 1/(1 + exp(−αx)), Eq. 6.1), and so on.  ``x`` may be a Value or
anything a Value is made from.  Two differ from PyTorch on purpose:
`linear` takes the weight as (inputs, outputs), the chapter's w[i, h]
(PyTorch's is (outputs, inputs)); `mse` and `sse` take ``desired`` first,
as the chapter writes them (the loss modules `MSELoss`, `SSELoss` take
PyTorch's (outputs, targets)).
"""

from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from ..core.creation import as_generator
from ..core.losses import cross_entropy, mse
from ..core.modes import TracingError, record_draw, state
from ..core.value import Value, leaf, log_softmax, softmax, sse

__all__ = ["sigmoid", "relu", "tanh", "softmax", "log_softmax", "cross_entropy", "mse", "sse", "dropout", "linear"]


def _value(x):
    return x if isinstance(x, Value) else Value(x, requires_grad=False)


def sigmoid(x, alpha: float = 1.0):
    """F(x) = 1/(1 + exp(−αx)) (Eq. 6.1); derivative α F (1 − F) (Eq. 6.2)."""
    return _value(x).sigmoid(alpha)


def relu(x):
    """max(x, 0); derivative 1 for x > 0, else 0."""
    return _value(x).relu()


def tanh(x):
    """tanh(x); derivative 1 − tanh²(x)."""
    return _value(x).tanh()


def linear(x, weight, bias=None):
    """x @ weight + bias, with weight of shape (inputs, outputs) (the chapter's w[i, h])."""
    out = _value(x) @ weight
    return out if bias is None else out + bias


def check_probability(p, where):
    """A drop probability in [0, 1], or a TypeError / ValueError naming ``where`` and p."""
    if isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real):
        raise TypeError(f"{where}: p must be a probability (a real number in [0, 1]), got {type(p).__name__} {p!r}")
    if not (math.isfinite(p) and 0.0 <= p <= 1.0):
        raise ValueError(f"{where}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


def dropout(x, p: float = 0.5, training: bool = True, seed=None):
    """Inverted dropout: x · mask / (1 − p), each element of the mask 1 with probability 1 − p, else 0
    (with p = 1, all zeros).  The identity when ``training`` is False or p is 0.  The mask comes
    from ``seed`` (an int or a numpy Generator) or the generator `minigrad.manual_seed` seeds.

    Inside `minigrad.compile` the mask is an input of the compiled step, drawn afresh on every
    call from the same generator in the same order, so a compiled run equals the eager run of
    the same seed.  ``onnx.export`` refuses a training-mode dropout (call ``model.eval()``).
    """
    p = check_probability(p, "dropout")
    if not training or p == 0.0:
        return x
    x = _value(x)
    generator = as_generator(seed, "dropout")  # a bad seed is named before anything is drawn
    shape, dtype = x.shape, x.dtype
    if not state.tracing:
        return x * _mask(generator, shape, p, dtype)
    # NOTE: the trace draws from a copy, so that the real generator is drawn by the compiled step on
    # every call, this first one included, as eager mode draws it
    mask = leaf(_mask(copy.deepcopy(generator), shape, p, dtype), requires_grad=True, name="dropout_mask")
    if not record_draw(mask, lambda: _mask(as_generator(seed, "dropout"), shape, p, dtype)):
        raise TracingError("dropout in training mode inside onnx.export: an ONNX graph is for inference, with "
                           "no random mask; call model.eval() first")
    return x * mask


def _mask(generator, shape, p, dtype):
    """Dropout's mask, scaled: 1/(1 − p) with probability 1 − p, else 0 (a float for a scalar)."""
    if p == 1.0:
        mask = np.zeros(shape, dtype=dtype)
    else:
        # NOTE: the scale is applied in the mask, so the gradient of the kept elements is 1/(1 − p) too.
        mask = (generator.random(shape) >= p).astype(dtype) * dtype.type(1.0 / (1.0 - p))
    return mask if shape else float(mask)
