"""The type checker runs over the package with no errors (mypy, configured in
pyproject.toml), and the public API carries type hints."""

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import minigrad as mg

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_finds_no_errors_in_the_package():
    pytest.importorskip("mypy")
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


PUBLIC_FUNCTIONS = ["draw", "to_dot", "explain", "compare", "check_derivation", "explore", "gradcheck",
                    "zeros", "ones", "full", "rand", "randn", "uniform", "no_grad", "detect_anomaly",
                    "topological_order", "unbroadcast"]


@pytest.mark.parametrize("name", PUBLIC_FUNCTIONS)
def test_public_functions_are_annotated(name):
    signature = inspect.signature(getattr(mg, name))
    assert signature.return_annotation is not inspect.Signature.empty, name
    for parameter in signature.parameters.values():
        if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            assert parameter.annotation is not inspect.Parameter.empty, f"{name}({parameter.name})"
