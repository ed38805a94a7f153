"""scikit-learn's 8×8 handwritten digits with a sigmoid MLP trained by minigrad.

    python examples/digits.py OUTDIR [--hidden 32] [--epochs 60] [--lr 0.2] [--fast] [--eager]

A 64-32-10 sigmoid network on tensors (weights scaled by √(6/(n_in+n_out))
so 64 summed inputs stay off the sigmoid's flat tails), trained in
mini-batches of 32 on the summed SSE with plain SGD, each step compiled
by minigrad.compile (``--eager`` records the graph every step instead: the
same weights, bit for bit, more slowly).  Prints the held-out
accuracy (on a quarter of the images, stratified and seeded) and the
training time; writes digits_loss.png and digits_summary.json to OUTDIR.
Needs the ``digits`` extra (scikit-learn).
"""

import argparse
import json
import os
import sys

import minigrad
from minigrad.datasets import digits
from minigrad.nn import MLP
from minigrad.optim import SGD
from minigrad.training import accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="folder for the plot and summary")
    parser.add_argument("--hidden", type=int, default=32, help="hidden nodes (default 32)")
    parser.add_argument("--epochs", type=int, default=60, help="passes over the training images (default 60)")
    parser.add_argument("--lr", type=float, default=0.2, help="SGD learning rate on the summed SSE (default 0.2)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per update (default 32)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights, split and batch order")
    parser.add_argument("--fast", action="store_true", help="10 epochs, quiet, for tests")
    parser.add_argument("--eager", action="store_true",
                        help="train without minigrad.compile (records the graph every step), for comparison")
    args = parser.parse_args(argv)
    os.makedirs(args.outdir, exist_ok=True)
    epochs = min(args.epochs, 10) if args.fast else args.epochs

    try:
        train_set, test_set = digits(seed=args.seed)
    except ImportError as error:
        print(error, file=sys.stderr)
        return 2
    model = MLP([64, args.hidden, 10], alpha=1.0, init="scaled", seed=args.seed)
    result = minigrad.train(model, train_set.inputs, train_set.targets, mode="batch",
                            optimizer=SGD(model, lr=args.lr), epochs=epochs, batch_size=args.batch_size,
                            threshold=None, seed=args.seed, quiet=args.fast, compile=not args.eager)
    train_accuracy = accuracy(model, train_set.inputs, train_set.labels)
    test_accuracy = accuracy(model, test_set.inputs, test_set.labels)
    print(f"digits 64-{args.hidden}-10, {len(train_set)} training / {len(test_set)} held-out images: {result}")
    print(f"training accuracy {train_accuracy:.1%}, held-out accuracy {test_accuracy:.1%}, "
          f"training time {result.seconds:.2f} s ({'eager' if args.eager else 'compiled'})")

    from plots import plt, save  # matplotlib on the Agg backend, and how figures are written

    figure, axes = plt.subplots(figsize=(5.5, 3.4))
    axes.semilogy(range(len(result.history)), result.history, color="tab:blue", marker=".", linewidth=1.2)
    axes.set_xlabel("epoch")
    axes.set_ylabel("total SSE over the training images")
    axes.set_title(f"digits 64-{args.hidden}-10: held-out accuracy {test_accuracy:.1%}", fontsize=10)
    save(figure, os.path.join(args.outdir, "digits_loss.png"), dpi=90)

    summary = {"hidden": args.hidden, "epochs": result.epochs, "iterations": result.iterations,
               "train_accuracy": train_accuracy, "test_accuracy": test_accuracy,
               "training_seconds": result.seconds, "final_sse": result.final_sse, "compiled": not args.eager}
    with open(os.path.join(args.outdir, "digits_summary.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
