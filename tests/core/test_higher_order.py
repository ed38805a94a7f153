"""Beyond the first derivative: create_graph, mg.grad, the chapter's sigmoid to second order, the
Hessian of the chapter network's SSE in closed form, forward mode, retain_graph, and memory."""

import gc
import tracemalloc

import mpmath
import numpy as np
import pytest

import minigrad as mg
from minigrad.core import ops

torch = pytest.importorskip("torch")

X = np.array([-2.5, -0.3, 0.0, 0.7, 3.0])


def second_derivative(f, x):
    """d²f/dx² elementwise (f elementwise), by grad of grad."""
    value = mg.Value(x)
    (first,) = mg.grad(f(value).sum(), value, create_graph=True)
    (second,) = mg.grad(first.sum(), value)
    return second


# -- analytic cases, to 1e-12 --------------------------------------------------------------


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_the_chapters_sigmoid_to_second_order(alpha):
    """d²F/dx² = α² F (1 − F)(1 − 2F), the derivative of Eq. 6.2."""
    F = 1.0 / (1.0 + np.exp(-alpha * X))
    want = alpha ** 2 * F * (1.0 - F) * (1.0 - 2.0 * F)
    np.testing.assert_allclose(second_derivative(lambda v: v.sigmoid(alpha), X), want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("x", [30.0, -30.0, 45.0, -600.0])
def test_the_sigmoids_second_derivative_keeps_its_accuracy_in_saturation(x):
    """No 1 − F by subtraction: at x = 30 F'' is −9.4e−14, which 1 − F computed as such would lose."""
    with mpmath.workdps(60):
        F = 1 / (1 + mpmath.exp(-mpmath.mpf(x)))
        want = float(F * (1 - F) * (1 - 2 * F))
    got = float(second_derivative(lambda v: v.sigmoid(), np.array([x]))[0])
    assert got == pytest.approx(want, rel=1e-12)
    naive_F = 1.0 / (1.0 + np.exp(-x))
    if x == 45.0:
        assert naive_F * (1.0 - naive_F) * (1.0 - 2.0 * naive_F) == 0.0  # what subtraction gives there


@pytest.mark.parametrize("name, function, second", [
    ("tanh", lambda v: v.tanh(), lambda x: -2.0 * np.tanh(x) * (1.0 - np.tanh(x) ** 2)),
    ("exp", lambda v: v.exp(), np.exp),
    ("log", lambda v: (v * v + 1.0).log(), lambda x: 2.0 * (1.0 - x * x) / (x * x + 1.0) ** 2),
])
def test_analytic_second_derivatives(name, function, second):
    np.testing.assert_allclose(second_derivative(function, X), second(X), rtol=1e-12, atol=1e-15, err_msg=name)


def test_the_sse_has_the_identity_as_its_hessian_in_actual():
    desired = np.array([1.0, 0.0, 0.5])
    actual = np.array([0.2, 0.4, 0.9])
    np.testing.assert_allclose(mg.hessian(lambda a: mg.sse(desired, a), actual), np.eye(3), rtol=1e-12)
    np.testing.assert_allclose(mg.hessian(lambda a: mg.mse(desired, a), actual), np.eye(3) * 2 / 3, rtol=1e-12)


# -- the chapter's network: the Hessian of the SSE with respect to v ------------------------


def closed_form_hessian_in_v(w, bias_hidden, v, bias_output, inputs, desired, alpha):
    """∂²SSE/∂v[h,o]∂v[h',o'] = δ_oo' · H_h H_h' · (F'(N_o)² − E_o F''(N_o)), from the chapter's
    ∂SSE/∂v[h,o] = −E_o F'(N_o) H_h (Eq. 6.30): the Gauss–Newton term and the residual term.
    F' = α F (1 − F), F'' = α² F (1 − F)(1 − 2F).  Numpy only."""
    hidden = 1.0 / (1.0 + np.exp(-alpha * (inputs @ w + bias_hidden)))
    actual = 1.0 / (1.0 + np.exp(-alpha * (hidden @ v + bias_output)))
    error = desired - actual
    slope = alpha * actual * (1.0 - actual)
    curvature = alpha ** 2 * actual * (1.0 - actual) * (1.0 - 2.0 * actual)
    per_output = slope ** 2 - error * curvature                     # Gauss–Newton + residual, one per output
    H, O = v.shape
    hessian = np.zeros((H, O, H, O))
    for o in range(O):
        hessian[:, o, :, o] = np.outer(hidden, hidden) * per_output[o]
    return hessian


@pytest.mark.parametrize("sizes, seed", [((2, 2, 2), 0), ((2, 2, 2), 5), ((3, 4, 2), 1), ((3, 4, 2), 7)])
@pytest.mark.parametrize("alpha", [1.0, 2.0])
def test_the_chapter_nets_hessian_in_v_matches_the_closed_form(sizes, seed, alpha):
    net, inputs, desired = mg.nn.example_network(list(sizes), alpha=alpha, seed=seed)
    w, bias_hidden = net.w.numpy(), net.bias_hidden.numpy()
    bias_output = net.bias_output.numpy()

    def sse_of_v(v):
        hidden = mg.Value(inputs @ w + bias_hidden, requires_grad=False).sigmoid(alpha)  # w held fixed
        return mg.sse(desired, (hidden @ v + bias_output).sigmoid(alpha))

    got = mg.hessian(sse_of_v, net.v.numpy())
    want = closed_form_hessian_in_v(w, bias_hidden, net.v.numpy(), bias_output, inputs, desired, alpha)
    assert got.shape == net.v.shape * 2
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


# -- create_graph, mg.grad, retain_graph -------------------------------------------------------


def test_backward_with_create_graph_leaves_values_that_differentiate_again():
    x = mg.Value(np.array([0.5, -1.0]))
    y = (x.sigmoid() * x).sum()
    y.backward(create_graph=True)
    assert isinstance(x.grad, mg.Value) and x.grad.requires_grad
    F = 1.0 / (1.0 + np.exp(-x.data))
    np.testing.assert_allclose(x.grad.data, F + x.data * F * (1.0 - F), rtol=1e-15)
    (second,) = mg.grad(x.grad.sum(), x)
    want = 2.0 * F * (1.0 - F) + x.data * F * (1.0 - F) * (1.0 - 2.0 * F)
    np.testing.assert_allclose(second, want, rtol=1e-13)


def test_without_create_graph_backward_is_as_before():
    x = mg.Value(np.array([0.5, -1.0]))
    (x * x).sum().backward()
    assert type(x.grad) is np.ndarray
    np.testing.assert_array_equal(x.grad, 2.0 * x.data)


def test_grad_leaves_dot_grad_untouched_and_matches_backward():
    w = mg.Value(np.array([[0.3, -0.2], [0.1, 0.4]]), name="w")
    x = np.array([1.0, 2.0])
    loss = ((x @ w).tanh() ** 2).sum()
    (got,) = mg.grad(loss, w, retain_graph=True)
    assert w.grad is None and loss.grad is None
    loss.backward()
    np.testing.assert_array_equal(got, w.grad)


def test_grad_with_grad_outputs_is_a_vector_jacobian_product():
    x = mg.Value(np.array([0.5, -1.0, 2.0]))
    u = np.array([1.0, -2.0, 0.5])
    (got,) = mg.grad(x.exp(), x, grad_outputs=u)
    np.testing.assert_allclose(got, u * np.exp(x.data), rtol=1e-15)


def test_grad_of_several_outputs_and_inputs_as_torch():
    a, b = mg.Value(np.array([0.5, 2.0])), mg.Value(1.5)
    out1, out2 = (a * b).sum(), (a.exp() / b).sum()
    got = mg.grad([out1, out2], [a, b])
    at = torch.tensor([0.5, 2.0], dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    want = torch.autograd.grad([(at * bt).sum(), (at.exp() / bt).sum()], [at, bt])
    for g, t in zip(got, want):
        np.testing.assert_allclose(g, t.numpy(), rtol=1e-15)
    assert type(got[1]) is float  # a Python-float input gets a float


def test_grad_refuses_an_unused_input_unless_allowed():
    x, unused = mg.Value(1.0), mg.Value(2.0)
    with pytest.raises(ValueError, match=r"inputs\[1\] is not used by the outputs"):
        mg.grad(x * 3.0, [x, unused])
    assert mg.grad(x * 3.0, [x, unused], allow_unused=True) == (3.0, 0.0)


def test_a_second_backward_through_the_same_graph_is_refused_unless_retained():
    x = mg.Value(np.array([1.0, 2.0]))
    loss = (x.exp() * x).sum()
    loss.backward()
    with pytest.raises(mg.FreedGraphError, match="already used up .* retain_graph=True"):
        loss.backward()
    np.testing.assert_allclose(x.grad, np.exp(x.data) * (1.0 + x.data), rtol=1e-15)  # not doubled


def test_retain_graph_keeps_it_and_leaves_accumulate():
    x = mg.Value(np.array([1.0, 2.0]))
    loss = (x.exp() * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad, 2.0 * np.exp(x.data) * (1.0 + x.data), rtol=1e-15)


def test_a_shared_part_of_the_graph_is_used_up_too():
    x = mg.Value(np.array([1.0, 2.0]))
    hidden = x.sigmoid()
    first, second = hidden.sum(), (hidden * 2.0).sum()
    first.backward()
    with pytest.raises(mg.FreedGraphError, match="op 'sigmoid'"):
        second.backward()


def test_grad_uses_the_graph_up_but_create_graph_keeps_it():
    x = mg.Value(np.array([1.0, 2.0]))
    loss = (x * x).sum()
    mg.grad(loss, x, create_graph=True)
    mg.grad(loss, x)                      # kept by create_graph
    with pytest.raises(mg.FreedGraphError):
        mg.grad(loss, x)                  # used up by the plain grad


def test_a_new_graph_from_the_same_parameters_is_fine():
    w = mg.Value(np.array([0.5, -0.5]))
    for _ in range(3):
        (w * w).sum().backward()
    np.testing.assert_allclose(w.grad, 3 * 2.0 * w.data)


def test_an_ops_backward_that_cannot_run_on_values_is_a_clear_error_naming_it():
    class LogAddExp(ops.Op):
        name = "logaddexp0"
        formula = "ln(1 + exp(a))"
        partials = ("σ({a})",)

        def forward(self, a):
            return np.logaddexp(0.0, a), None

        def backward(self, grad, out, saved, needs, a):
            return (grad * np.exp(a - np.logaddexp(0.0, a)),)

    x = mg.Value(np.array([0.5, 1.0]))
    loss = mg.apply(LogAddExp(), x).sum()
    with pytest.raises(TypeError, match="backward of op 'logaddexp0' cannot be differentiated again"):
        mg.grad(loss, x, create_graph=True)


# -- functional helpers ----------------------------------------------------------------------------


def test_hessian_of_a_scalar_input_and_the_shape_of_a_matrix_input():
    assert mg.hessian(lambda x: x ** 3.0, 2.0) == pytest.approx(12.0, rel=1e-15)
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    got = mg.hessian(lambda v: (v.exp() * v).sum(), x)
    assert got.shape == (2, 2, 2, 2)
    want = torch.autograd.functional.hessian(lambda t: (t.exp() * t).sum(), torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-13)


@pytest.mark.parametrize("mode", ["reverse", "forward", "auto"])
def test_jacobian_in_every_mode_matches_torch(mode):
    x = np.array([0.5, -1.0, 2.0])
    got = mg.jacobian(lambda v: (v.softmax() * v.sum()).tanh(), x, mode=mode)
    want = torch.autograd.functional.jacobian(lambda t: (t.softmax(-1) * t.sum()).tanh(), torch.tensor(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_jvp_is_one_forward_sweep_that_matches_reverse_mode():
    x, direction = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.5, -0.25])

    def f(v):
        return (v.sigmoid(2.0) * v).sum()

    value, tangent = mg.jvp(f, x, direction)
    leaf = mg.Value(x)
    (gradient,) = mg.grad(f(leaf), leaf)
    assert value == pytest.approx(f(mg.Value(x)).item(), rel=1e-15)
    assert tangent == pytest.approx(float(gradient @ direction), rel=1e-14)


def test_jvp_composes_with_grad_forward_over_reverse():
    x, direction = np.array([0.5, -1.0]), np.array([1.0, 2.0])

    def gradient(v):
        (g,) = mg.grad((v.tanh() ** 2.0).sum(), v, create_graph=True)
        return g

    _, got = mg.jvp(gradient, x, direction)
    want = mg.hessian(lambda v: (v.tanh() ** 2.0).sum(), x) @ direction
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_hvp_modes_agree_and_need_a_scalar():
    x, direction = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.5, -0.25])

    def f(v):
        return (v.log_softmax() ** 2.0).sum()

    value, forward = mg.hvp(f, x, direction)
    _, reverse = mg.hvp(f, x, direction, mode="reverse-over-reverse")
    np.testing.assert_allclose(forward, reverse, rtol=1e-13)
    np.testing.assert_allclose(forward, mg.hessian(f, x) @ direction, rtol=1e-13)
    assert value == pytest.approx(f(mg.Value(x)).item(), rel=1e-15)
    with pytest.raises(ValueError, match="f must return one number"):
        mg.hvp(lambda v: v * 2.0, x, direction)


@pytest.mark.slow  # 10,000 calls under tracemalloc: about 20 s
def test_ten_thousand_hvp_calls_keep_flat_memory():
    """Higher-order graphs are freed as first-order ones are: by reference counting (the garbage
    collector is off while measuring, so a reference cycle would show), nothing kept."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 2))
    x, direction = rng.standard_normal(3), rng.standard_normal(3)

    def f(v):
        return mg.sse(np.array([1.0, 0.0]), (v @ w).sigmoid())

    for _ in range(200):  # warm caches up before measuring
        mg.hvp(f, x, direction)
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for _ in range(10_000):
            mg.hvp(f, x, direction)
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        gc.enable()
    # NOTE: one call's graphs take about 30 KB; ten thousand kept would be hundreds of MB
    assert end - start < 1_000_000, f"memory grew by {end - start} bytes over 10,000 hvp calls"


def test_the_docs_pages_code_runs_and_prints_what_it_says(capsys):
    """docs/higher-order.md's python blocks, in order, in one namespace (as a reader pastes them)."""
    import re
    from pathlib import Path

    page = Path(__file__).resolve().parents[2] / "docs" / "higher-order.md"
    namespace = {}
    for block in re.findall(r"```python\n(.*?)```", page.read_text(), re.S):
        exec(compile(block, str(page), "exec"), namespace)  # noqa: S102 - the page's own examples
    lines = capsys.readouterr().out.splitlines()
    assert float(lines[0]) < 1e-15                                   # F'' by grad of grad
    assert lines[-3].startswith("12 ") and float(lines[-3].split()[1]) < 1e-15   # 12 forward sweeps = 1 backward
    assert lines[-2].startswith("(2, 2, 2, 2) ") and float(lines[-2].split()[-1]) < 1e-15  # the closed form
    assert lines[-1].endswith("True True")                           # gradcheck and gradgradcheck


def test_grad_inside_a_compiled_function_is_refused_naming_the_line():
    w = mg.Value(np.array([0.5, -1.0]))

    def penalty():
        (g,) = mg.grad((w * w).sum(), w, create_graph=True)
        return (g * g).sum()

    with pytest.raises(mg.TracingError, match=r"minigrad.grad inside a function being traced .*test_higher_order.py:\d+ \(in penalty\)"):
        mg.compile(penalty)()


def test_reading_the_backward_order_after_a_pass_does_not_make_the_graph_usable_again():
    x = mg.Value(np.array([1.0, 2.0]))
    loss = (x.tanh() * x).sum()
    loss.backward()
    assert mg.backward_order(loss)  # what drawings and explore read after a pass
    with pytest.raises(mg.FreedGraphError):
        loss.backward()


def test_an_op_that_saves_numbers_without_forward_options_is_refused_under_create_graph():
    class SavesExp(ops.Op):
        name = "exp_saved"
        partials = ("{out}",)

        def forward(self, a):
            out = np.exp(a)
            return out, (out * 1.0,)  # a float array computed from the input

        def backward(self, grad, out, saved, needs, a):
            return (grad * saved[0],)

    x = mg.Value(np.array([0.5, 1.0]))
    loss = mg.apply(SavesExp(), x).sum()
    (first,) = mg.grad(loss, x, retain_graph=True)  # first order: fine
    np.testing.assert_allclose(first, np.exp(x.data), rtol=1e-15)
    with pytest.raises(TypeError, match="op 'exp_saved' saves float arrays .* no forward_options"):
        mg.grad(loss, x, create_graph=True)


def test_a_function_that_does_not_depend_on_its_input_has_a_zero_hessian_and_hvp():
    # Regression (found by the torch oracle's random graphs): hessian and hvp raised "does not require
    # grad" where torch, and minigrad's own jacobian, give zeros.
    constant = mg.Value(np.array([2.0, -1.0]), requires_grad=False)

    def f(x):
        return (-constant).sum()

    x = np.array([0.5, 1.5])
    np.testing.assert_array_equal(mg.hessian(f, x), np.zeros((2, 2)))
    for mode in ("forward-over-reverse", "reverse-over-reverse"):
        out, product = mg.hvp(f, x, np.array([1.0, 1.0]), mode=mode)
        assert out == -1.0
        np.testing.assert_array_equal(product, np.zeros(2))
    np.testing.assert_array_equal(mg.jacobian(f, x), np.zeros(2))
