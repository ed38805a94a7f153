"""minigrad: a small, readable reverse-mode autodiff on numpy, built around
Chapter 6 ("Backpropagation") of A. J. Maren's draft textbook."""

from .engine import (AnomalyError, Op, Value, detect_anomaly, enable_grad, is_grad_enabled, no_grad, sse,
                     stack)
from .gradient_check import GradcheckError, gradcheck
# minigrad.draw and minigrad.train are the functions; their modules are minigrad.drawing and minigrad.training.
from .drawing import DotNotFoundError, draw, to_dot
from . import datasets, nn, optim
from .training import TrainResult, train

__version__ = "0.1.0"

__all__ = [
    "Value", "Op", "sse", "stack", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "AnomalyError", "gradcheck", "GradcheckError",
    "to_dot", "draw", "DotNotFoundError",
    "nn", "optim", "datasets", "train", "TrainResult",
]
