"""The chapter's figures, reproduced with minigrad:

* Fig. 6.1: the sigmoid F(x) = 1/(1 + exp(−αx)) (Eq. 6.1) for several gains α;
* Fig. 6.2: its derivative, taken by reverse mode (``x.sigmoid(α).sum().backward()``
  leaves ∂F/∂x in ``x.grad``), drawn over the formula α F (1 − F) (Eq. 6.2);
* Fig. 6.3: the SSE of the XOR net as a function of one hidden→output weight
  v[0,0], the others fixed, with the autodiff slope ∂SSE/∂v[0,0] drawn as the
  tangent at the current weight.

    python examples/figures.py OUTDIR [--seed 0] [--points 401] [--fast]

Writes fig6_1_sigmoid.png, fig6_2_derivative.png, fig6_3_sse_vs_v.png and
figures_summary.json (the slopes: autodiff and central differences).
"""

import json
import os
import sys

import numpy as np

import minigrad
from minigrad.nn.datasets import xor
from minigrad.nn import MLP
from minigrad.nn.training import total_sse

from arguments import example_parser, parse  # the command line the examples share

ALPHAS = (0.5, 1.0, 2.0, 4.0)


def sigmoid_and_derivative(x, alpha):
    """F(x) and ∂F/∂x at every point of ``x``, both from minigrad (the derivative by backward)."""
    points = minigrad.Value(x)
    output = points.sigmoid(alpha)
    output.sum().backward()  # each output depends on its own input only, so the sum's gradient is ∂F/∂x
    return output.data, points.grad


def sse_slice(model, weight_name, index, grid, inputs, targets):
    """Total SSE as one weight element sweeps ``grid``, every other weight fixed."""
    weight = dict(model.named_parameters())[weight_name]
    saved = weight.data.copy()
    values = []
    for point in grid:
        weight.data = saved.copy()
        weight.data[index] = point
        values.append(total_sse(model, inputs, targets))
    weight.data = saved
    return np.array(values)


def main(argv=None):
    parser = example_parser("The chapter's figures 6.1-6.3", "folder for the PNGs",
                            seed="seed for the XOR net of Fig. 6.3",
                            fast="fewer points, for tests")
    parser.add_argument("--points", type=int, default=401, help="points per curve")
    parser.add_argument("--dpi", type=int, default=90, help="resolution of the PNGs")
    args = parse(parser, argv)
    points = min(args.points, 81) if args.fast else args.points

    from plots import plt, save  # matplotlib on the Agg backend, and how figures are written

    x = np.linspace(-10.0, 10.0, points)
    curves = {alpha: sigmoid_and_derivative(x, alpha) for alpha in ALPHAS}

    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    for alpha, (output, _) in curves.items():
        axes.plot(x, output, label=f"α = {alpha:g}")
    axes.set_xlabel("x (summed input to the node)")
    axes.set_ylabel("F(x) = 1 / (1 + exp(−αx))")
    axes.set_title("Fig. 6.1: the sigmoid transfer function (Eq. 6.1)", fontsize=10)
    save(figure, os.path.join(args.outdir, "fig6_1_sigmoid.png"), dpi=args.dpi, axes=axes)

    worst_derivative_error = 0.0
    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    for alpha, (output, derivative) in curves.items():
        formula = alpha * output * (1.0 - output)  # Eq. 6.2
        worst_derivative_error = max(worst_derivative_error, float(np.max(np.abs(derivative - formula))))
        line, = axes.plot(x, derivative, label=f"α = {alpha:g}")
        axes.plot(x[::max(1, points // 40)], formula[::max(1, points // 40)], ".", color=line.get_color(), markersize=3)
    axes.set_xlabel("x (summed input to the node)")
    axes.set_ylabel("∂F/∂x")
    axes.set_title("Fig. 6.2: the derivative (lines: autodiff; dots: α F (1 − F), Eq. 6.2)", fontsize=9)
    save(figure, os.path.join(args.outdir, "fig6_2_derivative.png"), dpi=args.dpi, axes=axes)

    data = xor()
    model = MLP([2, 2, 2], alpha=1.0, seed=args.seed)
    current = float(model.v.data[0, 0])
    model.loss(data.inputs, data.targets).backward()  # total SSE over the four patterns
    slope = float(model.v.grad[0, 0])
    step = 1e-6
    plus = sse_slice(model, "v", (0, 0), [current + step], data.inputs, data.targets)[0]
    minus = sse_slice(model, "v", (0, 0), [current - step], data.inputs, data.targets)[0]
    numerical_slope = (plus - minus) / (2.0 * step)
    grid = np.linspace(current - 6.0, current + 6.0, points)
    surface = sse_slice(model, "v", (0, 0), grid, data.inputs, data.targets)
    here = total_sse(model, data.inputs, data.targets)

    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    axes.plot(grid, surface, color="tab:blue", label="total SSE (4 XOR patterns)")
    near = np.abs(grid - current) <= 2.0
    axes.plot(grid[near], here + slope * (grid[near] - current), color="tab:red", linestyle="--",
              label=f"tangent, autodiff slope {slope:.4f}")
    axes.plot([current], [here], "o", color="tab:red")
    axes.set_xlabel("v[0,0] (hidden node 0 → output node 0)")
    axes.set_ylabel("SSE")
    axes.set_title("Fig. 6.3: dependence of the SSE on a single v weight", fontsize=10)
    save(figure, os.path.join(args.outdir, "fig6_3_sse_vs_v.png"), dpi=args.dpi, axes=axes, legend_size=8)

    summary = {"v00": current, "sse": here, "autodiff_slope": slope, "central_difference_slope": numerical_slope,
               "worst_derivative_error": worst_derivative_error, "alphas": list(ALPHAS), "points": points}
    with open(os.path.join(args.outdir, "figures_summary.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    print(f"Fig. 6.2: autodiff ∂F/∂x matches α F (1 − F) to {worst_derivative_error:.1e}")
    print(f"Fig. 6.3: at v[0,0] = {current:.4f}, SSE = {here:.6f}, autodiff slope {slope:.10f}, "
          f"central differences {numerical_slope:.10f}")
    print(f"wrote the figures to {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
