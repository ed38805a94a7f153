"""The `minigrad` command line as installed: the console script and `python -m minigrad`."""

import shutil
import subprocess
import sys
from pathlib import Path

from minigrad import cli


def test_the_console_script_is_installed_and_runs():
    script = Path(sys.executable).with_name("minigrad")
    script = str(script) if script.exists() else shutil.which("minigrad")
    assert script, "the `minigrad` console script is not installed (pip install -e .)"
    result = subprocess.run([script, "compare", "--layers", "2", "3", "2", "--seed", "4"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "v[2,1]" in result.stdout and ": OK" in result.stdout


def test_python_dash_m_minigrad_lists_its_subcommands():
    result = subprocess.run([sys.executable, "-m", "minigrad", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in cli.COMMANDS:
        assert command in result.stdout
