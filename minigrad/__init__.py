"""minigrad: a small, readable reverse-mode autodiff on numpy, built around
Chapter 6 ("Backpropagation") of A. J. Maren's draft textbook.

The package by layer, each importing only the layers above it in this list:

* `minigrad.core`: the Value, the op table, reverse mode (read
  `core.value`, `core.ops`, `core.backward`, in that order);
* `minigrad.compiler` (``mg.compile``) and `minigrad.export` (``mg.onnx``);
* `minigrad.optim` and `minigrad.nn` (modules, training, data sets);
* `minigrad.tools`: draw, explain, explore, compare, gradcheck, the grader;
* `minigrad.textbook` (the chapter's formulas, numpy only, no engine code)
  and `minigrad.cli` (``python -m minigrad``), on top.
"""

from ._version import __version__
from .core.backward import FreedGraphError, StaleGraphError, backward_order, topological_order, unbroadcast
from .core.modes import AnomalyError, TracingError, detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .core.ops import OPS, Op
from .core.value import Value, apply, log_softmax, maximum, minimum, softmax, sse, stack
from .core.losses import cross_entropy, mse
from .core.creation import full, manual_seed, ones, rand, randn, uniform, zeros
from .core.function import Function, FunctionError
from .core.functional import grad, hessian, hvp, jacobian, jvp
from .tools.gradcheck import GradcheckError, gradcheck, gradgradcheck
# minigrad.draw, .explain, .explore, .compare and .train are functions; their modules are
# minigrad.tools.draw, .tools.explain, .tools.explore, .tools.compare and .nn.training.
from .tools.draw import DotNotFoundError, draw, to_dot
from .tools.explain import Explanation, explain
from .tools.explore import Exploration, explore
from .tools.compare import Comparison, compare
from .tools.grading import DerivationError, DerivationReport, check_derivation
from .tools.backward_rules import BackwardReport, check_backward
from . import nn, optim
from .core import ops  # mg.ops.SIGMOID, mg.ops.OPS: the op table
from .nn import data, datasets, training  # mg.data.batches, mg.datasets.xor(), mg.training.predict
from .nn.training import TrainResult, accuracy, train
from .nn.gradient_flow import GradientFlow, gradient_flow
from .compiler import CompileCheckError, CompileError, CompiledStep, compile  # noqa: A004 - minigrad.compile
from .export import onnx  # mg.onnx.export; the onnx package itself is imported only when exporting


__all__ = [
    "Value", "Op", "OPS", "apply", "sse", "mse", "cross_entropy", "stack", "maximum", "minimum", "softmax",
    "log_softmax", "zeros", "ones", "full", "rand", "randn", "uniform", "manual_seed",
    "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "AnomalyError", "StaleGraphError", "FreedGraphError", "topological_order", "backward_order", "unbroadcast", "gradcheck",
    "GradcheckError",
    "to_dot", "draw", "DotNotFoundError", "explain", "Explanation", "explore", "Exploration", "compare", "Comparison",
    "check_derivation", "DerivationReport", "DerivationError", "check_backward", "BackwardReport",
    "nn", "optim", "data", "datasets", "training", "ops", "train", "TrainResult", "accuracy", "gradient_flow",
    "GradientFlow",
    "compile", "CompiledStep", "TracingError", "CompileError", "CompileCheckError",
    "onnx",
    "grad", "jvp", "hvp", "hessian", "jacobian", "Function", "FunctionError", "gradgradcheck",
]
