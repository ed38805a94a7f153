"""Vanishing gradients traced to their factors (Sec. 6.3.2): `gradient_flow`.

For a net of layers A_l = F_l(NdInpt_l), NdInpt_l = A_(l−1) · W_l + b_l and
the chapter's SSE = ½ Σ (D − A_L)², the chain rule splits every weight's
gradient into the chapter's factors (Eq. 6.30 for the output layer v, its
next line down for w):

    ∂SSE/∂W_l[i, h] = Σ_p A_(l−1)[p, i] · F_l′(NdInpt_l[p, h]) · ∂SSE/∂A_l[p, h]

    ∂SSE/∂A_L       = −E            (the error E_o = D_o − A_o)
    ∂SSE/∂A_l       = δ_(l+1) · W_(l+1)ᵀ   (the weights v[h, o] of the layer above)
    δ_l             = F_l′ ⊙ ∂SSE/∂A_l      (the slope αF(1 − F) ≤ α/4)

Going back one layer the gradient is multiplied by the weights of the layer
above and then by the slope; `gradient_flow` measures each as a ratio of
norms (‖∂SSE/∂A_l‖ / ‖δ_(l+1)‖ for the weights, ‖δ_l‖ / ‖∂SSE/∂A_l‖ for the
slope), says which shrinks the gradient more, and names the saturated nodes:
those whose slope is under a tenth of its largest (α/4 for the sigmoid, 1 for
tanh), the ones with the largest |NdInpt| first.

∂SSE/∂A_l comes from autodiff (`minigrad.grad`); the slope is the
activation's derivative written exactly: F(1 − F) = e/(1 + e)² with
e = exp(−α|x|), so deep in saturation it stays a real number, not 0.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np

from ..core.functional import grad
from ..core.value import Value, sse
from .modules import MLP, Linear, ReLU, ScalarMLP, Sequential, Sigmoid, Tanh

__all__ = ["gradient_flow", "GradientFlow", "LayerFlow", "SaturatedNode", "SATURATION"]

#: A node is saturated when its mean slope is under this fraction of the slope's largest value.
SATURATION = 0.1

# How many saturated nodes the text names (all are in .saturated).
_NAMED = 6


@dataclass
class LayerFlow:
    """One layer's factors, one row per pattern and one column per node (output layer first in a report).

    ``weight`` (the weight's name), ``nodes`` (the nodes' names), ``activation``, ``alpha``, ``slope_max``
    (α/4 for the sigmoid, 1 otherwise); ``inputs`` A_(l−1), ``summed_inputs`` NdInpt_l, ``slope`` F_l′,
    ``error`` ∂SSE/∂A_l (−E at the output); ``delta`` = slope · error, ``weight_gradient`` and
    ``bias_gradient`` (the factors multiplied back); ``weights_factor`` (None at the output),
    ``slope_factor``, ``gradient_norm`` ‖∂SSE/∂W_l‖ and ``dominant`` (``"slope"``, ``"weights"``,
    ``"error"`` or None when nothing shrinks it).
    """

    weight: str
    nodes: list
    activation: str
    alpha: float
    slope_max: float
    inputs: np.ndarray
    summed_inputs: np.ndarray
    slope: np.ndarray
    error: np.ndarray
    delta: np.ndarray
    weight_gradient: np.ndarray
    bias_gradient: np.ndarray
    weights_factor: float | None
    slope_factor: float
    gradient_norm: float
    dominant: str | None
    above: str | None = None  # the weight of the layer above (whose v[h, o] the error came through)

    @property
    def mean_slope(self):
        return float(np.mean(self.slope))


@dataclass
class SaturatedNode:
    """A node whose mean slope is under `SATURATION` of its largest: at ``pattern`` (where |NdInpt| is
    largest) ``summed_input`` and ``slope_fraction`` (F(1 − F) for the sigmoid, 1 − tanh² for tanh, the slope
    for others), and ``lost``: 1 − mean slope / largest slope, the part of the gradient through it lost there."""

    node: str
    weight: str
    column: int
    activation: str
    pattern: int
    summed_input: float
    slope_fraction: float
    lost: float

    def __str__(self):
        what = {"sigmoid": "F(1−F)", "tanh": "1 − tanh²"}.get(self.activation, "slope")
        return (f"{self.node}: {what} = {self.slope_fraction:.2g} at NdInpt = {self.summed_input:.3g}; "
                f"{100 * self.lost:.0f}% of ∂SSE/∂{self.weight}[·,{self.column}] lost there")


@dataclass
class GradientFlow:
    """The report `gradient_flow` returns: ``loss`` (the SSE), ``patterns``, ``layers`` (`LayerFlow`, output
    layer first), ``error`` (E = D − A_L) and ``saturated`` (`SaturatedNode`, largest |NdInpt| first).
    ``str(report)`` is a plain-text table; in Jupyter it shows as an HTML table."""

    loss: float
    patterns: int
    layers: list
    error: np.ndarray
    saturated: list = field(default_factory=list)

    def summary_lines(self):
        lines = []
        for layer in self.layers:
            if layer.dominant is None:
                lines.append(f"{layer.weight}: the gradient does not shrink here")
            elif layer.dominant == "slope":
                lines.append(f"{layer.weight}: the slope shrinks the gradient most (× {layer.slope_factor:.3g})")
            elif layer.dominant == "weights":
                lines.append(f"{layer.weight}: the weights {layer.above} shrink the gradient most "
                             f"(× {layer.weights_factor:.3g})")
            else:
                lines.append(f"{layer.weight}: the error E is small (‖E‖ = {np.linalg.norm(self.error):.3g})")
        return lines

    def _rows(self):
        rows = []
        for layer in self.layers:
            arriving = (f"‖E‖ {np.linalg.norm(layer.error):.3g}" if layer.weights_factor is None
                        else f"{np.linalg.norm(layer.error):.3g}")
            rows.append([layer.weight, str(len(layer.nodes)), layer.activation, arriving,
                         "—" if layer.weights_factor is None else f"× {layer.weights_factor:.3g}",
                         f"× {layer.slope_factor:.3g}", f"{layer.mean_slope:.3g} (≤ {layer.slope_max:.3g})",
                         f"{layer.gradient_norm:.3g}", layer.dominant or "—"])
        return rows

    _HEADER = ["layer", "nodes", "activation", "‖∂SSE/∂A‖ in", "weights", "slope", "mean slope",
               "‖∂SSE/∂W‖", "shrinks most"]

    def __str__(self):
        rows = [self._HEADER] + self._rows()
        widths = [max(len(row[k]) for row in rows) for k in range(len(self._HEADER))]
        lines = [f"gradient flow: SSE = {self.loss:.6g} over {self.patterns} pattern"
                 f"{'' if self.patterns == 1 else 's'}, output layer first"]
        lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)) for row in rows]
        lines += ["  " + line for line in self.summary_lines()]
        if self.saturated:
            lines.append(f"saturated nodes (mean slope under {SATURATION:g} of its largest), largest |NdInpt| first:")
            lines += [f"  {node}" for node in self.saturated[:_NAMED]]
            if len(self.saturated) > _NAMED:
                lines.append(f"  and {len(self.saturated) - _NAMED} more (report.saturated)")
        else:
            lines.append("no saturated nodes")
        return "\n".join(lines)

    def __repr__(self):
        return (f"<GradientFlow: SSE {self.loss:.4g}, {len(self.layers)} layers, {len(self.saturated)} saturated "
                "nodes; print() it for the table>")

    def _repr_html_(self):
        escape = html.escape
        head = "".join(f"<th>{escape(cell)}</th>" for cell in self._HEADER)
        body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in self._rows())
        notes = "".join(f"<li>{escape(line)}</li>" for line in self.summary_lines())
        saturated = "".join(f"<li>{escape(str(node))}</li>" for node in self.saturated[:_NAMED])
        return (f"<div><b>gradient flow</b>: SSE = {self.loss:.6g} over {self.patterns} patterns, output layer first"
                f'<table style="border-collapse: collapse">{head and "<tr>" + head + "</tr>"}{body}</table>'
                f"<ul>{notes}</ul>"
                + (f"<b>saturated nodes</b> (largest |NdInpt| first)<ul>{saturated}</ul>" if saturated
                   else "<p>no saturated nodes</p>") + "</div>")


# ---------------------------------------------------------------------------
# The layers of a net
# ---------------------------------------------------------------------------


@dataclass
class _Layer:
    weight: Value
    bias: Value | None
    name: str
    activation: str
    alpha: float


def layers_of(net):
    """[_Layer] from input to output, for an MLP or a Sequential of Linear and activations."""
    if isinstance(net, ScalarMLP):
        raise TypeError("gradient_flow: a ScalarMLP is built weight by weight; build the same net as a tensor "
                        "MLP (MLP(sizes, seed=...)) to trace its gradient's factors")
    if isinstance(net, MLP):
        found = []
        pairs = net.layers()
        for number, ((weight, bias), (weight_name, _)) in enumerate(zip(pairs, net._layer_names)):
            activation = net.activation if number < len(pairs) - 1 else net.output
            found.append(_Layer(weight, bias, weight_name, activation, float(net.alpha)))
        return found
    if isinstance(net, Sequential):
        names = {id(value): name for name, value in net.named_parameters()}
        found = []
        for position, module in enumerate(net.layers):
            if isinstance(module, Linear):
                found.append(_Layer(module.weight, module.bias, names[id(module.weight)], "linear", 1.0))
            elif isinstance(module, (Sigmoid, Tanh, ReLU)) and found and found[-1].activation == "linear":
                found[-1].activation = {Sigmoid: "sigmoid", Tanh: "tanh", ReLU: "relu"}[type(module)]
                found[-1].alpha = float(getattr(module, "alpha", 1.0))
            else:
                raise TypeError(f"gradient_flow: layers[{position}] is {type(module).__name__}; a Sequential of "
                                "Linear layers, each followed by at most one Sigmoid, Tanh or ReLU, is traced")
        if not found:
            raise TypeError("gradient_flow: the Sequential holds no Linear layer")
        return found
    raise TypeError(f"gradient_flow: net must be an MLP or a Sequential of Linear and Sigmoid/Tanh/ReLU layers, "
                    f"got {type(net).__name__}")


def _node_names(count):
    """The chapter's names: H_h for the hidden nodes of a 3-layer net, A_o for the outputs; H1_h, H2_h, ... deeper."""
    names = []
    for number in range(count):
        if number == count - 1:
            names.append("A")
        elif count == 2:
            names.append("H")
        else:
            names.append(f"H{number + 1}")
    return names


def _activate(z, layer):
    if layer.activation == "sigmoid":
        return z.sigmoid(layer.alpha)
    if layer.activation == "tanh":
        return z.tanh()
    if layer.activation == "relu":
        return z.relu()
    return z


def _slope(z, layer):
    """(F′(z), its largest value, the unscaled fraction: F(1 − F), 1 − tanh², ...), written without
    subtraction so that saturation keeps real numbers."""
    if layer.activation == "sigmoid":
        e = np.exp(-np.abs(layer.alpha * z))
        fraction = e / (1.0 + e) ** 2  # NOTE: F(1 − F) = e·r², exact in saturation
        return layer.alpha * fraction, layer.alpha / 4.0, fraction
    if layer.activation == "tanh":
        e = np.exp(-2.0 * np.abs(z))
        fraction = 4.0 * e / (1.0 + e) ** 2  # NOTE: 1 − tanh² = sech², no cancellation
        return fraction, 1.0, fraction
    if layer.activation == "relu":
        fraction = (z > 0).astype(np.float64)
        return fraction, 1.0, fraction
    ones = np.ones_like(z)
    return ones, 1.0, ones


def _ratio(top, bottom):
    return top / bottom if bottom > 0 else (math.nan if top == 0 else math.inf)


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def gradient_flow(net, inputs, targets) -> GradientFlow:
    """Split each layer's ∂SSE/∂W into the chapter's factors: error, weights of the layer above, slope.

    ``net``: an `MLP` or a `Sequential` of `Linear` layers each followed by `Sigmoid`, `Tanh` or `ReLU`
    (or nothing); ``inputs``, ``targets``: one pattern or a (patterns, values) array each.  Returns a
    `GradientFlow`: ``print(report)`` gives the table and names the saturated nodes.
    """
    layers = layers_of(net)
    inputs = np.array(inputs, dtype=np.float64, ndmin=2)
    targets = np.array(targets, dtype=np.float64, ndmin=2)
    first, last = layers[0].weight.shape[0], layers[-1].weight.shape[1]
    if inputs.ndim != 2 or inputs.shape[1] != first:
        raise ValueError(f"gradient_flow: inputs must be patterns of {first} numbers, got shape {inputs.shape}")
    if targets.shape != (inputs.shape[0], last):
        raise ValueError(f"gradient_flow: targets must have shape {(inputs.shape[0], last)} (one row of {last} per "
                         f"pattern), got {targets.shape}")
    if not (np.all(np.isfinite(inputs)) and np.all(np.isfinite(targets))):
        raise ValueError("gradient_flow: inputs and targets must be finite numbers")
    activations, summed = [], []
    x = inputs
    for layer in layers:
        z = x @ layer.weight
        if layer.bias is not None:
            z = z + layer.bias
        x = _activate(z, layer)
        summed.append(z)
        activations.append(x)
    loss = sse(targets, x)
    errors = grad(loss, activations)  # ∂SSE/∂A_l for each layer, by reverse mode
    prefixes = _node_names(len(layers))
    flows = []
    below = [inputs] + [np.asarray(a.data) for a in activations[:-1]]
    delta_above = None
    for number in reversed(range(len(layers))):
        layer = layers[number]
        z = np.asarray(summed[number].data, dtype=np.float64)
        slope, slope_max, _ = _slope(z, layer)
        error = np.asarray(errors[number], dtype=np.float64)
        delta = slope * error
        error_norm, delta_norm = float(np.linalg.norm(error)), float(np.linalg.norm(delta))
        weights_factor: float | None = None
        if delta_above is not None:
            weights_factor = _ratio(error_norm, float(np.linalg.norm(delta_above)))
        slope_factor = _ratio(delta_norm, error_norm)
        weight_gradient = below[number].T @ delta
        shrinking = {"slope": slope_factor}
        if weights_factor is not None:
            shrinking["weights"] = weights_factor
        else:
            shrinking["error"] = error_norm
        smallest = min(shrinking, key=lambda key: shrinking[key] if math.isfinite(shrinking[key]) else math.inf)
        dominant = smallest if shrinking[smallest] < 1.0 else None
        flows.append(LayerFlow(weight=layer.name, nodes=[f"{prefixes[number]}_{k}" for k in range(z.shape[1])],
                               activation=layer.activation, alpha=layer.alpha, slope_max=slope_max,
                               inputs=below[number], summed_inputs=z, slope=slope, error=error, delta=delta,
                               weight_gradient=weight_gradient, bias_gradient=delta.sum(axis=0),
                               weights_factor=weights_factor, slope_factor=slope_factor,
                               gradient_norm=float(np.linalg.norm(weight_gradient)), dominant=dominant,
                               above=layers[number + 1].name if number + 1 < len(layers) else None))
        delta_above = delta
    error = targets - np.asarray(activations[-1].data)
    report = GradientFlow(loss=float(loss.data), patterns=inputs.shape[0], layers=flows, error=error)
    report.saturated = _saturated(flows, layers[::-1])
    return report


def _saturated(flows, layers):
    found = []
    for flow, layer in zip(flows, layers):
        if flow.activation == "linear":
            continue
        _, _, fraction = _slope(flow.summed_inputs, layer)
        kept = np.mean(flow.slope, axis=0) / flow.slope_max
        for column in np.flatnonzero(kept < SATURATION):
            pattern = int(np.argmax(np.abs(flow.summed_inputs[:, column])))
            found.append(SaturatedNode(node=flow.nodes[column], weight=flow.weight, column=int(column),
                                       activation=flow.activation, pattern=pattern,
                                       summed_input=float(flow.summed_inputs[pattern, column]),
                                       slope_fraction=float(fraction[pattern, column]),
                                       lost=float(1.0 - kept[column])))
    found.sort(key=lambda node: -abs(node.summed_input))
    return found
