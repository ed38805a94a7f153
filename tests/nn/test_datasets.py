"""minigrad.nn.datasets: the author's XOR and 5×5 letters, and the 8×8 digits loader."""

import sys

import numpy as np
import pytest

from minigrad.nn.datasets import LETTER_PIXELS, digits, letters, xor


def test_xor_is_the_authors_one_hot_set():
    data = xor()
    assert data.inputs.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert data.targets.tolist() == [[0, 1], [1, 0], [1, 0], [0, 1]]
    assert data.labels.tolist() == [1, 0, 0, 1]
    inputs, targets = data  # unpacks
    assert inputs is data.inputs and targets is data.targets and len(data) == 4


def test_clean_letters_are_the_five_5x5_patterns():
    data = letters()
    assert data.classes == ("X", "M", "N", "H", "A")
    assert data.inputs.shape == (5, 25) and data.targets.shape == (5, 5)
    assert np.array_equal(data.targets, np.eye(5)) and data.labels.tolist() == [0, 1, 2, 3, 4]
    grids = data.inputs.reshape(5, 5, 5)
    assert grids[0].tolist() == [[1, 0, 0, 0, 1], [0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [0, 1, 0, 1, 0], [1, 0, 0, 0, 1]]
    assert grids[3][2].tolist() == [1, 1, 1, 1, 1]  # H's bar
    assert grids[4][0].tolist() == [0, 0, 1, 0, 0]  # A's apex
    assert data.inputs.sum(axis=1).tolist() == [9, 13, 13, 13, 12]
    assert len({row.tobytes() for row in data.inputs}) == 5
    assert all(len(rows) == 5 and all(len(row) == 5 for row in rows) for rows in LETTER_PIXELS.values())


def test_noisy_letters_flip_pixels_with_the_seeded_probability():
    clean = letters(copies=200)
    noisy = letters(noise=0.1, copies=200, seed=3)
    assert noisy.inputs.shape == (1000, 25) and np.array_equal(noisy.labels, clean.labels)
    assert set(np.unique(noisy.inputs)) <= {0.0, 1.0}
    flipped = np.mean(noisy.inputs != clean.inputs)
    assert 0.09 < flipped < 0.11
    assert np.array_equal(letters(noise=0.1, copies=200, seed=3).inputs, noisy.inputs)
    assert not np.array_equal(letters(noise=0.1, copies=200, seed=4).inputs, noisy.inputs)
    assert np.array_equal(letters(noise=1.0).inputs, 1.0 - letters().inputs)
    with pytest.raises(ValueError, match="noise is a flip probability"):
        letters(noise=1.5)
    with pytest.raises(ValueError, match="copies must be a positive integer"):
        letters(copies=0)


def test_digits_split_is_stratified_seeded_and_scaled():
    pytest.importorskip("sklearn")
    train, test = digits(test_fraction=0.25, seed=0)
    assert len(train) + len(test) == 1797
    assert train.inputs.shape[1] == 64 and test.targets.shape[1] == 10
    assert 0.0 <= train.inputs.min() and train.inputs.max() == 1.0
    assert np.array_equal(np.argmax(test.targets, axis=1), test.labels)
    counts = np.bincount(test.labels, minlength=10)
    assert counts.min() >= 44 and counts.max() <= 46  # a quarter of each class (174..183 images)
    again_train, again_test = digits(seed=0)
    assert np.array_equal(again_test.inputs, test.inputs) and np.array_equal(again_train.labels, train.labels)
    with pytest.raises(ValueError, match="test_fraction must be in"):
        digits(test_fraction=1.0)


def test_digits_without_scikit_learn_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"needs scikit-learn.*pip install 'minigrad\[digits\]'"):
        digits()
