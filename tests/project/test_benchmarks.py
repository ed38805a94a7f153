"""The benchmarks' correctness checks, at tiny sizes (no timing is asserted)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench_deep  # noqa: E402
import bench_higher  # noqa: E402
import bench_memory  # noqa: E402
import bench_scalar  # noqa: E402
import bench_tensor  # noqa: E402
import numpy as np  # noqa: E402


def test_scalar_benchmark_agrees_with_the_float_floor(capsys):
    problem = bench_scalar.make_problem()
    loss, _ = bench_scalar.minigrad_step(problem, bench_scalar.minigrad_setup(problem), update=False)
    assert loss.item() == pytest.approx(bench_scalar.float_forward(problem), rel=1e-13)
    assert bench_scalar.main(["--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "µs per node" in out and "differ" not in out
    assert "minigrad compiled" in out and "pays off after" in out and "disagrees" not in out


def test_scalar_benchmark_compiled_step_gives_eagers_loss_and_gradients():
    problem = bench_scalar.make_problem()
    loss, w = bench_scalar.minigrad_step(problem, bench_scalar.minigrad_setup(problem), update=False)
    params = bench_scalar.minigrad_compiled_setup(problem)
    for _ in range(2):  # the first call traces, the second replays
        compiled_loss, compiled_w = bench_scalar.minigrad_compiled_step(params, update=False)
        assert compiled_loss.item() == loss.item()
        assert [v.grad for layer in compiled_w for row in layer for v in row] == \
            [v.grad for layer in w for row in layer for v in row]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tensor_step_matches_the_numpy_floor_and_autograd(dtype):
    layers, x, desired = bench_tensor.make_problem((5, 4, 3), 6, dtype)
    params, optimizer = bench_tensor.minigrad_setup(layers)
    ours = bench_tensor.minigrad_step(params, optimizer, x, desired)
    assert bench_tensor.same_results(ours, bench_tensor.numpy_step(list(layers), x, desired), dtype)
    autograd = pytest.importorskip("autograd")
    step = bench_tensor.autograd_step_factory(autograd)
    assert bench_tensor.same_results(ours, step(list(layers), x, desired), dtype)
    # and the updated weights are the floor's
    floor = list(layers)
    bench_tensor.numpy_step(floor, x, desired)
    np.testing.assert_allclose(params[0][0].data, floor[0][0], rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tensor_compiled_step_gives_eagers_steps(dtype):
    layers, x, desired = bench_tensor.make_problem((5, 4, 3), 6, dtype)
    params, optimizer = bench_tensor.minigrad_setup(layers)
    compiled_params, compiled_optimizer, step = bench_tensor.minigrad_compiled_setup(layers)
    for _ in range(3):  # the first call traces, the others replay
        eager = bench_tensor.minigrad_step(params, optimizer, x, desired)
        compiled = bench_tensor.minigrad_compiled_step(compiled_params, compiled_optimizer, step, x, desired)
        assert eager[0] == compiled[0]
        for pair, compiled_pair in zip(eager[1], compiled[1]):
            for grad, compiled_grad in zip(pair, compiled_pair):
                np.testing.assert_array_equal(grad, compiled_grad)
    assert step.traces == 1


def test_tensor_benchmark_runs_at_tiny_size(capsys):
    assert bench_tensor.main(["--repeats", "2", "--sizes", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "summary: minigrad / numpy floor" in out and "disagrees" not in out
    assert "summary: minigrad compiled / numpy floor" in out and "steps to pay off" in out


def test_deep_chain_child_runs_and_checks_its_gradient():
    result = bench_deep.run_child("minigrad", 2000, timeout=120)
    assert result["status"] == "works"
    assert result["grad"] == pytest.approx(1.0001 ** 2000, rel=1e-12)


def test_memory_benchmark_graph_is_freed_without_gc(capsys):
    assert bench_memory.main(["--steps", "50"]) == 0
    assert "graph freed without GC: yes" in capsys.readouterr().out


def test_higher_order_benchmark_agrees_with_torch_and_autograd(capsys):
    problem = bench_higher.make_problem((5, 4, 3), 6)
    ours = bench_higher.minigrad_hvp(problem)()
    for other in (bench_higher.minigrad_hvp(problem, "reverse-over-reverse")(),
                  bench_higher.autograd_hvp(pytest.importorskip("autograd"), problem)()):
        for a, b in zip(ours, other):
            np.testing.assert_allclose(a, b, rtol=1e-12)
    torch = pytest.importorskip("torch")
    for run in bench_higher.torch_functions(torch, problem):
        for a, b in zip(ours, run()):
            np.testing.assert_allclose(a, b.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bench_higher.minigrad_jvp(problem)(), bench_higher.minigrad_jvp_by_vjp_of_vjp(problem)(),
                               rtol=1e-12)
    assert bench_higher.main(["--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "PyTorch's time at 1 thread" in out and "differs" not in out
