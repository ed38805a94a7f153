"""Vanishing gradients traced to their factors (Sec. 6.3.2), with minigrad.gradient_flow.

One deep net, 64-32-32-32-32-32-10, trained on 300 of the digits in
mini-batches of 10 from the same seeded "scaled" initial weights, twice:

1. sigmoid hidden layers: each layer back multiplies the gradient by the
   slope αF(1 − F) ≤ α/4, about 0.23 here, so the first layer's gradient is
   about 0.23⁵ ≈ 1/1500 of the last one's and the SSE stalls on a plateau;
2. tanh hidden layers (slope ≤ 1), the rest the same: the gradient reaches
   the first layer and the SSE falls.

Writes gradient_flow.png (SSE, slope factor and gradient norm per layer for
both runs) and gradient_flow.txt (both reports at the start, and the report of
the same sigmoid net started from large weights, init=3, whose saturated nodes
it names).

    python examples/gradient_flow.py OUTDIR [--fast]
"""

import argparse
import os
import sys

import minigrad as mg
from minigrad import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plots import plt, save  # noqa: E402

SIZES = [64, 32, 32, 32, 32, 32, 10]
RUNS = [("sigmoid hidden layers (stalls)", dict(activation="sigmoid"), 0.3),
        ("tanh hidden layers (learns)", dict(activation="tanh", output="sigmoid"), 0.05)]


def run(options, lr, inputs, targets, epochs):
    net = nn.MLP(SIZES, init="scaled", seed=1, **options)
    result = mg.train(net, inputs, targets, mode="batch", epochs=epochs, batch_size=10, lr=lr, threshold=None,
                      quiet=True, track_gradient_flow=True, gradient_flow_every=150)
    return net, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir")
    parser.add_argument("--fast", action="store_true", help="30 epochs instead of 300")
    args = parser.parse_args(argv)
    os.makedirs(args.outdir, exist_ok=True)
    train_set, _ = mg.datasets.digits()
    inputs, targets = train_set.inputs[:300], train_set.targets[:300]
    epochs = 30 if args.fast else 300
    figure, axes = plt.subplots(2, 3, figsize=(12, 6.4))
    texts = []
    for row, (title, options, lr) in enumerate(RUNS):
        _, result = run(options, lr, inputs, targets, epochs)
        axes[row, 0].plot(result.steps, result.history, color="#1f77b4")
        axes[row, 0].set_yscale("log")
        axes[row, 0].set_xlabel("updates")
        axes[row, 0].set_ylabel("total SSE")
        axes[row, 0].set_title(f"{title}: final SSE {result.final_loss:.3g}", fontsize=9)
        result.plot_gradient_flow(axes[row, 1])
        result.plot_gradient_flow(axes[row, 2], what="gradient")
        texts.append(f"== {title}, before training ==\n{result.gradient_flow[0]}\n")
        print(f"{title}: {result}")
    save(figure, os.path.join(args.outdir, "gradient_flow.png"), dpi=80)
    saturated = nn.MLP(SIZES, init=3.0, seed=1)
    texts.append("== sigmoid hidden layers from large initial weights (init=3), before training ==\n"
                 f"{mg.gradient_flow(saturated, inputs, targets)}\n")
    with open(os.path.join(args.outdir, "gradient_flow.txt"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(texts))
    print(f"wrote {args.outdir}/gradient_flow.png and gradient_flow.txt")


if __name__ == "__main__":
    main()
