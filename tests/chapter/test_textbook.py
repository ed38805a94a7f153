"""minigrad.textbook: the chapter's formulas, checked on their own.

The literal (term-by-term) and vectorized forms agree; both agree with central
differences of the module's own SSE (so the formulas are right without the
engine); the training step matches an update computed by hand; the sigmoid
is stable; and the module shares no code with the engine.
"""

import ast
import math
import pathlib
import warnings

import mpmath
import numpy as np
import pytest

from minigrad import textbook as tb

SOURCE = pathlib.Path(tb.__file__)


def random_network(rng, sizes, bias):
    I = rng.random(sizes[0])
    desired = rng.random(sizes[2])
    w, v, bias_hidden, bias_output = tb.initial_weights(*sizes, seed=rng, bias=bias)
    return I, desired, w, v, bias_hidden, bias_output


def configurations(count, seed=7):
    rng = np.random.default_rng(seed)
    for k in range(count):
        sizes = tuple(int(n) for n in rng.integers(1, 9, size=3))
        alpha = float(rng.choice([0.5, 1.0, 2.0, 4.0]))
        yield k, sizes, alpha, bool(k % 2)


def test_textbook_imports_nothing_from_minigrad():
    tree = ast.parse(SOURCE.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0 and not (node.module or "").startswith("minigrad"), ast.dump(node)
            assert node.module in ("__future__", "typing"), node.module
        elif isinstance(node, ast.Import):
            assert [alias.name for alias in node.names] == ["numpy"]


# -- transfer function (Eq. 6.1, 6.2) -----------------------------------------


def test_transfer_and_derivative_values():
    x = np.array([-2.0, -0.5, 0.0, 0.3, 1.7])
    for alpha in (0.5, 1.0, 4.0):
        expected = np.array([1.0 / (1.0 + math.exp(-alpha * t)) for t in x])
        np.testing.assert_allclose(tb.transfer(x, alpha=alpha), expected, rtol=1e-15)
        complement = np.array([1.0 / (1.0 + math.exp(alpha * t)) for t in x])  # 1 − F(x) = F(−x)
        np.testing.assert_allclose(tb.transfer_complement(x, alpha=alpha), complement, rtol=1e-15)
        np.testing.assert_allclose(tb.transfer_derivative(x, alpha=alpha), alpha * expected * complement, rtol=1e-15)
    assert float(tb.transfer(0.0)) == 0.5


def test_transfer_derivative_is_the_slope():
    x = np.linspace(-3, 3, 13)
    for alpha in (0.5, 2.0):
        with mpmath.workdps(30):
            slope = [float(mpmath.diff(lambda t: 1 / (1 + mpmath.exp(-alpha * t)), mpmath.mpf(t))) for t in x]
        np.testing.assert_allclose(tb.transfer_derivative(x, alpha=alpha), slope, rtol=1e-14)


def test_transfer_is_stable_for_huge_inputs():
    x = np.array([-1e308, -1e4, -800.0, -40.0, 40.0, 800.0, 1e4, 1e308])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for alpha in (1.0, 4.0):
            F = tb.transfer(x, alpha=alpha)
            complement = tb.transfer_complement(x, alpha=alpha)
            derivative = tb.transfer_derivative(x, alpha=alpha)
            assert np.all(np.isfinite(F)) and np.all(np.isfinite(derivative))
            assert F[0] == 0.0 and F[-1] == 1.0 and complement[0] == 1.0 and complement[-1] == 0.0
            assert np.all((F >= 0) & (F <= 1)) and np.all(derivative >= 0)


def test_transfer_keeps_relative_accuracy_in_saturation():
    with mpmath.workdps(50):
        for x in (20.0, 30.0, 40.0, -30.0):
            F = 1 / (1 + mpmath.exp(-x))
            exact = float(F * (1 - F))
            assert float(tb.transfer_derivative(x)) == pytest.approx(exact, rel=1e-13)
            assert float(tb.transfer_complement(x)) == pytest.approx(float(1 - F), rel=1e-13)


# -- forward pass, errors, SSE --------------------------------------------------


def test_forward_follows_the_chapter():
    I = np.array([0.25, 0.75])
    w = np.array([[0.5, -0.3], [0.8, 0.2]])
    v = np.array([[0.1, -0.7], [0.4, 0.9]])
    bias_hidden, bias_output = np.array([0.05, -0.1]), np.array([0.2, 0.0])
    result = tb.forward(I, w, v, alpha=2.0, bias_hidden=bias_hidden, bias_output=bias_output)
    F = lambda x: 1.0 / (1.0 + math.exp(-2.0 * x))  # noqa: E731
    NdInpt_hidden = [0.25 * 0.5 + 0.75 * 0.8 + 0.05, 0.25 * -0.3 + 0.75 * 0.2 - 0.1]
    H = [F(x) for x in NdInpt_hidden]
    NdInpt = [H[0] * 0.1 + H[1] * 0.4 + 0.2, H[0] * -0.7 + H[1] * 0.9 + 0.0]  # Eq. 6.3, 6.9
    np.testing.assert_allclose(result.NdInpt_hidden, NdInpt_hidden, rtol=1e-15)
    np.testing.assert_allclose(result.H, H, rtol=1e-15)
    np.testing.assert_allclose(result.NdInpt, NdInpt, rtol=1e-15)
    np.testing.assert_allclose(result.A, [F(x) for x in NdInpt], rtol=1e-15)      # Eq. 6.4
    np.testing.assert_allclose(result.one_minus_A, [1 - F(x) for x in NdInpt], rtol=1e-14)


def test_errors_and_sse_with_the_half():
    desired, actual = np.array([1.0, 0.0, 0.5]), np.array([0.75, 0.25, 0.5])
    np.testing.assert_array_equal(tb.errors(desired, actual), [0.25, -0.25, 0.0])     # Eq. 6.6
    assert tb.sse(desired, actual) == 0.5 * (0.0625 + 0.0625)                          # Eq. 6.5


def test_forward_rejects_shapes_that_do_not_fit():
    with pytest.raises(ValueError, match="shapes do not fit"):
        tb.forward(np.ones(3), np.ones((2, 2)), np.ones((2, 1)))


# -- gradients: literal vs vectorized vs central differences ---------------------


def test_literal_and_vectorized_forms_agree():
    rng = np.random.default_rng(3)
    for _, sizes, alpha, bias in configurations(40):
        I, desired, w, v, bias_hidden, bias_output = random_network(rng, sizes, bias)
        literal = tb.gradients(I, desired, w, v, alpha=alpha, bias_hidden=bias_hidden, bias_output=bias_output,
                               literal=True)
        vectorized = tb.gradients(I, desired, w, v, alpha=alpha, bias_hidden=bias_hidden, bias_output=bias_output)
        assert literal.keys() == vectorized.keys() == ({"w", "v", "bias_hidden", "bias_output"} if bias else {"w", "v"})
        for name in literal:
            scale = np.max(np.abs(vectorized[name]))
            np.testing.assert_allclose(literal[name], vectorized[name], rtol=1e-12, atol=1e-15 * scale,
                                       err_msg=f"{name} {sizes} alpha={alpha}")


def _central_differences(function, array, eps=1e-5):
    gradient = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = function()
        array[index] = original - eps
        minus = function()
        array[index] = original
        gradient[index] = (plus - minus) / (2 * eps)
    return gradient


@pytest.mark.parametrize("literal", [False, True])
def test_formulas_match_central_differences_of_the_sse(literal):
    rng = np.random.default_rng(11)
    for _, sizes, alpha, bias in configurations(12, seed=literal + 5):
        I, desired, w, v, bias_hidden, bias_output = random_network(rng, sizes, bias)
        parameters = {"w": w, "v": v}
        if bias:
            parameters.update(bias_hidden=bias_hidden, bias_output=bias_output)

        def sse():
            result = tb.forward(I, w, v, alpha=alpha, bias_hidden=bias_hidden, bias_output=bias_output)
            return tb.sse(desired, result.A)

        formulas = tb.gradients(I, desired, w, v, alpha=alpha, bias_hidden=bias_hidden, bias_output=bias_output,
                                 literal=literal)
        for name, array in parameters.items():
            numeric = _central_differences(sse, array)
            np.testing.assert_allclose(formulas[name], numeric, rtol=1e-7, atol=1e-10,
                                       err_msg=f"{name} {sizes} alpha={alpha}")


def test_eq_6_30_on_numbers_by_hand():
    # 1-1-1 network, no bias: every quantity is a single number.
    I, w, v, desired, alpha = 0.6, 0.4, -0.8, 1.0, 2.0
    H = 1 / (1 + math.exp(-alpha * w * I))
    A = 1 / (1 + math.exp(-alpha * v * H))
    E = desired - A
    forward = tb.forward([I], [[w]], [[v]], alpha=alpha)
    expected_v = -alpha * E * A * (1 - A) * H
    assert tb.gradient_v(forward, [desired], alpha=alpha)[0, 0] == pytest.approx(expected_v, rel=1e-14)
    expected_w = -alpha * H * (1 - H) * I * (alpha * E * A * (1 - A) * v)
    assert tb.gradient_w(forward, [desired], [[v]], alpha=alpha)[0, 0] == pytest.approx(expected_w, rel=1e-14)


# -- the author's training step --------------------------------------------------


def test_training_step_matches_an_update_by_hand():
    # 2-2-1 network with biases, course constants alpha = 1, eta = 0.5.
    I = [1.0, 0.0]
    desired = [1.0]
    w = [[0.5, -0.4], [0.3, 0.9]]
    v = [[0.7], [-0.2]]
    bias_hidden, bias_output = [0.1, -0.1], [0.05]
    F = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    H0 = F(0.5 * 1.0 + 0.3 * 0.0 + 0.1)
    H1 = F(-0.4 * 1.0 + 0.9 * 0.0 - 0.1)
    A = F(0.7 * H0 - 0.2 * H1 + 0.05)
    E = 1.0 - A
    delta = E * A * (1 - A)                       # α E F (1 − F) with α = 1
    eta = 0.5
    new_v = [[0.7 + eta * delta * H0], [-0.2 + eta * delta * H1]]
    new_bias_output = [0.05 + eta * delta]
    # The hidden layer uses v before the update: 0.7 and -0.2.
    delta_hidden = [H0 * (1 - H0) * delta * 0.7, H1 * (1 - H1) * delta * -0.2]
    new_w = [[0.5 + eta * delta_hidden[0] * 1.0, -0.4 + eta * delta_hidden[1] * 1.0],
             [0.3 + eta * delta_hidden[0] * 0.0, 0.9 + eta * delta_hidden[1] * 0.0]]
    new_bias_hidden = [0.1 + eta * delta_hidden[0], -0.1 + eta * delta_hidden[1]]

    w_array, v_array = np.array(w), np.array(v)
    step = tb.training_step(I, desired, w_array, v_array, bias_hidden=bias_hidden, bias_output=bias_output)
    np.testing.assert_allclose(step.v, new_v, rtol=1e-15)
    np.testing.assert_allclose(step.bias_output, new_bias_output, rtol=1e-15)
    np.testing.assert_allclose(step.w, new_w, rtol=1e-15)
    np.testing.assert_allclose(step.bias_hidden, new_bias_hidden, rtol=1e-15)
    assert step.sse_before == pytest.approx(0.5 * E * E, rel=1e-15)
    np.testing.assert_array_equal(w_array, w)  # inputs untouched
    np.testing.assert_array_equal(v_array, v)
    assert tb.COURSE_ALPHA == 1.0 and tb.COURSE_ETA == 0.5


def test_training_step_lowers_the_error_on_its_pattern():
    rng = np.random.default_rng(2)
    I, desired, w, v, bias_hidden, bias_output = random_network(rng, (2, 3, 1), True)
    errors = []
    for _ in range(50):
        step = tb.training_step(I, desired, w, v, bias_hidden=bias_hidden, bias_output=bias_output)
        w, v, bias_hidden, bias_output, before = step
        errors.append(before)
    assert all(later < earlier for earlier, later in zip(errors, errors[1:]))


def test_initial_weights_are_in_the_course_range():
    w, v, bias_hidden, bias_output = tb.initial_weights(8, 8, 8, seed=0)
    for array in (w, v, bias_hidden, bias_output):
        assert np.all(array > -1.0) and np.all(array <= 1.0)
    assert w.shape == (8, 8) and v.shape == (8, 8) and bias_hidden.shape == (8,)
    assert tb.initial_weights(2, 2, 2, seed=0, bias=False)[2:] == (None, None)
    np.testing.assert_array_equal(tb.initial_weights(2, 3, 1, seed=4)[0], tb.initial_weights(2, 3, 1, seed=4)[0])


def test_initial_weights_draw_in_the_order_of_nn_initial_arrays():
    # Regression: textbook drew w, v, bias_hidden, bias_output while the MLP
    # draws layer by layer (w, bias_hidden, v, bias_output): one seed, two networks.
    from minigrad.nn import MLP, initial_arrays  # the test may import both; textbook.py may not

    for sizes in ((2, 2, 2), (3, 4, 2), (1, 5, 3)):
        for seed in (0, 1, 12345):
            w, v, bias_hidden, bias_output = tb.initial_weights(*sizes, seed=seed)
            (nn_w, nn_bias_hidden), (nn_v, nn_bias_output) = initial_arrays(list(sizes), seed=seed)
            np.testing.assert_array_equal(w, nn_w)
            np.testing.assert_array_equal(bias_hidden, nn_bias_hidden)
            np.testing.assert_array_equal(v, nn_v)
            np.testing.assert_array_equal(bias_output, nn_bias_output)
            state = MLP(list(sizes), seed=seed).state_dict()
            np.testing.assert_array_equal(w, state["w"])
            np.testing.assert_array_equal(v, state["v"])
            np.testing.assert_array_equal(bias_output, state["bias_output"])
            # Without biases, both draw w then v.
            w, v, none_hidden, none_output = tb.initial_weights(*sizes, seed=seed, bias=False)
            (nn_w, _), (nn_v, _) = initial_arrays(list(sizes), bias=False, seed=seed)
            np.testing.assert_array_equal(w, nn_w)
            np.testing.assert_array_equal(v, nn_v)
            assert none_hidden is None and none_output is None
    # A Generator is consumed in the same order: 1 − 2·U[0, 1), layer by layer.
    rng = np.random.default_rng(5)
    w, v, bias_hidden, bias_output = tb.initial_weights(2, 3, 1, seed=np.random.default_rng(5))
    np.testing.assert_array_equal(w, 1.0 - 2.0 * rng.random((2, 3)))
    np.testing.assert_array_equal(bias_hidden, 1.0 - 2.0 * rng.random(3))
    np.testing.assert_array_equal(v, 1.0 - 2.0 * rng.random((3, 1)))
    np.testing.assert_array_equal(bias_output, 1.0 - 2.0 * rng.random(1))


# -- one calling convention: data positional, everything else keyword-only ------


def test_alpha_biases_and_eta_are_keyword_only():
    import inspect

    for name in tb.__all__:
        function = getattr(tb, name)
        if not inspect.isfunction(function):
            continue
        for parameter in inspect.signature(function).parameters.values():
            if parameter.name in ("alpha", "bias_hidden", "bias_output", "eta", "literal"):
                assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, (name, parameter.name)
    I, desired = np.array([0.3, 0.9]), np.array([1.0, 0.0])
    w, v, bias_hidden, bias_output = tb.initial_weights(2, 2, 2, seed=0)
    # Regression: training_step(I, d, w, v, 2.0) used to take 2.0 as bias_hidden.
    with pytest.raises(TypeError):
        tb.training_step(I, desired, w, v, 2.0)
    with pytest.raises(TypeError):
        tb.forward(I, w, v, 2.0)
    with pytest.raises(TypeError):
        tb.gradients(I, desired, w, v, 2.0)


def test_training_step_with_alpha_and_eta_by_keyword():
    I, desired = np.array([0.3, 0.9]), np.array([1.0, 0.0])
    w, v, bias_hidden, bias_output = tb.initial_weights(2, 3, 2, seed=8)
    alpha, eta = 2.0, 0.1
    step = tb.training_step(I, desired, w, v, alpha=alpha, bias_hidden=bias_hidden, bias_output=bias_output,
                            eta=eta)
    grads = tb.gradients(I, desired, w, v, alpha=alpha, bias_hidden=bias_hidden, bias_output=bias_output)
    np.testing.assert_array_equal(step.w, w - eta * grads["w"])
    np.testing.assert_array_equal(step.v, v - eta * grads["v"])
    np.testing.assert_array_equal(step.bias_hidden, bias_hidden - eta * grads["bias_hidden"])
    np.testing.assert_array_equal(step.bias_output, bias_output - eta * grads["bias_output"])
    F = lambda x: 1.0 / (1.0 + np.exp(-alpha * x))  # noqa: E731
    A = F(F(I @ w + bias_hidden) @ v + bias_output)
    assert step.sse_before == pytest.approx(0.5 * np.sum((desired - A) ** 2), rel=1e-14)
    # The gain really is α = 2: the α = 1 step differs.
    course = tb.training_step(I, desired, w, v, bias_hidden=bias_hidden, bias_output=bias_output, eta=eta)
    assert not np.allclose(course.v, step.v)
