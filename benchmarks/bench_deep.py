"""Benchmark 2: deep chains.

y = y * 1.0001 + 0.0, repeated `depth` times (two ops a step), then backward;
each run in its own subprocess with a timeout, so a crash or a RecursionError
costs one cell of the table.  Reports works/fails, build and backward time and
the child's peak memory, for minigrad, micrograd and PyTorch.

Run: python benchmarks/bench_deep.py [--depths 1000 10000 100000 1000000] [--timeout 300]
"""

from __future__ import annotations

import os

# NOTE: one BLAS thread for every library, set before numpy loads: on a shared
# 2-core machine OpenBLAS's spinning threads can make a small matmul 100x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import available, print_table  # noqa: E402

CHILD = r"""
import json, resource, sys, time
# Python's default recursion limit (1000), as users run it.
library, depth = sys.argv[1], int(sys.argv[2])
start = time.perf_counter()
if library == "minigrad":
    import minigrad as mg
    x = y = mg.Value(1.0)
elif library == "micrograd":
    from micrograd.engine import Value
    x = y = Value(1.0)
else:
    import torch
    torch.set_num_threads(1)
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    y = x
start = time.perf_counter()
for _ in range(depth):
    y = y * 1.0001 + 0.0
built = time.perf_counter()
y.backward()
done = time.perf_counter()
grad = float(x.grad)
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"build": built - start, "backward": done - built, "peak_mib": peak_kib / 1024, "grad": grad}))
"""


def run_child(library, depth, timeout):
    try:
        completed = subprocess.run([sys.executable, "-c", CHILD, library, str(depth)], capture_output=True, text=True,
                                   timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout >{timeout}s"}
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["exit code %d" % completed.returncode])[-1]
        return {"status": "fails: " + last[:60]}
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    expected = 1.0001 ** depth
    result["status"] = "works" if abs(result["grad"] - expected) <= 1e-9 * expected else "WRONG gradient"
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depths", type=int, nargs="+", default=[1_000, 10_000, 100_000, 1_000_000])
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    libraries = ["minigrad"]
    for library, module in (("micrograd", "micrograd.engine"), ("torch", "torch")):
        if available(module) is None:
            print(f"note: {library} is not installed; skipped")
        else:
            libraries.append(library)
    rows, results = [], {}
    for depth in args.depths:
        for library in libraries:  # interleaved by depth
            result = run_child(library, depth, args.timeout)
            results[(library, depth)] = result
            if "build" in result:
                rows.append([library, f"{depth:,}", result["status"], f"{result['build']:.2f}",
                             f"{result['backward']:.2f}", f"{result['build'] + result['backward']:.2f}",
                             f"{result['peak_mib']:.0f}"])
            else:
                rows.append([library, f"{depth:,}", result["status"], "-", "-", "-", "-"])
    print_table("Deep chain y = y * 1.0001 + 0.0 (2 ops a step), build + backward, one subprocess each",
                ["library", "depth", "result", "build s", "backward s", "total s", "peak MiB"], rows)
    deepest = max(args.depths)
    ours = results[("minigrad", deepest)]
    if "build" in ours:
        line = (f"summary: minigrad at depth {deepest:,}: {ours['build'] + ours['backward']:.1f} s, "
                f"{ours['peak_mib']:.0f} MiB peak")
        theirs = results.get(("torch", deepest), {})
        if "build" in theirs:
            ratio = (ours["build"] + ours["backward"]) / (theirs["build"] + theirs["backward"])
            line += (f"; PyTorch {theirs['build'] + theirs['backward']:.1f} s, {theirs['peak_mib']:.0f} MiB "
                     f"(time ratio {ratio:.2f}; goal ≤ 1.0 and ≤ 1024 MiB)")
        print("\n" + line)
    else:
        print(f"\nsummary: minigrad at depth {deepest:,}: {ours['status']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
