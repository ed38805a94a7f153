"""The benchmarks' correctness checks, at tiny sizes (no timing is asserted)."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bench_deep  # noqa: E402
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


def test_tensor_benchmark_runs_at_tiny_size(capsys):
    assert bench_tensor.main(["--repeats", "2", "--sizes", "tiny"]) == 0
    out = capsys.readouterr().out
    assert "summary: minigrad / numpy floor" in out and "disagrees" not in out


def test_deep_chain_child_runs_and_checks_its_gradient():
    result = bench_deep.run_child("minigrad", 2000, timeout=120)
    assert result["status"] == "works"
    assert result["grad"] == pytest.approx(1.0001 ** 2000, rel=1e-12)


def test_memory_benchmark_graph_is_freed_without_gc(capsys):
    assert bench_memory.main(["--steps", "50"]) == 0
    assert "graph freed without GC: yes" in capsys.readouterr().out
