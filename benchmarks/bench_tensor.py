"""Benchmark 3: tensor training steps.

One step = forward, SSE, backward and an SGD update of a sigmoid MLP (every
layer (x @ W + b).sigmoid(), as in the chapter), at three sizes and two dtypes,
against hand-written numpy backprop (the floor), HIPS autograd and PyTorch CPU.
minigrad runs eager (the graph recorded every step) and compiled
(`minigrad.compile(loss, optimizer=sgd)`: traced once, replayed as generated
numpy code with SGD's update written in), both with persistent parameters and
minigrad's own SGD, as a training loop uses them.  Two more rows say how much
each choice matters: the compiled step with ``SGD.step()`` called separately,
and the floor written with ``np.dot`` instead of ``@`` (which costs less per
call on small matrices).  The compiled rows also report the time to trace and
compile, and after how many steps that time is paid back.

Run: python benchmarks/bench_tensor.py [--repeats N] [--sizes tiny small medium]
"""

from __future__ import annotations

import os

# NOTE: one BLAS thread for every library, set before numpy loads: on a shared
# 2-core machine OpenBLAS's spinning threads can make a small matmul 100x slower.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import available, close, interleaved_medians, print_table  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad.optim import SGD  # noqa: E402

SIZES = {  # name: (layer sizes, batch)
    "tiny": ((2, 2, 1), 4),
    "small": ((64, 32, 10), 32),
    "medium": ((784, 128, 10), 64),
}
LEARNING_RATE = 0.1


def make_problem(sizes, batch, dtype, seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        scale = np.sqrt(6.0 / (n_in + n_out))
        layers.append((rng.uniform(-scale, scale, (n_in, n_out)).astype(dtype),
                       rng.uniform(-scale, scale, n_out).astype(dtype)))
    x = rng.random((batch, sizes[0])).astype(dtype)
    desired = (rng.random((batch, sizes[-1])) > 0.5).astype(dtype)
    return layers, x, desired


# -- the floor: backprop written by hand in numpy -------------------------------

def numpy_step(state, x, desired):
    (w1, b1), (w2, b2) = state
    hidden = 1.0 / (1.0 + np.exp(-(x @ w1 + b1)))
    output = 1.0 / (1.0 + np.exp(-(hidden @ w2 + b2)))
    error = desired - output
    loss = 0.5 * np.sum(error * error)
    delta_output = -error * output * (1.0 - output)
    delta_hidden = (delta_output @ w2.T) * hidden * (1.0 - hidden)
    grads = [(x.T @ delta_hidden, delta_hidden.sum(axis=0)), (hidden.T @ delta_output, delta_output.sum(axis=0))]
    for k, ((w, b), (gw, gb)) in enumerate(zip(state, grads)):
        state[k] = (w - LEARNING_RATE * gw, b - LEARNING_RATE * gb)
    return loss, grads


def numpy_dot_step(state, x, desired):
    """The floor with np.dot for every product: the same numbers, less call overhead."""
    (w1, b1), (w2, b2) = state
    hidden = 1.0 / (1.0 + np.exp(-(np.dot(x, w1) + b1)))
    output = 1.0 / (1.0 + np.exp(-(np.dot(hidden, w2) + b2)))
    error = desired - output
    loss = 0.5 * np.sum(error * error)
    delta_output = -error * output * (1.0 - output)
    delta_hidden = np.dot(delta_output, w2.T) * hidden * (1.0 - hidden)
    grads = [(np.dot(x.T, delta_hidden), delta_hidden.sum(axis=0)),
             (np.dot(hidden.T, delta_output), delta_output.sum(axis=0))]
    for k, ((w, b), (gw, gb)) in enumerate(zip(state, grads)):
        state[k] = (w - LEARNING_RATE * gw, b - LEARNING_RATE * gb)
    return loss, grads


# -- minigrad --------------------------------------------------------------------

def minigrad_setup(layers):
    params = [(mg.Value(w), mg.Value(b)) for w, b in layers]
    optimizer = SGD([p for pair in params for p in pair], lr=LEARNING_RATE)
    return params, optimizer


def minigrad_step(params, optimizer, x, desired):
    activation = x
    for weight, bias in params:
        activation = (activation @ weight + bias).sigmoid()
    loss = mg.sse(desired, activation)
    optimizer.zero_grad()
    loss.backward()
    grads = [(w.grad, b.grad) for w, b in params]
    optimizer.step()
    return loss.item(), grads


def minigrad_compiled_setup(layers, fused=True):
    """Parameters, SGD and the compiled step (traced at its first call), which takes
    SGD's step itself (``fused``) or leaves it to ``optimizer.step()``."""
    params, optimizer = minigrad_setup(layers)

    def loss(x, desired):
        activation = x
        for weight, bias in params:
            activation = (activation @ weight + bias).sigmoid()
        return mg.sse(desired, activation)

    return params, optimizer, mg.compile(loss, optimizer=optimizer if fused else None)


def minigrad_compiled_step(params, optimizer, step, x, desired):
    optimizer.zero_grad()
    loss = step(x, desired)  # forward, backward and, with optimizer= at compile, SGD's step
    grads = [(w.grad, b.grad) for w, b in params]
    if step.optimizer is None:
        optimizer.step()
    return loss.item(), grads


# -- HIPS autograd -----------------------------------------------------------------

def autograd_step_factory(autograd):
    anp = autograd.numpy

    def loss_function(state, x, desired):
        activation = x
        for w, b in state:
            activation = 1.0 / (1.0 + anp.exp(-(anp.dot(activation, w) + b)))
        error = desired - activation
        return 0.5 * anp.sum(error * error)

    value_and_grad = autograd.value_and_grad(loss_function)

    def step(state, x, desired):
        loss, grads = value_and_grad(state, x, desired)
        for k, ((w, b), (gw, gb)) in enumerate(zip(state, grads)):
            state[k] = (w - LEARNING_RATE * gw, b - LEARNING_RATE * gb)
        return loss, grads

    return step


# -- PyTorch -----------------------------------------------------------------------

def torch_setup(torch, layers):
    params = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) for w, b in layers]
    optimizer = torch.optim.SGD([p for pair in params for p in pair], lr=LEARNING_RATE)
    return params, optimizer


def torch_step(torch, params, optimizer, x, desired):
    activation = x
    for weight, bias in params:
        activation = torch.sigmoid(activation @ weight + bias)
    loss = 0.5 * ((desired - activation) ** 2).sum()
    optimizer.zero_grad()
    loss.backward()
    grads = [(w.grad.numpy().copy(), b.grad.numpy().copy()) for w, b in params]
    optimizer.step()
    return loss.item(), grads


def same_results(reference, other, dtype):
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    loss_a, grads_a = reference
    loss_b, grads_b = other
    if not close(loss_a, loss_b, rtol=rtol, atol=rtol):
        return False
    return all(close(ga, gb, rtol=rtol, atol=rtol) for pa, pb in zip(grads_a, grads_b) for ga, gb in zip(pa, pb))


def benchmark(size_name, dtype, repeats, peers, together=False):
    sizes, batch = SIZES[size_name]
    layers, x, desired = make_problem(sizes, batch, dtype)
    # Each candidate first takes one step from the same weights; results must match minigrad's.
    params, optimizer = minigrad_setup(layers)
    reference = minigrad_step(params, optimizer, x, desired)
    candidates = {"minigrad": lambda: minigrad_step(params, optimizer, x, desired)}

    floor_state = list(layers)
    if not same_results(reference, numpy_step(floor_state, x, desired), dtype):
        raise SystemExit("the numpy floor disagrees with minigrad: refusing to time anything")
    candidates["numpy by hand (floor)"] = lambda: numpy_step(floor_state, x, desired)

    compiled_params, compiled_optimizer, compiled = minigrad_compiled_setup(layers)
    started = time.perf_counter()
    first = minigrad_compiled_step(compiled_params, compiled_optimizer, compiled, x, desired)
    first_call = time.perf_counter() - started  # trace, generate, compile, check, and the step itself
    if not same_results(reference, first, dtype):
        raise SystemExit("compiled minigrad disagrees with eager minigrad: refusing to time anything")
    # and a replay (the generated code, SGD's update included) gives eager's second step
    if not same_results(minigrad_step(params, optimizer, x, desired),
                        minigrad_compiled_step(compiled_params, compiled_optimizer, compiled, x, desired), dtype):
        raise SystemExit("a compiled replay disagrees with eager minigrad: refusing to time anything")
    candidates["minigrad compiled"] = lambda: minigrad_compiled_step(compiled_params, compiled_optimizer, compiled,
                                                                     x, desired)
    separate_params, separate_optimizer, separate = minigrad_compiled_setup(layers, fused=False)
    if not same_results(reference, minigrad_compiled_step(separate_params, separate_optimizer, separate, x, desired),
                        dtype):
        raise SystemExit("compiled minigrad (SGD.step() separate) disagrees with eager minigrad")
    candidates["minigrad compiled, SGD.step() separate"] = lambda: minigrad_compiled_step(
        separate_params, separate_optimizer, separate, x, desired)
    dot_state = list(layers)
    if not same_results(reference, numpy_dot_step(dot_state, x, desired), dtype):
        raise SystemExit("the np.dot floor disagrees with minigrad: refusing to time anything")
    candidates["numpy by hand, np.dot"] = lambda: numpy_dot_step(dot_state, x, desired)

    if "autograd" in peers:
        step = autograd_step_factory(peers["autograd"])
        autograd_state = list(layers)
        if same_results(reference, step(autograd_state, x, desired), dtype):
            candidates["HIPS autograd"] = lambda: step(autograd_state, x, desired)
        else:
            print(f"note: autograd disagrees at {size_name} {np.dtype(dtype).name}; not timed")
    if "torch" in peers:
        torch = peers["torch"]
        torch_params, torch_optimizer = torch_setup(torch, layers)
        tx, tdesired = torch.tensor(x), torch.tensor(desired)
        if same_results(reference, torch_step(torch, torch_params, torch_optimizer, tx, tdesired), dtype):
            candidates["PyTorch"] = lambda: torch_step(torch, torch_params, torch_optimizer, tx, tdesired)
        else:
            print(f"note: PyTorch disagrees at {size_name} {np.dtype(dtype).name}; not timed")

    results = time_against_floor(candidates, "numpy by hand (floor)", repeats, together)
    return results, first_call


def time_against_floor(candidates, floor_name, repeats, together):
    """{name: (median seconds, median seconds of the floor it was timed against, ratio)}.

    # NOTE: by default each library is interleaved with the floor alone (F A F A
    # ..., then F B F B ...), and its ratio is taken against the floor of its
    # own run.  Interleaving all of them at once (``together``) lets PyTorch's
    # and autograd's large working sets evict minigrad's from the CPU caches
    # between its calls, which roughly doubles minigrad's time at the tiny
    # size: a cost a training loop, running one library, never pays.
    """
    if together:
        medians = interleaved_medians(candidates, repeats)
        floor_seconds = medians[floor_name]
        return {name: (seconds, floor_seconds, seconds / floor_seconds)
                for name, seconds in medians.items() if name != floor_name}
    floor = candidates[floor_name]
    results = {}
    for name, function in candidates.items():
        if name != floor_name:
            pair = interleaved_medians({name: function, floor_name: floor}, repeats)
            results[name] = (pair[name], pair[floor_name], pair[name] / pair[floor_name])
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    parser.add_argument("--together", action="store_true",
                        help="interleave every library in one rotation instead of each with the floor")
    args = parser.parse_args(argv)
    peers = {}
    for name in ("autograd", "torch"):
        module = available(name)
        if module is None:
            print(f"note: {name} is not installed; skipped")
        else:
            peers[name] = module
    if "torch" in peers:
        peers["torch"].set_num_threads(1)
    rows, summary, compiled_summary, dot_summary, payoff_rows = [], [], [], [], []
    for size_name in args.sizes:
        for dtype_name in args.dtypes:
            repeats = args.repeats if size_name != "medium" else max(args.repeats // 2, 10)
            results, first_call = benchmark(size_name, np.dtype(dtype_name).type, repeats, peers, args.together)
            for name, (seconds, floor_seconds, ratio) in results.items():
                rows.append([size_name, dtype_name, name, f"{seconds * 1e6:.1f}", f"{floor_seconds * 1e6:.1f}",
                             f"{ratio:.2f}"])
            summary.append(f"{size_name}/{dtype_name} {results['minigrad'][2]:.2f}×")
            compiled_summary.append(f"{size_name}/{dtype_name} {results['minigrad compiled'][2]:.2f}×")
            dot_summary.append(f"{size_name}/{dtype_name} "
                               f"{results['minigrad compiled'][2] / results['numpy by hand, np.dot'][2]:.2f}×")
            eager, compiled = results["minigrad"][0], results["minigrad compiled"][0]
            saved = eager - compiled
            payoff = f"{first_call / saved:.0f}" if saved > 0 else "never"
            payoff_rows.append([size_name, dtype_name, f"{first_call * 1e3:.1f}", f"{saved * 1e6:.1f}", payoff])
    sizes_text = ", ".join(f"{k} {'-'.join(map(str, SIZES[k][0]))} batch {SIZES[k][1]}" for k in args.sizes)
    how = "all libraries in one rotation" if args.together else "each library interleaved with the floor"
    print_table(f"Tensor training step (forward + SSE + backward + SGD), medians, {how}; {sizes_text}",
                ["size", "dtype", "implementation", "µs per step", "floor µs (same run)", "× numpy floor"], rows)
    print_table("minigrad.compile: the first call (trace, generate, compile, check the code, run) against the "
                "time each later call saves over eager mode",
                ["size", "dtype", "first call ms", "saved µs per step", "steps to pay off"], payoff_rows)
    print("\nsummary: minigrad / numpy floor: " + ", ".join(summary)
          + " (goals: ≤ 2.0× tiny and small, ≤ 1.15× medium)")
    print("summary: minigrad compiled / numpy floor: " + ", ".join(compiled_summary)
          + " (goals: ≤ 0.9× tiny and small, ≤ 1.0× medium)")
    print("summary: minigrad compiled / the np.dot floor (each ratio to the @ floor of its own run, divided): "
          + ", ".join(dot_summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
