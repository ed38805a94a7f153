"""The author's 5×5-pixel letters (X, M, N, H, A): a 25-6-5 sigmoid net, online.

    python examples/letters.py OUTDIR [--seed 0] [--noise 0.1] [--copies 40] [--fast]

Trains on the five clean letters (α = 1, η = 0.5, one random letter per
iteration, until the total SSE is below the threshold), then reports the
accuracy on the clean letters and on noisy copies (each pixel flipped with
probability --noise, seeded).  Writes letters_loss.png, letters_samples.png
and letters_summary.json to OUTDIR.
"""

import json
import os
import sys

import numpy as np

import minigrad
from minigrad.nn.datasets import letters
from minigrad.nn import MLP
from minigrad.nn.training import accuracy, predict

from arguments import example_parser, parse  # the command line the examples share


def plot(result, clean, noisy, noisy_outputs, outdir):
    from plots import plt, save  # matplotlib on the Agg backend, and how figures are written

    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    axes.semilogy(result.steps, result.history, color="tab:blue", linewidth=1.2)
    axes.set_xlabel("iteration (one random letter each)")
    axes.set_ylabel("total SSE over the 5 letters")
    axes.set_title(f"letters 25-6-5, α = 1, η = 0.5: {result.iterations} iterations", fontsize=10)
    save(figure, os.path.join(outdir, "letters_loss.png"), dpi=90)

    # Each clean letter above one noisy copy, titled with the net's answer.
    count = len(clean.classes)
    figure, grid = plt.subplots(2, count, figsize=(1.2 * count, 2.8))
    for column in range(count):
        grid[0, column].imshow(clean.inputs[column].reshape(5, 5), cmap="gray_r", vmin=0, vmax=1)
        grid[0, column].set_title(clean.classes[column], fontsize=10)
        guess = clean.classes[int(np.argmax(noisy_outputs[column]))]
        grid[1, column].imshow(noisy.inputs[column].reshape(5, 5), cmap="gray_r", vmin=0, vmax=1)
        grid[1, column].set_title(f"→ {guess}", fontsize=10)
        for row in range(2):
            grid[row, column].set_xticks([])
            grid[row, column].set_yticks([])
    grid[0, 0].set_ylabel("clean")
    grid[1, 0].set_ylabel("noisy")
    save(figure, os.path.join(outdir, "letters_samples.png"), dpi=90)


def main(argv=None):
    parser = example_parser(__doc__.splitlines()[0], "folder for the plots and summary",
                            seed="seed for the weights, pattern order and noise",
                            fast="quiet and fewer noisy copies, for tests")
    parser.add_argument("--noise", type=float, default=0.1, help="probability of flipping each pixel (default 0.1)")
    parser.add_argument("--copies", type=int, default=40, help="noisy copies of each letter (default 40)")
    parser.add_argument("--max-iterations", type=int, default=20000, help="iteration cap")
    args = parse(parser, argv)
    copies = min(args.copies, 8) if args.fast else args.copies

    clean = letters()
    noisy = letters(noise=args.noise, copies=copies, seed=args.seed + 1)
    model = MLP([25, 6, 5], alpha=1.0, seed=args.seed)
    result = minigrad.train(model, clean.inputs, clean.targets, mode="online", lr=0.5,
                            max_iterations=args.max_iterations, seed=args.seed, quiet=args.fast)
    clean_accuracy = accuracy(model, clean.inputs, clean.labels)
    noisy_accuracy = accuracy(model, noisy.inputs, noisy.labels)
    print(f"letters 25-6-5, alpha = 1.0, eta = 0.5, seed {args.seed}: {result}")
    print(f"accuracy on the 5 clean letters: {clean_accuracy:.0%}")
    print(f"accuracy on {len(noisy)} noisy letters ({args.noise:.0%} of pixels flipped): {noisy_accuracy:.1%}")
    for name in clean.classes:
        rows = noisy.labels == clean.classes.index(name)
        print(f"  {name}: {accuracy(model, noisy.inputs[rows], noisy.labels[rows]):.0%}")

    plot(result, clean, noisy, predict(model, noisy.inputs[:len(clean)]), args.outdir)
    summary = {"seed": args.seed, "iterations": result.iterations, "converged": result.converged,
               "final_sse": result.final_sse, "clean_accuracy": clean_accuracy,
               "noisy_accuracy": noisy_accuracy, "noise": args.noise, "noisy_patterns": len(noisy)}
    with open(os.path.join(args.outdir, "letters_summary.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    return 0 if result.converged else 1


if __name__ == "__main__":
    sys.exit(main())
