"""Optimizers: turn the gradients left by ``backward()`` into weight updates.

Every optimizer takes the parameters (a list of Values, or a `Module`, whose
``parameters()`` are used), validates its learning rate ``lr``, and offers
``zero_grad()`` and ``step()``.  ``step()`` calls the subclass's ``_step()``,
which works on the plain numbers and arrays in ``.data`` and ``.grad`` (so
no graph is recorded).  An array parameter is updated in place, as
PyTorch's optimizers do (an array taken from ``.data`` or ``.numpy()``
before a step shows the new numbers: copy it to keep the old ones); a
float parameter gets a new float.  Every update raises the parameter's
``version``, so graphs recorded before the step are refused; each
parameter keeps its dtype (float32 stays float32, a scalar stays a float);
parameters whose ``.grad`` is None (they took no part in the loss) are skipped.

The chapter's rule is plain gradient descent with learning rate η (the
author's ``eta = 0.5``):  v[h,o] ← v[h,o] − η ∂SSE/∂v[h,o],  which is
``SGD(model.parameters(), lr=0.5)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable

import numpy as np

from ..core import namespace
from ..core import numerics
from ..core._types import HasParameters
from ..core.value import Value, next_version

__all__ = ["Optimizer", "SGD", "Adam"]


def _check_positive(value, name, where):
    """A finite real number > 0, or a TypeError / ValueError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(f"{where}: {name} must be finite and > 0, got {value!r}")
    return value


def _check_fraction(value, name, where):
    """A real number in [0, 1), or a TypeError / ValueError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{where}: {name} must be in [0, 1), got {value!r}")
    return value


class Optimizer:
    """Base class: holds the parameters and the learning rate ``lr``.

    ``params``: a list (or other iterable) of Values, or a `Module`.  A
    parameter listed twice is updated once.  Subclasses implement
    ``_step()``, which ``step()`` calls with graph recording off.
    """

    def __init__(self, params: Iterable[Value] | HasParameters | Value, lr: float) -> None:
        where = type(self).__name__
        self.lr = _check_positive(lr, "lr (the learning rate)", where)
        if hasattr(params, "parameters") and callable(params.parameters):
            params = params.parameters()
        if isinstance(params, Value):
            params = [params]
        try:
            params = list(params)  # type: ignore[arg-type]  # anything else is refused just below
        except TypeError:
            raise TypeError(f"{where}: params must be a list of Values or a Module, "
                            f"got {type(params).__name__}") from None
        unique, seen = [], set()
        for position, parameter in enumerate(params):
            if not isinstance(parameter, Value):
                raise TypeError(f"{where}: params[{position}] is a {type(parameter).__name__}, not a Value")
            if not parameter.requires_grad:
                raise ValueError(f"{where}: params[{position}] has requires_grad=False; it could never be updated")
            if id(parameter) not in seen:
                seen.add(id(parameter))
                unique.append(parameter)
        if not unique:
            raise ValueError(f"{where}: got an empty parameter list")
        self.params = unique
        self.steps = 0

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``.grad`` becomes None)."""
        for parameter in self.params:
            parameter.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient (plain array arithmetic: no graph)."""
        self._step()
        self.steps += 1

    def _step(self):  # pragma: no cover - every optimizer overrides
        raise NotImplementedError(f"{type(self).__name__} must define _step()")

    @staticmethod
    def _assign(parameter, new_data, version):
        """Write ``new_data`` into the parameter keeping its kind: an array in place (cast to its
        dtype), a float as a new float; ``version`` is the stamp of this step."""
        data = parameter._data
        if type(data) is float:
            parameter.data = float(new_data)
            return
        if type(data) is not np.ndarray and namespace.is_foreign(data):  # no in-place writes in the standard
            parameter.data = new_data
            return
        try:
            np.copyto(data, new_data, casting="same_kind")
        except ValueError:  # an array made read-only in place: a new one instead
            parameter.data = np.asarray(new_data, dtype=data.dtype)
            return
        parameter._version = version

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.lr:g}, {len(self.params)} parameters)"


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum μ:

        buffer ← μ · buffer + g          (buffer starts at g)
        p ← p − lr · buffer

    With ``momentum=0`` (the default) this is the chapter's p ← p − η g.
    """

    def __init__(self, params: Iterable[Value] | HasParameters | Value, lr: float, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        self.momentum = _check_fraction(momentum, "momentum", "SGD")
        self._buffers: dict[int, np.ndarray | float] = {}
        self._rates: tuple[float, dict] = (math.nan, {})  # lr, and lr as a 0-d array per dtype

    def _step(self):
        lr, momentum = self.lr, self.momentum
        if self._rates[0] != lr:
            self._rates = (lr, {dtype: np.array(lr, dtype=dtype) for dtype in (np.float64, np.float32)})
        rates = self._rates[1]
        version = next_version()  # one stamp for every parameter this step writes
        for parameter in self.params:
            gradient = parameter.grad
            if gradient is None:
                continue
            if momentum:
                buffer = self._buffers.get(id(parameter))
                buffer = gradient if buffer is None else momentum * buffer + gradient
                self._buffers[id(parameter)] = buffer
                gradient = buffer
            # NOTE: the engine gives every gradient its parameter's type and
            # dtype, so this keeps floats float and float32 float32.  An array is
            # multiplied by lr as a 0-d array of its dtype: the product lr * gradient
            # gives, without numpy converting a Python float on every call; and it
            # is updated in place, which at 784×128 weights costs half what writing
            # a new array does (the weights stay in the CPU's cache).
            data = parameter._data
            if type(gradient) is np.ndarray and gradient.dtype.type in rates and type(data) is np.ndarray:
                step = np.multiply(gradient, rates[gradient.dtype.type])
                try:
                    np.subtract(data, step, out=data)
                except ValueError:  # an array made read-only in place: a new one instead
                    parameter.data = np.subtract(data, step)
                    continue
                parameter._version = version
            elif type(data) is float and type(gradient) is float:
                parameter._data = float(data - lr * gradient)  # float() keeps a float under a numpy lr
                parameter._version = version
            else:
                parameter.data = data - lr * gradient


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015, Algorithm 1), per parameter, t counting its own steps:

        m ← β₁ m + (1 − β₁) g          v ← β₂ v + (1 − β₂) g²
        m̂ = m / (1 − β₁ᵗ)              v̂ = v / (1 − β₂ᵗ)
        p ← p − lr · m̂ / (√v̂ + ε)
    """

    def __init__(self, params: Iterable[Value] | HasParameters | Value, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        try:
            beta1, beta2 = betas
        except (TypeError, ValueError):
            raise TypeError(f"Adam: betas must be a pair of numbers, got {betas!r}") from None
        self.betas = (_check_fraction(beta1, "betas[0]", "Adam"), _check_fraction(beta2, "betas[1]", "Adam"))
        self.eps = _check_positive(eps, "eps", "Adam")
        self._state: dict[int, tuple] = {}

    def _step(self):
        beta1, beta2 = self.betas
        version = next_version()
        for parameter in self.params:
            gradient = parameter.grad
            if gradient is None:
                continue
            if not namespace.is_foreign(gradient):  # another library's gradient stays there, in its dtype
                gradient = np.asarray(gradient, dtype=np.float64)
            count, mean, square = self._state.get(id(parameter), (0, 0.0, 0.0))
            count += 1
            mean = beta1 * mean + (1.0 - beta1) * gradient
            square = beta2 * square + (1.0 - beta2) * gradient * gradient
            self._state[id(parameter)] = (count, mean, square)
            mean_hat = mean / (1.0 - beta1 ** count)
            square_hat = square / (1.0 - beta2 ** count)
            step = self.lr * mean_hat / (numerics.sqrt(square_hat) + self.eps)
            self._assign(parameter, parameter.data - step, version)
