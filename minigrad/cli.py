"""The ``minigrad`` command line (also ``python -m minigrad``).

Each subcommand lives beside the tool it drives: the module named in
`COMMANDS` provides ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
Every subcommand builds the chapter's network from the same options
(``--layers 2 2 2 --alpha 1.0 --seed 0``) with `example_network`.
"""

from __future__ import annotations

import argparse
import importlib

import numpy as np

COMMANDS = {
    "compare": "minigrad.compare",
    "explain": "minigrad.explain",
    "draw": "minigrad.drawing",
}


def add_network_arguments(parser):
    """The options shared by every subcommand that builds the chapter's network."""
    parser.add_argument("--layers", type=int, nargs="+", default=[2, 2, 2], metavar="N",
                        help="layer sizes, inputs first (default: 2 2 2, the chapter's XOR net)")
    parser.add_argument("--alpha", type=float, default=1.0, help="the sigmoid's gain α (default 1.0)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the weights and the pattern (default 0)")
    parser.add_argument("--no-bias", dest="bias", action="store_false", help="leave out the bias vectors")


def example_network(layers, alpha=1.0, seed=0, bias=True, scalar=False):
    """The chapter's network with seeded weights and one seeded pattern.

    Returns ``(net, inputs, desired)``: a `minigrad.nn.MLP` (or `ScalarMLP`
    when ``scalar``), inputs drawn from [0, 1) and a one-hot desired output.
    """
    from .nn import MLP, ScalarMLP

    rng = np.random.default_rng(seed)
    net_class = ScalarMLP if scalar else MLP
    net = net_class(layers, alpha=alpha, bias=bias, seed=rng)
    inputs = rng.random(layers[0])
    desired = np.zeros(layers[-1])
    desired[rng.integers(layers[-1])] = 1.0
    return net, inputs, desired


def build_parser():
    parser = argparse.ArgumentParser(
        prog="minigrad",
        description="minigrad: reverse-mode autodiff built around the backpropagation chapter.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = commands.add_parser(name, help=module.HELP, description=module.HELP)
        add_network_arguments(sub)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)
