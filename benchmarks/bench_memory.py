"""Benchmark 4: memory.

(a) Resident memory over many training steps of a 64-32-10 sigmoid MLP
    (batch 32, SGD): it must not grow.  minigrad beside PyTorch.
(b) A graph is freed as soon as its loss is dropped, by reference counting
    alone (garbage collector disabled): checked with weak references, for
    minigrad and, as the peer, micrograd (whose closures form reference cycles).

Run: python benchmarks/bench_memory.py [--steps 10000]
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import gc
import sys
import weakref
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tensor import make_problem, minigrad_setup, minigrad_step, torch_setup, torch_step  # noqa: E402
from harness import available, print_table  # noqa: E402

import minigrad as mg  # noqa: E402


def resident_mib():
    """Current resident set size of this process (Linux /proc; else peak RSS)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_over_steps(step, steps, samples=10):
    """RSS (MiB) after each tenth of the run."""
    readings = []
    for index in range(1, steps + 1):
        step()
        if index % max(steps // samples, 1) == 0:
            readings.append(resident_mib())
    return readings


def minigrad_graph_is_freed():
    w = mg.Value(np.random.default_rng(0).standard_normal((4, 4)))
    loss = mg.sse(np.zeros((2, 4)), (np.ones((2, 4)) @ w).sigmoid())
    loss.backward()
    probe = weakref.ref(loss.parents[1])  # an intermediate node
    del loss
    return probe() is None


def micrograd_graph_is_freed(micrograd):
    x = micrograd.Value(0.5)
    loss = (x * 2.0 + 1.0) ** 2
    loss.backward()
    probe = weakref.ref(loss._prev.copy().pop())
    del loss
    return probe() is None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    args = parser.parse_args(argv)

    layers, x, desired = make_problem((64, 32, 10), 32, np.float64)
    params, optimizer = minigrad_setup(layers)
    runs = {"minigrad": lambda: minigrad_step(params, optimizer, x, desired)}
    torch = available("torch")
    if torch is None:
        print("note: torch is not installed; skipped")
    else:
        torch.set_num_threads(1)
        torch_params, torch_optimizer = torch_setup(torch, layers)
        tx, tdesired = torch.tensor(x), torch.tensor(desired)
        runs["PyTorch"] = lambda: torch_step(torch, torch_params, torch_optimizer, tx, tdesired)

    rows, growth = [], {}
    for name, step in runs.items():
        for _ in range(50):  # warm up allocator pools before the first reading
            step()
        readings = rss_over_steps(step, args.steps)
        growth[name] = readings[-1] - readings[0]
        rows.append([name, f"{args.steps:,}", f"{readings[0]:.1f}", f"{max(readings):.1f}", f"{readings[-1]:.1f}",
                     f"{growth[name]:+.2f}"])
    print_table(f"Resident memory while training 64-32-10, batch 32, {args.steps:,} steps (MiB, process RSS)",
                ["library", "steps", "after 10%", "max", "at end", "growth"], rows)

    gc.disable()
    try:
        freed = {"minigrad": minigrad_graph_is_freed()}
        micrograd = available("micrograd.engine")
        if micrograd is not None:
            freed["micrograd"] = micrograd_graph_is_freed(micrograd)
    finally:
        gc.enable()
    print_table("Graph freed when the loss is dropped, garbage collector disabled (weak reference to a node)",
                ["library", "freed by reference counting"], [[k, "yes" if v else "no"] for k, v in freed.items()])
    verdict = "flat" if growth["minigrad"] < 1.0 else f"GROWS by {growth['minigrad']:.1f} MiB"
    print(f"\nsummary: minigrad RSS over {args.steps:,} steps: {verdict}; graph freed without GC: "
          f"{'yes' if freed['minigrad'] else 'NO'}")
    return 0 if freed["minigrad"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
