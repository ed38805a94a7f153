"""minigrad: a small, readable reverse-mode autodiff on numpy, built around
Chapter 6 ("Backpropagation") of A. J. Maren's draft textbook.

The core, in reading order: `minigrad.value` (the Value and `apply`, the one
way a node is made), `minigrad.ops` (the op table: each primitive's forward,
backward and display facts), `minigrad.backward` (reverse mode), with
`minigrad.modes` (no_grad, detect_anomaly) and `minigrad.numerics` beside.
"""

from ._version import __version__
from .backward import StaleGraphError, backward_order, topological_order, unbroadcast
from .modes import AnomalyError, TracingError, detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .ops import OPS, Op
from .value import Value, apply, log_softmax, maximum, minimum, softmax, sse, stack
from .losses import cross_entropy, mse
from .creation import full, ones, rand, randn, uniform, zeros
from .gradient_check import GradcheckError, gradcheck
# minigrad.draw, .train, .explain, .explore and .compare are functions; their modules are
# minigrad.drawing, .training, .explaining, .exploring and .comparing.
from .drawing import DotNotFoundError, draw, to_dot
from .explaining import Explanation, explain
from .exploring import Exploration, explore
from .comparing import Comparison, compare
from .checking import DerivationError, DerivationReport, check_derivation
from . import datasets, nn, optim
from .training import TrainResult, train
from .compiler import CompileCheckError, CompileError, CompiledStep, compile  # noqa: A004 - minigrad.compile
from . import onnx  # mg.onnx.export; the onnx package itself is imported only when exporting


__all__ = [
    "Value", "Op", "OPS", "apply", "sse", "mse", "cross_entropy", "stack", "maximum", "minimum", "softmax",
    "log_softmax", "zeros", "ones", "full", "rand", "randn", "uniform",
    "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "AnomalyError", "StaleGraphError", "topological_order", "backward_order", "unbroadcast", "gradcheck",
    "GradcheckError",
    "to_dot", "draw", "DotNotFoundError", "explain", "Explanation", "explore", "Exploration", "compare", "Comparison",
    "check_derivation", "DerivationReport", "DerivationError",
    "nn", "optim", "datasets", "train", "TrainResult",
    "compile", "CompiledStep", "TracingError", "CompileError", "CompileCheckError",
    "onnx",
]
