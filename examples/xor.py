"""The author's XOR network: 2 inputs, 2 hidden, 2 one-hot outputs, α = 1, η = 0.5, online.

    python examples/xor.py OUTDIR [--seed 0] [--max-iterations 20000] [--fast]

Prints the iterations needed for the total SSE to fall below the threshold
and the final outputs per pattern, writes the loss curve (xor_loss.png), the
trained weights (xor_weights.npz) and a summary (xor_summary.json) to OUTDIR,
and checks autodiff against the chapter's formulas on one pattern with
`minigrad.compare`.
"""

import json
import os
import sys

import minigrad
from minigrad.tools.compare import compare
from minigrad.nn.datasets import xor
from minigrad.nn import MLP
from minigrad.nn.training import predict

from arguments import example_parser, parse  # the command line the examples share


def plot_loss(result, path, title):
    """The total SSE against the iteration, on a log scale."""
    from plots import plt, save  # matplotlib on the Agg backend, and how figures are written

    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    axes.semilogy(result.steps, result.history, color="tab:blue", linewidth=1.2)
    if result.threshold is not None:
        axes.axhline(result.threshold, color="gray", linestyle="--", linewidth=0.8, label=f"threshold {result.threshold:g}")
        axes.legend(loc="upper right", frameon=False)
    axes.set_xlabel("iteration (one random pattern each)")
    axes.set_ylabel("total SSE over the 4 patterns")
    axes.set_title(title, fontsize=10)
    save(figure, path, dpi=90)


def compare_one_pattern(model, inputs, desired):
    """Autodiff against the chapter's formulas on one pattern: prints and returns the report."""
    report = compare(model, inputs, desired)
    print(report)
    return report


def main(argv=None):
    parser = example_parser(__doc__.splitlines()[0], "folder for the plot, weights and summary",
                            seed="seed for the weights and the pattern order",
                            fast="quiet, for tests (the net converges in seconds anyway)")
    parser.add_argument("--max-iterations", type=int, default=20000, help="iteration cap")
    parser.add_argument("--threshold", type=float, default=0.04, help="stop when the total SSE is below this")
    args = parse(parser, argv)

    data = xor()
    model = MLP([2, 2, 2], alpha=1.0, seed=args.seed)  # weights uniform on (−1, 1]
    result = minigrad.train(model, data.inputs, data.targets, mode="online", lr=0.5, threshold=args.threshold,
                            max_iterations=args.max_iterations, seed=args.seed, quiet=args.fast)
    print(f"XOR 2-2-2, alpha = 1.0, eta = 0.5, seed {args.seed}: {result}")
    outputs = predict(model, data.inputs)
    print("pattern    desired      actual")
    for pattern, desired, actual in zip(data.inputs, data.targets, outputs):
        print(f"{pattern.astype(int)!s:<10} {desired.astype(int)!s:<12} [{actual[0]:.3f} {actual[1]:.3f}]")

    plot_loss(result, os.path.join(args.outdir, "xor_loss.png"),
              f"XOR 2-2-2, α = 1, η = 0.5: {result.iterations} iterations")
    model.save(os.path.join(args.outdir, "xor_weights.npz"))

    print("\nAutodiff against the chapter's formulas, pattern (0, 1) -> (1, 0):")
    report = compare_one_pattern(model, data.inputs[1], data.targets[1])
    summary = {
        "seed": args.seed,
        "iterations": result.iterations,
        "converged": result.converged,
        "final_sse": result.final_sse,
        "outputs": outputs.tolist(),
        "compare_ok": bool(report.ok),
        "compare_worst_relative": float(report.worst_relative),
    }
    with open(os.path.join(args.outdir, "xor_summary.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    return 0 if result.converged else 1


if __name__ == "__main__":
    sys.exit(main())
