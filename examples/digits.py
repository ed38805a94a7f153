"""scikit-learn's 8×8 handwritten digits with an MLP trained by minigrad.

    python examples/digits.py OUTDIR [--loss sse|cross_entropy] [--compare] [--hidden 32] [--epochs 60]
                                     [--lr LR] [--fast] [--eager]

The chapter's variant (``--loss sse``, the default): a 64-32-10 sigmoid
network on tensors (weights scaled by √(6/(n_in+n_out)) so 64 summed inputs
stay off the sigmoid's flat tails), trained in mini-batches of 32 on the
summed SSE with plain SGD (lr 0.2).  ``--loss cross_entropy``: the same
network with a linear output layer (``output="linear"``: the outputs are
logits), trained on softmax cross-entropy averaged over each batch (lr 1.0).
``--compare`` trains both, from the same seed for the same epochs, and
prints both held-out accuracies.  Each step (forward, backward and SGD's
update) is compiled by minigrad.compile (``--eager`` records the graph every
step instead: the same weights, bit for bit, more slowly).

Prints the held-out accuracy (on a quarter of the images, stratified and
seeded) and the training time; writes digits_loss.png and
digits_summary.json to OUTDIR.  Needs the ``digits`` extra (scikit-learn).
"""

import json
import os
import sys

import minigrad
from minigrad.nn.datasets import digits
from minigrad.nn import MLP
from minigrad.optim import SGD
from minigrad.nn.training import accuracy

from arguments import example_parser, parse  # the command line the examples share

#: Per loss: the output layer and the default learning rate.
VARIANTS = {
    "sse": {"output": None, "lr": 0.2, "title": "sigmoid / SSE"},
    "cross_entropy": {"output": "linear", "lr": 1.0, "title": "softmax / cross-entropy"},
}


def train_variant(loss, args, epochs, train_set, test_set):
    """One network trained on ``loss``: its numbers, as the summary records them."""
    variant = VARIANTS[loss]
    lr = variant["lr"] if args.lr is None else args.lr
    model = MLP([64, args.hidden, 10], alpha=1.0, init="scaled", seed=args.seed, output=variant["output"])
    result = minigrad.train(model, train_set.inputs, train_set.targets, mode="batch", loss=loss,
                            optimizer=SGD(model, lr=lr), epochs=epochs, batch_size=args.batch_size,
                            threshold=None, seed=args.seed, quiet=args.fast, compile=not args.eager)
    numbers = {"loss": loss, "lr": lr, "epochs": result.epochs, "iterations": result.iterations,
               "train_accuracy": accuracy(model, train_set.inputs, train_set.labels),
               "test_accuracy": accuracy(model, test_set.inputs, test_set.labels),
               "training_seconds": result.seconds, "final_loss": result.final_loss}
    if loss == "sse":
        numbers["final_sse"] = result.final_sse
    print(f"digits 64-{args.hidden}-10, {variant['title']}, {len(train_set)} training / {len(test_set)} "
          f"held-out images: {result}")
    print(f"training accuracy {numbers['train_accuracy']:.1%}, held-out accuracy {numbers['test_accuracy']:.1%}, "
          f"training time {result.seconds:.2f} s ({'eager' if args.eager else 'compiled'})")
    return numbers, result


def main(argv=None):
    parser = example_parser(__doc__.splitlines()[0], "folder for the plot and summary",
                            seed="seed for the weights, split and batch order",
                            fast="10 epochs, quiet, for tests")
    parser.add_argument("--loss", choices=sorted(VARIANTS), default="sse",
                        help="sse: sigmoid outputs and the chapter's SSE (default); cross_entropy: linear outputs "
                             "(logits) and softmax cross-entropy")
    parser.add_argument("--compare", action="store_true",
                        help="train both variants (same seed, same epochs) and print both held-out accuracies")
    parser.add_argument("--hidden", type=int, default=32, help="hidden nodes (default 32)")
    parser.add_argument("--epochs", type=int, default=60, help="passes over the training images (default 60)")
    parser.add_argument("--lr", type=float, default=None,
                        help="SGD learning rate (default 0.2 on the summed SSE, 1.0 on the mean cross-entropy)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per update (default 32)")
    parser.add_argument("--eager", action="store_true",
                        help="train without minigrad.compile (records the graph every step), for comparison")
    args = parse(parser, argv)
    epochs = min(args.epochs, 10) if args.fast else args.epochs

    try:
        train_set, test_set = digits(seed=args.seed)
    except ImportError as error:
        print(error, file=sys.stderr)
        return 2
    losses = [args.loss] + ([other for other in VARIANTS if other != args.loss] if args.compare else [])
    runs = [train_variant(loss, args, epochs, train_set, test_set) for loss in losses]
    if args.compare:
        print("held-out accuracy, same seed and epochs: " + ", ".join(
            f"{VARIANTS[numbers['loss']]['title']} {numbers['test_accuracy']:.1%}" for numbers, _ in runs))

    from plots import plt, save  # matplotlib on the Agg backend, and how figures are written

    figure, axes = plt.subplots(1, len(runs), figsize=(5.5 * len(runs), 3.4), squeeze=False)
    for axis, (numbers, result) in zip(axes[0], runs):
        axis.semilogy(range(len(result.history)), result.history, color="tab:blue", marker=".", linewidth=1.2)
        axis.set_xlabel("epoch")
        axis.set_ylabel("total SSE over the training images" if numbers["loss"] == "sse"
                        else "mean cross-entropy over the training images")
        axis.set_title(f"{VARIANTS[numbers['loss']]['title']}: held-out accuracy {numbers['test_accuracy']:.1%}",
                       fontsize=10)
    save(figure, os.path.join(args.outdir, "digits_loss.png"), dpi=90)

    summary = dict(runs[0][0], hidden=args.hidden, compiled=not args.eager)
    if args.compare:
        summary["compare"] = {numbers["loss"]: numbers for numbers, _ in runs}
    with open(os.path.join(args.outdir, "digits_summary.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
