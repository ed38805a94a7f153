"""The Array API benchmark and the GPU check script: their agreement checks, at small settings
(no timing is asserted).  On a machine without a GPU the GPU check says so and exits 0; its
``--on-cpu`` mode runs every check with PyTorch CPU tensors in the GPU's place."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

torch = pytest.importorskip("torch", reason="PyTorch is not installable here")
pytest.importorskip("array_api_compat", reason="array-api-compat is not installable here")

import bench_array_api  # noqa: E402
import gpu_check  # noqa: E402


def test_the_array_api_benchmark_checks_torch_tensors_against_numpy(capsys):
    medians = bench_array_api.benchmark(torch, "medium", np.float64, 1)  # SystemExit if any disagreed
    assert set(medians) == {"minigrad on numpy", "minigrad on torch tensors", "minigrad compiled on torch tensors",
                            "PyTorch"}
    assert bench_array_api.main(["--repeats", "1", "--sizes", "medium"]) == 0
    assert "minigrad on torch tensors" in capsys.readouterr().out


def test_the_gpu_check_says_when_there_is_no_gpu(capsys):
    if gpu_check.backends():
        pytest.skip("a GPU is present: the check runs for real (python benchmarks/gpu_check.py)")
    assert gpu_check.main([]) == 0
    assert "neither CuPy nor PyTorch with CUDA is present" in capsys.readouterr().out


def test_the_gpu_checks_pass_with_torch_cpu_tensors_in_the_gpus_place(capsys):
    assert gpu_check.main(["--on-cpu", "--steps", "3", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "agrees with numpy to 1e-10" in out and "DISAGREES" not in out
    assert "784-512-512-10 batch 1024: largest gradient difference from numpy" in out
    assert "minigrad compiled on" in out
