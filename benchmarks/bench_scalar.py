"""Benchmark 1: scalar graphs.

A 2-16-16-1 sigmoid MLP built from scalar nodes, trained as a user's loop
does: persistent parameters, constant inputs, one step = forward over 20
samples + SSE + backward + an SGD update (minigrad's own `optim.SGD`;
micrograd's `p.data -= lr * p.grad` idiom).  Reported in microseconds per
graph node, against micrograd (with a one-node sigmoid written in its own
style) and a pure-float forward pass (the floor: the arithmetic alone).

minigrad runs eager (the graph recorded every step) and compiled
(`minigrad.compile`: traced once, replayed as straight-line float code), with
the same persistent parameters and SGD; the time to trace and compile, and
after how many steps it is paid back, are printed.

Headline: the ratio with the garbage collector OFF, which measures the
engines' own work.  With the GC on, micrograd's cost depends on the size of
the live heap (its graphs are reference cycles, collected only by the GC), so
that ratio changes from one harness to the next; it is printed, with that
caveat.

Run: python benchmarks/bench_scalar.py [--repeats N]
"""

from __future__ import annotations

import os

# NOTE: one BLAS thread for every library, set before numpy loads: on a shared
# 2-core machine OpenBLAS's spinning threads can make a small matmul 100x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import available, close, interleaved_medians, print_table  # noqa: E402

import minigrad as mg  # noqa: E402

SIZES = (2, 16, 16, 1)
SAMPLES = 20


def make_problem(seed=0):
    rng = random.Random(seed)
    weights = [[[rng.uniform(-1, 1) for _ in range(n_out)] for _ in range(n_in)] for n_in, n_out in zip(SIZES, SIZES[1:])]
    biases = [[rng.uniform(-1, 1) for _ in range(n_out)] for n_out in SIZES[1:]]
    inputs = [[rng.uniform(-1, 1) for _ in range(SIZES[0])] for _ in range(SAMPLES)]
    desired = [rng.uniform(0, 1) for _ in range(SAMPLES)]
    return weights, biases, inputs, desired


def forward(weights, biases, x, sigmoid):
    """One pattern through the net; works for any number type with + and *."""
    activations = x
    for layer_weights, layer_biases in zip(weights, biases):
        outputs = []
        for j, bias in enumerate(layer_biases):
            total = bias
            for i, a in enumerate(activations):
                total = total + layer_weights[i][j] * a
            outputs.append(sigmoid(total))
        activations = outputs
    return activations[0]


def count_nodes(root):
    seen, stack = {root}, [root]
    while stack:
        for parent in stack.pop().parents:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return len(seen)


LEARNING_RATE = 0.01


def minigrad_setup(problem):
    weights, biases, _, _ = problem
    w = [[[mg.Value(x) for x in row] for row in layer] for layer in weights]
    b = [[mg.Value(x) for x in layer] for layer in biases]
    optimizer = mg.optim.SGD([v for layer in w for row in layer for v in row] + [v for layer in b for v in layer],
                             lr=LEARNING_RATE)
    return w, b, optimizer


def minigrad_step(problem, params, update=True):
    _, _, inputs, desired = problem
    w, b, optimizer = params
    outputs = [forward(w, b, x, lambda t: t.sigmoid()) for x in inputs]
    loss = mg.sse(desired, outputs)
    optimizer.zero_grad()
    loss.backward()
    if update:
        optimizer.step()
    return loss, w


def minigrad_compiled_setup(problem):
    """Parameters, SGD and the compiled step (no arguments: the inputs are constants)."""
    w, b, optimizer = minigrad_setup(problem)
    _, _, inputs, desired = problem

    def loss():
        return mg.sse(desired, [forward(w, b, x, lambda t: t.sigmoid()) for x in inputs])

    return w, b, optimizer, mg.compile(loss)


def minigrad_compiled_step(params, update=True):
    w, _, optimizer, step = params
    optimizer.zero_grad()
    loss = step()
    if update:
        optimizer.step()
    return loss, w


def micrograd_sigmoid(value_class):
    def sigmoid(self):
        s = 1.0 / (1.0 + math.exp(-self.data))
        out = value_class(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    return sigmoid


def micrograd_setup(problem, value_class):
    weights, biases, _, _ = problem
    w = [[[value_class(x) for x in row] for row in layer] for layer in weights]
    b = [[value_class(x) for x in layer] for layer in biases]
    return w, b


def micrograd_step(problem, params, sigmoid, update=True):
    _, _, inputs, desired = problem
    w, b = params
    loss = None
    for x, d in zip(inputs, desired):
        out = forward(w, b, x, sigmoid)
        term = (out - d) ** 2
        loss = term if loss is None else loss + term
    loss = loss * 0.5
    parameters = [v for layer in w for row in layer for v in row] + [v for layer in b for v in layer]
    for p in parameters:
        p.grad = 0.0
    loss.backward()
    if update:
        for p in parameters:
            p.data -= LEARNING_RATE * p.grad
    return loss, w


def float_forward(problem):
    weights, biases, inputs, desired = problem
    sigmoid = lambda t: 1.0 / (1.0 + math.exp(-t))  # noqa: E731
    return 0.5 * sum((d - forward(weights, biases, x, sigmoid)) ** 2 for x, d in zip(inputs, desired))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    problem = make_problem()

    # One step without the update, to check both engines against the floor and each other.
    loss, w = minigrad_step(problem, minigrad_setup(problem), update=False)
    nodes = count_nodes(loss)
    params = minigrad_setup(problem)
    candidates = {"minigrad": lambda: minigrad_step(problem, params),
                  "float forward (floor)": lambda: float_forward(problem)}
    assert abs(float_forward(problem) - loss.item()) < 1e-12

    compiled_params = minigrad_compiled_setup(problem)
    started = time.perf_counter()
    compiled_loss, compiled_w = minigrad_compiled_step(compiled_params, update=False)
    first_call = time.perf_counter() - started  # trace, generate, compile, check the code, and the step
    eager_grads = [v.grad for layer in w for row in layer for v in row]
    if compiled_loss.item() != loss.item() or [v.grad for layer in compiled_w for row in layer for v in row] \
            != eager_grads:
        raise SystemExit("compiled minigrad disagrees with eager minigrad: refusing to time anything")
    candidates["minigrad compiled"] = lambda: minigrad_compiled_step(compiled_params)

    micrograd = available("micrograd.engine")
    if micrograd is None:
        print("note: micrograd is not installed (pip install micrograd); skipped")
    else:
        value_class = micrograd.Value
        sigmoid = micrograd_sigmoid(value_class)
        their_loss, their_w = micrograd_step(problem, micrograd_setup(problem, value_class), sigmoid, update=False)
        ours = [v.grad for layer in w for row in layer for v in row]
        theirs = [v.grad for layer in their_w for row in layer for v in row]
        if close(their_loss.data, loss.item()) and close(theirs, ours):
            their_params = micrograd_setup(problem, value_class)
            candidates["micrograd"] = lambda: micrograd_step(problem, their_params, sigmoid)
        else:
            print("note: micrograd's loss or gradients differ from minigrad's; not timed")

    rows = []
    results = {}
    for gc_enabled in (True, False):
        medians = interleaved_medians(candidates, args.repeats, gc_enabled=gc_enabled)
        results[gc_enabled] = medians
        for name, seconds in medians.items():
            ratio = seconds / medians["minigrad"]
            rows.append([name, "on" if gc_enabled else "off", f"{seconds * 1e3:.2f}",
                         f"{seconds / nodes * 1e6:.3f}", f"{ratio:.2f}"])
    print_table(f"Scalar graph: {'-'.join(map(str, SIZES))} sigmoid MLP, {SAMPLES} samples, "
                f"forward + SSE + backward + SGD step, {nodes} minigrad nodes (medians of {args.repeats})",
                ["implementation", "gc", "ms", "µs per node", "× minigrad"], rows)
    saved = results[False]["minigrad"] - results[False]["minigrad compiled"]
    print(f"\nminigrad.compile: the first call (trace, generate, compile, check the code, run) took "
          f"{first_call:.2f} s; each later call saves {saved * 1e3:.2f} ms over eager mode, so it pays off after "
          f"{first_call / saved:.0f} steps" if saved > 0 else "\nminigrad.compile: no faster than eager here")
    if "micrograd" in candidates:
        on, off = (results[flag]["minigrad"] / results[flag]["micrograd"] for flag in (True, False))
        print(f"\nsummary: with the GC off (the engines' own work), minigrad takes {off:.2f}× micrograd's time per "
              f"step (goal ≤ 1.0×), {results[False]['minigrad'] / nodes * 1e6:.2f} µs per node; with the GC on "
              f"{on:.2f}× (micrograd's GC cost grows with the live heap, so this figure depends on the harness)")
        compiled = results[False]["minigrad compiled"] / results[False]["micrograd"]
        print(f"summary: compiled, with the GC off, minigrad takes {compiled:.3f}× micrograd's time per node "
              f"(goal ≤ 0.1×), {results[False]['minigrad compiled'] / nodes * 1e6:.3f} µs per node")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
