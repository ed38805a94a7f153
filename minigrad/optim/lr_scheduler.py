"""Learning-rate schedules, in PyTorch's habit and with its formulas.

    optimizer = mg.optim.SGD(model, lr=0.5)
    scheduler = mg.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
    for epoch in range(epochs):
        ...  # batches: zero_grad(), backward(), optimizer.step()
        scheduler.step()

A scheduler writes each group's ``"lr"`` (``optimizer.param_groups[k]["lr"]``)
on every ``step()``; ``get_last_lr()`` is the list it wrote last.  Made, it
records each group's starting rate as ``"initial_lr"`` (``base_lrs``) and
takes its first step (epoch 0).  ``state_dict()`` / ``load_state_dict()``
save and restore where the schedule is (everything but the optimizer), so
that with the optimizer's own state training resumes exactly.  The update
rules are PyTorch's, step by step (the recursive forms its ``step()`` uses),
so the rates agree with ``torch.optim.lr_scheduler`` to rounding.
"""

from __future__ import annotations

import math

from ..core import checks
from .optimizers import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "OneCycleLR"]


class LRScheduler:
    """Base class: ``step()`` moves ``last_epoch`` on and writes `get_lr`'s rates into the groups."""

    def __init__(self, optimizer: Optimizer) -> None:
        where = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{where}: optimizer must be a minigrad.optim.Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:  # pragma: no cover - every scheduler overrides
        raise NotImplementedError(f"{type(self).__name__} must define get_lr()")

    def step(self) -> None:
        """Move to the next epoch (or batch, for `OneCycleLR`) and set every group's lr."""
        self._step_count += 1
        self.last_epoch += 1
        rates = self.get_lr()
        for group, rate in zip(self.optimizer.param_groups, rates):
            group["lr"] = rate
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group, as the last ``step()`` set it."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer: ``last_epoch``, ``base_lrs`` and the schedule's settings."""
        return {key: (list(value) if isinstance(value, list) else value)
                for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what `state_dict` gave (the same kind of scheduler, the same keys)."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{where}: expected the dict state_dict() returns, got {type(state_dict).__name__}")
        mine = set(self.state_dict())
        missing, unexpected = sorted(mine - set(state_dict)), sorted(set(state_dict) - mine)
        if missing or unexpected:
            raise ValueError(f"{where}: the state does not fit a {type(self).__name__}: missing "
                             f"{missing or 'nothing'}, unexpected {unexpected or 'nothing'}")
        if len(state_dict["base_lrs"]) != len(self.optimizer.param_groups):
            raise ValueError(f"{where}: the state has {len(state_dict['base_lrs'])} groups' rates, the optimizer "
                             f"{len(self.optimizer.param_groups)} parameter groups")
        self.__dict__.update({key: (list(value) if isinstance(value, list) else value)
                              for key, value in state_dict.items()})

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self._last_lr})"


class StepLR(LRScheduler):
    """lr ← lr · gamma every ``step_size`` epochs:  lr_t = base_lr · gamma^⌊t / step_size⌋."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = checks.integer(step_size, "step_size", "StepLR", minimum=1)
        self.gamma = checks.positive_real(gamma, "gamma", "StepLR")
        super().__init__(optimizer)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class ExponentialLR(LRScheduler):
    """lr ← lr · gamma every epoch:  lr_t = base_lr · gammaᵗ."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        self.gamma = checks.positive_real(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from base_lr down to ``eta_min`` over ``T_max`` epochs (SGDR without restarts):

        lr_t = eta_min + ½ (base_lr − eta_min) (1 + cos(π t / T_max))

    taken step by step as PyTorch does (each rate from the one before), so a rate
    changed by hand carries on; past T_max it rises again (the cosine goes on).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803 - torch's name
        self.T_max = checks.integer(T_max, "T_max", "CosineAnnealingLR", minimum=1)
        self.eta_min = checks.non_negative_real(eta_min, "eta_min", "CosineAnnealingLR")
        super().__init__(optimizer)

    def get_lr(self):
        groups, epoch, period = self.optimizer.param_groups, self.last_epoch, self.T_max
        if epoch == 0:
            return [group["lr"] for group in groups]
        if (epoch - 1 - period) % (2 * period) == 0:
            return [group["lr"] + (base - self.eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        return [(1 + math.cos(math.pi * epoch / period)) / (1 + math.cos(math.pi * (epoch - 1) / period))
                * (group["lr"] - self.eta_min) + self.eta_min for group in groups]


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, 2018), stepped once per batch, as PyTorch's:

    lr rises from max_lr / div_factor to ``max_lr`` over the first ``pct_start`` of
    ``total_steps`` (or ``epochs · steps_per_epoch``), then falls to
    initial_lr / final_div_factor, each phase along a half cosine (``anneal_strategy="cos"``:
    end + ½ (start − end)(1 + cos(π·pct))) or a line (``"linear"``).  With
    ``cycle_momentum`` (the default) SGD's momentum, or Adam's β₁, moves the
    other way, between ``max_momentum`` and ``base_momentum``.  ``three_phase``
    adds PyTorch's symmetric warm-down before the final annealing.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True, base_momentum: float = 0.85,
                 max_momentum: float = 0.95, div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False) -> None:
        where = "OneCycleLR"
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{where}: optimizer must be a minigrad.optim.Optimizer, got {type(optimizer).__name__}")
        if total_steps is not None:
            self.total_steps = checks.integer(total_steps, "total_steps", where, minimum=1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = checks.integer(epochs, "epochs", where, minimum=1) * checks.integer(
                steps_per_epoch, "steps_per_epoch", where, minimum=1)
        else:
            raise ValueError(f"{where}: give total_steps, or both epochs and steps_per_epoch")
        pct_start = checks.probability(pct_start, "pct_start", where)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{where}: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        div_factor = checks.positive_real(div_factor, "div_factor", where)
        final_div_factor = checks.positive_real(final_div_factor, "final_div_factor", where)
        steps = self.total_steps
        if three_phase:
            self._phases = [(float(pct_start * steps) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (float(2 * pct_start * steps) - 2, "max_lr", "initial_lr", "base_momentum",
                             "max_momentum"),
                            (steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(float(pct_start * steps) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        groups = optimizer.param_groups
        max_lrs = self._per_group(max_lr, "max_lr", groups)
        for rate, group in zip(max_lrs, groups):
            rate = checks.positive_real(rate, "max_lr", where)
            group["initial_lr"] = rate / div_factor
            group["max_lr"] = rate
            group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"{where}: cycle_momentum=True needs an optimizer with momentum or betas; "
                                 f"{type(optimizer).__name__} has neither (pass cycle_momentum=False)")
            self.use_beta1 = "betas" in optimizer.defaults
            for top, base, group in zip(self._per_group(max_momentum, "max_momentum", groups),
                                        self._per_group(base_momentum, "base_momentum", groups), groups):
                top = checks.probability(top, "max_momentum", where)
                base = checks.probability(base, "base_momentum", where)
                if self.use_beta1:
                    group["betas"] = (top, *group["betas"][1:])
                else:
                    group["momentum"] = top
                group["max_momentum"] = top
                group["base_momentum"] = base
        super().__init__(optimizer)

    @staticmethod
    def _per_group(value, name, groups):
        if isinstance(value, (list, tuple)):
            if len(value) != len(groups):
                raise ValueError(f"OneCycleLR: {name} has {len(value)} values for {len(groups)} parameter groups")
            return list(value)
        return [value] * len(groups)

    def _anneal(self, start, end, fraction):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)
        return (end - start) * fraction + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {step} times, but total_steps is {self.total_steps}")
        rates = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for number, (end, low, high, momentum_start, momentum_end) in enumerate(self._phases):
                if step <= end or number == len(self._phases) - 1:
                    fraction = (step - start) / (end - start)
                    rate = self._anneal(group[low], group[high], fraction)
                    if self.cycle_momentum:
                        momentum = self._anneal(group[momentum_start], group[momentum_end], fraction)
                    break
                start = end
            rates.append(rate)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return rates
