"""Benchmark 6: minigrad on PyTorch CPU tensors (an Array API library) beside minigrad on numpy and PyTorch.

One step = forward, SSE, backward and an SGD update of a sigmoid MLP, as in
bench_tensor.py, at the medium size (784-128-10, batch 64) and a large one
(784-512-512-10, batch 1024).  Four candidates, interleaved: minigrad eager on
numpy arrays, minigrad eager on torch tensors (the same code: the namespace
comes from the data, `minigrad.core.namespace`), minigrad compiled on torch
tensors (`mg.compile` calling the rules in torch), and PyTorch's own autograd.
Each must give minigrad-on-numpy's loss and gradients before it is timed.

Run: python benchmarks/bench_array_api.py [--repeats N] [--sizes medium large] [--dtypes float64 float32]
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
from bench_tensor import (LEARNING_RATE, make_problem, minigrad_compiled_setup, minigrad_compiled_step,  # noqa: E402
                          minigrad_setup, minigrad_step, same_results)
from harness import available, interleaved_medians, print_table  # noqa: E402

SIZES = {  # name: (layer sizes, batch)
    "medium": ((784, 128, 10), 64),
    "large": ((784, 512, 512, 10), 1024),
}


def torch_reference_step(torch, params, x, desired):
    """PyTorch's autograd on the same MLP, with the SGD update written as minigrad's."""
    activation = x
    for weight, bias in params:
        activation = torch.sigmoid(activation @ weight + bias)
    loss = 0.5 * ((desired - activation) ** 2).sum()
    for weight, bias in params:
        weight.grad = bias.grad = None
    loss.backward()
    grads = [(w.grad.numpy().copy(), b.grad.numpy().copy()) for w, b in params]
    with torch.no_grad():
        for weight, bias in params:
            weight -= LEARNING_RATE * weight.grad
            bias -= LEARNING_RATE * bias.grad
    return loss.item(), grads


def as_numpy(result):
    loss, grads = result
    return loss, [(np.asarray(w), np.asarray(b)) for w, b in grads]


def benchmark(torch, size_name, dtype, repeats):
    sizes, batch = SIZES[size_name]
    layers, x, desired = make_problem(sizes, batch, dtype)
    params, optimizer = minigrad_setup(layers)
    reference = minigrad_step(params, optimizer, x, desired)
    candidates = {"minigrad on numpy": lambda: minigrad_step(params, optimizer, x, desired)}

    torch_layers = [(torch.asarray(w), torch.asarray(b)) for w, b in layers]
    on_torch, on_torch_optimizer = minigrad_setup(torch_layers)
    tx, tdesired = torch.asarray(x), torch.asarray(desired)
    if not same_results(reference, as_numpy(minigrad_step(on_torch, on_torch_optimizer, tx, tdesired)), dtype):
        raise SystemExit("minigrad on torch tensors disagrees with minigrad on numpy: refusing to time anything")
    candidates["minigrad on torch tensors"] = lambda: minigrad_step(on_torch, on_torch_optimizer, tx, tdesired)

    compiled, compiled_optimizer, step = minigrad_compiled_setup(torch_layers)
    if not same_results(reference, as_numpy(minigrad_compiled_step(compiled, compiled_optimizer, step, tx, tdesired)),
                        dtype):
        raise SystemExit("minigrad compiled on torch tensors disagrees with minigrad on numpy: refusing to time")
    candidates["minigrad compiled on torch tensors"] = \
        lambda: minigrad_compiled_step(compiled, compiled_optimizer, step, tx, tdesired)

    peer = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) for w, b in layers]
    if not same_results(reference, torch_reference_step(torch, peer, tx, tdesired), dtype):
        raise SystemExit("PyTorch disagrees with minigrad on numpy: refusing to time anything")
    candidates["PyTorch"] = lambda: torch_reference_step(torch, peer, tx, tdesired)
    return interleaved_medians(candidates, repeats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--dtypes", nargs="+", default=["float64"], choices=["float64", "float32"])
    args = parser.parse_args(argv)
    torch = available("torch")
    if torch is None or available("array_api_compat") is None:
        print("note: PyTorch or array-api-compat is not installed; bench_array_api skipped")
        return 0
    torch.set_num_threads(1)
    rows = []
    for size_name in args.sizes:
        for dtype_name in args.dtypes:
            repeats = args.repeats if size_name == "medium" else max(args.repeats // 4, 3)
            medians = benchmark(torch, size_name, np.dtype(dtype_name).type, repeats)
            base = medians["minigrad on numpy"]
            for name, seconds in medians.items():
                rows.append([size_name, dtype_name, name, f"{seconds * 1e3:.2f}", f"{seconds / base:.2f}"])
    sizes_text = ", ".join(f"{k} {'-'.join(map(str, SIZES[k][0]))} batch {SIZES[k][1]}" for k in args.sizes)
    print_table(f"One SGD step on the CPU, one thread ({sizes_text}); median ms, ratio to minigrad on numpy",
                ["size", "dtype", "library", "ms", "× numpy"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
