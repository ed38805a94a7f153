"""minigrad.check_derivation: a learner's hand-derived gradient graded against
autodiff, and the mistake named when it is wrong.

The right formulas come from `minigrad.textbook` (which shares no code with
the engine), from examples/exercise_solutions.py, and from hand-written
variants (loops instead of ``outer``).  Every usual mistake is written as a
learner would write it and must be diagnosed, by its code, on networks of
random sizes (1..8) and gains α; the notebook of exercises runs with the
reference solutions filled in.
"""

import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import cli, textbook
from minigrad.tools.grading import ForwardValues

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def load_solutions():
    spec = importlib.util.spec_from_file_location("exercise_solutions", EXAMPLES / "exercise_solutions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOLUTIONS = load_solutions()

# Networks of random sizes (1..8) and gains, drawn once from a fixed seed; with and without biases.
_draw = np.random.default_rng(33)
NETWORKS = [(tuple(int(n) for n in _draw.integers(1, 9, 3)), float(_draw.uniform(0.3, 4.0)), seed, seed != 3)
            for seed in range(6)]


def network(sizes, alpha, seed, bias=True):
    return mg.nn.MLP(list(sizes), alpha=alpha, seed=seed, bias=bias)


# ---------------------------------------------------------------------------
# Right formulas
# ---------------------------------------------------------------------------


def by_textbook(name, literal=False):
    """∂SSE/∂name from minigrad.textbook's own forward pass and formulas (vectorized or literal)."""
    def formula(q):
        biases = dict(bias_hidden=q.bias_hidden, bias_output=q.bias_output)
        return textbook.gradients(q.I, q.Desired, q.w, q.v, alpha=q.alpha, literal=literal, **biases)[name]
    return formula


def dv_loops(q):
    gradient = np.zeros_like(q.v)
    for h in range(q.v.shape[0]):
        for o in range(q.v.shape[1]):
            gradient[h, o] = -q.alpha * q.E[o] * q.F[o] * (1.0 - q.F[o]) * q.H[h]
    return gradient


def dw_loops(q):
    gradient = np.zeros_like(q.w)
    for i in range(len(q.I)):
        for h in range(len(q.H)):
            for o in range(len(q.A)):
                gradient[i, h] += (q.E[o] * -1 * q.alpha * q.A[o] * (1 - q.A[o]) * q.v[h, o]
                                   * q.alpha * q.H[h] * (1 - q.H[h]) * q.I[i])
    return gradient


def dw_from_sse_derivative(q):
    """Through ∂SSE/∂A = −E, as a list comprehension."""
    dSSE_dNdInpt = -q.E * q.alpha * q.A * (1 - q.A)
    dSSE_dH = [sum(q.v[h, o] * dSSE_dNdInpt[o] for o in range(len(q.A))) for h in range(len(q.H))]
    return np.array([[dSSE_dH[h] * q.alpha * q.H[h] * (1 - q.H[h]) * q.I[i] for h in range(len(q.H))]
                     for i in range(len(q.I))])


RIGHT = {
    "v": [by_textbook("v"), by_textbook("v", literal=True), SOLUTIONS.dSSE_dv, dv_loops],
    "w": [by_textbook("w"), by_textbook("w", literal=True), SOLUTIONS.dSSE_dw, dw_loops, dw_from_sse_derivative],
    "bias_output": [by_textbook("bias_output"), by_textbook("bias_output", literal=True),
                    SOLUTIONS.dSSE_dbias_output, lambda q: list(-q.alpha * q.E * q.A * (1 - q.A))],
    "bias_hidden": [by_textbook("bias_hidden"), by_textbook("bias_hidden", literal=True),
                    SOLUTIONS.dSSE_dbias_hidden],
}


@pytest.mark.parametrize("sizes, alpha, seed, bias", NETWORKS)
def test_right_formulas_pass(sizes, alpha, seed, bias):
    net = network(sizes, alpha, seed, bias)
    for wrt, formulas in RIGHT.items():
        if wrt.startswith("bias") and not bias:
            continue
        for formula in formulas:
            report = mg.check_derivation(formula, net, wrt=wrt)
            assert report.ok, (wrt, formula, report.diagnosis)
            assert report.mistake is None and report.cases_tried == 6 and report.cases_failed == 0
            assert report.worst_relative < 1e-12
            assert all(row.verdict == "ok" for row in report.rows)


# ---------------------------------------------------------------------------
# The usual mistakes
# ---------------------------------------------------------------------------


def delta_output(q):
    """α E_o F_o (1 − F_o)"""
    return q.alpha * q.E * q.A * (1 - q.A)


def delta_hidden(q):
    """α H_h (1 − H_h) Σ_o v[h,o] δ_o"""
    return q.alpha * q.H * (1 - q.H) * (q.v @ delta_output(q))


def always(sizes):
    return True


# (mistake code, parameter, the learner's formula, which sizes can show it)
MISTAKES = [
    # the sign: E defined as A − Desired, or the −1 of Eq. 6.21 dropped
    ("sign", "v", lambda q: np.outer(q.H, delta_output(q)), always),
    ("sign", "w", lambda q: -np.outer(q.I, q.alpha * q.H * (1 - q.H)
                                      * (q.v @ (q.alpha * (q.A - q.Desired) * q.A * (1 - q.A)))), always),
    ("sign", "bias_hidden", lambda q: delta_hidden(q), always),
    # α missing, or squared
    ("alpha_missing", "v", lambda q: -np.outer(q.H, q.E * q.A * (1 - q.A)), always),
    ("alpha_missing", "w", lambda q: -np.outer(q.I, q.H * (1 - q.H) * (q.v @ delta_output(q))), always),
    ("alpha_missing", "w", lambda q: -np.outer(q.I, q.H * (1 - q.H) * (q.v @ (q.E * q.A * (1 - q.A)))), always),
    ("alpha_missing", "bias_output", lambda q: -q.E * q.A * (1 - q.A), always),
    ("alpha_squared", "v", lambda q: -q.alpha ** 2 * np.outer(q.H, q.E * q.A * (1 - q.A)), always),
    ("alpha_squared", "bias_hidden", lambda q: -q.alpha * delta_hidden(q), always),
    # F(1 − F) missing, or replaced by F or by 1 − F
    ("slope_missing", "v", lambda q: -q.alpha * np.outer(q.H, q.E), always),
    ("slope_missing", "w", lambda q: -np.outer(q.I, q.alpha * (q.v @ delta_output(q))), always),
    ("slope_F", "v", lambda q: -q.alpha * np.outer(q.H, q.E * q.A), always),
    ("slope_F", "w", lambda q: -np.outer(q.I, q.alpha * q.H * (q.v @ delta_output(q))), always),
    ("slope_one_minus_F", "v", lambda q: -q.alpha * np.outer(q.H, q.E * (1 - q.A)), always),
    ("slope_one_minus_F", "bias_hidden", lambda q: -q.alpha * (1 - q.H) * (q.v @ delta_output(q)), always),
    # H and I swapped (in any shape), a transposed result (in any shape)
    ("H_I_swapped", "v", lambda q: -np.outer(q.I, delta_output(q)), lambda s: s[0] != s[1] or s[1] > 1),
    ("H_I_swapped", "w", lambda q: -np.outer(q.H, delta_hidden(q)), lambda s: s[0] != s[1] or s[1] > 1),
    ("transposed", "v", lambda q: -np.outer(delta_output(q), q.H), lambda s: s[1] * s[2] > 1),
    ("transposed", "w", lambda q: -np.outer(q.I, delta_hidden(q)).T, lambda s: s[0] * s[1] > 1),
    # the sum over output nodes missing: one output's path kept
    ("missing_sum", "w", lambda q: -np.outer(q.I, q.alpha * q.H * (1 - q.H) * q.v[:, 0] * delta_output(q)[0]),
     lambda s: s[2] > 1),
    ("missing_sum", "bias_hidden", lambda q: -q.alpha * q.H * (1 - q.H) * q.v[:, -1] * delta_output(q)[-1],
     lambda s: s[2] > 1),
    # another hidden node's activation, or its slope
    ("wrong_node", "v", lambda q: -np.outer(np.roll(q.H, 1), delta_output(q)), lambda s: s[1] > 1),
    ("wrong_node", "w", lambda q: -np.outer(q.I, q.alpha * q.H[0] * (1 - q.H[0]) * (q.v @ delta_output(q))),
     lambda s: s[1] > 1),
    # a stray 2 or ½
    ("factor_2", "v", lambda q: -2 * np.outer(q.H, delta_output(q)), always),
    ("factor_half", "w", lambda q: -0.5 * np.outer(q.I, delta_hidden(q)), always),
    # a bias given an input factor: in full (the weight's gradient), or one element each
    ("bias_input", "bias_output", lambda q: -np.outer(q.H, delta_output(q)), always),
    ("bias_input", "bias_hidden", lambda q: -np.outer(q.I, delta_hidden(q)), always),
    ("bias_input", "bias_output", lambda q: -delta_output(q) * q.H[0], always),
    ("bias_input", "bias_hidden", lambda q: -delta_hidden(q) * q.I[:len(q.H)], lambda s: s[0] >= s[1]),
]


@pytest.mark.parametrize("code, wrt, formula, shows", MISTAKES,
                         ids=[f"{code}-{wrt}-{k}" for k, (code, wrt, _, _) in enumerate(MISTAKES)])
def test_every_usual_mistake_is_diagnosed_on_random_sizes(code, wrt, formula, shows):
    tried = 0
    for sizes, alpha, seed, bias in NETWORKS:
        if not shows(sizes) or (wrt.startswith("bias") and not bias):
            continue
        report = mg.check_derivation(formula, network(sizes, alpha, seed, bias), wrt=wrt)
        assert not report.ok and report.mistake == code, (sizes, alpha, report.mistake, report.diagnosis)
        assert "Eq. 6." in report.diagnosis and report.equation, report.diagnosis
        tried += 1
    assert tried >= 3, f"only {tried} of the random networks can show {code}: draw others"


def test_networks_cover_the_sizes():
    sizes = [n for sizes, *_ in NETWORKS for n in sizes]
    assert min(sizes) == 1 and max(sizes) >= 7
    assert any(not bias for *_, bias in NETWORKS)


def test_the_sign_error_of_the_issue():
    net = mg.nn.MLP([2, 2, 2], alpha=1.0, seed=0)
    report = mg.check_derivation(lambda q: q.alpha * np.outer(q.H, q.E * q.A * (1 - q.A)), net, wrt="v")
    assert report.mistake == "sign" and report.equation == "6.17·6.21"
    assert report.diagnosis.startswith("yours is −1 × autodiff: a sign error in ∂SSE/∂A_o = −E_o (Eq. 6.17·6.21)")
    assert all(row.verdict == "WRONG" and row.yours == pytest.approx(-row.autodiff, rel=1e-15)
               for row in report.rows)


@pytest.mark.parametrize("formula, wrt, equation, names", [
    (lambda q: -np.outer(q.H, q.E * q.A * (1 - q.A)), "v", "6.23", "∂A_o/∂NdInpt_o = α F_o (1 − F_o)"),
    (lambda q: -np.outer(q.I, q.alpha * q.H * (q.v @ delta_output(q))), "w", "6.2",
     "∂H_h/∂NdInpt_hidden_h = α H_h (1 − H_h)"),
    (lambda q: -np.outer(q.I, q.alpha * q.H * (1 - q.H) * q.v[:, 1] * delta_output(q)[1]), "w", "6.25",
     "yours keeps only the path through A_1 for every element"),
    (lambda q: -np.outer(q.I, delta_output(q)), "v", "6.27", "you used I where H belongs: ∂NdInpt_o/∂v[h,o] = H_h"),
    (lambda q: -np.outer(q.H, delta_hidden(q)), "w", "6.27 one layer down",
     "you used H where I belongs: ∂NdInpt_hidden_h/∂w[i,h] = I_i"),
    (lambda q: -np.outer(np.roll(q.H, 1), delta_output(q)), "v", "6.27",
     "H_2 where H_0 belongs, H_0 where H_1 belongs, H_1 where H_2 belongs"),
    (lambda q: -np.outer(q.H, delta_output(q)), "bias_output", "6.27",
     "∂NdInpt_o/∂bias_output_o = 1 (Eq. 6.27)"),
])
def test_each_diagnosis_names_the_factor_and_its_equation(formula, wrt, equation, names):
    report = mg.check_derivation(formula, network((2, 3, 2), 1.5, 0), wrt=wrt)
    assert report.equation == equation
    assert names in report.diagnosis, report.diagnosis
    assert f"Eq. {equation}" in report.diagnosis


def test_alpha_missing_from_one_of_two_slopes_names_both():
    report = mg.check_derivation(lambda q: -np.outer(q.I, q.H * (1 - q.H) * (q.v @ delta_output(q))),
                                 network((3, 4, 2), 2.0, 1), wrt="w")
    assert report.mistake == "alpha_missing"
    assert "(Eq. 6.23)" in report.diagnosis and "(Eq. 6.2)" in report.diagnosis and "α^2" in report.diagnosis


def test_two_mistakes_at_once():
    report = mg.check_derivation(lambda q: np.outer(q.H, q.E * q.A * (1 - q.A)), network((2, 3, 2), 1.0, 0), "v")
    assert report.mistake == "sign+alpha_missing"
    assert report.diagnosis.startswith("two mistakes: yours is −1 × autodiff")


def test_a_constant_factor_no_usual_mistake_explains():
    report = mg.check_derivation(lambda q: 3 * SOLUTIONS.dSSE_dv(q), network((2, 3, 2), 1.0, 0), "v")
    assert report.mistake == "constant_factor" and report.diagnosis.startswith("yours is 3 × autodiff")


def test_an_unknown_mistake_shows_the_first_differing_element():
    net = network((2, 3, 2), 1.0, 0)
    report = mg.check_derivation(lambda q: SOLUTIONS.dSSE_dv(q) + 0.001, net, wrt="v")
    assert not report.ok and report.mistake == "unknown" and report.equation is None
    case, element, yours, autodiff = report.first_difference
    assert (case, element) == ("the given network (α = 1)", "v[0,0]")
    assert yours == pytest.approx(autodiff + 0.001, rel=1e-12)
    assert report.diagnosis == (f"no single usual mistake reproduces your numbers. First difference: v[0,0] on the "
                                f"given network (α = 1): yours {yours:.12g}, autodiff {autodiff:.12g}")
    assert report.rows[0].yours == yours and report.rows[0].verdict == "WRONG"


def test_a_placeholder_of_zeros_is_named():
    report = mg.check_derivation(lambda q: np.zeros((3, 2)), network((2, 3, 2), 1.0, 0), "v")
    assert report.mistake == "unknown" and "still a placeholder" in report.diagnosis


# ---------------------------------------------------------------------------
# Not one lucky point
# ---------------------------------------------------------------------------


def test_a_formula_right_only_where_alpha_is_1_fails():
    net = network((2, 3, 2), 1.0, 0)
    report = mg.check_derivation(lambda q: -np.outer(q.H, q.E * q.A * (1 - q.A)), net, wrt="v")
    assert not report.ok and report.cases_tried == 6 and report.cases_failed == 5
    assert report.mistake == "alpha_missing"
    assert report.diagnosis.startswith("right on the given network (α = 1), but wrong on all 5 others")
    assert report.rows_case.startswith("random network 1")


def test_hard_coded_numbers_right_at_the_given_point_fail():
    net = network((2, 3, 2), 1.0, 0)
    _, inputs, desired = mg.nn.example_network([2, 3, 2], alpha=1.0, seed=0)
    state = net.state_dict()
    numbers = textbook.gradients(inputs, desired, state["w"], state["v"], alpha=1.0,
                                 bias_hidden=state["bias_hidden"], bias_output=state["bias_output"])["v"]
    report = mg.check_derivation(lambda q: numbers, net, wrt="v")
    assert not report.ok and report.cases_failed == 5
    assert report.diagnosis.startswith("right on the given network")


def test_the_cases_are_the_given_network_and_random_ones():
    net = network((2, 3, 2), 1.0, 0)
    seen = []

    def record(q):
        seen.append((q.alpha, q.w.copy(), q.I.copy()))
        return SOLUTIONS.dSSE_dv(q)

    report = mg.check_derivation(record, net, wrt="v", random_cases=3, seed=7)
    assert report.cases_tried == 4 and len(seen) == 4
    assert report.cases[0] == "the given network (α = 1)" and report.cases[1].startswith("random network 1 (α = ")
    assert np.array_equal(seen[0][1], net.w.data)
    alphas = [alpha for alpha, _, _ in seen[1:]]
    assert len(set(alphas)) == 3 and all(0.5 <= a <= 3.0 and abs(a - 1.0) > 0.1 for a in alphas)
    assert all(not np.allclose(w, seen[0][1]) for _, w, _ in seen[1:])
    again = []
    mg.check_derivation(lambda q: again.append(q.alpha) or SOLUTIONS.dSSE_dv(q), net, wrt="v", random_cases=3, seed=7)
    assert again == [alpha for alpha, _, _ in seen]  # seeded: the same cases every time


def test_the_tolerance():
    net = network((2, 3, 2), 1.0, 0)
    off = lambda q: SOLUTIONS.dSSE_dv(q) * (1 + 1e-7)
    assert not mg.check_derivation(off, net, wrt="v").ok
    assert mg.check_derivation(off, net, wrt="v", tolerance=1e-6).ok
    from minigrad.tools import grading
    assert grading.DEFAULT_TOLERANCE == 1e-9


def test_a_saturated_network_does_not_fail_a_formula_that_subtracts():
    """1 − A by subtraction loses digits where A is within rounding of 1; the tolerance widens there."""
    net = mg.nn.MLP([3, 4, 2], alpha=6.0, seed=1, init=5.0)
    report = mg.check_derivation(SOLUTIONS.dSSE_dw, net, wrt="w")
    assert report.ok, report.diagnosis
    assert report.worst_relative > 1e-9  # it needed the widening


def test_the_network_is_left_as_it_was():
    net = network((2, 3, 2), 1.0, 0)
    before = {name: array.copy() for name, array in net.state_dict().items()}
    mg.check_derivation(SOLUTIONS.dSSE_dw, net, wrt=net.w)
    assert all(np.array_equal(before[name], array) for name, array in net.state_dict().items())
    assert all(parameter.grad is None for parameter in net.parameters())


def test_a_scalar_network_is_checked_the_same_way():
    net = mg.nn.ScalarMLP([2, 2, 3], alpha=2.0, seed=3)
    assert mg.check_derivation(SOLUTIONS.dSSE_dw, net, wrt="w").ok
    assert mg.check_derivation(lambda q: -SOLUTIONS.dSSE_dw(q), net, wrt="w").mistake == "sign"


# ---------------------------------------------------------------------------
# Bad learner functions: clear errors, not tracebacks from deep inside
# ---------------------------------------------------------------------------


def test_a_function_that_raises():
    def broken(q):
        return q.H * q.E  # (3,) * (2,)

    with pytest.raises(mg.DerivationError) as caught:
        mg.check_derivation(broken, network((2, 3, 2), 1.0, 0), wrt="v")
    error = caught.value
    assert error.reason == "raised" and isinstance(error.original, ValueError)
    line = broken.__code__.co_firstlineno + 1
    assert str(error).startswith(f"your function broken raised ValueError at test_check_derivation.py:{line} on "
                                 "the given network (α = 1): operands could not be broadcast together")
    assert "return q.H * q.E" in str(error)
    assert error.__cause__ is None and error.__suppress_context__


def test_a_misspelt_name_lists_the_names_q_has():
    with pytest.raises(mg.DerivationError, match=r"q has no 'Hidden'; it has I, w, bias_hidden, NdInpt_hidden, H, "
                                                 r"v, bias_output, NdInpt, A, F, Desired, E, alpha"):
        mg.check_derivation(lambda q: q.Hidden, network((2, 3, 2), 1.0, 0), wrt="v")


def test_a_placeholder_that_raises_not_implemented():
    def dSSE_dv(q):
        raise NotImplementedError("Exercise 1: write ∂SSE/∂v here")

    with pytest.raises(mg.DerivationError, match="raised NotImplementedError at .*: Exercise 1: write ∂SSE/∂v here"):
        mg.check_derivation(dSSE_dv, network((2, 3, 2), 1.0, 0), wrt="v")


@pytest.mark.parametrize("result, reason, message", [
    (np.zeros((5, 5)), "shape", r"your function bad returned shape \(5, 5\); ∂SSE/∂v has the shape of v, \(3, 2\)$"),
    (np.zeros((2, 3)), "shape", r"shape \(2, 3\); .* — did you transpose\? Yours is shaped like v.T"),
    (np.zeros((2, 2)), "shape", r"— shaped like outer\(I, …\): I_i where H_h belongs \(Eq. 6.27\)\?"),
    (0.5, "shape", r"one number for each element of v, not a single number"),
    (np.full((3, 2), np.nan), "not_finite", r"returned nan at element \(0, 0\) on the given network"),
    (np.full((3, 2), np.inf), "not_finite", r"returned inf"),
    (None, "not_numeric", r"returned None .*did you forget the `return`\?"),
    ("0.5", "not_numeric", r"returned str of dtype <U3, not real numbers"),
    (np.zeros((3, 2), dtype=complex), "not_numeric", r"returned complex numbers"),
    (mg.Value(np.zeros((3, 2))), "not_numeric", r"returned a minigrad Value"),
    ([[1.0, 2.0], [3.0]], "not_numeric", r"not an array of numbers"),
])
def test_bad_results_are_named(result, reason, message):
    def bad(q):
        return result

    with pytest.raises(mg.DerivationError, match=message) as caught:
        mg.check_derivation(bad, network((2, 3, 2), 1.0, 0), wrt="v")
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("error, shown", [
    (SystemExit(0), r"raised SystemExit at test_check_derivation.py:\d+ on the given network \(α = 1\): it called "
                    r"sys.exit\(0\), which ends a program, not a gradient"),
    (KeyboardInterrupt(), r"raised KeyboardInterrupt at test_check_derivation.py:\d+ on the given network"),
])
def test_sys_exit_and_keyboard_interrupt_are_errors_not_passes(error, shown):
    # Issue 19: a learner's sys.exit(0) made `check` exit 0, "correct", with no output.
    def cheat(q):
        raise error

    with pytest.raises(mg.DerivationError, match=shown) as caught:
        mg.check_derivation(cheat, network((2, 3, 2), 1.0, 0), wrt="v")
    assert caught.value.reason == "raised" and caught.value.original is error


def test_a_function_that_never_returns_is_stopped_and_named():
    def endless(q):
        while True:
            pass

    with pytest.raises(mg.DerivationError) as caught:
        mg.check_derivation(endless, network((2, 3, 2), 1.0, 0), wrt="v", time_limit=0.2)
    line = endless.__code__.co_firstlineno + 1
    assert caught.value.reason == "timed_out"
    assert str(caught.value).startswith(f"your function endless did not return within 0.2 s on the given network "
                                        f"(α = 1) (stopped at test_check_derivation.py:{line}: while True:)")


def test_the_time_limit_is_per_case_and_a_slow_right_formula_passes():
    import time

    def slow_but_right(q):
        time.sleep(0.05)
        return SOLUTIONS.dSSE_dv(q)

    # six cases of 0.05 s each: over 0.2 s in all, under it one by one
    assert mg.check_derivation(slow_but_right, network((2, 3, 2), 1.0, 0), wrt="v", time_limit=0.2).ok


def test_the_time_limit_holds_off_the_main_thread():
    import threading

    def endless(q):
        while True:
            pass

    box = {}

    def grade():
        try:
            mg.check_derivation(endless, network((2, 3, 2), 1.0, 0), wrt="v", time_limit=0.2)
        except mg.DerivationError as error:
            box["error"] = error

    thread = threading.Thread(target=grade)
    thread.start()
    thread.join(30)
    assert not thread.is_alive() and box["error"].reason == "timed_out"


def test_a_loss_fn_that_exits_or_never_returns_is_reported_and_its_own_errors_pass_through():
    import sys

    def exits(rng):
        sys.exit(0)

    def endless(rng):
        while True:
            pass

    def broken(rng):
        raise ZeroDivisionError("in the graph")

    with pytest.raises(mg.DerivationError, match=r"loss_fn exits raised SystemExit on graph 1 \(loss_fn\(rng 0\)\): it "
                                                 r"called sys.exit\(0\)") as caught:
        mg.check_derivation(lambda q: 0.0, exits, wrt="W")
    assert caught.value.reason == "raised"
    with pytest.raises(mg.DerivationError, match=r"loss_fn endless did not return within 0.2 s on graph 1") as caught:
        mg.check_derivation(lambda q: 0.0, endless, wrt="W", time_limit=0.2)
    assert caught.value.reason == "timed_out"
    with pytest.raises(ZeroDivisionError, match="in the graph"):
        mg.check_derivation(lambda q: 0.0, broken, wrt="W")


def test_arrays_of_different_shapes_in_different_cases():
    calls = []

    def shifty(q):
        calls.append(1)
        return np.zeros((3, 2)) if len(calls) == 1 else np.zeros(6)

    with pytest.raises(mg.DerivationError, match="arrays of different shapes"):
        mg.check_derivation(shifty, network((2, 3, 2), 1.0, 0), wrt="v")


def test_q_is_read_only_and_fresh_each_call():
    def mutate(q):
        q.H[:] = 0.0  # a copy: harmless to the check
        with pytest.raises(AttributeError, match="read-only"):
            q.H = 1.0
        return np.zeros((3, 2))

    net = network((2, 3, 2), 1.0, 0)
    mg.check_derivation(mutate, net, wrt="v")
    assert mg.check_derivation(SOLUTIONS.dSSE_dv, net, wrt="v").ok
    q = ForwardValues({"H": np.ones(2), "alpha": 1.0})
    assert q["H"] is q.H and "alpha" in q and list(q) == ["H", "alpha"]
    assert repr(q) == "ForwardValues(H(2,), alpha=1)"


@pytest.mark.parametrize("call, error, message", [
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, network((2, 3, 2), 1.0, 0), wrt="u"), ValueError,
     "wrt must name one of the network's parameters: v, w, bias_output, bias_hidden; got 'u'"),
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, network((2, 3, 2), 1.0, 0, bias=False), wrt="bias_output"),
     ValueError, "this network has no biases"),
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, network((2, 3, 3, 2), 1.0, 0), wrt="v"), ValueError,
     "use the general form"),
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, mg.nn.MLP([2, 3, 2], activation="tanh"), wrt="v"), ValueError,
     "the chapter's network has sigmoid layers; this one has activation 'tanh' and output 'tanh'"),
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, "net", wrt="v"), TypeError, "must be a minigrad.nn.MLP"),
    (lambda: mg.check_derivation("f", network((2, 3, 2), 1.0, 0), wrt="v"), TypeError, "fn must be a function"),
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, network((2, 3, 2), 1.0, 0), wrt="v", random_cases=-1),
     ValueError, "random_cases must be an integer ≥ 0"),
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, network((2, 3, 2), 1.0, 0), wrt="v", tolerance=-1e-9),
     ValueError, "tolerance must be finite and ≥ 0"),
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, network((2, 3, 2), 1.0, 0), wrt="v", random_cases=2.0),
     TypeError, "random_cases must be an integer, got float 2.0"),
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, network((2, 3, 2), 1.0, 0), wrt="v", seed=True),
     TypeError, "seed must be an integer, got bool True"),
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, network((2, 3, 2), 1.0, 0), wrt="v", time_limit=0),
     ValueError, "check_derivation: time_limit must be finite and > 0, got 0"),
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, network((2, 3, 2), 1.0, 0), wrt="v", time_limit="5"),
     TypeError, "check_derivation: time_limit must be a real number, got str '5'"),
    (lambda: mg.check_derivation(SOLUTIONS.dSSE_dv, network((2, 3, 2), 1.0, 0), wrt="v", inputs=[1.0]),
     ValueError, r"inputs must be one pattern of shape \(2,\)"),
])
def test_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------


def test_the_report_reads_in_a_terminal_and_in_jupyter():
    net = mg.nn.MLP([2, 2, 2], alpha=1.0, seed=0)
    wrong = mg.check_derivation(lambda q: -SOLUTIONS.dSSE_dv(q), net, wrt="v")
    text = str(wrong)
    assert text.splitlines()[0] == "∂SSE/∂v for a 2-2-2 sigmoid network: yours beside minigrad's reverse mode"
    assert "6 cases: the given network (α = 1) and 5 random networks of the same sizes (α = 0.7229, " in text
    assert re.search(r"^element +yours +autodiff +relative +verdict$", text, re.M)
    assert re.search(r"^v\[1,0\] +-0\.0286243378738 +0\.0286243378738 +2\.0e\+00 +WRONG$", text, re.M)
    assert "WRONG in 6 of 6 cases (tolerance 1e-09)" in text and f"diagnosis: {wrong.diagnosis}" in text
    page = wrong._repr_html_()
    assert "<table>" in page and "<td>v[1,0]</td>" in page and "diagnosis:" in page
    assert repr(wrong) == "<DerivationReport ∂SSE/∂v: WRONG (sign), 6 cases>"
    right = mg.check_derivation(SOLUTIONS.dSSE_dv, net, wrt="v")
    assert repr(right) == "<DerivationReport ∂SSE/∂v: right, 6 cases>"
    assert "RIGHT: agrees with autodiff in all 6 cases" in str(right) and "diagnosis" not in str(right)


def test_a_transposed_result_of_another_shape_is_diagnosed_not_refused():
    report = mg.check_derivation(lambda q: SOLUTIONS.dSSE_dv(q).T, network((2, 3, 2), 1.0, 0), wrt="v")
    assert report.mistake == "transposed"
    assert all(row.verdict == "shape" and row.yours is None for row in report.rows)
    assert "—  shape" in str(report).replace("   ", "  ")


# ---------------------------------------------------------------------------
# The general form: any graph
# ---------------------------------------------------------------------------


def deep_loss(rng):
    """Two hidden layers, named nodes, the chapter's SSE."""
    x = mg.Value(rng.uniform(-1, 1, 3), name="x", requires_grad=False)
    W1 = mg.Value(rng.uniform(-1, 1, (3, 4)), name="W1")
    W2 = mg.Value(rng.uniform(-1, 1, (4, 3)), name="W2")
    W3 = mg.Value(rng.uniform(-1, 1, (3, 2)), name="W3")
    H1 = (x @ W1).sigmoid(1.5)
    H1.name = "H1"
    H2 = (H1 @ W2).sigmoid(1.5)
    H2.name = "H2"
    A = (H2 @ W3).sigmoid(1.5)
    A.name = "A"
    return mg.sse(mg.Value(rng.uniform(0, 1, 2), name="Desired", requires_grad=False), A)


def dW1(q):
    delta_3 = q.alpha * q.E * q.A * (1 - q.A)
    delta_2 = q.alpha * q.H2 * (1 - q.H2) * (q.W3 @ delta_3)
    delta_1 = q.alpha * q.H1 * (1 - q.H1) * (q.W2 @ delta_2)
    return -np.outer(q.x, delta_1)


def test_a_deeper_network():
    report = mg.check_derivation(dW1, deep_loss, wrt="W1")
    assert report.ok and report.cases_tried == 6 and report.cases[0] == "graph 1 (loss_fn(rng 0))"
    assert mg.check_derivation(lambda q: -dW1(q), deep_loss, wrt="W1").mistake == "sign"
    assert mg.check_derivation(lambda q: dW1(q).T, deep_loss, wrt="W1").mistake == "transposed"

    def middle_slope_F(q):
        delta_3 = q.alpha * q.E * q.A * (1 - q.A)
        delta_2 = q.alpha * q.H2 * (q.W3 @ delta_3)
        return -np.outer(q.x, q.alpha * q.H1 * (1 - q.H1) * (q.W2 @ delta_2))

    report = mg.check_derivation(middle_slope_F, deep_loss, wrt="W1")
    assert report.mistake == "slope_F" and "(1 − H2[0]) is missing" in report.diagnosis and report.equation == "6.2"


def squares_of_tanh(rng):
    x = mg.Value(rng.uniform(-1, 1, 3), name="x", requires_grad=False)
    W = mg.Value(rng.uniform(-1, 1, (3, 2)), name="W")
    y = (x @ W).tanh()
    y.name = "y"
    return ((y - 0.5) ** 2).sum()


def test_another_loss():
    def right(q):
        return np.outer(q.x, 2 * (q.y - 0.5) * (1 - q.y ** 2))

    assert mg.check_derivation(right, squares_of_tanh, wrt="W").ok
    half = mg.check_derivation(lambda q: right(q) / 2, squares_of_tanh, wrt="W")
    assert half.mistake == "factor_half" and "∂loss/∂y[0] = 2·(y − 0.5)[0]" in half.diagnosis
    swapped = mg.check_derivation(lambda q: np.outer(q.y, 2 * (q.y - 0.5) * (1 - q.y ** 2)), squares_of_tanh, "W")
    assert swapped.mistake == "wrong_layer" and swapped.diagnosis.startswith("you used y where x belongs")


def test_one_fixed_graph_and_wrt_as_a_value():
    W = mg.Value(np.array([[0.3, -0.2], [0.5, 0.1]]), name="W")

    def loss_fn():
        y = (mg.Value(np.array([1.0, 2.0]), name="x", requires_grad=False) @ W).sigmoid()
        y.name = "y"
        return mg.sse(np.array([0.0, 1.0]), y)

    report = mg.check_derivation(lambda q: -np.outer(q.x, q.E * q.y * (1 - q.y)), loss_fn, wrt=W)
    assert report.ok and report.cases == ["the graph of loss_fn()"] and repr(report).endswith("1 case>")
    assert W.grad is None
    with pytest.raises(ValueError, match="no node named 'V'"):
        mg.check_derivation(lambda q: q.W, loss_fn, wrt="V")
    with pytest.raises(TypeError, match="inputs and desired are for a network"):
        mg.check_derivation(lambda q: q.W, loss_fn, wrt="W", inputs=[1.0, 2.0])


# ---------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------


DERIVATION = '''
import numpy as np

def my_dSSE_dv(q):
    return -q.alpha * np.outer(q.H, q.E * q.A * (1 - q.A))

def sign_error(q):
    return q.alpha * np.outer(q.H, q.E * q.A * (1 - q.A))

def broken(q):
    return q.H * q.E

number = 3
'''


@pytest.fixture
def derivation(tmp_path):
    path = tmp_path / "my_derivation.py"
    path.write_text(DERIVATION)
    return path


def test_cli_exits_0_for_a_right_formula(derivation, capsys):
    assert cli.main(["check", f"{derivation}:my_dSSE_dv", "--weight", "v"]) == 0
    out = capsys.readouterr().out
    assert "RIGHT: agrees with autodiff in all 6 cases" in out


def test_cli_exits_1_with_the_diagnosis(derivation, capsys):
    assert cli.main(["check", f"{derivation}:sign_error", "--weight", "v", "--layers", "3", "4", "2"]) == 1
    out = capsys.readouterr().out
    assert "∂SSE/∂v for a 3-4-2 sigmoid network" in out
    assert "diagnosis: yours is −1 × autodiff: a sign error" in out
    assert cli.main(["check", f"{derivation}:broken", "--layers", "2", "3", "2"]) == 1
    out = capsys.readouterr().out
    line = DERIVATION.splitlines().index("    return q.H * q.E") + 1
    assert f"your function broken raised ValueError at my_derivation.py:{line}" in out


@pytest.mark.parametrize("target, message", [
    ("{path}:nothere", "{path} has no function 'nothere'; it defines broken, my_dSSE_dv, sign_error"),
    ("{path}:number", "{path}: number is not a function"),
    ("{path}", "expected FILE:FUNCTION"),
    ("{folder}/missing.py:f", "{folder}/missing.py: no such file"),
])
def test_cli_usage_errors_are_one_line_with_status_2(derivation, capsys, target, message):
    fill = dict(path=derivation, folder=derivation.parent)
    assert cli.main(["check", target.format(**fill)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"minigrad check: {message.format(**fill)}")


CHEATS = '''import sys

def exits(q):
    sys.exit(0)

def interrupted(q):
    raise KeyboardInterrupt

def endless(q):
    while True:
        pass

def stubborn(q):
    while True:
        try:
            total = 0
            for k in range(10 ** 9):
                total += k
        except BaseException:
            continue
'''


@pytest.mark.parametrize("function, message", [
    ("exits", "your function exits raised SystemExit at cheats.py:4 on the given network (α = 1): it called "
              "sys.exit(0)"),
    ("interrupted", "your function interrupted raised KeyboardInterrupt at cheats.py:7"),
    ("endless", "your function endless did not return within 0.3 s on the given network (α = 1) (stopped at "
                "cheats.py:"),
])
def test_cli_a_cheat_or_a_hang_exits_1_with_the_reason(tmp_path, function, message):
    """In a process of its own, as a grading script runs it: exit status 1, never 0, and the reason on stdout."""
    import subprocess
    import sys

    (tmp_path / "cheats.py").write_text(CHEATS)
    result = subprocess.run([sys.executable, "-m", "minigrad", "check", f"cheats.py:{function}", "--time-limit",
                             "0.3"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout.startswith(f"cannot grade cheats.py:{function}: {message}"), result.stdout
    assert "Traceback" not in result.stderr


def test_cli_a_function_that_cannot_be_stopped_ends_the_command(tmp_path):
    import subprocess
    import sys

    (tmp_path / "cheats.py").write_text(CHEATS)
    result = subprocess.run([sys.executable, "-m", "minigrad", "check", "cheats.py:stubborn", "--time-limit", "0.3"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1
    assert result.stdout == ("cannot grade cheats.py:stubborn: your function did not return within 0.3 s, and it "
                             "could not be stopped (does it catch every exception, even the one that stops it, and "
                             "loop again?)\n")


@pytest.mark.parametrize("source, message", [
    ("import sys\nsys.exit(0)\n", "it called sys.exit(0) while loading"),
    ("raise KeyboardInterrupt\n", "KeyboardInterrupt"),
    ("while True:\n    pass\n", "it did not finish loading within 0.3 s (an endless loop at the top level"),
])
def test_cli_a_file_that_exits_or_hangs_as_it_loads(tmp_path, capsys, source, message):
    path = tmp_path / "cheat.py"
    path.write_text(source)
    assert cli.main(["check", f"{path}:f", "--time-limit", "0.3"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert captured.err.startswith(f"minigrad check: could not load {path}: ") and message in captured.err


@pytest.mark.parametrize("arguments, message", [
    (["--cases", "101"], "--cases: must be an integer from 0 to 100, got 101"),
    (["--cases", "100000"], "--cases: must be an integer from 0 to 100, got 100000"),
    (["--cases", "-1"], "--cases: must be an integer from 0 to 100, got -1"),
    (["--time-limit", "0"], "--time-limit: must be finite and > 0, got 0"),
    (["--time-limit", "-2"], "--time-limit: must be finite and > 0, got -2"),
    (["--time-limit", "nan"], "--time-limit: must be finite and > 0, got nan"),
    (["--time-limit", "soon"], "--time-limit: must be a number, got 'soon'"),
])
def test_cli_cases_are_bounded_and_the_time_limit_checked(derivation, capsys, arguments, message):
    assert cli.main(["check", f"{derivation}:my_dSSE_dv", *arguments]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"minigrad check: {message}\n"


def test_cli_the_largest_number_of_cases_runs(derivation, capsys):
    assert cli.main(["check", f"{derivation}:my_dSSE_dv", "--cases", "100", "--layers", "1", "1", "1"]) == 0
    assert "RIGHT: agrees with autodiff in all 101 cases" in capsys.readouterr().out


def test_cli_a_file_that_does_not_load(tmp_path, capsys):
    path = tmp_path / "broken.py"
    path.write_text("def f(q):\n    return q.H +\n")
    assert cli.main(["check", f"{path}:f"]) == 2
    assert capsys.readouterr().err.startswith(f"minigrad check: could not load {path}: SyntaxError at line 2")


# ---------------------------------------------------------------------------
# The exercises notebook
# ---------------------------------------------------------------------------


def exercise_cells(notebook):
    return [cell for cell in notebook["cells"] if "exercise" in cell["metadata"].get("tags", [])]


def defined_function(cell):
    return re.search(r"^def (\w+)\(q\):", "".join(cell["source"]), re.M).group(1)


def test_the_notebook_ships_its_exercises_unsolved():
    notebook = json.loads((EXAMPLES / "exercises.ipynb").read_text())
    cells = exercise_cells(notebook)
    assert [defined_function(cell) for cell in cells] == ["dSSE_dv", "dSSE_dw", "dSSE_dbias_output",
                                                           "dSSE_dbias_hidden"]
    net = mg.nn.MLP([2, 3, 2], alpha=1.0, seed=0)
    for cell, wrt in zip(cells, ["v", "w", "bias_output", "bias_hidden"]):
        namespace = {"np": np}
        exec("".join(cell["source"]), namespace)
        with pytest.raises(mg.DerivationError, match="raised NotImplementedError"):
            mg.check_derivation(namespace[defined_function(cell)], net, wrt=wrt)
        assert hasattr(SOLUTIONS, defined_function(cell))
    assert all(not cell.get("outputs") for cell in notebook["cells"] if cell["cell_type"] == "code")


@pytest.mark.slow
def test_the_notebook_runs_with_the_reference_solutions(tmp_path):
    """Each exercise cell is replaced by an import of its reference solution; every check must then say right."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(EXAMPLES / "exercises.ipynb", as_version=4)
    for cell in exercise_cells(notebook):
        cell.source = f"from exercise_solutions import {defined_function(cell)}"
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(EXAMPLES)}}).execute()
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{output.get('ename')}: {output.get('evalue')}"
            texts.append(output.get("data", {}).get("text/plain", ""))
            if "check" in cell.metadata.get("tags", []):
                assert ": right, 6 cases>" in output.data["text/plain"], output.data["text/plain"]
                assert "RIGHT: agrees with autodiff" in output.data["text/html"]
    assert sum(": right, 6 cases>" in text for text in texts) == 4
    assert "<DerivationReport ∂SSE/∂v: WRONG (sign), 6 cases>" in texts


# ---------------------------------------------------------------------------
# The documentation's example
# ---------------------------------------------------------------------------


def test_the_documented_example_prints_what_the_docs_show(capsys):
    # docs/check_derivation.md pastes this example's output; the README quotes its diagnosis.
    from readme_text import assert_matches_readme

    text = (ROOT / "docs" / "check_derivation.md").read_text()
    section = text.split("## Reference", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    pasted = section.split("```text\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "docs/check_derivation.md", "exec"), {})
    assert_matches_readme(capsys.readouterr().out, pasted)
    readme = (ROOT / "README.md").read_text()
    assert "report.diagnosis   # the sum over output nodes is missing: w[i,h] reaches the SSE through H_h" in readme
