"""Training loops: the author's online backpropagation, and mini-batch epochs.

Online mode is the course code's loop: pick one pattern at random, run it
forward, compute its SSE (Eq. 6.5), and update every weight by
−η ∂SSE/∂weight; stop when the total SSE over all patterns falls below a
threshold, or at an iteration cap.  (The course code updates v and the output
bias first, then w and the hidden bias *with the v from before the update*;
one backward pass followed by one update of everything is exactly that.)

Mini-batch mode runs epochs: shuffle the patterns, and for each batch sum
their SSEs, backpropagate once and update once.

The loss is the chapter's SSE unless ``loss=`` says otherwise: ``"mse"``
(the mean squared error) or ``"cross_entropy"`` (softmax cross-entropy of the
model's outputs, as logits, against one-hot targets: build the model with
``MLP(..., output="linear")``).  A batch's SSE is summed over its patterns;
its MSE and cross-entropy are averaged.

Both are seeded (the order of the patterns comes from ``seed`` alone) and
return a `TrainResult`.  In a terminal a tqdm progress bar shows the current
SSE; there is no bar when ``quiet=True``, when stderr is not a terminal, or
when tqdm (the ``examples`` extra) is not installed.

Import the helpers with ``from minigrad.nn.training import predict, total_sse``;
the package exports the loop itself as ``minigrad.train`` (and `TrainResult`).
"""

from __future__ import annotations

import contextlib
import math
import numbers
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ..compiler.step import compile as compile_step
from ..core import checks
from ..core.losses import cross_entropy, mse
from ..core.modes import no_grad
from ..core.value import sse, stack
from .gradient_flow import gradient_flow, layers_of
from .modules import Module, ScalarMLP
from ..optim.optimizers import SGD, Optimizer

__all__ = ["train", "TrainResult", "predict", "total_sse", "total_loss", "accuracy", "LOSSES", "DEFAULT_THRESHOLDS"]

#: The losses `train` takes by name, as functions of (targets, outputs).
LOSSES = {
    "sse": sse,
    "mse": mse,
    "cross_entropy": lambda targets, logits: cross_entropy(logits, targets),
}

# How each loss is described where its value is shown.
_LOSS_NAMES = {"sse": "SSE", "mse": "MSE", "cross_entropy": "cross-entropy"}


@dataclass
class TrainResult:
    """What `train` did.

    ``loss``: the loss trained on (``"sse"``, ``"mse"`` or ``"cross_entropy"``);
    ``history``: that loss over all patterns at each check (the SSE summed,
    the MSE and cross-entropy averaged), the first one before any update;
    ``steps``: the update count at each of those checks; ``iterations``: the
    number of updates (one per pattern online, one per batch in mini-batch
    mode); ``epochs``: passes over the data (mini-batch mode; None online);
    ``converged``: whether the loss fell below the threshold;
    ``final_loss``: the last value of ``history``; ``final_sse``: the total
    SSE of the final model's outputs (trained on SSE or MSE; nan for
    cross-entropy, whose outputs are logits); ``seconds``: wall time;
    ``threshold``: the one used (None: no early stop).
    """

    history: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    iterations: int = 0
    converged: bool = False
    final_sse: float = math.nan
    epochs: int | None = None
    seconds: float = 0.0
    threshold: float | None = None
    loss: str = "sse"
    final_loss: float = math.nan
    # train(..., track_gradient_flow=True): a minigrad.nn.gradient_flow.GradientFlow every N updates
    gradient_flow: list = field(default_factory=list)
    gradient_flow_steps: list = field(default_factory=list)

    def __str__(self):
        name = _LOSS_NAMES.get(self.loss, self.loss)
        if self.threshold is None:
            state = "trained"
        else:
            state = f"converged ({name} < {self.threshold:g})" if self.converged else "did not converge"
        epochs = f" ({self.epochs} epochs)" if self.epochs is not None else ""
        final = f"final {name} {self.final_loss:.6g}"
        return f"{state} after {self.iterations} iterations{epochs} in {self.seconds:.2f} s; {final}"

    def __repr__(self):
        # One line: the history (one SSE per check) is there in .history, never dumped.
        return f"<TrainResult: {self}; {len(self.history)} checks in .history>"

    def plot(self, ax=None, *, log=True):
        """The loss curve: the loss over all patterns against updates, on ``ax`` (a matplotlib Axes) or a
        new figure; log scale by default.  Needs matplotlib (the ``examples`` extra).
        Returns the Axes."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("TrainResult.plot needs matplotlib: pip install matplotlib "
                              "(or minigrad's examples extra)") from None
        if ax is None:
            ax = plt.figure(figsize=(6, 3.5)).add_subplot()
        ax.plot(self.steps, self.history, color="#1f77b4")
        if log and all(value > 0 for value in self.history):
            ax.set_yscale("log")
        if self.threshold is not None:
            ax.axhline(self.threshold, color="#808080", linestyle="--", linewidth=1, label=f"threshold {self.threshold:g}")
            ax.legend(loc="upper right")
        ax.set_xlabel("updates")
        ax.set_ylabel("total SSE" if self.loss == "sse" else f"mean {_LOSS_NAMES.get(self.loss, self.loss)}")
        ax.set_title(str(self), fontsize=9)
        return ax


    def plot_gradient_flow(self, ax=None, *, what="slope"):
        """Each layer's factor over training, from ``train(..., track_gradient_flow=True)``, on ``ax`` or a new
        figure, log scale: ``what="slope"`` the slope factor ‖δ_l‖ / ‖∂SSE/∂A_l‖ (what αF(1 − F) multiplies
        the gradient by there: at most α/4 for the sigmoid), ``"gradient"`` ‖∂SSE/∂W_l‖.  Needs matplotlib.
        Returns the Axes."""
        if not self.gradient_flow:
            raise ValueError("TrainResult.plot_gradient_flow: nothing recorded; train with track_gradient_flow=True")
        if what not in ("slope", "gradient"):
            raise ValueError(f"TrainResult.plot_gradient_flow: what must be 'slope' or 'gradient', got {what!r}")
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("TrainResult.plot_gradient_flow needs matplotlib: pip install matplotlib "
                              "(or minigrad's examples extra)") from None
        if ax is None:
            ax = plt.figure(figsize=(6, 3.5)).add_subplot()
        names = [layer.weight for layer in self.gradient_flow[0].layers][::-1]  # input side first
        colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, len(names)))
        for colour, name in zip(colours, names):
            layers = [next(layer for layer in report.layers if layer.weight == name) for report in self.gradient_flow]
            values = [layer.slope_factor if what == "slope" else layer.gradient_norm for layer in layers]
            ax.plot(self.gradient_flow_steps, values, color=colour, label=name)
        ax.set_yscale("log")
        ax.set_xlabel("updates")
        ax.set_ylabel("slope factor ‖δ‖/‖∂SSE/∂A‖" if what == "slope" else "‖∂SSE/∂W‖")
        ax.legend(loc="best", fontsize=8)
        ax.set_title("what the slope multiplies the gradient by, per layer" if what == "slope"
                     else "gradient norm per layer", fontsize=9)
        return ax


def _is_scalar_model(model):
    return isinstance(model, ScalarMLP)


def _as_patterns(array, name):
    try:
        array = np.asarray(array, dtype=np.float64)
    except (ValueError, TypeError) as error:
        raise TypeError(f"train: {name} must be an array of numbers ({error})") from None
    if array.ndim != 2 or len(array) == 0:
        raise ValueError(f"train: {name} must be a non-empty (patterns, values) array, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        pattern, column = np.argwhere(~np.isfinite(array))[0]
        raise ValueError(f"train: {name} must be finite, but {name}[{pattern}, {column}] is {array[pattern, column]}")
    return array


def _as_labels(array, name):
    """Integer class labels, one per pattern (shape (patterns,)), or None when ``array`` is not that."""
    if isinstance(array, np.ndarray):
        labels = array
    else:
        try:
            labels = np.asarray(array)
        except (ValueError, TypeError):
            return None
    if labels.dtype.kind not in "iu" or labels.ndim != 1:
        return None
    if len(labels) == 0:
        raise ValueError(f"train: {name} must be a non-empty array of class labels, got shape {labels.shape}")
    return labels.astype(np.int64)


def _check_widths(model, inputs, targets):
    """Refuse inputs or targets whose width does not fit the model, naming both shapes."""
    sizes = getattr(model, "sizes", None)
    described = f"{type(model).__name__} {list(sizes)}" if sizes is not None else f"model ({type(model).__name__})"
    if sizes is not None:
        if inputs.shape[1] != sizes[0]:
            raise ValueError(f"train: inputs have shape {inputs.shape}, width {inputs.shape[1]}, but the {described} "
                             f"has input width {sizes[0]} (its first layer size)")
        outputs = sizes[-1]
    else:
        # A model of unknown shape: one pattern through it says how wide its output is.
        outputs = np.shape(predict(model, inputs[:1]))[-1]
    if targets.ndim == 1:
        bad = np.flatnonzero((targets < 0) | (targets >= outputs))
        if len(bad):
            raise ValueError(f"train: targets are class labels, so each must be in [0, {outputs}) (the {described} "
                             f"has {outputs} outputs), but targets[{bad[0]}] is {targets[bad[0]]}")
        return
    if targets.shape[1] != outputs:
        raise ValueError(f"train: targets have shape {targets.shape}, width {targets.shape[1]}, but the {described} "
                         f"has output width {outputs} (inputs have shape {inputs.shape})")


def predict(model, inputs):
    """The model's outputs for ``inputs`` as a numpy array, with no graph recorded.

    ``inputs`` is one pattern (1-D) or a (patterns, inputs) matrix; the
    result has one output row per pattern (1-D for one pattern).  The model
    runs in evaluation mode (``model.eval()``: `Dropout` off) and is put back
    in the mode it was in, so `accuracy`, `total_loss` and `train`'s checks
    measure the network itself, not one random thinning of it.
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    with no_grad(), _evaluating(model):
        if _is_scalar_model(model):
            rows = np.atleast_2d(inputs)
            outputs = np.array([[node.data for node in model(row)] for row in rows])
            return outputs[0] if inputs.ndim == 1 else outputs
        return np.asarray(model(inputs).data, dtype=np.float64)


@contextlib.contextmanager
def _evaluating(model):
    """Evaluation mode for every module of ``model`` while the block runs; each one's mode restored after."""
    modules = model.modules() if isinstance(model, Module) else []
    modes = [module.training for module in modules]
    for module in modules:
        module.training = False
    try:
        yield
    finally:
        for module, mode in zip(modules, modes):
            module.training = mode


def total_sse(model, inputs, targets):
    """The chapter's SSE (Eq. 6.5) summed over every pattern: ½ Σ_p Σ_o (Desired − A)²."""
    targets = np.asarray(targets, dtype=np.float64)
    outputs = predict(model, inputs)
    if targets.shape != outputs.shape:
        # NOTE: numpy would broadcast (4, 1) targets against (4, 2) outputs into a wrong sum.
        raise ValueError(f"total_sse: targets have shape {targets.shape} but the model's outputs have shape "
                         f"{outputs.shape}")
    error = targets - outputs
    return 0.5 * float(np.sum(error * error))


def total_loss(model, inputs, targets, loss="sse"):
    """``loss`` over every pattern, as `train` checks it: the SSE summed (`total_sse`),
    the MSE and the cross-entropy averaged."""
    loss = _check_loss(loss, "total_loss")
    if loss == "sse":
        return total_sse(model, inputs, targets)
    outputs = np.atleast_2d(predict(model, inputs))
    labels = _as_labels(targets, "targets") if loss == "cross_entropy" else None
    targets = np.atleast_1d(labels) if labels is not None else np.atleast_2d(np.asarray(targets, dtype=np.float64))
    with no_grad():
        return float(LOSSES[loss](targets, outputs).data)


def _check_loss(loss, where):
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"{where}: loss must be one of {', '.join(map(repr, LOSSES))}, got {loss!r}")
    return loss


def accuracy(model, inputs, labels):
    """Fraction of patterns whose most active output node is the right class."""
    outputs = np.atleast_2d(predict(model, inputs))
    labels = np.atleast_1d(labels)
    if labels.shape != (len(outputs),):
        raise ValueError(f"accuracy: expected one label per pattern, shape ({len(outputs)},), "
                         f"got labels of shape {labels.shape}")
    return float(np.mean(np.argmax(outputs, axis=1) == labels))


def _loss(model, inputs, targets, loss="sse"):
    """The loss of a batch of patterns (SSE summed; MSE, cross-entropy averaged), one Value to backpropagate from."""
    if _is_scalar_model(model):
        rows = np.atleast_2d(inputs)
        desired = np.atleast_1d(targets) if np.asarray(targets).dtype.kind in "iu" else np.atleast_2d(targets)
        if loss == "sse":
            total = None
            for row, target in zip(rows, desired):
                pattern_loss = model.loss(row, target)
                total = pattern_loss if total is None else total + pattern_loss
            return total
        return LOSSES[loss](desired, stack([stack(model(row)) for row in rows]))
    if loss == "sse" and hasattr(model, "loss"):
        return model.loss(inputs, targets)
    outputs = model(inputs)
    if loss != "sse" and isinstance(outputs, (list, tuple)):
        outputs = stack(outputs)  # a model that returns one Value per output node
    return LOSSES[loss](targets, outputs)


def _compiled_update(model, loss, optimizer):
    """``(step, arguments)``: the batch loss compiled (`minigrad.compile`) with the
    optimizer's step (each call is a whole update), and how a batch becomes its arguments.  A scalar model takes its patterns as lists of floats, so each
    number is an input of the generated code (straight-line float arithmetic)."""
    if _is_scalar_model(model):
        def scalar_loss(rows, targets):
            if loss != "sse":
                labels = type(targets) is not list  # integer labels: one integer input of the step
                return LOSSES[loss](targets if labels else stack([stack(target) for target in targets]),
                                    stack([stack(model(list(row))) for row in rows]))
            total = None
            for row, desired in zip(rows, targets):
                pattern_loss = sse(list(desired), model(list(row)))
                total = pattern_loss if total is None else total + pattern_loss
            return total

        return compile_step(scalar_loss, optimizer=optimizer), lambda inputs, targets: (
            np.atleast_2d(inputs).tolist(), np.atleast_1d(targets) if targets.dtype.kind in "iu" else
            np.atleast_2d(targets).tolist())
    return compile_step(lambda inputs, targets: _loss(model, inputs, targets, loss), optimizer=optimizer), \
        lambda inputs, targets: (inputs, targets)


def _check_count(value, name):
    return checks.integer(value, name, "train", minimum=1)


def _progress_bar(total, quiet, description):
    """A tqdm bar in a notebook (a widget when ipywidgets is there) or on a terminal's
    stderr, when tqdm is installed; else None: no bar in logs, pipes and CI."""
    notebook = _in_notebook()
    if quiet or not (notebook or (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    if notebook:
        try:
            import ipywidgets  # noqa: F401 - tqdm's notebook widget needs it
            from tqdm.notebook import tqdm
        except ImportError:
            pass  # the text bar, which Jupyter shows like any stderr output
    return tqdm(total=total, desc=description, unit="it", file=sys.stderr, leave=True, mininterval=0.2)


def _in_notebook():
    """True inside a Jupyter kernel (IPython's ZMQ shell)."""
    shell = sys.modules.get("IPython")
    get_ipython = getattr(shell, "get_ipython", None)
    return get_ipython is not None and type(get_ipython()).__name__ == "ZMQInteractiveShell"


#: The loss below which `train` stops by default, per loss: the chapter's 0.04 for the SSE; none for
#: the MSE and the cross-entropy, which run every epoch (or up to max_iterations) unless ``threshold=`` says.
DEFAULT_THRESHOLDS = {"sse": 0.04, "mse": None, "cross_entropy": None}


def train(model, inputs, targets, *, mode="online", lr=None, optimizer=None, threshold="default",
          max_iterations=20000, epochs=100, batch_size=32, check_every=1, seed=0, quiet=False, compile=False,
          loss="sse", track_gradient_flow=False, gradient_flow_every=100):
    """Train ``model`` on ``(inputs, targets)`` and return a `TrainResult`.

    ``loss``: ``"sse"`` (the chapter's, Eq. 6.5; a batch's SSEs are summed),
    ``"mse"`` (the mean squared error of a batch) or ``"cross_entropy"``
    (softmax cross-entropy averaged over a batch: the model's outputs are
    the logits, so build it with ``output="linear"``, and the targets are
    integer class labels of shape (patterns,), as `minigrad.cross_entropy`
    takes them, or one-hot rows or probabilities).  The checks below use the
    same loss over all patterns (`total_loss`).

    ``threshold``: stop once the loss over all patterns is below it.  By
    default it depends on the loss (`DEFAULT_THRESHOLDS`): the chapter's 0.04
    for the SSE, and none for the MSE and the cross-entropy, whose runs go
    every epoch (or up to ``max_iterations``) unless ``threshold=`` is given.
    ``threshold=None`` never stops early.

    ``mode="online"`` (the author's): each iteration picks one pattern at
    random (``seed``), and updates all weights from its loss; every
    ``check_every`` iterations the loss over all patterns is computed,
    and training stops once it is below ``threshold``, or after
    ``max_iterations``.

    ``mode="batch"``: up to ``epochs`` passes, each over a fresh shuffle in
    batches of ``batch_size``; the loss over all patterns is checked after each epoch.

    The update rule is ``optimizer``, by default ``SGD(model, lr)`` with
    ``lr = 0.5`` (the author's η).
    ``quiet=True`` turns off the progress bar.  ``compile=True`` runs each
    update (forward, backward and the optimizer's step) as code generated
    by `minigrad.compile` (traced on the first batch of each shape): the
    same weights as eager mode, bit for bit, in less time.

    ``inputs`` and ``targets`` are (patterns, values) arrays of finite
    numbers, one row per pattern, as wide as the model's first and last
    layers (or, for the cross-entropy, labels in [0, outputs)); anything
    else is refused before training starts, with both shapes in the message.
    With ``compile=True`` integer labels are an integer input of the compiled
    step, as one-hot rows are a float one.


    ``track_gradient_flow=True`` records `minigrad.gradient_flow` over all
    patterns before training and every ``gradient_flow_every`` updates (and
    after the last) in ``result.gradient_flow``; `TrainResult.plot_gradient_flow`
    plots each layer's slope factor (SSE only; an MLP or a Sequential).
    """
    inputs = _as_patterns(inputs, "inputs")
    loss = _check_loss(loss, "train")
    labels = _as_labels(targets, "targets")
    if labels is not None and loss != "cross_entropy":
        raise ValueError(f"train: integer class labels (shape {labels.shape}) are targets for "
                         f"loss='cross_entropy'; loss={loss!r} needs (patterns, outputs) rows (one-hot targets)")
    targets = labels if labels is not None else _as_patterns(targets, "targets")
    if len(inputs) != len(targets):
        raise ValueError(f"train: {len(inputs)} input patterns but {len(targets)} target patterns")
    if mode not in ("online", "batch"):
        raise ValueError(f"train: mode must be 'online' or 'batch', got {mode!r}")
    if isinstance(threshold, str) and threshold == "default":
        threshold = DEFAULT_THRESHOLDS[loss]
    if threshold is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not threshold > 0 \
                or not math.isfinite(threshold):
            raise ValueError(f"train: threshold must be a finite number > 0, None or 'default', got {threshold!r}")
    if optimizer is None:
        optimizer = SGD(model, lr=0.5 if lr is None else lr)
    elif lr is not None:
        raise ValueError("train: give either optimizer= or lr=, not both (the optimizer has its own lr)")
    elif not isinstance(optimizer, Optimizer):
        raise TypeError(f"train: optimizer must be a minigrad.optim.Optimizer, got {type(optimizer).__name__}")
    check_every = _check_count(check_every, "check_every")
    if not isinstance(track_gradient_flow, (bool, np.bool_)):
        raise TypeError(f"train: track_gradient_flow must be True or False, got {track_gradient_flow!r}")
    flow_every = _check_count(gradient_flow_every, "gradient_flow_every")
    if track_gradient_flow:
        if loss != "sse":
            raise ValueError(f"train: track_gradient_flow splits the chapter's SSE into its factors; loss is {loss!r}")
        layers_of(model)  # refuses a net it cannot trace, before training
    if not isinstance(compile, (bool, np.bool_)):
        raise TypeError(f"train: compile must be True or False, got {compile!r}")
    _check_widths(model, inputs, targets)
    compiled = _compiled_update(model, loss, optimizer) if compile else None
    rng = np.random.default_rng(seed)
    result = TrainResult(threshold=None if threshold is None else float(threshold), loss=loss)
    started = time.perf_counter()
    shown = "SSE" if loss == "sse" else _LOSS_NAMES[loss]

    def check(step):
        value = total_loss(model, inputs, targets, loss)
        result.history.append(value)
        result.steps.append(step)
        result.final_loss = value
        if loss == "sse":
            result.final_sse = value
        return threshold is not None and value < threshold

    def record_flow(step):
        if track_gradient_flow and (not result.gradient_flow_steps or result.gradient_flow_steps[-1] != step):
            result.gradient_flow.append(gradient_flow(model, inputs, targets))
            result.gradient_flow_steps.append(step)

    def update(batch_inputs, batch_targets):
        optimizer.zero_grad()
        if compiled is None:
            _loss(model, batch_inputs, batch_targets, loss).backward()
            optimizer.step()
        else:
            step, arguments = compiled
            step(*arguments(batch_inputs, batch_targets))  # forward, backward and the optimizer's step

    if mode == "online":
        cap = _check_count(max_iterations, "max_iterations")
        bar = _progress_bar(cap, quiet, "online training")
        result.converged = check(0)
        record_flow(0)
        iteration = 0
        while not result.converged and iteration < cap:
            pattern = int(rng.integers(len(inputs)))
            update(inputs[pattern], targets[pattern])
            iteration += 1
            if iteration % flow_every == 0:
                record_flow(iteration)
            if iteration % check_every == 0 or iteration == cap:
                result.converged = check(iteration)
                if bar is not None:
                    bar.set_postfix_str(f"{shown}={result.final_loss:.4f}", refresh=False)
                    bar.update(iteration - bar.n)
        result.iterations = iteration
    else:
        cap = _check_count(epochs, "epochs")
        size = _check_count(batch_size, "batch_size")
        bar = _progress_bar(cap, quiet, "epochs")
        result.converged = check(0)
        record_flow(0)
        iteration = epoch = 0
        while not result.converged and epoch < cap:
            order = rng.permutation(len(inputs))
            for start in range(0, len(order), size):
                rows = order[start:start + size]
                update(inputs[rows], targets[rows])
                iteration += 1
                if iteration % flow_every == 0:
                    record_flow(iteration)
            epoch += 1
            result.converged = check(iteration)
            if bar is not None:
                bar.set_postfix_str(f"{shown}={result.final_loss:.4f}", refresh=False)
                bar.update(1)
        result.iterations, result.epochs = iteration, epoch
    record_flow(result.iterations)
    if bar is not None:
        bar.close()
    result.seconds = time.perf_counter() - started
    if loss == "mse":
        result.final_sse = total_sse(model, inputs, targets)
    return result
