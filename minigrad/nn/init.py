"""Initialisation by name, in PyTorch's habit: ``nn.init.kaiming_uniform_(layer.weight)``.

Each function fills a Value's array in place (its ``.data`` is assigned, so
its version moves on) from PyTorch's formula and returns the Value.  The fans
follow minigrad's layout, weight[i, h] of shape (inputs, outputs):
fan_in = shape[0], fan_out = shape[1] (PyTorch's weights are (outputs, inputs),
so its fan_in is shape[1]; the numbers drawn follow the same formulas).

    xavier_uniform_:   U(−a, a),  a = gain · √(6 / (fan_in + fan_out))
    xavier_normal_:    N(0, σ²),  σ = gain · √(2 / (fan_in + fan_out))
    kaiming_uniform_:  U(−b, b),  b = gain · √(3 / fan)      fan = fan_in or fan_out (``mode``)
    kaiming_normal_:   N(0, σ²),  σ = gain / √fan

with ``gain = calculate_gain(nonlinearity, a)``.  ``seed`` is an int, a numpy
Generator, or None for the generator `minigrad.manual_seed` seeds.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..core.creation import as_generator
from ..core.value import Value

__all__ = ["calculate_gain", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
           "uniform_", "normal_", "zeros_"]

_GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 3.0 / 4.0}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """PyTorch's recommended gains: 1 for linear and sigmoid, 5/3 for tanh, √2 for relu,
    √(2 / (1 + a²)) for leaky_relu with negative slope ``param`` (default 0.01), 3/4 for selu."""
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, numbers.Real):
            raise ValueError(f"calculate_gain: negative slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity not in _GAINS:
        raise ValueError(f"calculate_gain: nonlinearity must be one of "
                         f"{', '.join(map(repr, list(_GAINS) + ['leaky_relu']))}, got {nonlinearity!r}")
    return _GAINS[nonlinearity]


def _fans(value, where):
    if not isinstance(value, Value):
        raise TypeError(f"{where}: expected a Value (a layer's weight), got {type(value).__name__}")
    if value.ndim < 2:
        raise ValueError(f"{where}: fan_in and fan_out need a weight of two axes (inputs, outputs), got shape "
                         f"{value.shape}")
    receptive = math.prod(value.shape[2:])
    return value.shape[0] * receptive, value.shape[1] * receptive


def _fill(value, numbers_drawn):
    value.data = np.asarray(numbers_drawn, dtype=value.dtype).reshape(value.shape)
    return value


def _fan(value, mode, where):
    fan_in, fan_out = _fans(value, where)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{where}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(value: Value, gain: float = 1.0, seed=None) -> Value:
    """Glorot & Bengio (2010): U(−a, a), a = gain · √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(value, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _fill(value, as_generator(seed, "xavier_uniform_").uniform(-bound, bound, value.shape))


def xavier_normal_(value: Value, gain: float = 1.0, seed=None) -> Value:
    """Glorot & Bengio (2010): N(0, σ²), σ = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(value, "xavier_normal_")
    spread = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _fill(value, spread * as_generator(seed, "xavier_normal_").standard_normal(value.shape))


def kaiming_uniform_(value: Value, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     seed=None) -> Value:
    """He et al. (2015): U(−b, b), b = gain · √(3 / fan), gain = calculate_gain(nonlinearity, a)
    (√2 for relu, and for PyTorch's default leaky_relu with a = 0)."""
    fan = _fan(value, mode, "kaiming_uniform_")
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return _fill(value, as_generator(seed, "kaiming_uniform_").uniform(-bound, bound, value.shape))


def kaiming_normal_(value: Value, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    seed=None) -> Value:
    """He et al. (2015): N(0, σ²), σ = gain / √fan."""
    fan = _fan(value, mode, "kaiming_normal_")
    spread = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _fill(value, spread * as_generator(seed, "kaiming_normal_").standard_normal(value.shape))


def uniform_(value: Value, a: float = 0.0, b: float = 1.0, seed=None) -> Value:
    """U(a, b)."""
    if not isinstance(value, Value):
        raise TypeError(f"uniform_: expected a Value, got {type(value).__name__}")
    return _fill(value, as_generator(seed, "uniform_").uniform(a, b, value.shape))


def normal_(value: Value, mean: float = 0.0, std: float = 1.0, seed=None) -> Value:
    """N(mean, std²)."""
    if not isinstance(value, Value):
        raise TypeError(f"normal_: expected a Value, got {type(value).__name__}")
    return _fill(value, mean + std * as_generator(seed, "normal_").standard_normal(value.shape))


def zeros_(value: Value) -> Value:
    """All zeros (a bias's usual start)."""
    if not isinstance(value, Value):
        raise TypeError(f"zeros_: expected a Value, got {type(value).__name__}")
    return _fill(value, np.zeros(value.shape))
