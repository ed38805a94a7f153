"""Benchmark 5: higher order and forward mode.

A 64-32-10 MLP (tanh hidden layer, the chapter's sigmoid at the output, the
SSE over a batch of 32), its four parameter arrays as the primals:

* the Hessian-vector product H·v, minigrad forward over reverse (the jvp of
  the gradient) and reverse over reverse, beside PyTorch at one thread
  (``torch.func.jvp`` of ``torch.func.grad``, and double backward) and HIPS
  autograd (the gradient of ∇f·v);
* forward mode: minigrad's ``jvp`` of the network's outputs along a direction
  t in the parameters, against the same product J·t by a VJP of a VJP:
  reverse mode twice, J·t = ∂(uᵀJ · t)/∂u.

Each library is checked against minigrad's numbers before it is timed;
medians of interleaved runs.  Goal: minigrad's hvp at most 2× PyTorch's time.

Run: python benchmarks/bench_higher.py [--repeats N]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import available, close, interleaved_medians, print_table  # noqa: E402

import minigrad as mg  # noqa: E402

SIZES = (64, 32, 10)
BATCH = 32


def make_problem(sizes=SIZES, batch=BATCH, seed=0):
    """(parameters, inputs, desired, directions): float64 arrays, seeded."""
    rng = np.random.default_rng(seed)
    inputs, hidden, outputs = sizes
    parameters = [rng.standard_normal((inputs, hidden)) / np.sqrt(inputs), rng.standard_normal(hidden) * 0.1,
                  rng.standard_normal((hidden, outputs)) / np.sqrt(hidden), rng.standard_normal(outputs) * 0.1]
    x = rng.standard_normal((batch, inputs))
    desired = (rng.random((batch, outputs)) < 0.5).astype(np.float64)
    directions = [rng.standard_normal(p.shape) for p in parameters]
    return parameters, x, desired, directions


# -- minigrad ------------------------------------------------------------------------------------


def minigrad_outputs(x):
    def outputs(w, bias_hidden, v, bias_output):
        return ((x @ w + bias_hidden).tanh() @ v + bias_output).sigmoid()
    return outputs


def minigrad_loss(x, desired):
    outputs = minigrad_outputs(x)

    def loss(*parameters):
        return mg.sse(desired, outputs(*parameters))
    return loss


def minigrad_hvp(problem, mode="forward-over-reverse"):
    parameters, x, desired, directions = problem
    loss = minigrad_loss(x, desired)
    return lambda: mg.hvp(loss, tuple(parameters), tuple(directions), mode=mode)[1]


def minigrad_jvp(problem):
    parameters, x, _, directions = problem
    return lambda: mg.jvp(minigrad_outputs(x), tuple(parameters), tuple(directions))[1]


def minigrad_jvp_by_vjp_of_vjp(problem):
    """J·t by reverse mode twice: g(u) = uᵀJ (one backward, create_graph), then ∂(g·t)/∂u = J·t."""
    parameters, x, _, directions = problem
    outputs = minigrad_outputs(x)

    def run():
        leaves = [mg.Value(p) for p in parameters]
        out = outputs(*leaves)
        u = mg.Value(np.zeros(out.shape))
        pulled = mg.grad(out, leaves, grad_outputs=u, create_graph=True)
        projected = sum((g * t).sum() for g, t in zip(pulled, directions))
        (product,) = mg.grad(projected, u)
        return product
    return run


# -- PyTorch and HIPS autograd ---------------------------------------------------------------------


def torch_functions(torch, problem):
    parameters, x, desired, directions = problem
    tp = tuple(torch.tensor(p) for p in parameters)
    tv = tuple(torch.tensor(d) for d in directions)
    tx, tdesired = torch.tensor(x), torch.tensor(desired)

    def outputs(w, bias_hidden, v, bias_output):
        return torch.sigmoid(torch.tanh(tx @ w + bias_hidden) @ v + bias_output)

    def loss(*params):
        return 0.5 * torch.sum((tdesired - outputs(*params)) ** 2)

    def forward_over_reverse():
        return torch.func.jvp(torch.func.grad(loss, argnums=(0, 1, 2, 3)), tp, tv)[1]

    def double_backward():
        leaves = [p.detach().requires_grad_(True) for p in tp]
        first = torch.autograd.grad(loss(*leaves), leaves, create_graph=True)
        return torch.autograd.grad(sum((g * d).sum() for g, d in zip(first, tv)), leaves)

    return forward_over_reverse, double_backward


def autograd_hvp(autograd, problem):
    anp = autograd.numpy
    parameters, x, desired, directions = problem

    def loss(params):
        w, bias_hidden, v, bias_output = params
        out = 1.0 / (1.0 + anp.exp(-(anp.tanh(anp.dot(x, w) + bias_hidden) @ v + bias_output)))
        return 0.5 * anp.sum((desired - out) ** 2)

    gradient = autograd.grad(loss)

    def projected(params):
        return sum(anp.sum(g * d) for g, d in zip(gradient(params), directions))

    product = autograd.grad(projected)
    return lambda: product(tuple(parameters))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)
    problem = make_problem()
    ours = minigrad_hvp(problem)()
    runs = {"minigrad hvp, forward over reverse": minigrad_hvp(problem),
            "minigrad hvp, reverse over reverse": minigrad_hvp(problem, "reverse-over-reverse")}
    if not all(close(a, b, rtol=1e-12) for a, b in zip(ours, runs["minigrad hvp, reverse over reverse"]())):
        print("error: minigrad's two hvp modes differ")
        return 1
    torch = available("torch")
    if torch is None:
        print("note: torch is not installed; skipped")
    else:
        torch.set_num_threads(1)
        for name, run in zip(("PyTorch hvp, forward over reverse (torch.func)", "PyTorch hvp, double backward"),
                             torch_functions(torch, problem)):
            if all(close(a, b.numpy(), rtol=1e-10) for a, b in zip(ours, run())):
                runs[name] = run
            else:
                print(f"note: {name} differs from minigrad; not timed")
    autograd = available("autograd")
    if autograd is None:
        print("note: autograd (HIPS) is not installed; skipped")
    else:
        run = autograd_hvp(autograd, problem)
        if all(close(a, b, rtol=1e-10) for a, b in zip(ours, run())):
            runs["HIPS autograd hvp (grad of grad·v)"] = run
        else:
            print("note: HIPS autograd differs from minigrad; not timed")
    times = interleaved_medians(runs, args.repeats)
    base = times["minigrad hvp, forward over reverse"]
    rows = [[name, f"{seconds * 1e3:.2f}", f"{seconds / base:.2f}"] for name, seconds in times.items()]
    print_table(f"Hessian-vector product, {'-'.join(map(str, SIZES))} MLP, batch {BATCH}, float64 "
                "(ms per product; ratio to minigrad forward over reverse)", ["library", "ms", "ratio"], rows)

    jvp, vjp_of_vjp = minigrad_jvp(problem), minigrad_jvp_by_vjp_of_vjp(problem)
    if not close(jvp(), vjp_of_vjp(), rtol=1e-12):
        print("error: jvp and the VJP of a VJP differ")
        return 1
    forward = interleaved_medians({"jvp (one forward sweep)": jvp, "VJP of a VJP (two backward sweeps)": vjp_of_vjp},
                                  args.repeats)
    base_jvp = forward["jvp (one forward sweep)"]
    print_table("J·t of the network's outputs along one direction in its parameters (ms; ratio to jvp)",
                ["method", "ms", "ratio"],
                [[name, f"{seconds * 1e3:.2f}", f"{seconds / base_jvp:.2f}"] for name, seconds in forward.items()])

    fastest = min(times["minigrad hvp, forward over reverse"], times["minigrad hvp, reverse over reverse"])
    torch_times = [seconds for name, seconds in times.items() if name.startswith("PyTorch")]
    if torch_times:
        ratio = fastest / min(torch_times)
        print(f"\nsummary: minigrad's hvp takes {ratio:.2f}× PyTorch's time at 1 thread (goal ≤ 2.0×): "
              f"{'met' if ratio <= 2.0 else 'NOT met'}; jvp takes "
              f"{base_jvp / forward['VJP of a VJP (two backward sweeps)']:.2f}× the VJP of a VJP")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
