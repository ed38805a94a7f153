"""examples/real_job.py runs (its --fast settings, in a fresh interpreter) and reaches the accuracy it reports."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minigrad import nn
from minigrad.optim import AdamW
from minigrad.optim.lr_scheduler import CosineAnnealingLR

ROOT = Path(__file__).resolve().parents[2]


def test_real_job_example(tmp_path):
    pytest.importorskip("sklearn")
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    completed = subprocess.run([sys.executable, str(ROOT / "examples" / "real_job.py"), str(tmp_path), "--fast"],
                               cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    numbers = json.loads((tmp_path / "real_job_summary.json").read_text())
    eager, compiled = numbers["eager"], numbers["compiled"]
    assert numbers["epochs"] == 8 and eager["resumed_at_epoch"] == 4
    assert eager["test_accuracy"] >= 0.9 and compiled["test_accuracy"] >= 0.9
    assert eager["validation_accuracy"] == max(eager["validation_history"])
    assert f"held-out accuracy {eager['test_accuracy']:.1%}" in completed.stdout
    assert f"held-out accuracy {compiled['test_accuracy']:.1%}" in completed.stdout
    assert "resumed from resume.npz" in completed.stdout
    assert (tmp_path / "real_job_curve.png").read_bytes()[:4] == b"\x89PNG"
    # The best checkpoint holds the weights, AdamW's state and the schedule, and loads into a fresh model.
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
    optimizer = AdamW(model)
    extra = nn.load_checkpoint(tmp_path / "best.npz", model, optimizer, CosineAnnealingLR(optimizer, T_max=8))
    assert extra["epoch"] == eager["best_epoch"] and optimizer.steps > 0
    assert np.isfinite(model.layers[0].weight.data).all()
