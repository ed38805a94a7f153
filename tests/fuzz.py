"""Fuzz the engine: thousands of random graphs against autograd and central differences.

    python tests/fuzz.py --examples 5000 --seed 0        (what `make fuzz` runs)

Draws programs with the strategy of tests/strategies.py (every op, scalar and
tensor Values mixed, nodes reused, constants on either side, float64, float32
and mixed) from a fixed seed, so a run is reproducible.  Every program is
checked against the HIPS autograd package; float64 programs also against
central differences.  A failing program does not stop the run: all are
counted and the first few printed in full.  Exit status 1 if any failed.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from strategies import check_against_autograd, check_against_central_differences, programs  # noqa: E402


def fuzz(examples, seed_value, max_steps=10, show=5, out=sys.stdout):
    """Run the checks on ``examples`` programs; returns (tried, failures)."""
    tried = 0
    failures = []

    @seed(seed_value)
    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(programs(max_steps=max_steps, dtypes=("float64", "float64", "float32", "mixed")))
    def one(program):
        nonlocal tried
        tried += 1
        try:
            with warnings.catch_warnings():
                # numpy's RuntimeWarnings (overflow, 0·inf, ...) inside minigrad are failures,
                # as in the test suite; the oracle's own (autograd's tanh gradient overflows
                # cosh past |x| ≈ 710 on its way to a correct 0) are not.
                warnings.filterwarnings("error", category=RuntimeWarning, module=r"minigrad\.")
                check_against_autograd(program)
                if program.dtype == "float64":
                    check_against_central_differences(program)
        except Exception as error:  # noqa: BLE001 - every failure is counted and shown
            failures.append((program, error, traceback.format_exc(limit=-4)))
            if len(failures) <= show:
                print(f"--- failure {len(failures)} (program {tried}) ---\n{program!r}\n"
                      f"{type(error).__name__}: {error}\n{failures[-1][2]}", file=out)

    one()
    return tried, failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5000, help="how many programs to try")
    parser.add_argument("--seed", type=int, default=0, help="the seed (the same seed draws the same programs)")
    parser.add_argument("--max-steps", type=int, default=10, help="most ops per program")
    parser.add_argument("--show", type=int, default=5, help="how many failures to print in full")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    tried, failures = fuzz(args.examples, args.seed, args.max_steps, args.show)
    elapsed = time.perf_counter() - start
    kinds = {}
    for _, error, _ in failures:
        key = f"{type(error).__name__}: {str(error).splitlines()[0][:100] if str(error) else ''}"
        kinds[key] = kinds.get(key, 0) + 1
    for key, count in sorted(kinds.items(), key=lambda item: -item[1]):
        print(f"  {count:5d} × {key}")
    print(f"{tried} tried, {len(failures)} failed (seed {args.seed}, {elapsed:.1f} s)")
    return 1 if failures or tried == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
