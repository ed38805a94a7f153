"""Run every benchmark in turn (what `make bench` does)."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_array_api  # noqa: E402
import bench_deep  # noqa: E402
import bench_higher  # noqa: E402
import bench_memory  # noqa: E402
import bench_scalar  # noqa: E402
import bench_tensor  # noqa: E402


def main(argv=None):
    argparse.ArgumentParser(description="Run the six benchmarks with their default settings: "
                            "bench_scalar, bench_deep, bench_tensor, bench_memory, bench_higher, bench_array_api "
                            "(each takes its own options when run alone).").parse_args(argv)
    status = 0
    for module in (bench_scalar, bench_deep, bench_tensor, bench_memory, bench_higher, bench_array_api):
        print(f"\n=== {module.__name__}: {module.__doc__.splitlines()[0]}")
        status |= module.main([])
    return status


if __name__ == "__main__":
    raise SystemExit(main())
