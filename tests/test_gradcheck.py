"""gradcheck itself: it passes correct gradients and catches wrong ones."""

import pytest

import minigrad as mg
from minigrad.engine import MUL, Op


def test_gradcheck_passes_correct_gradients(rng):
    x = rng.standard_normal((3, 2))
    assert mg.gradcheck(lambda v: (v * v).sigmoid(2.0), x) is True
    assert mg.gradcheck(lambda a, b: a * b + a, 1.5, -0.5) is True


def test_gradcheck_names_input_element_and_both_values(monkeypatch, rng):
    class WrongMul(Op):
        name = "mul"

        def backward(self, grad, node):
            a, b = node._parents
            return grad * b.data * 1.001, grad * a.data

    monkeypatch.setattr(MUL, "backward", WrongMul().backward)
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
