"""The data sets of the author's course code, plus scikit-learn's 8×8 digits.

Each loader returns a `Dataset`: ``inputs`` (patterns × inputs, float64),
``targets`` (patterns × outputs, one-hot, float64), ``labels`` (the class
index of each pattern) and ``classes`` (a name for each output node).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core._types import Seed

__all__ = ["Dataset", "xor", "letters", "digits", "LETTER_PIXELS"]


@dataclass(frozen=True)
class Dataset:
    """Patterns and their one-hot desired outputs."""

    inputs: np.ndarray
    targets: np.ndarray
    labels: np.ndarray
    classes: tuple

    def __len__(self):
        return len(self.inputs)

    def __iter__(self):
        """Unpacks as ``inputs, targets = dataset``."""
        return iter((self.inputs, self.targets))


def _one_hot(labels, count):
    targets = np.zeros((len(labels), count))
    targets[np.arange(len(labels)), labels] = 1.0
    return targets


def xor() -> Dataset:
    """The author's XOR set: 2 inputs, 2 one-hot outputs.

    (0,0) → (0,1),  (0,1) → (1,0),  (1,0) → (1,0),  (1,1) → (0,1):
    output node 0 says "exactly one input is on", node 1 says "both or neither".
    """
    inputs = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    labels = np.array([1, 0, 0, 1])
    return Dataset(inputs, _one_hot(labels, 2), labels, ("odd", "even"))


#: The 5×5 letters of the author's course code, one row of text per pixel row.
LETTER_PIXELS = {
    "X": ("1...1",
          ".1.1.",
          "..1..",
          ".1.1.",
          "1...1"),
    "M": ("1...1",
          "11.11",
          "1.1.1",
          "1...1",
          "1...1"),
    "N": ("1...1",
          "11..1",
          "1.1.1",
          "1..11",
          "1...1"),
    "H": ("1...1",
          "1...1",
          "11111",
          "1...1",
          "1...1"),
    "A": ("..1..",
          ".1.1.",
          "1...1",
          "11111",
          "1...1"),
}


def letters(noise: float = 0.0, copies: int = 1, seed: Seed = None) -> Dataset:
    """The 5×5-pixel letters X, M, N, H, A: 25 inputs (0 or 1), 5 one-hot outputs.

    With ``noise = p > 0`` every pixel of every pattern is flipped with
    probability p (seeded by ``seed``), and ``copies`` noisy versions of each
    letter are made: a test of generalisation.  ``noise=0`` gives the five
    clean letters (``copies`` times each).
    """
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"letters: noise is a flip probability in [0, 1], got {noise!r}")
    if not isinstance(copies, (int, np.integer)) or isinstance(copies, bool) or copies < 1:
        raise ValueError(f"letters: copies must be a positive integer, got {copies!r}")
    names = tuple(LETTER_PIXELS)
    clean = np.array([[float(pixel == "1") for row in LETTER_PIXELS[name] for pixel in row] for name in names])
    inputs = np.tile(clean, (copies, 1))
    labels = np.tile(np.arange(len(names)), copies)
    if noise > 0.0:
        rng = np.random.default_rng(seed)
        flips = rng.random(inputs.shape) < noise
        inputs = np.where(flips, 1.0 - inputs, inputs)
    return Dataset(inputs, _one_hot(labels, len(names)), labels, names)


def digits(test_fraction: float = 0.25, seed: int = 0) -> tuple[Dataset, Dataset]:
    """scikit-learn's handwritten digits (1,797 images, 8×8 pixels, 10 classes).

    Pixels are scaled from 0..16 to [0, 1].  Returns ``(train, test)``, two
    `Dataset`s split with a seeded shuffle, stratified by class.  Needs the
    optional extra ``digits`` (scikit-learn); without it, an ImportError says
    how to install it.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("minigrad.nn.datasets.digits needs scikit-learn, which is not installed: "
                          "pip install 'minigrad[digits]' (or pip install scikit-learn)") from None
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"digits: test_fraction must be in (0, 1), got {test_fraction!r}")
    bunch = load_digits()
    inputs = bunch.data.astype(np.float64) / 16.0
    labels = bunch.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    test_rows: list[int] = []
    for label in range(10):
        rows = rng.permutation(np.flatnonzero(labels == label))
        test_rows.extend(rows[:int(round(test_fraction * len(rows)))])
    is_test = np.zeros(len(labels), dtype=bool)
    is_test[test_rows] = True
    classes = tuple(str(label) for label in range(10))

    def subset(mask):
        rows = rng.permutation(np.flatnonzero(mask))
        return Dataset(inputs[rows], _one_hot(labels[rows], 10), labels[rows], classes)

    return subset(~is_test), subset(is_test)
