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

Parameters come in ``param_groups``, as in PyTorch: a list of dicts, each
with its ``"params"`` and its own hyper-parameters (``lr``, ``momentum``,
``weight_decay``, ...), the optimizer's defaults filling what a group leaves
out.  Pass a list of dicts to start with several groups, or call
``add_param_group``.  ``state_dict()`` / ``load_state_dict()`` save and
restore the hyper-parameters, the step count and each parameter's state
(momentum buffers, Adam's moments and step counts), so training resumes
exactly.  A parameter must be a leaf (a Value you made, not ``w * 2``).

The chapter's rule is plain gradient descent with learning rate η (the
author's ``eta = 0.5``):  v[h,o] ← v[h,o] − η ∂SSE/∂v[h,o],  which is
``SGD(model.parameters(), lr=0.5)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..core import checks
from ..core import namespace
from ..core import numerics
from ..core._types import HasParameters
from ..core.value import Value, next_version

__all__ = ["Optimizer", "SGD", "Adam", "AdamW"]


class Optimizer:
    """Base class: holds the parameter groups, the per-parameter ``state`` and the step count.

    ``params``: a list (or other iterable) of Values, a `Module` (its
    ``named_parameters()`` are used, and the names are kept, so a state
    loaded into the wrong model is refused by name), a list of
    ``(name, Value)`` pairs, or a list of dicts (one per parameter group:
    ``{"params": [...], "lr": ...}``).  A parameter listed twice in one group
    is updated once; in two groups, refused.  ``defaults`` holds every
    hyper-parameter a group may set.  Subclasses check a group's settings
    (``_check_group``) and implement ``_step()``, which ``step()`` calls.
    """

    def __init__(self, params: Iterable[Value] | HasParameters | Value | Iterable[dict], defaults: dict) -> None:
        where = type(self).__name__
        self.defaults = dict(defaults)
        self.param_groups: list[dict] = []
        self.state: dict[Value, dict] = {}  # keyed by the Value itself (Values hash by identity)
        self.steps = 0
        groups = _as_groups(params, where)
        if not groups:
            raise ValueError(f"{where}: got an empty parameter list")
        for group in groups:
            self.add_param_group(group)

    @property
    def params(self) -> list[Value]:
        """Every parameter, group by group."""
        return [parameter for group in self.param_groups for parameter in group["params"]]

    @property
    def lr(self) -> float:
        """The first group's learning rate (``param_groups[k]["lr"]`` for the others).
        Assigning it sets every group's."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value):
        value = checks.positive_real(value, "lr (the learning rate)", type(self).__name__)
        for group in self.param_groups:
            group["lr"] = value

    def add_param_group(self, param_group: dict) -> None:
        """Add a group: ``{"params": Values, and any hyper-parameter}``; the defaults fill the rest.

        A parameter already in another group is refused, as is a setting the
        optimizer does not have (a typo would otherwise be ignored).
        """
        where = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{where}: a parameter group must be a dict with 'params', got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{where}: a parameter group needs 'params' (got keys {sorted(param_group)})")
        unknown = [key for key in param_group if key not in self.defaults and key not in ("params", "param_names")
                   and key not in _SCHEDULE_KEYS]
        if unknown:
            raise ValueError(f"{where}: parameter group setting(s) {', '.join(map(repr, unknown))} are not "
                             f"{where}'s (it has {', '.join(map(repr, self.defaults))})")
        names, parameters = _named_parameters(param_group["params"], where, len(self.param_groups))
        if "param_names" in param_group:
            names = list(param_group["param_names"])
            if len(names) != len(parameters):
                raise ValueError(f"{where}: param_names has {len(names)} names for {len(parameters)} parameters")
        owners = {parameter: number for number, group in enumerate(self.param_groups) for parameter in group["params"]}
        for parameter in parameters:
            if parameter in owners:
                raise ValueError(f"{where}: a parameter ({_describe(parameter)}) is in parameter group "
                                 f"{owners[parameter]} already; a parameter may be in one group only")
        group = dict(self.defaults)
        group.update({key: value for key, value in param_group.items() if key not in ("params", "param_names")})
        self._check_group(group, where if not self.param_groups else f"{where} (parameter group "
                                                                     f"{len(self.param_groups)})")
        group["params"] = parameters
        if names is not None:
            group["param_names"] = names
        self.param_groups.append(group)

    def _check_group(self, group: dict, where: str) -> None:
        """Check (and normalise in place) a group's hyper-parameters; subclasses add theirs."""
        group["lr"] = checks.positive_real(group["lr"], "lr (the learning rate)", where)

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``.grad`` becomes None)."""
        for group in self.param_groups:  # not self.params: no list built on every step
            for parameter in group["params"]:
                parameter.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient (plain array arithmetic: no graph)."""
        self._step()
        self.steps += 1

    def _step(self):  # pragma: no cover - every optimizer overrides
        raise NotImplementedError(f"{type(self).__name__} must define _step()")

    # -- state: what resumes training exactly -----------------------------------

    #: The per-parameter state entries this optimizer keeps (what its state dict may hold).
    state_names: tuple[str, ...] = ()

    def state_dict(self) -> dict:
        """``{"optimizer", "steps", "state", "param_groups"}``, in PyTorch's layout: ``state`` maps
        each parameter's position (counting through the groups) to a copy of its state
        (``{"momentum_buffer": array}``, ``{"step": 3, "exp_avg": ..., "exp_avg_sq": ...}``);
        each group lists its hyper-parameters, its parameters' positions (``"params"``) and,
        where known, their names (``"param_names"``)."""
        positions = {parameter: index for index, parameter in enumerate(self.params)}
        state = {positions[parameter]: {key: _copied(value) for key, value in entries.items()}
                 for parameter, entries in self.state.items() if parameter in positions}
        groups = []
        for group in self.param_groups:
            saved = {key: _copied(value) for key, value in group.items() if key != "params"}
            saved["params"] = [positions[parameter] for parameter in group["params"]]
            groups.append(saved)
        return {"optimizer": type(self).__name__, "steps": self.steps,
                "state": dict(sorted(state.items())), "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what `state_dict` gave, all or nothing: the groups must have the same sizes
        (and the same parameter names, where both know them), every state entry must be one
        this optimizer keeps and have its parameter's shape.  Everything is checked before
        anything changes."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(f"{where}: expected the dict that state_dict() returns (keys 'state' and "
                             f"'param_groups'), got {type(state_dict).__name__}"
                             f"{' with keys ' + repr(sorted(state_dict)) if isinstance(state_dict, dict) else ''}")
        kind = state_dict.get("optimizer", type(self).__name__)
        if kind != type(self).__name__:
            raise ValueError(f"{where}: the state was saved from {kind}, not {type(self).__name__}")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{where}: the state has {len(saved_groups)} parameter group(s), "
                             f"the optimizer {len(self.param_groups)}")
        for number, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved.get("params", ())) != len(group["params"]):
                raise ValueError(f"{where}: parameter group {number} has {len(saved.get('params', ()))} parameters "
                                 f"in the state but {len(group['params'])} in the optimizer")
            mine, theirs = group.get("param_names"), saved.get("param_names")
            if mine is not None and theirs is not None and list(mine) != list(theirs):
                differ = [(a, b) for a, b in zip(theirs, mine) if a != b]
                raise ValueError(f"{where}: parameter group {number} holds {list(theirs)} in the state but "
                                 f"{list(mine)} in the optimizer (first difference: {differ[0][0]!r} against "
                                 f"{differ[0][1]!r})")
            unknown = [key for key in saved if key not in group and key not in ("params", "param_names")
                       and key not in _SCHEDULE_KEYS]
            if unknown:
                raise ValueError(f"{where}: parameter group {number} has setting(s) {', '.join(map(repr, unknown))} "
                                 f"that {type(self).__name__} does not have")
        parameters = self.params
        restored = {}
        for index, entries in state_dict["state"].items():
            if isinstance(index, (bool, np.bool_)) or not isinstance(index, numbers.Integral) \
                    or not 0 <= int(index) < len(parameters):
                raise ValueError(f"{where}: state for parameter {index!r}, but the optimizer has parameters "
                                 f"0 to {len(parameters) - 1}")
            parameter = parameters[int(index)]
            checked: dict[str, Any] = {}
            for key, value in entries.items():
                if key not in self.state_names:
                    raise ValueError(f"{where}: parameter {index}'s state has {key!r}; {type(self).__name__} keeps "
                                     f"{', '.join(map(repr, self.state_names))}")
                if key == "step":
                    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 0:
                        raise ValueError(f"{where}: parameter {index}'s step must be a count >= 0, got {value!r}")
                    checked[key] = int(value)
                    continue
                array = np.asarray(value)
                if array.dtype.kind != "f" or array.shape != parameter.shape:
                    raise ValueError(f"{where}: parameter {index}'s {key!r} has shape {array.shape} and dtype "
                                     f"{array.dtype} in the state, but the parameter ({_describe(parameter)}) has "
                                     f"shape {parameter.shape}")
                checked[key] = float(array) if type(parameter.data) is float else array.astype(
                    self._state_dtype(parameter), copy=True)
            restored[parameter] = checked
        for saved, group in zip(saved_groups, self.param_groups):
            candidate = dict(group)
            candidate.update({key: _copied(value) for key, value in saved.items()
                              if key not in ("params", "param_names")})
            self._check_group(candidate, where)
        for saved, group in zip(saved_groups, self.param_groups):
            group.update({key: _copied(value) for key, value in saved.items()
                          if key not in ("params", "param_names")})
            self._check_group(group, where)
        self.state = restored
        steps = state_dict.get("steps", self.steps)
        self.steps = int(steps)

    def _state_dtype(self, parameter):
        """The dtype this optimizer keeps a parameter's state arrays in."""
        return parameter.dtype

    def fused_update(self):
        """How `minigrad.compile` may write this optimizer's step into its generated code, or
        None (the default): the compiled step then calls ``step()``.

        Otherwise ``(array, number, guard)``: the statement that updates one array
        parameter in place, with ``{data}``, ``{grad}``, ``{rate}`` (lr as a 0-d array of
        its dtype) and ``{scratch}`` (a buffer of its shape) to fill; the expression of a
        float parameter's new value, with ``{data}``, ``{grad}`` and ``{lr}``; and an
        expression on ``OPTIMIZER`` that is true when a step is no longer that (then
        ``step()`` runs).  The arithmetic must be ``_step``'s own, so the same bits."""
        return None

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
        groups = f", {len(self.param_groups)} groups" if len(self.param_groups) > 1 else ""
        return f"{type(self).__name__}(lr={self.lr:g}, {len(self.params)} parameters{groups})"


# What a learning-rate scheduler writes into a group beside the optimizer's own settings.
_SCHEDULE_KEYS = ("initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum")


def _as_groups(params, where):
    """``params`` as a list of group dicts (one group unless a list of dicts was given)."""
    if hasattr(params, "named_parameters") and callable(params.named_parameters):
        named = list(params.named_parameters())
        return [{"params": [value for _, value in named], "param_names": [name for name, _ in named]}]
    if isinstance(params, Value):
        return [{"params": [params]}]
    if isinstance(params, dict):
        return [params]
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{where}: params must be a list of Values, a Module or a list of parameter groups "
                        f"(dicts), got {type(params).__name__}") from None
    if params and all(isinstance(item, dict) for item in params):
        return params
    if any(isinstance(item, dict) for item in params):
        raise TypeError(f"{where}: params mixes parameter groups (dicts) with other items")
    return [{"params": params}] if params else []


def _named_parameters(items, where, number):
    """``(names or None, unique Values)`` of one group's ``params``, each checked."""
    label = "params" if number == 0 else f"param_groups[{number}]['params']"
    if isinstance(items, Value):
        items = [items]
    elif hasattr(items, "named_parameters") and callable(items.named_parameters):
        items = list(items.named_parameters())
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"{where}: {label} must be a list of Values, got {type(items).__name__}") from None
    names: list[str] | None = []
    unique, seen = [], set()
    for position, item in enumerate(items):
        name = None
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            name, item = item
        if not isinstance(item, Value):
            raise TypeError(f"{where}: {label}[{position}] is a {type(item).__name__}, not a Value")
        if not item.requires_grad:
            raise ValueError(f"{where}: {label}[{position}] has requires_grad=False; it could never be updated")
        if not item.is_leaf:
            raise ValueError(f"{where}: {label}[{position}] is not a leaf: op '{item.op.name}' computed it, so a "
                             f"step would change this intermediate and never the parameter it came from; pass "
                             f"the parameter itself (e.g. w, not w * 2), as PyTorch requires")
        if id(item) not in seen:
            seen.add(id(item))
            unique.append(item)
            if names is not None:
                if name is None:
                    names = None
                else:
                    names.append(name)
    return (names or None), unique


def _describe(parameter):
    return f"{parameter.name!r}, shape {parameter.shape}" if parameter.name else f"shape {parameter.shape}"


def _copied(value):
    if type(value) is np.ndarray:
        return value.copy()
    if isinstance(value, list):
        return list(value)
    return value


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's options and its exact update:

        g ← g + weight_decay · p                     (L2 added to the gradient)
        buffer ← μ · buffer + (1 − dampening) · g    (buffer starts at g)
        g ← g + μ · buffer  (nesterov)   or   g ← buffer
        p ← p − lr · g

    (``maximize=True`` takes −g.)  With the defaults this is the chapter's p ← p − η g.
    Each group may set its own ``lr``, ``momentum``, ``dampening``, ``weight_decay``,
    ``nesterov`` and ``maximize``.
    """

    state_names = ("momentum_buffer",)

    def __init__(self, params: Iterable[Value] | HasParameters | Value | Iterable[dict], lr: float,
                 momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize})
        self._rates: dict[float, dict] = {}  # lr -> {dtype: lr as a 0-d array of that dtype}

    def _check_group(self, group, where):
        super()._check_group(group, where)
        group["momentum"] = checks.fraction(group["momentum"], "momentum", where)
        group["dampening"] = checks.fraction(group["dampening"], "dampening", where)
        group["weight_decay"] = checks.non_negative_real(group["weight_decay"], "weight_decay", where)
        group["nesterov"] = checks.flag(group["nesterov"], "nesterov", where)
        group["maximize"] = checks.flag(group["maximize"], "maximize", where)
        if group["nesterov"] and (group["momentum"] <= 0.0 or group["dampening"] != 0.0):
            raise ValueError(f"{where}: nesterov=True needs momentum > 0 and dampening 0, got momentum "
                             f"{group['momentum']!r} and dampening {group['dampening']!r}")

    @property
    def momentum(self) -> float:
        """The first group's momentum (``param_groups[k]["momentum"]`` for the others).
        Assigning it sets every group's."""
        return self.param_groups[0]["momentum"]

    @momentum.setter
    def momentum(self, value):
        value = checks.fraction(value, "momentum", "SGD")
        for number, group in enumerate(self.param_groups):
            if group["nesterov"] and value <= 0.0:
                raise ValueError(f"SGD: parameter group {number} uses nesterov=True, which needs momentum > 0, "
                                 f"got {value!r}")
        for group in self.param_groups:
            group["momentum"] = value

    def _plain_step(self) -> bool:
        """True when the step is the chapter's p ← p − lr·g for every parameter, with one lr
        (what `minigrad.compile` writes into its code; anything else runs `step`)."""
        groups = self.param_groups
        if len(groups) == 1:  # one group, the common case: no generator on every compiled step
            group = groups[0]
            return not (group["momentum"] or group["weight_decay"] or group["maximize"])
        first = groups[0]
        return all(not group["momentum"] and not group["weight_decay"] and not group["maximize"]
                   and group["lr"] == first["lr"] for group in groups)

    def _rates_for(self, lr):
        """``{dtype: lr as a 0-d array of that dtype}``, made once per learning rate."""
        rates = self._rates.get(lr)
        if rates is None:
            if len(self._rates) > 8:  # a schedule changes lr every epoch: keep the last few
                self._rates.clear()
            rates = self._rates[lr] = {dtype: np.array(lr, dtype=dtype) for dtype in (np.float64, np.float32)}
        return rates

    def _direction(self, parameter, gradient, group):
        """The g that p ← p − lr·g takes: maximize, weight decay, momentum, as PyTorch orders them."""
        if group["maximize"]:
            gradient = -gradient
        if group["weight_decay"]:
            gradient = gradient + group["weight_decay"] * parameter._data
        momentum = group["momentum"]
        if momentum:
            state = self.state.setdefault(parameter, {})
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = gradient.copy() if type(gradient) is np.ndarray else gradient
            else:
                buffer = momentum * buffer + (1.0 - group["dampening"]) * gradient
            state["momentum_buffer"] = buffer
            gradient = gradient + momentum * buffer if group["nesterov"] else buffer
        return gradient

    def fused_update(self):
        """Plain SGD, p ← p − lr·g, as `_step` computes it (see `Optimizer.fused_update`)."""
        if not self._plain_step():
            return None
        return ("subtract({data}, multiply({grad}, {rate}, {scratch}), {data})", "{data} - {lr} * {grad}",
                "not OPTIMIZER._plain_step()")

    def _step(self):
        version = next_version()  # one stamp for every parameter this step writes
        for group in self.param_groups:
            lr = group["lr"]
            rates = self._rates_for(lr)
            plain = not (group["momentum"] or group["weight_decay"] or group["maximize"])
            for parameter in group["params"]:
                gradient = parameter.grad
                if gradient is None:
                    continue
                if not plain:
                    gradient = self._direction(parameter, gradient, group)
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
    """Adam (Kingma & Ba, 2015, Algorithm 1) with PyTorch's options and arithmetic, per
    parameter, t counting its own steps:

        g ← g + weight_decay · p       (L2 added to the gradient; `AdamW` decays p instead)
        m ← β₁ m + (1 − β₁) g          v ← β₂ v + (1 − β₂) g²
        m̂ = m / (1 − β₁ᵗ)              v̂ = v / (1 − β₂ᵗ)      (amsgrad: v̂ from the largest v so far)
        p ← p − lr · m̂ / (√v̂ + ε)

    The moments are kept in float64 whatever the parameter's dtype.
    """

    state_names = ("step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _decoupled = False

    def __init__(self, params: Iterable[Value] | HasParameters | Value | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
                 amsgrad: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "amsgrad": amsgrad, "maximize": maximize})

    def _check_group(self, group, where):
        super()._check_group(group, where)
        try:
            beta1, beta2 = group["betas"]
        except (TypeError, ValueError):
            raise TypeError(f"{where}: betas must be a pair of numbers, got {group['betas']!r}") from None
        group["betas"] = (checks.fraction(beta1, "betas[0]", where), checks.fraction(beta2, "betas[1]", where))
        group["eps"] = checks.positive_real(group["eps"], "eps", where)
        group["weight_decay"] = checks.non_negative_real(group["weight_decay"], "weight_decay", where)
        group["amsgrad"] = checks.flag(group["amsgrad"], "amsgrad", where)
        group["maximize"] = checks.flag(group["maximize"], "maximize", where)

    def _state_dtype(self, parameter):
        return np.float64

    @property
    def betas(self) -> tuple[float, float]:
        """The first group's (β₁, β₂)."""
        return self.param_groups[0]["betas"]

    @property
    def eps(self) -> float:
        """The first group's ε."""
        return self.param_groups[0]["eps"]

    def _step(self):
        version = next_version()
        for group in self.param_groups:
            lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for parameter in group["params"]:
                gradient = parameter.grad
                if gradient is None:
                    continue
                data = parameter.data
                if not namespace.is_foreign(gradient):  # another library's arrays stay there, in their dtype
                    gradient = np.asarray(gradient, dtype=np.float64)
                    data = np.asarray(data, dtype=np.float64)
                if group["maximize"]:
                    gradient = -gradient
                if decay and self._decoupled:
                    data = data * (1.0 - lr * decay)  # NOTE: AdamW shrinks p itself, before the moments
                elif decay:
                    gradient = gradient + decay * data
                state = self.state.setdefault(parameter, {})
                count = state.get("step", 0) + 1
                mean = state.get("exp_avg", 0.0)
                square = state.get("exp_avg_sq", 0.0)
                mean = beta1 * mean + (1.0 - beta1) * gradient
                square = beta2 * square + (1.0 - beta2) * gradient * gradient
                state.update(step=count, exp_avg=_as_state(mean, parameter), exp_avg_sq=_as_state(square, parameter))
                if group["amsgrad"]:
                    square = numerics.maximum(state.get("max_exp_avg_sq", square), square)
                    state["max_exp_avg_sq"] = _as_state(square, parameter)
                # PyTorch's order of operations: lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
                step_size = lr / (1.0 - beta1 ** count)
                denominator = numerics.sqrt(square) / math.sqrt(1.0 - beta2 ** count) + eps
                self._assign(parameter, data - step_size * (mean / denominator), version)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as PyTorch's AdamW:

        p ← p · (1 − lr · weight_decay)      then Adam's step on the plain gradient

    ``weight_decay`` defaults to 0.01, as in PyTorch.
    """

    _decoupled = True

    def __init__(self, params: Iterable[Value] | HasParameters | Value | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
                 amsgrad: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)


def _as_state(array, parameter):
    """A moment as the state keeps it: a float for a float parameter, else a float64 array."""
    if namespace.is_foreign(array):
        return array
    return float(array) if type(parameter.data) is float else np.asarray(array, dtype=np.float64)
