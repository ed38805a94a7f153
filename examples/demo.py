"""`make demo`: the chapter's XOR network, trained, checked and drawn.

    python examples/demo.py OUTDIR [--seed 0] [--quiet]

1. trains the author's 2-2-2 XOR net (α = 1, η = 0.5, online, weights
   uniform on (−1, 1]) with a progress bar showing the current SSE;
2. prints the result and the outputs per pattern;
3. prints the autodiff-vs-formula table for one pattern (`minigrad.compare`);
4. writes to OUTDIR: the computation graph of that pattern's SSE, with every
   value and gradient (xor_graph.svg from the tensor net, xor_graph_scalar.svg
   weight by weight with the chapter's node names; .dot text instead when
   graphviz's ``dot`` program is missing), the loss curve (xor_loss.png) and
   the trained weights (xor_weights.npz).
"""

import os
import sys
import time

import minigrad
from minigrad.nn.datasets import xor
from minigrad.tools.draw import write_drawing
from minigrad.nn import MLP, ScalarMLP
from minigrad.nn.training import predict

from arguments import example_parser, parse  # the command line the examples share

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xor import compare_one_pattern, plot_loss  # noqa: E402  (the XOR example's helpers)


def write_graph(root, model, stem):
    """Render the graph to ``stem.svg``, or write its DOT text to ``stem.dot`` when graphviz's
    ``dot`` is missing (as ``python -m minigrad draw`` does); returns the path written."""
    written = write_drawing(root, stem + ".svg", params=model)
    if written != stem + ".svg":
        print(f"(graphviz's dot program is missing, so {stem}.svg was not rendered; wrote the DOT text instead)")
    return written


def main(argv=None):
    parser = example_parser("Train, check and draw the chapter's XOR network", "folder for the graph, loss plot and weights",
                            seed="seed for the weights and the pattern order")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parse(parser, argv)
    started = time.perf_counter()

    data = xor()
    model = MLP([2, 2, 2], alpha=1.0, seed=args.seed)
    print("Training the chapter's XOR net: 2 inputs, 2 hidden, 2 outputs, alpha = 1.0, eta = 0.5, online")
    result = minigrad.train(model, data.inputs, data.targets, mode="online", lr=0.5, threshold=0.04,
                            max_iterations=20000, seed=args.seed, quiet=args.quiet)
    print(result)
    print("pattern    desired      actual")
    for pattern, desired, actual in zip(data.inputs, data.targets, predict(model, data.inputs)):
        print(f"{pattern.astype(int)!s:<10} {desired.astype(int)!s:<12} [{actual[0]:.3f} {actual[1]:.3f}]")

    pattern, desired = data.inputs[1], data.targets[1]
    print("\nAutodiff against the chapter's formulas, pattern (0, 1) -> (1, 0):")
    compare_one_pattern(model, pattern, desired)

    written = []
    model.zero_grad()  # leaves accumulate: start the drawn pass from clean gradients
    loss = model.loss(pattern, desired)
    loss.backward()
    written.append(write_graph(loss, model, os.path.join(args.outdir, "xor_graph")))
    scalar = ScalarMLP.from_mlp(model)
    scalar_loss = scalar.loss(pattern, desired)
    scalar_loss.backward()
    written.append(write_graph(scalar_loss, scalar, os.path.join(args.outdir, "xor_graph_scalar")))
    model.zero_grad()

    plot_loss(result, os.path.join(args.outdir, "xor_loss.png"),
              f"XOR 2-2-2, α = 1, η = 0.5: {result.iterations} iterations")
    written.append(os.path.join(args.outdir, "xor_loss.png"))
    written.append(model.save(os.path.join(args.outdir, "xor_weights.npz")))
    print("\nwrote " + ", ".join(written))
    print(f"demo finished in {time.perf_counter() - started:.1f} s")
    return 0 if result.converged else 1


if __name__ == "__main__":
    sys.exit(main())
