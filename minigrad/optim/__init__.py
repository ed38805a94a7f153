"""Optimizers, in PyTorch's habit: ``mg.optim.SGD(model.parameters(), lr=0.5)``."""

from .optimizers import SGD, Adam, Optimizer

__all__ = ["Optimizer", "SGD", "Adam"]
