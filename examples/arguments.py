"""The command line every example shares: an output folder, and a seed and --fast where it has them."""

import argparse
import os


def example_parser(description, outdir, seed=None, fast=None):
    """An ArgumentParser with the positional ``outdir`` (``outdir`` is its help text), and
    ``--seed`` (an int, default 0) and ``--fast`` (a switch for tests) where their help is given."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("outdir", help=outdir)
    if seed is not None:
        parser.add_argument("--seed", type=int, default=0, help=seed)
    if fast is not None:
        parser.add_argument("--fast", action="store_true", help=fast)
    return parser


def parse(parser, argv):
    """The parsed arguments, once the output folder exists."""
    args = parser.parse_args(argv)
    os.makedirs(args.outdir, exist_ok=True)
    return args
