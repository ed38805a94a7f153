"""gradcheck itself: it passes correct gradients and catches wrong ones."""

import pytest

import minigrad as mg
from minigrad.core.ops import MUL, Op


def test_gradcheck_passes_correct_gradients(rng):
    x = rng.standard_normal((3, 2))
    assert mg.gradcheck(lambda v: (v * v).sigmoid(2.0), x) is True
    assert mg.gradcheck(lambda a, b: a * b + a, 1.5, -0.5) is True


class WrongMul(Op):
    """mul with ∂(a·b)/∂a off by a factor: a bug for gradcheck to catch."""

    name = "mul"

    def __init__(self, factor):
        self.factor = factor

    def backward(self, grad, out, saved, needs, a, b):
        return grad * b * self.factor, grad * a


def test_gradcheck_names_input_element_and_both_values(monkeypatch, rng):
    monkeypatch.setattr(MUL, "backward", WrongMul(1.001).backward)
    with pytest.raises(mg.GradcheckError, match=r"input 0, element \(\d+, \d+\): reverse mode gives .* central"):
        mg.gradcheck(lambda a, b: a * b, rng.standard_normal((2, 2)), rng.standard_normal((2, 2)))


def test_gradcheck_catches_a_missing_gradient(rng):
    def detaching(v):
        return v.detach() * v

    with pytest.raises(mg.GradcheckError, match="input 0"):
        mg.gradcheck(detaching, rng.standard_normal(3))


def test_gradcheck_rejects_output_independent_of_inputs():
    with pytest.raises(mg.GradcheckError, match="does not depend"):
        mg.gradcheck(lambda v: mg.Value(1.0, requires_grad=False) * 2.0, 1.0)


def test_the_random_direction_check_stands_on_its_own(monkeypatch, rng):
    """With the per-element check blinded (it is handed reverse mode's own
    answer), a wrong derivative is still caught along the random direction."""
    import minigrad.tools.gradcheck as checking

    monkeypatch.setattr(MUL, "backward", WrongMul(1.01).backward)
    wrong = {}
    original_call = checking._call

    def recording_call(fn, arrays, requires_grad):
        inputs, out = original_call(fn, arrays, requires_grad)
        if requires_grad:
            wrong["inputs"] = inputs
        return inputs, out

    monkeypatch.setattr(checking, "_call", recording_call)

    def numerical_from_reverse_mode(fn, arrays, cotangent, eps=1e-6):
        return [leaf.grad.copy() for leaf in wrong["inputs"]]

    monkeypatch.setattr(checking, "numerical_gradient", numerical_from_reverse_mode)
    with pytest.raises(mg.GradcheckError, match="along a random direction"):
        mg.gradcheck(lambda a, b: a * b, rng.standard_normal(3), rng.standard_normal(3))

