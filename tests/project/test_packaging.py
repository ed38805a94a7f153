"""What the package says about itself: one version everywhere, metadata for
the package index, the py.typed marker."""

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import minigrad

ROOT = Path(__file__).resolve().parents[2]


def test_one_version_everywhere(capsys):
    assert importlib.metadata.version("minigrad") == minigrad.__version__
    from minigrad import cli
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"minigrad {minigrad.__version__}"
    result = subprocess.run([sys.executable, "-m", "minigrad", "--version"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"minigrad {minigrad.__version__}"


def test_metadata_for_the_package_index():
    metadata = importlib.metadata.metadata("minigrad")
    assert metadata["Author"] == "The minigrad authors" or "The minigrad authors" in (metadata["Author-email"] or "")
    assert "backpropagation" in metadata["Keywords"] and "autodiff" in metadata["Keywords"]
    classifiers = metadata.get_all("Classifier")
    assert "Typing :: Typed" in classifiers and "Topic :: Education" in classifiers
    assert metadata["License-Expression"] == "MIT"
    assert metadata["Requires-Python"] == ">=3.10"


def test_typed_marker_ships():
    assert (Path(minigrad.__file__).parent / "py.typed").exists()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"py.typed"' in pyproject
