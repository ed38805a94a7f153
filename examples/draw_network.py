"""Pictures of the chapter's 2-2-2 network for the README, drawn by minigrad.draw.

    python examples/draw_network.py OUTDIR [--seed 0] [--alpha 1.0]

Builds the seeded network of ``python -m minigrad draw`` weight by weight
(nodes named w[i,h], H_h, v[h,o], NdInpt_o, A_o), runs one forward and
backward pass, and writes to OUTDIR:

* network_2-2-2.svg: every value and gradient of the weight-by-weight net;
* network_2-2-2_tensor.svg: the same net with one node per weight matrix;
* chain_rule_v10.svg: the chain-rule paths from the SSE to v[1,0], as
  `minigrad.explain` finds them, in colour (Eq. 6.28: SSE → A_0 → NdInpt_0 → v[1,0]).

Needs graphviz's ``dot`` program (``make demo`` installs it).
"""

import argparse
import os
import sys

from minigrad.nn import example_network
from minigrad.drawing import DotNotFoundError, draw
from minigrad.explaining import explain


def forward_backward(scalar, seed, alpha):
    """The seeded chapter net, its SSE after one backward pass, and its named parameters."""
    net, inputs, desired = example_network([2, 2, 2], alpha=alpha, seed=seed, bias=True, scalar=scalar)
    loss = net.loss(inputs, desired)
    loss.backward()
    return net, loss


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", help="folder for the SVG files (e.g. docs)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights and the pattern (default 0)")
    parser.add_argument("--alpha", type=float, default=1.0, help="the sigmoid's gain α (default 1.0)")
    args = parser.parse_args(argv)
    os.makedirs(args.outdir, exist_ok=True)

    net, loss = forward_backward(scalar=True, seed=args.seed, alpha=args.alpha)
    tensor_net, tensor_loss = forward_backward(scalar=False, seed=args.seed, alpha=args.alpha)
    v10 = dict(net.named_parameters())["v[1,0]"]
    pictures = [
        ("network_2-2-2.svg", loss, {"params": net}),
        ("network_2-2-2_tensor.svg", tensor_loss, {"params": tensor_net}),
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
