"""mg.Function: a user's op in PyTorch's habit, working everywhere a built-in op does, and clear
errors for bad definitions at the first call."""

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")


class Softplus(mg.Function):
    """The issue's example: ln(1 + eˣ), derivative the logistic function."""

    formula = "ln(1 + exp(a))"
    partials = ("1/(1 + exp(−{a}))",)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 + np.exp(-x))

    @staticmethod
    def jvp(ctx, tangent):
        (x,) = ctx.saved_tensors
        return tangent / (1.0 + np.exp(-x))


class ScaledShift(mg.Function):
    """out = scale · x + shift, with a plain-number option in the middle (its gradient is None)."""

    @staticmethod
    def forward(ctx, x, scale, shift):
        ctx.scale = scale
        return scale * x + shift

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None, grad  # shift's gradient has the output's shape: unbroadcast sums it


X = np.array([[0.5, -1.0, 2.0], [-3.0, 0.25, 1.5]])


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_eager_backward_matches_the_formula():
    x = mg.Value(X)
    Softplus.apply(x).sum().backward()
    np.testing.assert_allclose(x.grad, logistic(X), rtol=1e-15)


def test_a_gradient_of_the_output_shape_is_unbroadcast_to_a_smaller_input():
    x, shift = mg.Value(X), mg.Value(np.array([1.0, 2.0, 3.0]))
    out = ScaledShift.apply(x, 3.0, shift)
    np.testing.assert_array_equal(out.data, 3.0 * X + shift.data)
    (out * out).sum().backward()
    np.testing.assert_allclose(x.grad, 2.0 * out.data * 3.0, rtol=1e-15)
    np.testing.assert_allclose(shift.grad, (2.0 * out.data).sum(axis=0), rtol=1e-15)


def test_gradcheck_and_gradgradcheck_pass():
    assert mg.gradcheck(lambda x: Softplus.apply(x), X)
    assert mg.gradgradcheck(lambda x: Softplus.apply(x), X)


def test_create_graph_differentiates_its_backward_again_as_torch_does():
    x = mg.Value(X)
    (first,) = mg.grad(Softplus.apply(x).sum(), x, create_graph=True)
    assert isinstance(first, mg.Value) and first.requires_grad
    (second,) = mg.grad((first * first).sum(), x)
    xt = torch.tensor(X, requires_grad=True)
    (first_t,) = torch.autograd.grad(torch.nn.functional.softplus(xt).sum(), xt, create_graph=True)
    (second_t,) = torch.autograd.grad((first_t * first_t).sum(), xt)
    np.testing.assert_allclose(second, second_t.numpy(), rtol=1e-12)
    s = logistic(X)
    np.testing.assert_allclose(second, 2.0 * s * s * (1.0 - s), rtol=1e-12)


def test_jvp_uses_the_functions_own_forward_rule():
    tangent = np.ones_like(X)
    out, moved = mg.jvp(lambda x: Softplus.apply(x), X, tangent)
    np.testing.assert_allclose(out, np.logaddexp(0.0, X), rtol=1e-15)
    np.testing.assert_allclose(moved, logistic(X), rtol=1e-15)


def test_jvp_without_a_forward_rule_names_the_function():
    with pytest.raises(NotImplementedError, match="Function 'ScaledShift' has no forward-mode rule"):
        mg.jvp(lambda x: ScaledShift.apply(x, 2.0, np.zeros(3)), X, X)


def test_a_backward_minigrad_cannot_trace_is_a_clear_error_under_create_graph():
    class Untraceable(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.logaddexp(0.0, x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * np.exp(-np.logaddexp(0.0, -x))  # np.logaddexp has no minigrad op

    x = mg.Value(X)
    Untraceable.apply(x).sum().backward()  # first order: plain numpy, fine
    np.testing.assert_allclose(x.grad, logistic(X), rtol=1e-14)
    with pytest.raises(TypeError, match="backward of Function 'Untraceable' cannot be differentiated again"):
        x = mg.Value(X)
        mg.grad(Untraceable.apply(x).sum(), x, create_graph=True)


def test_saving_an_intermediate_array_is_a_clear_error_under_create_graph():
    class SavesIntermediate(mg.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(1.0 / (1.0 + np.exp(-x)))  # the slope, computed here: a constant later
            return np.logaddexp(0.0, x)

        @staticmethod
        def backward(ctx, grad):
            (slope,) = ctx.saved_tensors
            return grad * slope

    x = mg.Value(X)
    out = SavesIntermediate.apply(x)
    with pytest.raises(mg.FunctionError, match="saved an array .* neither an input nor the output"):
        mg.grad(out.sum(), x, create_graph=True)


def test_saving_the_output_differentiates_again():
    class Exp(mg.Function):
        @staticmethod
        def forward(ctx, x):
            out = np.exp(x)
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, grad):
            (out,) = ctx.saved_tensors
            return grad * out

    x = mg.Value(X)
    (first,) = mg.grad(Exp.apply(x).sum(), x, create_graph=True)
    (second,) = mg.grad(first.sum(), x)
    np.testing.assert_allclose(second, np.exp(X), rtol=1e-15)


def test_wrong_number_of_gradients():
    class Two(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    with pytest.raises(mg.FunctionError, match="'Two': backward returned 2 gradients but forward takes 1 argument"):
        Two.apply(mg.Value(X)).sum().backward()


def test_a_gradient_that_cannot_be_unbroadcast():
    class BadShape(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return np.ones(4)

    with pytest.raises(mg.FunctionError, match=r"argument 0 has shape \(4,\), which cannot be summed back to the "
                                               r"input's shape \(2, 3\)"):
        BadShape.apply(mg.Value(X)).sum().backward()


def test_a_non_float_forward():
    class Counts(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return (x > 0).astype(np.int64)

        @staticmethod
        def backward(ctx, grad):
            return grad * 0.0

    with pytest.raises(mg.FunctionError, match="'Counts': forward returned dtype int64"):
        Counts.apply(mg.Value(X))


def test_a_gradient_for_an_argument_that_needs_none():
    class Scaled(mg.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.scale = scale
            return x * scale

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.scale, grad

    with pytest.raises(mg.FunctionError, match=r"gradient for argument 1 \(float 2.0\), which is not an array and "
                                               "needs none"):
        Scaled.apply(mg.Value(X), 2.0).sum().backward()


def test_a_subclass_without_backward_is_refused_when_defined():
    with pytest.raises(TypeError, match="define a staticmethod backward"):
        class NoBackward(mg.Function):
            @staticmethod
            def forward(ctx, x):
                return x


def test_needs_input_grad_and_a_constant_array_input():
    seen = []

    class Product(mg.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            seen.append(ctx.needs_input_grad)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_tensors
            return grad * b, (grad * a if ctx.needs_input_grad[1] else None)

    x = mg.Value(X)
    Product.apply(x, X.copy()).sum().backward()
    assert seen == [(True, False)]
    np.testing.assert_array_equal(x.grad, X)


def test_display_facts_in_draw_explain_and_explore(tmp_path):
    x = mg.Value(X, name="x")
    loss = Softplus.apply(x).sum()
    loss.name = "loss"
    loss.backward()
    assert Softplus.op.name == "Softplus" and Softplus.op.formula == "ln(1 + exp(a))"
    assert "Softplus" in mg.to_dot(loss)
    explanation = mg.explain(loss, x, (0, 1))
    text = str(explanation)
    assert "Softplus" in text and "1/(1 + exp(−x" in text
    page = mg.explore(loss)
    html = page.html if hasattr(page, "html") else str(page)
    assert "Softplus" in html and "ln(1 + exp(a))" in html


def test_onnx_export_names_the_function_and_says_it_has_no_mapping(tmp_path):
    pytest.importorskip("onnx")
    with pytest.raises(mg.onnx.UnsupportedOp, match="'Softplus' has no ONNX"):
        mg.onnx.export(lambda x: Softplus.apply(x).sum(), (X,), tmp_path / "softplus.onnx")


def test_compile_traces_the_functions_own_numpy_rules_and_matches_eager_bit_for_bit():
    w = mg.Value(np.array([0.5, -1.0, 2.0]), name="w")

    def loss():
        return (Softplus.apply(w * 2.0) * w).sum()

    step = mg.compile(loss, check=True)
    compiled = step()
    assert "Softplus" in step.source   # traced from the Function's own numpy rules, named
    compiled_grad = w.grad.copy()
    w.grad = None
    eager = loss()
    eager.backward()
    assert compiled.item() == eager.item()
    np.testing.assert_array_equal(compiled_grad, w.grad)


def test_an_error_inside_forward_reaches_the_user_as_it_is():
    class Picky(mg.Function):
        @staticmethod
        def forward(ctx, x):
            raise ValueError("Picky: x must be sorted")

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(ValueError, match="Picky: x must be sorted"):
        Picky.apply(mg.Value(X))


def test_a_python_float_input_keeps_a_float_gradient_and_differentiates_again():
    x = mg.Value(0.5)
    Softplus.apply(x).backward()
    assert type(x.grad) is float and x.grad == pytest.approx(logistic(0.5), rel=1e-15)
    x = mg.Value(0.5)
    (first,) = mg.grad(Softplus.apply(x), x, create_graph=True)
    (second,) = mg.grad(first, x)
    assert float(second) == pytest.approx(logistic(0.5) * (1 - logistic(0.5)), rel=1e-14)
