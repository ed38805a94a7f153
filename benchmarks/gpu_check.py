"""GPU check: minigrad's Values on CuPy or CUDA PyTorch arrays, against the same run on numpy.

Wherever CuPy (with a CUDA device) or PyTorch with CUDA is present, for each:

1. the digits net (64-64-10, ReLU, softmax cross-entropy, SGD) trains 30 steps on
   the GPU and on numpy from the same weights: every step's loss and every
   gradient must agree to 1e-10 (float64);
2. a 784-512-512-10 sigmoid MLP at batch 1024 (SSE, SGD): its first step's
   gradients must agree with numpy's to 1e-10, then its step is timed beside
   minigrad on numpy on the CPU and beside PyTorch's own autograd on the same GPU.

Where neither is present it says so and exits 0.  Exits 1 on any disagreement.
``--on-cpu`` runs the same checks with PyTorch CPU tensors in the GPU's place: a
check of this script itself on a machine without a GPU (its timings say nothing
about a GPU).

Run: python benchmarks/gpu_check.py [--steps N] [--repeats N] [--on-cpu]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's minigrad first

import minigrad as mg  # noqa: E402
from minigrad.core import namespace  # noqa: E402

TOLERANCE = 1e-10
LEARNING_RATE = 0.1


def backends():
    """[(name, namespace to move to, device or None, synchronize)] for each GPU library present."""
    found = []
    try:
        cupy = importlib.import_module("cupy")
        if cupy.cuda.runtime.getDeviceCount() > 0:
            found.append(("CuPy", cupy, None, lambda: cupy.cuda.Device().synchronize()))
    except Exception as error:  # noqa: BLE001 - not installed, or no driver: not this backend
        print(f"note: CuPy unavailable ({type(error).__name__}: {error})")
    try:
        torch = importlib.import_module("torch")
        if torch.cuda.is_available():
            found.append(("PyTorch CUDA", torch, torch.device("cuda"), torch.cuda.synchronize))
        else:
            print("note: PyTorch is installed but sees no CUDA device")
    except Exception as error:  # noqa: BLE001
        print(f"note: PyTorch unavailable ({type(error).__name__}: {error})")
    return found


def on_gpu(array, target, device):
    moved = namespace.move(array, target)
    return moved if device is None else namespace.move(moved, device)


def max_difference(gpu, cpu):
    return float(np.max(np.abs(np.asarray(namespace.to_numpy(gpu)) - np.asarray(cpu)), initial=0.0))


def check_digits(target, device, synchronize, steps):
    try:
        train, _ = mg.nn.datasets.digits()
        inputs, labels = train.inputs[:512], train.labels[:512]
    except ImportError:
        print("  digits: scikit-learn is not installed; random 8×8 images with 10 classes instead")
        rng = np.random.default_rng(0)
        inputs, labels = rng.random((512, 64)), rng.integers(0, 10, 512)
    cpu = mg.nn.MLP([64, 64, 10], seed=0, activation="relu", output="linear")
    gpu = mg.nn.MLP([64, 64, 10], seed=0, activation="relu", output="linear").to(target)
    if device is not None:
        gpu.to(device)
    cpu_optimizer, gpu_optimizer = mg.optim.SGD(cpu, lr=0.1), mg.optim.SGD(gpu, lr=0.1)
    gpu_inputs = mg.Value(on_gpu(inputs, target, device), requires_grad=False)
    worst, losses = 0.0, []
    for step in range(steps):
        for model, optimizer, data in ((cpu, cpu_optimizer, inputs), (gpu, gpu_optimizer, gpu_inputs)):
            optimizer.zero_grad()
            loss = mg.cross_entropy(model(data), labels)
            loss.backward()
            if model is cpu:
                cpu_loss = loss.item()
                losses.append(cpu_loss)
        worst = max(worst, abs(loss.item() - cpu_loss) / max(abs(cpu_loss), 1.0))
        for p, q in zip(gpu.parameters(), cpu.parameters()):
            worst = max(worst, max_difference(p.grad, q.grad))
        cpu_optimizer.step()
        gpu_optimizer.step()
    synchronize()
    print(f"  digits 64-64-10, {steps} steps: largest difference from numpy {worst:.2e} "
          f"(the loss went from {losses[0]:.4f} to {losses[-1]:.4f})")
    return worst <= TOLERANCE


def sigmoid_step(params, optimizer, x, desired):
    activation = x
    for weight, bias in params:
        activation = (activation @ weight + bias).sigmoid()
    loss = mg.sse(desired, activation)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def _sse_of(params, x, desired):
    activation = x
    for weight, bias in params:
        activation = (activation @ weight + bias).sigmoid()
    return mg.sse(desired, activation)


def median_seconds(function, repeats, synchronize):
    function()
    synchronize()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        synchronize()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def check_large(name, target, device, synchronize, repeats):
    sizes, batch = (784, 512, 512, 10), 1024
    rng = np.random.default_rng(0)
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        scale = np.sqrt(6.0 / (n_in + n_out))
        layers.append((rng.uniform(-scale, scale, (n_in, n_out)), rng.uniform(-scale, scale, n_out)))
    x, desired = rng.random((batch, sizes[0])), (rng.random((batch, sizes[-1])) > 0.5).astype(np.float64)
    cpu = [(mg.Value(w), mg.Value(b)) for w, b in layers]
    gpu = [(mg.Value(on_gpu(w, target, device)), mg.Value(on_gpu(b, target, device))) for w, b in layers]
    gx = mg.Value(on_gpu(x, target, device), requires_grad=False)
    gdesired = mg.Value(on_gpu(desired, target, device), requires_grad=False)
    cpu_optimizer = mg.optim.SGD([p for pair in cpu for p in pair], lr=LEARNING_RATE)
    gpu_optimizer = mg.optim.SGD([p for pair in gpu for p in pair], lr=LEARNING_RATE)
    activation, gpu_activation = x, gx
    for (w, b), (gw, gb) in zip(cpu, gpu):
        activation, gpu_activation = (activation @ w + b).sigmoid(), (gpu_activation @ gw + gb).sigmoid()
    mg.sse(desired, activation).backward()
    mg.sse(gdesired, gpu_activation).backward()
    worst = max(max_difference(gp.grad, p.grad) for pair, gpair in zip(cpu, gpu) for p, gp in zip(pair, gpair))
    print(f"  784-512-512-10 batch 1024: largest gradient difference from numpy {worst:.2e}")
    timings = {
        "minigrad on numpy (CPU)": median_seconds(lambda: sigmoid_step(cpu, cpu_optimizer, x, desired),
                                                  max(repeats // 4, 3), lambda: None),
        f"minigrad on {name}": median_seconds(lambda: sigmoid_step(gpu, gpu_optimizer, gx, gdesired), repeats,
                                              synchronize),
    }
    compiled = mg.compile(lambda: _sse_of(gpu, gx, gdesired), optimizer=gpu_optimizer)  # the rules called in order

    def compiled_step():
        gpu_optimizer.zero_grad()
        return compiled()

    timings[f"minigrad compiled on {name}"] = median_seconds(compiled_step, repeats, synchronize)
    if name.startswith("PyTorch"):
        import torch

        peer = [(torch.tensor(w, device=device, requires_grad=True), torch.tensor(b, device=device,
                                                                                  requires_grad=True))
                for w, b in layers]
        tx, tdesired = torch.tensor(x, device=device), torch.tensor(desired, device=device)

        def torch_step():
            activation = tx
            for weight, bias in peer:
                activation = torch.sigmoid(activation @ weight + bias)
            loss = 0.5 * ((tdesired - activation) ** 2).sum()
            for weight, bias in peer:
                weight.grad = bias.grad = None
            loss.backward()
            with torch.no_grad():
                for weight, bias in peer:
                    weight -= LEARNING_RATE * weight.grad
                    bias -= LEARNING_RATE * bias.grad

        timings["PyTorch autograd on the same GPU"] = median_seconds(torch_step, repeats, synchronize)
    for label, seconds in timings.items():
        print(f"    {label:<44} {seconds * 1e3:8.2f} ms a step")
    return worst <= TOLERANCE


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--on-cpu", action="store_true", help="PyTorch CPU tensors in the GPU's place (a check "
                        "of this script on a machine without a GPU)")
    args = parser.parse_args(argv)
    if args.on_cpu:
        import torch

        found = [("PyTorch CPU (standing in for a GPU)", torch, torch.device("cpu"), lambda: None)]
    else:
        found = backends()
    if not found:
        print("gpu_check: neither CuPy nor PyTorch with CUDA is present here; nothing to check (the GPU path "
              "is tested on CPU namespaces only: tests/core/test_array_api.py)")
        return 0
    status = 0
    for name, target, device, synchronize in found:
        print(f"\n{name}:")
        passed = check_digits(target, device, synchronize, args.steps)
        passed = check_large(name, target, device, synchronize, args.repeats) and passed
        print(f"  {'agrees with numpy' if passed else 'DISAGREES with numpy'} to {TOLERANCE:g}")
        status |= 0 if passed else 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
