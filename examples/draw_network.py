"""Pictures of the chapter's 2-2-2 network for the README, drawn by minigrad.draw.

    python examples/draw_network.py OUTDIR [--seed 0] [--alpha 1.0]

Builds the seeded network of ``python -m minigrad draw`` weight by weight
(nodes named w[i,h], H_h, v[h,o], NdInpt_o, A_o), runs one forward and
backward pass, and writes to OUTDIR:

* ten_lines.svg: the graph of the README's ten-line example, top to bottom
  (narrow enough to read at README width);
* network_2-2-2.svg: every value and gradient of the weight-by-weight net;
* network_2-2-2_tensor.svg: the same net with one node per weight matrix,
  top to bottom;
* chain_rule_v10.svg: the chain-rule paths from the SSE to v[1,0], as
  `minigrad.explain` finds them, in colour (Eq. 6.28: SSE → A_0 → NdInpt_0 → v[1,0]).

Needs graphviz's ``dot`` program (``make demo`` installs it).
"""

import os
import sys

import minigrad as mg
from minigrad.nn import example_network
from minigrad.tools.draw import DotNotFoundError, draw
from minigrad.tools.explain import explain

from arguments import example_parser, parse  # the command line the examples share


def forward_backward(scalar, seed, alpha):
    """The seeded chapter net, its SSE after one backward pass, and its named parameters."""
    net, inputs, desired = example_network([2, 2, 2], alpha=alpha, seed=seed, bias=True, scalar=scalar)
    loss = net.loss(inputs, desired)
    loss.backward()
    return net, loss


def ten_lines():
    """The README's ten-line example: the chapter's 2-2-2 net on one XOR pattern."""
    I = mg.Value([0.0, 1.0], requires_grad=False, name="I")
    w = mg.Value([[0.5, -0.3], [0.8, 0.2]], name="w")
    v = mg.Value([[0.1, -0.7], [0.4, 0.9]], name="v")
    H = (I @ w).sigmoid(alpha=1.0)
    A = (H @ v).sigmoid(alpha=1.0)
    H.name, A.name = "H", "A"
    loss = mg.sse([1.0, 0.0], A)
    loss.name = "SSE"
    loss.backward()
    return loss


def main(argv=None):
    parser = example_parser(__doc__.splitlines()[0], "folder for the SVG files (e.g. docs)",
                            seed="seed for the weights and the pattern (default 0)")
    parser.add_argument("--alpha", type=float, default=1.0, help="the sigmoid's gain α (default 1.0)")
    args = parse(parser, argv)

    net, loss = forward_backward(scalar=True, seed=args.seed, alpha=args.alpha)
    tensor_net, tensor_loss = forward_backward(scalar=False, seed=args.seed, alpha=args.alpha)
    v10 = dict(net.named_parameters())["v[1,0]"]
    pictures = [
        ("ten_lines.svg", ten_lines(), {"rankdir": "TB"}),
        ("network_2-2-2.svg", loss, {"params": net}),
        ("network_2-2-2_tensor.svg", tensor_loss, {"params": tensor_net, "rankdir": "TB"}),
        ("chain_rule_v10.svg", loss, {"params": net, "highlight": explain(loss, v10)}),
    ]
    try:
        for file_name, root, options in pictures:
            path = os.path.join(args.outdir, file_name)
            draw(root, path, **options)
            print(f"wrote {path}")
    except DotNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
