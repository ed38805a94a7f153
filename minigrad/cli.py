"""The ``minigrad`` command line (also ``python -m minigrad``).

Every subcommand builds the chapter's network from the same options
(``--layers 2 2 2 --alpha 1.0 --seed 0``) with `minigrad.nn.example_network`
and drives one tool through its public API:

    minigrad compare  --layers 2 2 2            autodiff beside the chapter's formulas
    minigrad explain  --weight w --index 0 1    the chain rule, path by path
    minigrad draw     --out graph.svg           the graph after one backward pass
    minigrad explore  --out explore.html        a page that steps through forward and backward
    minigrad check    mine.py:dSSE_dv --weight v  your own derivation, graded against autodiff
                      [--cases N] [--time-limit SECONDS]
    minigrad compile  --layers 2 2 2 [--eta η]  the code minigrad.compile generates for the net

A bad argument prints one line, ``minigrad COMMAND: ...``, to stderr and
exits with status 2, before any work is done.  The library never imports
this module: dependencies point one way, core → tools → command line.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sys

import numpy as np

from . import nn
from ._version import __version__
from .core import checks
from .tools.grading import DEFAULT_RANDOM_CASES, DEFAULT_TOLERANCE, DerivationError, check_derivation
from .tools.time_limit import DEFAULT_TIME_LIMIT, call_learner, when_stuck
from .tools import backward_rules
from .tools.compare import compare
from .compiler.step import compile as compile_step
from .tools.draw import DEFAULT_MAX_NODES, FILE_FORMATS, DotNotFoundError, file_format, write_drawing
from .tools.explain import PathExplosionError, explain
from .tools.explore import explore
from .optim.optimizers import SGD
from .core.value import sse

#: The most weights and biases each subcommand takes on (past them the output
#: would be unreadable, or the run would take minutes and gigabytes).
MAX_PARAMETERS = {"compare": 10_000, "explain": 1_000_000, "draw": 1_000_000, "explore": 1_000_000,
                  "check": 2_000, "compile": 1_000_000}

#: The most weights and biases of a net built weight by weight (--scalar):
#: each one is a Value with a graph of its own, some 2 KB and 20 µs apiece.
MAX_SCALAR_PARAMETERS = 10_000

#: The most layer sizes --layers takes (each layer adds nodes to draw and walk).
MAX_LAYERS = 1_000

#: The most random networks ``check --cases`` tries: each is a graph, its gradient and its chain rule read
#: off element by element (some 40 KB, and up to seconds on the largest nets); six pin every mistake down.
MAX_RANDOM_CASES = 100

# Nets with at most this many weights and biases are drawn weight by weight.
SCALAR_DRAWING_LIMIT = 40


class UsageError(Exception):
    """A bad argument: printed as one line, exit status 2."""


def _integer(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None


def _real(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None


def _checked(parse, check, **bounds):
    """An argparse type: the text parsed, then checked by `minigrad.core.checks`; a refusal restates the
    check's requirement beside the text as typed (``must be finite and > 0, got 1e400``)."""
    def convert(text):
        value = parse(text)
        try:
            return check(value, "value", "minigrad", **bounds)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(f"{error.requirement}, got {text}") from None
    return convert


_positive_int = _checked(_integer, checks.integer, minimum=1)
_non_negative_int = _checked(_integer, checks.integer, minimum=0)
_gain = _checked(_real, checks.positive_real)
_tolerance = _checked(_real, checks.non_negative_real)
_seconds = _checked(_real, checks.positive_real)
_random_cases = _checked(_integer, checks.integer, minimum=0, maximum=MAX_RANDOM_CASES)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``minigrad draw: --alpha: must be ...``), status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: {message.removeprefix('argument ')}\n")


def _network_arguments(parser):
    parser.add_argument("--layers", type=_positive_int, nargs="+", default=[2, 2, 2], metavar="N",
                        help="layer sizes, inputs first (default: 2 2 2, the chapter's XOR net)")
    parser.add_argument("--alpha", type=_gain, default=1.0, help="the sigmoid's gain α, finite and > 0 (default 1.0)")
    parser.add_argument("--seed", type=_non_negative_int, default=0,
                        help="seed for the weights and the pattern, ≥ 0 (default 0)")
    parser.add_argument("--no-bias", dest="bias", action="store_false", help="leave out the bias vectors")


def _check_network(args, command, hidden_layers=None, scalar=False):
    """Refuse a net the command cannot show, from --layers alone (nothing is built);
    returns its count of weights and biases."""
    layers = args.layers
    if len(layers) < 2:
        raise UsageError(f"--layers needs at least two sizes (inputs ... outputs), got {layers}")
    if hidden_layers is not None and len(layers) != hidden_layers + 2:
        raise UsageError(f"the chapter's formulas cover exactly one hidden layer: --layers needs three sizes "
                         f"(inputs hidden outputs), got {len(layers)}: {layers}")
    if len(layers) > MAX_LAYERS:
        raise UsageError(f"--layers has {len(layers):,} sizes; {command} takes at most {MAX_LAYERS:,}")
    count = sum(n_in * n_out + (n_out if args.bias else 0) for n_in, n_out in zip(layers, layers[1:]))
    limit = MAX_PARAMETERS[command]
    if count > limit:
        raise UsageError(f"--layers {_shown(layers)} has {count:,} weights and biases; "
                         f"{command} takes at most {limit:,}")
    if scalar and count > MAX_SCALAR_PARAMETERS:
        raise UsageError(f"--scalar builds every weight as its own Value; --layers {_shown(layers)} has {count:,} "
                         f"weights and biases, at most {MAX_SCALAR_PARAMETERS:,} are built that way "
                         "(leave out --scalar)")
    return count


def _shown(layers):
    """--layers as typed, shortened when there are many sizes."""
    sizes = [str(size) for size in layers]
    return " ".join(sizes) if len(sizes) <= 8 else f"{' '.join(sizes[:3])} ... {' '.join(sizes[-2:])}"


# ---------------------------------------------------------------------------
# minigrad compare
# ---------------------------------------------------------------------------

COMPARE_HELP = "compare reverse mode with the chapter's hand-derived gradients (Eq. 6.30 and the w[i,h] formula)"


def _compare_arguments(parser):
    parser.add_argument("--tolerance", type=_tolerance, default=1e-10,
                        help="largest relative difference accepted, ≥ 0 (default 1e-10)")
    parser.add_argument("--scalar", action="store_true",
                        help="differentiate the network built weight by weight from scalar Values")


def run_compare(args):
    _check_network(args, "compare", hidden_layers=1)
    result = compare(sizes=tuple(args.layers), alpha=args.alpha, seed=args.seed, bias=args.bias,
                     scalar=args.scalar, tolerance=args.tolerance)
    print(result)
    return 0 if result.ok else 1


# ---------------------------------------------------------------------------
# minigrad explain
# ---------------------------------------------------------------------------

EXPLAIN_HELP = "list every chain-rule path from the loss to one weight, factor by factor, beside its gradient"


def _explain_arguments(parser):
    parser.add_argument("--weight", choices=("v", "w", "bias_output", "bias_hidden"), default="v",
                        help="which parameter (default v, the hidden→output weights of Eq. 6.30)")
    parser.add_argument("--index", type=_non_negative_int, nargs="+", default=None, metavar="K",
                        help="the element, e.g. --index 1 0 for v[1,0] (default: the first element)")
    parser.add_argument("--scalar", action="store_true",
                        help="build the network weight by weight from scalar Values (nodes named as in the chapter)")
    parser.add_argument("--latex", action="store_true", help="also print the chain rule as LaTeX")


def run_explain(args):
    _check_network(args, "explain", hidden_layers=1, scalar=args.scalar)
    if args.weight.startswith("bias") and not args.bias:
        raise UsageError(f"--weight {args.weight} needs the biases (drop --no-bias)")
    inputs_count, hidden, outputs = args.layers
    shape = {"w": (inputs_count, hidden), "v": (hidden, outputs),
             "bias_hidden": (hidden,), "bias_output": (outputs,)}[args.weight]
    index = tuple(args.index) if args.index is not None else (0,) * len(shape)
    if len(index) != len(shape):
        raise UsageError(f"--index {' '.join(map(str, index))}: --weight {args.weight} of shape {shape} needs "
                         f"{len(shape)} index value{'s' if len(shape) > 1 else ''}, got {len(index)}")
    if any(k >= size for k, size in zip(index, shape)):
        raise UsageError(f"--index {' '.join(map(str, index))} is out of range for {args.weight} of shape {shape}")
    net, inputs, desired = nn.example_network(args.layers, alpha=args.alpha, seed=args.seed, bias=args.bias,
                                              scalar=args.scalar)
    parameter = getattr(net, args.weight)
    if args.scalar:
        for k in index:
            parameter = parameter[k]
        explanation = explain(net.loss(inputs, desired), parameter)
    else:
        explanation = explain(net.loss(inputs, desired), parameter, index)
    print(explanation)
    if args.latex:
        print()
        print(explanation.to_latex())
    return 0 if explanation.agrees() else 1


# ---------------------------------------------------------------------------
# minigrad draw
# ---------------------------------------------------------------------------

DRAW_HELP = ("draw the chapter's network after one forward and backward pass: "
             "values and gradients on every node (SVG, PNG, PDF or DOT)")


def _draw_arguments(parser):
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="where to write the picture (default: graph.FORMAT)")
    parser.add_argument("--format", choices=FILE_FORMATS, default=None,
                        help="file format (default: from --out's suffix, else svg); dot writes DOT text")
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--scalar", dest="scalar", action="store_const", const=True, default=None,
                      help="draw the net weight by weight (w[0,1], H_1, A_0, ...); the default for nets "
                           f"with at most {SCALAR_DRAWING_LIMIT} weights and biases")
    view.add_argument("--tensor", dest="scalar", action="store_const", const=False,
                      help="draw the net with one node per weight matrix (the default for bigger nets)")
    parser.add_argument("--rankdir", choices=("LR", "TB"), default="LR", help="layout direction (default LR)")
    parser.add_argument("--highlight", metavar="PARAMETER", default=None,
                        help="colour the chain-rule paths from the loss to one parameter, e.g. 'v[1,0]'")
    parser.add_argument("--max-nodes", type=_positive_int, default=DEFAULT_MAX_NODES,
                        help=f"beyond this many nodes draw a summary (default {DEFAULT_MAX_NODES})")


def run_draw(args):
    """Build the network, run forward and backward, write the picture.

    Returns 0 once the picture is written (also when graphviz's ``dot`` is
    missing and the DOT text is written instead, with a note on stderr).
    """
    count = _check_network(args, "draw", scalar=bool(args.scalar))
    scalar = args.scalar if args.scalar is not None else count <= SCALAR_DRAWING_LIMIT
    if args.out is not None and not args.out.strip():
        raise UsageError(f"--out: must name a file, got {args.out!r}")
    out = args.out or f"graph.{args.format or 'svg'}"
    try:
        chosen_format = file_format(out, args.format, format_option="--format")
    except ValueError as error:
        raise UsageError(_without_prefix(error)) from None
    net, inputs, desired = nn.example_network(args.layers, args.alpha, args.seed, args.bias, scalar=scalar)
    loss = net.loss(inputs, desired)
    loss.backward()
    options = dict(params=net.named_parameters(), rankdir=args.rankdir, max_nodes=args.max_nodes)
    if args.highlight is not None:
        try:
            options["highlight"] = _chain_rule_nodes(loss, net, args.highlight)
        except (ValueError, IndexError, PathExplosionError) as error:
            raise UsageError(f"--highlight {args.highlight}: {_without_prefix(error)}") from None
    try:
        written = write_drawing(loss, out, format=chosen_format, **options)
    except OSError as error:
        raise UsageError(_without_prefix(error)) from None
    if written != out:
        print(f"graphviz's `dot` program is missing, so {out} was not rendered; wrote the DOT text to "
              f"{written} instead. Install graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew "
              "install graphviz; conda: conda install -c conda-forge graphviz).", file=sys.stderr)
        return 0
    print(f"wrote {out}")
    return 0


def _without_prefix(error):
    """An error's message without the ``draw: `` or ``explain: `` its function put first."""
    return re.sub(r"^(draw|explain|compare|explore): ", "", str(error))


def _chain_rule_nodes(loss, net, parameter_name):
    """The explanation of one parameter, named as in named_parameters, with an
    element index for a tensor parameter (``v[1,0]``): what --highlight colours."""
    parameters = dict(net.named_parameters())
    index = None
    if parameter_name in parameters:
        parameter = parameters[parameter_name]
    else:
        match = re.match(r"^(.*)\[([-\d,\s]+)\]$", parameter_name)
        if not match or match.group(1) not in parameters:
            raise ValueError(f"no parameter named {parameter_name!r}; choose from {', '.join(parameters)}")
        parameter = parameters[match.group(1)]
        parts = [part.strip() for part in match.group(2).split(",")]
        if not all(re.fullmatch(r"-?\d+", part) for part in parts):
            raise ValueError(f"{parameter_name!r} is not a parameter name with an index such as 'v[1,0]'")
        index = tuple(int(part) for part in parts)
        if any(k < 0 for k in index):
            raise ValueError(f"index {index} has a negative entry; count from 0")
    return explain(loss, parameter, index)


# ---------------------------------------------------------------------------
# minigrad explore
# ---------------------------------------------------------------------------

EXPLORE_HELP = ("write one self-contained HTML page that steps through the chapter's network: the forward "
                "pass, then the backward pass in the engine's order; click a weight for its chain rule")


def _explore_arguments(parser):
    parser.add_argument("--out", default="explore.html", metavar="FILE",
                        help="where to write the page, ending in .html (default explore.html)")
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--scalar", dest="scalar", action="store_const", const=True, default=None,
                      help="build the net weight by weight (w[0,1], H_1, A_0, ...); the default for nets "
                           f"with at most {SCALAR_DRAWING_LIMIT} weights and biases")
    view.add_argument("--tensor", dest="scalar", action="store_const", const=False,
                      help="build the net with one node per weight matrix (the default for bigger nets)")
    parser.add_argument("--rankdir", choices=("LR", "TB"), default="TB", help="layout direction (default TB: the graph fits beside the side panel)")
    parser.add_argument("--max-nodes", type=_positive_int, default=DEFAULT_MAX_NODES,
                        help=f"beyond this many nodes show a summary and do not step (default {DEFAULT_MAX_NODES})")
    parser.add_argument("--mode", choices=("reverse", "forward", "both"), default="reverse",
                        help="reverse: forward pass then backward (default); forward: forward mode's tangents; "
                             "both: forward mode, then backward, side by side with the cost of each")


def run_explore(args):
    """Build the network, make the page (one forward and backward pass), write it.

    Returns 0 once the page is written, 1 when graphviz's ``dot`` is missing.
    """
    count = _check_network(args, "explore", scalar=bool(args.scalar))
    scalar = args.scalar if args.scalar is not None else count <= SCALAR_DRAWING_LIMIT
    if not args.out.strip():
        raise UsageError(f"--out: must name a file, got {args.out!r}")
    if not args.out.lower().endswith((".html", ".htm")):
        raise UsageError(f"--out: the page is HTML; give a file name ending in .html, got {args.out!r}")
    net, inputs, desired = nn.example_network(args.layers, args.alpha, args.seed, args.bias, scalar=scalar)
    try:
        page = explore(net.loss(inputs, desired), params=net.named_parameters(), rankdir=args.rankdir,
                       max_nodes=args.max_nodes, mode=args.mode)
    except DotNotFoundError as error:
        print(f"minigrad explore: {_without_prefix(error)}", file=sys.stderr)
        return 1
    try:
        page.save(args.out)
    except OSError as error:
        raise UsageError(_without_prefix(error)) from None
    print(f"wrote {args.out}: open it in a browser (→ steps, ← goes back; click a weight for its chain rule)")
    return 0


# ---------------------------------------------------------------------------
# minigrad check
# ---------------------------------------------------------------------------

CHECK_HELP = ("grade your own derivation of a gradient against autodiff, on the given network and random ones, "
              "and say which factor of the chain rule went wrong")


def _check_arguments(parser):
    parser.add_argument("target", metavar="FILE:FUNCTION",
                        help="your formula: a Python file and the function in it that takes q (one forward pass, "
                             "in the chapter's names) and returns the gradient, e.g. my_derivation.py:my_dSSE_dv")
    parser.add_argument("--weight", choices=("v", "w", "bias_output", "bias_hidden"), default="v",
                        help="which gradient your function computes (default v, Eq. 6.30)")
    parser.add_argument("--tolerance", type=_tolerance, default=DEFAULT_TOLERANCE,
                        help=f"largest relative difference accepted, ≥ 0 (default {DEFAULT_TOLERANCE:g})")
    parser.add_argument("--cases", type=_random_cases, default=DEFAULT_RANDOM_CASES,
                        help=f"random networks tried besides the given one, 0 to {MAX_RANDOM_CASES} "
                             f"(default {DEFAULT_RANDOM_CASES})")
    parser.add_argument("--time-limit", type=_seconds, default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                        help=f"seconds your function may take on one case before it is stopped, finite and > 0 "
                             f"(default {DEFAULT_TIME_LIMIT:g}); loading the file gets the same limit")


def _learner_function(target, time_limit):
    """The function FUNCTION of the Python file FILE, loaded by path (within ``time_limit`` seconds); a
    UsageError for anything missing, and for a file that raises anything, ``sys.exit`` included, as it loads."""
    path, colon, name = target.rpartition(":")
    if not colon or not path or not name:
        raise UsageError(f"expected FILE:FUNCTION, e.g. my_derivation.py:my_dSSE_dv; got {target!r}")
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such file")
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    spec = importlib.util.spec_from_file_location(f"minigrad_check_{stem}", path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = os.path.dirname(os.path.abspath(path))
    sys.path.insert(0, folder)  # so the file can import its neighbours
    try:
        loaded = call_learner(spec.loader.exec_module, module, seconds=time_limit, caller="check")
    finally:
        if sys.path and sys.path[0] == folder:
            del sys.path[0]
    error = loaded.error
    if loaded.timed_out:
        raise UsageError(f"could not load {path}: it did not finish loading within {time_limit:g} s (an endless "
                         "loop at the top level of the file?)")
    if isinstance(error, SyntaxError):
        raise UsageError(f"could not load {path}: SyntaxError at line {error.lineno}: {error.msg}")
    if isinstance(error, SystemExit):
        raise UsageError(f"could not load {path}: it called sys.exit({error.code!r}) while loading; a file to check "
                         "defines functions, it does not end the program")
    if error is not None:  # the learner's module: one line, not its traceback
        raise UsageError(f"could not load {path}: {type(error).__name__}: {error}")
    function = getattr(module, name, None)
    if function is None:
        defined = sorted(key for key, value in vars(module).items()
                         if callable(value) and getattr(value, "__module__", None) == module.__name__)
        raise UsageError(f"{path} has no function {name!r}" + (f"; it defines {', '.join(defined)}" if defined else ""))
    if not callable(function):
        raise UsageError(f"{path}: {name} is not a function (it is {type(function).__name__} {function!r:.40})")
    return function


def run_check(args):
    """Exit 0 when the formula agrees with autodiff in every case; 1, with the diagnosis, when it does not."""
    _check_network(args, "check", hidden_layers=1)
    if args.weight.startswith("bias") and not args.bias:
        raise UsageError(f"--weight {args.weight} needs the biases (drop --no-bias)")
    function = _learner_function(args.target, args.time_limit)
    net, inputs, desired = nn.example_network(args.layers, alpha=args.alpha, seed=args.seed, bias=args.bias)

    def give_up(seconds):
        # NOTE: runs in a watchdog thread; the main thread is stuck in the learner's code, so end the process.
        print(f"cannot grade {args.target}: your function did not return within {seconds:g} s, and it could not be "
              "stopped (does it catch every exception, even the one that stops it, and loop again?)", flush=True)
        os._exit(1)

    try:
        with when_stuck(give_up):
            report = check_derivation(function, net, wrt=args.weight, inputs=inputs, desired=desired,
                                      random_cases=args.cases, seed=args.seed, tolerance=args.tolerance,
                                      time_limit=args.time_limit)
    except DerivationError as error:
        print(f"cannot grade {args.target}: {error}")
        return 1
    print(report)
    return 0 if report.ok else 1


# ---------------------------------------------------------------------------
# minigrad check-backward
# ---------------------------------------------------------------------------

CHECK_BACKWARD_HELP = ("check your own backward rule (a minigrad.Function) against central differences of its "
                       "forward, on random inputs and shapes, and name the mistake when it is wrong")


def _shape(text):
    """'2,3' -> (2, 3); '' or '()' -> ()."""
    text = text.strip().strip("()")
    try:
        shape = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a shape such as 2,3 or 5 (or () for a scalar), got {text!r}")
    if any(size < 1 for size in shape):
        raise argparse.ArgumentTypeError(f"axis lengths must be ≥ 1, got {text!r}")
    return shape


def _check_backward_arguments(parser):
    parser.add_argument("target", metavar="FILE:CLASS",
                        help="your op: a Python file and the minigrad.Function subclass in it, e.g. my_ops.py:Softplus")
    parser.add_argument("--shape", type=_shape, action="append", metavar="SHAPE",
                        help="the shape of one input, e.g. 2,3 (give it once per input, in order; default one "
                             "input of shape 2,3)")
    parser.add_argument("--low", type=_real, default=-2.0, help="smallest input number drawn (default -2)")
    parser.add_argument("--high", type=_real, default=2.0, help="largest input number drawn (default 2)")
    parser.add_argument("--tolerance", type=_gain, default=backward_rules.DEFAULT_TOLERANCE,
                        help=f"largest difference accepted, relative to max(1, the largest number), > 0 "
                             f"(default {backward_rules.DEFAULT_TOLERANCE:g})")
    parser.add_argument("--cases", type=_random_cases, default=backward_rules.DEFAULT_RANDOM_CASES,
                        help=f"random cases per set of shapes, 0 to {MAX_RANDOM_CASES} "
                             f"(default {backward_rules.DEFAULT_RANDOM_CASES})")
    parser.add_argument("--time-limit", type=_seconds, default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                        help=f"seconds each call of your code may take, finite and > 0 (default {DEFAULT_TIME_LIMIT:g});"
                             " loading the file gets the same limit")


def run_check_backward(args):
    """Exit 0 when the backward rule agrees with central differences in every case; 1, with the diagnosis, if not."""
    from .core.function import Function

    if not args.low < args.high:
        raise UsageError(f"--low must be below --high, got {args.low:g} and {args.high:g}")
    function = _learner_function(args.target, args.time_limit)
    if not (isinstance(function, type) and issubclass(function, Function)):
        raise UsageError(f"{args.target}: {function.__name__ if hasattr(function, '__name__') else function!r} is not "
                         "a subclass of minigrad.Function (class Softplus(mg.Function): with staticmethods forward "
                         "and backward)")
    rng = np.random.default_rng(args.seed)
    inputs = tuple(rng.uniform(args.low, args.high, size=shape) for shape in (args.shape or [(2, 3)]))

    def give_up(seconds):
        # NOTE: runs in a watchdog thread; the main thread is stuck in the learner's code, so end the process.
        print(f"cannot check {args.target}: your code did not return within {seconds:g} s, and it could not be "
              "stopped (does it catch every exception, even the one that stops it, and loop again?)", flush=True)
        os._exit(1)

    with when_stuck(give_up):
        report = backward_rules.check_backward(function, inputs, random_cases=args.cases, seed=args.seed,
                                               tolerance=args.tolerance, time_limit=args.time_limit)
    print(report)
    return 0 if report.ok else 1


# ---------------------------------------------------------------------------
# minigrad compile
# ---------------------------------------------------------------------------

COMPILE_HELP = ("print the code minigrad.compile generates for the chapter's network: forward and backward "
                "for one pattern, each line with its formula")


def _compile_arguments(parser):
    parser.add_argument("--scalar", action="store_true",
                        help="the network built weight by weight from scalar Values (straight-line float code)")
    parser.add_argument("--no-fold", dest="fold", action="store_false",
                        help="keep constants (the seed 1, α) by name beside their formulas instead of folding them")
    parser.add_argument("--eta", type=_gain, default=None, metavar="η",
                        help="also write the chapter's update w ← w − η ∂SSE/∂w (SGD with lr η, finite and > 0) "
                             "into the replay")


def run_compile(args):
    """Trace the network's SSE for one seeded pattern and print the generated module."""
    _check_network(args, "compile", scalar=args.scalar)
    if args.eta is not None and args.scalar:
        raise UsageError("--eta writes SGD's update into the replay of array arguments; --scalar passes lists, "
                         "whose steps run SGD's own step(): leave out one of them")
    net, inputs, desired = nn.example_network(args.layers, args.alpha, args.seed, args.bias, scalar=args.scalar)
    if args.scalar:
        def SSE(I, Desired):  # noqa: N802, N803 - the chapter's names
            return sse(list(Desired), net(list(I)))

        arguments = ([float(item) for item in inputs], [float(item) for item in desired])
    else:
        def SSE(I, Desired):  # noqa: N802, N803
            return net.loss(I, Desired)

        arguments = (inputs, desired)
    optimizer = None if args.eta is None else SGD(net, lr=args.eta)
    print(compile_step(SSE, fold=args.fold, optimizer=optimizer).trace(*arguments).source, end="")
    return 0


# ---------------------------------------------------------------------------
# The parser
# ---------------------------------------------------------------------------

COMMANDS = {
    "compare": (COMPARE_HELP, _compare_arguments, run_compare),
    "explain": (EXPLAIN_HELP, _explain_arguments, run_explain),
    "draw": (DRAW_HELP, _draw_arguments, run_draw),
    "explore": (EXPLORE_HELP, _explore_arguments, run_explore),
    "check": (CHECK_HELP, _check_arguments, run_check),
    "check-backward": (CHECK_BACKWARD_HELP, _check_backward_arguments, run_check_backward),
    "compile": (COMPILE_HELP, _compile_arguments, run_compile),
}


def build_parser():
    parser = _Parser(prog="minigrad",
                     description="minigrad: reverse-mode autodiff built around the backpropagation chapter.")
    parser.add_argument("--version", action="version", version=f"minigrad {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name, (help_text, add_arguments, run) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _network_arguments(sub)
        add_arguments(sub)
        sub.set_defaults(run=run)
    return parser


# Options that take one number, which may start with a minus sign.
_NUMBER_OPTIONS = ("--alpha", "--tolerance", "--seed", "--max-nodes", "--cases", "--time-limit", "--eta", "--low",
                   "--high")


def _values_attached(argv):
    """``--alpha -inf`` as ``--alpha=-inf``.

    NOTE: argparse takes ``-inf``, ``-nan`` or ``-1e-3`` for an option of its
    own and says "--alpha: expected one argument"; attached, the value reaches
    the option's check, which says what is wrong with it.
    """
    argv = list(argv)
    joined = []
    index = 0
    while index < len(argv):
        item = argv[index]
        following = argv[index + 1] if index + 1 < len(argv) else None
        if item in _NUMBER_OPTIONS and following is not None and following.startswith("-") \
                and not following.startswith("--"):
            joined.append(f"{item}={following}")
            index += 2
        else:
            joined.append(item)
            index += 1
    return joined


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; returns its exit status (2 for a bad argument)."""
    try:
        # NOTE: parse_args would report a subcommand's unknown option as
        # "minigrad: ...", without the subcommand's name.
        args, unknown = build_parser().parse_known_args(_values_attached(sys.argv[1:] if argv is None else argv))
    except SystemExit as exit:  # argparse's own usage errors, and --help
        return exit.code if isinstance(exit.code, int) else 2
    try:
        if unknown:
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)}")
        return args.run(args)
    except UsageError as error:
        print(f"minigrad {args.command}: {' '.join(str(error).splitlines())}", file=sys.stderr)
        return 2
