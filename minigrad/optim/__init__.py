"""Optimizers, in PyTorch's habit: ``mg.optim.SGD(model.parameters(), lr=0.5)``."""

from .optimizers import SGD, Adam, AdamW, Optimizer
from . import lr_scheduler

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
