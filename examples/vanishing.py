"""The chapter's vanishing-gradient argument (Sec. 6.3.2), made visible.

Every backpropagated gradient is multiplied by the sigmoid's derivative
α F (1 − F) (Eq. 6.2, 6.23) once per layer.  That factor is at most α/4, and
close to zero when the summed input NdInpt is large in magnitude, so:

1. vanishing_factor.png: the derivative factor against the summed input, on
   a log scale (it falls like α·exp(−α|x|));
2. vanishing_layers.png: the norm of ∂SSE/∂weight for each layer of deeper
   sigmoid nets (width 8, weights uniform on (−1, 1]): it shrinks layer by
   layer going back from the output;
3. vanishing_scale.png: XOR (2-2-2, α = 1, η = 0.5, online) iterations to
   converge against the half-width of the initial weights: large initial
   weights saturate the nodes and training stalls, as the chapter warns.

    python examples/vanishing.py OUTDIR [--fast]

Also writes vanishing_summary.json with the numbers behind the plots.
"""

import json
import os
import sys

import numpy as np

import minigrad
from minigrad.nn.datasets import xor
from minigrad.nn import MLP

from arguments import example_parser, parse  # the command line the examples share

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from figures import sigmoid_and_derivative  # noqa: E402  (F and ∂F/∂x = α F (1 − F), by reverse mode)


def layer_gradient_norms(depth, width=8, inputs=8, outputs=4, seeds=10):
    """Mean ‖∂SSE/∂weight‖ of each layer (input side first) over seeded nets and patterns."""
    norms = np.zeros(depth + 1)
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        model = MLP([inputs] + [width] * depth + [outputs], alpha=1.0, seed=rng)
        pattern = rng.random(inputs)
        desired = np.zeros(outputs)
        desired[rng.integers(outputs)] = 1.0
        model.loss(pattern, desired).backward()
        norms += [np.linalg.norm(weight.grad) for weight, _ in model.layers()]
    return norms / seeds


def iterations_against_scale(scales, seeds, cap):
    """XOR iterations to converge for each initial half-width (cap where it stalled)."""
    data = xor()
    table = {}
    for scale in scales:
        runs = []
        for seed in seeds:
            model = MLP([2, 2, 2], alpha=1.0, init=float(scale), seed=seed)
            result = minigrad.train(model, data.inputs, data.targets, lr=0.5, max_iterations=cap,
                                    check_every=10, seed=seed, quiet=True)
            runs.append((result.iterations, result.converged))
        table[scale] = runs
    return table


def main(argv=None):
    parser = example_parser("The vanishing-gradient argument of Sec. 6.3.2, as plots", "folder for the PNGs and summary",
                            fast="fewer nets and a low iteration cap, for tests")
    parser.add_argument("--cap", type=int, default=None, help="XOR iteration cap (default 10000; 5000 with --fast)")
    args = parse(parser, argv)
    cap = args.cap or (5000 if args.fast else 10000)
    scales = (1.0, 16.0) if args.fast else (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
    seeds = range(2) if args.fast else range(6)
    depths = (1, 3, 5) if args.fast else (1, 2, 4, 6, 8)

    from plots import plt, save  # matplotlib on the Agg backend, and how figures are written

    x = np.linspace(-30.0, 30.0, 601)
    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    for alpha in (0.5, 1.0, 2.0):
        axes.semilogy(x, sigmoid_and_derivative(x, alpha)[1], label=f"α = {alpha:g}")
    axes.set_xlabel("NdInpt (summed input to the node)")
    axes.set_ylabel("α F (1 − F)")
    axes.set_title("the factor each layer multiplies into the gradient (Eq. 6.23)", fontsize=10)
    save(figure, os.path.join(args.outdir, "vanishing_factor.png"), dpi=90, axes=axes)

    norms = {depth: layer_gradient_norms(depth, seeds=4 if args.fast else 20) for depth in depths}
    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    for depth, layer_norms in norms.items():
        axes.semilogy(range(1, depth + 2), layer_norms, marker="o", label=f"{depth} hidden layer{'s' * (depth > 1)}")
    axes.set_xlabel("layer (1 = input → first hidden)")
    axes.set_ylabel("mean ‖∂SSE/∂weight‖")
    axes.set_title("gradients shrink going back through sigmoid layers", fontsize=10)
    save(figure, os.path.join(args.outdir, "vanishing_layers.png"), dpi=90, axes=axes, legend_size=8)

    table = iterations_against_scale(scales, seeds, cap)
    medians = [float(np.median([iterations for iterations, _ in table[scale]])) for scale in scales]
    converged = [float(np.mean([done for _, done in table[scale]])) for scale in scales]
    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    for scale in scales:
        for iterations, done in table[scale]:
            axes.plot(scale, iterations, "o" if done else "x", color="tab:blue" if done else "tab:red", alpha=0.6)
    axes.plot(scales, medians, color="gray", linewidth=1, label="median")
    axes.axhline(cap, color="tab:red", linestyle=":", linewidth=0.8, label=f"cap {cap} (x: stalled)")
    axes.set_xscale("log", base=2)
    axes.set_xlabel("initial weights uniform on (−s, s]: s")
    axes.set_ylabel("iterations to SSE < 0.04")
    axes.set_title("XOR 2-2-2: large initial weights stall training", fontsize=10)
    save(figure, os.path.join(args.outdir, "vanishing_scale.png"), dpi=90, axes=axes, legend_size=8)

    summary = {
        "factor_at": {str(value): float(sigmoid_and_derivative(np.array([value]), 1.0)[1][0])
                      for value in (0.0, 5.0, 10.0, 20.0)},
        "layer_norms": {str(depth): layer_norms.tolist() for depth, layer_norms in norms.items()},
        "scales": list(scales), "cap": cap,
        "median_iterations": medians, "fraction_converged": converged,
    }
    with open(os.path.join(args.outdir, "vanishing_summary.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    print("derivative factor α F (1 − F) at α = 1:",
          ", ".join(f"x = {key}: {value:.3g}" for key, value in summary["factor_at"].items()))
    for depth, layer_norms in norms.items():
        print(f"{depth} hidden layer(s): gradient norms, input side first: "
              + " ".join(f"{value:.2e}" for value in layer_norms))
    print("XOR, iterations to converge by initial half-width s (cap means stalled):")
    for scale, median, fraction in zip(scales, medians, converged):
        print(f"  s = {scale:<5g} median {median:>7.0f}   converged {fraction:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
